//! The channels that speak HTTP: the organisation's webhook (signed per Standard Webhooks),
//! Slack's `chat.postMessage`, and a Twilio-style messages API for SMS and WhatsApp. Every
//! attempt carries the delivery's id as its idempotency key, so a repeat after a crash is
//! recognisable to the receiver.

use super::{Channels, Failure, SendError, SendFuture, Sent, Transport};
use crate::domain::channels::ChannelSettings;
use crate::domain::delivery::Delivery;
use base64::Engine;
use hmac::{Hmac, Mac};
use std::time::Duration;

fn setting(s: &ChannelSettings, key: &str) -> String {
    s.config
        .get(key)
        .or_else(|| s.secrets.get(key))
        .cloned()
        .unwrap_or_default()
}

/// The most of a provider's answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// The first part of a response body, for an error message (never a whole page).
fn snippet(body: &str) -> String {
    let trimmed: String = body.trim().chars().take(200).collect();
    if trimmed.is_empty() {
        "no body".into()
    } else {
        trimmed
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A non-success HTTP status as a failure: 408, 425, 429 and 5xx are worth retrying; any other
/// 4xx would fail the same way again.
fn status_failure(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> SendError {
    let message = format!("HTTP {} — {}", status.as_u16(), snippet(body));
    if status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429) {
        SendError {
            failure: Failure::Transient {
                retry_after: retry_after(headers),
            },
            message,
        }
    } else {
        SendError::permanent(message)
    }
}

/// A request that never got an answer: a timeout or a refused connection is worth retrying;
/// an address the network policy refuses is not.
fn request_failure(err: reqwest::Error) -> SendError {
    let chain = error_chain(&err);
    if chain.contains("CONCIERGE_ALLOW") || chain.contains("is not a reachable address") {
        SendError::permanent(format!("refused by the network policy: {chain}"))
    } else if err.is_timeout() {
        SendError::transient(format!("timed out: {chain}"))
    } else {
        SendError::transient(chain)
    }
}

/// An error with its causes, `a: b: c` (reqwest's own message leaves out why a connection
/// failed).
pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    chain
}

/// The provider's answer: status, headers and body text, or why there was none.
async fn answer(
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), SendError> {
    let mut res = res.map_err(request_failure)?;
    let status = res.status();
    let headers = res.headers().clone();
    // Only the start of an answer is ever used (its status, an id, an error's first words).
    let (body, _) = super::net::read_capped(&mut res, MAX_ANSWER)
        .await
        .unwrap_or_default();
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

fn parse_url(channels: &Channels, raw: &str) -> Result<reqwest::Url, SendError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| SendError::permanent(format!("'{raw}' is not a valid URL: {e}")))?;
    channels
        .policy
        .check_url(&url)
        .map_err(|e| SendError::permanent(format!("refused by the network policy: {e}")))?;
    Ok(url)
}

// ----- webhook ------------------------------------------------------------------------------

pub struct Webhook {
    channels: Channels,
    url: String,
    key: Vec<u8>,
}

/// The signing key of a Standard Webhooks secret: the base64 after `whsec_`, or the text
/// itself for a secret in another form.
pub fn webhook_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
pub fn webhook_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this never fails.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

impl Webhook {
    pub fn new(channels: &Channels, s: &ChannelSettings) -> Self {
        Self {
            channels: channels.clone(),
            url: setting(s, "url"),
            key: webhook_key(&setting(s, "secret")),
        }
    }
}

impl Transport for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let url = parse_url(&self.channels, &self.url)?;
            let payload = serde_json::json!({
                "type": "delivery",
                "id": d.id,
                "person": d.metadata.get("person").cloned()
                    .unwrap_or_else(|| serde_json::json!({ "id": d.person_id })),
                "kind": d.kind.as_str(),
                "source": d.source.as_str(),
                "channel": d.channel.as_str(),
                "address": d.address,
                "subject": d.subject,
                "body": d.body,
                "metadata": d.metadata,
                "created_at": d.created_at,
            });
            let body = serde_json::to_vec(&payload)
                .map_err(|e| SendError::permanent(format!("could not encode: {e}")))?;
            post_signed(&self.channels, url, &self.key, &d.id.to_string(), body).await
        })
    }
}

/// POSTs `body` (JSON) to `url` signed per Standard Webhooks with `key`: `webhook-id` is `id`
/// (the same on every attempt, so a receiver recognises a repeat), the timestamp the real time
/// of this attempt.
pub(super) async fn post_signed(
    channels: &Channels,
    url: reqwest::Url,
    key: &[u8],
    id: &str,
    body: Vec<u8>,
) -> Result<Sent, SendError> {
    // The receiver checks the timestamp against its own clock, so this one is the real time,
    // not the application's (possibly test) clock.
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let signature = webhook_signature(key, id, timestamp, &body);
    let res = channels
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("idempotency-key", id)
        .body(body)
        .send()
        .await;
    let (status, headers, text) = answer(res).await?;
    if status.is_success() {
        Ok(Sent {
            provider_message_id: Some(id.to_string()),
        })
    } else {
        Err(status_failure(status, &headers, &text))
    }
}

// ----- event webhooks -------------------------------------------------------------------------

/// The organisation's event webhooks: each event delivery goes to its subscription's URL (the
/// delivery's address), signed with that subscription's secret, read when it is sent (a
/// subscription switched off or removed meanwhile is told nothing more).
pub struct Events {
    channels: Channels,
    db: crate::server::db::Db,
    keys: std::sync::Arc<crate::server::secrets::Keyring>,
}

impl Events {
    pub fn new(
        channels: &Channels,
        db: &crate::server::db::Db,
        keys: &std::sync::Arc<crate::server::secrets::Keyring>,
    ) -> Self {
        Self {
            channels: channels.clone(),
            db: db.clone(),
            keys: keys.clone(),
        }
    }
}

impl Transport for Events {
    fn name(&self) -> &'static str {
        "event-webhook"
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let subscription = d
                .metadata
                .get("subscription_id")
                .and_then(|s| s.as_str())
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| SendError::permanent("the event names no subscription"))?;
            let secret =
                crate::server::db::webhooks::secret(&self.db, &self.keys, d.org_id, subscription)
                    .await
                    .map_err(|e| SendError::transient(format!("database: {e}")))?
                    .ok_or_else(|| {
                        SendError::permanent("the subscription was switched off or removed")
                    })?;
            let url = parse_url(&self.channels, d.address.as_deref().unwrap_or_default())?;
            post_signed(
                &self.channels,
                url,
                &webhook_key(&secret),
                &d.id.to_string(),
                d.body.clone().into_bytes(),
            )
            .await
        })
    }
}

// ----- slack --------------------------------------------------------------------------------

pub struct Slack {
    channels: Channels,
    base_url: String,
    token: String,
}

impl Slack {
    pub fn new(channels: &Channels, s: &ChannelSettings) -> Self {
        let base = setting(s, "base_url");
        Self {
            channels: channels.clone(),
            base_url: slack_base(&base),
            token: setting(s, "token"),
        }
    }
}

/// The Web API's base: `https://slack.com/api` by default; a bare host (a local stand-in)
/// gets Slack's `/api` path.
fn slack_base(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    if base.is_empty() {
        return "https://slack.com/api".into();
    }
    let path = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, p)| p);
    if path.is_empty() {
        format!("{base}/api")
    } else {
        base.to_string()
    }
}

/// Slack answers 200 with `ok: false` and an error code; some codes mean the address is bad.
fn slack_failure(code: &str) -> SendError {
    let message = format!("Slack said {code}");
    match code {
        "channel_not_found" | "user_not_found" | "is_archived" | "not_in_channel"
        | "cannot_dm_bot" | "user_disabled" => SendError::hard(message),
        "ratelimited"
        | "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout" => SendError::transient(message),
        _ => SendError::permanent(message),
    }
}

impl Transport for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let url = parse_url(
                &self.channels,
                &format!("{}/chat.postMessage", self.base_url),
            )?;
            let to = d
                .address
                .as_deref()
                .ok_or_else(|| SendError::hard("no Slack user or channel id to post to"))?;
            let text = match d.subject.as_deref() {
                Some(s) if !s.is_empty() => format!("*{s}*\n{}", d.body),
                _ => d.body.clone(),
            };
            let res = self
                .channels
                .http
                .post(url)
                .bearer_auth(&self.token)
                .header("idempotency-key", d.id.to_string())
                .json(&serde_json::json!({ "channel": to, "text": text, "unfurl_links": false }))
                .send()
                .await;
            let (status, headers, text) = answer(res).await?;
            if !status.is_success() {
                return Err(status_failure(status, &headers, &text));
            }
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
                SendError::transient(format!("Slack answered with {}", snippet(&text)))
            })?;
            if json.get("ok").and_then(|v| v.as_bool()) == Some(true) {
                Ok(Sent {
                    provider_message_id: json.get("ts").and_then(|v| v.as_str()).map(String::from),
                })
            } else {
                Err(slack_failure(
                    json.get("error")
                        .and_then(|v| v.as_str())
                        .unwrap_or("unknown_error"),
                ))
            }
        })
    }
}

// ----- twilio-style SMS and WhatsApp ----------------------------------------------------------

pub struct Twilio {
    channels: Channels,
    base_url: String,
    account_sid: String,
    auth_token: String,
    from: String,
    whatsapp: bool,
}

impl Twilio {
    pub fn new(channels: &Channels, s: &ChannelSettings, whatsapp: bool) -> Self {
        let base = setting(s, "base_url");
        Self {
            channels: channels.clone(),
            base_url: if base.is_empty() {
                "https://api.twilio.com".into()
            } else {
                // Forgive a base that already names the API version.
                base.trim_end_matches('/')
                    .trim_end_matches("/2010-04-01")
                    .to_string()
            },
            account_sid: setting(s, "account_sid"),
            auth_token: setting(s, "auth_token"),
            from: setting(s, "from"),
            whatsapp,
        }
    }

    fn address(&self, number: &str) -> String {
        if self.whatsapp && !number.starts_with("whatsapp:") {
            format!("whatsapp:{number}")
        } else {
            number.to_string()
        }
    }
}

/// Twilio error codes that mean the number itself cannot receive messages.
const BAD_NUMBER_CODES: &[i64] = &[21211, 21214, 21612, 21614, 21610, 63003, 63024];

impl Transport for Twilio {
    fn name(&self) -> &'static str {
        if self.whatsapp {
            "whatsapp"
        } else {
            "sms"
        }
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let url = parse_url(
                &self.channels,
                &format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    self.base_url, self.account_sid
                ),
            )?;
            let to = d
                .address
                .as_deref()
                .ok_or_else(|| SendError::hard("no phone number to send to"))?;
            let res = self
                .channels
                .http
                .post(url)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .header("idempotency-key", d.id.to_string())
                .form(&[
                    ("To", self.address(to)),
                    ("From", self.address(&self.from)),
                    ("Body", d.body.clone()),
                ])
                .send()
                .await;
            let (status, headers, text) = answer(res).await?;
            let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if status.is_success() {
                return Ok(Sent {
                    provider_message_id: json.get("sid").and_then(|v| v.as_str()).map(String::from),
                });
            }
            let code = json.get("code").and_then(|v| v.as_i64());
            if status.is_client_error() && code.is_some_and(|c| BAD_NUMBER_CODES.contains(&c)) {
                let message = json
                    .get("message")
                    .and_then(|v| v.as_str())
                    .unwrap_or("the number cannot receive messages");
                return Err(SendError::hard(format!(
                    "HTTP {} — error {}: {message}",
                    status.as_u16(),
                    code.unwrap_or_default()
                )));
            }
            Err(status_failure(status, &headers, &text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let sig = webhook_signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn slack_base_urls() {
        assert_eq!(slack_base(""), "https://slack.com/api");
        assert_eq!(slack_base("http://127.0.0.1:9/"), "http://127.0.0.1:9/api");
        assert_eq!(
            slack_base("http://127.0.0.1:9/api/"),
            "http://127.0.0.1:9/api"
        );
        assert_eq!(
            slack_base("https://proxy.example/slack/api"),
            "https://proxy.example/slack/api"
        );
    }

    #[test]
    fn statuses_are_classified() {
        let h = reqwest::header::HeaderMap::new();
        let f = |code: u16| status_failure(reqwest::StatusCode::from_u16(code).unwrap(), &h, "");
        assert!(matches!(f(503).failure, Failure::Transient { .. }));
        assert!(matches!(f(429).failure, Failure::Transient { .. }));
        assert_eq!(f(400).failure, Failure::Permanent);
        assert_eq!(f(404).failure, Failure::Permanent);
        assert_eq!(slack_failure("channel_not_found").failure, Failure::Hard);
        assert_eq!(slack_failure("invalid_auth").failure, Failure::Permanent);
    }
}
