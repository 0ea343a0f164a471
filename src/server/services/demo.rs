//! `concierge seed-demo --org SLUG`: realistic sample data, so a new organisation sees a living
//! portal at once — families with dates all through the year and reminders, projects with
//! tasks, conversations, and a catalogue with recommendations. Everything goes through the
//! same services as the portal, so it obeys every rule the portal does.

use super::{comms, dates, persons, projects, vendors};
use crate::domain::activity::ActivityInput;
use crate::domain::comms::{ConversationInput, IdentityInput, MessageInput};
use crate::domain::dates::{DateItemInput, ReminderRuleInput};
use crate::domain::projects::{ProjectInput, TaskInput};
use crate::domain::vendors::{RecommendationInput, VendorInput};
use crate::domain::{PersonInput, Slug};
use crate::server::auth::Actor;
use crate::server::db;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{Datelike, Duration};
use uuid::Uuid;

/// What was made.
#[derive(Debug, Default)]
pub struct Seeded {
    pub people: usize,
    pub dates: usize,
    pub projects: usize,
    pub conversations: usize,
    pub vendors: usize,
}

struct Family {
    client: (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    ),
    relatives: &'static [(&'static str, &'static str, &'static str)],
}

/// (name, timezone, birthday, email, tags); relatives are (name, relationship, birthday).
/// Each client also gets an e-mail identity and a wedding anniversary in the coming weeks.
const FAMILIES: &[Family] = &[
    Family {
        client: (
            "Sarah Chen",
            "America/New_York",
            "1985-03-15",
            "sarah.chen@example.com",
            &["vip", "wine"],
        ),
        relatives: &[
            ("Michael Chen", "spouse", "1983-11-02"),
            ("Lily Chen", "daughter", "2015-06-21"),
        ],
    },
    Family {
        client: (
            "James Whitfield",
            "Europe/London",
            "1972-02-29",
            "james@whitfield.example",
            &["golf"],
        ),
        relatives: &[("Eleanor Whitfield", "spouse", "1975-08-09")],
    },
    Family {
        client: (
            "Priya Raman",
            "Asia/Kolkata",
            "1990-10-30",
            "priya.raman@example.in",
            &["travel", "vegetarian"],
        ),
        relatives: &[("Arjun Raman", "son", "2018-01-12")],
    },
    Family {
        client: (
            "Olivia Hart",
            "Australia/Lord_Howe",
            "1968-05-04",
            "olivia.hart@example.au",
            &["sailing"],
        ),
        relatives: &[],
    },
    Family {
        client: (
            "Tomás Alvarez",
            "Europe/Madrid",
            "1979-12-24",
            "tomas@alvarez.example",
            &["art", "vip"],
        ),
        relatives: &[
            ("Lucía Alvarez", "spouse", "1981-04-17"),
            ("Mateo Alvarez", "son", "2010-09-03"),
        ],
    },
    Family {
        client: (
            "Kai Tuilagi",
            "Pacific/Kiritimati",
            "1995-07-19",
            "kai@example.ki",
            &["diving"],
        ),
        relatives: &[],
    },
];

/// (name, kind, location, price level, rating, tags).
type SampleVendor = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    f64,
    &'static [&'static str],
);

const VENDORS: &[SampleVendor] = &[
    (
        "The Modern",
        "restaurant",
        "New York",
        4,
        4.6,
        &["michelin", "romantic"],
    ),
    ("Blooms & Co", "vendor", "London", 2, 4.8, &["flowers"]),
    (
        "Villa Serbelloni",
        "venue",
        "Lake Como",
        4,
        4.9,
        &["wedding", "anniversary"],
    ),
    (
        "Sommelier Select",
        "product",
        "Online",
        3,
        4.4,
        &["wine", "gift"],
    ),
    ("Harbour Charters", "vendor", "Sydney", 3, 4.7, &["sailing"]),
];

fn text(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// A lead-time reminder rule: `days` before, to the client (`email`) or their concierge
/// (`portal`).
fn lead_time(days: i64, to_staff: bool, message: &str) -> ReminderRuleInput {
    ReminderRuleInput {
        reminder_type: text("lead_time"),
        lead_time_days: Some(days),
        audience: text(if to_staff { "staff" } else { "client" }),
        channel_type: text(if to_staff { "portal" } else { "email" }),
        message: text(message),
        ..Default::default()
    }
}

pub async fn seed(state: &AppState, org_slug: &str) -> ServiceResult<Seeded> {
    let slug = Slug::parse(org_slug).map_err(|m| ServiceError::invalid("org", m))?;
    let org = db::orgs::by_slug(&state.db, slug.as_str())
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("org", format!("there is no organisation '{slug}'"))
        })?;
    let actor = Actor::ApiKey {
        id: Uuid::nil(),
        org_id: org.id,
        name: "seed-demo".into(),
        read_only: false,
    };
    let staff = db::staff::list(&state.db, org.id).await?;
    let categories = dates::list_categories(state, &actor).await?;
    let category = |name: &str| {
        categories
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id.to_string())
    };
    let mut out = Seeded::default();
    let today = state.clock.now().date_naive();

    let mut vendor_ids = Vec::new();
    for (name, kind, location, price, rating, tags) in VENDORS {
        let v = vendors::save_vendor(
            state,
            &actor,
            None,
            &VendorInput {
                name: text(name),
                kind: text(kind),
                location: text(location),
                price_level: Some(*price),
                rating: Some(*rating),
                tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                ..Default::default()
            },
        )
        .await?;
        vendor_ids.push(v.id);
        out.vendors += 1;
    }

    for (i, family) in FAMILIES.iter().enumerate() {
        let (name, tz, birthday, email, tags) = family.client;
        let looking_after = staff.get(i % staff.len().max(1));
        let assigned = looking_after.map(|s| s.id.to_string());
        let concierge = looking_after
            .map(|s| s.display_name.clone())
            .unwrap_or_else(|| "Concierge team".into());
        let client = persons::create(
            state,
            &actor,
            &PersonInput {
                full_name: text(name),
                person_type: text("client"),
                timezone: text(tz),
                birthday: text(birthday),
                email: text(email),
                tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                assigned_staff_id: assigned,
                marketing_consent: Some(i % 2 == 0),
                consent_source: text("demo"),
                ..Default::default()
            },
        )
        .await?;
        out.people += 1;
        comms::add_identity(
            state,
            &actor,
            client.id,
            &IdentityInput {
                channel: text("email"),
                address: text(email),
                preferred: Some(true),
                verified: Some(true),
                ..Default::default()
            },
        )
        .await?;
        // Some history in the client app: every other client books a treatment every three
        // weeks, and they were last seen from yesterday to a few weeks ago, so the segments
        // (and the Engagement page) have something to show.
        let now = state.clock.now();
        let last_seen = now - Duration::days(1 + 5 * i as i64) - Duration::hours(3);
        let mut history: Vec<ActivityInput> = (0..6)
            .map(|k| ActivityInput {
                person_id: Some(client.id.to_string()),
                name: text(["login", "viewed_menu"][k % 2]),
                occurred_at: Some((last_seen - Duration::days(4 * k as i64)).to_rfc3339()),
                ..Default::default()
            })
            .collect();
        if i % 2 == 0 {
            for k in 0..3 {
                history.push(ActivityInput {
                    person_id: Some(client.id.to_string()),
                    name: text("booking"),
                    properties: Some(serde_json::json!({ "service": "Spa day" })),
                    occurred_at: Some((last_seen - Duration::days(2 + 21 * k)).to_rfc3339()),
                    ..Default::default()
                });
            }
        }
        super::activity::ingest(state, &actor, &history, None, true).await?;
        // An anniversary in the next few weeks, so this month's calendar has life in it.
        let anniversary = today + Duration::days(3 + 5 * i as i64);
        let years = 5 + 3 * i as i32;
        let married = anniversary
            .with_year(anniversary.year() - years)
            .unwrap_or(anniversary);
        dates::save_item(
            state,
            &actor,
            None,
            &DateItemInput {
                person_id: Some(client.id.to_string()),
                category_id: category("Anniversary"),
                title: text("Wedding anniversary"),
                date_value: Some(married.to_string()),
                recurrence_rule: text("FREQ=YEARLY"),
                reminder_rules: Some(vec![lead_time(
                    2,
                    true,
                    "Anniversary in two days: flowers?",
                )]),
                ..Default::default()
            },
        )
        .await?;
        out.dates += 1;
        let birthday_rules = vec![
            lead_time(
                14,
                true,
                "Two weeks to the birthday: plan something special",
            ),
            lead_time(0, false, "Happy birthday from all of us!"),
        ];
        dates::save_item(
            state,
            &actor,
            None,
            &DateItemInput {
                person_id: Some(client.id.to_string()),
                category_id: category("Birthday"),
                title: Some(format!(
                    "{}'s birthday",
                    name.split(' ').next().unwrap_or(name)
                )),
                date_value: text(birthday),
                recurrence_rule: text("FREQ=YEARLY"),
                reminder_rules: Some(birthday_rules),
                ..Default::default()
            },
        )
        .await?;
        out.dates += 1;
        // A renewal a few months out, so the calendar has dates all through the year.
        let renewal = today + Duration::days(30 + 47 * i as i64);
        dates::save_item(
            state,
            &actor,
            None,
            &DateItemInput {
                person_id: Some(client.id.to_string()),
                category_id: category("Club Renewal"),
                title: text(
                    [
                        "Club membership renewal",
                        "Yacht insurance renewal",
                        "Passport renewal",
                    ][i % 3],
                ),
                date_value: Some(renewal.to_string()),
                recurrence_rule: text("FREQ=YEARLY"),
                reminder_rules: Some(vec![lead_time(21, true, "Renewal coming up")]),
                ..Default::default()
            },
        )
        .await?;
        out.dates += 1;

        for (rel_name, relationship, rel_birthday) in family.relatives {
            let relative = persons::create(
                state,
                &actor,
                &PersonInput {
                    full_name: text(rel_name),
                    person_type: text("family_member"),
                    timezone: text(tz),
                    birthday: text(rel_birthday),
                    related_person_id: Some(client.id.to_string()),
                    relationship: text(relationship),
                    ..Default::default()
                },
            )
            .await?;
            out.people += 1;
            dates::save_item(
                state,
                &actor,
                None,
                &DateItemInput {
                    person_id: Some(relative.id.to_string()),
                    category_id: category("Birthday"),
                    title: Some(format!(
                        "{}'s birthday",
                        rel_name.split(' ').next().unwrap_or(rel_name)
                    )),
                    date_value: text(rel_birthday),
                    recurrence_rule: text("FREQ=YEARLY"),
                    reminder_rules: Some(vec![lead_time(
                        7,
                        true,
                        &format!("{name}'s {relationship} has a birthday next week"),
                    )]),
                    ..Default::default()
                },
            )
            .await?;
            out.dates += 1;
        }

        if i % 2 == 0 {
            let due = today + Duration::days(20 + 10 * i as i64);
            let project = projects::save(
                state,
                &actor,
                None,
                &ProjectInput {
                    person_id: Some(client.id.to_string()),
                    title: Some(format!(
                        "Plan {}'s {} celebration",
                        name.split(' ').next().unwrap_or(name),
                        due.year()
                    )),
                    status: text("in_progress"),
                    priority: Some(2),
                    due_date: Some(due.to_string()),
                    ..Default::default()
                },
            )
            .await?;
            for (n, title) in [
                "Shortlist venues",
                "Book a table",
                "Order flowers",
                "Confirm guests",
            ]
            .iter()
            .enumerate()
            {
                projects::add_task(
                    state,
                    &actor,
                    project.id,
                    &TaskInput {
                        title: text(title),
                        status: Some(if n < 2 { "done" } else { "todo" }.into()),
                        ..Default::default()
                    },
                )
                .await?;
            }
            out.projects += 1;
            vendors::recommend(
                state,
                &actor,
                &RecommendationInput {
                    vendor_id: Some(vendor_ids[i % vendor_ids.len()].to_string()),
                    person_id: Some(client.id.to_string()),
                    project_id: Some(project.id.to_string()),
                    notes: text("A favourite of ours for occasions like this"),
                    ..Default::default()
                },
            )
            .await?;
        }

        let conversation = comms::save_conversation(
            state,
            &actor,
            None,
            &ConversationInput {
                person_id: Some(client.id.to_string()),
                channel_type: text(["slack", "email", "whatsapp"][i % 3]),
                subject: text("Planning ahead"),
                status: None,
            },
        )
        .await?;
        for (direction, body) in [
            (
                "in",
                "Hi! Could you help me plan something for the next family occasion?",
            ),
            ("out", "Of course — we'll send a few ideas by Friday."),
            ("note", "Prefers quiet venues; no shellfish."),
        ] {
            comms::add_message(
                state,
                &actor,
                conversation.id,
                &MessageInput {
                    direction: text(direction),
                    body: text(body),
                    author: Some(if direction == "in" {
                        name.to_string()
                    } else {
                        concierge.clone()
                    }),
                    // The demo writes history; it sends nothing.
                    send: Some(false),
                },
            )
            .await?;
        }
        out.conversations += 1;
    }
    super::engagement::rescore(state, org.id).await?;
    Ok(out)
}
