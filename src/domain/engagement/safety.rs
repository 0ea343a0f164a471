//! The safety filter: what every generated (and every hand-edited) engagement text meets before
//! it can be sent. Each check passes or fails with the reason, and the whole result is stored
//! with the message and shown on its page; a text that fails any check is never sent.
//!
//! - **length**: the body fits the channel (and a subject stays a subject);
//! - **banned words**: none of the organisation's banned words, as whole words, in any case;
//! - **links**: no link but the product's own deep and unsubscribe links;
//! - **placeholders**: nothing left unfilled (`{{ name }}`, `{% … %}`, `{name}`, `[NAME]`);
//! - **other people**: no name, e-mail address or phone number of another person of the
//!   organisation. The text's [`mentions`] are looked up by the caller, which passes what it
//!   found of other people.

use serde::{Deserialize, Serialize};

/// The longest subject a message may carry.
pub const MAX_SUBJECT: usize = 200;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyCheck {
    /// `length`, `banned_words`, `links`, `placeholders` or `other_people`.
    pub check: String,
    pub passed: bool,
    /// Why, in plain words.
    pub detail: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// The filter's result for one text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyReport {
    pub passed: bool,
    pub checks: Vec<SafetyCheck>,
}

impl SafetyReport {
    /// The failed checks' reasons, joined: "links: … ; banned words: …".
    pub fn failures(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.check.replace('_', " "), c.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a text is checked against.
#[derive(Clone, Debug, Default)]
pub struct Rules<'a> {
    /// The most characters the channel carries in a body.
    pub max_body: usize,
    pub banned_words: &'a [String],
    /// The beginnings of the product's own links (`https://concierge.example.com/l/`, `…/u/`).
    pub own_links: &'a [String],
    /// What the caller found of other people among the text's [`mentions`]: one line each
    /// ("the e-mail address of another client").
    pub other_people: &'a [String],
}

fn outcome(check: &str, problems: Vec<String>, ok: &str) -> SafetyCheck {
    SafetyCheck {
        check: check.into(),
        passed: problems.is_empty(),
        detail: if problems.is_empty() {
            ok.into()
        } else {
            problems.join("; ")
        },
    }
}

/// Runs every check over a subject and body.
pub fn check(subject: &str, body: &str, rules: &Rules<'_>) -> SafetyReport {
    let text = format!("{subject}\n{body}");
    let mut checks = Vec::with_capacity(5);

    let mut long = Vec::new();
    let n = body.chars().count();
    if n > rules.max_body {
        long.push(format!(
            "the body is {n} characters; the channel carries at most {}",
            rules.max_body
        ));
    }
    let s = subject.chars().count();
    if s > MAX_SUBJECT {
        long.push(format!(
            "the subject is {s} characters; at most {MAX_SUBJECT}"
        ));
    }
    if body.trim().is_empty() {
        long.push("the body is empty".into());
    }
    checks.push(outcome("length", long, &format!("{n} characters")));

    let words = words_lowercase(&text);
    let mut banned: Vec<String> = rules
        .banned_words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .filter(|w| contains_phrase(&words, w))
        .map(|w| format!("'{w}'"))
        .collect();
    banned.dedup();
    if !banned.is_empty() {
        banned = vec![format!("uses {}", banned.join(", "))];
    }
    checks.push(outcome("banned_words", banned, "none used"));

    let foreign: Vec<String> = links(&text)
        .into_iter()
        .filter(|l| {
            !rules
                .own_links
                .iter()
                .any(|own| l.starts_with(own.as_str()))
        })
        .map(|l| format!("links to {l}"))
        .collect();
    checks.push(outcome("links", foreign, "only the product's own links"));

    checks.push(outcome(
        "placeholders",
        placeholders(&text)
            .into_iter()
            .map(|p| format!("'{p}' is not filled in"))
            .collect(),
        "none left unfilled",
    ));

    checks.push(outcome(
        "other_people",
        rules.other_people.to_vec(),
        "no one else's name, e-mail or phone number",
    ));
    SafetyReport {
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

/// The text's words, lower-cased (letters, digits and apostrophes).
fn words_lowercase(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `phrase` (one or more words) occurs as whole words among `words`.
fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let wanted = words_lowercase(phrase);
    !wanted.is_empty() && words.windows(wanted.len()).any(|w| w == wanted.as_slice())
}

/// Every link in a text: `http://…`, `https://…` and `www.…`, up to the next space (without
/// trailing punctuation).
pub fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter_map(|token| {
            let lower = token.to_ascii_lowercase();
            let start = ["https://", "http://", "www."]
                .iter()
                .filter_map(|p| lower.find(p))
                .min()?;
            Some(
                token[start..]
                    .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\''])
                    .to_string(),
            )
        })
        .collect()
}

/// Placeholders left in a text: template tags, `{name}`, `[NAME]` and `<NAME>`.
fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (open, close) in [("{{", "}}"), ("{%", "%}")] {
        let mut rest = text;
        while let Some(at) = rest.find(open) {
            let tail = &rest[at..];
            let end = tail
                .find(close)
                .map_or(tail.len().min(40), |e| e + close.len());
            found.push(tail[..end].to_string());
            rest = &tail[open.len()..];
        }
    }
    for (open, close, upper_only) in [('{', '}', false), ('[', ']', true), ('<', '>', true)] {
        let mut rest = text;
        while let Some(at) = rest.find(open) {
            let tail = &rest[at + open.len_utf8()..];
            let Some(end) = tail.find(close) else { break };
            let inner = &tail[..end];
            let looks_like_a_name = !inner.is_empty()
                && inner.len() <= 40
                && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && inner.chars().any(|c| c.is_ascii_alphabetic())
                && (!upper_only || inner.chars().all(|c| !c.is_ascii_lowercase()));
            let templated = open == '{' && (inner.starts_with('{') || inner.starts_with('%'));
            if looks_like_a_name && !templated {
                found.push(format!("{open}{inner}{close}"));
            }
            rest = tail;
        }
    }
    found.sort();
    found.dedup();
    found
}

/// What in a text could identify a person, for the caller to look up among the organisation's
/// people: e-mail addresses (lower-cased), phone numbers (digits, with a leading `+` kept), and
/// runs of two or more capitalised words (names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mentions {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub names: Vec<String>,
}

pub fn mentions(text: &str) -> Mentions {
    let mut m = Mentions::default();
    for token in text.split_whitespace() {
        let t = token.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@' || c == '+'));
        if let Some((local, domain)) = t.split_once('@') {
            if !local.is_empty() && domain.contains('.') && !t.contains("://") {
                m.emails.push(t.to_lowercase());
            }
        }
    }
    // Phone numbers: runs of digits with spaces, dashes, dots or brackets, 7 digits or more.
    let mut digits = String::new();
    let flush = |digits: &mut String, m: &mut Mentions| {
        if digits.trim_start_matches('+').len() >= 7 {
            m.phones.push(std::mem::take(digits));
        }
        digits.clear();
    };
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' if !digits.is_empty() => {}
            _ => flush(&mut digits, &mut m),
        }
    }
    flush(&mut digits, &mut m);
    // Names: two or more capitalised words in a row.
    let mut run: Vec<&str> = Vec::new();
    let push_run = |run: &mut Vec<&str>, m: &mut Mentions| {
        if run.len() >= 2 {
            m.names.push(run.join(" "));
        }
        run.clear();
    };
    for word in text.split(|c: char| c.is_whitespace()) {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'');
        let capitalised = bare.chars().next().is_some_and(char::is_uppercase)
            && bare
                .chars()
                .skip(1)
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
            && bare.chars().count() > 1;
        if capitalised {
            run.push(bare);
        } else {
            push_run(&mut run, &mut m);
        }
        // A sentence or clause ends the run.
        if word.ends_with(['.', ',', ';', ':', '!', '?']) {
            push_run(&mut run, &mut m);
        }
    }
    push_run(&mut run, &mut m);
    m.emails.sort();
    m.emails.dedup();
    m.phones.sort();
    m.phones.dedup();
    m.names.sort();
    m.names.dedup();
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules<'a>(banned: &'a [String], own: &'a [String], others: &'a [String]) -> Rules<'a> {
        Rules {
            max_body: 480,
            banned_words: banned,
            own_links: own,
            other_people: others,
        }
    }

    fn failed(report: &SafetyReport) -> Vec<&str> {
        report
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.check.as_str())
            .collect()
    }

    #[test]
    fn a_clean_text_passes_every_check() {
        let own = vec![
            "https://c.example.com/l/".to_string(),
            "https://c.example.com/u/".to_string(),
        ];
        let r = check(
            "We miss you, Ada",
            "Hi Ada, book again: https://c.example.com/l/abc. No more: https://c.example.com/u/def",
            &rules(&[], &own, &[]),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.checks.len(), 5);
        assert_eq!(r.failures(), "");
    }

    #[test]
    fn each_check_catches_its_case() {
        let own = vec!["https://c.example.com/".to_string()];
        let banned = vec!["guarantee".to_string(), "act now".to_string()];
        let long = "x".repeat(481);
        let cases: Vec<(&str, &str, Vec<String>, &str)> = vec![
            ("Hi", long.as_str(), vec![], "length"),
            ("Hi", "We GUARANTEE results.", vec![], "banned_words"),
            ("Hi", "Act   now, Ada!", vec![], "banned_words"),
            (
                "Hi",
                "See https://evil.example.net/x for more",
                vec![],
                "links",
            ),
            ("Hi", "See www.evil.example.net", vec![], "links"),
            ("Hi {{ preferred_name }}", "Hello", vec![], "placeholders"),
            ("Hi", "Hello {first_name}, welcome", vec![], "placeholders"),
            ("Hi", "Hello [FIRST_NAME], welcome", vec![], "placeholders"),
            ("Hi", "Hello {% if x %}", vec![], "placeholders"),
            (
                "Hi",
                "Grace Hopper booked too",
                vec!["the name of another client (Grace Hopper)".into()],
                "other_people",
            ),
        ];
        for (subject, body, others, expected) in cases {
            let r = check(subject, body, &rules(&banned, &own, &others));
            assert!(!r.passed, "{body}");
            assert_eq!(failed(&r), vec![expected], "{body}: {r:?}");
        }
        // Words inside other words are not banned: "guaranteed" is not "guarantee".
        assert!(check("Hi", "It is guaranteed fun", &rules(&banned, &own, &[])).passed);
        // A single capitalised word, brackets in prose and lower-case tags are not placeholders.
        assert!(
            check(
                "Hi",
                "Hello Ada (see you) [soon] <3",
                &rules(&[], &own, &[])
            )
            .passed
        );
    }

    #[test]
    fn mentions_find_what_could_identify_someone() {
        let m = mentions(
            "Hi Ada. Grace Hopper (grace@Example.com, +44 20 7946 0018) and Alan Mathison Turing \
             asked after you; call 555-0100 or visit https://x.example.com/a@b.",
        );
        assert_eq!(m.emails, vec!["grace@example.com"]);
        assert_eq!(m.phones, vec!["+442079460018", "5550100"]);
        // Candidates to look up: a greeting may come along, and matches no one.
        assert_eq!(
            m.names,
            vec!["Alan Mathison Turing", "Grace Hopper", "Hi Ada"]
        );
        assert!(mentions("Hi there, it is 2026.").phones.is_empty());
    }

    #[test]
    fn links_are_read_whole() {
        assert_eq!(
            links("Go to https://a.example.com/x?y=1. Or (www.b.example.com), or HTTP://C.example.com!"),
            vec![
                "https://a.example.com/x?y=1",
                "www.b.example.com",
                "HTTP://C.example.com"
            ]
        );
    }
}
