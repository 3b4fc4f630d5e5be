//! Veo's 1080p video lags behind the 720p one, sometimes by minutes. After a generation
//! succeeded with its 720p video, this keeps asking for the 1080p one a while, then gives up
//! and the 720p one stands.

use chrono::Utc;
use kie::TaskId;
use reelgate_domain::generations::{Generation, Video};
use std::sync::Arc;
use std::time::Duration;

use super::lifecycle::{after, pause, span, Lifecycle};
use tracing::Instrument;

/// Fetched one after another; few per claim, so the last is asked within the lease.
const BATCH: u32 = 4;
/// How often to ask again, at most; never more often than the polling schedule allows.
const RETRY_EVERY: Duration = Duration::from_secs(15);

pub(super) async fn run(lc: Arc<Lifecycle>) {
    let mut stop = lc.stopping();
    // Stop is checked at the top too: with a backlog the loop never pauses.
    while !*stop.borrow() {
        match lc.store.claim_hd_due(BATCH, lc.settings.claim_lease).await {
            Ok(claimed) if !claimed.is_empty() => {
                for generation in claimed {
                    fetch(&lc, &generation)
                        .instrument(span(&generation.id))
                        .await;
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "1080p: cannot claim"),
        }
        let next_due = lc.store.next_hd_due().await.ok().flatten();
        if !pause(next_due, &lc.wake.hd, &mut stop).await {
            break;
        }
    }
}

async fn fetch(lc: &Lifecycle, generation: &Generation) {
    let Some(task_id) = generation.upstream_task_id.clone().map(TaskId::from) else {
        return;
    };
    let finished = generation.finished_at.unwrap_or(generation.created_at);
    let recorded = match lc.kie.veo_1080p(&task_id, 0).await {
        Ok(url) => {
            let video = Video {
                url,
                resolution: Some("1080p".to_owned()),
            };
            lc.store.record_hd(generation, Some(video), None).await
        }
        Err(error)
            if (Utc::now() - finished).to_std().unwrap_or_default() > lc.settings.hd_wait =>
        {
            tracing::info!(generation = %generation.id, %error, "no 1080p video in time; keeping 720p");
            lc.store.record_hd(generation, None, None).await
        }
        Err(_) => {
            let wait = RETRY_EVERY.min(lc.settings.poll.max_interval);
            lc.store
                .record_hd(generation, None, Some(after(wait)))
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(generation = %generation.id, %error, "1080p: cannot record");
    }
}
