//! The one decision every outbound message to a client meets: **send now**, **hold until** an
//! instant, or **skip** with a reason — from the person, their addresses, the policy, the
//! messages they already have, and the time. Utility messages meet only an explicit opt-out of
//! their channel; engagement messages also need marketing consent, keep to the frequency caps
//! (counted across every engagement source, queued and held messages included) and wait out
//! the quiet hours on the recipient's own clock. The engagement run asks it when it queues a
//! nudge, and the dispatcher asks it again when a held or queued nudge is about to go.

use super::policy::{EngagementPolicy, QuietAction};
use crate::domain::comms::CommIdentity;
use crate::domain::dates::Channel;
use crate::domain::delivery::DeliveryKind;
use crate::domain::route::{route, NoRoute, Route};
use crate::domain::timing::local_instant;
use crate::domain::Person;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An engagement message the person already has: sent at `at`, or still to go (`pending`:
/// queued, held or being sent), which counts against the caps whenever it will go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prior {
    pub at: DateTime<Utc>,
    pub pending: bool,
}

/// Which cap stopped a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapWindow {
    Day,
    Week,
}

impl CapWindow {
    pub fn length(self) -> Duration {
        match self {
            CapWindow::Day => Duration::hours(24),
            CapWindow::Week => Duration::days(7),
        }
    }
}

/// Why a message is not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// Engagement is switched off in the policy.
    EngagementOff,
    NoConsent,
    OptedOut {
        channel: Channel,
    },
    /// No address on the channel, or only ones disabled after hard failures.
    NoChannel {
        channel: Channel,
        disabled: bool,
    },
    /// In quiet hours, with the policy set to skip rather than hold.
    QuietHours,
    FrequencyCap {
        window: CapWindow,
        cap: i32,
    },
}

impl SkipReason {
    /// The key the run's summary counts it under.
    pub fn key(self) -> &'static str {
        match self {
            SkipReason::EngagementOff => "engagement_off",
            SkipReason::NoConsent => "no_consent",
            SkipReason::OptedOut { .. } => "opted_out",
            SkipReason::NoChannel { .. } => "no_channel",
            SkipReason::QuietHours => "quiet_hours",
            SkipReason::FrequencyCap { .. } => "frequency_cap",
        }
    }

    /// The code stored as a delivery's suppression reason (see `delivery::suppression_words`).
    pub fn code(self) -> String {
        match self {
            SkipReason::OptedOut { .. } => "opted_out".into(),
            SkipReason::NoChannel { disabled: true, .. } => "identity_disabled".into(),
            SkipReason::NoChannel { .. } => "no_address".into(),
            SkipReason::FrequencyCap {
                window: CapWindow::Day,
                cap,
            } => format!("cap_day:{cap}"),
            SkipReason::FrequencyCap {
                window: CapWindow::Week,
                cap,
            } => format!("cap_week:{cap}"),
            other => other.key().into(),
        }
    }

    /// The channel the reason is about, where it is about one.
    pub fn channel(self) -> Option<Channel> {
        match self {
            SkipReason::OptedOut { channel } | SkipReason::NoChannel { channel, .. } => {
                Some(channel)
            }
            _ => None,
        }
    }
}

/// The summary's skip keys, in the order pages show them.
pub const SKIP_KEYS: &[&str] = &[
    "no_consent",
    "opted_out",
    "no_channel",
    "frequency_cap",
    "quiet_hours",
    "too_long",
    "engagement_off",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    SendNow,
    /// Quiet hours on the recipient's clock: held until they end.
    HoldUntil(DateTime<Utc>),
    Skip {
        reason: SkipReason,
        /// When the same question could have another answer without anything else changing
        /// (a cap running out, quiet hours ending); `None`: not until the person or the policy
        /// changes.
        recheck_at: Option<DateTime<Utc>>,
    },
}

/// A decision and, unless skipped, where the message goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    pub route: Option<Route>,
}

impl Verdict {
    /// Whether no address can reach the person on the channel (none, disabled, or opted out).
    pub fn unreachable(&self) -> bool {
        matches!(
            self.decision,
            Decision::Skip {
                reason: SkipReason::NoChannel { .. } | SkipReason::OptedOut { .. },
                ..
            }
        )
    }

    fn skip(reason: SkipReason, recheck_at: Option<DateTime<Utc>>) -> Self {
        Self {
            decision: Decision::Skip { reason, recheck_at },
            route: None,
        }
    }
}

fn tz_of(person: &Person) -> Tz {
    person.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// When the quiet hours around `now` end on the clock of `tz`, or `None` when `now` is not in
/// them.
pub fn quiet_until(policy: &EngagementPolicy, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !policy.has_quiet_hours() {
        return None;
    }
    closed_until(policy.quiet_start, policy.quiet_end, tz, now)
}

/// When the stretch of each day from `start` to `end` (across midnight when `end` is earlier)
/// that holds `now` ends on the clock of `tz`, or `None` when `now` is outside it.
pub fn closed_until(
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&tz);
    let time = local.time();
    let closed = if start < end {
        time >= start && time < end
    } else {
        time >= start || time < end
    };
    if !closed {
        return None;
    }
    let mut day = local.date_naive();
    if time >= end {
        day = day.succ_opt()?;
    }
    let mut release = local_instant(day, end, tz);
    // The day after, should a shifted clock have put today's end behind us.
    while release <= now {
        day = day.succ_opt()?;
        release = local_instant(day, end, tz);
    }
    Some(release)
}

/// Checks the caps for a message going out at `at`: the first cap it would exceed and when
/// that cap has room again (as far as the messages already sent tell).
fn over_cap(
    policy: &EngagementPolicy,
    prior: &[Prior],
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(SkipReason, DateTime<Utc>)> {
    for (window, cap) in [
        (CapWindow::Day, policy.cap_per_day),
        (CapWindow::Week, policy.cap_per_week),
    ] {
        let length = window.length();
        let pending = prior.iter().filter(|p| p.pending).count();
        let mut sent: Vec<DateTime<Utc>> = prior
            .iter()
            .filter(|p| !p.pending && p.at > at - length)
            .map(|p| p.at)
            .collect();
        let count = pending + sent.len();
        if count as i64 >= cap.max(0) as i64 {
            sent.sort();
            // Room again once enough of the sent ones have left the window; pending ones
            // leave only after they are sent, so then ask again in an hour.
            let excess = count + 1 - cap.max(0) as usize;
            let free_at = if cap > 0 && excess <= sent.len() {
                sent[excess - 1] + length
            } else {
                now + Duration::hours(1)
            };
            return Some((
                SkipReason::FrequencyCap { window, cap },
                free_at.max(now + Duration::seconds(1)),
            ));
        }
    }
    None
}

/// Decides what becomes of a message of `kind` to `person` on `channel` (`None`: their
/// preferred address) at `now`.
pub fn decide(
    kind: DeliveryKind,
    person: &Person,
    identities: &[CommIdentity],
    channel: Option<Channel>,
    policy: &EngagementPolicy,
    prior: &[Prior],
    now: DateTime<Utc>,
) -> Verdict {
    let engagement = kind == DeliveryKind::Engagement;
    if engagement {
        if !policy.enabled {
            return Verdict::skip(SkipReason::EngagementOff, None);
        }
        if !person.marketing_consent {
            return Verdict::skip(SkipReason::NoConsent, None);
        }
    }
    let route = match route(person, identities, channel) {
        Ok(r) => r,
        Err((channel, NoRoute::OptedOut)) => {
            return Verdict::skip(SkipReason::OptedOut { channel }, None)
        }
        Err((channel, why)) => {
            return Verdict::skip(
                SkipReason::NoChannel {
                    channel,
                    disabled: why == NoRoute::Disabled,
                },
                None,
            )
        }
    };
    if !engagement {
        return Verdict {
            decision: Decision::SendNow,
            route: Some(route),
        };
    }
    let release = quiet_until(policy, tz_of(person), now);
    if let (Some(until), QuietAction::Skip) = (release, policy.quiet_action) {
        return Verdict::skip(SkipReason::QuietHours, Some(until));
    }
    let at = release.unwrap_or(now);
    if let Some((reason, free_at)) = over_cap(policy, prior, at, now) {
        return Verdict::skip(reason, Some(free_at));
    }
    Verdict {
        decision: match release {
            Some(until) => Decision::HoldUntil(until),
            None => Decision::SendNow,
        },
        route: Some(route),
    }
}

/// The decision in plain words, as staff read it ("held until 09:00 on their clock (Mon 7
/// Dec) — quiet hours", "skipped — 1 per 24 h cap").
pub fn words(d: &Decision, policy: &EngagementPolicy, tz: Tz) -> String {
    match d {
        Decision::SendNow => "sent now".into(),
        Decision::HoldUntil(t) => held_words(*t, tz),
        Decision::Skip { reason, .. } => skip_words(*reason, policy),
    }
}

/// "held until 09:00 on their clock (Mon 7 Dec) — quiet hours".
pub fn held_words(until: DateTime<Utc>, tz: Tz) -> String {
    let local = until.with_timezone(&tz);
    format!(
        "held until {} on their clock ({}) — quiet hours",
        local.format("%H:%M"),
        local.format("%a %-d %b")
    )
}

pub fn skip_words(reason: SkipReason, policy: &EngagementPolicy) -> String {
    match reason {
        SkipReason::QuietHours => format!(
            "skipped — quiet hours ({} on their clock)",
            policy.quiet_label()
        ),
        other => crate::domain::delivery::suppression_words(
            &other.code(),
            other.channel().unwrap_or(Channel::Email),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PersonType;
    use chrono::{NaiveTime, TimeZone};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn person(tz: &str, consent: bool) -> Person {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Person {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            full_name: "Ada Lovelace".into(),
            preferred_name: Some("Ada".into()),
            person_type: PersonType::Client,
            email: Some("ada@example.com".into()),
            phone: None,
            timezone: tz.into(),
            birthday: None,
            tags: vec![],
            external_id: None,
            notes: None,
            locale: None,
            related_person_id: None,
            relationship: None,
            assigned_staff_id: None,
            last_active_at: None,
            marketing_consent: consent,
            consent_at: None,
            consent_source: None,
            segment: Default::default(),
            churn_risk: 0.0,
            labels: Default::default(),
            created_at: t,
            updated_at: t,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn engagement(p: &Person, prior: &[Prior], now: DateTime<Utc>) -> Decision {
        decide(
            DeliveryKind::Engagement,
            p,
            &[],
            None,
            &EngagementPolicy::default(),
            prior,
            now,
        )
        .decision
    }

    #[test]
    fn quiet_hours_hold_until_nine_on_their_clock() {
        let p = person("America/New_York", true);
        // 02:00 UTC is 21:00 the evening before in New York (EST).
        assert_eq!(
            engagement(&p, &[], at("2026-12-08T02:00:00Z")),
            Decision::HoldUntil(at("2026-12-08T14:00:00Z"))
        );
        // 20:59 local goes now.
        assert_eq!(
            engagement(&p, &[], at("2026-12-08T01:59:00Z")),
            Decision::SendNow
        );
        // 08:59 local waits a minute; 09:00 goes.
        assert_eq!(
            engagement(&p, &[], at("2026-12-08T13:59:00Z")),
            Decision::HoldUntil(at("2026-12-08T14:00:00Z"))
        );
        assert_eq!(
            engagement(&p, &[], at("2026-12-08T14:00:00Z")),
            Decision::SendNow
        );
    }

    #[test]
    fn quiet_hours_across_the_nights_the_clocks_change() {
        let p = person("Europe/London", true);
        // 29 March 2026: clocks go forward at 01:00 GMT. 23:00 GMT on the 28th is quiet;
        // 09:00 BST on the 29th is 08:00 UTC.
        assert_eq!(
            engagement(&p, &[], at("2026-03-28T23:00:00Z")),
            Decision::HoldUntil(at("2026-03-29T08:00:00Z"))
        );
        // 25 October 2026: clocks go back at 02:00 BST. 09:00 GMT is 09:00 UTC.
        assert_eq!(
            engagement(&p, &[], at("2026-10-24T22:30:00Z")),
            Decision::HoldUntil(at("2026-10-25T09:00:00Z"))
        );
    }

    #[test]
    fn caps_at_their_boundaries() {
        let p = person("UTC", true);
        let now = at("2026-12-08T12:00:00Z");
        let sent = |h: i64| Prior {
            at: now - Duration::hours(h),
            pending: false,
        };
        // One sent 23 h 59 m ago: the day cap is full until it is 24 h old.
        let just_inside = Prior {
            at: now - Duration::hours(24) + Duration::minutes(1),
            pending: false,
        };
        assert_eq!(
            engagement(&p, &[just_inside], now),
            Decision::Skip {
                reason: SkipReason::FrequencyCap {
                    window: CapWindow::Day,
                    cap: 1
                },
                recheck_at: Some(now + Duration::minutes(1)),
            }
        );
        // Exactly 24 h ago: room again.
        assert_eq!(engagement(&p, &[sent(24)], now), Decision::SendNow);
        // Three in the last 7 days (none today): the week cap.
        let three = [sent(30), sent(80), sent(150)];
        match engagement(&p, &three, now) {
            Decision::Skip {
                reason:
                    SkipReason::FrequencyCap {
                        window: CapWindow::Week,
                        cap: 3,
                    },
                recheck_at,
            } => assert_eq!(
                recheck_at,
                Some(now - Duration::hours(150) + Duration::days(7))
            ),
            other => panic!("{other:?}"),
        }
        // Two in the week: still room.
        assert_eq!(engagement(&p, &three[..2], now), Decision::SendNow);
        // A queued one counts whenever it will go.
        let queued = Prior {
            at: now + Duration::days(3),
            pending: true,
        };
        assert!(matches!(
            engagement(&p, &[queued], now),
            Decision::Skip {
                reason: SkipReason::FrequencyCap {
                    window: CapWindow::Day,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn utility_meets_only_an_opt_out() {
        let p = person("UTC", false);
        let night = at("2026-12-08T23:30:00Z");
        let many: Vec<Prior> = (0..10)
            .map(|h| Prior {
                at: night - Duration::hours(h),
                pending: false,
            })
            .collect();
        let v = decide(
            DeliveryKind::Utility,
            &p,
            &[],
            Some(Channel::Email),
            &EngagementPolicy::default(),
            &many,
            night,
        );
        assert_eq!(v.decision, Decision::SendNow);
        assert_eq!(v.route.unwrap().address.as_deref(), Some("ada@example.com"));
        let opted = CommIdentity {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            person_id: Uuid::nil(),
            channel: Channel::Email,
            address: "ada@example.com".into(),
            preferred: true,
            verified: true,
            opted_out_at: Some(night),
            hard_failures: 0,
            disabled_at: None,
            disabled_reason: None,
            created_at: night,
            updated_at: night,
        };
        let v = decide(
            DeliveryKind::Utility,
            &p,
            &[opted],
            Some(Channel::Email),
            &EngagementPolicy::default(),
            &[],
            night,
        );
        assert_eq!(
            v.decision,
            Decision::Skip {
                reason: SkipReason::OptedOut {
                    channel: Channel::Email
                },
                recheck_at: None
            }
        );
    }

    #[test]
    fn consent_channel_and_switch() {
        let now = at("2026-12-08T12:00:00Z");
        assert!(matches!(
            engagement(&person("UTC", false), &[], now),
            Decision::Skip {
                reason: SkipReason::NoConsent,
                ..
            }
        ));
        let mut nobody = person("UTC", true);
        nobody.email = None;
        assert!(matches!(
            engagement(&nobody, &[], now),
            Decision::Skip {
                reason: SkipReason::NoChannel {
                    disabled: false,
                    ..
                },
                ..
            }
        ));
        let off = EngagementPolicy {
            enabled: false,
            ..Default::default()
        };
        let v = decide(
            DeliveryKind::Engagement,
            &person("UTC", true),
            &[],
            None,
            &off,
            &[],
            now,
        );
        assert!(matches!(
            v.decision,
            Decision::Skip {
                reason: SkipReason::EngagementOff,
                ..
            }
        ));
        let skip = EngagementPolicy {
            quiet_action: QuietAction::Skip,
            ..Default::default()
        };
        let v = decide(
            DeliveryKind::Engagement,
            &person("UTC", true),
            &[],
            None,
            &skip,
            &[],
            at("2026-12-08T22:00:00Z"),
        );
        assert_eq!(
            v.decision,
            Decision::Skip {
                reason: SkipReason::QuietHours,
                recheck_at: Some(at("2026-12-09T09:00:00Z"))
            }
        );
        assert_eq!(
            skip_words(SkipReason::QuietHours, &skip),
            "skipped — quiet hours (21:00–09:00 on their clock)"
        );
    }

    const ZONES: &[&str] = &[
        "UTC",
        "Europe/London",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/St_Johns",
        "Pacific/Kiritimati",
    ];

    fn quiet_at(policy: &EngagementPolicy, tz: Tz, t: DateTime<Utc>) -> bool {
        quiet_until(policy, tz, t).is_some()
    }

    proptest! {
        /// In every zone, across 2026 and 2027 (DST nights included): an engagement message is
        /// never sent in quiet hours; a hold ends at the first instant the quiet hours are
        /// over, within a day and a bit; and a utility message is never held or capped.
        #[test]
        fn engagement_is_never_sent_in_quiet_hours(
            zone in 0usize..ZONES.len(),
            secs in 1_767_225_600i64..1_830_297_600,
            start_h in 0u32..24, end_h in 0u32..24, half in any::<bool>(),
            consent in any::<bool>(),
            sent_ago in proptest::collection::vec(0i64..(9 * 24 * 60), 0..5),
        ) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let now = Utc.timestamp_opt(secs, 0).unwrap();
            let policy = EngagementPolicy {
                quiet_start: NaiveTime::from_hms_opt(start_h, if half { 30 } else { 0 }, 0).unwrap(),
                quiet_end: NaiveTime::from_hms_opt(end_h, 0, 0).unwrap(),
                ..Default::default()
            };
            let mut p = person(ZONES[zone], consent);
            p.timezone = ZONES[zone].into();
            let prior: Vec<Prior> = sent_ago.iter().map(|m| Prior { at: now - Duration::minutes(*m), pending: false }).collect();
            let v = decide(DeliveryKind::Engagement, &p, &[], None, &policy, &prior, now);
            match v.decision {
                Decision::SendNow => {
                    prop_assert!(consent);
                    prop_assert!(!quiet_at(&policy, tz, now));
                    let day = prior.iter().filter(|x| x.at > now - Duration::hours(24)).count();
                    let week = prior.iter().filter(|x| x.at > now - Duration::days(7)).count();
                    prop_assert!(day < 1 && week < 3);
                }
                Decision::HoldUntil(until) => {
                    prop_assert!(consent);
                    prop_assert!(quiet_at(&policy, tz, now));
                    prop_assert!(until > now && until <= now + Duration::hours(26));
                    prop_assert!(!quiet_at(&policy, tz, until), "released into quiet hours at {until}");
                    // Nothing earlier would do: a minute before, it was still quiet.
                    prop_assert!(quiet_at(&policy, tz, until - Duration::minutes(1)));
                }
                Decision::Skip { reason, .. } => {
                    let capped = matches!(reason, SkipReason::FrequencyCap { .. });
                    prop_assert!(!consent || capped);
                }
            }
            let u = decide(DeliveryKind::Utility, &p, &[], None, &policy, &prior, now);
            prop_assert_eq!(u.decision, Decision::SendNow);
        }
    }
}
