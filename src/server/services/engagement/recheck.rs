//! The check an engagement message meets once more just before it goes.

use super::policy_of;
use super::run::read_batch_raw;
use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::domain::engagement::decide::{self, Prior};
use crate::domain::engagement::Decision;
use crate::domain::Timezone;
use crate::server::error::ServiceResult;
use crate::server::AppState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

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
                    if DeliveryStatus::is_queued_str(status) {
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
