//! Sending campaigns, as a phase of the engagement run (after the dormancy policy's own
//! nudges): for each active campaign within its schedule, its audience a thousand at a time;
//! each person's arm (recorded, the holdout's too, so lift can be measured); the same policy
//! decision as every engagement message (consent, caps counted across every campaign and the
//! dormancy nudges, quiet hours) and the campaign's send window on the person's clock; then
//! the words: a variant with a prompt is written by the organisation's model (a few messages
//! at a time), and falls back to its template when the model fails, is too slow or writes
//! something the safety filter refuses — recorded on the message with why; each text screened
//! by the safety filter (one that fails is recorded as suppressed, with why, and never sent);
//! then the messages, queued in the outbox under one key per campaign, person and round.

use super::{next_page, BATCH};
use crate::domain::campaigns::{Arm, Campaign, CampaignRunCounts, Variant};
use crate::domain::dates::Channel;
use crate::domain::delivery::{Delivery, DeliveryKind, DeliverySource, DeliveryStatus};
use crate::domain::engagement::decide::Decision;
use crate::domain::engagement::generation::{Authorship, Brief};
use crate::domain::engagement::safety::SafetyReport;
use crate::domain::engagement::template::{max_body, with_unsubscribe, Compiled, Variables};
use crate::domain::engagement::{EngagementPolicy, RunSummary};
use crate::domain::route::Route;
use crate::domain::{Person, Timezone};
use crate::server::db::campaigns::{self as repo, Assignment};
use crate::server::db::deliveries;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::services::engagement::{screen, Author, Mentioned, Writer, AT_ONCE};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde_json::json;
use uuid::Uuid;

/// Sends the organisation's active campaigns (see the module's note), and completes those
/// whose sending is over and whose messages have all settled.
pub(crate) async fn send(
    state: &AppState,
    org_id: Uuid,
    now: DateTime<Utc>,
    writer: &Writer<'_>,
    summary: &mut RunSummary,
) -> ServiceResult<()> {
    let campaigns = repo::active(&state.db, org_id).await?;
    let author = Author::load(state, org_id).await?;
    for c in campaigns {
        if c.sends_at(now) {
            let counts = send_one(state, &c, now, writer, &author).await?;
            repo::mark_run(&state.db, org_id, c.id, now).await?;
            summary.campaigns.insert(c.id.to_string(), counts);
        }
        let mut tx = state.db.begin().await?;
        if repo::complete_if_settled(&mut tx, org_id, c.id, now).await? {
            tracing::info!(campaign = %c.id, "campaign completed");
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The templates of a campaign's variants, named `{key}.subject`, `{key}.body` and (with a
/// prompt) `{key}.prompt`.
pub(super) fn compile(c: &Campaign) -> ServiceResult<Compiled<'_>> {
    Ok(Compiled::of(c.settings.variants.iter().flat_map(|v| {
        [
            Some((format!("{}.subject", v.key), v.subject.as_str())),
            Some((format!("{}.body", v.key), v.body.as_str())),
            v.prompt
                .as_deref()
                .map(|p| (format!("{}.prompt", v.key), p)),
        ]
        .into_iter()
        .flatten()
    }))
    .map_err(|e| anyhow::anyhow!("campaign {}'s templates: {e}", c.id))?)
}

/// A message to write: to whom, on which channel, from which variant, with which values.
pub(super) struct Addressed<'p> {
    pub person: &'p Person,
    pub variant: &'p Variant,
    pub channel: Channel,
    pub vars: Variables,
}

/// A person a run writes to: everything decided but the words.
struct Due<'p> {
    to: Addressed<'p>,
    assigned: Assignment,
    route: Route,
    /// When the message may go: now, or when quiet hours and the send window open.
    open: DateTime<Utc>,
    id: Uuid,
}

/// A message's words and who wrote them.
pub(super) struct Words {
    pub subject: String,
    pub body: String,
    /// `None`: the variant has no prompt, its template wrote it.
    pub authorship: Option<Authorship>,
    pub correlation_id: Option<String>,
    /// The model's text the safety filter refused (the template wrote the message instead).
    pub refused: Option<(String, SafetyReport)>,
}

async fn send_one(
    state: &AppState,
    c: &Campaign,
    now: DateTime<Utc>,
    writer: &Writer<'_>,
    author: &Author,
) -> ServiceResult<CampaignRunCounts> {
    let settings = &c.settings;
    let policy = writer.policy;
    let compiled = compile(c)?;
    let mut counts = CampaignRunCounts {
        name: settings.name.clone(),
        ..Default::default()
    };
    let now_s = now.timestamp();
    let round = settings.round(now);
    let mut seen = Mentioned::default();
    let mut after = Uuid::nil();
    loop {
        let Some((page, data)) = next_page(state, c, policy, now, after).await? else {
            break;
        };
        after = page[page.len() - 1].person_id;
        let ids: Vec<Uuid> = page.iter().map(|r| r.person_id).collect();
        let known = repo::assignments(&state.db, c.org_id, c.id, &ids).await?;
        let mut arms: Vec<Assignment> = Vec::new();
        let mut due: Vec<Due> = Vec::new();
        for rollup in &page {
            let Some(person) = data.people.get(&rollup.person_id) else {
                continue;
            };
            let earlier = known.get(&person.id);
            if !settings.due_again(earlier.and_then(|(_, last)| *last), now) {
                continue;
            }
            let verdict = data.decide(person, settings.channel.channel(), policy, now);
            if verdict.unreachable() && settings.audience.has_usable_channel {
                continue;
            }
            // A person's first arm is theirs for good.
            let arm = match earlier {
                Some((key, _)) => Arm::from_key(key),
                None => c.arm_of(person.id),
            };
            counts.reached += 1;
            let mut assigned = Assignment {
                person_id: person.id,
                arm: arm.key().to_string(),
                reached_at: None,
            };
            let variant = match &arm {
                Arm::Holdout => {
                    counts.holdout += 1;
                    assigned.reached_at = Some(now);
                    arms.push(assigned);
                    continue;
                }
                Arm::Variant(key) => key,
            };
            let Some(variant) = settings.variants.iter().find(|v| &v.key == variant) else {
                continue;
            };
            let (at, route) = match (verdict.decision, verdict.route) {
                (Decision::Skip { reason, .. }, _) => {
                    skip(&mut counts, reason.key(), &mut arms, assigned);
                    continue;
                }
                (Decision::SendNow, Some(route)) => (now, route),
                (Decision::HoldUntil(until), Some(route)) => (until, route),
                (_, None) => continue,
            };
            let tz = Timezone::parse(&person.timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            let Some(open) = settings.next_open(policy, tz, at) else {
                skip(&mut counts, "send_window", &mut arms, assigned);
                continue;
            };
            let id = Uuid::now_v7();
            due.push(Due {
                to: Addressed {
                    person,
                    variant,
                    channel: route.channel,
                    vars: writer.variables(person, rollup, id, now),
                },
                assigned,
                route,
                open,
                id,
            });
        }
        // The model's drafts, a few at a time (a slow model holds up only its own messages).
        // (The futures are made first: a closure inside the stream would not be `Send` here.)
        let asks: Vec<_> = due
            .iter()
            .map(|d| draft(author, &compiled, &d.to))
            .collect();
        let drafts: Vec<Option<Draft>> = stream::iter(asks).buffered(AT_ONCE).collect().await;
        let mut outbox: Vec<Delivery> = Vec::new();
        let mut events: Vec<&'static str> = Vec::new();
        for (d, drafted) in due.into_iter().zip(drafts) {
            let channel = d.route.channel;
            let (words, report) =
                words(state, author, policy, &compiled, &d.to, drafted, &mut seen).await?;
            let safe = report.passed;
            // What the model wrote waits for a person when the organisation says so.
            let awaiting = match author.approval_hours() {
                Some(hours) if safe && words.authorship.as_ref().is_some_and(|a| a.by_model()) => {
                    Some(now + chrono::Duration::hours(i64::from(hours)))
                }
                _ => None,
            };
            let held = safe && d.open > now;
            if !safe {
                *counts.skipped.entry("safety".into()).or_default() += 1;
            } else if awaiting.is_some() {
                counts.awaiting_approval += 1;
            } else if held {
                counts.held += 1;
            } else {
                counts.queued += 1;
            }
            let key = &d.to.variant.key;
            let mut metadata = json!({
                "campaign": settings.name,
                "variant": key,
                "days_inactive": d.to.vars.days_inactive,
                "unsubscribe_url": d.to.vars.unsubscribe_link,
                "person": crate::server::services::deliveries::person_summary(d.to.person),
            });
            if !d.to.vars.deep_link.is_empty() {
                metadata["deep_link"] = json!(d.to.vars.deep_link);
            }
            if held {
                metadata["held_until"] = json!(d.open);
            }
            if let Some(a) = &words.authorship {
                metadata["generation"] = json!(a);
            }
            if let Some((text, report)) = &words.refused {
                metadata["refused_draft"] = json!({ "text": text, "safety_checks": report });
            }
            events.push(match (safe, awaiting.is_some(), held) {
                (false, _, _) => "suppressed",
                (true, true, _) => "awaiting_approval",
                (true, false, true) => "held",
                (true, false, false) => "queued",
            });
            // A text the filter refused is not tried again: the same words would fail again.
            let mut assigned = d.assigned;
            assigned.reached_at = Some(now);
            arms.push(assigned);
            let suppressed = (!safe).then(|| report.failures());
            let (model, prompt_version) = match &words.authorship {
                Some(Authorship::Model {
                    model,
                    prompt_version,
                }) => (Some(model.clone()), Some(prompt_version.to_string())),
                Some(Authorship::Fallback { prompt_version, .. }) => {
                    (None, Some(prompt_version.to_string()))
                }
                None => (None, None),
            };
            outbox.push(Delivery {
                id: d.id,
                person_id: Some(d.to.person.id),
                identity_id: d.route.identity_id,
                address: d.route.address,
                subject: Some(words.subject),
                body: words.body,
                metadata,
                max_attempts: writer.max_attempts,
                next_attempt_at: safe.then_some(d.open),
                status: match (safe, awaiting.is_some()) {
                    (false, _) => DeliveryStatus::Suppressed,
                    (true, true) => DeliveryStatus::AwaitingApproval,
                    (true, false) => DeliveryStatus::Pending,
                },
                approval_expires_at: awaiting,
                suppression_reason: suppressed.as_ref().map(|_| "safety".to_string()),
                last_error: suppressed,
                safety_checks: serde_json::to_value(&report).unwrap_or_default(),
                correlation_id: Some(
                    words
                        .correlation_id
                        .unwrap_or_else(|| format!("campaign:{}:run:{}", c.id, now_s)),
                ),
                campaign_id: Some(c.id),
                variant: Some(key.clone()),
                template: Some(format!("campaign:{key}")),
                prompt_version,
                model,
                ..Delivery::queued(
                    c.org_id,
                    DeliveryKind::Engagement,
                    DeliverySource::Campaign,
                    channel,
                    // One message per campaign, person and round: a second run (or worker)
                    // cannot queue it again.
                    format!("campaign:{}:{}:{round}", c.id, d.to.person.id),
                    now,
                )
            });
        }
        // The messages first: should the arms then fail to be written, the next run finds
        // these people again, and their messages' keys keep them from a second one.
        let written = deliveries::insert_many(&state.db, &outbox, &events).await?;
        if !written.is_empty() {
            state.wake.notify_one();
        }
        repo::save_assignments(&state.db, c.org_id, c.id, &arms, now).await?;
        if (page.len() as i64) < BATCH {
            break;
        }
    }
    Ok(counts)
}

/// What the model made of a prompt: the request's correlation id, and its draft or why there
/// is none.
pub(super) struct Draft {
    /// The request's id (none when no model was asked).
    correlation_id: Option<String>,
    prompt_version: u32,
    answer: Result<(Option<String>, String), String>,
}

/// Asks the model to write `d`'s message, when its variant has a prompt.
pub(super) async fn draft(
    author: &Author,
    compiled: &Compiled<'_>,
    d: &Addressed<'_>,
) -> Option<Draft> {
    d.variant.prompt.as_ref()?;
    let prompt_version = d.variant.prompt_version.unwrap_or(1);
    if author.model().is_none() {
        return Some(Draft {
            correlation_id: None,
            prompt_version,
            answer: Err("no model is set up".into()),
        });
    }
    let correlation_id = Uuid::new_v4().to_string();
    let answer = match compiled.render_text(&format!("{}.prompt", d.variant.key), &d.vars) {
        Err(e) => Err(format!("the prompt could not be filled in: {e}")),
        Ok(prompt) => {
            let brief = Brief {
                prompt: &prompt,
                channel: d.channel.label(),
                max_chars: max_body(d.channel),
                organisation: &d.vars.organisation,
                concierge: &d.vars.concierge,
                preferred_name: &d.vars.preferred_name,
                days_inactive: d.vars.days_inactive,
                service: &d.vars.service,
                deep_link: &d.vars.deep_link,
            };
            author.draft(&brief, &correlation_id).await
        }
    };
    Some(Draft {
        correlation_id: Some(correlation_id),
        prompt_version,
        answer,
    })
}

/// The words of `d`'s message and the safety filter's verdict on them: the model's draft when
/// it wrote one that passes, else the variant's template (the fall-back, recorded with why).
pub(super) async fn words(
    state: &AppState,
    author: &Author,
    policy: &EngagementPolicy,
    compiled: &Compiled<'_>,
    d: &Addressed<'_>,
    drafted: Option<Draft>,
    seen: &mut Mentioned,
) -> ServiceResult<(Words, SafetyReport)> {
    let channel = d.channel;
    let key = &d.variant.key;
    let (subject, body) = compiled
        .render_pair(&format!("{key}.subject"), &format!("{key}.body"), &d.vars)
        .map_err(|e| ServiceError::invalid("variants", e))?;
    let mut refused = None;
    let mut correlation_id = None;
    let mut authorship = None;
    if let Some(drafted) = drafted {
        correlation_id = drafted.correlation_id;
        let model = author.model().map(str::to_string);
        let reason = match drafted.answer {
            Ok((model_subject, model_body)) => {
                let model_subject = model_subject.unwrap_or_else(|| subject.clone());
                let model_body = with_unsubscribe(model_body, &d.vars.unsubscribe_link);
                let report = screen(
                    state,
                    policy,
                    d.person,
                    channel,
                    &model_subject,
                    &model_body,
                    seen,
                )
                .await?;
                if report.passed {
                    let words = Words {
                        subject: model_subject,
                        body: model_body,
                        authorship: Some(Authorship::Model {
                            model: model.unwrap_or_default(),
                            prompt_version: drafted.prompt_version,
                        }),
                        correlation_id,
                        refused: None,
                    };
                    return Ok((words, report));
                }
                let reason = format!(
                    "the model's text failed the safety filter ({})",
                    report.failures()
                );
                refused = Some((model_body, report));
                reason
            }
            Err(reason) => reason,
        };
        authorship = Some(Authorship::Fallback {
            model,
            prompt_version: drafted.prompt_version,
            reason,
        });
    }
    let report = screen(state, policy, d.person, channel, &subject, &body, seen).await?;
    Ok((
        Words {
            subject,
            body,
            authorship,
            correlation_id,
            refused,
        },
        report,
    ))
}

/// Counts a person not sent to, keeping their arm (they are asked again next run).
fn skip(counts: &mut CampaignRunCounts, key: &str, arms: &mut Vec<Assignment>, a: Assignment) {
    *counts.skipped.entry(key.to_string()).or_default() += 1;
    arms.push(a);
}
