//! Writing an engagement message with the organisation's model: what it is asked and what it
//! answered, or why it could not. Whatever it writes is only a draft: the caller screens it
//! with the safety filter and falls back to the template when there is no usable draft.

use crate::domain::engagement::generation::{parse_reply, Brief, ModelSettings};
use crate::server::channels::{model, Channels};
use crate::server::db::generation as repo;
use crate::server::error::ServiceResult;
use crate::server::AppState;
use std::sync::Arc;
use uuid::Uuid;

/// How many messages a run asks the model for at once.
pub(crate) const AT_ONCE: usize = 4;

/// The organisation's model for one run (none when it has none, or has switched it off).
pub(crate) struct Author {
    model: Option<(ModelSettings, String)>,
    channels: Arc<Channels>,
}

impl Author {
    pub async fn load(state: &AppState, org_id: Uuid) -> ServiceResult<Self> {
        let model = repo::model(&state.db, &state.keys, org_id)
            .await?
            .filter(|(s, _)| s.enabled);
        Ok(Self {
            model,
            channels: state.channels.clone(),
        })
    }

    /// How long what the model writes waits for approval, when the organisation requires it.
    pub fn approval_hours(&self) -> Option<u32> {
        self.model
            .as_ref()
            .filter(|(s, _)| s.require_approval)
            .map(|(s, _)| s.approval_hours)
    }

    /// The model's name, when there is one to ask.
    pub fn model(&self) -> Option<&str> {
        self.model.as_ref().map(|(s, _)| s.model.as_str())
    }

    /// The model's draft — its subject (if it gave one) and body — or why there is none.
    pub async fn draft(
        &self,
        brief: &Brief<'_>,
        correlation_id: &str,
    ) -> Result<(Option<String>, String), String> {
        let Some((settings, key)) = &self.model else {
            return Err("no model is set up (Settings → Engagement → AI writing)".into());
        };
        let started = std::time::Instant::now();
        let answer = model::complete(
            &self.channels,
            settings,
            key,
            &brief.messages(),
            correlation_id,
        )
        .await;
        tracing::debug!(
            correlation_id,
            model = %settings.model,
            ok = answer.is_ok(),
            ms = started.elapsed().as_millis() as u64,
            "model asked for a message"
        );
        parse_reply(&answer?)
    }
}
