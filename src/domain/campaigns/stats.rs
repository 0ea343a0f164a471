//! A campaign's results: for each variant and for the holdout, how many were assigned, sent,
//! delivered, opened, clicked and converted; the conversion rate with its 95 % interval
//! (Wilson's score interval, sound for small counts and rates near 0 or 1); and each
//! variant's lift against the holdout — the difference of the two rates with its 95 %
//! interval (Newcombe's hybrid score method, built from the two Wilson intervals) and the
//! relative lift. Everyone assigned counts (intention to treat): a person in a variant's arm
//! whom the policy skipped is assigned but not sent, exactly as the holdout is.
//!
//! A conversion is any activity (a booking, a sign-in …) by the person, or a booking through
//! the message, after they were assigned and within the campaign's conversion window; each
//! person converts at most once.

use super::{Campaign, HOLDOUT};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// z for a two-sided 95 % interval.
const Z: f64 = 1.959_963_984_540_054;

/// Wilson's score interval for `x` successes in `n` trials (`(0, 0)` when `n` is 0).
pub fn wilson(x: i64, n: i64) -> (f64, f64) {
    if n <= 0 {
        return (0.0, 0.0);
    }
    let n = n as f64;
    let p = x as f64 / n;
    let z2 = Z * Z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A variant's lift against the holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lift {
    /// The variant's conversion rate less the holdout's (0.03: three points more).
    pub difference: f64,
    /// The 95 % interval of the difference; an interval above 0 means the variant converts
    /// more than no message at all would.
    pub low: f64,
    pub high: f64,
    /// The difference relative to the holdout's rate (0.5: half as many again); none when the
    /// holdout converted no one.
    pub relative: Option<f64>,
}

impl Lift {
    /// Newcombe's hybrid score interval for the difference of two proportions.
    pub fn of(x: i64, n: i64, hx: i64, hn: i64) -> Option<Self> {
        if n <= 0 || hn <= 0 {
            return None;
        }
        let (p, h) = (x as f64 / n as f64, hx as f64 / hn as f64);
        let (pl, pu) = wilson(x, n);
        let (hl, hu) = wilson(hx, hn);
        let d = p - h;
        Some(Self {
            difference: d,
            low: d - ((p - pl).powi(2) + (hu - h).powi(2)).sqrt(),
            high: d + ((pu - p).powi(2) + (h - hl).powi(2)).sqrt(),
            relative: (h > 0.0).then(|| d / h),
        })
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One arm's numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// The variant's key, or `holdout`.
    pub arm: String,
    pub name: String,
    pub assigned: i64,
    /// Messages that went out (sent or delivered).
    pub sent: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub converted: i64,
    /// `converted / assigned` (0 with no one assigned).
    pub conversion_rate: f64,
    /// Its 95 % interval.
    pub rate_low: f64,
    pub rate_high: f64,
    /// Against the holdout (none for the holdout itself, or without one).
    pub lift: Option<Lift>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One day of a campaign (on the organisation's clock): messages sent, and conversions by arm.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsDay {
    pub day: NaiveDate,
    pub sent: i64,
    pub converted: BTreeMap<String, i64>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignStats {
    pub campaign_id: uuid::Uuid,
    pub name: String,
    pub conversion_days: i32,
    /// Each variant in order, then the holdout.
    pub arms: Vec<ArmStats>,
    /// From the first assignment to the last event, day by day.
    pub days: Vec<StatsDay>,
    pub as_of: DateTime<Utc>,
}

/// One person's arm, when they were assigned, and their first activity after it.
#[derive(Clone, Debug)]
pub struct AssignedRow {
    pub arm: String,
    pub assigned_at: DateTime<Utc>,
    pub first_activity_after: Option<DateTime<Utc>>,
    /// When they booked through a message of the campaign, if they did.
    pub booked_at: Option<DateTime<Utc>>,
}

/// One message of the campaign.
#[derive(Clone, Debug)]
pub struct MessageRow {
    pub variant: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered: bool,
    pub opened: bool,
    pub clicked: bool,
}

impl CampaignStats {
    /// The numbers from the campaign's assignments and messages; days on the clock of `tz`.
    pub fn build(
        c: &Campaign,
        assigned: &[AssignedRow],
        messages: &[MessageRow],
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Self {
        let window = Duration::days(c.settings.conversion_days as i64);
        let mut arms: Vec<ArmStats> = c
            .settings
            .variants
            .iter()
            .map(|v| ArmStats {
                arm: v.key.clone(),
                name: v.name.clone(),
                ..Default::default()
            })
            .collect();
        arms.push(ArmStats {
            arm: HOLDOUT.into(),
            name: "Holdout (no message)".into(),
            ..Default::default()
        });
        let index = |arms: &[ArmStats], key: &str| arms.iter().position(|a| a.arm == key);
        let mut days: BTreeMap<NaiveDate, StatsDay> = BTreeMap::new();
        let day_of = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        for a in assigned {
            let Some(i) = index(&arms, &a.arm) else {
                continue;
            };
            arms[i].assigned += 1;
            days.entry(day_of(a.assigned_at)).or_default();
            let until = a.assigned_at + window;
            let converted = [a.first_activity_after, a.booked_at]
                .into_iter()
                .flatten()
                .filter(|t| *t > a.assigned_at && *t <= until)
                .min();
            if let Some(at) = converted {
                arms[i].converted += 1;
                *days
                    .entry(day_of(at))
                    .or_default()
                    .converted
                    .entry(a.arm.clone())
                    .or_default() += 1;
            }
        }
        for m in messages {
            let Some(i) = index(&arms, &m.variant) else {
                continue;
            };
            let arm = &mut arms[i];
            if let Some(at) = m.sent_at {
                arm.sent += 1;
                days.entry(day_of(at)).or_default().sent += 1;
            }
            arm.delivered += m.delivered as i64;
            arm.opened += m.opened as i64;
            arm.clicked += m.clicked as i64;
        }
        for a in &mut arms {
            if a.assigned > 0 {
                a.conversion_rate = a.converted as f64 / a.assigned as f64;
            }
            (a.rate_low, a.rate_high) = wilson(a.converted, a.assigned);
        }
        let (hx, hn) = arms
            .last()
            .map(|h| (h.converted, h.assigned))
            .unwrap_or_default();
        let variants = arms.len() - 1;
        for a in arms.iter_mut().take(variants) {
            a.lift = Lift::of(a.converted, a.assigned, hx, hn);
        }
        // Every day from the first to the last, the quiet ones too.
        let mut series = Vec::new();
        if let (Some(first), Some(last)) = (
            days.keys().next().copied(),
            days.keys().next_back().copied(),
        ) {
            let mut day = first;
            while day <= last {
                let mut d = days.remove(&day).unwrap_or_default();
                d.day = day;
                series.push(d);
                day = match day.succ_opt() {
                    Some(next) => next,
                    None => break,
                };
            }
        }
        Self {
            campaign_id: c.id,
            name: c.settings.name.clone(),
            conversion_days: c.settings.conversion_days,
            arms,
            days: series,
            as_of: now,
        }
    }

    /// The per-arm table as CSV (a header, then one row per arm).
    pub fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record([
            "arm",
            "name",
            "assigned",
            "sent",
            "delivered",
            "opened",
            "clicked",
            "converted",
            "conversion_rate",
            "rate_low",
            "rate_high",
            "lift",
            "lift_low",
            "lift_high",
            "relative_lift",
        ]);
        let num = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        for a in &self.arms {
            let lift = a.lift.as_ref();
            let _ = writer.write_record([
                crate::domain::csv_io::defuse(&a.arm).into_owned(),
                crate::domain::csv_io::defuse(&a.name).into_owned(),
                a.assigned.to_string(),
                a.sent.to_string(),
                a.delivered.to_string(),
                a.opened.to_string(),
                a.clicked.to_string(),
                a.converted.to_string(),
                num(Some(a.conversion_rate)),
                num(Some(a.rate_low)),
                num(Some(a.rate_high)),
                num(lift.map(|l| l.difference)),
                num(lift.map(|l| l.low)),
                num(lift.map(|l| l.high)),
                num(lift.and_then(|l| l.relative)),
            ]);
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaigns::{CampaignInput, CampaignSettings, CampaignStatus};

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81/263 → 0.2553–0.3662.
        let (l, h) = wilson(81, 263);
        assert!(
            (l - 0.2553).abs() < 0.0005 && (h - 0.3662).abs() < 0.0005,
            "{l} {h}"
        );
        // 0/10 → 0–0.2775.
        let (l, h) = wilson(0, 10);
        assert_eq!(l, 0.0);
        assert!((h - 0.2775).abs() < 0.0005, "{h}");
        assert_eq!(wilson(0, 0), (0.0, 0.0));
    }

    #[test]
    fn newcombe_matches_published_values() {
        // Newcombe (1998), table II, example (a): 56/70 vs 48/80 → 0.2000, 0.0524–0.3339.
        let lift = Lift::of(56, 70, 48, 80).unwrap();
        assert!((lift.difference - 0.2).abs() < 1e-9);
        assert!((lift.low - 0.0524).abs() < 0.0005, "{lift:?}");
        assert!((lift.high - 0.3339).abs() < 0.0005, "{lift:?}");
        assert!((lift.relative.unwrap() - 0.2 / 0.6).abs() < 1e-9);
        assert!(Lift::of(1, 10, 0, 0).is_none());
        assert_eq!(Lift::of(1, 10, 0, 10).unwrap().relative, None);
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_constructed_history_gives_exact_numbers() {
        let settings = CampaignSettings::parse(
            &serde_json::from_value::<CampaignInput>(serde_json::json!({
                "name": "x", "variants": [{ "body": "a" }, { "body": "b" }],
                "holdout_percent": 20, "conversion_days": 7
            }))
            .unwrap(),
        )
        .unwrap();
        let c = Campaign {
            id: uuid::Uuid::nil(),
            org_id: uuid::Uuid::nil(),
            status: CampaignStatus::Active,
            settings,
            created_at: t("2026-06-01T00:00:00Z"),
            updated_at: t("2026-06-01T00:00:00Z"),
            activated_at: None,
            completed_at: None,
            last_run_at: None,
        };
        let at = t("2026-06-01T10:00:00Z");
        let row = |arm: &str, after: Option<&str>, booked: Option<&str>| AssignedRow {
            arm: arm.into(),
            assigned_at: at,
            first_activity_after: after.map(t),
            booked_at: booked.map(t),
        };
        let assigned = vec![
            // A: 4 assigned, 2 converted (one by activity on day 3, one by a booking).
            row("A", Some("2026-06-03T09:00:00Z"), None),
            row("A", None, Some("2026-06-02T09:00:00Z")),
            row("A", Some("2026-06-09T09:00:00Z"), None), // after the 7 days
            row("A", None, None),
            // B: 2 assigned, none converted.
            row("B", None, None),
            row("B", None, None),
            // Holdout: 2 assigned, 1 converted.
            row("holdout", Some("2026-06-05T09:00:00Z"), None),
            row("holdout", None, None),
        ];
        let m = |v: &str, sent: bool, delivered: bool, opened: bool, clicked: bool| MessageRow {
            variant: v.into(),
            sent_at: sent.then_some(at),
            delivered,
            opened,
            clicked,
        };
        let messages = vec![
            m("A", true, true, true, true),
            m("A", true, true, false, false),
            m("A", true, false, false, false),
            m("A", false, false, false, false), // failed
            m("B", true, true, true, false),
        ];
        let s = CampaignStats::build(&c, &assigned, &messages, chrono_tz::UTC, at);
        let a = &s.arms[0];
        assert_eq!(
            (
                a.assigned,
                a.sent,
                a.delivered,
                a.opened,
                a.clicked,
                a.converted
            ),
            (4, 3, 2, 1, 1, 2)
        );
        assert_eq!(a.conversion_rate, 0.5);
        let lift = a.lift.as_ref().unwrap();
        assert_eq!(lift.difference, 0.0);
        assert_eq!(lift.relative, Some(0.0));
        let b = &s.arms[1];
        assert_eq!((b.assigned, b.sent, b.converted), (2, 1, 0));
        assert_eq!(b.lift.as_ref().unwrap().difference, -0.5);
        let h = &s.arms[2];
        assert_eq!(
            (h.arm.as_str(), h.assigned, h.sent, h.converted),
            ("holdout", 2, 0, 1)
        );
        assert!(h.lift.is_none());
        // Day by day: 1 June (4 sent) to 5 June, the quiet 4th included.
        let days: Vec<(String, i64, i64)> = s
            .days
            .iter()
            .map(|d| (d.day.to_string(), d.sent, d.converted.values().sum::<i64>()))
            .collect();
        assert_eq!(
            days,
            vec![
                ("2026-06-01".into(), 4, 0),
                ("2026-06-02".into(), 0, 1),
                ("2026-06-03".into(), 0, 1),
                ("2026-06-04".into(), 0, 0),
                ("2026-06-05".into(), 0, 1),
            ]
        );
        let csv = s.csv();
        assert!(csv.starts_with("arm,name,assigned,"));
        assert!(csv.contains("\nA,A,4,3,2,1,1,2,0.500000,"), "{csv}");
        assert!(
            csv.contains("\nholdout,Holdout (no message),2,0,0,0,0,1,0.500000,"),
            "{csv}"
        );
    }
}
