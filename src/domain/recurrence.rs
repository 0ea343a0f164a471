//! How an important date repeats, and which day it falls on next.
//!
//! A recurrence is either none (one date) or a subset of RFC 5545's RRULE: `FREQ` (YEARLY,
//! MONTHLY, WEEKLY, DAILY), `INTERVAL`, `BYMONTH`, `BYMONTHDAY` (negative counts from the end
//! of the month), `COUNT` and `UNTIL`. The shorthands `yearly`, `monthly`, `weekly` and `daily`
//! are accepted too, and an `RRULE:` prefix is ignored. Rules are stored in their normal form
//! (`FREQ=YEARLY;INTERVAL=2`), so two spellings of one rule compare equal.
//!
//! Where RFC 5545 leaves the choice open, Concierge decides:
//! - The day of the month taken from the date itself (no `BYMONTHDAY`) is *kept within the
//!   month*: a yearly 29 February is observed on 28 February in common years, and a monthly
//!   31st falls on the 30th, or the 28th/29th of February. An explicit `BYMONTHDAY=31` skips
//!   the months that have no 31st, as the RFC says.
//! - The first date counts as an occurrence only when the rule produces it.
//!
//! Every search is bounded (at most [`MAX_PERIODS`] periods are looked at), so no rule can
//! loop forever; a rule that produces no date at all is refused when it is parsed against its
//! first date ([`Recurrence::validate_for`]).

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most periods (years, months, weeks or days) any search steps through.
pub const MAX_PERIODS: i64 = 5_000;
const MAX_INTERVAL: u32 = 1_000;
const MAX_COUNT: u32 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Freq {
    Yearly,
    Monthly,
    Weekly,
    Daily,
}

impl Freq {
    fn as_str(self) -> &'static str {
        match self {
            Freq::Yearly => "YEARLY",
            Freq::Monthly => "MONTHLY",
            Freq::Weekly => "WEEKLY",
            Freq::Daily => "DAILY",
        }
    }
}

/// A repeating rule. Build one with [`Recurrence::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    pub by_month: Vec<u32>,
    pub by_month_day: Vec<i32>,
    pub count: Option<u32>,
    pub until: Option<NaiveDate>,
}

/// Whether and how a date repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Option<String>", into = "Option<String>")]
pub enum Recurrence {
    #[default]
    None,
    Rule(Rule),
}

impl TryFrom<Option<String>> for Recurrence {
    type Error = String;
    fn try_from(value: Option<String>) -> Result<Self, Self::Error> {
        Self::parse(value.as_deref().unwrap_or_default())
    }
}

impl From<Recurrence> for Option<String> {
    fn from(value: Recurrence) -> Self {
        value.to_rule_string()
    }
}

impl TryFrom<String> for Recurrence {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| format!("{key}={value} is not a number"))
}

fn parse_until(value: &str) -> Result<NaiveDate, String> {
    let v = value.trim();
    let date_part = v.get(..8).unwrap_or(v);
    NaiveDate::parse_from_str(date_part, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%Y-%m-%d"))
        .map_err(|_| format!("UNTIL={v} is not a date like 20271231"))
}

impl Recurrence {
    /// Reads a rule; an empty text (or `none`) means the date does not repeat.
    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.trim();
        let text = text
            .strip_prefix("RRULE:")
            .or_else(|| text.strip_prefix("rrule:"))
            .unwrap_or(text)
            .trim();
        let shorthand = match text.to_ascii_lowercase().as_str() {
            "" | "none" | "never" => return Ok(Self::None),
            "yearly" | "annually" => Some(Freq::Yearly),
            "monthly" => Some(Freq::Monthly),
            "weekly" => Some(Freq::Weekly),
            "daily" => Some(Freq::Daily),
            _ => None,
        };
        if let Some(freq) = shorthand {
            return Ok(Self::Rule(Rule {
                freq,
                interval: 1,
                by_month: vec![],
                by_month_day: vec![],
                count: None,
                until: None,
            }));
        }
        let mut freq = None;
        let mut rule = Rule {
            freq: Freq::Yearly,
            interval: 1,
            by_month: vec![],
            by_month_day: vec![],
            count: None,
            until: None,
        };
        let mut seen = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not KEY=VALUE"))?;
            let key = key.trim().to_ascii_uppercase();
            if seen.contains(&key) {
                return Err(format!("{key} is given twice"));
            }
            seen.push(key.clone());
            match key.as_str() {
                "FREQ" => {
                    freq = Some(match value.trim().to_ascii_uppercase().as_str() {
                        "YEARLY" => Freq::Yearly,
                        "MONTHLY" => Freq::Monthly,
                        "WEEKLY" => Freq::Weekly,
                        "DAILY" => Freq::Daily,
                        other => {
                            return Err(format!(
                                "FREQ={other} is not supported (YEARLY, MONTHLY, WEEKLY or DAILY)"
                            ))
                        }
                    })
                }
                "INTERVAL" => {
                    let n: u32 = parse_number("INTERVAL", value)?;
                    if !(1..=MAX_INTERVAL).contains(&n) {
                        return Err(format!("INTERVAL must be between 1 and {MAX_INTERVAL}"));
                    }
                    rule.interval = n;
                }
                "BYMONTH" => {
                    for v in value.split(',') {
                        let m: u32 = parse_number("BYMONTH", v)?;
                        if !(1..=12).contains(&m) {
                            return Err(format!("BYMONTH={m} is not a month (1 to 12)"));
                        }
                        if !rule.by_month.contains(&m) {
                            rule.by_month.push(m);
                        }
                    }
                    rule.by_month.sort_unstable();
                }
                "BYMONTHDAY" => {
                    for v in value.split(',') {
                        let d: i32 = parse_number("BYMONTHDAY", v)?;
                        if d == 0 || !(-31..=31).contains(&d) {
                            return Err(format!(
                                "BYMONTHDAY={d} is not a day of the month (1 to 31, or -1 to -31)"
                            ));
                        }
                        if !rule.by_month_day.contains(&d) {
                            rule.by_month_day.push(d);
                        }
                    }
                    rule.by_month_day.sort_unstable();
                }
                "COUNT" => {
                    let n: u32 = parse_number("COUNT", value)?;
                    if !(1..=MAX_COUNT).contains(&n) {
                        return Err(format!("COUNT must be between 1 and {MAX_COUNT}"));
                    }
                    rule.count = Some(n);
                }
                "UNTIL" => rule.until = Some(parse_until(value)?),
                other => {
                    return Err(format!(
                    "{other} is not supported (use FREQ, INTERVAL, BYMONTH, BYMONTHDAY, COUNT, UNTIL)"
                ))
                }
            }
        }
        rule.freq = freq.ok_or("FREQ is required, for example FREQ=YEARLY")?;
        if rule.count.is_some() && rule.until.is_some() {
            return Err("COUNT and UNTIL cannot both be given".into());
        }
        if rule.freq == Freq::Weekly && !rule.by_month_day.is_empty() {
            return Err("BYMONTHDAY cannot be used with FREQ=WEEKLY".into());
        }
        Ok(Self::Rule(rule))
    }

    /// Checks that the rule produces at least one date from `start`.
    pub fn validate_for(&self, start: NaiveDate) -> Result<(), String> {
        if let Self::Rule(rule) = self {
            if let Some(until) = rule.until {
                if until < start {
                    return Err("UNTIL is before the date itself".into());
                }
            }
            if self.first_on_or_after(start, start).is_none() {
                return Err("the rule never produces a date".into());
            }
        }
        Ok(())
    }

    pub fn is_recurring(&self) -> bool {
        matches!(self, Self::Rule(_))
    }

    /// The rule in its normal RRULE form, or nothing for a one-off date.
    pub fn to_rule_string(&self) -> Option<String> {
        let Self::Rule(r) = self else { return None };
        let mut parts = vec![format!("FREQ={}", r.freq.as_str())];
        if r.interval != 1 {
            parts.push(format!("INTERVAL={}", r.interval));
        }
        let join = |v: Vec<String>| v.join(",");
        if !r.by_month.is_empty() {
            parts.push(format!(
                "BYMONTH={}",
                join(r.by_month.iter().map(|m| m.to_string()).collect())
            ));
        }
        if !r.by_month_day.is_empty() {
            parts.push(format!(
                "BYMONTHDAY={}",
                join(r.by_month_day.iter().map(|d| d.to_string()).collect())
            ));
        }
        if let Some(c) = r.count {
            parts.push(format!("COUNT={c}"));
        }
        if let Some(u) = r.until {
            parts.push(format!("UNTIL={}", u.format("%Y%m%d")));
        }
        Some(parts.join(";"))
    }

    /// A short description for people: "Every year", "Every 2 months", "Does not repeat".
    pub fn describe(&self) -> String {
        let Self::Rule(r) = self else {
            return "Does not repeat".into();
        };
        let unit = match r.freq {
            Freq::Yearly => "year",
            Freq::Monthly => "month",
            Freq::Weekly => "week",
            Freq::Daily => "day",
        };
        let mut text = if r.interval == 1 {
            format!("Every {unit}")
        } else {
            format!("Every {} {unit}s", r.interval)
        };
        if let Some(c) = r.count {
            text.push_str(&format!(", {c} times"));
        }
        if let Some(u) = r.until {
            text.push_str(&format!(", until {}", u.format("%-d %b %Y")));
        }
        text
    }

    /// The first occurrence on or after `on_or_after`, for a date first set on `start`.
    pub fn next_occurrence(&self, start: NaiveDate, on_or_after: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::None => (start >= on_or_after).then_some(start),
            Self::Rule(_) => self.first_on_or_after(start, on_or_after),
        }
    }

    /// The next occurrence as of `today` for a date first set on `start`, whose occurrence was
    /// last written as `stored`: that one while it has not passed, otherwise the first on or
    /// after `today` (housekeeping writes it later). None stays none: a one-off date or a
    /// finished rule that has passed has no further occurrence.
    pub fn next_as_of(
        &self,
        start: NaiveDate,
        stored: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Option<NaiveDate> {
        match stored {
            Some(next) if next < today => self.next_occurrence(start, today),
            stored => stored,
        }
    }

    /// Every occurrence in `from..=to`, at most `limit` of them.
    pub fn occurrences_between(
        &self,
        start: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut cursor = from;
        while out.len() < limit {
            match self.next_occurrence(start, cursor) {
                Some(d) if d <= to => {
                    out.push(d);
                    match d.succ_opt() {
                        Some(next) => cursor = next,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        out
    }

    fn first_on_or_after(&self, start: NaiveDate, target: NaiveDate) -> Option<NaiveDate> {
        let Self::Rule(rule) = self else { return None };
        let target = target.max(start);
        if rule.until.is_some_and(|u| target > u) {
            return None;
        }
        // Without COUNT, jump straight to the period holding `target` (less one, for safety);
        // with COUNT every occurrence from the start must be counted.
        let first_period = if rule.count.is_some() {
            0
        } else {
            let elapsed = periods_between(rule.freq, start, target);
            ((elapsed / rule.interval as i64) - 1).max(0)
        };
        let mut seen: u32 = 0;
        for k in first_period..first_period + MAX_PERIODS {
            let index = k.checked_mul(rule.interval as i64)?;
            let dates = period_dates(rule, start, index)?;
            for d in dates {
                if d < start {
                    continue;
                }
                if rule.until.is_some_and(|u| d > u) {
                    return None;
                }
                seen += 1;
                if rule.count.is_some_and(|c| seen > c) {
                    return None;
                }
                if d >= target {
                    return Some(d);
                }
            }
        }
        None
    }
}

/// Whole periods of `freq` from `start` to `target` (0 when target is not later).
fn periods_between(freq: Freq, start: NaiveDate, target: NaiveDate) -> i64 {
    if target <= start {
        return 0;
    }
    match freq {
        Freq::Yearly => (target.year() - start.year()) as i64,
        Freq::Monthly => {
            (target.year() - start.year()) as i64 * 12 + target.month() as i64
                - start.month() as i64
        }
        Freq::Weekly => (target - start).num_days() / 7,
        Freq::Daily => (target - start).num_days(),
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = first.and_then(|f| f.checked_add_months(Months::new(1)));
    match (first, next) {
        (Some(f), Some(n)) => (n - f).num_days() as u32,
        _ => 31,
    }
}

/// The days a month contributes: the rule's BYMONTHDAY (skipping days it lacks), or the start
/// date's day kept within the month.
fn month_days(rule: &Rule, start: NaiveDate, year: i32, month: u32) -> Vec<NaiveDate> {
    let len = days_in_month(year, month) as i32;
    let mut days: Vec<NaiveDate> = if rule.by_month_day.is_empty() {
        let day = (start.day() as i32).min(len);
        NaiveDate::from_ymd_opt(year, month, day as u32)
            .into_iter()
            .collect()
    } else {
        rule.by_month_day
            .iter()
            .filter_map(|&d| {
                let day = if d > 0 { d } else { len + 1 + d };
                (1..=len)
                    .contains(&day)
                    .then(|| NaiveDate::from_ymd_opt(year, month, day as u32))
                    .flatten()
            })
            .collect()
    };
    days.sort_unstable();
    days.dedup();
    days
}

/// The dates of the period `index` periods after the start's, in order; None past the
/// calendar's end.
fn period_dates(rule: &Rule, start: NaiveDate, index: i64) -> Option<Vec<NaiveDate>> {
    let month_ok = |m: u32| rule.by_month.is_empty() || rule.by_month.contains(&m);
    match rule.freq {
        Freq::Yearly => {
            let year = start.year().checked_add(i32::try_from(index).ok()?)?;
            if year > 9999 {
                return None;
            }
            let months: Vec<u32> = if !rule.by_month.is_empty() {
                rule.by_month.clone()
            } else if !rule.by_month_day.is_empty() {
                (1..=12).collect()
            } else {
                vec![start.month()]
            };
            Some(
                months
                    .into_iter()
                    .flat_map(|m| month_days(rule, start, year, m))
                    .collect(),
            )
        }
        Freq::Monthly => {
            let first = NaiveDate::from_ymd_opt(start.year(), start.month(), 1)?
                .checked_add_months(Months::new(u32::try_from(index).ok()?))?;
            if first.year() > 9999 {
                return None;
            }
            if !month_ok(first.month()) {
                return Some(vec![]);
            }
            Some(month_days(rule, start, first.year(), first.month()))
        }
        Freq::Weekly => {
            let d = start.checked_add_signed(Duration::try_weeks(index)?)?;
            Some(if month_ok(d.month()) { vec![d] } else { vec![] })
        }
        Freq::Daily => {
            let d = start.checked_add_signed(Duration::try_days(index)?)?;
            let day_ok = rule.by_month_day.is_empty() || {
                let len = days_in_month(d.year(), d.month()) as i32;
                rule.by_month_day
                    .iter()
                    .any(|&m| m == d.day() as i32 || len + 1 + m == d.day() as i32)
            };
            Some(if month_ok(d.month()) && day_ok {
                vec![d]
            } else {
                vec![]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn rule(text: &str) -> Recurrence {
        Recurrence::parse(text).unwrap()
    }

    #[test]
    fn parsing_and_normal_form() {
        assert_eq!(rule(""), Recurrence::None);
        assert_eq!(rule("yearly").to_rule_string().unwrap(), "FREQ=YEARLY");
        assert_eq!(
            rule("RRULE:freq=monthly;interval=3;bymonthday=-1,15").to_rule_string(),
            Some("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1,15".into())
        );
        assert_eq!(
            rule("FREQ=YEARLY;UNTIL=20301231T000000Z").to_rule_string(),
            Some("FREQ=YEARLY;UNTIL=20301231".into())
        );
        for bad in [
            "FREQ=HOURLY",
            "INTERVAL=2",
            "FREQ=YEARLY;INTERVAL=0",
            "FREQ=YEARLY;BYMONTH=13",
            "FREQ=YEARLY;BYMONTHDAY=0",
            "FREQ=YEARLY;COUNT=2;UNTIL=20300101",
            "FREQ=WEEKLY;BYMONTHDAY=3",
            "FREQ=YEARLY;BYDAY=MO",
            "FREQ=YEARLY;FREQ=MONTHLY",
            "FREQ",
        ] {
            assert!(Recurrence::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn leap_day_is_observed_on_the_28th_in_common_years() {
        let r = rule("FREQ=YEARLY");
        let born = d(2000, 2, 29);
        assert_eq!(
            r.next_occurrence(born, d(2026, 11, 22)),
            Some(d(2027, 2, 28))
        );
        assert_eq!(r.next_occurrence(born, d(2027, 3, 1)), Some(d(2028, 2, 29)));
        assert_eq!(
            r.next_occurrence(born, d(2028, 2, 29)),
            Some(d(2028, 2, 29))
        );
    }

    #[test]
    fn a_stored_occurrence_holds_until_it_passes() {
        let yearly = rule("FREQ=YEARLY");
        let start = d(2020, 4, 5);
        let today = d(2026, 4, 6);
        // Not yet passed: the stored one, even where the rule alone would say otherwise.
        assert_eq!(
            yearly.next_as_of(start, Some(d(2026, 4, 6)), today),
            Some(d(2026, 4, 6))
        );
        // Passed and not rolled forward yet: the rule's next.
        assert_eq!(
            yearly.next_as_of(start, Some(d(2026, 4, 5)), today),
            Some(d(2027, 4, 5))
        );
        // A one-off that has passed, and one with nothing stored, have no next.
        assert_eq!(Recurrence::None.next_as_of(start, Some(start), today), None);
        assert_eq!(yearly.next_as_of(start, None, today), None);
    }

    #[test]
    fn monthly_on_the_31st_stays_in_the_month() {
        let r = rule("monthly");
        let start = d(2026, 1, 31);
        assert_eq!(
            r.occurrences_between(start, d(2026, 1, 1), d(2026, 5, 31), 10),
            vec![
                d(2026, 1, 31),
                d(2026, 2, 28),
                d(2026, 3, 31),
                d(2026, 4, 30),
                d(2026, 5, 31)
            ]
        );
        // An explicit BYMONTHDAY=31 skips short months instead.
        let r = rule("FREQ=MONTHLY;BYMONTHDAY=31");
        assert_eq!(
            r.occurrences_between(start, d(2026, 1, 1), d(2026, 5, 31), 10),
            vec![d(2026, 1, 31), d(2026, 3, 31), d(2026, 5, 31)]
        );
    }

    #[test]
    fn count_until_interval_and_one_offs() {
        let start = d(2024, 6, 10);
        let r = rule("FREQ=YEARLY;COUNT=3");
        assert_eq!(r.next_occurrence(start, d(2026, 6, 11)), None);
        assert_eq!(
            r.next_occurrence(start, d(2025, 6, 11)),
            Some(d(2026, 6, 10))
        );
        let r = rule("FREQ=WEEKLY;INTERVAL=2;UNTIL=20240801");
        assert_eq!(
            r.next_occurrence(start, d(2024, 6, 11)),
            Some(d(2024, 6, 24))
        );
        assert_eq!(r.next_occurrence(start, d(2024, 7, 23)), None);
        assert_eq!(Recurrence::None.next_occurrence(start, start), Some(start));
        assert_eq!(
            Recurrence::None.next_occurrence(start, d(2024, 6, 11)),
            None
        );
        let r = rule("FREQ=YEARLY;BYMONTH=3,9;BYMONTHDAY=1");
        assert_eq!(
            r.next_occurrence(start, d(2024, 6, 11)),
            Some(d(2024, 9, 1))
        );
        assert_eq!(r.next_occurrence(start, d(2024, 9, 2)), Some(d(2025, 3, 1)));
    }

    #[test]
    fn impossible_rules_end_instead_of_looping() {
        let r = rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
        assert_eq!(r.next_occurrence(d(2026, 1, 1), d(2026, 1, 1)), None);
        assert!(r.validate_for(d(2026, 1, 1)).is_err());
        assert!(rule("FREQ=YEARLY;UNTIL=20200101")
            .validate_for(d(2026, 1, 1))
            .is_err());
        assert!(rule("yearly").validate_for(d(2026, 1, 1)).is_ok());
    }

    fn any_rule() -> impl Strategy<Value = Recurrence> {
        (
            prop_oneof![
                Just("YEARLY"),
                Just("MONTHLY"),
                Just("WEEKLY"),
                Just("DAILY")
            ],
            1u32..5,
            proptest::option::of(1u32..13),
            proptest::option::of(prop_oneof![1i32..32, -31i32..0]),
            proptest::option::of(1u32..20),
        )
            .prop_filter_map("weekly takes no BYMONTHDAY", |(f, i, m, md, c)| {
                let mut text = format!("FREQ={f};INTERVAL={i}");
                if let Some(m) = m {
                    text.push_str(&format!(";BYMONTH={m}"));
                }
                if let Some(md) = md {
                    text.push_str(&format!(";BYMONTHDAY={md}"));
                }
                if let Some(c) = c {
                    text.push_str(&format!(";COUNT={c}"));
                }
                Recurrence::parse(&text).ok()
            })
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1950i32..2090, 1u32..13, 1u32..32)
            .prop_filter_map("real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        /// The next occurrence is on or after the target, and no occurrence lies between.
        #[test]
        fn next_is_the_earliest_on_or_after(r in any_rule(), start in any_date(), ahead in 0i64..800) {
            let target = start + Duration::days(ahead);
            if let Some(next) = r.next_occurrence(start, target) {
                prop_assert!(next >= target);
                let all = r.occurrences_between(start, start, next, 20_000);
                prop_assert_eq!(all.last().copied(), Some(next));
                prop_assert!(all.iter().rev().skip(1).all(|d| *d < target));
            }
        }

        /// Rolling forward is stable: asking again from the answer gives the answer.
        #[test]
        fn next_is_a_fixed_point(r in any_rule(), start in any_date(), ahead in 0i64..3000) {
            let target = start + Duration::days(ahead);
            if let Some(next) = r.next_occurrence(start, target) {
                prop_assert_eq!(r.next_occurrence(start, next), Some(next));
            }
        }

        /// A yearly date comes back once a year, on its own day or (for 29 February) the 28th.
        #[test]
        fn yearly_comes_back_every_year(start in any_date(), year in 1950i32..2200) {
            let r = rule("FREQ=YEARLY");
            let target = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            let next = r.next_occurrence(start, target).unwrap();
            prop_assert!(next.year() == year.max(start.year()));
            prop_assert_eq!(next.month(), start.month());
            let expected_day = if start.month() == 2 && start.day() == 29 && NaiveDate::from_ymd_opt(next.year(), 2, 29).is_none() { 28 } else { start.day() };
            prop_assert_eq!(next.day(), expected_day);
        }
    }
}
