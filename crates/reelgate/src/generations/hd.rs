//! Veo's 1080p video lags behind the 720p one, sometimes by minutes. After a generation
//! succeeded with its 720p video, this keeps asking for the 1080p one a while, then gives up
//! and the 720p one stands.

use chrono::{DateTime, Utc};
use kie::TaskId;
use reelgate_domain::generations::{Generation, Video};
use reelgate_store::{queues, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::lifecycle::{span, Lifecycle};
use crate::worker::{after, Claimed, Worker};
use tracing::Instrument;

/// How often to ask again, at most; never more often than the polling schedule allows.
const RETRY_EVERY: Duration = Duration::from_secs(15);

/// Asks for the 1080p videos that are due to be asked for.
pub(super) struct HdFetcher(pub(super) Arc<Lifecycle>);

impl Worker for HdFetcher {
    type Job = Generation;
    const NAME: &'static str = "1080p";
    /// Few at once, so each claimed one is asked for well within the lease.
    const PARALLEL: usize = 4;

    async fn claim(&self, limit: u32) -> Result<Claimed<Generation>, StoreError> {
        let lease = self.0.settings.claim_lease;
        Ok(Claimed::Jobs(
            self.0.store.claim(&queues::HD, limit, lease).await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.0.store.next_due(&queues::HD).await
    }

    fn nudge(&self) -> &Notify {
        &self.0.wake.hd
    }

    async fn work(&self, generation: Generation) {
        let span = span(&generation.id);
        fetch(&self.0, &generation).instrument(span).await;
    }
}

async fn fetch(lifecycle: &Lifecycle, generation: &Generation) {
    let Some(task_id) = generation.upstream_task_id.clone().map(TaskId::from) else {
        return;
    };
    let finished = generation.finished_at.unwrap_or(generation.created_at);
    let recorded = match lifecycle
        .client_for(generation)
        .veo_1080p(&task_id, 0)
        .await
    {
        Ok(url) => {
            let video = Video {
                url,
                resolution: Some("1080p".to_owned()),
            };
            lifecycle
                .store
                .record_hd(generation, Some(video), None)
                .await
        }
        Err(error)
            if (Utc::now() - finished).to_std().unwrap_or_default()
                > lifecycle.settings.hd_wait =>
        {
            tracing::info!(generation = %generation.id, %error, "no 1080p video in time; keeping 720p");
            lifecycle.store.record_hd(generation, None, None).await
        }
        Err(_) => {
            let wait = RETRY_EVERY.min(lifecycle.settings.poll.max_interval);
            lifecycle
                .store
                .record_hd(generation, None, Some(after(wait)))
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(generation = %generation.id, %error, "1080p: cannot record");
    }
}
