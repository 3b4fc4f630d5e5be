//! Veo's paid upgrades. Kie makes every Veo video in 720p; a generation sold at 1080p or 4K
//! asks for that version once the 720p one exists. 1080p lags a minute or two: the generation
//! settles with the 720p video and the 1080p one joins it later (`hd.rs`). 4K takes 5 to 10
//! minutes and costs $0.60 more: the generation stays running (its price held) until the 4K
//! video is made, and if Kie cannot make it the whole generation fails and is refunded — the
//! customer asked for, and was quoted, a 4K video.

use kie::{KieError, TaskId, VeoResolution};
use reelgate_domain::catalog::VEO_RESOLUTION;
use reelgate_domain::generations::{Generation, Video, Why};
use reelgate_store::StoreError;

use super::decide::Failure;
use super::lifecycle::Lifecycle;
use super::settle;
use super::stored_request::StoredRequest;

/// What a succeeded Veo task still needs before (or after) it is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upgrade {
    None,
    Hd,
    Uhd,
}

impl Upgrade {
    /// From the resolution the generation was sold at. A generation stored before Veo had a
    /// resolution parameter keeps the old rule: a 16:9 video gets its 1080p version.
    pub fn of(generation: &Generation, request: Option<&StoredRequest>) -> Self {
        let Some(StoredRequest::Veo(body)) = request else {
            return Upgrade::None;
        };
        match generation
            .params
            .get(VEO_RESOLUTION)
            .and_then(|v| v.as_str())
        {
            None if body.aspect_ratio == "16:9" => Upgrade::Hd,
            None => Upgrade::None,
            Some(asked) => match VeoResolution::from_wire(asked) {
                Some(VeoResolution::P1080) => Upgrade::Hd,
                Some(VeoResolution::Uhd4k) => Upgrade::Uhd,
                Some(VeoResolution::P720) | None => Upgrade::None,
            },
        }
    }
}

/// The 720p video is ready and 4K was sold: ask Kie for it (the first request starts it, and
/// asking again is how Kie says to wait). Settles the generation once the 4K video exists or
/// cannot; otherwise it stays running and is looked at again at `next_look`.
pub(super) async fn succeed_in_4k(
    lifecycle: &Lifecycle,
    generation: &Generation,
    task_id: &TaskId,
    videos: Vec<String>,
    next_look: chrono::DateTime<chrono::Utc>,
    out_of_time: bool,
) -> Result<bool, StoreError> {
    let callback = lifecycle.callback_url(&generation.id);
    // Kie upgrades a task only for the account (key) that made it.
    let asked = lifecycle
        .client_for(generation)
        .veo_4k(task_id, 0, Some(&callback))
        .await;
    let failure = |detail: String| {
        Failure::new(
            "upgrade_unavailable",
            "The 4K version of this video could not be made.",
            detail,
        )
    };
    match asked {
        Ok(Some(url)) => {
            let mut videos: Vec<Video> = videos
                .into_iter()
                .map(|url| Video {
                    url,
                    resolution: Some("720p".to_owned()),
                })
                .collect();
            videos.push(Video {
                url,
                resolution: Some("4K".to_owned()),
            });
            settle::succeed(lifecycle, generation, videos, false).await;
            Ok(true)
        }
        Err(error) if refused_for_good(&error) => {
            tracing::info!(generation = %generation.id, %error, "Kie cannot make the 4K version");
            let failure = failure(error.to_string());
            settle::fail(lifecycle, generation, Why::UpgradeRefused, failure).await;
            Ok(true)
        }
        _ if out_of_time => {
            let detail = "the 4K version was not made in the time allowed".to_owned();
            settle::fail(lifecycle, generation, Why::TooSlow, failure(detail)).await;
            Ok(true)
        }
        Ok(None) => {
            lifecycle
                .store
                .record_still_running(&generation.id, next_look, false)
                .await
        }
        Err(error) => {
            tracing::warn!(generation = %generation.id, %error, "4K request failed; will ask again");
            lifecycle.upstream_log.record("4k", error.to_string());
            lifecycle
                .store
                .record_still_running(&generation.id, next_look, false)
                .await
        }
    }
}

/// Kie said no to this upgrade (unavailable, unknown or failed task), not "not now".
fn refused_for_good(error: &KieError) -> bool {
    error.is_final_refusal() || matches!(error, KieError::NotFound { .. })
}
