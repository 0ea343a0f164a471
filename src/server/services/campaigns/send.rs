//! Sending campaigns, as a phase of the engagement run (after the dormancy policy's own
//! nudges): for each active campaign within its schedule, its audience a thousand at a time;
//! each person's arm (recorded, the holdout's too, so lift can be measured); the same policy
//! decision as every engagement message (consent, caps counted across every campaign and the
//! dormancy nudges, quiet hours) and the campaign's send window on the person's clock; then
//! each text screened by the safety filter (one that fails is recorded as suppressed, with
//! why, and never sent); then the messages, queued in the outbox under one key per campaign,
//! person and round.

use super::{next_page, BATCH};
use crate::domain::campaigns::{Arm, Campaign, CampaignRunCounts};
use crate::domain::delivery::{Delivery, DeliveryKind, DeliverySource, DeliveryStatus};
use crate::domain::engagement::decide::Decision;
use crate::domain::engagement::template::Compiled;
use crate::domain::engagement::RunSummary;
use crate::domain::Timezone;
use crate::server::db::campaigns::{self as repo, Assignment};
use crate::server::db::deliveries;
use crate::server::error::ServiceResult;
use crate::server::services::engagement::{screen, Mentioned, Writer};
use crate::server::AppState;
use chrono::{DateTime, Utc};
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
    for c in repo::active(&state.db, org_id).await? {
        if c.sends_at(now) {
            let counts = send_one(state, &c, now, writer).await?;
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

/// The templates of a campaign's variants, named `{key}.subject` and `{key}.body`.
pub(super) fn compile(c: &Campaign) -> ServiceResult<Compiled<'_>> {
    Ok(Compiled::of(c.settings.variants.iter().flat_map(|v| {
        [
            (format!("{}.subject", v.key), v.subject.as_str()),
            (format!("{}.body", v.key), v.body.as_str()),
        ]
    }))
    .map_err(|e| anyhow::anyhow!("campaign {}'s templates: {e}", c.id))?)
}

async fn send_one(
    state: &AppState,
    c: &Campaign,
    now: DateTime<Utc>,
    writer: &Writer<'_>,
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
        let mut outbox: Vec<Delivery> = Vec::new();
        let mut events: Vec<&'static str> = Vec::new();
        let mut arms: Vec<Assignment> = Vec::new();
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
                Arm::Variant(key) => key.clone(),
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
            let vars = writer.variables(person, rollup, id, now);
            let (subject, body) = compiled
                .render_pair(
                    &format!("{variant}.subject"),
                    &format!("{variant}.body"),
                    &vars,
                )
                .map_err(|e| anyhow::anyhow!("rendering campaign {}: {e}", c.id))?;
            let report = screen(
                state,
                policy,
                person,
                route.channel,
                &subject,
                &body,
                &mut seen,
            )
            .await?;
            let safe = report.passed;
            let held = safe && open > now;
            if !safe {
                *counts.skipped.entry("safety".into()).or_default() += 1;
            } else if held {
                counts.held += 1;
            } else {
                counts.queued += 1;
            }
            let mut metadata = json!({
                "campaign": settings.name,
                "variant": variant,
                "days_inactive": vars.days_inactive,
                "unsubscribe_url": vars.unsubscribe_link,
                "person": crate::server::services::deliveries::person_summary(person),
            });
            if !vars.deep_link.is_empty() {
                metadata["deep_link"] = json!(vars.deep_link);
            }
            if held {
                metadata["held_until"] = json!(open);
            }
            events.push(match (safe, held) {
                (false, _) => "suppressed",
                (true, true) => "held",
                (true, false) => "queued",
            });
            // A text the filter refused is not tried again: the same words would fail again.
            assigned.reached_at = Some(now);
            arms.push(assigned);
            let suppressed = (!safe).then(|| report.failures());
            outbox.push(Delivery {
                id,
                person_id: Some(person.id),
                identity_id: route.identity_id,
                address: route.address,
                subject: Some(subject),
                body,
                metadata,
                max_attempts: writer.max_attempts,
                next_attempt_at: safe.then_some(open),
                status: if safe {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Suppressed
                },
                suppression_reason: suppressed.as_ref().map(|_| "safety".to_string()),
                last_error: suppressed,
                safety_checks: serde_json::to_value(&report).unwrap_or_default(),
                correlation_id: Some(format!("campaign:{}:run:{}", c.id, now_s)),
                campaign_id: Some(c.id),
                variant: Some(variant.clone()),
                template: Some(format!("campaign:{variant}")),
                ..Delivery::queued(
                    c.org_id,
                    DeliveryKind::Engagement,
                    DeliverySource::Campaign,
                    route.channel,
                    // One message per campaign, person and round: a second run (or worker)
                    // cannot queue it again.
                    format!("campaign:{}:{}:{round}", c.id, person.id),
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

/// Counts a person not sent to, keeping their arm (they are asked again next run).
fn skip(counts: &mut CampaignRunCounts, key: &str, arms: &mut Vec<Assignment>, a: Assignment) {
    *counts.skipped.entry(key.to_string()).or_default() += 1;
    arms.push(a);
}
