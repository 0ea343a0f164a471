//! People: create, upsert by external id, read, update, soft delete, search and page.

use super::{audit, audit_in};
use crate::domain::engagement::Segment;
use crate::domain::{
    FieldErrors, Person, PersonDraft, PersonInput, PersonPage, PersonType, Timezone,
};
use crate::server::auth::Actor;
use crate::server::db::{self, orgs, persons, Tx};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// What a person's input is read against: the organisation's time zone (for one left blank),
/// its today (a birthday may not be after it) and its country for phone numbers. Read once per request, however many
/// people it carries.
struct Defaults {
    timezone: Timezone,
    today: chrono::NaiveDate,
    /// Where national phone numbers are read.
    region: Option<crate::domain::Region>,
}

async fn defaults(state: &AppState, actor: &Actor) -> ServiceResult<Defaults> {
    let org = orgs::by_id(&state.db, actor.org_id())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let timezone = Timezone::parse(&org.timezone).unwrap_or_else(|_| Timezone::utc());
    let today = crate::domain::timing::local_today(state.clock.now(), timezone.tz());
    Ok(Defaults {
        timezone,
        today,
        region: org.region(),
    })
}

fn external_id_taken(draft: &PersonDraft) -> ServiceError {
    ServiceError::conflict(
        "external_id",
        format!(
            "another person already has external id '{}'",
            draft.external_id.as_deref().unwrap_or_default()
        ),
    )
}

/// The related person must be another live person of the organisation; the assigned staff
/// member an active account of it.
async fn check_links(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    draft: &PersonDraft,
) -> ServiceResult<()> {
    if let Some(related) = draft.related_person_id {
        if Some(related) == id {
            return Err(ServiceError::invalid(
                "related_person_id",
                "a person cannot be related to themself",
            ));
        }
        super::live_person(state, actor, related, "related_person_id").await?;
    }
    if let Some(staff_id) = draft.assigned_staff_id {
        super::active_staff(state, actor, staff_id, "assigned_staff_id").await?;
    }
    Ok(())
}

/// Marketing consent after this change: a new answer is stamped with the time and its source
/// (given, or who made the change); an unchanged or absent one keeps its stamp.
fn consent<'a>(
    current: Option<&'a Person>,
    draft: &'a PersonDraft,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> persons::Consent<'a> {
    let before = current.map(|p| p.marketing_consent).unwrap_or(false);
    let given = draft.marketing_consent.unwrap_or(before);
    let changed = current.is_none() && given || current.is_some() && given != before;
    if changed {
        persons::Consent {
            given,
            at: Some(now),
            source: Some(draft.consent_source.as_deref().unwrap_or(match actor {
                Actor::Staff(_) => "staff",
                Actor::ApiKey { .. } => "api",
            })),
        }
    } else {
        persons::Consent {
            given,
            at: current.and_then(|p| p.consent_at),
            source: current.and_then(|p| p.consent_source.as_deref()),
        }
    }
}

pub async fn create(state: &AppState, actor: &Actor, input: &PersonInput) -> ServiceResult<Person> {
    save(state, actor, None, input).await
}

/// A person's change, checked and ready to write.
struct Change {
    id: Option<Uuid>,
    draft: PersonDraft,
    current: Option<Person>,
}

/// Checks a change to `current` (none: a new person) against the organisation's rules.
async fn check(
    state: &AppState,
    actor: &Actor,
    defaults: &Defaults,
    current: Option<Person>,
    input: &PersonInput,
) -> ServiceResult<Change> {
    let draft = PersonDraft::parse(
        input,
        &defaults.timezone,
        defaults.today,
        defaults.region.as_ref(),
    )?;
    let id = current.as_ref().map(|p| p.id);
    check_links(state, actor, id, &draft).await?;
    Ok(Change { id, draft, current })
}

/// Creates a person (no `id`) or replaces every field of one, with its audit entry, a fresh
/// engagement decision and its reminders moved to a new time zone: all or nothing.
async fn save(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &PersonInput,
) -> ServiceResult<Person> {
    actor.require_write()?;
    let current = match id {
        Some(id) => Some(get(state, actor, id).await?),
        None => None,
    };
    let defaults = defaults(state, actor).await?;
    let change = check(state, actor, &defaults, current, input).await?;
    let mut tx = state.db.begin().await?;
    let person = write(state, actor, &mut tx, &change).await?;
    tx.commit().await?;
    // A new client, or one whose type changed: Home's count is read afresh.
    state.client_counts.forget(actor.org_id());
    Ok(person)
}

/// Writes a checked change as part of the unit of work `tx`.
async fn write(
    state: &AppState,
    actor: &Actor,
    tx: &mut Tx,
    change: &Change,
) -> ServiceResult<Person> {
    let draft = &change.draft;
    let now = state.clock.now();
    let org_id = actor.org_id();
    let consent = consent(change.current.as_ref(), draft, actor, now);
    let (id, written, action) = match change.id {
        None => {
            let id = Uuid::now_v7();
            let inserted = persons::insert(tx, org_id, id, draft, &consent, now).await;
            (id, inserted.map(|()| true), "create")
        }
        Some(id) => (
            id,
            persons::update(tx, org_id, id, draft, &consent, now).await,
            "update",
        ),
    };
    match written {
        Ok(true) => {}
        Ok(false) => return Err(ServiceError::NotFound),
        Err(e) if db::is_unique_violation(&e, "external_id") => {
            return Err(external_id_taken(draft))
        }
        Err(e) => return Err(e.into()),
    }
    let detail = json!({ "full_name": draft.full_name });
    audit_in(&mut *tx, actor, action, "person", Some(id), detail, now).await?;
    // Consent, addresses or time zone may have changed: the next engagement run decides
    // about this person afresh.
    db::engagement::reconsider(&mut *tx, org_id, id).await?;
    let person = persons::get(&mut *tx, org_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if action == "update" {
        // Reminders are due on the person's clock; a new time zone moves them.
        super::dates::reschedule_person(tx, now, org_id, &person).await?;
    }
    Ok(person)
}

/// With an external id, creates the person or updates the one that has it; the flag says
/// whether it was created.
pub async fn upsert(
    state: &AppState,
    actor: &Actor,
    input: &PersonInput,
) -> ServiceResult<(Person, bool)> {
    actor.require_write()?;
    let external_id = input
        .external_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(external_id) = external_id else {
        return Ok((create(state, actor, input).await?, true));
    };
    // Two attempts: a concurrent request may insert the same external id between our read
    // and our write, in which case the second pass finds and updates it.
    for _ in 0..2 {
        match persons::by_external_id(&state.db, actor.org_id(), external_id).await? {
            Some(existing) => return Ok((update(state, actor, existing.id, input).await?, false)),
            None => match create(state, actor, input).await {
                Err(ServiceError::Conflict { field: Some(f), .. }) if f == "external_id" => {
                    continue
                }
                other => return other.map(|p| (p, true)),
            },
        }
    }
    Err(ServiceError::conflict(
        "external_id",
        "the person was changed concurrently; try again",
    ))
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Person> {
    persons::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Replaces every field with `input`.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: &PersonInput,
) -> ServiceResult<Person> {
    save(state, actor, Some(id), input).await
}

/// Applies a partial update: fields present in `patch` replace the stored ones (`null`
/// clears an optional field); absent fields are kept.
pub async fn patch(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Person> {
    actor.require_write()?;
    let current = get(state, actor, id).await?;
    let input: PersonInput =
        super::merge_patch(&current.to_input(), patch, &[("type", "person_type")])?;
    update(state, actor, id, &input).await
}

/// Deletes a person (softly): they leave engagement, and what was still to go to them does
/// not go; all or nothing.
pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    let now = state.clock.now();
    let org_id = actor.org_id();
    let mut tx = state.db.begin().await?;
    if !persons::soft_delete(&mut tx, org_id, id, now).await? {
        return Err(ServiceError::NotFound);
    }
    db::engagement::forget(&mut tx, org_id, id).await?;
    db::deliveries::cancel_for_person(&mut tx, org_id, id, now).await?;
    db::privacy::erase_person(&mut tx, org_id, id, now).await?;
    audit_in(&mut tx, actor, "delete", "person", Some(id), json!({}), now).await?;
    tx.commit().await?;
    state.client_counts.forget(org_id);
    Ok(())
}

/// What the directory is narrowed to, beyond the search words.
#[derive(Clone, Debug, Default)]
pub struct Narrowing {
    pub person_type: Option<PersonType>,
    pub tag: Option<String>,
    pub assigned_staff_id: Option<Uuid>,
    pub segment: Option<Segment>,
}

fn filter(q: Option<&str>, n: Narrowing) -> persons::Filter {
    persons::Filter {
        words: q
            .unwrap_or_default()
            .to_lowercase()
            .split_whitespace()
            .take(8)
            .map(str::to_string)
            .collect(),
        person_type: n.person_type,
        tag: n.tag.filter(|t| !t.trim().is_empty()),
        assigned_staff_id: n.assigned_staff_id,
        segment: n.segment,
        common: false,
    }
}

/// How many people of the organisation are clients (live ones): exact, and at most half a
/// minute old when another process changed them (see `state::CountCache`).
pub async fn client_count(state: &AppState, actor: &Actor) -> ServiceResult<i64> {
    let org = actor.org_id();
    if let Some(n) = state.client_counts.get(org) {
        return Ok(n);
    }
    let narrowing = Narrowing {
        person_type: Some(PersonType::Client),
        ..Default::default()
    };
    let n = persons::count(&state.db, org, &filter(None, narrowing))
        .await?
        .0;
    state.client_counts.put(org, n);
    Ok(n)
}

/// One page for the API: items and the cursor that continues after them.
pub struct CursorPage {
    pub items: Vec<Person>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(p: &Person) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\u{0}{}", p.full_name.to_lowercase(), p.id))
}

fn decode_cursor(cursor: &str) -> Option<(String, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, id) = text.rsplit_once('\u{0}')?;
    Some((name.to_string(), Uuid::parse_str(id).ok()?))
}

pub struct ListQuery<'a> {
    pub q: Option<&'a str>,
    pub person_type: Option<&'a str>,
    pub tag: Option<&'a str>,
    pub assigned_staff_id: Option<Uuid>,
    pub segment: Option<&'a str>,
    pub limit: Option<i64>,
    pub cursor: Option<&'a str>,
    pub skip: Option<i64>,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: ListQuery<'_>,
) -> ServiceResult<CursorPage> {
    let mut errors = FieldErrors::new();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    let person_type = query
        .person_type
        .and_then(|t| errors.check("person_type", PersonType::parse(t)));
    let segment = query
        .segment
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "all")
        .and_then(|s| errors.check("segment", Segment::parse(s)));
    let after = match query.cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let decoded = decode_cursor(c);
            if decoded.is_none() {
                errors.add("cursor", "is not a cursor this API returned");
            }
            decoded
        }
    };
    let skip = query.skip.unwrap_or(0);
    if skip < 0 {
        errors.add("skip", "must not be negative");
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let f = filter(
        query.q,
        Narrowing {
            person_type,
            tag: query.tag.map(str::to_string),
            assigned_staff_id: query.assigned_staff_id,
            segment,
        },
    );
    // One extra row tells whether another page follows.
    let mut items = if skip > 0 && after.is_none() {
        // In the cursor's order (by name), so that skipping and cursors agree.
        persons::page(&state.db, actor.org_id(), &f, skip, limit + 1).await?
    } else {
        persons::list_after(&state.db, actor.org_id(), &f, after, limit + 1).await?
    };
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(CursorPage { items, next_cursor })
}

pub const PER_PAGE: i64 = 25;

/// A numbered page of the client directory (1-based) with the total number of matches.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    q: Option<&str>,
    narrowing: Narrowing,
    page: i64,
) -> ServiceResult<PersonPage> {
    let page = page.max(1);
    let mut f = filter(q, narrowing);
    let offset = (page - 1) * PER_PAGE;
    let (items, total, more_than) = if f.words.is_empty() {
        let (total, more_than) = persons::count(&state.db, actor.org_id(), &f).await?;
        f.common = more_than;
        let items = persons::page(&state.db, actor.org_id(), &f, offset, PER_PAGE).await?;
        (items, total, more_than)
    } else {
        // A search ranks every match, and counts them in the same statement.
        let (items, total) =
            persons::ranked_page(&state.db, actor.org_id(), &f, offset, PER_PAGE).await?;
        let (total, more_than) = match total {
            Some(n) => (n, false),
            None if page == 1 => (0, false),
            // Past the last match: counted on its own.
            None => persons::count(&state.db, actor.org_id(), &f).await?,
        };
        (items, total, more_than)
    };
    let close = match q.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) if items.is_empty() && page == 1 => close_matches(state, actor, q).await?,
        _ => Vec::new(),
    };
    Ok(PersonPage {
        items,
        total,
        more_than,
        page,
        per_page: PER_PAGE,
        close,
    })
}

/// Up to ten people whose names are close to `q`, closest first.
async fn close_matches(state: &AppState, actor: &Actor, q: &str) -> ServiceResult<Vec<Person>> {
    let mut found: Vec<(f64, Person)> = persons::similar(&state.db, actor.org_id(), q, 50)
        .await?
        .into_iter()
        .map(|p| (crate::domain::person::name_similarity(q, &p.full_name), p))
        .filter(|(score, _)| *score >= 0.3)
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(found.into_iter().take(10).map(|(_, p)| p).collect())
}

/// The directory as CSV (cells defused for spreadsheets); the export is audited.
pub async fn export_csv(state: &AppState, actor: &Actor) -> ServiceResult<String> {
    let people = all(state, actor).await?;
    audit(
        &state.db,
        actor,
        "export",
        "clients",
        None,
        json!({ "rows": people.len() }),
        state.clock.now(),
    )
    .await;
    Ok(crate::domain::csv_io::export_clients(&people))
}

pub async fn all(state: &AppState, actor: &Actor) -> ServiceResult<Vec<Person>> {
    let f = filter(None, Narrowing::default());
    let mut out: Vec<Person> = Vec::new();
    loop {
        let after = out.last().map(|p| (p.full_name.to_lowercase(), p.id));
        let page = persons::list_after(&state.db, actor.org_id(), &f, after, 1000).await?;
        let done = page.len() < 1000;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Imports rows of a CSV file: each row is created, or (with an external id that exists)
/// updated. Every row answers on its own; one bad row does not stop the others. The rows are
/// one unit of work: when the database fails half-way, none of them is written, and sending
/// the chunk again is safe.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    rows: &[crate::domain::csv_io::ImportRow],
) -> ServiceResult<Vec<crate::domain::csv_io::ImportOutcome>> {
    actor.require_write()?;
    let mut out = Vec::with_capacity(rows.len());
    let defaults = defaults(state, actor).await?;
    let mut tx = state.db.begin().await?;
    for row in rows {
        let name = row.input.full_name.clone().unwrap_or_default();
        let result = if row.problems.is_empty() {
            // A refused row leaves no trace, and on PostgreSQL does not spoil the others.
            tx.begin_part().await?;
            let written = import_row(state, actor, &defaults, &mut tx, &row.input).await;
            match written {
                Ok(_) => tx.keep_part().await?,
                Err(_) => tx.undo_part().await?,
            }
            written
        } else {
            Err(ServiceError::Invalid(row.problems.clone()))
        };
        let (person_id, created, error) = match result {
            Ok((p, created)) => (Some(p.id), created, None),
            Err(ServiceError::Invalid(errors)) => (None, false, Some(errors.to_string())),
            Err(ServiceError::Conflict { message, .. }) => (None, false, Some(message)),
            Err(other) => return Err(other),
        };
        out.push(crate::domain::csv_io::ImportOutcome {
            line: row.line,
            name,
            person_id,
            created,
            error,
        });
    }
    tx.commit().await?;
    state.client_counts.forget(actor.org_id());
    Ok(out)
}

/// One row of an import, in its unit of work: the person with its external id (read in the
/// unit of work, so that a later row of the same file finds one an earlier row created) is
/// updated, or a new one created. Whether it was created.
async fn import_row(
    state: &AppState,
    actor: &Actor,
    defaults: &Defaults,
    tx: &mut Tx,
    input: &PersonInput,
) -> ServiceResult<(Person, bool)> {
    let current = match input
        .external_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(external_id) => persons::by_external_id(&mut *tx, actor.org_id(), external_id).await?,
        None => None,
    };
    let created = current.is_none();
    let change = check(state, actor, defaults, current, input).await?;
    Ok((write(state, actor, tx, &change).await?, created))
}
