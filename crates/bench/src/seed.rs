//! Putting a database in the state a benchmark starts from: customers with API keys and
//! credits, and — for the scale figures — many generations inserted through the store's bulk
//! API (`reelgate_store::BulkState`), which keeps the ledger's invariants.

use reelgate_domain::accounts::{Email, Password, Role, UserId};
use reelgate_domain::catalog::{Catalog, GenerationRequest};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{BulkTemplate, NewUser, Store};

pub use reelgate_store::BulkState;
use serde_json::{json, Map, Value};

use reelgate::generations::stored_request::StoredRequest;

/// Enough that no benchmark runs out (a 402 would be measured as an error).
const CREDITS_EACH: i64 = 1_000_000_000_000;

/// The request every benchmark submits: the product spec's example.
pub fn example_body() -> Map<String, Value> {
    let body = json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
                      "aspect_ratio": "16:9", "duration": 5, "sound": false});
    body.as_object().cloned().unwrap_or_default()
}

/// A mix of models for the end-to-end figure: each family once, Veo sold at 1080p (which has a
/// 1080p version to fetch) among them.
pub fn model_mix() -> Vec<Map<String, Value>> {
    [
        example_body(),
        json!({"model": "veo3-fast", "prompt": "a lighthouse in a storm", "aspect_ratio": "16:9",
               "resolution": "1080p"})
        .as_object()
        .cloned()
        .unwrap_or_default(),
        json!({"model": "sora-2-text-to-video", "prompt": "a paper boat on a river"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        json!({"model": "grok-imagine/text-to-video", "prompt": "a city at dawn"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    ]
    .into()
}

/// A customer with credits and an API key (its secret).
pub struct Customer {
    pub id: UserId,
    pub key: String,
}

pub async fn customers(store: &Store, n: usize) -> anyhow::Result<Vec<Customer>> {
    let mut made = Vec::with_capacity(n);
    for i in 0..n {
        let user = store
            .create_user(NewUser {
                email: Email::parse(&format!("bench{i}@example.com"))?,
                password: Password::parse("correct horse battery staple")?,
                role: Role::Customer,
                signup_bonus: Credits::ZERO,
            })
            .await?;
        store
            .grant(
                &user.id,
                Credits::new(CREDITS_EACH),
                "benchmark credits",
                &Actor::Cli,
            )
            .await?;
        let (_, key) = store.create_api_key(&user.id, "bench").await?;
        made.push(Customer {
            id: user.id,
            key: key.expose().to_owned(),
        });
    }
    Ok(made)
}

/// The example request, parsed and priced by the catalog as a submission would be.
pub fn example_request(catalog: &Catalog) -> anyhow::Result<GenerationRequest> {
    catalog
        .parse(&example_body())
        .map_err(|errors| anyhow::anyhow!("the example request is invalid: {errors:?}"))
}

/// Inserts `n` generations of `owner` (`n` = the number of task ids for running ones), as the
/// example request would have been stored.
pub async fn bulk_generations(
    store: &Store,
    catalog: &Catalog,
    owner: &UserId,
    n: usize,
    state: &BulkState,
) -> anyhow::Result<()> {
    let request = example_request(catalog)?;
    let template = BulkTemplate {
        model: request.model().as_str().to_owned(),
        params_json: Value::Object(request.params_json()).to_string(),
        upstream_request_json: StoredRequest::from(request.to_upstream(None))
            .encode()
            .to_string(),
        credits: request.quote().credits,
        upstream_cost_usd: request.quote().upstream_cost_usd,
    };
    Ok(store
        .bulk_insert_generations(owner, &template, n, state)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_requests_are_accepted_by_the_catalog() {
        let catalog = Catalog::builtin().unwrap();
        for body in model_mix() {
            assert!(catalog.parse(&body).is_ok(), "{body:?}");
        }
    }
}
