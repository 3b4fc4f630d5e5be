//! The generation object of `product.md`, as the API answers it and webhooks deliver it.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::{Generation, GenerationError, Status, Video};
use serde::Serialize;
use utoipa::ToSchema;

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
    /// While queued: why it is still waiting, when upstream is refusing new work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
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
            // Operators see Kie's words; customers only that capacity is short.
            waiting_for: (g.status == Status::Queued && g.blocked_since.is_some()).then(|| {
                "capacity: the video service is not accepting new work right now".to_owned()
            }),
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
    /// As JSON text, for storage (first responses, webhook payloads).
    pub fn json(generation: &Generation) -> String {
        // A struct of strings, numbers and JSON values always serialises.
        serde_json::to_string(&GenerationView::from(generation)).unwrap_or_default()
    }
}
