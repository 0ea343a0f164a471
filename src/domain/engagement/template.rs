//! Nudge texts are MiniJinja templates (`Hi {{ preferred_name }}`). A template is checked when
//! it is saved — it must parse, and use only the variables below — and rendered for each
//! recipient with undefined values refused, so a message never goes out with a hole in it.
//! Server-only (the browser never renders a message).

use super::policy::{EngagementPolicy, NudgeChannel};
use super::NudgeKind;
use crate::domain::dates::Channel;
use crate::domain::FieldErrors;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

pub use super::policy::TEMPLATE_VARIABLES as VARIABLES;

/// The values one message is rendered with.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Variables {
    pub preferred_name: String,
    pub full_name: String,
    pub days_inactive: i64,
    pub service: String,
    pub booking_interval_days: i64,
    pub deep_link: String,
    pub unsubscribe_link: String,
    pub organisation: String,
    pub concierge: String,
}

impl Variables {
    /// Long values, to see whether a template still fits its channel at its longest.
    pub fn longest() -> Self {
        Self {
            preferred_name: "Maximiliana-Josephine".into(),
            full_name: "Maximiliana-Josephine Featherstonehaugh-Worthington".into(),
            days_inactive: 365,
            service: "deep-tissue massage with aromatherapy".into(),
            booking_interval_days: 365,
            deep_link: format!("https://concierge.example.com/l/{}", "x".repeat(56)),
            unsubscribe_link: format!("https://concierge.example.com/u/{}", "x".repeat(56)),
            organisation: "The Example Concierge Company".into(),
            concierge: "Alexandra Montgomery".into(),
        }
    }
}

/// The most characters a message body may have on each channel (SMS: three concatenated
/// segments; WhatsApp: a template message's body).
pub fn max_body(channel: Channel) -> usize {
    match channel {
        Channel::Sms => 480,
        Channel::Whatsapp => 1024,
        Channel::Slack => 4000,
        _ => 20_000,
    }
}

fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

/// The template fields of a policy: (field, nudge kind, is body, source).
fn fields(p: &EngagementPolicy) -> [(&'static str, NudgeKind, bool, &str); 4] {
    [
        (
            "dormant_subject",
            NudgeKind::Dormant,
            false,
            &p.dormant.subject,
        ),
        ("dormant_body", NudgeKind::Dormant, true, &p.dormant.body),
        (
            "rebook_subject",
            NudgeKind::Rebook,
            false,
            &p.rebook.subject,
        ),
        ("rebook_body", NudgeKind::Rebook, true, &p.rebook.body),
    ]
}

/// Checks every template of a policy: it parses, uses known variables only, and (for a policy
/// that sends by SMS or WhatsApp) fits the channel at its longest. Errors name the field.
pub fn check(policy: &EngagementPolicy) -> Result<(), FieldErrors> {
    check_texts(
        fields(policy)
            .into_iter()
            .map(|(field, _, is_body, source)| (field.to_string(), is_body, source)),
        policy.channel,
    )
}

/// Checks templates, each `(field, is_body, source)`, for messages sent on `channel`: each
/// parses, uses known variables only, and (a body, by SMS or WhatsApp) fits the channel at
/// its longest. Errors name the field.
pub fn check_texts<'a>(
    texts: impl IntoIterator<Item = (String, bool, &'a str)>,
    channel: NudgeChannel,
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    let env = environment();
    let known: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
    for (field, is_body, source) in texts {
        let field = field.as_str();
        let template = match env.template_from_str(source) {
            Ok(t) => t,
            Err(e) => {
                errors.add(
                    field,
                    format!(
                        "is not a valid template: {}",
                        e.detail().unwrap_or("syntax error")
                    ),
                );
                continue;
            }
        };
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !known.contains(&v.as_str()))
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            errors.add(
                field,
                format!(
                    "uses {} not known here ({}); the variables are: {}",
                    unknown
                        .iter()
                        .map(|v| format!("'{v}'"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unknown.len() == 1 {
                        "a variable"
                    } else {
                        "variables"
                    },
                    known.join(", ")
                ),
            );
            continue;
        }
        if !is_body {
            continue;
        }
        let limit_channel = match channel {
            NudgeChannel::Sms => Some(Channel::Sms),
            NudgeChannel::Whatsapp => Some(Channel::Whatsapp),
            _ => None,
        };
        if let Some(channel) = limit_channel {
            match template.render(Variables::longest()) {
                Ok(text) => {
                    let text = with_unsubscribe(text, &Variables::longest().unsubscribe_link);
                    let n = text.chars().count();
                    if n > max_body(channel) {
                        errors.add(
                            field,
                            format!(
                                "is {n} characters with long names and links filled in; {} carries at most {}",
                                channel.label(),
                                max_body(channel)
                            ),
                        );
                    }
                }
                Err(e) => errors.add(field, format!("cannot be rendered: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Adds the unsubscribe link to a body that does not carry it already: every engagement
/// message carries one.
pub fn with_unsubscribe(body: String, link: &str) -> String {
    if link.is_empty() || body.contains(link) {
        body
    } else {
        format!("{}\n\nNo more of these: {link}", body.trim_end())
    }
}

/// Templates (a policy's, or a campaign's variants'), parsed once for a whole run.
pub struct Compiled<'s> {
    env: Environment<'s>,
}

impl<'s> Compiled<'s> {
    pub fn new(policy: &'s EngagementPolicy) -> Result<Self, String> {
        Self::of(
            fields(policy)
                .into_iter()
                .map(|(field, _, _, source)| (field.to_string(), source)),
        )
    }

    /// Named templates: `(name, source)`.
    pub fn of(templates: impl IntoIterator<Item = (String, &'s str)>) -> Result<Self, String> {
        let mut env = environment();
        for (name, source) in templates {
            let context = name.clone();
            env.add_template_owned(name, source)
                .map_err(|e| format!("{context}: {e}"))?;
        }
        Ok(Self { env })
    }

    /// The subject and body of a nudge for one recipient.
    pub fn render(&self, kind: NudgeKind, vars: &Variables) -> Result<(String, String), String> {
        let (subject, body) = match kind {
            NudgeKind::Dormant => ("dormant_subject", "dormant_body"),
            NudgeKind::Rebook => ("rebook_subject", "rebook_body"),
        };
        self.render_pair(subject, body, vars)
    }

    /// The subject and body (the templates named so) for one recipient, the body carrying the
    /// unsubscribe link.
    pub fn render_pair(
        &self,
        subject: &str,
        body: &str,
        vars: &Variables,
    ) -> Result<(String, String), String> {
        let subject = self.render_text(subject, vars)?.trim().to_string();
        let body = with_unsubscribe(self.render_text(body, vars)?, &vars.unsubscribe_link);
        Ok((subject, body.trim().to_string()))
    }

    /// One named template for one recipient, as it is.
    pub fn render_text(&self, name: &str, vars: &Variables) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(vars))
            .map_err(|e| format!("{name}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engagement::PolicyInput;

    #[test]
    fn the_default_templates_render() {
        let p = EngagementPolicy::default();
        check(&p).unwrap();
        let c = Compiled::new(&p).unwrap();
        let vars = Variables {
            preferred_name: "Ada".into(),
            days_inactive: 23,
            deep_link: "https://x.test/l/abc".into(),
            unsubscribe_link: "https://x.test/u/def".into(),
            ..Default::default()
        };
        let (subject, body) = c.render(NudgeKind::Dormant, &vars).unwrap();
        assert_eq!(subject, "We miss you, Ada");
        assert!(body.contains("23 days"), "{body}");
        assert!(body.ends_with("https://x.test/u/def"), "{body}");
    }

    #[test]
    fn unknown_variables_and_bad_syntax_are_named() {
        let p = EngagementPolicy::default()
            .apply(&PolicyInput {
                dormant_body: Some("Hi {{ first_name }} {{ nickname }}".into()),
                rebook_subject: Some("Time for {{ service".into()),
                ..Default::default()
            })
            .unwrap();
        let errors = check(&p).unwrap_err();
        let body = errors.get("dormant_body").unwrap();
        assert!(body.contains("'first_name', 'nickname'"), "{body}");
        assert!(errors
            .get("rebook_subject")
            .unwrap()
            .contains("not a valid template"));
        assert!(errors.get("dormant_subject").is_none());
    }

    #[test]
    fn sms_bodies_must_fit() {
        let long = "word ".repeat(100);
        let p = EngagementPolicy::default()
            .apply(&PolicyInput {
                channel: Some("sms".into()),
                rebook_body: Some(format!("{long} {{{{ deep_link }}}}")),
                ..Default::default()
            })
            .unwrap();
        let errors = check(&p).unwrap_err();
        assert!(errors
            .get("rebook_body")
            .unwrap()
            .contains("SMS carries at most 480"));
        assert!(errors.get("dormant_body").is_none());
    }

    #[test]
    fn the_unsubscribe_link_is_added_when_missing() {
        let p = EngagementPolicy::default()
            .apply(&PolicyInput {
                dormant_body: Some("Hello {{ preferred_name }}".into()),
                ..Default::default()
            })
            .unwrap();
        let c = Compiled::new(&p).unwrap();
        let vars = Variables {
            preferred_name: "Ada".into(),
            unsubscribe_link: "https://x.test/u/1".into(),
            ..Default::default()
        };
        let (_, body) = c.render(NudgeKind::Dormant, &vars).unwrap();
        assert_eq!(body, "Hello Ada\n\nNo more of these: https://x.test/u/1");
    }
}
