//! Submitting a generation: parse it with the catalog, check the URLs the customer gave, price
//! it, then hold the price and store it in one transaction. Used by the JSON API and the web
//! app alike.

use reelgate_domain::accounts::UserId;
use reelgate_domain::catalog::{Catalog, FieldError};
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::limits::Quota;
use reelgate_store::{IdempotencyKey, NewGeneration, StoreError, Submitted};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::lifecycle::Lifecycle;
use super::model_pause::{self, Admission};
use super::stored_request::StoredRequest;
use super::view::GenerationView;

/// Why a submission was not queued. The store's refusals (credits, debt, a customer limit,
/// an `Idempotency-Key` reused with another body) stay `StoreError`s: its `kind()` says what
/// they are, and each front end answers them the way it answers every store error.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// The upstream withdrew or disabled the model for now (`model_pause.rs`).
    #[error("model temporarily unavailable")]
    ModelUnavailable { retry_after: std::time::Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &str, message: String) -> SubmitError {
    SubmitError::Invalid(vec![FieldError::new(
        field,
        reelgate_domain::catalog::ErrorCode::InvalidParameter,
        message,
    )])
}

pub enum SubmitOutcome {
    /// With what is left of the customer's submissions-per-minute quota, if they have one.
    Created(Box<Generation>, Option<Quota>),
    /// The same Idempotency-Key and body again: the first response, verbatim.
    Replayed(String),
}

/// A generation request as it arrived: the JSON body and the optional Idempotency-Key.
pub struct Submission {
    pub body: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

pub async fn submit(
    lifecycle: &Lifecycle,
    catalog: &Catalog,
    user: &UserId,
    submission: Submission,
) -> Result<SubmitOutcome, SubmitError> {
    let idempotency = idempotency(&submission.body, submission.idempotency_key);
    let mut body = submission.body;
    let webhook_url = webhook_url(lifecycle, &mut body).await?;
    let request = catalog
        .parse(&body)
        .map_err(|errors| SubmitError::Invalid(errors.into_vec()))?;
    check_image_urls(lifecycle, &request.params_json())?;
    let quote = request.quote().clone();
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.clone(),
        model: request.model().as_str().to_owned(),
        params: request.params_json(),
        upstream_request: StoredRequest::from(request.to_upstream(None)).encode(),
        credits: quote.credits,
        upstream_cost_usd: quote.upstream_cost_usd,
        webhook_url,
        idempotency,
    };
    queue(lifecycle, new).await
}

/// Holds a priced generation's credits and queues it, unless its model is paused (the pause
/// may let it through as the model's probe). Shared by new generations and extensions.
pub(super) async fn queue(
    lifecycle: &Lifecycle,
    new: NewGeneration,
) -> Result<SubmitOutcome, SubmitError> {
    let admission = model_pause::admits(lifecycle, &new.model, &new.id).await?;
    if let Admission::Refused { retry_after } = admission {
        return Err(SubmitError::ModelUnavailable { retry_after });
    }
    let submitted = lifecycle
        .store
        .submit_generation(&new, GenerationView::json)
        .await;
    if admission == Admission::Probe && !matches!(submitted, Ok(Submitted::Created(..))) {
        // Not stored (or a replay): it will not probe, another may.
        lifecycle
            .store
            .give_back_model_probe(&new.model, &new.id)
            .await?;
    }
    let outcome = match submitted? {
        Submitted::Created(generation, quota) => {
            tracing::info!(generation = %generation.id, model = %generation.model, credits = %generation.credits, "generation queued");
            lifecycle.wake.dispatch.notify_one();
            SubmitOutcome::Created(generation, quota)
        }
        Submitted::Replayed { first_response } => SubmitOutcome::Replayed(first_response),
    };
    Ok(outcome)
}

/// An `Idempotency-Key` with the digest of the body it came with. Only a retry-safe request
/// needs the digest (it copies and hashes the body).
pub(super) fn idempotency(
    body: &Map<String, Value>,
    key: Option<String>,
) -> Option<IdempotencyKey> {
    key.map(|key| IdempotencyKey {
        request_hash: digest(body),
        key,
    })
}

/// Takes the optional `webhook_url` out of a request body, checked.
pub(super) async fn webhook_url(
    lifecycle: &Lifecycle,
    body: &mut Map<String, Value>,
) -> Result<Option<String>, SubmitError> {
    match body.remove("webhook_url") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => Ok(Some(check_webhook_url(lifecycle, &raw).await?)),
        Some(_) => Err(invalid(
            "webhook_url",
            "webhook_url must be a string".into(),
        )),
    }
}

/// A digest of the body, keys in order, to tell a retry from a different request.
fn digest(body: &Map<String, Value>) -> String {
    // serde_json's map keeps keys sorted, so equal bodies serialise equally.
    hex::encode(Sha256::digest(
        Value::Object(body.clone()).to_string().as_bytes(),
    ))
}

async fn check_webhook_url(lifecycle: &Lifecycle, raw: &str) -> Result<String, SubmitError> {
    // The URL parser drops tabs and line breaks silently; a URL with one is refused.
    let raw = reelgate_domain::text::UrlText::parse(raw)
        .map_err(|e| invalid("webhook_url", format!("webhook_url {e}")))?;
    let url = Url::parse(raw.as_str())
        .map_err(|e| invalid("webhook_url", format!("webhook_url is not a URL: {e}")))?;
    lifecycle
        .outbound
        .resolve(&url)
        .await
        .map_err(|refusal| invalid("webhook_url", format!("webhook_url {refusal}")))?;
    Ok(url.to_string())
}

/// Kie fetches the images, not us; still, an image URL pointing into a private network is
/// never a customer's real image, only a probe. Files uploaded through Kie's own upload
/// endpoint are fine wherever it lives (the built-in simulator is on loopback).
fn check_image_urls(lifecycle: &Lifecycle, params: &Map<String, Value>) -> Result<(), SubmitError> {
    let Some(Value::Array(urls)) = params.get("image_urls") else {
        return Ok(());
    };
    for raw in urls.iter().filter_map(Value::as_str) {
        if raw.starts_with(&lifecycle.upload_base_url) {
            continue;
        }
        let url = Url::parse(raw).map_err(|e| {
            invalid(
                "image_urls",
                format!("image_urls: {raw:?} is not a URL: {e}"),
            )
        })?;
        lifecycle
            .outbound
            .check_syntax(&url)
            .map_err(|refusal| invalid("image_urls", format!("image_urls: {raw} {refusal}")))?;
    }
    Ok(())
}
