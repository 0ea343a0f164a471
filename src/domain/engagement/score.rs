//! Segments, behavioural labels and churn risk, computed from a person's activity roll-up,
//! and explained in plain words.
//!
//! **The roll-up** ([`Rollup`]) is kept up to date as activity arrives, so the hourly run never
//! rescans the events: the last activity, a count of activity in the current and the previous
//! 30-day window (a "sliding window counter": the estimate for the last 30 days is the current
//! window plus the previous one weighted by how much of it is still inside the last 30 days),
//! the same for activity at night on the person's own clock (22:00–04:59), bookings (how many,
//! the first and the last, the last one's service), and how many engagement messages went
//! unanswered since the person was last active.
//!
//! **Segments**, first match wins (D = the dormancy threshold, C = the churn threshold):
//! `churned` — inactive C days or more; `dormant` — inactive D days or more; `new` — joined
//! less than D days ago; `at_risk` — inactive for at least half of D; `active` — the rest.
//! Inactivity counts from the last activity, or from joining when there was none.
//!
//! **Labels**: `frequent` — 8 or more activities in the last 30 days; `night_owl` — at least 4,
//! and at least half of them at night on their own clock.
//!
//! Whatever depends on the time is taken as of the start of the person's current day of
//! inactivity ([`scored_at`]), so a score only moves once a day or with new activity.
//!
//! **Churn risk** (0–1, in hundredths) is the sum of three parts, each in whole hundredths:
//! - recency: `50 × min(days inactive, 2D) ÷ 2D` — reaches 0.50 at twice the dormancy threshold;
//! - low frequency: `30 × (8 − min(activities in 30 days, 8)) ÷ 8` — 0.30 with no activity;
//! - no response: `20 × min(unanswered engagement messages, 3) ÷ 3` — 0.20 after three.
//!
//! Divisions round down. The run computes the same formula in SQL over every person at once
//! (`server::db::engagement`); a test holds the two to the same answers.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    #[default]
    New,
    Active,
    AtRisk,
    Dormant,
    Churned,
}

text_enum!(Segment, "a segment", {
    New => "new", Active => "active", AtRisk => "at_risk", Dormant => "dormant",
    Churned => "churned",
});

impl Segment {
    pub fn label(self) -> &'static str {
        match self {
            Segment::New => "new",
            Segment::Active => "active",
            Segment::AtRisk => "at risk",
            Segment::Dormant => "dormant",
            Segment::Churned => "churned",
        }
    }
}

/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// The length of one activity window.
pub const WINDOW: i64 = 30 * DAY;
/// Activities in 30 days from which a person counts as frequent.
pub const FREQUENT: i64 = 8;
/// Activities in 30 days from which the night share means anything.
pub const NIGHT_OWL_MIN: i64 = 4;
/// Unanswered messages at which the response part of churn risk is full.
pub const UNANSWERED_FULL: i64 = 3;

/// The behavioural labels a person may carry.
pub const LABELS: &[(&str, &str)] = &[
    ("frequent", "8 or more activities in the last 30 days"),
    (
        "night_owl",
        "most activity between 22:00 and 05:00 on their own clock",
    ),
];

/// Which 30-day window an instant falls in.
pub fn window_of(epoch: i64) -> i64 {
    epoch.div_euclid(WINDOW)
}

/// How much (in thousandths) of the previous window still lies within the last 30 days.
pub fn keep_permille(now_epoch: i64) -> i64 {
    1000 - now_epoch.rem_euclid(WINDOW) * 1000 / WINDOW
}

/// Whether a local hour counts as night.
pub fn is_night(hour: u32) -> bool {
    !(5..22).contains(&hour)
}

/// A person's activity, summed up as it arrives (all instants in seconds since 1970).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Rollup {
    pub person_id: Uuid,
    pub org_id: Uuid,
    /// When the person was added, or their earliest activity if that was before (inactivity
    /// counts from here when there is no activity).
    pub joined_s: i64,
    pub last_active_s: Option<i64>,
    pub events: i64,
    /// The window `recent` counts; `previous` counts the one before.
    pub window_no: i64,
    pub recent: i64,
    pub previous: i64,
    pub night_recent: i64,
    pub night_previous: i64,
    pub bookings: i64,
    pub first_booking_s: Option<i64>,
    pub last_booking_s: Option<i64>,
    /// The service of the latest booking, from its properties.
    pub last_service: Option<String>,
    /// The last booking plus the person's usual interval between bookings (two or more).
    pub rebook_due_s: Option<i64>,
    pub unanswered: i64,
    /// When the latest engagement message to the person went out.
    pub last_nudge_s: Option<i64>,
}

/// One activity event, as the roll-up needs it.
pub struct EventFacts<'a> {
    pub name: &'a str,
    pub properties: &'a serde_json::Value,
    pub at: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

/// The service a booking was for: `service`, `service_name` or `service_id` in its properties.
pub fn booking_service(properties: &serde_json::Value) -> Option<String> {
    ["service", "service_name", "service_id"]
        .iter()
        .find_map(|k| match properties.get(*k)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|s| s.chars().take(200).collect())
}

/// Whether an event is a booking.
pub fn is_booking(name: &str) -> bool {
    name.eq_ignore_ascii_case("booking")
}

impl Rollup {
    pub fn new(org_id: Uuid, person_id: Uuid, joined: DateTime<Utc>) -> Self {
        Self {
            person_id,
            org_id,
            joined_s: joined.timestamp(),
            ..Default::default()
        }
    }

    /// Counts one event in, whatever order events arrive in.
    pub fn absorb(&mut self, e: &EventFacts<'_>) {
        let t = e.at.timestamp();
        let night = is_night(e.at.with_timezone(&e.tz).hour()) as i64;
        let w = window_of(t);
        if self.events == 0 && self.recent == 0 && self.previous == 0 {
            self.window_no = w;
        }
        if w > self.window_no {
            if w == self.window_no + 1 {
                self.previous = self.recent;
                self.night_previous = self.night_recent;
            } else {
                self.previous = 0;
                self.night_previous = 0;
            }
            self.recent = 0;
            self.night_recent = 0;
            self.window_no = w;
        }
        if w == self.window_no {
            self.recent += 1;
            self.night_recent += night;
        } else if w == self.window_no - 1 {
            self.previous += 1;
            self.night_previous += night;
        }
        self.events += 1;
        // Known since their earliest activity, when that was before they were added here
        // (an imported client is not new).
        self.joined_s = self.joined_s.min(t);
        if self.last_active_s.is_none_or(|l| t > l) {
            self.last_active_s = Some(t);
        }
        // Activity after the latest nudge answers it (and every one before it).
        if self.last_nudge_s.is_none_or(|n| t >= n) {
            self.unanswered = 0;
        }
        if is_booking(e.name) {
            self.bookings += 1;
            if self.first_booking_s.is_none_or(|f| t < f) {
                self.first_booking_s = Some(t);
            }
            if self.last_booking_s.is_none_or(|l| t >= l) {
                self.last_booking_s = Some(t);
                if let Some(s) = booking_service(e.properties) {
                    self.last_service = Some(s);
                }
            }
            self.rebook_due_s = match (self.first_booking_s, self.last_booking_s) {
                (Some(first), Some(last)) if self.bookings >= 2 && last > first => {
                    Some(last + (last - first) / (self.bookings - 1))
                }
                _ => None,
            };
        }
    }

    /// The usual days between bookings, when there were two or more.
    pub fn booking_interval_days(&self) -> Option<i64> {
        match (self.first_booking_s, self.last_booking_s) {
            (Some(first), Some(last)) if self.bookings >= 2 && last > first => {
                Some((last - first) / (self.bookings - 1) / DAY)
            }
            _ => None,
        }
    }

    /// Activities in the last 30 days (the sliding-window estimate), at `now`.
    pub fn recent_count(&self, now_epoch: i64) -> i64 {
        windowed(self.window_no, self.recent, self.previous, now_epoch)
    }

    /// Night-time activities in the last 30 days, at `now`.
    pub fn night_count(&self, now_epoch: i64) -> i64 {
        windowed(
            self.window_no,
            self.night_recent,
            self.night_previous,
            now_epoch,
        )
    }

    /// Whether the usual interval between bookings (plus the grace) has passed.
    pub fn due_to_rebook(&self, grace_days: i32, now_epoch: i64) -> bool {
        self.rebook_due_s
            .is_some_and(|due| due + grace_days as i64 * DAY <= now_epoch)
    }
}

fn windowed(window_no: i64, recent: i64, previous: i64, now_epoch: i64) -> i64 {
    let now_window = window_of(now_epoch);
    let keep = keep_permille(now_epoch);
    if window_no >= now_window {
        (recent * 1000 + previous * keep) / 1000
    } else if window_no == now_window - 1 {
        recent * keep / 1000
    } else {
        0
    }
}

/// The thresholds a score depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub dormant_days: i64,
    pub churned_days: i64,
}

/// The three parts of churn risk, in hundredths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskParts {
    pub recency: i64,
    pub frequency: i64,
    pub response: i64,
}

impl RiskParts {
    pub fn total(&self) -> i64 {
        (self.recency + self.frequency + self.response).clamp(0, 100)
    }
}

/// What the formulas make of a person at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub segment: Segment,
    /// Churn risk in hundredths (0–100).
    pub churn_points: i64,
    pub parts: RiskParts,
    pub labels: Vec<String>,
    pub days_inactive: i64,
    pub recent: i64,
    pub night: i64,
    pub unanswered: i64,
}

/// Whole days between two instants (seconds), rounded towards zero as SQL divides.
pub fn whole_days(from: i64, to: i64) -> i64 {
    (to - from) / DAY
}

/// Where inactivity counts from: the last activity, or joining when there was none.
pub fn reference(r: &Rollup) -> i64 {
    r.last_active_s.unwrap_or(r.joined_s)
}

/// The moment a score stands for: the start of the person's current day of inactivity (the
/// reference plus whole days). A score so changes only once a day, at each person's own hour,
/// or when their activity does — so a run re-scores about a twenty-fourth of people an hour
/// rather than everyone.
pub fn scored_at(r: &Rollup, now: i64) -> i64 {
    let reference = reference(r);
    reference + whole_days(reference, now).max(0) * DAY
}

/// When the score of `r` changes next with nothing else happening: its next day of
/// inactivity.
pub fn next_change(r: &Rollup, now: i64) -> i64 {
    scored_at(r, now) + DAY
}

/// The segment, labels and churn risk of a roll-up at `now` (seconds); time-dependent parts
/// are as of [`scored_at`].
pub fn score(r: &Rollup, t: Thresholds, now: i64) -> Score {
    let reference = reference(r);
    let days = whole_days(reference, now).max(0);
    let at = scored_at(r, now);
    let joined_days = whole_days(r.joined_s, at);
    let recent = r.recent_count(at);
    let night = r.night_count(at);
    let span = 2 * t.dormant_days.max(1);
    let parts = RiskParts {
        recency: 50 * days.min(span) / span,
        frequency: 30 * (FREQUENT - recent.min(FREQUENT)) / FREQUENT,
        response: 20 * r.unanswered.clamp(0, UNANSWERED_FULL) / UNANSWERED_FULL,
    };
    let segment = if days >= t.churned_days {
        Segment::Churned
    } else if days >= t.dormant_days {
        Segment::Dormant
    } else if joined_days < t.dormant_days {
        Segment::New
    } else if 2 * days >= t.dormant_days {
        Segment::AtRisk
    } else {
        Segment::Active
    };
    let mut labels = Vec::new();
    if recent >= FREQUENT {
        labels.push("frequent".to_string());
    }
    if recent >= NIGHT_OWL_MIN && 2 * night >= recent {
        labels.push("night_owl".to_string());
    }
    Score {
        segment,
        churn_points: parts.total(),
        parts,
        labels,
        days_inactive: days,
        recent,
        night,
        unanswered: r.unanswered,
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn hundredths(points: i64) -> String {
    format!("{}.{:02}", points / 100, points % 100)
}

fn ago(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "yesterday".into(),
        n => format!("{n} days ago"),
    }
}

/// The segment and churn risk in plain words: "dormant — last active 23 days ago; churn risk
/// 0.78: recency 0.50 + low frequency 0.15 + no response to the last 2 messages 0.13".
pub fn explain(s: &Score, had_activity: bool, t: Thresholds) -> String {
    let since = if had_activity {
        format!("last active {}", ago(s.days_inactive))
    } else {
        format!("no activity yet; added {}", ago(s.days_inactive))
    };
    let segment = match s.segment {
        Segment::Churned => format!("churned — {since} (churned after {} days)", t.churned_days),
        Segment::Dormant => format!("dormant — {since} (dormant after {} days)", t.dormant_days),
        Segment::New => format!("new — {since}"),
        Segment::AtRisk => format!("at risk — {since} (dormant after {} days)", t.dormant_days),
        Segment::Active => format!("active — {since}"),
    };
    let mut parts = vec![format!("recency {}", hundredths(s.parts.recency))];
    if s.parts.frequency > 0 {
        parts.push(format!(
            "low frequency {} ({} in 30 days)",
            hundredths(s.parts.frequency),
            plural(s.recent, "activity", "activities")
        ));
    }
    if s.parts.response > 0 {
        parts.push(format!(
            "no response to the last {} {}",
            plural(s.unanswered, "message", "messages"),
            hundredths(s.parts.response)
        ));
    }
    format!(
        "{segment}; churn risk {}: {}",
        hundredths(s.churn_points),
        parts.join(" + ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const T: Thresholds = Thresholds {
        dormant_days: 7,
        churned_days: 90,
    };

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event(r: &mut Rollup, name: &str, props: serde_json::Value, when: DateTime<Utc>, tz: &str) {
        r.absorb(&EventFacts {
            name,
            properties: &props,
            at: when,
            tz: tz.parse().unwrap(),
        });
    }

    #[test]
    fn the_worked_example_adds_up() {
        let now = at("2026-12-05T12:00:00Z");
        let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), at("2026-01-01T00:00:00Z"));
        for d in [50, 45, 40, 30, 23] {
            event(
                &mut r,
                "login",
                serde_json::json!({}),
                now - chrono::Duration::days(d),
                "UTC",
            );
        }
        r.unanswered = 2;
        let s = score(&r, T, now.timestamp());
        assert_eq!(s.segment, Segment::Dormant);
        assert_eq!(s.days_inactive, 23);
        assert_eq!(s.parts.recency, 50);
        assert_eq!(s.parts.response, 13);
        let text = explain(&s, true, T);
        assert!(
            text.starts_with(
                "dormant — last active 23 days ago (dormant after 7 days); churn risk 0."
            ),
            "{text}"
        );
        assert!(text.contains("recency 0.50"), "{text}");
        assert!(
            text.contains("no response to the last 2 messages 0.13"),
            "{text}"
        );
    }

    #[test]
    fn segments_in_order() {
        let now = at("2026-12-05T12:00:00Z");
        let joined = at("2026-06-01T00:00:00Z");
        let seg = |last: Option<i64>, joined: DateTime<Utc>| {
            let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), joined);
            r.last_active_s = last.map(|d| now.timestamp() - d * DAY);
            score(&r, T, now.timestamp()).segment
        };
        assert_eq!(seg(Some(0), joined), Segment::Active);
        assert_eq!(seg(Some(3), joined), Segment::Active);
        assert_eq!(seg(Some(4), joined), Segment::AtRisk);
        assert_eq!(seg(Some(7), joined), Segment::Dormant);
        assert_eq!(seg(Some(89), joined), Segment::Dormant);
        assert_eq!(seg(Some(90), joined), Segment::Churned);
        assert_eq!(seg(None, now - chrono::Duration::days(2)), Segment::New);
        assert_eq!(seg(None, now - chrono::Duration::days(8)), Segment::Dormant);
    }

    #[test]
    fn night_owls_and_frequent_people() {
        let now = at("2026-12-05T12:00:00Z");
        let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), at("2026-01-01T00:00:00Z"));
        // 23:30 in New York is 04:30 UTC the next day.
        for d in 1..=9 {
            let t = chrono_tz::America::New_York
                .with_ymd_and_hms(2026, 12, 4 - d % 3, 23, 30, 0)
                .unwrap()
                .with_timezone(&Utc);
            event(
                &mut r,
                "viewed_menu",
                serde_json::json!({}),
                t,
                "America/New_York",
            );
        }
        let s = score(&r, T, now.timestamp());
        assert_eq!(s.labels, vec!["frequent", "night_owl"]);
        // The same instants are mid-morning in Tokyo: no night owl there.
        let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), at("2026-01-01T00:00:00Z"));
        for d in 1..=5 {
            let t = at("2026-12-01T04:30:00Z") + chrono::Duration::hours(d);
            event(&mut r, "login", serde_json::json!({}), t, "Asia/Tokyo");
        }
        assert!(score(&r, T, now.timestamp()).labels.is_empty());
    }

    #[test]
    fn booking_cadence_and_service() {
        let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), at("2026-01-01T00:00:00Z"));
        // Out of order: the interval is the mean over the span.
        event(
            &mut r,
            "booking",
            serde_json::json!({"service": "Massage"}),
            at("2026-11-01T10:00:00Z"),
            "UTC",
        );
        event(
            &mut r,
            "booking",
            serde_json::json!({"service": "Facial"}),
            at("2026-10-02T10:00:00Z"),
            "UTC",
        );
        event(
            &mut r,
            "booking",
            serde_json::json!({"service": "Manicure"}),
            at("2026-10-17T10:00:00Z"),
            "UTC",
        );
        assert_eq!(r.bookings, 3);
        assert_eq!(r.last_service.as_deref(), Some("Massage"));
        assert_eq!(r.booking_interval_days(), Some(15));
        assert_eq!(r.rebook_due_s, Some(at("2026-11-16T10:00:00Z").timestamp()));
        assert!(!r.due_to_rebook(2, at("2026-11-18T09:59:59Z").timestamp()));
        assert!(r.due_to_rebook(2, at("2026-11-18T10:00:00Z").timestamp()));
    }

    #[test]
    fn activity_after_a_nudge_answers_it() {
        let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), at("2026-01-01T00:00:00Z"));
        r.unanswered = 2;
        r.last_nudge_s = Some(at("2026-11-10T00:00:00Z").timestamp());
        event(
            &mut r,
            "login",
            serde_json::json!({}),
            at("2026-11-01T00:00:00Z"),
            "UTC",
        );
        assert_eq!(
            r.unanswered, 2,
            "a late-arriving older event answers nothing"
        );
        event(
            &mut r,
            "login",
            serde_json::json!({}),
            at("2026-11-11T00:00:00Z"),
            "UTC",
        );
        assert_eq!(r.unanswered, 0);
    }

    proptest! {
        /// The sliding-window estimate never exceeds the events of the last 60 days and never
        /// falls below those of the current window; order of arrival does not matter.
        #[test]
        fn window_counts_are_bounded_and_order_free(offsets in proptest::collection::vec(0i64..(120 * DAY), 0..40), now_off in 0i64..WINDOW) {
            let now = 1_800_000_000 + now_off;
            let joined = at("2020-01-01T00:00:00Z");
            let mut forward = Rollup::new(Uuid::nil(), Uuid::nil(), joined);
            let mut backward = forward.clone();
            let times: Vec<i64> = offsets.iter().map(|o| now - o).collect();
            let ev = |r: &mut Rollup, t: i64| r.absorb(&EventFacts {
                name: "login", properties: &serde_json::Value::Null,
                at: Utc.timestamp_opt(t, 0).unwrap(), tz: chrono_tz::UTC,
            });
            for &t in &times { ev(&mut forward, t); }
            for &t in times.iter().rev() { ev(&mut backward, t); }
            let in_window = times.iter().filter(|&&t| window_of(t) == window_of(now)).count() as i64;
            let in_60 = times.iter().filter(|&&t| now - t < 2 * WINDOW).count() as i64;
            let est = forward.recent_count(now);
            prop_assert!(est >= in_window && est <= in_60, "{est} not in {in_window}..={in_60}");
            prop_assert_eq!(forward.last_active_s, backward.last_active_s);
            prop_assert_eq!(forward.events, backward.events);
            prop_assert_eq!(backward.recent_count(now), est);
        }

        #[test]
        fn churn_risk_stays_within_zero_and_one(days in 0i64..400, recent in 0i64..50, unanswered in 0i64..10) {
            let now = 1_800_000_000;
            let mut r = Rollup::new(Uuid::nil(), Uuid::nil(), Utc.timestamp_opt(now - 500 * DAY, 0).unwrap());
            r.last_active_s = Some(now - days * DAY);
            r.window_no = window_of(now);
            r.recent = recent;
            r.unanswered = unanswered;
            let s = score(&r, T, now);
            prop_assert!((0..=100).contains(&s.churn_points));
            prop_assert_eq!(s.churn_points, s.parts.total());
        }
    }
}
