//! The 4K version of a finished Veo video, sold after the fact (`POST
//! /api/v1/veo/get-4k-video`): a generation of its own, priced at the 4K surcharge alone, its
//! price held, settled with the 4K video once Kie has made it and refunded if Kie cannot. It
//! is sent with the Kie key that made the original task, and tracked by asking for the 4K
//! version again (`track.rs`, `upgrade.rs`), as a video sold in 4K from the start is.

use reelgate_domain::accounts::UserId;
use reelgate_domain::catalog::{Catalog, ErrorCode, FieldError, VEO_RESOLUTION};
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::pricing::Quote;
use reelgate_store::NewGeneration;
use serde_json::{Map, Value};

use super::extend::{finished_veo, in_4k, original_of, FollowUpError};
use super::lifecycle::Lifecycle;
use super::stored_request::{StoredRequest, Upscale};
use super::submit::{self, SubmitError, SubmitOutcome};

fn refused(message: impl Into<String>) -> FollowUpError {
    FollowUpError::Refused {
        code: "not_upscalable",
        message: message.into(),
    }
}

/// The price of `original`'s 4K version: what Kie charges for it (the 4K video's cost less
/// the 720p one's, both from the catalog) through the price rule.
fn surcharge(catalog: &Catalog, original: &Generation) -> Result<Quote, FollowUpError> {
    let quote_at = |resolution: &str| {
        let mut body = original.params.clone();
        body.insert("model".into(), Value::String(original.model.clone()));
        body.insert(VEO_RESOLUTION.into(), Value::String(resolution.into()));
        catalog
            .parse(&body)
            .map(|request| request.quote().clone())
            .map_err(|_| refused("the 4K version is not offered for this video now"))
    };
    let base = quote_at("720p")?;
    let uhd = quote_at("4k")?;
    let cost = uhd.upstream_cost_usd - base.upstream_cost_usd;
    let credits = catalog
        .rule()
        .credits_for(cost)
        .ok_or_else(|| refused("the 4K version is not offered for this video now"))?;
    Ok(Quote {
        model: uhd.model,
        credits,
        upstream_cost_usd: cost,
    })
}

/// What the 4K version of `original` costs now, if it can have one (for the video's card).
pub fn offer(catalog: &Catalog, original: &Generation) -> Option<i64> {
    finished_veo(original, "upscaled").ok()?;
    let builds_on_veo = matches!(
        StoredRequest::decode(&original.upstream_request),
        Ok(StoredRequest::Veo(_) | StoredRequest::Extend(_))
    );
    if !builds_on_veo || in_4k(original) {
        return None;
    }
    Some(surcharge(catalog, original).ok()?.credits.get())
}

/// Queues the 4K version of the customer's generation `original_id`; `body` may carry a
/// `webhook_url`.
pub async fn upscale(
    lifecycle: &Lifecycle,
    catalog: &Catalog,
    user: &UserId,
    original_id: &GenerationId,
    mut body: Map<String, Value>,
    idempotency_key: Option<String>,
) -> Result<SubmitOutcome, FollowUpError> {
    let idempotency = submit::idempotency(&body, idempotency_key);
    if let Some(unknown) = body.keys().find(|k| k.as_str() != "webhook_url") {
        let message = format!("{unknown} is not a parameter of an upscale (it takes webhook_url)");
        let error = FieldError::new(unknown, ErrorCode::UnknownParameter, message);
        return Err(SubmitError::Invalid(vec![error]).into());
    }
    let original = original_of(lifecycle, user, original_id).await?;
    finished_veo(&original, "upscaled").map_err(refused)?;
    let task_id = match StoredRequest::decode(&original.upstream_request) {
        Ok(StoredRequest::Veo(_) | StoredRequest::Extend(_)) => {
            original.upstream_task_id.clone().unwrap_or_default()
        }
        Ok(StoredRequest::Upscale(_)) => return Err(refused("this video is already in 4K")),
        _ => return Err(refused("only Veo 3.1 videos can be upscaled to 4K")),
    };
    if in_4k(&original) {
        return Err(refused("this video is already in 4K"));
    }
    let webhook_url = submit::webhook_url(lifecycle, &mut body).await?;
    let quote = surcharge(catalog, &original)?;
    let mut params = Map::new();
    params.insert("upscales".into(), Value::String(original.id.to_string()));
    params.insert(VEO_RESOLUTION.into(), Value::String("4k".into()));
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.clone(),
        model: original.model.clone(),
        params,
        upstream_request: StoredRequest::Upscale(Upscale {
            task_id,
            key: original.upstream_key.clone(),
        })
        .encode(),
        credits: quote.credits,
        upstream_cost_usd: quote.upstream_cost_usd,
        webhook_url,
        idempotency,
    };
    Ok(submit::queue(lifecycle, new).await?)
}
