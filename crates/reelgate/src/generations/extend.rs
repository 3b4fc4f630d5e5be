//! Extending a finished Veo video (`POST /api/v1/veo/extend`): a generation of its own —
//! quoted like a new video of the same model, its price held, settled and refunded like any
//! generation — whose task continues the original's, sent with the Kie key that made it.

use chrono::Utc;
use reelgate_domain::accounts::UserId;
use reelgate_domain::catalog::{Catalog, ErrorCode, FieldError};
use reelgate_domain::generations::{Generation, GenerationId, Status};
use reelgate_store::NewGeneration;
use serde_json::{Map, Value};

use super::lifecycle::Lifecycle;
use super::stored_request::{Extension, StoredRequest};
use super::submit::{self, SubmitError, SubmitOutcome};
use kie::{VeoExtendRequest, VeoResolution};
use reelgate_domain::catalog::VEO_RESOLUTION;

/// Kie keeps a task (and extends it) for 14 days.
const KIE_KEEPS_DAYS: i64 = 14;
/// What an extension request takes besides the prompt.
const FIELDS: &[&str] = &["prompt", "seeds", "webhook_url"];

/// Why an extension or an upscale of a generation was not queued.
#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("no such generation")]
    NotFound,
    /// The generation exists but cannot have this done to it: a stable code
    /// (`not_extendable`, `not_upscalable`) and words for the customer.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

/// The caller's generation `id`, if it is theirs.
pub(super) async fn original_of(
    lifecycle: &Lifecycle,
    user: &UserId,
    id: &GenerationId,
) -> Result<Generation, FollowUpError> {
    lifecycle
        .store
        .generation_of(user, id)
        .await
        .map_err(SubmitError::from)?
        .ok_or(FollowUpError::NotFound)
}

/// Whether `original` is a finished Veo video Kie still keeps; `what` is done to it.
pub(super) fn finished_veo(original: &Generation, what: &str) -> Result<(), String> {
    if original.status != Status::Succeeded || original.upstream_task_id.is_none() {
        return Err(format!("only a finished video can be {what}"));
    }
    let finished = original.finished_at.unwrap_or(original.created_at);
    if Utc::now() - finished > chrono::Duration::days(KIE_KEEPS_DAYS) {
        return Err(format!(
            "the video service keeps a video for 14 days; this one can no longer be {what}"
        ));
    }
    Ok(())
}

/// Whether `original` was sold in 4K.
pub(super) fn in_4k(original: &Generation) -> bool {
    original
        .params
        .get(VEO_RESOLUTION)
        .and_then(Value::as_str)
        .and_then(VeoResolution::from_wire)
        == Some(VeoResolution::Uhd4k)
}

/// Why `original` cannot be extended, if it cannot; otherwise its Veo model's extend name.
fn extendable(original: &Generation) -> Result<String, String> {
    finished_veo(original, "extended")?;
    let model = match StoredRequest::decode(&original.upstream_request) {
        Ok(StoredRequest::Veo(body)) => body.model.extend_name().to_owned(),
        Ok(StoredRequest::Extend(extension)) => extension.request.model,
        Ok(StoredRequest::Upscale(_)) => {
            return Err("a video upscaled to 4K cannot be extended".into())
        }
        _ => return Err("only Veo 3.1 videos can be extended".into()),
    };
    if in_4k(original) {
        return Err("a video upscaled to 4K cannot be extended".into());
    }
    Ok(model)
}

fn field_error(field: &str, code: ErrorCode, message: String) -> SubmitError {
    SubmitError::Invalid(vec![FieldError::new(field, code, message)])
}

/// Queues an extension of the customer's generation `original_id` with `body`
/// (`prompt`, optional `seeds` and `webhook_url`).
pub async fn extend(
    lifecycle: &Lifecycle,
    catalog: &Catalog,
    user: &UserId,
    original_id: &GenerationId,
    mut body: Map<String, Value>,
    idempotency_key: Option<String>,
) -> Result<SubmitOutcome, FollowUpError> {
    let idempotency = submit::idempotency(&body, idempotency_key);
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(field_error(
            unknown,
            ErrorCode::UnknownParameter,
            format!("{unknown} is not a parameter of an extension (it takes prompt, seeds, webhook_url)"),
        )
        .into());
    }
    let original = original_of(lifecycle, user, original_id).await?;
    let model = extendable(&original).map_err(|message| FollowUpError::Refused {
        code: "not_extendable",
        message,
    })?;
    let webhook_url = submit::webhook_url(lifecycle, &mut body).await?;
    let seeds = match body.get("seeds") {
        None => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (10_000..=99_999).contains(n))
                .ok_or_else(|| {
                    let message = "seeds must be a whole number from 10000 to 99999".to_owned();
                    field_error("seeds", ErrorCode::InvalidParameter, message)
                })?,
        ),
    };
    // Priced as a new video of the same model: the catalog checks the prompt and quotes it.
    let mut priced = Map::new();
    priced.insert("model".into(), Value::String(original.model.clone()));
    match body.get("prompt") {
        Some(prompt) => priced.insert("prompt".into(), prompt.clone()),
        None => {
            let message = "prompt is required: say how the video goes on".to_owned();
            return Err(field_error("prompt", ErrorCode::MissingParameter, message).into());
        }
    };
    let request = catalog
        .parse(&priced)
        .map_err(|errors| SubmitError::Invalid(errors.into_vec()))?;
    let quote = request.quote().clone();
    let prompt = request
        .params_json()
        .get("prompt")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut params = Map::new();
    params.insert("prompt".into(), Value::String(prompt.clone()));
    params.insert("extends".into(), Value::String(original.id.to_string()));
    if let Some(seeds) = seeds {
        params.insert("seeds".into(), Value::from(seeds));
    }
    let extension = Extension {
        request: VeoExtendRequest {
            task_id: original.upstream_task_id.clone().unwrap_or_default(),
            prompt,
            model,
            seeds,
            call_back_url: None,
        },
        key: original.upstream_key.clone(),
    };
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.clone(),
        model: original.model.clone(),
        params,
        upstream_request: StoredRequest::Extend(extension).encode(),
        credits: quote.credits,
        upstream_cost_usd: quote.upstream_cost_usd,
        webhook_url,
        idempotency,
    };
    Ok(submit::queue(lifecycle, new).await?)
}

/// What extending `original` costs now, if it can be extended (for the video's card).
pub fn offer(catalog: &Catalog, original: &Generation) -> Option<i64> {
    extendable(original).ok()?;
    let mut priced = Map::new();
    priced.insert("model".into(), Value::String(original.model.clone()));
    priced.insert("prompt".into(), Value::String("price".into()));
    let request = catalog.parse(&priced).ok()?;
    Some(request.quote().credits.get())
}
