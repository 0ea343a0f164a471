//! Screening an engagement text with the safety filter ([`crate::domain::engagement::safety`])
//! before it can be sent: the organisation's banned words, the product's own links, and a
//! look-up of anyone else the text names.

use super::public_base;
use crate::domain::dates::Channel;
use crate::domain::engagement::safety::{self, mentions, Rules, SafetyReport};
use crate::domain::engagement::template::max_body;
use crate::domain::engagement::EngagementPolicy;
use crate::domain::Person;
use crate::server::db::persons;
use crate::server::error::ServiceResult;
use crate::server::AppState;
use std::collections::HashMap;
use uuid::Uuid;

/// What the organisation's people a run's texts mention, looked up once each: a template's own
/// words recur in every message and cost one query per run, not one per message.
#[derive(Default)]
pub(crate) struct Mentioned {
    /// (what, value) → the people it is (id, full name).
    found: HashMap<(&'static str, String), Vec<(Uuid, String)>>,
}

/// The filter's verdict on a text for `recipient` on `channel`. Everything the text mentions
/// that could be someone's details is looked up among the organisation's people, except the
/// recipient's own.
pub(crate) async fn screen(
    state: &AppState,
    policy: &EngagementPolicy,
    recipient: &Person,
    channel: Channel,
    subject: &str,
    body: &str,
    seen: &mut Mentioned,
) -> ServiceResult<SafetyReport> {
    let base = public_base(state);
    let own_links = vec![format!("{base}/l/"), format!("{base}/u/")];
    let said = mentions(&format!("{subject}\n{body}"));
    // The recipient's own name is no one else's: its words split a run of capitalised words
    // ("Hi Ada" leaves nothing to look up; "Ada, Grace Hopper" leaves "Grace Hopper").
    let own_words: Vec<&str> = [
        Some(recipient.full_name.as_str()),
        recipient.preferred_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .flat_map(str::split_whitespace)
    .collect();
    let own_email = recipient.email.as_deref().map(str::to_lowercase);
    // Stored phone numbers are E.164 ("+44…"); a mention is compared without its `+`.
    let own_phone = recipient
        .phone
        .as_deref()
        .map(|p| p.trim_start_matches('+'));
    let mut asked: Vec<(&'static str, String)> = Vec::new();
    for name in &said.names {
        let words: Vec<&str> = name.split(' ').collect();
        for part in words.split(|w| own_words.contains(w)) {
            if part.len() >= 2 {
                asked.push(("name", part.join(" ")));
            }
        }
    }
    asked.extend(
        said.emails
            .into_iter()
            .filter(|e| own_email.as_ref() != Some(e))
            .map(|e| ("email", e)),
    );
    // Stored phone numbers are E.164: a number is looked up as written and with a `+`.
    asked.extend(
        said.phones
            .into_iter()
            .filter(|p| own_phone != Some(p.trim_start_matches('+')))
            .flat_map(|p| [p.clone(), format!("+{}", p.trim_start_matches('+'))])
            .map(|p| ("phone", p)),
    );
    asked.sort();
    asked.dedup();
    let new: Vec<&(&'static str, String)> = asked
        .iter()
        .filter(|k| !seen.found.contains_key(*k))
        .collect();
    if !new.is_empty() {
        let of = |what: &str| -> Vec<String> {
            new.iter()
                .filter(|(w, _)| *w == what)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let rows = persons::mentioned(
            &state.db,
            recipient.org_id,
            &of("name"),
            &of("email"),
            &of("phone"),
        )
        .await?;
        for key in &new {
            seen.found.entry((*key).clone()).or_default();
        }
        for (id, name, what, value) in rows {
            let value = if what == "email" {
                value.to_lowercase()
            } else {
                value
            };
            seen.found
                .entry((what, value))
                .or_default()
                .push((id, name));
        }
    }
    let mut other_people: Vec<String> = Vec::new();
    for key in &asked {
        for (id, name) in seen.found.get(key).into_iter().flatten() {
            if *id == recipient.id {
                continue;
            }
            let line = match key.0 {
                "email" => format!("carries the e-mail address of {name}, another client"),
                "phone" => format!("carries the phone number of {name}, another client"),
                _ => format!("names {name}, another client"),
            };
            if !other_people.contains(&line) {
                other_people.push(line);
            }
        }
    }
    Ok(safety::check(
        subject,
        body,
        &Rules {
            max_body: max_body(channel),
            banned_words: &policy.banned_words,
            own_links: &own_links,
            other_people: &other_people,
        },
    ))
}
