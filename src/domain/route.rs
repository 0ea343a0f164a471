//! Where a message to a person goes: their address on the channel asked for (the preferred one
//! first), or on any channel, falling back to the person's own e-mail or phone — or the plain
//! reason there is none. Queueing a delivery and the engagement policy both ask this one
//! question, so "opted out" and "no address" mean the same everywhere.

use super::comms::CommIdentity;
use super::dates::Channel;
use super::Person;
use uuid::Uuid;

/// The address a message goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub channel: Channel,
    /// `None` for channels that need no address (the organisation's webhook, the portal).
    pub address: Option<String>,
    /// The identity the address came from, when it came from one.
    pub identity_id: Option<Uuid>,
}

/// Why there is no address: the codes `suppression_words` turns into plain words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRoute {
    /// Every address on the channel was opted out.
    OptedOut,
    /// The addresses on the channel were disabled after repeated hard failures.
    Disabled,
    /// There is no address on the channel at all.
    NoAddress,
}

impl NoRoute {
    pub fn code(self) -> &'static str {
        match self {
            NoRoute::OptedOut => "opted_out",
            NoRoute::Disabled => "identity_disabled",
            NoRoute::NoAddress => "no_address",
        }
    }
}

fn usable(i: &CommIdentity) -> bool {
    !i.opted_out() && !i.disabled()
}

/// Picks the person's address on `channel` (the preferred one first; `identities` come
/// preferred first), or on any channel when none is asked for; falls back to the person's own
/// e-mail or phone when they have no identity on the channel.
pub fn route(
    person: &Person,
    identities: &[CommIdentity],
    channel: Option<Channel>,
) -> Result<Route, (Channel, NoRoute)> {
    let from_identity = |i: &CommIdentity| Route {
        channel: i.channel,
        address: Some(i.address.clone()),
        identity_id: Some(i.id),
    };
    let fallback = |c: Channel| match c {
        Channel::Email => person.email.clone(),
        Channel::Sms | Channel::Whatsapp => person.phone.clone(),
        _ => None,
    };
    match channel {
        // The organisation's endpoint receives every webhook delivery; staff notes need no
        // address.
        Some(c @ (Channel::Webhook | Channel::Portal)) => Ok(Route {
            channel: c,
            address: None,
            identity_id: None,
        }),
        Some(c) => {
            let mut on_channel = identities.iter().filter(|i| i.channel == c).peekable();
            if on_channel.peek().is_none() {
                return match fallback(c) {
                    Some(address) => Ok(Route {
                        channel: c,
                        address: Some(address),
                        identity_id: None,
                    }),
                    None => Err((c, NoRoute::NoAddress)),
                };
            }
            let on_channel: Vec<&CommIdentity> = on_channel.collect();
            if let Some(i) = on_channel.iter().find(|i| usable(i)) {
                return Ok(from_identity(i));
            }
            if on_channel.iter().any(|i| i.opted_out()) {
                Err((c, NoRoute::OptedOut))
            } else {
                Err((c, NoRoute::Disabled))
            }
        }
        None => {
            if let Some(i) = identities.iter().find(|i| usable(i)) {
                return Ok(from_identity(i));
            }
            for c in [Channel::Email, Channel::Sms] {
                if identities.iter().any(|i| i.channel == c) {
                    continue;
                }
                if let Some(address) = fallback(c) {
                    return Ok(Route {
                        channel: c,
                        address: Some(address),
                        identity_id: None,
                    });
                }
            }
            match identities.first() {
                Some(i) if i.opted_out() => Err((i.channel, NoRoute::OptedOut)),
                Some(i) => Err((i.channel, NoRoute::Disabled)),
                None => Err((Channel::Email, NoRoute::NoAddress)),
            }
        }
    }
}
