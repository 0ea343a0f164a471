//! The settings each outbound channel takes, which of them are secrets, and how they are
//! checked. The same table drives the Settings form, `concierge channel set`, and the server's
//! validation, so the three never disagree.

use super::FieldErrors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One setting of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    /// Stored, never shown back.
    pub secret: bool,
    pub required: bool,
    pub kind: FieldKind,
    pub placeholder: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// An `http://` or `https://` address.
    Url,
    Port,
    Email,
    /// `starttls`, `tls` or `none`.
    TlsMode,
}

/// A configurable channel: its name (as stored) and its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub summary: &'static str,
    pub fields: &'static [Field],
}

const fn field(
    key: &'static str,
    label: &'static str,
    kind: FieldKind,
    required: bool,
    placeholder: &'static str,
) -> Field {
    Field {
        key,
        label,
        secret: false,
        required,
        kind,
        placeholder,
    }
}

const fn secret(key: &'static str, label: &'static str, required: bool) -> Field {
    Field {
        key,
        label,
        secret: true,
        required,
        kind: FieldKind::Text,
        placeholder: "",
    }
}

const TWILIO_FIELDS: &[Field] = &[
    field(
        "base_url",
        "API base URL",
        FieldKind::Url,
        false,
        "https://api.twilio.com",
    ),
    field("account_sid", "Account SID", FieldKind::Text, true, "AC…"),
    field("from", "From number", FieldKind::Text, true, "+12025550100"),
    secret("auth_token", "Auth token", true),
];

pub const CHANNELS: &[ChannelSpec] = &[
    ChannelSpec {
        name: "email",
        label: "E-mail (SMTP)",
        summary: "Sends e-mail through your SMTP server.",
        fields: &[
            field(
                "host",
                "SMTP host",
                FieldKind::Text,
                true,
                "smtp.example.com",
            ),
            field("port", "Port", FieldKind::Port, false, "587"),
            field("tls", "Encryption", FieldKind::TlsMode, false, "starttls"),
            field(
                "from",
                "From address",
                FieldKind::Email,
                true,
                "concierge@example.com",
            ),
            field("username", "User name", FieldKind::Text, false, ""),
            secret("password", "Password", false),
        ],
    },
    ChannelSpec {
        name: "webhook",
        label: "Webhook",
        summary: "Posts every delivery as JSON to your endpoint, signed per Standard Webhooks.",
        fields: &[
            field(
                "url",
                "Endpoint URL",
                FieldKind::Url,
                true,
                "https://example.com/hooks/concierge",
            ),
            secret("secret", "Signing secret (whsec_…)", true),
        ],
    },
    ChannelSpec {
        name: "slack",
        label: "Slack",
        summary: "Posts with the Web API's chat.postMessage to a user or channel id.",
        fields: &[
            field(
                "base_url",
                "API base URL",
                FieldKind::Url,
                false,
                "https://slack.com/api",
            ),
            secret("token", "Bot token (xoxb-…)", true),
        ],
    },
    ChannelSpec {
        name: "sms",
        label: "SMS (Twilio-style)",
        summary: "Sends text messages through a Twilio-compatible REST API.",
        fields: TWILIO_FIELDS,
    },
    ChannelSpec {
        name: "whatsapp",
        label: "WhatsApp (Twilio-style)",
        summary: "Sends WhatsApp messages through a Twilio-compatible REST API.",
        fields: TWILIO_FIELDS,
    },
];

pub fn spec(name: &str) -> Option<&'static ChannelSpec> {
    CHANNELS.iter().find(|c| c.name == name)
}

/// A channel's settings as the Settings page shows them: values, never secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub channel: String,
    pub configured: bool,
    pub enabled: bool,
    pub values: BTreeMap<String, String>,
    /// The secrets that are set (by key), so the form can say "set — leave blank to keep".
    pub secrets_set: Vec<String>,
}

/// Settings that passed their checks: plain values and secrets, kept apart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelSettings {
    pub enabled: bool,
    pub config: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

fn check_value(kind: FieldKind, value: &str) -> Result<(), String> {
    match kind {
        FieldKind::Text => Ok(()),
        FieldKind::Url => {
            let rest = value
                .strip_prefix("https://")
                .or_else(|| value.strip_prefix("http://"))
                .ok_or_else(|| format!("'{value}' must start with https:// or http://"))?;
            if rest.is_empty() || rest.starts_with('/') || value.chars().any(char::is_whitespace) {
                return Err(format!("'{value}' is not a web address"));
            }
            Ok(())
        }
        FieldKind::Port => match value.parse::<u16>() {
            Ok(p) if p > 0 => Ok(()),
            _ => Err(format!("'{value}' is not a port number (1–65535)")),
        },
        FieldKind::Email => super::EmailAddress::parse(value).map(|_| ()),
        FieldKind::TlsMode => match value {
            "starttls" | "tls" | "none" => Ok(()),
            _ => Err(format!("'{value}' is not starttls, tls or none")),
        },
    }
}

/// The settings that say where a channel's messages (and its secrets) go.
const DESTINATION: &[&str] = &["url", "base_url", "host", "port"];

/// Merges `updates` into `current` (blank secrets keep the stored one; a blank value clears
/// it), checks every field, and names any key the channel does not take.
///
/// A stored secret only ever goes where it went before: when a setting of [`DESTINATION`]
/// changes, each stored secret must be given again (else a hijacked admin session could send
/// the stored token to a server of its choosing). Unencrypted transport — an `http://` address,
/// SMTP without TLS — is refused unless `plain_allowed` (the operator allowed loopback: tests and
/// local set-ups).
pub fn apply(
    spec: &ChannelSpec,
    current: &ChannelSettings,
    updates: &BTreeMap<String, String>,
    enabled: Option<bool>,
    plain_allowed: bool,
) -> Result<ChannelSettings, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut next = current.clone();
    if let Some(e) = enabled {
        next.enabled = e;
    }
    for (key, value) in updates {
        let value = value.trim();
        match spec.fields.iter().find(|f| f.key == key) {
            None => {
                let known: Vec<&str> = spec.fields.iter().map(|f| f.key).collect();
                errors.add(
                    key,
                    format!(
                        "the {} channel has no setting '{key}' (it takes {}, enabled)",
                        spec.name,
                        known.join(", ")
                    ),
                );
            }
            Some(f) if f.secret => {
                if !value.is_empty() {
                    next.secrets.insert(key.clone(), value.to_string());
                }
            }
            Some(_) if value.is_empty() => {
                next.config.remove(key);
            }
            Some(_) => {
                next.config.insert(key.clone(), value.to_string());
            }
        }
    }
    let moved = DESTINATION
        .iter()
        .any(|k| current.config.get(*k) != next.config.get(*k));
    if moved {
        for key in current.secrets.keys() {
            if updates.get(key).is_none_or(|v| v.trim().is_empty()) {
                errors.add(
                    key,
                    "enter it again: the address changed, and a stored secret only goes where it went before",
                );
            }
        }
    }
    if !plain_allowed {
        for f in spec.fields.iter().filter(|f| !f.secret) {
            let plain = match (f.kind, next.config.get(f.key)) {
                (FieldKind::Url, Some(v)) => v.starts_with("http://"),
                (FieldKind::TlsMode, Some(v)) => v == "none",
                _ => false,
            };
            if plain {
                errors.add(
                    f.key,
                    "unencrypted transport is allowed only with CONCIERGE_ALLOW_LOOPBACK=1 (use https:// or TLS)",
                );
            }
        }
    }
    for f in spec.fields {
        let value = if f.secret {
            next.secrets.get(f.key)
        } else {
            next.config.get(f.key)
        };
        match value {
            None if f.required => errors.add(f.key, "is required"),
            None => {}
            Some(v) => {
                if let Err(e) = check_value(f.kind, v) {
                    errors.add(f.key, e);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(errors)
    }
}

/// Parses `KEY=VALUE` words from the command line (`enabled=false` switches a channel off).
#[allow(clippy::type_complexity)]
pub fn parse_assignments(
    words: &[String],
) -> Result<(BTreeMap<String, String>, Option<bool>), String> {
    let mut out = BTreeMap::new();
    let mut enabled = None;
    for word in words {
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not KEY=VALUE"))?;
        let k = k.trim().to_ascii_lowercase();
        if k == "enabled" {
            enabled = Some(match v.trim() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                other => return Err(format!("enabled must be true or false, not '{other}'")),
            });
        } else {
            out.insert(k, v.to_string());
        }
    }
    Ok((out, enabled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn webhook_needs_a_url_and_a_secret_and_keeps_secrets_apart() {
        let spec = spec("webhook").unwrap();
        let empty = ChannelSettings {
            enabled: true,
            ..Default::default()
        };
        let err = apply(spec, &empty, &map(&[]), None, false).unwrap_err();
        assert!(err.get("url").is_some() && err.get("secret").is_some());
        let ok = apply(
            spec,
            &empty,
            &map(&[("url", "https://h.example/x"), ("secret", "whsec_abc")]),
            None,
            false,
        )
        .unwrap();
        assert_eq!(ok.config.get("url").unwrap(), "https://h.example/x");
        assert!(!ok.config.contains_key("secret"));
        // A blank secret keeps the stored one.
        let again = apply(spec, &ok, &map(&[("secret", "")]), Some(false), false).unwrap();
        assert_eq!(again.secrets.get("secret").unwrap(), "whsec_abc");
        assert!(!again.enabled);
        // A new address needs the secret again.
        let moved = apply(
            spec,
            &ok,
            &map(&[("url", "https://elsewhere.example/x"), ("secret", "")]),
            None,
            false,
        )
        .unwrap_err();
        assert!(moved.get("secret").unwrap().contains("enter it again"));
        let moved = apply(
            spec,
            &ok,
            &map(&[
                ("url", "https://elsewhere.example/x"),
                ("secret", "whsec_new"),
            ]),
            None,
            false,
        )
        .unwrap();
        assert_eq!(moved.secrets.get("secret").unwrap(), "whsec_new");
    }

    #[test]
    fn unencrypted_transport_needs_loopback_allowed() {
        let hook = spec("webhook").unwrap();
        let plain = map(&[("url", "http://h.example/x"), ("secret", "whsec_abc")]);
        let empty = ChannelSettings::default();
        let err = apply(hook, &empty, &plain, None, false).unwrap_err();
        assert!(err.get("url").unwrap().contains("unencrypted"));
        assert!(apply(hook, &empty, &plain, None, true).is_ok());
        let email = spec("email").unwrap();
        let no_tls = map(&[
            ("host", "smtp.example.com"),
            ("from", "a@example.com"),
            ("tls", "none"),
        ]);
        assert!(apply(email, &empty, &no_tls, None, false)
            .unwrap_err()
            .get("tls")
            .is_some());
        assert!(apply(email, &empty, &no_tls, None, true).is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let spec = spec("email").unwrap();
        let err = apply(
            spec,
            &ChannelSettings::default(),
            &map(&[
                ("host", "smtp.example.com"),
                ("from", "not an address"),
                ("port", "99999"),
                ("colour", "blue"),
            ]),
            None,
            false,
        )
        .unwrap_err();
        assert!(err.get("colour").unwrap().contains("no setting 'colour'"));
        assert!(err.get("port").is_some());
        assert!(err.get("from").is_some());
    }

    #[test]
    fn assignments_parse() {
        let (m, e) =
            parse_assignments(&["url=https://x.example/a=b".into(), "enabled=no".into()]).unwrap();
        assert_eq!(m.get("url").unwrap(), "https://x.example/a=b");
        assert_eq!(e, Some(false));
        assert!(parse_assignments(&["oops".into()]).is_err());
    }
}
