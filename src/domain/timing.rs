//! When a reminder is due: a wall-clock time on a calendar day in someone's time zone, turned
//! into one exact instant.
//!
//! Wall-clock times are resolved as RFC 5545 (§3.3.5) resolves them, so a reminder is never lost
//! or sent twice on the nights the clocks change:
//! - a time that happens twice (clocks go back) means the **first** of the two;
//! - a time that does not happen (clocks go forward) is read with the UTC offset in force
//!   **before** the gap, so 02:30 on a night that jumps from 02:00 to 03:00 means 03:30;
//!   a whole missing day (Pacific/Kiritimati skipped 31 December 1994) lands on the next day.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

/// The instant at which the clock in `tz` shows `time` on `date`.
pub fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let wall = date.and_time(time);
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => {
            // The offset a day earlier is the one in force before the gap: no zone changes
            // its offset twice within a day.
            let before = wall - Duration::days(1);
            let offset = tz.offset_from_utc_datetime(&before).fix();
            DateTime::<Utc>::from_naive_utc_and_offset(wall - offset, Utc)
        }
    }
}

/// The instant of a lead-time reminder: `days` calendar days before `occurrence`, at `time` on
/// the clock in `tz`.
pub fn lead_time_instant(
    occurrence: NaiveDate,
    days: u32,
    time: NaiveTime,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let day = occurrence.checked_sub_signed(Duration::try_days(days as i64)?)?;
    Some(local_instant(day, time, tz))
}

/// Today's date on the clock in `tz`.
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The last second of today on the clock in `tz` (for "due today and overdue"): the second
/// before local midnight, whatever the offset that night.
pub fn end_of_local_day(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = local_today(now, tz) + Duration::days(1);
    local_instant(tomorrow, NaiveTime::MIN, tz) - Duration::seconds(1)
}

/// The wall-clock time in `tz` at `instant`.
pub fn local_wall(instant: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    instant.with_timezone(&tz).naive_local()
}

/// Reads a time of day such as `09:00` or `17:30`.
pub fn parse_time_of_day(input: &str) -> Result<NaiveTime, String> {
    let s = input.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| format!("'{s}' is not a time of day like 09:00"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn today_ends_at_midnight_on_the_staff_clock() {
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        // 22:00 UTC on Monday is 09:00 on Tuesday in Sydney (AEDT, +11): her today is Tuesday,
        // which ends at 13:00 UTC on Tuesday.
        let now = utc("2026-12-07T22:00:00Z");
        assert_eq!(local_today(now, sydney), d(2026, 12, 8));
        assert_eq!(end_of_local_day(now, sydney), utc("2026-12-08T12:59:59Z"));
        // In London the same instant is still Monday.
        let london: Tz = "Europe/London".parse().unwrap();
        assert_eq!(end_of_local_day(now, london), utc("2026-12-07T23:59:59Z"));
        // The night the clocks go back in London (25 October 2026) has 25 hours.
        assert_eq!(
            end_of_local_day(utc("2026-10-25T12:00:00Z"), london),
            utc("2026-10-25T23:59:59Z")
        );
        assert_eq!(
            end_of_local_day(utc("2026-10-24T12:00:00Z"), london),
            utc("2026-10-24T22:59:59Z")
        );
    }
    const NINE: fn() -> NaiveTime = || t(9, 0);

    #[test]
    fn nine_oclock_fourteen_days_before_in_five_zones() {
        // Occurrence 22 March 2027: 14 days before is 8 March 2027.
        let occurrence = d(2027, 3, 22);
        let cases = [
            // New York: DST began 14 March 2027, so 8 March is still EST (-05:00).
            ("America/New_York", "2027-03-08T14:00:00Z"),
            // London: GMT until 28 March 2027.
            ("Europe/London", "2027-03-08T09:00:00Z"),
            // Lord Howe: +11:00 summer time until 4 April 2027.
            ("Australia/Lord_Howe", "2027-03-07T22:00:00Z"),
            ("Asia/Kolkata", "2027-03-08T03:30:00Z"),
            ("Pacific/Kiritimati", "2027-03-07T19:00:00Z"),
        ];
        for (zone, expected) in cases {
            let tz: Tz = zone.parse().unwrap();
            assert_eq!(
                lead_time_instant(occurrence, 14, NINE(), tz),
                Some(utc(expected)),
                "{zone}"
            );
        }
    }

    #[test]
    fn on_the_nights_the_clocks_change() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 14 March 2027: 02:00 EST jumps to 03:00 EDT. 09:00 is EDT; 02:30 does not exist.
        assert_eq!(
            local_instant(d(2027, 3, 14), NINE(), ny),
            utc("2027-03-14T13:00:00Z")
        );
        assert_eq!(
            local_instant(d(2027, 3, 14), t(2, 30), ny),
            utc("2027-03-14T07:30:00Z") // 03:30 EDT
        );
        // 7 November 2027: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        assert_eq!(
            local_instant(d(2027, 11, 7), t(1, 30), ny),
            utc("2027-11-07T05:30:00Z") // the first, EDT
        );
        assert_eq!(
            local_instant(d(2027, 11, 7), NINE(), ny),
            utc("2027-11-07T14:00:00Z")
        );

        let london: Tz = "Europe/London".parse().unwrap();
        assert_eq!(
            local_instant(d(2027, 3, 28), NINE(), london),
            utc("2027-03-28T08:00:00Z")
        );
        assert_eq!(
            local_instant(d(2027, 3, 28), t(1, 15), london),
            utc("2027-03-28T01:15:00Z") // 02:15 BST
        );
        assert_eq!(
            local_instant(d(2027, 10, 31), t(1, 15), london),
            utc("2027-10-31T00:15:00Z") // the first 01:15, BST
        );

        // Lord Howe moves by half an hour: 3 October 2027 02:00 -> 02:30.
        let lh: Tz = "Australia/Lord_Howe".parse().unwrap();
        assert_eq!(
            local_instant(d(2027, 10, 3), t(2, 15), lh),
            utc("2027-10-02T15:45:00Z") // read at +10:30, i.e. 02:45 at +11:00
        );
        assert_eq!(
            local_instant(d(2027, 10, 3), NINE(), lh),
            utc("2027-10-02T22:00:00Z")
        );
        // 4 April 2027 02:00 -> 01:30: 01:45 happens twice; the first is at +11:00.
        assert_eq!(
            local_instant(d(2027, 4, 4), t(1, 45), lh),
            utc("2027-04-03T14:45:00Z")
        );

        // Kiritimati skipped 31 December 1994 altogether.
        let kiri: Tz = "Pacific/Kiritimati".parse().unwrap();
        let skipped = local_instant(d(1994, 12, 31), NINE(), kiri);
        assert_eq!(local_wall(skipped, kiri), d(1995, 1, 1).and_time(NINE()));
    }

    #[test]
    fn leap_day_birthday_reminders() {
        let tz: Tz = "Europe/London".parse().unwrap();
        // Observed on 28 February 2027, so 14 days before is 14 February.
        assert_eq!(
            lead_time_instant(d(2027, 2, 28), 14, NINE(), tz),
            Some(utc("2027-02-14T09:00:00Z"))
        );
        assert_eq!(
            lead_time_instant(d(2028, 2, 29), 1, NINE(), tz),
            Some(utc("2028-02-28T09:00:00Z"))
        );
    }

    #[test]
    fn times_of_day() {
        assert_eq!(parse_time_of_day("09:00"), Ok(t(9, 0)));
        assert_eq!(parse_time_of_day(" 17:30:00 "), Ok(t(17, 30)));
        assert!(parse_time_of_day("25:00").is_err());
        assert!(parse_time_of_day("nine").is_err());
    }

    const ZONES: [&str; 5] = [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Kiritimati",
    ];

    proptest! {
        /// Where the wall-clock time exists, the instant shows exactly that time; where it
        /// exists twice, no earlier instant shows it; where it does not exist, the instant is
        /// the first moment after the gap plus the time already elapsed into it.
        #[test]
        fn the_instant_shows_the_wall_time(
            zone in 0usize..5,
            days in 0i64..(365 * 80),
            minute in 0u32..(24 * 60),
            lead in 0u32..400,
        ) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let occurrence = d(1990, 1, 1) + Duration::days(days);
            let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap();
            let at = lead_time_instant(occurrence, lead, time, tz).unwrap();
            let day = occurrence - Duration::days(lead as i64);
            let wall = day.and_time(time);
            match tz.from_local_datetime(&wall) {
                LocalResult::Single(_) => prop_assert_eq!(local_wall(at, tz), wall),
                LocalResult::Ambiguous(a, b) => {
                    prop_assert_eq!(local_wall(at, tz), wall);
                    prop_assert_eq!(at, a.min(b).with_timezone(&Utc));
                }
                LocalResult::None => {
                    // Later than asked on the clock, by no more than the gap (at most a day).
                    let shown = local_wall(at, tz);
                    prop_assert!(shown > wall && shown - wall <= Duration::days(1));
                }
            }
        }

        /// Reminders for later occurrences are never earlier, and a day apart give or take a
        /// change of the clocks (Kiritimati's missing day aside).
        #[test]
        fn instants_follow_the_calendar(zone in 0usize..5, days in 0i64..(365 * 80), lead in 0u32..60) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let a = d(1990, 1, 1) + Duration::days(days);
            let b = a + Duration::days(1);
            let ta = lead_time_instant(a, lead, NINE(), tz).unwrap();
            let tb = lead_time_instant(b, lead, NINE(), tz).unwrap();
            prop_assert!(tb >= ta);
            let reminder_day = b - Duration::days(lead as i64);
            let skipped_day = tz.name() == "Pacific/Kiritimati"
                && (d(1994, 12, 31)..=d(1995, 1, 1)).contains(&reminder_day);
            prop_assert!(skipped_day || (tb - ta >= Duration::hours(22) && tb - ta <= Duration::hours(26)));
        }
    }
}
