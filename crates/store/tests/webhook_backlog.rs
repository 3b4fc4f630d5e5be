//! Webhook deliveries shared fairly between customers: each customer's backlog, claiming one
//! customer's share, putting off a failing endpoint, the pending cap, and what the operator
//! sees of failing endpoints.

mod common;

use common::customer;
use reelgate_domain::accounts::User;
use reelgate_domain::generations::{GenerationError, GenerationId};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{NewGeneration, Outcome, Submitted};
use rust_decimal::Decimal;
use std::time::Duration;

on_both_backends!(
    backlogs_and_claims_go_by_customer,
    a_failing_endpoint_is_put_off_and_the_operator_sees_it,
    past_the_cap_the_newest_are_given_up,
);

const LEASE: Duration = Duration::from_secs(30);

/// A generation of `user`'s that failed, with a webhook to `url`: one delivery queued.
async fn failed_with_webhook(store: &TestStore, user: &User, url: &str) -> GenerationId {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "kling-2.6/text-to-video".into(),
        params: serde_json::json!({"prompt": "a fox"})
            .as_object()
            .cloned()
            .unwrap(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(1),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: Some(url.into()),
        idempotency: None,
    };
    let Submitted::Created(generation, _) = store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    else {
        panic!("not created");
    };
    let failed = Outcome::Failed {
        error: GenerationError {
            code: "generation_failed".into(),
            message: "no".into(),
        },
        upstream_error: None,
    };
    store
        .settle_generation(&generation.id, &failed, |_| "{}".into())
        .await
        .unwrap()
        .unwrap();
    generation.id
}

async fn backlogs_and_claims_go_by_customer(store: &TestStore) {
    let ada = customer(store, "ada", 100).await;
    let bob = customer(store, "bob", 100).await;
    for _ in 0..3 {
        failed_with_webhook(store, &ada, "https://a.example/hooks").await;
    }
    failed_with_webhook(store, &bob, "https://b.example/hooks").await;
    let backlogs = store.webhook_backlogs(10).await.unwrap();
    let seen: Vec<_> = backlogs
        .iter()
        .map(|b| (b.user_id.clone(), b.pending, b.due))
        .collect();
    assert_eq!(
        seen,
        [(ada.id.clone(), 3, 3), (bob.id.clone(), 1, 1)],
        "the longest waiting first"
    );
    let claimed = store.claim_webhooks_of(&ada.id, 2, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed
        .iter()
        .all(|d| d.user_id == ada.id && d.attempts == 1));
    let backlogs = store.webhook_backlogs(10).await.unwrap();
    assert_eq!(backlogs[0].pending, 3, "claimed ones are still pending");
    assert_eq!(backlogs[0].due, 1);
    let bobs = store.claim_webhooks_of(&bob.id, 5, LEASE).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].user_id, bob.id);
}

async fn a_failing_endpoint_is_put_off_and_the_operator_sees_it(store: &TestStore) {
    let ada = customer(store, "ada", 100).await;
    let (failing, working) = ("https://a.example/dead", "https://a.example/live");
    for _ in 0..2 {
        failed_with_webhook(store, &ada, failing).await;
    }
    failed_with_webhook(store, &ada, working).await;
    let claimed = store.claim_webhooks_of(&ada.id, 3, LEASE).await.unwrap();
    let first = claimed.iter().find(|d| d.url == failing).unwrap();
    let until = chrono::Utc::now() + chrono::Duration::seconds(60);
    store
        .record_webhook_attempt(&first.id, Some("answered HTTP 500"), Some(until))
        .await
        .unwrap();
    // Claimed ones come back due, as if their leases ran out.
    for d in &claimed {
        if d.id != first.id {
            store
                .defer_webhook(&d.id, chrono::Utc::now())
                .await
                .unwrap();
        }
    }
    assert_eq!(
        store
            .defer_endpoint_webhooks(&ada.id, failing, until)
            .await
            .unwrap(),
        1,
        "the other delivery to the failing endpoint (the first is due later already)"
    );
    let due = store.claim_webhooks_of(&ada.id, 5, LEASE).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].url, working, "only the working endpoint's is due");

    let endpoints = store.failing_webhook_endpoints(10).await.unwrap();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let endpoint = &endpoints[0];
    assert_eq!(endpoint.url, failing);
    assert_eq!(endpoint.email, "ada@example.com");
    assert_eq!((endpoint.pending, endpoint.failing), (2, 1));
    assert_eq!(endpoint.last_error.as_deref(), Some("answered HTTP 500"));
}

async fn past_the_cap_the_newest_are_given_up(store: &TestStore) {
    let ada = customer(store, "ada", 100).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(failed_with_webhook(store, &ada, "https://a.example/hooks").await);
        // Distinct creation times, so "newest" is well defined.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(store.give_up_webhooks_over(&ada.id, 2).await.unwrap(), 2);
    assert_eq!(store.give_up_webhooks_over(&ada.id, 2).await.unwrap(), 0);
    let log = store.webhook_log(&ada.id, 10).await.unwrap();
    let given_up: Vec<_> = log
        .iter()
        .filter(|r| r.gave_up_at.is_some())
        .map(|r| r.delivery.generation_id.clone())
        .collect();
    assert_eq!(given_up, [ids[3].to_string(), ids[2].to_string()]);
    assert!(log.iter().filter(|r| r.gave_up_at.is_some()).all(|r| r
        .last_error
        .as_deref()
        .unwrap()
        .contains("2 deliveries were already pending")));
}
