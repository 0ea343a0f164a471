//! A large organisation written straight into the database with multi-row inserts (not through
//! the services: a hundred thousand clients through the API would take hours), for the page
//! benchmark. Every row is one the portal could have written: the same columns, the same
//! derived fields (search text, sort name, next occurrence), the same value sets.
//!
//! Shape, for `clients` C, `dates` D and `deliveries` M:
//! - C clients with names drawn from common first and last names (so a search for "smith"
//!   matches about one in a hundred), one of them with a rare name ("Quillfeather"); tags from
//!   a small set; eight time zones; an engagement roll-up with a segment each;
//! - an e-mail identity for each, a phone identity for half;
//! - D important dates (mostly yearly) spread over the clients, half with a reminder rule
//!   (mostly pending, some sent, failed or cancelled);
//! - M deliveries over the last year in every status, kind, source and channel;
//! - a conversation for one client in four with three messages each; a project for one
//!   client in twenty with four tasks; a thousand vendors;
//! - the first client is the busy one: 100 dates, 5 identities, 20 conversations and 2,000
//!   deliveries (the profile the benchmark reads).

use crate::domain::recurrence::Recurrence;
use crate::on_db;
use crate::server::db::Db;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub const ZONES: &[&str] = &[
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Dubai",
    "Asia/Singapore",
    "Australia/Sydney",
    "UTC",
];
const FIRST: &[&str] = &[
    "Olivia", "James", "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur",
    "Sophia", "Leo", "Grace", "Oscar", "Lily", "Harry", "Freya", "Jack", "Emily", "Henry", "Sarah",
    "Michael", "Elena", "David", "Hannah", "Daniel", "Chloe", "Samuel", "Ruby", "Thomas", "Priya",
    "Arjun", "Mei", "Wei", "Yuki", "Kenji", "Fatima", "Omar", "Lucia", "Mateo",
];
const LAST: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Chen",
    "Wang",
    "Li",
    "Kim",
    "Nguyen",
    "Garcia",
    "Martinez",
    "Rossi",
    "Russo",
    "Muller",
    "Schmidt",
    "Dubois",
    "Laurent",
    "Silva",
    "Santos",
    "Kowalski",
    "Novak",
    "Ahmed",
    "Khan",
    "Singh",
    "Sato",
    "Suzuki",
    "Tanaka",
    "Murphy",
    "Kelly",
    "Byrne",
    "Walsh",
    "O'Brien",
    "Campbell",
    "Stewart",
    "Anderson",
    "Scott",
    "Morris",
    "Cooper",
    "Ward",
    "Turner",
    "Hill",
    "Moore",
    "King",
    "Baker",
    "Harris",
    "Lewis",
    "Young",
    "Allen",
    "Mitchell",
    "Carter",
    "Phillips",
    "Parker",
    "Edwards",
    "Collins",
    "Morgan",
    "Bell",
    "Bailey",
    "Richardson",
    "Cox",
    "Howard",
    "Fisher",
    "Hughes",
    "Price",
    "Bennett",
    "Gray",
    "Rose",
    "Webb",
    "Hunt",
    "Palmer",
    "Mills",
    "Lloyd",
    "Ellis",
    "Marshall",
    "Gibson",
    "Holmes",
    "Knight",
    "Ford",
    "Grant",
    "Mason",
    "Reid",
    "Shaw",
    "Fraser",
    "Quinn",
];
/// The name a search for something rare looks for: exactly one client has it.
pub const RARE: &str = "Quillfeather";
pub const TAGS: &[&str] = &[
    "vip", "wine", "golf", "family", "travel", "spa", "art", "dining",
];
const DATE_TITLES: &[(&str, usize)] = &[
    ("Birthday", 0),
    ("Wedding anniversary", 1),
    ("Membership renewal", 2),
    ("Passport renewal", 2),
    ("Spa day", 3),
    ("Wine club delivery", 3),
];
const SEGMENTS: &[&str] = &[
    "new", "active", "active", "active", "at_risk", "dormant", "churned",
];
const CHANNELS: &[&str] = &["email", "email", "email", "sms", "whatsapp"];
/// (status, weight in a hundred).
const DELIVERY_STATUSES: &[(&str, u32)] = &[
    ("sent", 60),
    ("delivered", 15),
    ("failed", 5),
    ("suppressed", 8),
    ("pending", 7),
    ("cancelled", 5),
];
/// The busy client's share.
const BUSY_DATES: usize = 100;
const BUSY_CONVERSATIONS: usize = 20;
const BUSY_DELIVERIES: usize = 2_000;

/// What was made, for the benchmark to visit.
pub struct OrgData {
    /// The client with many dates, identities and messages.
    pub busy_client: Uuid,
    /// A project with tasks.
    pub project: Uuid,
    /// A conversation with messages.
    pub conversation: Uuid,
}

/// One value of a generated row, bound as the column's type on either database.
enum V {
    Id(Uuid),
    OptId(Option<Uuid>),
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Bool(bool),
    At(DateTime<Utc>),
    OptAt(Option<DateTime<Utc>>),
    Day(NaiveDate),
    OptDay(Option<NaiveDate>),
    Tags(Vec<String>),
}

/// Rows for one table, written in multi-row statements as they fill up.
struct Table {
    sql_head: String,
    cols: usize,
    rows: Vec<Vec<V>>,
    written: usize,
}

impl Table {
    fn new(table: &str, columns: &str) -> Self {
        Self {
            sql_head: format!("INSERT INTO {table} ({columns}) VALUES "),
            cols: columns.split(',').count(),
            rows: Vec::new(),
            written: 0,
        }
    }

    /// Rows per statement: under both databases' limits on bound values.
    fn per_statement(&self) -> usize {
        (30_000 / self.cols).min(1_000)
    }

    fn push(&mut self, row: Vec<V>) {
        debug_assert_eq!(row.len(), self.cols, "{}", self.sql_head);
        self.rows.push(row);
    }

    async fn flush(&mut self, db: &Db) -> anyhow::Result<()> {
        let rows = std::mem::take(&mut self.rows);
        let per = self.per_statement();
        on_db!(db, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(per) {
                let sql = format!(
                    "{}{}",
                    self.sql_head,
                    crate::server::db::value_rows(db, 1, chunk.len(), self.cols, None)
                );
                let mut q = sqlx::query(&sql);
                for v in chunk.iter().flatten() {
                    q = match v {
                        V::Id(x) => q.bind(*x),
                        V::OptId(x) => q.bind(*x),
                        V::Text(x) => q.bind(x.as_str()),
                        V::OptText(x) => q.bind(x.as_deref()),
                        V::Int(x) => q.bind(*x),
                        V::Bool(x) => q.bind(*x),
                        V::At(x) => q.bind(*x),
                        V::OptAt(x) => q.bind(*x),
                        V::Day(x) => q.bind(*x),
                        V::OptDay(x) => q.bind(*x),
                        V::Tags(x) => q.bind(sqlx::types::Json(x)),
                    };
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        self.written += rows.len();
        Ok(())
    }
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.gen_range(0..from.len())]
}

fn weighted(rng: &mut StdRng, from: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = from.iter().map(|(_, w)| w).sum();
    let mut n = rng.gen_range(0..total);
    for (v, w) in from {
        if n < *w {
            return v;
        }
        n -= w;
    }
    from[0].0
}

/// 09:00 on `day` in `tz`, in UTC.
fn nine_am(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    day.and_hms_opt(9, 0, 0)
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(9, 0, 0).unwrap_or_default().and_utc())
}

/// Writes the organisation. `staff_id` is the staff member projects and notes belong to.
pub async fn generate(
    db: &Db,
    org: Uuid,
    staff_id: Uuid,
    clients: usize,
    dates: usize,
    deliveries: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<OrgData> {
    let mut rng = StdRng::seed_from_u64(7);
    let today = now.date_naive();
    let clients = clients.max(1);

    // Categories, as an admin would have made them.
    let mut categories = Table::new(
        "date_categories",
        "id, org_id, name, name_key, icon, color, created_at, updated_at",
    );
    let category_ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    for (id, (name, icon, color)) in category_ids.iter().zip([
        ("Birthdays", "cake", "#c2410c"),
        ("Anniversaries", "heart", "#be123c"),
        ("Renewals", "refresh", "#1d4ed8"),
        ("Treats", "star", "#15803d"),
    ]) {
        categories.push(vec![
            V::Id(*id),
            V::Id(org),
            V::Text(format!("Bench {name}")),
            V::Text(format!("bench {}", name.to_lowercase())),
            V::Text(icon.into()),
            V::Text(color.into()),
            V::At(now),
            V::At(now),
        ]);
    }
    categories.flush(db).await?;

    let mut persons = Table::new(
        "persons",
        "id, org_id, full_name, person_type, email, phone, timezone, tags, external_id, search_text, \
         sort_name, marketing_consent, last_active_at, created_at, updated_at",
    );
    let mut engagement = Table::new(
        "person_engagement",
        "person_id, org_id, joined_s, last_active_s, events, segment, churn_points, next_score_s",
    );
    let mut identities = Table::new(
        "comm_identities",
        "id, org_id, person_id, channel, address, preferred, verified, created_at, updated_at",
    );
    let mut items = Table::new(
        "date_items",
        "id, org_id, person_id, category_id, title, date_value, recurrence_rule, next_occurrence, \
         created_at, updated_at, occurs_on",
    );
    let mut rules = Table::new(
        "reminder_rules",
        "id, org_id, person_id, date_item_id, reminder_type, lead_time_days, time_of_day, \
         channel_type, audience, status, occurrence_date, scheduled_datetime, sent_at, last_error, \
         position, created_at, updated_at",
    );
    let mut conversations = Table::new(
        "conversations",
        "id, org_id, person_id, channel_type, subject, status, last_message_at, created_at, updated_at",
    );
    let mut messages = Table::new(
        "messages",
        "id, org_id, conversation_id, direction, author, author_staff_id, body, created_at",
    );
    let mut projects = Table::new(
        "projects",
        "id, org_id, person_id, title, status, priority, due_date, assigned_staff_id, created_at, updated_at",
    );
    let mut tasks = Table::new(
        "tasks",
        "id, org_id, project_id, title, status, due_date, position, created_at, updated_at",
    );

    let yearly = Recurrence::parse("yearly").map_err(|e| anyhow::anyhow!(e))?;
    let mut ids = Vec::with_capacity(clients);
    let mut first_project = None;
    let mut first_conversation = None;
    // Dates left to hand out after the busy client's, spread evenly over the others.
    let rest_dates = dates.saturating_sub(BUSY_DATES);
    let others = clients.saturating_sub(1).max(1);
    for n in 0..clients {
        let id = Uuid::now_v7();
        let zone = ZONES[n % ZONES.len()];
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
        let last_name = if n == 1 { RARE } else { pick(&mut rng, LAST) };
        let name = format!("{} {last_name}", pick(&mut rng, FIRST));
        let email = format!(
            "{}.{}{n}@example.com",
            name.split(' ').next().unwrap_or("x").to_lowercase(),
            last_name.to_lowercase().replace('\'', "")
        );
        let phone = (n % 2 == 0).then(|| format!("+4477{:08}", n % 100_000_000));
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..rng.gen_range(0..3) {
            let t = pick(&mut rng, TAGS).to_string();
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let external_id = format!("crm-{n:07}");
        let mut search = vec![name.clone(), email.clone()];
        search.extend(phone.clone());
        search.push(external_id.clone());
        search.extend(tags.iter().cloned());
        let joined = now - Duration::days(rng.gen_range(30..1500));
        let last_active = now - Duration::hours(rng.gen_range(1..24 * 200));
        persons.push(vec![
            V::Id(id),
            V::Id(org),
            V::Text(name.clone()),
            V::Text("client".into()),
            V::Text(email.clone()),
            V::OptText(phone.clone()),
            V::Text(zone.into()),
            V::Tags(tags),
            V::Text(external_id),
            V::Text(search.join(" ").to_lowercase()),
            V::Text(name.to_lowercase()),
            V::Bool(rng.gen_bool(0.6)),
            V::At(last_active),
            V::At(joined),
            V::At(joined),
        ]);
        engagement.push(vec![
            V::Id(id),
            V::Id(org),
            V::Int(joined.timestamp()),
            V::Int(last_active.timestamp()),
            V::Int(rng.gen_range(1..200)),
            V::Text(pick(&mut rng, SEGMENTS).into()),
            V::Int(rng.gen_range(0..100)),
            V::Int(now.timestamp() + 86_400),
        ]);
        let busy = n == 0;
        let mut addresses = vec![("email", email.clone())];
        addresses.extend(phone.map(|p| ("sms", p)));
        if busy {
            addresses.extend([
                ("whatsapp", "+447700900123".to_string()),
                ("slack", "U0BUSYCLIENT".to_string()),
                ("email", "busy.client@work.example.com".to_string()),
            ]);
        }
        for (k, (channel, address)) in addresses.into_iter().enumerate() {
            identities.push(vec![
                V::Id(Uuid::now_v7()),
                V::Id(org),
                V::Id(id),
                V::Text(channel.into()),
                V::Text(address),
                V::Bool(k == 0),
                V::Bool(true),
                V::At(joined),
                V::At(joined),
            ]);
        }
        // Important dates.
        let count = if busy {
            BUSY_DATES.min(dates)
        } else if n > 0 {
            rest_dates / others + usize::from((n - 1) < rest_dates % others)
        } else {
            0
        };
        for k in 0..count {
            let (title, category) = DATE_TITLES[k % DATE_TITLES.len()];
            let recurring = rng.gen_bool(0.85);
            let value = if recurring {
                NaiveDate::from_ymd_opt(rng.gen_range(1950..2025), 1, 1).unwrap_or(today)
                    + Duration::days(rng.gen_range(0..365))
            } else {
                today + Duration::days(rng.gen_range(-400..400))
            };
            let next = if recurring {
                yearly.next_occurrence(value, today)
            } else {
                (value >= today).then_some(value)
            };
            let item_id = Uuid::now_v7();
            items.push(vec![
                V::Id(item_id),
                V::Id(org),
                V::Id(id),
                V::Id(category_ids[category]),
                V::Text(title.into()),
                V::Day(value),
                V::OptText(recurring.then(|| "yearly".to_string())),
                V::OptDay(next),
                V::At(joined),
                V::At(joined),
                V::Text(if recurring {
                    value.format("*-%m-%d").to_string()
                } else {
                    value.format("%Y-%m-%d").to_string()
                }),
            ]);
            if !rng.gen_bool(0.5) {
                continue;
            }
            let status = weighted(
                &mut rng,
                &[
                    ("pending", 80),
                    ("sent", 10),
                    ("failed", 5),
                    ("cancelled", 5),
                ],
            );
            // The occurrence the rule is about: the next one, or (sent, failed) the last.
            let occurrence = match status {
                "sent" | "failed" => next.map(|d| d - Duration::days(365)).or(Some(value)),
                _ => next,
            };
            let due = occurrence.map(|d| nine_am(d - Duration::days(7), tz));
            rules.push(vec![
                V::Id(Uuid::now_v7()),
                V::Id(org),
                V::Id(id),
                V::Id(item_id),
                V::Text("lead_time".into()),
                V::Int(7),
                V::Text("09:00".into()),
                V::Text(pick(&mut rng, &["email", "email", "sms"]).into()),
                V::Text(if k % 3 == 0 { "staff" } else { "client" }.into()),
                V::Text(status.into()),
                V::OptDay(occurrence),
                V::OptAt(due),
                V::OptAt(due.filter(|_| status == "sent")),
                V::OptText((status == "failed").then(|| "the mailbox is full (552)".to_string())),
                V::Int(0),
                V::At(joined),
                V::At(joined),
            ]);
        }
        // Conversations with a few messages.
        let talks = if busy {
            BUSY_CONVERSATIONS
        } else {
            usize::from(n % 4 == 0)
        };
        for k in 0..talks {
            let conv = Uuid::now_v7();
            first_conversation.get_or_insert(conv);
            let started = now - Duration::hours(rng.gen_range(1..24 * 300));
            let mut at = started;
            for m in 0..3 {
                at += Duration::minutes(rng.gen_range(5..600));
                let inbound = m % 2 == 0;
                messages.push(vec![
                    V::Id(Uuid::now_v7()),
                    V::Id(org),
                    V::Id(conv),
                    V::Text(if inbound { "in" } else { "out" }.into()),
                    V::Text(if inbound {
                        name.clone()
                    } else {
                        "Benchmark".into()
                    }),
                    V::OptId((!inbound).then_some(staff_id)),
                    V::Text(format!(
                        "Message {m} about the table for four on Friday ({k})."
                    )),
                    V::At(at),
                ]);
            }
            conversations.push(vec![
                V::Id(conv),
                V::Id(org),
                V::Id(id),
                V::Text("email".into()),
                V::Text(format!("Dinner plans {k}")),
                V::Text("active".into()),
                V::At(at),
                V::At(started),
                V::At(at),
            ]);
        }
        // Projects with tasks.
        if n % 20 == 0 {
            let project = Uuid::now_v7();
            first_project.get_or_insert(project);
            let status = pick(
                &mut rng,
                &["new", "in_progress", "in_progress", "completed"],
            );
            projects.push(vec![
                V::Id(project),
                V::Id(org),
                V::Id(id),
                V::Text(format!("Anniversary weekend for {name}")),
                V::Text(status.into()),
                V::Int(rng.gen_range(1..=5)),
                V::OptDay(Some(today + Duration::days(rng.gen_range(-30..120)))),
                V::OptId(Some(staff_id)),
                V::At(joined),
                V::At(now - Duration::hours(rng.gen_range(1..24 * 60))),
            ]);
            for (k, title) in [
                "Book the hotel",
                "Reserve dinner",
                "Order flowers",
                "Arrange the car",
            ]
            .iter()
            .enumerate()
            {
                tasks.push(vec![
                    V::Id(Uuid::now_v7()),
                    V::Id(org),
                    V::Id(project),
                    V::Text((*title).into()),
                    V::Text(pick(&mut rng, &["todo", "in_progress", "done"]).into()),
                    V::OptDay(Some(today + Duration::days(rng.gen_range(-10..60)))),
                    V::Int(k as i64),
                    V::At(joined),
                    V::At(joined),
                ]);
            }
        }
        ids.push(id);
        // Written in the order the foreign keys need, every so often.
        if n % 1_000 == 999 || n + 1 == clients {
            for t in [
                &mut persons,
                &mut engagement,
                &mut identities,
                &mut items,
                &mut rules,
                &mut conversations,
                &mut messages,
                &mut projects,
                &mut tasks,
            ] {
                t.flush(db).await?;
            }
        }
    }

    // Deliveries over the last year; the busy client has their share first.
    let mut outbox = Table::new(
        "deliveries",
        "id, org_id, person_id, kind, source, channel, address, subject, body, status, \
         suppression_reason, priority, attempts, max_attempts, next_attempt_at, last_error, \
         transport, idempotency_key, sent_at, delivered_at, failed_at, created_at, updated_at",
    );
    for n in 0..deliveries {
        let who = if n < BUSY_DELIVERIES {
            0
        } else {
            rng.gen_range(0..ids.len())
        };
        let engagement = rng.gen_bool(0.3);
        let (kind, source) = if engagement {
            ("engagement", "engagement")
        } else {
            (
                "utility",
                pick(&mut rng, &["reminder", "reminder", "manual", "api"]),
            )
        };
        let status = weighted(&mut rng, DELIVERY_STATUSES);
        let channel = pick(&mut rng, CHANNELS);
        let created = now - Duration::seconds(rng.gen_range(60..365 * 86_400));
        let sent = matches!(status, "sent" | "delivered").then(|| created + Duration::seconds(3));
        outbox.push(vec![
            V::Id(Uuid::now_v7()),
            V::Id(org),
            V::Id(ids[who]),
            V::Text(kind.into()),
            V::Text(source.into()),
            V::Text(channel.into()),
            V::Text(format!("client{who}@example.com")),
            V::OptText((channel == "email").then(|| "A date coming up".to_string())),
            V::Text(format!(
                "Hello — a reminder that something lovely is coming up ({n})."
            )),
            V::Text(status.into()),
            V::OptText((status == "suppressed").then(|| "quiet hours and no consent".to_string())),
            V::Int(if engagement { 10 } else { 0 }),
            V::Int(i64::from(status != "pending")),
            V::Int(5),
            V::OptAt((status == "pending").then_some(now + Duration::hours(1))),
            V::OptText((status == "failed").then(|| "550 mailbox unavailable".to_string())),
            V::OptText(sent.map(|_| channel.to_string())),
            V::Text(format!("bench:{n}")),
            V::OptAt(sent),
            V::OptAt((status == "delivered").then(|| created + Duration::seconds(30))),
            V::OptAt((status == "failed").then(|| created + Duration::seconds(60))),
            V::At(created),
            V::At(created),
        ]);
        if n % 10_000 == 9_999 {
            outbox.flush(db).await?;
        }
    }
    outbox.flush(db).await?;

    // A catalogue.
    let mut vendors = Table::new(
        "vendors",
        "id, org_id, name, kind, location, price_level, rating, tags, search_text, created_at, updated_at",
    );
    for n in 0..1_000 {
        let kind = pick(&mut rng, &["venue", "restaurant", "vendor", "product"]);
        let name = format!("{} {} {n}", pick(&mut rng, LAST), kind);
        let location = pick(
            &mut rng,
            &["London", "Paris", "New York", "Dubai", "Sydney"],
        );
        vendors.push(vec![
            V::Id(Uuid::now_v7()),
            V::Id(org),
            V::Text(name.clone()),
            V::Text(kind.into()),
            V::Text(location.into()),
            V::Int(rng.gen_range(1..=4)),
            V::Int(rng.gen_range(3..=5)),
            V::Tags(vec![pick(&mut rng, TAGS).to_string()]),
            V::Text(format!("{name} {location}").to_lowercase()),
            V::At(now),
            V::At(now),
        ]);
    }
    vendors.flush(db).await?;
    Ok(OrgData {
        busy_client: ids[0],
        project: first_project.unwrap_or_default(),
        conversation: first_conversation.unwrap_or_default(),
    })
}
