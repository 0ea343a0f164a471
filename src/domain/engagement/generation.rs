//! AI-written engagement text: an organisation's OpenAI-compatible model (hosted, or a local
//! server such as llama.cpp's or vLLM's), what it is asked, and how its answer is read. The
//! model only ever proposes words: every text it writes passes the safety filter before it can
//! be sent, and when it fails, is slow or is not configured, the variant's template writes the
//! message instead — recorded as such on the delivery.

use super::policy::parse_flag;
use crate::domain::FieldErrors;
use serde::{Deserialize, Serialize};

/// The time a model is given by default, and the bounds an admin may choose from.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
pub const MIN_TIMEOUT_MS: u32 = 100;
pub const MAX_TIMEOUT_MS: u32 = 120_000;
/// How long an AI-written message waits for approval by default, and at most.
pub const DEFAULT_APPROVAL_HOURS: u32 = 48;
pub const MAX_APPROVAL_HOURS: u32 = 720;

/// An organisation's model, as shown in Settings: the key is never read back, only whether
/// one is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSettings {
    /// Off keeps the settings but writes every message from its template.
    pub enabled: bool,
    /// The API's base, `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`; requests go
    /// to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model's name, `gpt-4o-mini`, or whatever the local server calls its model.
    pub model: String,
    /// How long one message may take to write before the template writes it instead.
    pub timeout_ms: u32,
    /// Whether an API key is stored (local servers often need none).
    pub has_key: bool,
    /// Whether what the model writes waits for a staff member's approval before it goes.
    #[serde(default)]
    pub require_approval: bool,
    /// How long it waits before it expires unsent.
    #[serde(default = "default_approval_hours")]
    pub approval_hours: u32,
}

fn default_approval_hours() -> u32 {
    DEFAULT_APPROVAL_HOURS
}

impl ModelSettings {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.timeout_ms))
    }

    /// `https://api.openai.com/v1/chat/completions`.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

/// The model settings as typed into the form or sent to the API. A blank key keeps the stored
/// one; `clear_key` removes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Seconds, decimals allowed (`2.5`).
    #[serde(default)]
    pub timeout_seconds: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub clear_key: Option<String>,
    #[serde(default)]
    pub require_approval: Option<String>,
    #[serde(default)]
    pub approval_hours: Option<String>,
}

/// What to store: the settings, and the key (`None` keeps the stored one, `Some("")` clears it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelChange {
    pub settings: ModelSettings,
    pub api_key: Option<String>,
}

impl ModelInput {
    /// Checks every field against `current` (the stored settings, if any); every problem is
    /// named by its field.
    pub fn apply(&self, current: Option<&ModelSettings>) -> Result<ModelChange, FieldErrors> {
        let mut errors = FieldErrors::new();
        fn text(v: &Option<String>) -> &str {
            v.as_deref().map(str::trim).unwrap_or_default()
        }
        let enabled = match &self.enabled {
            Some(flag) => errors.check("enabled", parse_flag(flag)).unwrap_or(true),
            None => current.map(|c| c.enabled).unwrap_or(true),
        };
        let base_url = match self.base_url.as_ref() {
            Some(_) => errors
                .check("base_url", parse_base_url(text(&self.base_url)))
                .unwrap_or_default(),
            None => match current {
                Some(c) => c.base_url.clone(),
                None => {
                    errors.add("base_url", "the model's base URL is required");
                    String::new()
                }
            },
        };
        let model = match self.model.as_ref() {
            Some(_) => text(&self.model).to_string(),
            None => current.map(|c| c.model.clone()).unwrap_or_default(),
        };
        if model.is_empty() {
            errors.add(
                "model",
                "the model's name is required (gpt-4o-mini, llama3 …)",
            );
        } else if model.chars().count() > 200 || model.chars().any(char::is_control) {
            errors.add(
                "model",
                "a model's name is one line of at most 200 characters",
            );
        }
        let timeout_ms = match text(&self.timeout_seconds) {
            "" => current.map(|c| c.timeout_ms).unwrap_or(DEFAULT_TIMEOUT_MS),
            t => errors
                .check("timeout_seconds", parse_timeout(t))
                .unwrap_or(DEFAULT_TIMEOUT_MS),
        };
        let require_approval = match &self.require_approval {
            Some(flag) => errors
                .check("require_approval", parse_flag(flag))
                .unwrap_or(false),
            None => current.is_some_and(|c| c.require_approval),
        };
        let approval_hours = match text(&self.approval_hours) {
            "" => current
                .map(|c| c.approval_hours)
                .unwrap_or(DEFAULT_APPROVAL_HOURS),
            t => errors
                .check(
                    "approval_hours",
                    t.parse::<u32>()
                        .ok()
                        .filter(|h| (1..=MAX_APPROVAL_HOURS).contains(h))
                        .ok_or_else(|| {
                            format!("a whole number of hours from 1 to {MAX_APPROVAL_HOURS}")
                        }),
                )
                .unwrap_or(DEFAULT_APPROVAL_HOURS),
        };
        let clear = match &self.clear_key {
            Some(flag) => errors.check("clear_key", parse_flag(flag)).unwrap_or(false),
            None => false,
        };
        let typed = text(&self.api_key);
        if typed.chars().any(char::is_control) || typed.len() > 4_000 {
            errors.add("api_key", "a key is one line of at most 4000 characters");
        }
        let api_key = if clear {
            Some(String::new())
        } else if typed.is_empty() {
            None
        } else {
            Some(typed.to_string())
        };
        let has_key = match &api_key {
            Some(k) => !k.is_empty(),
            None => current.is_some_and(|c| c.has_key),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ModelChange {
            settings: ModelSettings {
                enabled,
                base_url,
                model,
                timeout_ms,
                has_key,
                require_approval,
                approval_hours,
            },
            api_key,
        })
    }
}

/// An absolute http(s) base URL without a query: `https://api.openai.com/v1`.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let t = super::policy::parse_web_address(text.trim().trim_end_matches('/'))?;
    if t.contains(['?', '#']) {
        return Err(format!(
            "'{t}' is not a base URL (like https://api.openai.com/v1): it has a query"
        ));
    }
    Ok(t)
}

/// Seconds (decimals allowed) as milliseconds, within the bounds.
pub fn parse_timeout(text: &str) -> Result<u32, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() || ms < f64::from(MIN_TIMEOUT_MS) || ms > f64::from(MAX_TIMEOUT_MS) {
        return Err(format!(
            "between {} and {} seconds",
            f64::from(MIN_TIMEOUT_MS) / 1000.0,
            MAX_TIMEOUT_MS / 1000
        ));
    }
    Ok(ms as u32)
}

/// Who wrote a message, as recorded in its metadata (`generation`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "written_by", rename_all = "snake_case")]
pub enum Authorship {
    /// The model wrote it.
    Model { model: String, prompt_version: u32 },
    /// The variant has a prompt, but the template wrote it: why.
    Fallback {
        model: Option<String>,
        prompt_version: u32,
        reason: String,
    },
}

impl Authorship {
    /// One line for the message's page.
    pub fn describe(&self) -> String {
        match self {
            Authorship::Model {
                model,
                prompt_version,
            } => format!("Written by {model} from prompt version {prompt_version}."),
            Authorship::Fallback {
                prompt_version,
                reason,
                ..
            } => format!(
                "Written from the template instead of prompt version {prompt_version}: {reason}."
            ),
        }
    }

    pub fn by_model(&self) -> bool {
        matches!(self, Authorship::Model { .. })
    }
}

/// One message of a chat-completions request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// What the model is told about one message: the organisation's voice, the facts it may use,
/// and the rules the safety filter will hold it to anyway.
#[derive(Clone, Debug)]
pub struct Brief<'a> {
    /// The variant's prompt, its variables already filled in.
    pub prompt: &'a str,
    pub channel: &'a str,
    pub max_chars: usize,
    pub organisation: &'a str,
    pub concierge: &'a str,
    pub preferred_name: &'a str,
    pub days_inactive: i64,
    pub service: &'a str,
    pub deep_link: &'a str,
}

impl Brief<'_> {
    /// The system and user messages of the request.
    pub fn messages(&self) -> Vec<ChatMessage> {
        let mut rules = format!(
            "You write one {} message from {} (signed by {}) to one of its clients. \
             Write plain text, warm and brief: at most {} characters. Use only the facts \
             given. Never include a link other than the one given, a placeholder in brackets \
             or braces, or the name or contact details of anyone but the client. \
             Answer with only a JSON object: {{\"subject\": \"a short subject line\", \
             \"body\": \"the message\"}}.",
            self.channel, self.organisation, self.concierge, self.max_chars
        );
        if !self.deep_link.is_empty() {
            rules.push_str(" Include the booking link exactly as given.");
        }
        let mut facts = format!(
            "Facts:\n- the client's name: {}\n- days since their last visit: {}",
            self.preferred_name, self.days_inactive
        );
        if !self.service.is_empty() {
            facts.push_str(&format!("\n- their usual service: {}", self.service));
        }
        if !self.deep_link.is_empty() {
            facts.push_str(&format!("\n- booking link: {}", self.deep_link));
        }
        vec![
            ChatMessage {
                role: "system".into(),
                content: rules,
            },
            ChatMessage {
                role: "user".into(),
                content: format!("{}\n\n{facts}", self.prompt.trim()),
            },
        ]
    }
}

/// The subject (when the model gave one) and body in a model's answer: the JSON object asked
/// for (also inside a ```json fence), or else the whole answer as the body.
pub fn parse_reply(content: &str) -> Result<(Option<String>, String), String> {
    let mut t = content.trim();
    if let Some(inner) = t.strip_prefix("```") {
        let inner = inner.strip_prefix("json").unwrap_or(inner);
        t = inner.strip_suffix("```").unwrap_or(inner).trim();
    }
    if t.starts_with('{') {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            subject: Option<String>,
            #[serde(default)]
            body: Option<String>,
        }
        let reply: Reply = serde_json::from_str(t)
            .map_err(|e| format!("the model's answer is not the JSON asked for: {e}"))?;
        let body = reply.body.unwrap_or_default().trim().to_string();
        if body.is_empty() {
            return Err("the model's answer has no body".into());
        }
        let subject = reply
            .subject
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        return Ok((subject, body));
    }
    if t.is_empty() {
        return Err("the model answered with no text".into());
    }
    Ok((None, t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> ModelInput {
        let v: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(v)).unwrap()
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let err = input(&[
            ("base_url", "ftp://x"),
            ("model", ""),
            ("timeout_seconds", "500"),
        ])
        .apply(None)
        .unwrap_err();
        for field in ["base_url", "model", "timeout_seconds"] {
            assert!(err.get(field).is_some(), "{field}: {err:?}");
        }
        let ok = input(&[
            ("base_url", "http://127.0.0.1:8080/v1/"),
            ("model", "llama3"),
            ("timeout_seconds", "2.5"),
        ])
        .apply(None)
        .unwrap();
        assert_eq!(ok.settings.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(
            ok.settings.endpoint(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(ok.settings.timeout_ms, 2_500);
        assert!(ok.settings.enabled && !ok.settings.has_key);
        assert_eq!(ok.api_key, None);
    }

    #[test]
    fn a_blank_key_keeps_the_stored_one_and_clear_removes_it() {
        let stored = ModelSettings {
            enabled: true,
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            timeout_ms: 10_000,
            has_key: true,
            require_approval: false,
            approval_hours: 48,
        };
        let kept = input(&[("api_key", "  ")]).apply(Some(&stored)).unwrap();
        assert_eq!(kept.api_key, None);
        assert_eq!(kept.settings, stored);
        let cleared = input(&[("clear_key", "on")]).apply(Some(&stored)).unwrap();
        assert_eq!(cleared.api_key.as_deref(), Some(""));
        assert!(!cleared.settings.has_key);
        let new = input(&[("api_key", "sk-new"), ("enabled", "off")])
            .apply(Some(&stored))
            .unwrap();
        assert_eq!(new.api_key.as_deref(), Some("sk-new"));
        assert!(new.settings.has_key && !new.settings.enabled);
    }

    #[test]
    fn answers_are_read_as_json_or_plain_text() {
        assert_eq!(
            parse_reply("{\"subject\": \"Hi\", \"body\": \"Come back\"}").unwrap(),
            (Some("Hi".into()), "Come back".into())
        );
        assert_eq!(
            parse_reply("```json\n{\"body\": \"Come back\"}\n```").unwrap(),
            (None, "Come back".into())
        );
        assert_eq!(
            parse_reply("  Come back soon.  ").unwrap(),
            (None, "Come back soon.".into())
        );
        assert!(parse_reply("   ").is_err());
        assert!(parse_reply("{\"subject\": \"Hi\"}").is_err());
        assert!(parse_reply("{not json").is_err());
    }

    #[test]
    fn the_brief_gives_the_facts_and_the_rules() {
        let brief = Brief {
            prompt: "Invite Ada back for a massage.",
            channel: "sms",
            max_chars: 480,
            organisation: "Acme",
            concierge: "Sam",
            preferred_name: "Ada",
            days_inactive: 30,
            service: "massage",
            deep_link: "https://c.test/l/abc",
        };
        let m = brief.messages();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].role, "system");
        assert!(m[0].content.contains("at most 480 characters"));
        assert!(m[0].content.contains("booking link exactly"));
        assert!(m[1].content.starts_with("Invite Ada back"));
        assert!(m[1].content.contains("https://c.test/l/abc"));
        assert!(m[1].content.contains("days since their last visit: 30"));
    }
}
