//! The client directory and client records.

// A server function takes one argument per form field, so a whole-record form has many.
#![allow(clippy::too_many_arguments)]

use super::FormOutcome;
use crate::domain::{Person, PersonPage};
use leptos::prelude::*;

#[server(prefix = "/srv", endpoint = "clients/list_clients")]
pub async fn list_clients(
    #[server(default)] q: String,
    #[server(default)] tag: String,
    #[server(default)] staff: String,
    #[server(default)] segment: String,
    #[server(default)] page: i64,
) -> Result<PersonPage, ServerFnError> {
    use crate::server::services::persons::Narrowing;
    let (state, actor) = super::ssr::actor()?;
    let q = Some(q.as_str()).filter(|q| !q.trim().is_empty());
    let segment = match segment.trim() {
        "" | "all" => None,
        s => Some(crate::domain::engagement::Segment::parse(s).map_err(|m| {
            super::ssr::fail(crate::server::error::ServiceError::invalid("segment", m))
        })?),
    };
    let narrowing = Narrowing {
        tag: Some(tag),
        assigned_staff_id: super::ssr::optional_id(&staff)?,
        segment,
        ..Default::default()
    };
    crate::server::services::persons::page(&state, &actor, q, narrowing, page)
        .await
        .map_err(super::ssr::fail)
}

/// How many clients the organisation has.
#[server(prefix = "/srv", endpoint = "clients/client_count")]
pub async fn client_count() -> Result<i64, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::persons::client_count(&state, &actor)
        .await
        .map_err(super::ssr::fail)
}

#[server(prefix = "/srv", endpoint = "clients/get_client")]
pub async fn get_client(id: String) -> Result<Person, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let id = super::ssr::parse_id(&id)?;
    crate::server::services::persons::get(&state, &actor, id)
        .await
        .map_err(super::ssr::fail)
}

/// Creates a client (no `id`) or replaces one's fields. Tags come comma-separated.
#[server(prefix = "/srv", endpoint = "clients/save_client")]
pub async fn save_client(
    #[server(default)] id: Option<String>,
    #[server(default)] full_name: String,
    #[server(default)] preferred_name: String,
    #[server(default)] person_type: String,
    #[server(default)] email: String,
    #[server(default)] phone: String,
    #[server(default)] timezone: String,
    #[server(default)] birthday: String,
    #[server(default)] tags: String,
    #[server(default)] external_id: String,
    #[server(default)] notes: String,
    #[server(default)] locale: String,
    #[server(default)] assigned_staff_id: String,
    #[server(default)] marketing_consent: Option<String>,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::{person::split_tags, PersonInput};
    use crate::server::services::persons;

    let (state, actor) = super::ssr::actor()?;
    let id = super::ssr::optional_id(id.as_deref().unwrap_or_default())?;
    // Fields the form does not show (the related person, say) keep their values.
    let base = match id {
        Some(id) => persons::get(&state, &actor, id)
            .await
            .map_err(super::ssr::fail)?
            .to_input(),
        None => PersonInput::default(),
    };
    let input = PersonInput {
        full_name: Some(full_name),
        preferred_name: Some(preferred_name),
        person_type: Some(person_type),
        email: Some(email),
        phone: Some(phone),
        timezone: Some(timezone),
        birthday: Some(birthday),
        tags: Some(split_tags(&tags)),
        external_id: Some(external_id),
        notes: Some(notes),
        locale: Some(locale),
        assigned_staff_id: Some(assigned_staff_id),
        marketing_consent: Some(marketing_consent.is_some()),
        consent_source: Some("portal".into()),
        ..base
    };
    let result = match id {
        None => persons::create(&state, &actor, &input).await,
        Some(id) => persons::update(&state, &actor, id, &input).await,
    };
    let outcome = super::ssr::form_result(result.map(|p| p.id.to_string()))?;
    if let FormOutcome::Saved(id) = &outcome {
        leptos_axum::redirect(&format!("/clients/{id}"));
    }
    Ok(outcome)
}

#[server(prefix = "/srv", endpoint = "clients/delete_client")]
pub async fn delete_client(id: String) -> Result<(), ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let id = super::ssr::parse_id(&id)?;
    crate::server::services::persons::delete(&state, &actor, id)
        .await
        .map_err(super::ssr::fail)?;
    leptos_axum::redirect("/clients");
    Ok(())
}

/// What a client's profile page shows besides their details and dates.
#[server(prefix = "/srv", endpoint = "clients/client_workspace")]
pub async fn client_workspace(
    id: String,
) -> Result<crate::domain::profile::Workspace, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dashboard::workspace(&state, &actor, super::ssr::parse_id(&id)?)
        .await
        .map_err(super::ssr::fail)
}

/// A client's unified timeline, newest first.
#[server(prefix = "/srv", endpoint = "clients/client_timeline")]
pub async fn client_timeline(
    id: String,
) -> Result<Vec<crate::domain::profile::TimelineEntry>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dashboard::timeline(&state, &actor, super::ssr::parse_id(&id)?, 50)
        .await
        .map_err(super::ssr::fail)
}

/// What the import's preview shows: each row checked against the rules, nothing saved.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportPreview {
    pub rows: Vec<crate::domain::csv_io::ImportRow>,
    /// For each row (same order), what is wrong with it, if anything.
    pub errors: Vec<Option<String>>,
}

/// Reads a CSV file and checks every row without saving anything.
#[server(prefix = "/srv", endpoint = "clients/preview_import")]
pub async fn preview_import(csv: String) -> Result<ImportPreview, ServerFnError> {
    use crate::domain::csv_io::parse_clients;
    use crate::domain::{PersonDraft, Timezone};
    let (state, actor) = super::ssr::actor()?;
    let rows = parse_clients(&csv)
        .map_err(|m| super::ssr::fail(crate::server::error::ServiceError::invalid("csv", m)))?;
    // Checked as the import will save them: the organisation's zone and its today.
    let org = crate::server::services::settings::organisation(&state, &actor)
        .await
        .map_err(super::ssr::fail)?;
    let zone = Timezone::parse(&org.timezone).unwrap_or_else(|_| Timezone::utc());
    let today = crate::domain::timing::local_today(state.clock.now(), zone.tz());
    let errors = rows
        .iter()
        .map(|r| {
            let mut problems = r.problems.clone();
            if let Err(e) = PersonDraft::parse(&r.input, &zone, today, org.region().as_ref()) {
                problems.0.extend(e.0);
            }
            (!problems.is_empty()).then(|| problems.to_string())
        })
        .collect();
    Ok(ImportPreview { rows, errors })
}

/// Imports up to 200 rows (JSON), answering for each; the page sends a file in such chunks
/// and shows its progress.
#[server(prefix = "/srv", endpoint = "clients/import_rows")]
pub async fn import_rows(
    rows_json: String,
) -> Result<Vec<crate::domain::csv_io::ImportOutcome>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let rows: Vec<crate::domain::csv_io::ImportRow> = serde_json::from_str(&rows_json)
        .map_err(|e| ServerFnError::new(format!("the rows cannot be read: {e}")))?;
    if rows.len() > 200 {
        return Err(ServerFnError::new("send at most 200 rows at a time"));
    }
    crate::server::services::persons::import(&state, &actor, &rows)
        .await
        .map_err(super::ssr::fail)
}
