//! The calendar: every occurrence of every date in a window, and the same as an RFC 5545
//! iCalendar feed that calendar apps subscribe to.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One occurrence of an important date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    pub date_item_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub title: String,
    pub category_name: Option<String>,
    pub category_icon: Option<String>,
    pub reminder_count: i64,
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// The feed: one all-day event per occurrence, with a stable UID per date and day so a
/// calendar app updates rather than duplicates on refresh.
pub fn render_ics(
    name: &str,
    entries: &[CalendarEntry],
    now: DateTime<Utc>,
    portal_url: &str,
) -> String {
    let mut out = String::new();
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for line in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Concierge//Important dates//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        format!("X-WR-CALNAME:{}", escape(name)),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_string(),
        "X-PUBLISHED-TTL:PT1H".to_string(),
    ] {
        fold(&line, &mut out);
    }
    for e in entries {
        let day = e.date.format("%Y%m%d");
        let next = e.date.succ_opt().unwrap_or(e.date).format("%Y%m%d");
        let summary = format!("{} — {}", e.title, e.person_name);
        let mut description = e.category_name.clone().unwrap_or_default();
        if e.reminder_count > 0 {
            if !description.is_empty() {
                description.push('\n');
            }
            description.push_str(&format!(
                "{} reminder{}",
                e.reminder_count,
                if e.reminder_count == 1 { "" } else { "s" }
            ));
        }
        for line in [
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}-{day}@concierge", e.date_item_id),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;VALUE=DATE:{day}"),
            format!("DTEND;VALUE=DATE:{next}"),
            format!("SUMMARY:{}", escape(&summary)),
            format!("DESCRIPTION:{}", escape(&description)),
            format!(
                "URL:{}/clients/{}",
                portal_url.trim_end_matches('/'),
                e.person_id
            ),
            "TRANSP:TRANSPARENT".to_string(),
            "END:VEVENT".to_string(),
        ] {
            fold(&line, &mut out);
        }
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str) -> CalendarEntry {
        CalendarEntry {
            date: NaiveDate::from_ymd_opt(2027, 2, 28).unwrap(),
            date_item_id: Uuid::nil(),
            person_id: Uuid::nil(),
            person_name: "Zoë Ångström".into(),
            title: title.into(),
            category_name: Some("Birthday".into()),
            category_icon: None,
            reminder_count: 2,
        }
    }

    #[test]
    fn events_are_all_day_escaped_and_folded() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .to_utc();
        let long =
            "Birthday; dinner, flowers and a very long note that goes past the line limit ✨✨✨";
        let ics = render_ics("Ada's dates", &[entry(long)], now, "https://c.example/");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20270228\r\n"));
        assert!(ics.contains("DTEND;VALUE=DATE:20270301\r\n"));
        assert!(ics.contains("UID:00000000-0000-0000-0000-000000000000-20270228@concierge"));
        assert!(ics.contains("Birthday\\; dinner\\, flowers"));
        assert!(ics.contains("DESCRIPTION:Birthday\\n2 reminders"));
        assert!(ics.contains("URL:https://c.example/clients/"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        // Unfolding gives back the summary whole.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("✨✨✨ — Zoë Ångström"));
    }
}
