//! The "Extend" and "Upscale to 4K" buttons of a finished video's card: the same
//! `generations::extend` and `generations::upscale` as the JSON API, then back to the videos.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use reelgate_domain::generations::GenerationId;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Chrome;
use crate::generations::extend::{self, FollowUpError};
use crate::generations::submit::{SubmitError, SubmitOutcome};
use crate::generations::upscale;
use crate::web::error::{WebError, WebForm};
use crate::web::session::Viewer;
use crate::web::WebContext;
use reelgate_store::StoreError;

/// The reasons the videos page explains (`videos.refused_…`), by the `refused` query value.
pub const REFUSALS: &[&str] = &["credits", "prompt", "not_possible", "unavailable", "limit"];

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/videos/{id}/extend", post(extend_video))
        .route("/videos/{id}/upscale", post(upscale_video))
}

#[derive(Deserialize)]
struct ExtendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    prompt: String,
}

#[derive(Deserialize)]
struct UpscaleForm {
    #[serde(default)]
    csrf: String,
}

fn parse(id: &str) -> Result<GenerationId, WebError> {
    id.parse().map_err(|_| WebError::NotFound)
}

/// Where the customer lands: the new generation's card, or the original's with the reason.
fn after(
    original: &GenerationId,
    outcome: Result<SubmitOutcome, FollowUpError>,
) -> Result<Response, WebError> {
    let refused =
        |why: &str| Ok(Redirect::to(&format!("/videos?refused={why}#{original}")).into_response());
    match outcome {
        Ok(SubmitOutcome::Created(generation, _)) => {
            Ok(Redirect::to(&format!("/videos?submitted={}", generation.id)).into_response())
        }
        Ok(SubmitOutcome::Replayed(_)) => Ok(Redirect::to("/videos").into_response()),
        Err(FollowUpError::NotFound) => Err(WebError::NotFound),
        Err(FollowUpError::Refused { .. }) => refused("not_possible"),
        Err(FollowUpError::Submit(error)) => match error {
            SubmitError::Store(
                StoreError::InsufficientCredits { .. } | StoreError::InDebt { .. },
            ) => refused("credits"),
            SubmitError::Invalid(_) => refused("prompt"),
            SubmitError::ModelUnavailable { .. } => refused("unavailable"),
            SubmitError::Store(StoreError::LimitReached(_)) => refused("limit"),
            SubmitError::Store(StoreError::IdempotencyConflict) => {
                Ok(Redirect::to("/videos").into_response())
            }
            SubmitError::Store(error) => Err(error.into()),
        },
    }
}

async fn extend_video(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<ExtendForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let original = parse(&id)?;
    let mut body = Map::new();
    body.insert("prompt".into(), Value::String(form.prompt));
    let api = &web.api;
    let outcome = extend::extend(
        &api.lifecycle,
        &api.catalog,
        &user.id,
        &original,
        body,
        None,
    )
    .await;
    after(&original, outcome)
}

async fn upscale_video(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<UpscaleForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let original = parse(&id)?;
    let api = &web.api;
    let outcome = upscale::upscale(
        &api.lifecycle,
        &api.catalog,
        &user.id,
        &original,
        Map::new(),
        None,
    )
    .await;
    after(&original, outcome)
}
