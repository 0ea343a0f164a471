//! Campaigns: creating and editing them, and moving them along `draft → active ⇄ paused`
//! (completion is the system's). Admins configure campaigns in the portal; over the API any
//! key that may write does (API keys act for the system integrating with us). Sending them is
//! a phase of the engagement run ([`send`]).

mod send;

pub(crate) use send::send;

use super::engagement::{policy_of, read_batch, Author, Batch, Mentioned, Writer};
use super::{audit, deserialize_input, enum_filter, merge_patch, page_bounds};
use crate::domain::campaigns::stats::{AssignedRow, CampaignStats, MessageRow};
use crate::domain::campaigns::{
    Arm, AudiencePreview, Campaign, CampaignInput, CampaignPreview, CampaignSettings,
    CampaignStatus, VariantPreview,
};
use crate::domain::engagement::decide::{self, Decision};
use crate::domain::engagement::{score, template};
use crate::domain::engagement::{EngagementPolicy, Rollup};
use crate::domain::FieldErrors;
use crate::domain::Timezone;
use crate::server::auth::Actor;
use crate::server::db::{campaigns as repo, engagement as engagement_repo, generation, orgs};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Campaign> {
    repo::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    status: Option<&str>,
    skip: i64,
    limit: i64,
) -> ServiceResult<(Vec<Campaign>, i64)> {
    page_bounds(skip, limit)?;
    let status = enum_filter("status", status, CampaignStatus::parse)?;
    Ok(repo::list(&state.db, actor.org_id(), status, skip, limit).await?)
}

/// Parses a campaign's settings and checks its templates for its channel.
fn parse(input: &CampaignInput) -> ServiceResult<CampaignSettings> {
    let settings = CampaignSettings::parse(input)?;
    let texts = settings.variants.iter().enumerate().flat_map(|(i, v)| {
        [
            (format!("variants[{i}].subject"), false, v.subject.as_str()),
            (format!("variants[{i}].body"), true, v.body.as_str()),
            (
                format!("variants[{i}].prompt"),
                false,
                v.prompt.as_deref().unwrap_or_default(),
            ),
        ]
    });
    template::check_texts(texts, settings.channel)?;
    Ok(settings)
}

/// A new campaign, as a draft.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: &CampaignInput,
) -> ServiceResult<Campaign> {
    actor.require_configure()?;
    let now = state.clock.now();
    let mut c = Campaign {
        id: Uuid::now_v7(),
        org_id: actor.org_id(),
        status: CampaignStatus::Draft,
        settings: parse(input)?,
        created_at: now,
        updated_at: now,
        activated_at: None,
        completed_at: None,
        last_run_at: None,
    };
    let staff = actor.staff_id();
    // The campaign first (its prompts' versions refer to it), then its prompts numbered.
    let mut tx = state.db.begin().await?;
    repo::save(&mut tx, &c, staff, true).await?;
    if c.settings.variants.iter().any(|v| v.prompt.is_some()) {
        generation::version_prompts(&mut tx, &mut c, staff, now).await?;
        repo::save(&mut tx, &c, None, false).await?;
    }
    tx.commit().await?;
    audit(
        &state.db,
        actor,
        "create",
        "campaign",
        Some(c.id),
        json!({
            "name": c.settings.name,
            "variants": c.settings.variants.len(),
            "holdout_percent": c.settings.holdout_percent,
        }),
        now,
    )
    .await;
    Ok(c)
}

/// Changes a campaign: the fields present in `patch` replace its own (a `status` moves it, as
/// [`set_status`] does). Once it has started, its arms (variant keys and weights, holdout)
/// stay as they are; a completed campaign does not change.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    mut patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Campaign> {
    actor.require_configure()?;
    let status = patch
        .remove("status")
        .map(|s| {
            deserialize_input::<String>(s)
                .map_err(|_| ServiceError::invalid("status", "must be a text"))
                .and_then(|s| {
                    CampaignStatus::parse(&s).map_err(|e| ServiceError::invalid("status", e))
                })
        })
        .transpose()?;
    let mut c = get(state, actor, id).await?;
    if !patch.is_empty() {
        if c.status == CampaignStatus::Completed {
            return Err(ServiceError::Conflict {
                field: None,
                message: "a completed campaign cannot be changed".into(),
            });
        }
        let input: CampaignInput = merge_patch(&c.input(), patch, &[])?;
        let settings = parse(&input)?;
        if c.status.has_started() {
            if let Some((field, message)) = settings.changes_arms_of(&c) {
                return Err(ServiceError::Invalid(FieldErrors::single(field, message)));
            }
        }
        c.settings = settings;
        c.updated_at = state.clock.now();
        let mut tx = state.db.begin().await?;
        let at = c.updated_at;
        generation::version_prompts(&mut tx, &mut c, actor.staff_id(), at).await?;
        if !repo::save(&mut tx, &c, None, false).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        audit(
            &state.db,
            actor,
            "update",
            "campaign",
            Some(id),
            json!({ "name": c.settings.name }),
            c.updated_at,
        )
        .await;
    }
    match status {
        Some(to) if to != c.status => set_status(state, actor, id, to).await,
        _ => Ok(c),
    }
}

/// Activates, pauses or resumes a campaign.
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    to: CampaignStatus,
) -> ServiceResult<Campaign> {
    actor.require_configure()?;
    let c = get(state, actor, id).await?;
    if c.status == to {
        return Ok(c);
    }
    if !c.status.staff_may_become(to) {
        let why = if to == CampaignStatus::Completed {
            "a campaign is completed by the system once every message of it was delivered or failed for good; pause it to stop sending".to_string()
        } else {
            format!(
                "a {} campaign cannot become {}",
                c.status.as_str(),
                to.as_str()
            )
        };
        return Err(ServiceError::Conflict {
            field: Some("status".into()),
            message: why,
        });
    }
    let now = state.clock.now();
    if !repo::set_status(&state.db, actor.org_id(), id, c.status, to, now).await? {
        return Err(ServiceError::Conflict {
            field: Some("status".into()),
            message: "the campaign changed meanwhile; look again".into(),
        });
    }
    let action = match to {
        CampaignStatus::Active if c.status == CampaignStatus::Draft => "activate",
        CampaignStatus::Active => "resume",
        _ => "pause",
    };
    audit(
        &state.db,
        actor,
        action,
        "campaign",
        Some(id),
        json!({ "from": c.status.as_str(), "to": to.as_str() }),
        now,
    )
    .await;
    get(state, actor, id).await
}

/// People read and decided at a time.
pub(crate) const BATCH: i64 = 1_000;

/// The next page of the campaign's audience (by id, after `after`), with everything their
/// decisions need read in a few queries; `None` past the last.
pub(super) async fn next_page(
    state: &AppState,
    c: &Campaign,
    policy: &EngagementPolicy,
    now: DateTime<Utc>,
    after: Uuid,
) -> ServiceResult<Option<(Vec<Rollup>, Batch)>> {
    let now_s = now.timestamp();
    let page = repo::audience(
        &state.db,
        &repo::AudiencePage {
            org_id: c.org_id,
            criteria: &c.settings.audience,
            now_s,
            due_before: now_s - policy.rebook_grace_days as i64 * score::DAY,
            after,
            limit: BATCH,
        },
    )
    .await?;
    if page.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Uuid> = page.iter().map(|r| r.person_id).collect();
    let data = read_batch(state, c.org_id, &ids, now).await?;
    Ok(Some((page, data)))
}

/// The campaign's audience as it stands now: everyone who meets its criteria, their arms, and
/// what the organisation's policy would decide about each in a variant's arm (the engagement
/// run's own decision, so the numbers agree with what a run would do).
pub async fn audience(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<AudiencePreview> {
    let c = get(state, actor, id).await?;
    let org_id = actor.org_id();
    let policy = policy_of(state, org_id).await?;
    let now = state.clock.now();
    let mut preview = AudiencePreview::default();
    let settings = &c.settings;
    for v in &settings.variants {
        preview.arms.insert(v.key.clone(), 0);
    }
    preview.arms.insert(Arm::Holdout.key().to_string(), 0);
    let mut after = Uuid::nil();
    loop {
        let Some((page, data)) = next_page(state, &c, &policy, now, after).await? else {
            break;
        };
        after = page[page.len() - 1].person_id;
        for person in page.iter().filter_map(|r| data.people.get(&r.person_id)) {
            let verdict = data.decide(person, settings.channel.channel(), &policy, now);
            if verdict.unreachable() && settings.audience.has_usable_channel {
                preview.without_channel += 1;
                continue;
            }
            preview.size += 1;
            let arm = c.arm_of(person.id);
            *preview.arms.entry(arm.key().to_string()).or_default() += 1;
            if arm == Arm::Holdout {
                continue;
            }
            match verdict.decision {
                Decision::SendNow => preview.would_send += 1,
                Decision::HoldUntil(_) => preview.would_hold += 1,
                Decision::Skip { reason, .. } => {
                    *preview.skipped.entry(reason.key().to_string()).or_default() += 1
                }
            }
        }
        if (page.len() as i64) < BATCH {
            break;
        }
    }
    Ok(preview)
}

/// The campaign's results (see [`CampaignStats`]), days on the organisation's clock.
/// The campaign's results per arm as CSV (text cells defused for spreadsheets); the export
/// is audited.
pub async fn stats_csv(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<String> {
    let csv = stats(state, actor, id).await?.csv();
    audit(
        &state.db,
        actor,
        "export",
        "campaign_results",
        Some(id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(csv)
}

pub async fn stats(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<CampaignStats> {
    let c = get(state, actor, id).await?;
    let org_id = actor.org_id();
    let tz = orgs::by_id(&state.db, org_id)
        .await?
        .and_then(|o| Timezone::parse(&o.timezone).ok())
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC);
    let messages = repo::message_rows(&state.db, org_id, id).await?;
    let mut booked: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for (person, at) in messages.iter().filter_map(|(p, at, _)| p.zip(*at)) {
        let first = booked.entry(person).or_insert(at);
        *first = (*first).min(at);
    }
    let assigned: Vec<AssignedRow> = repo::assigned_rows(&state.db, org_id, id)
        .await?
        .into_iter()
        .map(|(person, mut row)| {
            row.booked_at = booked.get(&person).copied();
            row
        })
        .collect();
    let messages: Vec<MessageRow> = messages.into_iter().map(|(_, _, m)| m).collect();
    Ok(CampaignStats::build(
        &c,
        &assigned,
        &messages,
        tz,
        state.clock.now(),
    ))
}

/// The campaign's variants rendered for one client (links signed as for a real message, for
/// no delivery), the arm they land in and what the policy would do about them now.
pub async fn preview(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    person_id: Uuid,
) -> ServiceResult<CampaignPreview> {
    let c = get(state, actor, id).await?;
    let org_id = actor.org_id();
    let person = super::live_person(state, actor, person_id, "person_id").await?;
    let policy = policy_of(state, org_id).await?;
    let now = state.clock.now();
    let rollup = engagement_repo::rollup(&state.db, org_id, person_id)
        .await?
        .unwrap_or_else(|| Rollup {
            person_id,
            org_id,
            joined_s: person.created_at.timestamp(),
            ..Default::default()
        });
    let data = read_batch(state, org_id, &[person_id], now).await?;
    let verdict = data.decide(&person, c.settings.channel.channel(), &policy, now);
    let tz = Timezone::parse(&person.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC);
    let channel = verdict.route.as_ref().map(|r| r.channel);
    let writer = Writer::new(state, org_id, &policy).await?;
    let vars = writer.variables(&person, &rollup, Uuid::nil(), now);
    let compiled = send::compile(&c)?;
    let channel_or_email = channel.unwrap_or(crate::domain::dates::Channel::Email);
    let max_length = template::max_body(channel_or_email);
    // The same words a run would send: a prompt asks the model (for real), and every text is
    // screened.
    let author = Author::load(state, org_id).await?;
    let mut seen = Mentioned::default();
    let mut variants = Vec::with_capacity(c.settings.variants.len());
    for v in &c.settings.variants {
        let to = send::Addressed {
            person: &person,
            variant: v,
            channel: channel_or_email,
            vars: vars.clone(),
        };
        let drafted = send::draft(&author, &compiled, &to).await;
        let (words, report) =
            send::words(state, &author, &policy, &compiled, &to, drafted, &mut seen).await?;
        variants.push(VariantPreview {
            key: v.key.clone(),
            name: v.name.clone(),
            subject: words.subject,
            length: words.body.chars().count(),
            body: words.body,
            max_length,
            written_by: words.authorship.map(|a| a.describe()),
            safety: Some(report),
        });
    }
    Ok(CampaignPreview {
        person_id,
        person_name: person.full_name.clone(),
        arm: c.arm_of(person_id).key().to_string(),
        decision: decide::words(&verdict.decision, &policy, tz),
        channel: channel.map(|ch| ch.as_str().to_string()),
        variants,
    })
}
