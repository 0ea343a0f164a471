//! Sign-in throttling, per account and per client address.
//!
//! Three counters of failed attempts, each in a 15-minute window:
//! - **account + address**: after 5 failures that address waits 30 s, doubling with each further
//!   failure up to 15 minutes. This is what stops someone guessing one person's password.
//! - **address**: after 50 failures (password spraying across accounts) it waits 15 minutes.
//! - **account, from anywhere**: after 20 failures the account waits 60 s. The pause is short
//!   on purpose: an attacker who spreads guesses over many addresses can slow the real user
//!   down for a minute at a time, but never lock them out for long.
//!
//! A successful sign-in clears the account's counters. State is kept in memory: a restart
//! forgets it, and each process counts on its own.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_MINUTES: i64 = 15;

struct Rule {
    free_failures: u32,
    base_seconds: i64,
    max_seconds: i64,
    doubling: bool,
}

const PAIR: Rule = Rule {
    free_failures: 5,
    base_seconds: 30,
    max_seconds: 15 * 60,
    doubling: true,
};
const ADDRESS: Rule = Rule {
    free_failures: 50,
    base_seconds: 15 * 60,
    max_seconds: 15 * 60,
    doubling: false,
};
const ACCOUNT: Rule = Rule {
    free_failures: 20,
    base_seconds: 60,
    max_seconds: 60,
    doubling: false,
};

#[derive(Clone, Copy)]
struct Counter {
    failures: u32,
    window_start: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Throttle {
    counters: Mutex<HashMap<String, Counter>>,
}

fn keys(account: &str, address: &str) -> [(String, &'static Rule); 3] {
    let account = account.trim().to_lowercase();
    [
        (format!("pair:{account}|{address}"), &PAIR),
        (format!("addr:{address}"), &ADDRESS),
        (format!("acct:{account}"), &ACCOUNT),
    ]
}

impl Throttle {
    /// Seconds to wait before this account may try again from this address, if it must wait.
    pub fn check(&self, account: &str, address: &str, now: DateTime<Utc>) -> Option<u64> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        keys(account, address)
            .iter()
            .filter_map(|(key, _)| counters.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| (until - now).num_seconds().max(1) as u64)
            .max()
    }

    pub fn record_failure(&self, account: &str, address: &str, now: DateTime<Utc>) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if counters.len() > 100_000 {
            let horizon = now - Duration::minutes(WINDOW_MINUTES);
            counters
                .retain(|_, c| c.window_start > horizon || c.locked_until.is_some_and(|u| u > now));
        }
        for (key, rule) in keys(account, address) {
            let c = counters.entry(key).or_insert(Counter {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
            let locked = c.locked_until.is_some_and(|u| u > now);
            if !locked && now - c.window_start > Duration::minutes(WINDOW_MINUTES) {
                *c = Counter {
                    failures: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            c.failures += 1;
            if c.failures >= rule.free_failures {
                let over = c.failures - rule.free_failures;
                let seconds = if rule.doubling {
                    rule.base_seconds.saturating_mul(1i64 << over.min(20))
                } else {
                    rule.base_seconds
                };
                c.locked_until = Some(now + Duration::seconds(seconds.min(rule.max_seconds)));
            }
        }
    }

    /// Forgets the account's failures after it signs in.
    pub fn record_success(&self, account: &str, address: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let [pair, _, acct] = keys(account, address);
        counters.remove(&pair.0);
        counters.remove(&acct.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn locks_the_pair_after_five_failures_and_backs_off() {
        let t = Throttle::default();
        for _ in 0..4 {
            t.record_failure("a@x.io", "1.1.1.1", t0());
            assert_eq!(t.check("a@x.io", "1.1.1.1", t0()), None);
        }
        t.record_failure("a@x.io", "1.1.1.1", t0());
        assert_eq!(t.check("a@x.io", "1.1.1.1", t0()), Some(30));
        // another address is not affected
        assert_eq!(t.check("a@x.io", "2.2.2.2", t0()), None);
        t.record_failure("a@x.io", "1.1.1.1", t0());
        assert_eq!(t.check("a@x.io", "1.1.1.1", t0()), Some(60));
        let later = t0() + Duration::seconds(61);
        assert_eq!(t.check("a@x.io", "1.1.1.1", later), None);
    }

    #[test]
    fn distributed_guessing_only_pauses_the_account_briefly() {
        let t = Throttle::default();
        for i in 0..40 {
            t.record_failure("a@x.io", &format!("10.0.0.{i}"), t0());
        }
        let wait = t.check("a@x.io", "192.0.2.1", t0()).unwrap();
        assert!(wait <= 60, "waited {wait}");
        assert_eq!(
            t.check("a@x.io", "192.0.2.1", t0() + Duration::seconds(61)),
            None
        );
    }

    #[test]
    fn success_clears_the_account() {
        let t = Throttle::default();
        for _ in 0..5 {
            t.record_failure("a@x.io", "1.1.1.1", t0());
        }
        t.record_success("a@x.io", "1.1.1.1");
        assert_eq!(t.check("a@x.io", "1.1.1.1", t0()), None);
    }
}
