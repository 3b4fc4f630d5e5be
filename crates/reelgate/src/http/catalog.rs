//! The catalog and quotes: what can be generated, with which parameters, for how many credits.
//! Both are public: a visitor may compare prices before signing up, and a quote charges nothing.

use axum::extract::State;
use reelgate_domain::catalog::ModelView;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, ApiError, ApiJson};
use crate::generations::model_pause;

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// Every model, offered or not (`available` says which, `reason` why not).
    pub models: Vec<ModelView>,
}

/// The catalog: every model, its parameters (type, allowed values or range, default, whether
/// required) and the price in credits of every offered combination of the priced parameters.
/// A model the upstream has withdrawn for now is listed with `available: false` and a reason.
#[utoipa::path(get, path = "/v1/models", tag = "catalog",
    responses((status = 200, body = ModelList)))]
async fn models(State(ctx): State<ApiContext>) -> ApiJson<ModelList> {
    ApiJson(ModelList {
        models: model_pause::offered(&ctx.lifecycle, &ctx.catalog).await.0,
    })
}

/// A generation request's price, as `POST /v1/generations` would charge it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    #[schema(example = "kling-2.6/text-to-video")]
    pub model: String,
    #[schema(example = 45)]
    pub credits: i64,
    /// The parameters that would be generated with, defaults filled in.
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
}

/// The price of a generation request, without creating it or charging anything. A request the
/// catalog refuses gets a 400 naming the field.
#[utoipa::path(post, path = "/v1/quote", tag = "catalog",
    request_body(content = Object, description = "As for `POST /v1/generations`: `model` and its parameters (see `GET /v1/models`); `webhook_url` is ignored.",
        example = json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
            "aspect_ratio": "16:9", "duration": 5, "sound": false})),
    responses((status = 200, body = QuoteView), (status = 400, body = super::error::ErrorEnvelope)))]
async fn quote(
    State(ctx): State<ApiContext>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<QuoteView>, ApiError> {
    let Value::Object(mut body) = body else {
        return Err(ApiError::BadRequest {
            code: "invalid_json",
            message: "send the generation request as a JSON object".into(),
        });
    };
    // The webhook is not part of the price; the generations route checks it.
    body.remove("webhook_url");
    let request = ctx.catalog.parse(&body)?;
    let credits = request.quote().credits.get();
    Ok(ApiJson(QuoteView {
        model: request.model().to_string(),
        credits,
        params: request.params_json(),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(models))
        .routes(routes!(quote))
}
