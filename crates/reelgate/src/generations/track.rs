//! Tracking: asks Kie about running tasks — when a callback hints that one changed, and
//! otherwise on a schedule that starts near the model's expected duration and backs off,
//! within the budget of status reads — and settles them when they end.

use chrono::{DateTime, Utc};
use kie::TaskId;
use reelgate_domain::generations::{Generation, Video, Why};
use reelgate_store::{queues, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::decide::{self, AfterStatus, Failure};
use super::lifecycle::{span, Lifecycle};
use super::settle;
use super::stored_request::StoredRequest;
use super::upgrade::{succeed_in_4k, Upgrade};
use crate::worker::{after, Claimed, Worker};
use tracing::Instrument;

/// Kie answering 404 this many times in a row means it lost the task.
const NOT_FOUND_LIMIT: u32 = 3;
const NOT_FOUND_RECHECK: Duration = Duration::from_secs(10);

/// Reads the status of running tasks that are due, and settles those that ended.
pub(super) struct Tracker(pub(super) Arc<Lifecycle>);

impl Worker for Tracker {
    type Job = Generation;
    const NAME: &'static str = "tracking";
    const PARALLEL: usize = 16;

    async fn claim(&self, limit: u32) -> Result<Claimed<Generation>, StoreError> {
        let lease = self.0.settings.claim_lease;
        Ok(Claimed::Jobs(
            self.0.store.claim(&queues::RUNNING, limit, lease).await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.0.store.next_due(&queues::RUNNING).await
    }

    fn nudge(&self) -> &Notify {
        &self.0.wake.track
    }

    async fn work(&self, generation: Generation) {
        let span = span(&generation.id);
        check(&self.0, generation).instrument(span).await;
    }
}

async fn check(lifecycle: &Lifecycle, generation: Generation) {
    let id = &generation.id;
    let Some(task_id) = generation.upstream_task_id.clone().map(TaskId::from) else {
        tracing::error!(generation = %id, "running without an upstream task id");
        return;
    };
    let request = StoredRequest::decode(&generation.upstream_request).ok();
    let is_veo = request.as_ref().is_some_and(StoredRequest::is_veo);
    lifecycle.status_reads.acquire().await;
    if let Some(StoredRequest::Upscale(upscale)) = &request {
        // Sold after the fact: asking Kie for the 4K version again is how to wait for it.
        let next_look = next_look_at(lifecycle, &generation);
        let original = TaskId::from(upscale.task_id.clone());
        let out_of_time = ran_too_long(lifecycle, &generation);
        let recorded = succeed_in_4k(
            lifecycle,
            &generation,
            &original,
            Vec::new(),
            next_look,
            out_of_time,
        )
        .await;
        if let Err(error) = recorded {
            tracing::error!(generation = %id, %error, "cannot record the 4K request");
        }
        return;
    }
    let read = if is_veo {
        lifecycle.client_for(&generation).veo_status(&task_id).await
    } else {
        lifecycle
            .client_for(&generation)
            .task_status(&task_id)
            .await
    };
    let next_look = next_look_at(lifecycle, &generation);
    let recorded = match decide::after_status(read.map(|status| status.state)) {
        AfterStatus::Succeeded { videos, .. }
            if Upgrade::of(&generation, request.as_ref()) == Upgrade::Uhd =>
        {
            let out_of_time = ran_too_long(lifecycle, &generation);
            succeed_in_4k(
                lifecycle,
                &generation,
                &task_id,
                videos,
                next_look,
                out_of_time,
            )
            .await
        }
        AfterStatus::Succeeded { videos, hd_video } => {
            let wants_hd = Upgrade::of(&generation, request.as_ref()) == Upgrade::Hd;
            succeed(
                lifecycle,
                &generation,
                &task_id,
                videos,
                hd_video,
                wants_hd,
                is_veo,
            )
            .await;
            Ok(true)
        }
        AfterStatus::Failed(failure) => {
            settle::fail(lifecycle, &generation, Why::TaskFailed, failure).await;
            Ok(true)
        }
        AfterStatus::NotFound if generation.not_found_checks + 1 >= NOT_FOUND_LIMIT => {
            settle::fail(lifecycle, &generation, Why::TaskFailed, Failure::lost()).await;
            Ok(true)
        }
        AfterStatus::NotFound => {
            lifecycle
                .store
                .record_still_running(id, after(NOT_FOUND_RECHECK), true)
                .await
        }
        AfterStatus::StillRunning if ran_too_long(lifecycle, &generation) => {
            let failure = Failure::too_slow(lifecycle.settings.max_running);
            settle::fail(lifecycle, &generation, Why::TooSlow, failure).await;
            Ok(true)
        }
        AfterStatus::StillRunning => {
            lifecycle
                .store
                .record_still_running(id, next_look, false)
                .await
        }
        AfterStatus::RetryLater { reason } => {
            tracing::warn!(generation = %id, %reason, "status read failed; will ask again");
            lifecycle.upstream_log.record("status", &reason);
            lifecycle
                .store
                .record_still_running(id, next_look, false)
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(generation = %id, %error, "cannot record the task status");
    }
}

/// When to look at a running task again, after this look.
fn next_look_at(lifecycle: &Lifecycle, generation: &Generation) -> DateTime<Utc> {
    let expected = lifecycle.settings.expected.for_model(&generation.model);
    let delay = lifecycle
        .settings
        .poll
        .delay(expected, generation.status_checks + 1);
    after(delay)
}

fn ran_too_long(lifecycle: &Lifecycle, generation: &Generation) -> bool {
    let started = generation.dispatched_at.unwrap_or(generation.created_at);
    (Utc::now() - started).to_std().unwrap_or_default() > lifecycle.settings.max_running
}

/// The videos are ready: charge. For Veo sold at 1080p, ask once for the 1080p video first;
/// if Kie has not made it yet, settle with the 720p one and keep asking in the background.
async fn succeed(
    lifecycle: &Lifecycle,
    generation: &Generation,
    task_id: &TaskId,
    videos: Vec<String>,
    hd_video: Option<String>,
    wants_hd: bool,
    is_veo: bool,
) {
    // Kie makes every Veo video in 720p; other models' resolutions are not reported.
    let resolution = is_veo.then(|| "720p".to_owned());
    let mut videos: Vec<Video> = videos
        .into_iter()
        .map(|url| Video {
            url,
            resolution: resolution.clone(),
        })
        .collect();
    let hd_video = match hd_video {
        Some(url) => Some(url),
        None if wants_hd => lifecycle
            .client_for(generation)
            .veo_1080p(task_id, 0)
            .await
            .ok(),
        None => None,
    };
    let hd_pending = wants_hd && hd_video.is_none();
    if let Some(url) = hd_video {
        videos.push(Video {
            url,
            resolution: Some("1080p".to_owned()),
        });
    }
    settle::succeed(lifecycle, generation, videos, hd_pending).await;
}
