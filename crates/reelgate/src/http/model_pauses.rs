//! `/v1/admin/model-pauses`: the models the upstream withdrew or disabled, paused on their own
//! while the others run (`generations/model_pause.rs`), and the operator's switch to offer one
//! again by hand.

use axum::extract::State;
use chrono::{DateTime, Utc};
use reelgate_store::ModelPause;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};
use crate::generations::model_pause;

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelPauseView {
    #[schema(example = "sora-2-text-to-video")]
    pub model: String,
    /// The upstream's refusal, for the operator (customers read only that the model is
    /// temporarily unavailable).
    pub reason: String,
    pub since: DateTime<Utc>,
    /// When one generation is let through to see whether the upstream takes the model again.
    pub probe_at: DateTime<Utc>,
    /// Probes refused so far; each doubles the pause.
    pub refused_probes: u32,
    /// The generation probing it now, if one is.
    pub probing_generation: Option<String>,
}

impl From<&ModelPause> for ModelPauseView {
    fn from(pause: &ModelPause) -> Self {
        ModelPauseView {
            model: pause.model.clone(),
            reason: pause.reason.clone(),
            since: pause.since,
            probe_at: pause.probe_at,
            refused_probes: pause.strikes,
            probing_generation: pause.probe.as_ref().map(|(id, _)| id.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelPauseList {
    pub paused: Vec<ModelPauseView>,
}

/// Every model paused because the upstream refused it as withdrawn or disabled.
#[utoipa::path(get, path = "/v1/admin/model-pauses", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = ModelPauseList), (status = 403, body = ErrorEnvelope)))]
async fn list(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<ModelPauseList>, ApiError> {
    let pauses = ctx.lifecycle.store.model_pauses().await?;
    Ok(ApiJson(ModelPauseList {
        paused: pauses.iter().map(ModelPauseView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    /// A catalog model id.
    #[schema(example = "sora-2-text-to-video")]
    pub model: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resumed {
    pub model: String,
    pub resumed: bool,
}

/// Offers a paused model again now, without waiting for its probe (the upstream told the
/// operator it is back). 404 if it is not paused.
#[utoipa::path(post, path = "/v1/admin/model-pauses/resume", tag = "admin", security(("api_key" = [])),
    request_body = ResumeBody,
    responses((status = 200, body = Resumed), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn resume(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<ResumeBody>,
) -> Result<ApiJson<Resumed>, ApiError> {
    let model = resume_model(&ctx, &body.model).await?;
    Ok(ApiJson(Resumed {
        model,
        resumed: true,
    }))
}

/// Resumes `model` (a catalog id) for the operator; the web page's button does the same.
pub async fn resume_model(ctx: &ApiContext, model: &str) -> Result<String, ApiError> {
    let model = model.trim();
    if ctx.catalog.model(model).is_none() {
        return Err(ApiError::field(
            "model",
            "invalid_parameter",
            format!("model {model:?} is not in the catalog"),
        ));
    }
    if !model_pause::resume(&ctx.lifecycle, model).await? {
        return Err(ApiError::NotFound("paused model"));
    }
    Ok(model.to_owned())
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(resume))
}
