//! The generation object of `docs/API.md`, as the API answers it and webhooks deliver it.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::{Generation, GenerationError, Status, Video};
use serde::Serialize;
use utoipa::ToSchema;

/// What a customer is told while upstream refuses new work; operators see Kie's words.
pub const NO_CAPACITY: &str = "capacity: the video service is not accepting new work right now";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenerationView {
    /// `gen_…`
    pub id: String,
    pub model: String,
    pub status: Status,
    /// The price held at submission: charged on success, returned otherwise.
    pub credits: i64,
    /// The parameters in reelgate's uniform names, defaults filled in.
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The videos, once it succeeded (the 1080p one for Veo 16:9 joins when ready). Their
    /// URLs point at reelgate once it has its own copy, at Kie's files until then.
    pub videos: Vec<VideoView>,
    /// The first video's poster image, once there is one.
    pub thumbnail_url: Option<String>,
    /// True when its videos were deleted (by their owner or the retention policy).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub videos_deleted: bool,
    /// Why it failed or was canceled, in words for the customer.
    pub error: Option<GenerationError>,
    /// While queued: why it is not sent yet — upstream refusing new work (`capacity: …`),
    /// the upstream rate window (`rate_limit: …`) or the cap on tasks in flight
    /// (`in_flight_cap: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// While queued: how many generations will be sent upstream before this one under fair
    /// dispatch (0: it is next).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u64>,
    /// While queued: when it should be sent upstream, from the rate limit, the cap on tasks
    /// in flight and what is ahead of it. Absent while upstream refuses new work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_start_at: Option<DateTime<Utc>>,
    /// While queued or running: when its videos should be ready, adding its model's median
    /// run time over the last day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_ready_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Generation> for GenerationView {
    fn from(g: &Generation) -> Self {
        GenerationView {
            id: g.id.to_string(),
            model: g.model.clone(),
            status: g.status,
            credits: g.credits.get(),
            params: g.params.clone(),
            videos: g.videos.iter().map(VideoView::from).collect(),
            thumbnail_url: None,
            videos_deleted: false,
            error: g.error.clone(),
            waiting_for: (g.status == Status::Queued && g.blocked_since.is_some())
                .then(|| NO_CAPACITY.to_owned()),
            queue_position: None,
            estimated_start_at: None,
            estimated_ready_at: None,
            webhook_url: g.webhook_url.clone(),
            created_at: g.created_at,
            updated_at: g.updated_at,
            finished_at: g.finished_at,
        }
    }
}

/// One video of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VideoView {
    /// Plays with range requests. From reelgate's storage, a link signed for a while (no
    /// credentials needed until `expires_at`; the same path works with the owner's API key
    /// or session without the query); before that, Kie's own file (kept 14 days).
    pub url: String,
    /// `720p`, `1080p`, … where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Its poster image (first frame), signed like `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// When the signed links stop working (ask for the generation again for fresh ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&Video> for VideoView {
    fn from(video: &Video) -> Self {
        VideoView {
            url: video.url.clone(),
            resolution: video.resolution.clone(),
            thumbnail_url: None,
            expires_at: None,
        }
    }
}

impl GenerationView {
    /// Adds what the queue says about its wait; a hold upstream's refusal explains stays.
    pub fn with_wait(mut self, wait: Option<&crate::generations::eta::Wait>) -> Self {
        if let Some(wait) = wait {
            self.queue_position = wait.queue_position;
            self.estimated_start_at = wait.estimated_start_at;
            self.estimated_ready_at = wait.estimated_ready_at;
            if self.waiting_for.is_none() {
                self.waiting_for = wait.waiting_for.clone();
            }
        }
        self
    }

    /// As JSON text, for storage (first responses, webhook payloads).
    pub fn json(generation: &Generation) -> String {
        // A struct of strings, numbers and JSON values always serialises.
        serde_json::to_string(&GenerationView::from(generation)).unwrap_or_default()
    }
}
