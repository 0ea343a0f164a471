//! Engagement: the policy (admins change it), the run (hourly in the worker, on demand from
//! the API and the Engagement page), what the profile says about a person, and the numbers for
//! the charts. The run works on sets: one statement recomputes every segment, candidates come
//! a thousand at a time with everything their decision needs read in a handful of queries,
//! and their messages are written in multi-row statements.

use super::audit;
use crate::domain::dates::Channel;
use crate::domain::delivery::{Delivery, DeliveryKind, DeliverySource, DeliveryStatus};
use crate::domain::engagement::decide::{self, Prior};
use crate::domain::engagement::score::{self, Thresholds};
use crate::domain::engagement::template::{self, Compiled, Variables};
use crate::domain::engagement::{
    Decision, EngagementPolicy, EngagementRun, EngagementStats, NudgeKind, PersonEngagement,
    PolicyInput, RunDecision, RunReport, RunSummary, RunTrigger, Segment,
};
use crate::domain::{Person, Timezone};
use crate::server::auth::Actor;
use crate::server::db::{comms, deliveries, engagement as repo, orgs, persons, staff};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::links::Purpose;
use crate::server::AppState;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use uuid::Uuid;

/// Candidates read and decided at a time.
const BATCH: i64 = 1_000;
/// Decisions a run keeps to show (a dry run answers with these).
pub const KEEP_DECISIONS: usize = 500;

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

fn thresholds(p: &EngagementPolicy) -> Thresholds {
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

/// The scheduled runs: every organisation whose run for the interval containing now has not
/// started yet (several workers: one run per organisation per interval). Returns how many
/// runs this worker did.
pub async fn run_scheduled(state: &AppState, every: std::time::Duration) -> ServiceResult<usize> {
    let now = state.clock.now();
    let secs = every.as_secs().max(1) as i64;
    let slot = format!("{}s:{}", secs, now.timestamp().div_euclid(secs));
    let mut done = 0;
    for org_id in orgs::ids(&state.db).await? {
        match run(state, org_id, RunTrigger::Schedule, Some(&slot), false).await {
            Ok(Some(report)) => {
                done += 1;
                let s = &report.run.summary;
                if s.queued + s.held > 0 {
                    tracing::info!(org = %org_id, queued = s.queued, held = s.held, skipped = s.skipped_total(), "engagement run");
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(org = %org_id, error = %err, "the engagement run failed"),
        }
    }
    Ok(done)
}

/// Everything a batch of candidates' decisions needs, read in a few queries.
struct Batch {
    people: HashMap<Uuid, Person>,
    identities: HashMap<Uuid, Vec<crate::domain::comms::CommIdentity>>,
    priors: HashMap<Uuid, Vec<Prior>>,
}

async fn read_batch(
    state: &AppState,
    org_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ServiceResult<Batch> {
    let raw = read_batch_raw(state, org_id, ids, now).await?;
    let mut priors: HashMap<Uuid, Vec<Prior>> = HashMap::new();
    for (person, status, sent_at, created_at, _) in raw.priors {
        let pending = matches!(status.as_str(), "pending" | "sending");
        priors.entry(person).or_default().push(Prior {
            at: sent_at.unwrap_or(created_at),
            pending,
        });
    }
    Ok(Batch {
        people: raw.people,
        identities: raw.identities,
        priors,
    })
}

/// What a run needs to write a message: the organisation's name and the staff who look after
/// people, the policy's templates, the link signer.
struct Writer<'a> {
    org_name: String,
    staff_names: HashMap<Uuid, String>,
    policy: &'a EngagementPolicy,
    compiled: Compiled<'a>,
    links: crate::server::links::Links,
    base: String,
}

impl Writer<'_> {
    fn variables(
        &self,
        person: &Person,
        c: &repo::Candidate,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Variables {
        let r = &c.rollup;
        let reference = r.last_active_s.unwrap_or(r.joined_s);
        let deep_link = match &self.policy.booking_url {
            Some(_) => {
                let until = now + Duration::hours(self.policy.link_hours as i64);
                format!(
                    "{}/l/{}",
                    self.base,
                    self.links.sign(Purpose::Link, id, Some(until))
                )
            }
            None => String::new(),
        };
        Variables {
            preferred_name: person.display_name().to_string(),
            full_name: person.full_name.clone(),
            days_inactive: score::whole_days(reference, now.timestamp()).max(0),
            service: r
                .last_service
                .clone()
                .unwrap_or_else(|| "your usual".into()),
            booking_interval_days: r.booking_interval_days().unwrap_or(0),
            deep_link,
            unsubscribe_link: format!(
                "{}/u/{}",
                self.base,
                self.links.sign(Purpose::Unsubscribe, id, None)
            ),
            organisation: self.org_name.clone(),
            concierge: person
                .assigned_staff_id
                .and_then(|s| self.staff_names.get(&s).cloned())
                .unwrap_or_else(|| self.org_name.clone()),
        }
    }
}

/// One engagement run for an organisation: recompute segments and churn risk (not in a dry
/// run), then decide about every dormant or due person not yet decided for this stretch of
/// time, queue or hold their nudges, and store the summary. With a `slot`, only the first
/// caller for that organisation and slot runs (`None` for the others).
pub async fn run(
    state: &AppState,
    org_id: Uuid,
    trigger: RunTrigger,
    slot: Option<&str>,
    dry_run: bool,
) -> ServiceResult<Option<RunReport>> {
    let started = state.clock.now();
    let id = Uuid::now_v7();
    if !dry_run && !repo::start_run(&state.db, org_id, id, trigger, slot, started).await? {
        return Ok(None);
    }
    let mut summary = RunSummary::new();
    let mut decisions = Vec::new();
    let result = run_inner(
        state,
        org_id,
        dry_run,
        started,
        &mut summary,
        &mut decisions,
    )
    .await;
    let truncated = decisions.len() > KEEP_DECISIONS;
    decisions.truncate(KEEP_DECISIONS);
    let finished = state.clock.now();
    let error = result.as_ref().err().map(|e| e.to_string());
    if !dry_run {
        repo::finish_run(
            &state.db,
            org_id,
            id,
            &summary,
            &decisions,
            truncated,
            error.as_deref(),
            finished,
        )
        .await?;
    }
    result?;
    Ok(Some(RunReport {
        run: EngagementRun {
            id,
            trigger,
            dry_run,
            started_at: started,
            finished_at: Some(finished),
            summary,
            error,
        },
        decisions,
        truncated,
    }))
}

fn phase(summary: &mut RunSummary, name: &str, since: Instant) {
    summary
        .phases_ms
        .insert(name.to_string(), since.elapsed().as_millis() as u64);
}

async fn run_inner(
    state: &AppState,
    org_id: Uuid,
    dry_run: bool,
    now: DateTime<Utc>,
    summary: &mut RunSummary,
    decisions: &mut Vec<RunDecision>,
) -> ServiceResult<()> {
    let policy = policy_of(state, org_id).await?;
    let t = thresholds(&policy);
    let now_s = now.timestamp();

    let clock = Instant::now();
    if !dry_run {
        repo::recompute(&state.db, org_id, t, now).await?;
    }
    phase(summary, "recompute", clock);

    let clock = Instant::now();
    let segments: Vec<(String, i64)> = if dry_run {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for (_, segment, _, _) in repo::formula_preview(&state.db, org_id, t, now).await? {
            *counts.entry(segment).or_default() += 1;
        }
        counts.into_iter().collect()
    } else {
        repo::segment_counts(&state.db, org_id).await?
    };
    for s in Segment::ALL {
        summary.segments.insert(s.as_str().to_string(), 0);
    }
    for (segment, n) in segments {
        summary.evaluated += n;
        summary.segments.insert(segment, n);
    }
    summary.dormant = summary.segments.get("dormant").copied().unwrap_or(0);
    let due_before = now_s - policy.rebook_grace_days as i64 * score::DAY;
    let policy_s = policy.updated_at.map_or(0, |t| t.timestamp());
    let segments = if dry_run {
        repo::Segments::Computed(t)
    } else {
        repo::Segments::Stored
    };
    let (wanted, due, undecided) =
        repo::wanted_counts(&state.db, org_id, segments, due_before, now_s, policy_s).await?;
    summary.due_to_rebook = due;
    summary.already_decided = wanted - undecided;
    phase(summary, "select", clock);

    let org = orgs::by_id(&state.db, org_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let staff_names = staff::list(&state.db, org_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.display_name))
        .collect();
    let compiled =
        Compiled::new(&policy).map_err(|e| anyhow::anyhow!("the policy's templates: {e}"))?;
    let writer = Writer {
        org_name: org.name.clone(),
        staff_names,
        policy: &policy,
        compiled,
        links: state.links().await?,
        base: public_base(state),
    };

    let mut decide_ms = 0u128;
    let mut queue_ms = 0u128;
    let mut after = Uuid::nil();
    loop {
        let clock = Instant::now();
        let batch = repo::candidates(
            &state.db, org_id, segments, due_before, now_s, policy_s, after, BATCH,
        )
        .await?;
        let Some(last) = batch.last() else { break };
        after = last.rollup.person_id;
        let ids: Vec<Uuid> = batch.iter().map(|c| c.rollup.person_id).collect();
        let data = read_batch(state, org_id, &ids, now).await?;
        let mut outbox: Vec<Delivery> = Vec::new();
        let mut events: Vec<&str> = Vec::new();
        let mut rows: Vec<repo::DecisionRow> = Vec::new();
        let mut pending_words: Vec<RunDecision> = Vec::new();
        for c in &batch {
            let Some(person) = data.people.get(&c.rollup.person_id) else {
                continue;
            };
            let kind = NudgeKind::parse(&c.nudge).unwrap_or(NudgeKind::Dormant);
            let identities = data
                .identities
                .get(&person.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let priors = data
                .priors
                .get(&person.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let verdict = decide::decide(
                DeliveryKind::Engagement,
                person,
                identities,
                policy.channel.channel(),
                &policy,
                priors,
                now,
            );
            summary.candidates += 1;
            let tz = Timezone::parse(&person.timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            let mut line = RunDecision {
                person_id: person.id,
                person_name: person.full_name.clone(),
                nudge: kind,
                outcome: String::new(),
                reason: None,
                words: decide::words(&verdict.decision, &policy, tz),
                channel: verdict
                    .route
                    .as_ref()
                    .map(|r| r.channel.as_str().to_string()),
                subject: None,
                body: None,
                delivery_id: None,
            };
            match (&verdict.decision, verdict.route) {
                (Decision::Skip { reason, recheck_at }, _) => {
                    *summary.skipped.entry(reason.key().to_string()).or_default() += 1;
                    line.outcome = "skipped".into();
                    line.reason = Some(reason.key().into());
                    line.channel = reason.channel().map(|c| c.as_str().to_string());
                    if *reason != decide::SkipReason::EngagementOff {
                        rows.push(repo::DecisionRow {
                            person_id: person.id,
                            nudge: kind.as_str().into(),
                            episode_s: c.episode_s,
                            outcome: "skipped".into(),
                            reason: Some(reason.code()),
                            recheck_s: recheck_at.map(|t| t.timestamp()),
                            delivery_id: None,
                        });
                    }
                    pending_words.push(line);
                }
                (decision, Some(route)) => {
                    let id = Uuid::now_v7();
                    let vars = writer.variables(person, c, id, now);
                    let (subject, body) = match writer.compiled.render(kind, &vars) {
                        Ok(text) => text,
                        Err(e) => {
                            return Err(anyhow::anyhow!("rendering a nudge failed: {e}").into())
                        }
                    };
                    if body.chars().count() > template::max_body(route.channel) {
                        *summary.skipped.entry("too_long".into()).or_default() += 1;
                        line.outcome = "skipped".into();
                        line.reason = Some("too_long".into());
                        line.words = format!(
                            "skipped — the message is longer than {} allows ({} characters)",
                            route.channel.label(),
                            template::max_body(route.channel)
                        );
                        rows.push(repo::DecisionRow {
                            person_id: person.id,
                            nudge: kind.as_str().into(),
                            episode_s: c.episode_s,
                            outcome: "skipped".into(),
                            reason: Some(format!("too_long:{}", route.channel.as_str())),
                            recheck_s: None,
                            delivery_id: None,
                        });
                        pending_words.push(line);
                        continue;
                    }
                    let (due_at, outcome, held) = match decision {
                        Decision::HoldUntil(until) => (*until, "held", Some(*until)),
                        _ => (now, "queued", None),
                    };
                    if held.is_some() {
                        summary.held += 1;
                    } else {
                        summary.queued += 1;
                    }
                    line.outcome = outcome.into();
                    line.delivery_id = Some(id);
                    line.subject = Some(subject.clone());
                    line.body = Some(body.clone());
                    let mut metadata = json!({
                        "nudge": kind.as_str(),
                        "episode_s": c.episode_s,
                        "days_inactive": vars.days_inactive,
                        "service": c.rollup.last_service,
                        "unsubscribe_url": vars.unsubscribe_link,
                        "person": super::deliveries::person_summary(person),
                    });
                    if !vars.deep_link.is_empty() {
                        metadata["deep_link"] = json!(vars.deep_link);
                    }
                    if let Some(until) = held {
                        metadata["held_until"] = json!(until);
                    }
                    outbox.push(Delivery {
                        id,
                        org_id,
                        person_id: Some(person.id),
                        staff_id: None,
                        identity_id: route.identity_id,
                        kind: DeliveryKind::Engagement,
                        source: DeliverySource::Engagement,
                        channel: route.channel,
                        address: route.address,
                        subject: Some(subject),
                        body,
                        metadata,
                        status: DeliveryStatus::Pending,
                        suppression_reason: None,
                        priority: DeliveryKind::Engagement.priority(),
                        attempts: 0,
                        max_attempts: state.config.delivery.max_attempts,
                        next_attempt_at: Some(due_at),
                        lease_owner: None,
                        lease_expires_at: None,
                        last_error: None,
                        transport: None,
                        provider_message_id: None,
                        idempotency_key: format!(
                            "engagement:{}:{}:{}",
                            kind.as_str(),
                            person.id,
                            c.episode_s
                        ),
                        correlation_id: Some(format!("engagement-run:{}", now.timestamp())),
                        reminder_rule_id: None,
                        occurrence: None,
                        conversation_id: None,
                        campaign_id: None,
                        variant: None,
                        template: Some(kind.as_str().into()),
                        prompt_version: None,
                        model: None,
                        safety_checks: json!({}),
                        response: None,
                        response_at: None,
                        sent_at: None,
                        delivered_at: None,
                        failed_at: None,
                        created_at: now,
                        updated_at: now,
                    });
                    events.push(if held.is_some() { "held" } else { "queued" });
                    rows.push(repo::DecisionRow {
                        person_id: person.id,
                        nudge: kind.as_str().into(),
                        episode_s: c.episode_s,
                        outcome: outcome.into(),
                        reason: None,
                        recheck_s: None,
                        delivery_id: Some(id),
                    });
                    pending_words.push(line);
                }
                (_, None) => {}
            }
        }
        decide_ms += clock.elapsed().as_millis();
        let clock = Instant::now();
        if !dry_run {
            let written: std::collections::HashSet<Uuid> =
                deliveries::insert_many(&state.db, &outbox, &events)
                    .await?
                    .into_iter()
                    .collect();
            // A message whose key was already there (another run got to it first) is not
            // this run's: it was decided already.
            for d in outbox.iter().filter(|d| !written.contains(&d.id)) {
                let held = d.metadata.get("held_until").is_some();
                if held {
                    summary.held -= 1;
                } else {
                    summary.queued -= 1;
                }
                summary.candidates -= 1;
                summary.already_decided += 1;
                rows.retain(|r| r.delivery_id != Some(d.id));
                pending_words.retain(|w| w.delivery_id != Some(d.id));
            }
            repo::record_decisions(&state.db, now, &rows).await?;
            if !written.is_empty() {
                state.wake.notify_one();
            }
        }
        queue_ms += clock.elapsed().as_millis();
        for line in pending_words {
            if decisions.len() <= KEEP_DECISIONS {
                decisions.push(line);
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    summary.eligible = summary.queued + summary.held;
    summary.phases_ms.insert("decide".into(), decide_ms as u64);
    summary.phases_ms.insert("queue".into(), queue_ms as u64);
    Ok(())
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

/// Used by `db` tests and the bench: the whole formula preview as the domain computes it.
pub fn domain_score(r: &score::Rollup, p: &EngagementPolicy, now: DateTime<Utc>) -> score::Score {
    score::score(r, thresholds(p), now.timestamp())
}

/// What a queued or held engagement message may do now that it is about to go.
#[derive(Clone, Debug, PartialEq)]
pub enum Recheck {
    Send,
    Hold { until: DateTime<Utc>, words: String },
    Skip { code: String, words: String },
}

/// Asks the policy once more about engagement messages about to be sent (held ones at the end
/// of the quiet hours, queued ones when their turn comes): consent may have been withdrawn, an
/// address opted out, or another message taken the cap since. Messages of one person count in
/// the order they were queued. A few queries for the whole batch.
pub async fn recheck(
    state: &AppState,
    batch: &[Delivery],
) -> ServiceResult<HashMap<Uuid, Recheck>> {
    let now = state.clock.now();
    let mut by_org: HashMap<Uuid, Vec<&Delivery>> = HashMap::new();
    for d in batch.iter().filter(|d| d.kind == DeliveryKind::Engagement) {
        by_org.entry(d.org_id).or_default().push(d);
    }
    let mut out = HashMap::new();
    for (org_id, messages) in by_org {
        let policy = policy_of(state, org_id).await?;
        let mut ids: Vec<Uuid> = messages.iter().filter_map(|d| d.person_id).collect();
        ids.sort();
        ids.dedup();
        let data = read_batch_raw(state, org_id, &ids, now).await?;
        for d in messages {
            // A message to no one in particular (the organisation's own app, say) has no
            // person's consent or caps to keep.
            let Some(person_id) = d.person_id else {
                continue;
            };
            let Some(person) = data.people.get(&person_id) else {
                out.insert(
                    d.id,
                    Recheck::Skip {
                        code: "person_deleted".into(),
                        words: "skipped — the person was deleted".into(),
                    },
                );
                continue;
            };
            let priors: Vec<Prior> = data
                .priors
                .iter()
                .filter(|p| p.0 == person.id && p.4 != d.id)
                .filter_map(|(_, status, sent_at, created_at, id)| {
                    if matches!(status.as_str(), "pending" | "sending") {
                        // Only those queued before this one are ahead of it.
                        ((*created_at, *id) < (d.created_at, d.id)).then_some(Prior {
                            at: *created_at,
                            pending: true,
                        })
                    } else {
                        sent_at.map(|at| Prior { at, pending: false })
                    }
                })
                .collect();
            let identities = data
                .identities
                .get(&person.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let verdict = decide::decide(
                DeliveryKind::Engagement,
                person,
                identities,
                Some(d.channel),
                &policy,
                &priors,
                now,
            );
            let tz = Timezone::parse(&person.timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            out.insert(
                d.id,
                match verdict.decision {
                    Decision::SendNow => Recheck::Send,
                    Decision::HoldUntil(until) => Recheck::Hold {
                        until,
                        words: decide::held_words(until, tz),
                    },
                    Decision::Skip { reason, .. } => Recheck::Skip {
                        code: reason.code(),
                        words: decide::skip_words(reason, &policy),
                    },
                },
            );
        }
    }
    Ok(out)
}

/// The people, identities and raw prior messages of a batch.
struct RawBatch {
    people: HashMap<Uuid, Person>,
    identities: HashMap<Uuid, Vec<crate::domain::comms::CommIdentity>>,
    priors: Vec<deliveries::EngagementPrior>,
}

async fn read_batch_raw(
    state: &AppState,
    org_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ServiceResult<RawBatch> {
    let people = persons::by_ids(&state.db, org_id, ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut identities: HashMap<Uuid, Vec<_>> = HashMap::new();
    for i in comms::identities_of(&state.db, org_id, ids).await? {
        identities.entry(i.person_id).or_default().push(i);
    }
    let priors =
        deliveries::engagement_priors(&state.db, org_id, ids, now - Duration::days(8)).await?;
    Ok(RawBatch {
        people,
        identities,
        priors,
    })
}

/// Where a deep link leads.
#[derive(Clone, Debug, PartialEq)]
pub enum Followed {
    /// To the booking, pre-filled; the click is recorded.
    Redirect(String),
    /// The link worked, but the organisation has no booking address: a thank-you page.
    Thanks { org_name: String },
    /// Too old: a friendly page with a way on (the booking, not pre-filled).
    Expired {
        org_name: String,
        booking_url: Option<String>,
    },
    /// Not a link of ours (tampered, or made up).
    NotFound,
}

/// The booking address with the pre-fill: the service of the last booking and the message the
/// click came from.
fn prefilled(base: &str, service: Option<&str>, delivery_id: Uuid) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                if let Some(s) = service.filter(|s| !s.is_empty()) {
                    q.append_pair("service", s);
                }
                q.append_pair("ref", &delivery_id.to_string());
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// `GET /l/{token}`: records the click on the message and on the person's timeline, and says
/// where to go.
pub async fn follow(state: &AppState, token: &str) -> ServiceResult<Followed> {
    let links = state.links().await?;
    let Some(opened) = links.open(Purpose::Link, token) else {
        return Ok(Followed::NotFound);
    };
    let Some(d) = deliveries::by_signed_id(&state.db, opened.delivery_id).await? else {
        return Ok(Followed::NotFound);
    };
    let org_name = orgs::by_id(&state.db, d.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let policy = policy_of(state, d.org_id).await?;
    let now = state.clock.now();
    if opened.expired(now) {
        return Ok(Followed::Expired {
            org_name,
            booking_url: policy.booking_url,
        });
    }
    deliveries::respond(
        &state.db,
        d.org_id,
        d.id,
        "clicked",
        "the deep link was followed",
        now,
    )
    .await?;
    if let Some(person) = d.person_id {
        repo::answered(&state.db, d.org_id, person).await?;
    }
    let service = d.metadata.get("service").and_then(|s| s.as_str());
    Ok(match policy.booking_url {
        Some(base) => Followed::Redirect(prefilled(&base, service, d.id)),
        None => Followed::Thanks { org_name },
    })
}

/// What the unsubscribe page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribe {
    pub org_name: String,
    /// The address the message went to, partly hidden.
    pub address: Option<String>,
    /// Whether marketing consent is already withdrawn.
    pub done: bool,
}

/// "a••••@example.com", "+44•••••••89".
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}••••@{domain}")
        }
        None => {
            let chars: Vec<char> = address.chars().collect();
            if chars.len() <= 5 {
                "•••".into()
            } else {
                let head: String = chars[..3].iter().collect();
                let tail: String = chars[chars.len() - 2..].iter().collect();
                format!("{head}•••••{tail}")
            }
        }
    }
}

async fn unsubscribe_target(
    state: &AppState,
    token: &str,
) -> ServiceResult<Option<(Delivery, Person, String)>> {
    let links = state.links().await?;
    let Some(opened) = links.open(Purpose::Unsubscribe, token) else {
        return Ok(None);
    };
    let Some(d) = deliveries::by_signed_id(&state.db, opened.delivery_id).await? else {
        return Ok(None);
    };
    let Some(person_id) = d.person_id else {
        return Ok(None);
    };
    let Some(person) = persons::get(&state.db, d.org_id, person_id).await? else {
        return Ok(None);
    };
    let org_name = orgs::by_id(&state.db, d.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Some((d, person, org_name)))
}

/// `GET /u/{token}`: what the confirmation page shows (`None`: not a link of ours).
pub async fn unsubscribe_page(state: &AppState, token: &str) -> ServiceResult<Option<Unsubscribe>> {
    Ok(unsubscribe_target(state, token)
        .await?
        .map(|(d, person, org_name)| Unsubscribe {
            org_name,
            address: d.address.as_deref().map(masked),
            done: !person.marketing_consent,
        }))
}

/// `POST /u/{token}` (RFC 8058 one-click): withdraws marketing consent at once, stamped with
/// the time and source, in the audit log and on the person's timeline. Doing it twice is
/// harmless.
pub async fn unsubscribe(state: &AppState, token: &str) -> ServiceResult<Option<Unsubscribe>> {
    let Some((d, person, org_name)) = unsubscribe_target(state, token).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if person.marketing_consent {
        persons::withdraw_consent(&state.db, d.org_id, person.id, "unsubscribe link", now).await?;
        repo::reconsider(&state.db, d.org_id, person.id).await?;
        let entry = crate::server::db::audit::Entry {
            org_id: d.org_id,
            actor: "person:unsubscribe link",
            action: "withdraw_consent",
            entity: "person",
            entity_id: Some(person.id),
            detail: json!({ "delivery_id": d.id, "channel": d.channel.as_str(), "source": "unsubscribe link" }),
            at: now,
        };
        if let Err(err) = crate::server::db::audit::record(&state.db, entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
    }
    deliveries::respond(
        &state.db,
        d.org_id,
        d.id,
        "unsubscribed",
        "marketing consent withdrawn through the unsubscribe link",
        now,
    )
    .await?;
    Ok(Some(Unsubscribe {
        org_name,
        address: d.address.as_deref().map(masked),
        done: true,
    }))
}
