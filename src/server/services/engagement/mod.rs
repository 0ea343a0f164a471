//! Engagement: the policy (admins change it), the run (hourly in the worker, on demand from
//! the API and the Engagement page), what the profile says about a person, and the numbers for
//! the charts; the run itself, the check before a nudge goes, and the links a client follows
//! live in the modules below.

mod links;
mod recheck;
mod run;
mod safety;
mod writing;

pub(crate) use run::{read_batch, Batch, Writer};
pub(crate) use safety::{screen, Mentioned};
pub(crate) use writing::{Author, AT_ONCE};

pub use links::{follow, unsubscribe, unsubscribe_page, Followed, Unsubscribe};
pub use recheck::{recheck, Recheck};
pub use run::{run, run_scheduled, KEEP_DECISIONS};

use super::audit;
use crate::domain::dates::Channel;
use crate::domain::engagement::decide;
use crate::domain::engagement::score::{self, Thresholds};
use crate::domain::engagement::template;
use crate::domain::engagement::{
    EngagementPolicy, EngagementRun, EngagementStats, NudgeKind, PersonEngagement, PolicyInput,
    RunDecision, RunReport, RunTrigger,
};
use crate::domain::Timezone;
use crate::server::auth::Actor;
use crate::server::db::{engagement as repo, orgs};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The organisation's policy: the one an admin saved, or the defaults.
pub async fn policy_of(state: &AppState, org_id: Uuid) -> ServiceResult<EngagementPolicy> {
    Ok(repo::policy(&state.db, org_id).await?.unwrap_or_default())
}

pub async fn policy(state: &AppState, actor: &Actor) -> ServiceResult<EngagementPolicy> {
    policy_of(state, actor.org_id()).await
}

/// Changes the policy (admins): every field checked, templates too; absent fields are kept.
pub async fn update_policy(
    state: &AppState,
    actor: &Actor,
    input: &PolicyInput,
) -> ServiceResult<EngagementPolicy> {
    actor.require_admin()?;
    let current = policy(state, actor).await?;
    let mut next = current.apply(input)?;
    template::check(&next)?;
    let now = state.clock.now();
    next.updated_at = Some(now);
    repo::save_policy(&state.db, actor.org_id(), &next, now).await?;
    let changed: Vec<&str> = [
        ("enabled", input.enabled.is_some()),
        ("dormant_days", input.dormant_days.is_some()),
        ("churned_days", input.churned_days.is_some()),
        ("rebook_grace_days", input.rebook_grace_days.is_some()),
        ("cap_per_day", input.cap_per_day.is_some()),
        ("cap_per_week", input.cap_per_week.is_some()),
        ("quiet_start", input.quiet_start.is_some()),
        ("quiet_end", input.quiet_end.is_some()),
        ("quiet_action", input.quiet_action.is_some()),
        ("channel", input.channel.is_some()),
        ("booking_url", input.booking_url.is_some()),
        ("conversion_hours", input.conversion_hours.is_some()),
        ("link_hours", input.link_hours.is_some()),
        ("dormant_subject", input.dormant_subject.is_some()),
        ("dormant_body", input.dormant_body.is_some()),
        ("rebook_subject", input.rebook_subject.is_some()),
        ("rebook_body", input.rebook_body.is_some()),
        ("banned_words", input.banned_words.is_some()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| *name)
    .collect();
    audit(
        &state.db,
        actor,
        "configure",
        "engagement_policy",
        None,
        json!({ "fields": changed, "enabled": next.enabled }),
        now,
    )
    .await;
    Ok(next)
}

pub(super) fn thresholds(p: &EngagementPolicy) -> Thresholds {
    Thresholds {
        dormant_days: p.dormant_days as i64,
        churned_days: p.churned_days as i64,
    }
}

/// The base of the links messages carry: `PUBLIC_URL`, or the address the server listens on.
pub fn public_base(state: &AppState) -> String {
    state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.addr))
}

/// Brings every score of the organisation up to date without deciding anything (after an
/// import of history, say; the hourly run does it too).
pub async fn rescore(state: &AppState, org_id: Uuid) -> ServiceResult<u64> {
    let policy = policy_of(state, org_id).await?;
    Ok(repo::recompute(
        &state.db,
        org_id,
        thresholds(&policy),
        state.clock.now(),
        false,
    )
    .await?)
}

/// Runs engagement for the actor's organisation now.
pub async fn run_now(
    state: &AppState,
    actor: &Actor,
    trigger: RunTrigger,
    dry_run: bool,
) -> ServiceResult<RunReport> {
    if !dry_run {
        actor.require_write()?;
    }
    let report = run(state, actor.org_id(), trigger, None, dry_run).await?;
    let Some(report) = report else {
        return Err(anyhow::anyhow!("a run without a slot always starts").into());
    };
    if !dry_run {
        audit(
            &state.db,
            actor,
            "run",
            "engagement_run",
            Some(report.run.id),
            json!({ "queued": report.run.summary.queued, "held": report.run.summary.held }),
            state.clock.now(),
        )
        .await;
    }
    Ok(report)
}

/// The organisation's latest runs.
pub async fn runs(
    state: &AppState,
    actor: &Actor,
    limit: i64,
) -> ServiceResult<Vec<EngagementRun>> {
    Ok(repo::runs(&state.db, actor.org_id(), limit.clamp(1, 100)).await?)
}

/// One run with the decisions it kept.
pub async fn run_detail(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<RunReport> {
    let (run, decisions, truncated) = repo::run(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(RunReport {
        run,
        decisions,
        truncated,
    })
}

/// A person's engagement as the profile shows it, explained.
pub async fn person(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<PersonEngagement> {
    let person = super::persons::get(state, actor, person_id).await?;
    let policy = policy(state, actor).await?;
    let t = thresholds(&policy);
    let now = state.clock.now();
    let rollup = repo::rollup(&state.db, actor.org_id(), person_id)
        .await?
        .unwrap_or_else(|| score::Rollup::new(actor.org_id(), person_id, person.created_at));
    let s = score::score(&rollup, t, now.timestamp());
    let explanation = score::explain(&s, rollup.last_active_s.is_some(), t);
    let due = rollup.due_to_rebook(policy.rebook_grace_days, now.timestamp());
    let tz = Timezone::parse(&person.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC);
    let cadence = rollup.booking_interval_days().map(|days| {
        let next = rollup
            .rebook_due_s
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .map(|t| t.with_timezone(&tz).format("%-d %b %Y").to_string())
            .unwrap_or_default();
        let what = rollup.last_service.as_deref().unwrap_or("a booking");
        format!(
            "books {what} about every {days} day{}; the next was due {next}{}",
            if days == 1 { "" } else { "s" },
            if due { " — due to rebook" } else { "" }
        )
    });
    let last = repo::last_decision(&state.db, actor.org_id(), person_id).await?;
    let (last_decision, last_decided_at) = match last {
        Some((Some(at), nudge, Some(outcome), reason, delivery)) => {
            let when = Utc.timestamp_opt(at, 0).single();
            let nudge = nudge
                .as_deref()
                .and_then(|n| NudgeKind::parse(n).ok())
                .map(|n| n.label())
                .unwrap_or("engagement");
            let words = match outcome.as_str() {
                "skipped" => {
                    let code = reason.unwrap_or_default();
                    format!(
                        "{nudge} nudge {}",
                        crate::domain::delivery::suppression_words(&code, Channel::Email)
                    )
                }
                "held" => format!(
                    "{nudge} nudge held for quiet hours (message {})",
                    delivery.map(|d| d.to_string()).unwrap_or_default()
                ),
                other => format!(
                    "{nudge} nudge {other} (message {})",
                    delivery.map(|d| d.to_string()).unwrap_or_default()
                ),
            };
            (Some(words), when)
        }
        _ => (None, None),
    };
    Ok(PersonEngagement {
        segment: s.segment,
        churn_risk: s.churn_points as f64 / 100.0,
        labels: s.labels,
        explanation,
        due_to_rebook: due,
        cadence,
        last_decision,
        last_decided_at,
    })
}

/// Engagement messages sent, clicked and booked per day over the last `days` days, on the
/// organisation's clock.
pub async fn stats(state: &AppState, actor: &Actor, days: i64) -> ServiceResult<EngagementStats> {
    let days = days.clamp(1, 90);
    let org = orgs::by_id(&state.db, actor.org_id())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let tz = Timezone::parse(&org.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC);
    let now = state.clock.now();
    let offset = {
        use chrono::Offset;
        tz.offset_from_utc_datetime(&now.naive_utc())
            .fix()
            .local_minus_utc()
            / 60
    };
    let today = now.with_timezone(&tz).date_naive();
    let first = today - Duration::days(days - 1);
    let since = crate::domain::timing::local_instant(first, chrono::NaiveTime::MIN, tz);
    let (sent, responses) = repo::daily(&state.db, actor.org_id(), since, offset).await?;
    let mut out = EngagementStats::default();
    let mut by_day: BTreeMap<chrono::NaiveDate, crate::domain::engagement::DayCount> = (0..days)
        .map(|i| {
            let day = first + Duration::days(i);
            (
                day,
                crate::domain::engagement::DayCount {
                    day,
                    ..Default::default()
                },
            )
        })
        .collect();
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    for (day, n) in sent {
        if let Some(entry) = parse(&day).and_then(|d| by_day.get_mut(&d)) {
            entry.sent += n;
        }
        out.sent += n;
    }
    for (day, event, n) in responses {
        let entry = parse(&day).and_then(|d| by_day.get_mut(&d));
        match event.as_str() {
            "clicked" => {
                out.clicked += n;
                if let Some(e) = entry {
                    e.clicked += n;
                }
            }
            "booked" => {
                out.booked += n;
                if let Some(e) = entry {
                    e.booked += n;
                }
            }
            "unsubscribed" => out.unsubscribed += n,
            _ => {}
        }
    }
    out.days = by_day.into_values().collect();
    Ok(out)
}

/// People decided in a run, by outcome ("who was skipped and why").
pub async fn decided(
    state: &AppState,
    actor: &Actor,
    since: DateTime<Utc>,
    outcome: Option<&str>,
    limit: i64,
) -> ServiceResult<Vec<RunDecision>> {
    let policy = policy(state, actor).await?;
    let rows = repo::decided_since(
        &state.db,
        actor.org_id(),
        since,
        outcome,
        limit.clamp(1, 500),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(person_id, name, nudge, outcome, reason, delivery_id)| {
            let words = match (outcome.as_str(), &reason) {
                ("skipped", Some(code)) if code == "quiet_hours" => {
                    decide::skip_words(decide::SkipReason::QuietHours, &policy)
                }
                ("skipped", Some(code)) => {
                    crate::domain::delivery::suppression_words(code, Channel::Email)
                }
                (other, _) => other.to_string(),
            };
            RunDecision {
                person_id,
                person_name: name,
                nudge: NudgeKind::parse(&nudge).unwrap_or(NudgeKind::Dormant),
                outcome,
                reason,
                words,
                channel: None,
                subject: None,
                body: None,
                delivery_id,
            }
        })
        .collect())
}
