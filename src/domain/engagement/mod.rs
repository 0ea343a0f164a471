//! Engagement: noticing that a client has gone quiet (or is due to book again), deciding
//! within consent, caps and quiet hours whether and when to reach out, and counting what
//! happened. The pure parts live here — the policy, segments and churn risk with their
//! explanation, the one send / hold / skip decision — and the types the run answers with.

pub mod decide;
pub mod generation;
pub mod policy;
pub mod safety;
pub mod score;
#[cfg(feature = "ssr")]
pub mod template;

pub use decide::{decide, Decision, Prior, SkipReason, Verdict};
pub use policy::{EngagementPolicy, NudgeChannel, PolicyInput, QuietAction};
pub use score::{Rollup, Score, Segment, Thresholds};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Why a person is nudged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NudgeKind {
    /// Inactive longer than the dormancy threshold.
    Dormant,
    /// Their usual interval between bookings has passed.
    Rebook,
}

text_enum!(NudgeKind, "a nudge kind", { Dormant => "dormant", Rebook => "rebook" });

impl NudgeKind {
    pub fn label(self) -> &'static str {
        match self {
            NudgeKind::Dormant => "dormant",
            NudgeKind::Rebook => "due to rebook",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The worker's hourly run.
    Schedule,
    /// `POST /api/v1/cron/run-engagement`.
    Api,
    /// "Run now" on the Engagement page.
    Portal,
}

text_enum!(RunTrigger, "a run trigger", { Schedule => "schedule", Api => "api", Portal => "portal" });

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What a run found and did. `candidates` = `queued` + `held` + every `skipped` count;
/// `eligible` = `queued` + `held`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// People looked at (every person of the organisation).
    pub evaluated: i64,
    /// How many are in each segment after the run.
    pub segments: BTreeMap<String, i64>,
    pub dormant: i64,
    pub due_to_rebook: i64,
    /// Dormant or due people already decided for this stretch of inactivity (or booking
    /// cycle): not asked again until something changes.
    pub already_decided: i64,
    /// Dormant or due people decided in this run.
    pub candidates: i64,
    pub eligible: i64,
    pub queued: i64,
    /// Queued to go when the quiet hours end on their clock.
    pub held: i64,
    /// Skipped people by reason (every key of `decide::SKIP_KEYS`, zero or not).
    pub skipped: BTreeMap<String, i64>,
    /// How long each phase took, in milliseconds.
    #[serde(default)]
    pub phases_ms: BTreeMap<String, u64>,
    /// What the run did for each active campaign, by the campaign's id (apart from the
    /// counts above, which are the dormancy policy's own).
    #[serde(default)]
    pub campaigns: BTreeMap<String, crate::domain::campaigns::CampaignRunCounts>,
}

impl RunSummary {
    pub fn new() -> Self {
        Self {
            skipped: decide::SKIP_KEYS
                .iter()
                .map(|k| (k.to_string(), 0))
                .collect(),
            ..Default::default()
        }
    }

    pub fn skipped_total(&self) -> i64 {
        self.skipped.values().sum()
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One person's decision in a run (every one, in a dry run's answer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDecision {
    pub person_id: Uuid,
    pub person_name: String,
    pub nudge: NudgeKind,
    /// `queued`, `held` or `skipped`.
    pub outcome: String,
    /// The skip reason's key, when skipped.
    pub reason: Option<String>,
    /// What happened, in plain words.
    pub words: String,
    pub channel: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub delivery_id: Option<Uuid>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A run as stored and listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngagementRun {
    pub id: Uuid,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: RunSummary,
    /// Why it stopped, when it failed.
    pub error: Option<String>,
}

/// What a run answers: its summary and (in a dry run, or as far as the page shows) the
/// decisions, the first few hundred.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run: EngagementRun,
    pub decisions: Vec<RunDecision>,
    /// Whether `decisions` stops short of every decision made.
    pub truncated: bool,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A person's engagement as the profile shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonEngagement {
    pub segment: Segment,
    pub churn_risk: f64,
    pub labels: Vec<String>,
    /// "dormant — last active 23 days ago; churn risk 0.78: recency 0.50 + …".
    pub explanation: String,
    pub due_to_rebook: bool,
    /// "books a Massage about every 21 days; the next is due on 3 Dec (due to rebook)".
    pub cadence: Option<String>,
    /// The latest engagement decision about them, in plain words, and when.
    pub last_decision: Option<String>,
    pub last_decided_at: Option<DateTime<Utc>>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One day of the engagement chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub sent: i64,
    pub clicked: i64,
    pub booked: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Engagement at a glance for a period: messages sent, clicked and booked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngagementStats {
    pub days: Vec<DayCount>,
    pub sent: i64,
    pub clicked: i64,
    pub booked: i64,
    pub unsubscribed: i64,
}
