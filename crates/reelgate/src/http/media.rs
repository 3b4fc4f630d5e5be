//! Stored videos and their posters: served to their owner (API key or session) or to anyone
//! holding a signed link, with byte ranges; deleted by their owner; and, for the operator,
//! the copies that are failing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::media::{MediaCopy, MediaState};
use reelgate_store::MediaTrouble;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{AdminUser, AuthUser};
use super::byte_range::{self, ByteRange};
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};
use crate::generations::GenerationView;
use crate::media::{present, Asset, LinkError};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// From a signed link: when it stops working (seconds since the epoch).
    pub expires: Option<i64>,
    /// From a signed link.
    #[param(inline)]
    pub signature: Option<reelgate_domain::text::Token>,
}

fn parse_id(raw: &str) -> Result<GenerationId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("video"))
}

/// A signed link is judged by its signature alone; otherwise the caller must own the video.
/// Anyone else learns nothing, not even that it exists.
async fn authorize(
    ctx: &ApiContext,
    copy: &MediaCopy,
    asset: Asset,
    link: &LinkQuery,
    caller: Result<AuthUser, ApiError>,
) -> Result<(), ApiError> {
    if link.expires.is_some() || link.signature.is_some() {
        let (Some(expires), Some(signature)) = (link.expires, link.signature.as_deref()) else {
            return Err(ApiError::Forbidden);
        };
        return ctx
            .media
            .links
            .verify(
                &copy.generation_id,
                copy.index,
                asset,
                expires,
                signature,
                Utc::now(),
            )
            .map_err(|error| match error {
                LinkError::Expired => ApiError::Gone {
                    code: "link_expired",
                    message: "this link has expired: fetch the generation again for a fresh one"
                        .into(),
                },
                LinkError::Invalid => ApiError::Forbidden,
            });
    }
    let AuthUser(user) = caller?;
    if user.id == copy.user_id {
        Ok(())
    } else {
        Err(ApiError::NotFound("video"))
    }
}

async fn serve(
    ctx: ApiContext,
    (id, index): (String, u32),
    asset: Asset,
    link: LinkQuery,
    caller: Result<AuthUser, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let copy = ctx
        .store
        .media_copy(&id, index)
        .await?
        .ok_or(ApiError::NotFound("video"))?;
    authorize(&ctx, &copy, asset, &link, caller).await?;
    let stored = copy.served().ok_or(ApiError::NotFound("video"))?;
    let (key, content_type, len) = match asset {
        Asset::Video => (
            stored.object_key.clone(),
            stored.content_type.clone(),
            stored.size_bytes,
        ),
        Asset::Thumbnail => {
            let key = stored
                .thumbnail_key
                .clone()
                .ok_or(ApiError::NotFound("thumbnail"))?;
            let len = ctx.media.size(&key).await.map_err(ApiError::internal)?;
            (key, "image/jpeg".to_owned(), len)
        }
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response_headers.insert(header::CONTENT_TYPE, value);
    }
    let (status, range) = match byte_range::requested(headers.get(header::RANGE), len) {
        ByteRange::Whole => (StatusCode::OK, None),
        ByteRange::Part { first, last } => (StatusCode::PARTIAL_CONTENT, Some((first, last))),
        ByteRange::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { len }),
    };
    let sent = match range {
        Some((first, last)) => {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")) {
                response_headers.insert(header::CONTENT_RANGE, value);
            }
            last - first + 1
        }
        None => len,
    };
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(sent));
    let body = ctx
        .media
        .read(&key, range)
        .await
        .map_err(ApiError::internal)?;
    let body = Body::from_stream(body.map(|chunk| chunk.map_err(std::io::Error::other)));
    Ok((status, response_headers, body).into_response())
}

/// A stored video, with byte ranges (`Range: bytes=…`). To its owner, or with a signed link
/// from the generation object (no credentials needed until it expires).
#[utoipa::path(get, path = "/v1/generations/{id}/videos/{index}", tag = "generations", operation_id = "download_video",
    security((), ("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`"),
        ("index" = u32, Path, description = "the video's position in `videos`"), LinkQuery,
        ("Range" = Option<String>, Header, description = "e.g. `bytes=0-1023`")),
    responses(
        (status = 200, description = "The whole video", content_type = "video/mp4"),
        (status = 206, description = "The requested bytes, with Content-Range", content_type = "video/mp4"),
        (status = 403, description = "A signed link that is not valid", body = ErrorEnvelope),
        (status = 404, description = "No such stored video of the caller's", body = ErrorEnvelope),
        (status = 410, description = "The signed link has expired", body = ErrorEnvelope),
        (status = 416, description = "The range is beyond the end")))]
async fn video(
    State(ctx): State<ApiContext>,
    super::ApiPath(path): super::ApiPath<(String, u32)>,
    ApiQuery(link): ApiQuery<LinkQuery>,
    caller: Result<AuthUser, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(ctx, path, Asset::Video, link, caller, headers).await
}

/// A stored video's poster image (JPEG, first frame), like the video itself.
#[utoipa::path(get, path = "/v1/generations/{id}/videos/{index}/thumbnail", tag = "generations", operation_id = "download_thumbnail",
    security((), ("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`"),
        ("index" = u32, Path, description = "the video's position in `videos`"), LinkQuery),
    responses(
        (status = 200, description = "The poster", content_type = "image/jpeg"),
        (status = 404, description = "No poster (ffmpeg not installed, or not stored yet)", body = ErrorEnvelope),
        (status = 410, description = "The signed link has expired", body = ErrorEnvelope)))]
async fn thumbnail(
    State(ctx): State<ApiContext>,
    super::ApiPath(path): super::ApiPath<(String, u32)>,
    ApiQuery(link): ApiQuery<LinkQuery>,
    caller: Result<AuthUser, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(ctx, path, Asset::Thumbnail, link, caller, headers).await
}

/// Deletes the caller's stored copies of a generation's videos. Kie's own files expire by
/// themselves within 14 days of the generation.
#[utoipa::path(delete, path = "/v1/generations/{id}/videos", tag = "generations", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`")),
    responses((status = 200, description = "The generation, without its videos", body = GenerationView),
        (status = 404, body = ErrorEnvelope)))]
async fn delete_videos(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<ApiJson<GenerationView>, ApiError> {
    let id: GenerationId = id.parse().map_err(|_| ApiError::NotFound("generation"))?;
    if !ctx.media.delete_of(&ctx.store, &user.id, &id).await? {
        return Err(ApiError::NotFound("generation"));
    }
    let (generation, copies) = ctx
        .store
        .generation_with_media_of(&user.id, &id)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    Ok(ApiJson(
        present::with_copies(&ctx.lifecycle, &generation, &copies, &ctx.media.links).await?,
    ))
}

/// One copy job, for the operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaCopyView {
    pub generation_id: String,
    pub index: u32,
    pub user_id: String,
    /// `pending`, `copied`, `failed` or `deleted`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Kie's file.
    pub source_url: String,
    pub size_bytes: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub copied_at: Option<DateTime<Utc>>,
}

impl From<&MediaCopy> for MediaCopyView {
    fn from(copy: &MediaCopy) -> Self {
        MediaCopyView {
            generation_id: copy.generation_id.to_string(),
            index: copy.index,
            user_id: copy.user_id.to_string(),
            state: copy.state.to_string(),
            attempts: copy.attempts,
            last_error: copy.last_error.clone(),
            next_attempt_at: copy.next_attempt_at,
            source_url: copy.source_url.clone(),
            size_bytes: copy.stored.as_ref().map(|s| s.size_bytes),
            created_at: copy.created_at,
            copied_at: copy.copied_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaOverview {
    /// Where the videos are kept.
    pub storage: String,
    /// Whether poster images are made (ffmpeg installed).
    pub thumbnails: bool,
    /// Copies kept this many days, or forever (`null`).
    pub retention_days: Option<u64>,
    /// Copy jobs per state.
    pub counts: BTreeMap<String, u64>,
    /// Copies given up on, newest first.
    pub failed: Vec<MediaCopyView>,
    /// Copies still retried after a failed attempt, newest first.
    pub retrying: Vec<MediaCopyView>,
}

/// Where videos are kept, and the copies that failed or are being retried.
#[utoipa::path(get, path = "/v1/admin/media", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = MediaOverview), (status = 403, body = ErrorEnvelope)))]
async fn overview(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<MediaOverview>, ApiError> {
    let mut counts: BTreeMap<String, u64> = MediaState::ALL
        .iter()
        .map(|state| (state.to_string(), 0))
        .collect();
    for (state, n) in ctx.store.media_counts().await? {
        counts.insert(state.to_string(), n);
    }
    let list = |copies: Vec<MediaCopy>| copies.iter().map(MediaCopyView::from).collect();
    Ok(ApiJson(MediaOverview {
        storage: ctx.media.describe().to_owned(),
        thumbnails: ctx.media.makes_thumbnails(),
        retention_days: ctx.media.settings.retention.map(|d| d.as_secs() / 86_400),
        counts,
        failed: list(
            ctx.store
                .media_in_trouble(MediaTrouble::Failed, 100)
                .await?,
        ),
        retrying: list(
            ctx.store
                .media_in_trouble(MediaTrouble::Retrying, 100)
                .await?,
        ),
    }))
}

/// Queues a failed copy again, at once.
#[utoipa::path(post, path = "/v1/admin/media/{id}/{index}/retry", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`"), ("index" = u32, Path, description = "the video's position")),
    responses((status = 200, body = MediaCopyView), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Not a failed copy", body = ErrorEnvelope)))]
async fn retry(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    super::ApiPath((id, index)): super::ApiPath<(String, u32)>,
) -> Result<ApiJson<MediaCopyView>, ApiError> {
    let id = parse_id(&id)?;
    if !ctx.media.retry(&ctx.store, &id, index).await? {
        let copy = ctx.store.media_copy(&id, index).await?;
        return Err(match copy {
            None => ApiError::NotFound("video"),
            Some(copy) => ApiError::Conflict {
                code: "not_failed",
                message: format!("this copy is {}, not failed", copy.state),
            },
        });
    }
    let copy = ctx
        .store
        .media_copy(&id, index)
        .await?
        .ok_or(ApiError::NotFound("video"))?;
    Ok(ApiJson(MediaCopyView::from(&copy)))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(video))
        .routes(routes!(thumbnail))
        .routes(routes!(delete_videos))
        .routes(routes!(overview))
        .routes(routes!(retry))
}
