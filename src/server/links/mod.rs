//! Signed tokens for the links a message carries: `/l/{token}` (a deep link into the booking,
//! which expires) and `/u/{token}` (one-click unsubscribe, which does not).
//!
//! A token is URL-safe base64 of `version · purpose · delivery id · expiry · tag`, where the
//! tag is the first 128 bits of HMAC-SHA256 over everything before it, keyed with a secret the
//! installation generates once and keeps in its database. Without the key nobody can make a
//! token, or change one (a different delivery, a later expiry) and still have it verify.

pub mod pages;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

const VERSION: u8 = 1;
const TAG: usize = 16;
const PAYLOAD: usize = 1 + 1 + 16 + 8;

/// What a token opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A deep link: records the click and redirects to the booking.
    Link,
    /// One-click unsubscribe.
    Unsubscribe,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Purpose::Link => b'l',
            Purpose::Unsubscribe => b'u',
        }
    }
}

/// A token that verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    pub delivery_id: Uuid,
    /// `None` for tokens that never expire.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Opened {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }
}

/// Signs and opens link tokens with the installation's key.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
}

impl Links {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG] {
        // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; TAG];
        out.copy_from_slice(&full[..TAG]);
        out
    }

    /// A token for `delivery_id`, valid until `expires_at` (never, when `None`).
    pub fn sign(
        &self,
        purpose: Purpose,
        delivery_id: Uuid,
        expires_at: Option<DateTime<Utc>>,
    ) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD + TAG);
        bytes.push(VERSION);
        bytes.push(purpose.byte());
        bytes.extend_from_slice(delivery_id.as_bytes());
        bytes.extend_from_slice(&expires_at.map_or(0, |t| t.timestamp()).to_be_bytes());
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Opens a token made for `purpose`; `None` when it is malformed, made for something else,
    /// or its tag does not verify (whether it has expired is the caller's question).
    pub fn open(&self, purpose: Purpose, token: &str) -> Option<Opened> {
        if token.len() > 200 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != PAYLOAD + TAG || bytes[0] != VERSION || bytes[1] != purpose.byte() {
            return None;
        }
        let (payload, tag) = bytes.split_at(PAYLOAD);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        mac.update(payload);
        // Constant-time comparison of the truncated tag.
        mac.verify_truncated_left(tag).ok()?;
        let delivery_id = Uuid::from_slice(&payload[2..18]).ok()?;
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&payload[18..26]);
        let secs = i64::from_be_bytes(secs);
        let expires_at = match secs {
            0 => None,
            s => Some(Utc.timestamp_opt(s, 0).single()?),
        };
        Some(Opened {
            delivery_id,
            expires_at,
        })
    }
}

/// A new random key (256 bits), hex-encoded, for the installation to keep.
pub fn new_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_for_its_purpose_and_key() {
        let links = Links::new(b"an installation key of some length");
        let id = Uuid::now_v7();
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let token = links.sign(Purpose::Link, id, Some(at));
        assert!(
            token.len() <= 60,
            "short enough for an SMS: {}",
            token.len()
        );
        let opened = links.open(Purpose::Link, &token).unwrap();
        assert_eq!(opened.delivery_id, id);
        assert!(!opened.expired(at - chrono::Duration::seconds(1)));
        assert!(opened.expired(at));
        assert!(links.open(Purpose::Unsubscribe, &token).is_none());
        assert!(Links::new(b"another key")
            .open(Purpose::Link, &token)
            .is_none());
        let forever = links.sign(Purpose::Unsubscribe, id, None);
        assert_eq!(
            links
                .open(Purpose::Unsubscribe, &forever)
                .unwrap()
                .expires_at,
            None
        );
    }

    #[test]
    fn any_change_to_a_token_breaks_it() {
        let links = Links::new(b"key");
        let token = links.sign(Purpose::Link, Uuid::now_v7(), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let forged = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(links.open(Purpose::Link, &forged).is_none(), "byte {i}");
            bytes[i] ^= 1;
        }
        for junk in ["", "x", "%%%", &"A".repeat(300), &token[..token.len() - 2]] {
            assert!(links.open(Purpose::Link, junk).is_none());
        }
    }
}
