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
//! An attempt is counted as a failure before its password is checked, one attempt at a time,
//! so that guesses sent all at once cannot each be checked before any of them is counted; a
//! successful sign-in then takes its count back and clears the account's counters. The counters live in the database
//! (`db::throttle`), so every web process counts the same failures and a restart forgets
//! nothing; they are keyed by a hash, so the table holds no e-mail address or IP address.
//! Housekeeping removes counters whose window and lock are both over.

use crate::server::db::{throttle as db, Db};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

const WINDOW_MINUTES: i64 = 15;

struct Rule {
    free_failures: i64,
    base_seconds: i64,
    max_seconds: i64,
    doubling: bool,
}

impl Rule {
    /// How long to lock after `failures` failures in the window, if at all.
    fn lock_seconds(&self, failures: i64) -> Option<i64> {
        let over = failures
            .checked_sub(self.free_failures)
            .filter(|o| *o >= 0)?;
        let seconds = if self.doubling {
            self.base_seconds.saturating_mul(1i64 << over.min(20))
        } else {
            self.base_seconds
        };
        Some(seconds.min(self.max_seconds))
    }
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

/// The three counters' keys (hashed) with their rules: pair, address, account.
fn keys(account: &str, address: &str) -> [(String, &'static Rule); 3] {
    let account = account.trim().to_lowercase();
    let hash = |key: String| hex::encode(Sha256::digest(key.as_bytes()));
    [
        (hash(format!("pair:{account}|{address}")), &PAIR),
        (hash(format!("addr:{address}")), &ADDRESS),
        (hash(format!("acct:{account}")), &ACCOUNT),
    ]
}

/// Counts an attempt as failed on all three counters before its password is checked, and
/// locks those that reach their allowance: `None` when the password may be checked, or the
/// seconds to wait while a lock holds (the attempt is then not counted). Attempts on one
/// account and address are counted one after another (see [`db::count_failure`]), so of
/// guesses sent all at once no more than the allowance are checked.
pub async fn count_attempt(
    db: &Db,
    account: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let window_start_after = now - Duration::minutes(WINDOW_MINUTES);
    let mut tx = db.begin().await?;
    let mut counted = Vec::with_capacity(3);
    let mut locked: Option<DateTime<Utc>> = None;
    for (key, rule) in keys(account, address) {
        let (failures, until) = db::count_failure(&mut tx, &key, now, window_start_after).await?;
        locked = locked.max(until.filter(|u| *u > now));
        counted.push((key, rule, failures));
    }
    if let Some(until) = locked {
        // Dropped uncommitted: a refused attempt is not counted.
        return Ok(Some((until - now).num_seconds().max(1) as u64));
    }
    for (key, rule, failures) in counted {
        if let Some(seconds) = rule.lock_seconds(failures) {
            db::lock(&mut tx, &key, now + Duration::seconds(seconds)).await?;
        }
    }
    tx.commit().await?;
    Ok(None)
}

/// The attempt signed in: the account's failures are forgotten, and the address's counter
/// takes back the one [`count_attempt`] counted.
pub async fn record_success(db: &Db, account: &str, address: &str) -> Result<(), sqlx::Error> {
    let [pair, addr, acct] = keys(account, address);
    db::forget(db, &[pair.0, acct.0]).await?;
    db::uncount(db, &addr.0, addr.1.free_failures).await
}

/// Removes counters whose window and lock are both over (housekeeping).
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    db::purge(db, now, now - Duration::minutes(WINDOW_MINUTES)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_locks_after_five_failures_and_doubles() {
        assert_eq!(PAIR.lock_seconds(4), None);
        assert_eq!(PAIR.lock_seconds(5), Some(30));
        assert_eq!(PAIR.lock_seconds(6), Some(60));
        assert_eq!(PAIR.lock_seconds(100), Some(15 * 60));
    }

    #[test]
    fn the_account_pauses_only_briefly() {
        assert_eq!(ACCOUNT.lock_seconds(19), None);
        assert_eq!(ACCOUNT.lock_seconds(40), Some(60));
        assert_eq!(ADDRESS.lock_seconds(50), Some(15 * 60));
    }

    #[test]
    fn keys_hold_no_address_and_ignore_case() {
        let [a, b, c] = keys(" Ada@Example.com", "192.0.2.1");
        assert_eq!(keys("ada@example.com", "192.0.2.1")[0].0, a.0);
        for (key, _) in [&a, &b, &c] {
            assert_eq!(key.len(), 64);
            assert!(!key.contains("ada") && !key.contains("192"));
        }
    }
}
