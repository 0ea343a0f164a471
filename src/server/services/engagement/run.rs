//! One engagement run for an organisation, and the scheduled runs: recompute every segment in
//! one statement, then decide about the dormant and due a thousand at a time — each batch read
//! in a few queries and written in multi-row statements.

use super::{policy_of, public_base, thresholds};
use crate::domain::delivery::{Delivery, DeliveryKind, DeliverySource, DeliveryStatus};
use crate::domain::engagement::decide::{self, Prior};
use crate::domain::engagement::score;
use crate::domain::engagement::template::{self, Compiled, Variables};
use crate::domain::engagement::{
    Decision, EngagementPolicy, EngagementRun, NudgeKind, RunDecision, RunReport, RunSummary,
    RunTrigger, Segment,
};
use crate::domain::{Person, Timezone};
use crate::server::db::{comms, deliveries, engagement as repo, orgs, persons, staff};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::links::Purpose;
use crate::server::AppState;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use uuid::Uuid;

/// Candidates read and decided at a time.
const BATCH: i64 = 1_000;
/// After a run has queued this many messages (a first run, or one after a large import), the
/// outbox's statistics are refreshed once, so the caps' per-person reads keep their index.
const BULK_WRITE: i64 = 10_000;
/// Decisions a run keeps to show (a dry run answers with these).
pub const KEEP_DECISIONS: usize = 500;

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
pub(crate) struct Batch {
    pub people: HashMap<Uuid, Person>,
    pub identities: HashMap<Uuid, Vec<crate::domain::comms::CommIdentity>>,
    pub priors: HashMap<Uuid, Vec<Prior>>,
}

impl Batch {
    /// The policy's decision about an engagement message to `person` (one of the batch's) on
    /// `channel` (`None`: their preferred address) at `now`, with what the batch read of
    /// their addresses and earlier messages.
    pub fn decide(
        &self,
        person: &Person,
        channel: Option<crate::domain::dates::Channel>,
        policy: &EngagementPolicy,
        now: DateTime<Utc>,
    ) -> decide::Verdict {
        decide::decide(
            DeliveryKind::Engagement,
            person,
            self.identities
                .get(&person.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            channel,
            policy,
            self.priors
                .get(&person.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            now,
        )
    }
}

pub(crate) async fn read_batch(
    state: &AppState,
    org_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ServiceResult<Batch> {
    let raw = read_batch_raw(state, org_id, ids, now).await?;
    let mut priors: HashMap<Uuid, Vec<Prior>> = HashMap::new();
    for (person, status, sent_at, created_at, _) in raw.priors {
        let pending = DeliveryStatus::is_queued_str(&status);
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

/// The people, identities and raw prior messages of a batch.
pub(super) struct RawBatch {
    pub people: HashMap<Uuid, Person>,
    pub identities: HashMap<Uuid, Vec<crate::domain::comms::CommIdentity>>,
    pub priors: Vec<deliveries::EngagementPrior>,
}

pub(super) async fn read_batch_raw(
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

/// What a run needs to write a message: the organisation's name and the staff who look after
/// people, the policy's templates, the link signer.
pub(crate) struct Writer<'a> {
    pub max_attempts: i32,
    org_name: String,
    staff_names: HashMap<Uuid, String>,
    pub policy: &'a EngagementPolicy,
    compiled: Compiled<'a>,
    links: crate::server::links::Links,
    base: String,
}

/// What a batch decided: the messages to write with their first events, the decisions to
/// record on the people, and the lines a run reports.
#[derive(Default)]
struct Decided {
    outbox: Vec<Delivery>,
    events: Vec<&'static str>,
    rows: Vec<repo::DecisionRow>,
    lines: Vec<RunDecision>,
}

/// Writes a batch's messages and decisions. A message whose key was already there (another run
/// got to it first) is not this run's: it counts as decided earlier.
async fn write(
    state: &AppState,
    now: DateTime<Utc>,
    out: &mut Decided,
    summary: &mut RunSummary,
) -> ServiceResult<()> {
    let written: HashSet<Uuid> = deliveries::insert_many(&state.db, &out.outbox, &out.events)
        .await?
        .into_iter()
        .collect();
    let lost: HashSet<Uuid> = out
        .outbox
        .iter()
        .filter(|d| !written.contains(&d.id))
        .map(|d| d.id)
        .collect();
    for d in out.outbox.iter().filter(|d| lost.contains(&d.id)) {
        if d.metadata.get("held_until").is_some() {
            summary.held -= 1;
        } else {
            summary.queued -= 1;
        }
        summary.candidates -= 1;
        summary.already_decided += 1;
    }
    if !lost.is_empty() {
        out.rows
            .retain(|r| r.delivery_id.is_none_or(|id| !lost.contains(&id)));
        out.lines
            .retain(|l| l.delivery_id.is_none_or(|id| !lost.contains(&id)));
    }
    repo::record_decisions(&state.db, now, &out.rows).await?;
    if !written.is_empty() {
        state.wake.notify_one();
    }
    Ok(())
}

impl<'a> Writer<'a> {
    /// A writer for the organisation's messages under `policy`.
    pub async fn new(
        state: &AppState,
        org_id: Uuid,
        policy: &'a EngagementPolicy,
    ) -> ServiceResult<Self> {
        let org = orgs::by_id(&state.db, org_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let staff_names = staff::list(&state.db, org_id)
            .await?
            .into_iter()
            .map(|s| (s.id, s.display_name))
            .collect();
        let compiled =
            Compiled::new(policy).map_err(|e| anyhow::anyhow!("the policy's templates: {e}"))?;
        Ok(Writer {
            max_attempts: state.config.delivery.max_attempts,
            org_name: org.name,
            staff_names,
            policy,
            compiled,
            links: state.links().await?,
            base: public_base(state),
        })
    }

    /// Decides about one candidate, and adds the message (if any), the decision and the
    /// report line to `out`.
    fn decide(
        &self,
        c: &repo::Candidate,
        person: &Person,
        data: &Batch,
        now: DateTime<Utc>,
        summary: &mut RunSummary,
        out: &mut Decided,
    ) -> ServiceResult<()> {
        let policy = self.policy;
        let kind = NudgeKind::parse(&c.nudge).unwrap_or(NudgeKind::Dormant);
        let verdict = data.decide(person, policy.channel.channel(), policy, now);
        summary.candidates += 1;
        let tz = Timezone::parse(&person.timezone)
            .map(|t| t.tz())
            .unwrap_or(chrono_tz::UTC);
        let mut line = RunDecision {
            person_id: person.id,
            person_name: person.full_name.clone(),
            nudge: kind,
            outcome: "skipped".into(),
            reason: None,
            words: decide::words(&verdict.decision, policy, tz),
            channel: None,
            subject: None,
            body: None,
            delivery_id: None,
        };
        let mut row = repo::DecisionRow {
            person_id: person.id,
            nudge: kind.as_str().into(),
            episode_s: c.episode_s,
            outcome: "skipped".into(),
            reason: None,
            recheck_s: None,
            delivery_id: None,
        };
        let route = match (&verdict.decision, verdict.route) {
            (Decision::Skip { reason, recheck_at }, _) => {
                *summary.skipped.entry(reason.key().to_string()).or_default() += 1;
                line.reason = Some(reason.key().into());
                line.channel = reason.channel().map(|c| c.as_str().to_string());
                out.lines.push(line);
                // Engagement switched off decides nothing: switched on, everyone is asked.
                if *reason != decide::SkipReason::EngagementOff {
                    row.reason = Some(reason.code());
                    row.recheck_s = recheck_at.map(|t| t.timestamp());
                    out.rows.push(row);
                }
                return Ok(());
            }
            (_, Some(route)) => route,
            (_, None) => return Ok(()),
        };
        line.channel = Some(route.channel.as_str().to_string());
        let id = Uuid::now_v7();
        let vars = self.variables(person, &c.rollup, id, now);
        let (subject, body) = self
            .compiled
            .render(kind, &vars)
            .map_err(|e| anyhow::anyhow!("rendering a nudge failed: {e}"))?;
        let most = template::max_body(route.channel);
        if body.chars().count() > most {
            *summary.skipped.entry("too_long".into()).or_default() += 1;
            line.reason = Some("too_long".into());
            line.words = format!(
                "skipped — the message is longer than {} allows ({most} characters)",
                route.channel.label()
            );
            row.reason = Some("too_long".into());
            out.lines.push(line);
            out.rows.push(row);
            return Ok(());
        }
        let held = match verdict.decision {
            Decision::HoldUntil(until) => Some(until),
            _ => None,
        };
        let outcome = if held.is_some() { "held" } else { "queued" };
        if held.is_some() {
            summary.held += 1;
        } else {
            summary.queued += 1;
        }
        let mut metadata = json!({
            "nudge": kind.as_str(),
            "episode_s": c.episode_s,
            "days_inactive": vars.days_inactive,
            "service": c.rollup.last_service,
            "unsubscribe_url": vars.unsubscribe_link,
            "person": crate::server::services::deliveries::person_summary(person),
        });
        if !vars.deep_link.is_empty() {
            metadata["deep_link"] = json!(vars.deep_link);
        }
        if let Some(until) = held {
            metadata["held_until"] = json!(until);
        }
        line.outcome = outcome.into();
        line.delivery_id = Some(id);
        line.subject = Some(subject.clone());
        line.body = Some(body.clone());
        row.outcome = outcome.into();
        row.delivery_id = Some(id);
        out.lines.push(line);
        out.rows.push(row);
        out.events.push(outcome);
        out.outbox.push(Delivery {
            id,
            person_id: Some(person.id),
            identity_id: route.identity_id,
            address: route.address,
            subject: Some(subject),
            body,
            metadata,
            max_attempts: self.max_attempts,
            next_attempt_at: Some(held.unwrap_or(now)),
            correlation_id: Some(format!("engagement-run:{}", now.timestamp())),
            template: Some(kind.as_str().into()),
            ..Delivery::queued(
                person.org_id,
                DeliveryKind::Engagement,
                DeliverySource::Engagement,
                route.channel,
                // One nudge per person, reason and stretch of time: a second run (or a second
                // worker) cannot queue it again.
                format!("engagement:{}:{}:{}", kind.as_str(), person.id, c.episode_s),
                now,
            )
        });
        Ok(())
    }

    /// The values a message to `person` (whose roll-up is `r`) is written with: its deep link
    /// and unsubscribe link are signed for the delivery `id`.
    pub fn variables(
        &self,
        person: &Person,
        r: &score::Rollup,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Variables {
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
    let report = RunReport {
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
    };
    if !dry_run {
        repo::finish_run(&state.db, org_id, &report).await?;
    }
    result?;
    Ok(Some(report))
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
    // A changed policy moves everyone's segment and decision: score and look at them all once.
    let last = repo::last_run_started(&state.db, org_id, now).await?;
    let all = policy
        .updated_at
        .is_some_and(|changed| last.is_none_or(|l| changed >= l));
    if !dry_run {
        repo::recompute(&state.db, org_id, t, now, all).await?;
    }
    phase(summary, "recompute", clock);

    let clock = Instant::now();
    let segments = if dry_run {
        repo::Segments::Computed(t)
    } else {
        repo::Segments::Stored
    };
    for s in Segment::ALL {
        summary.segments.insert(s.as_str().to_string(), 0);
    }
    for (segment, n) in repo::segment_counts(&state.db, org_id, segments, now).await? {
        summary.evaluated += n;
        summary.segments.insert(segment, n);
    }
    summary.dormant = summary.segments.get("dormant").copied().unwrap_or(0);
    let due_before = now_s - policy.rebook_grace_days as i64 * score::DAY;
    let policy_s = policy.updated_at.map_or(0, |t| t.timestamp());
    let looks = repo::Looks {
        org_id,
        due_before,
        now: now_s,
        policy_s,
        dormant_s: policy.dormant_days as i64 * score::DAY,
        grace_s: policy.rebook_grace_days as i64 * score::DAY,
    };
    if dry_run {
        let (wanted, due, undecided) =
            repo::wanted_counts(&state.db, org_id, segments, due_before, now_s, policy_s).await?;
        summary.due_to_rebook = due;
        summary.already_decided = wanted - undecided;
    } else {
        if all {
            repo::look_at_everyone(&state.db, org_id).await?;
        }
        repo::settle(&state.db, &looks, None).await?;
        let (due, due_and_dormant, undecided) =
            repo::due_counts(&state.db, org_id, due_before, now_s).await?;
        summary.due_to_rebook = due;
        summary.already_decided = summary.dormant + due - due_and_dormant - undecided;
        if !policy.enabled {
            // Switched off, nobody is decided about (switched on, everyone waiting will be).
            summary.candidates = undecided;
            summary.skipped.insert("engagement_off".into(), undecided);
            phase(summary, "select", clock);
            return Ok(());
        }
    }
    phase(summary, "select", clock);

    let writer = Writer::new(state, org_id, &policy).await?;

    let mut decide_ms = 0u128;
    let mut queue_ms = 0u128;
    let mut after = Uuid::nil();
    let mut look: Option<repo::LookKey> = None;
    let mut analyzed = false;
    loop {
        let clock = Instant::now();
        // A dry run reads everyone dormant or due in id order; a real one walks through those
        // due a look, settling each batch as it goes.
        let batch = if dry_run {
            repo::candidates(
                &state.db, org_id, segments, due_before, now_s, policy_s, after, BATCH,
            )
            .await?
        } else {
            let found =
                repo::due_candidates(&state.db, org_id, due_before, now_s, policy_s, look, BATCH)
                    .await?;
            look = found.last().map(|(c, at)| (*at, c.rollup.person_id));
            found.into_iter().map(|(c, _)| c).collect()
        };
        let Some(last) = batch.last() else { break };
        after = last.rollup.person_id;
        let ids: Vec<Uuid> = batch.iter().map(|c| c.rollup.person_id).collect();
        let data = read_batch(state, org_id, &ids, now).await?;
        let mut out = Decided::default();
        for c in &batch {
            match data.people.get(&c.rollup.person_id) {
                Some(person) => writer.decide(c, person, &data, now, summary, &mut out)?,
                // Deleted meanwhile: they leave engagement.
                None if !dry_run => {
                    repo::forget(&state.db, org_id, c.rollup.person_id).await?;
                }
                None => {}
            }
        }
        decide_ms += clock.elapsed().as_millis();
        let clock = Instant::now();
        if !dry_run {
            write(state, now, &mut out, summary).await?;
            repo::settle(&state.db, &looks, Some(&ids)).await?;
            if !analyzed && summary.queued + summary.held >= BULK_WRITE {
                analyzed = true;
                if let Err(e) = state
                    .db
                    .refresh_statistics(&["deliveries", "delivery_events"])
                    .await
                {
                    tracing::warn!(error = %e, "engagement: could not refresh the outbox's statistics");
                }
            }
        }
        queue_ms += clock.elapsed().as_millis();
        let room = (KEEP_DECISIONS + 1).saturating_sub(decisions.len());
        decisions.extend(out.lines.into_iter().take(room));
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    summary.eligible = summary.queued + summary.held;
    summary.phases_ms.insert("decide".into(), decide_ms as u64);
    summary.phases_ms.insert("queue".into(), queue_ms as u64);
    if !dry_run {
        let clock = Instant::now();
        crate::server::services::campaigns::send(state, org_id, now, &writer, summary).await?;
        phase(summary, "campaigns", clock);
    }
    Ok(())
}
