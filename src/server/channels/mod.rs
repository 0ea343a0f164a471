//! Outbound channels: one [`Transport`] trait and an adapter per protocol — `log` (the
//! default when a channel is not configured), `webhook` (Standard Webhooks), `slack`
//! (`chat.postMessage`), `email` (SMTP through lettre), `sms` and `whatsapp` (a Twilio-style
//! REST API) — plus `portal`, the in-portal notification for staff. Each organisation
//! configures its own; every base URL and host is a setting, so tests use local fakes.

mod email;
mod http;
pub mod model;
pub mod net;
mod portal;

use crate::domain::channels::ChannelSettings;
use crate::domain::dates::Channel;
use crate::domain::delivery::{Delivery, DeliverySource};
use crate::server::db::Db;
use crate::server::secrets::Keyring;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use net::NetPolicy;

/// What a provider said when it took a message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

/// How a failed attempt should be treated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failure {
    /// Worth another try later (5xx, 429, timeouts, refused connections).
    Transient { retry_after: Option<Duration> },
    /// Will fail the same way again (4xx, bad settings): fail at once.
    Permanent,
    /// The address itself is bad (hard bounce, unknown number): fail at once and count it
    /// against the person's identity.
    Hard,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SendError {
    pub failure: Failure,
    pub message: String,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Transient { retry_after: None },
            message: message.into(),
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Permanent,
            message: message.into(),
        }
    }
    pub fn hard(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Hard,
            message: message.into(),
        }
    }
}

pub type SendResult = Result<Sent, SendError>;
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = SendResult> + Send + 'a>>;

/// One way of carrying a delivery to its recipient.
pub trait Transport: Send + Sync {
    /// The name recorded on the delivery as what carried it.
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a>;
}

/// Records the message and prints it: the default for a channel nobody configured, so a
/// development set-up works out of the box and the Messages log says what would have gone.
pub struct LogTransport;

impl Transport for LogTransport {
    fn name(&self) -> &'static str {
        "log"
    }
    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            // Who it was for and what it said are personal: at `info` only that it went; the
            // words at `debug`, for a developer who asks for them.
            tracing::info!(
                delivery = %d.id,
                channel = d.channel.as_str(),
                "message recorded (channel not configured: log only)"
            );
            tracing::debug!(
                delivery = %d.id,
                to = d.address.as_deref().unwrap_or("-"),
                subject = d.subject.as_deref().unwrap_or(""),
                body = %d.body,
                "the message the log channel recorded"
            );
            Ok(Sent {
                provider_message_id: Some(format!("log-{}", d.id)),
            })
        })
    }
}

/// A channel that is configured but switched off: attempts fail at once, saying so.
struct SwitchedOff(Channel);

impl Transport for SwitchedOff {
    fn name(&self) -> &'static str {
        "off"
    }
    fn send<'a>(&'a self, _: &'a Delivery) -> SendFuture<'a> {
        let label = self.0.label();
        Box::pin(async move {
            Err(SendError::permanent(format!(
                "the {label} channel is switched off in Settings"
            )))
        })
    }
}

/// What every organisation's channels share: the HTTP client under the network policy.
#[derive(Clone)]
pub struct Channels {
    pub policy: NetPolicy,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

impl Channels {
    pub fn new(policy: NetPolicy, timeout: Duration) -> Self {
        Self {
            policy,
            http: net::http_client(policy, timeout),
            timeout,
        }
    }

    /// The transports of one organisation, from its stored settings.
    pub fn for_org(
        &self,
        db: &Db,
        keys: &Arc<Keyring>,
        settings: &BTreeMap<String, ChannelSettings>,
    ) -> OrgTransports {
        let mut by_channel: BTreeMap<Channel, Arc<dyn Transport>> = BTreeMap::new();
        for (name, s) in settings {
            let Ok(channel) = Channel::parse(name) else {
                continue;
            };
            let transport: Arc<dyn Transport> = if !s.enabled {
                Arc::new(SwitchedOff(channel))
            } else {
                match channel {
                    Channel::Webhook => Arc::new(http::Webhook::new(self, s)),
                    Channel::Slack => Arc::new(http::Slack::new(self, s)),
                    Channel::Sms | Channel::Whatsapp => {
                        Arc::new(http::Twilio::new(self, s, channel == Channel::Whatsapp))
                    }
                    Channel::Email => Arc::new(email::Smtp::new(self, s)),
                    Channel::Portal => continue,
                }
            };
            by_channel.insert(channel, transport);
        }
        OrgTransports {
            by_channel,
            log: Arc::new(LogTransport),
            portal: Arc::new(portal::Portal::new(db.clone())),
            events: Arc::new(http::Events::new(self, db, keys)),
        }
    }
}

/// The transports one organisation sends through.
#[derive(Clone)]
pub struct OrgTransports {
    by_channel: BTreeMap<Channel, Arc<dyn Transport>>,
    log: Arc<dyn Transport>,
    portal: Arc<dyn Transport>,
    events: Arc<dyn Transport>,
}

impl OrgTransports {
    /// What carries `d`: an event to its webhook subscription, anything else by its channel.
    pub fn for_delivery(&self, d: &Delivery) -> Arc<dyn Transport> {
        if d.source == DeliverySource::Event {
            self.events.clone()
        } else {
            self.get(d.channel)
        }
    }

    pub fn get(&self, channel: Channel) -> Arc<dyn Transport> {
        match channel {
            Channel::Portal => self.portal.clone(),
            other => self
                .by_channel
                .get(&other)
                .cloned()
                .unwrap_or_else(|| self.log.clone()),
        }
    }

    /// Whether the channel goes somewhere real (not only to the log).
    pub fn is_configured(&self, channel: Channel) -> bool {
        channel == Channel::Portal || self.by_channel.contains_key(&channel)
    }
}
