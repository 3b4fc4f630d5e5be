//! Operator views across customers: filtered generation lists, counts by state, first run.

mod common;

use common::{customer, user_with};
use reelgate_domain::accounts::Role;
use reelgate_domain::generations::{GenerationError, GenerationId, Status};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{GenerationFilter, NewGeneration, Outcome, Submitted};
use rust_decimal::Decimal;

on_both_backends!(
    operators_filter_generations_by_status_model_and_customer,
    counts_list_every_state_including_empty_ones,
    a_fresh_database_has_no_admin_until_one_is_made,
);

async fn submit(
    store: &TestStore,
    user: &reelgate_domain::accounts::User,
    model: &str,
) -> GenerationId {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: model.into(),
        params: serde_json::Map::new(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(10),
        upstream_cost_usd: Decimal::new(5, 2),
        webhook_url: None,
        idempotency: None,
    };
    match store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    {
        Submitted::Created(g, _) => g.id,
        other => panic!("not created: {other:?}"),
    }
}

async fn fail(store: &TestStore, id: &GenerationId) {
    let outcome = Outcome::Failed {
        error: GenerationError {
            code: "generation_failed".into(),
            message: "no".into(),
        },
        upstream_error: Some("content policy".into()),
    };
    store
        .settle_generation(id, &outcome, |_| String::new())
        .await
        .unwrap();
}

async fn operators_filter_generations_by_status_model_and_customer(store: &TestStore) {
    let ada = customer(store, "ada", 100).await;
    let bob = customer(store, "bob", 100).await;
    let a1 = submit(store, &ada, "kling-2.6/text-to-video").await;
    let a2 = submit(store, &ada, "veo3-fast").await;
    let b1 = submit(store, &bob, "kling-2.6/text-to-video").await;
    fail(store, &b1).await;

    let ids = |page: reelgate_store::Page<reelgate_domain::generations::Generation>| {
        page.items.into_iter().map(|g| g.id).collect::<Vec<_>>()
    };
    let all = store
        .find_generations(&GenerationFilter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(ids(all), [b1.clone(), a2.clone(), a1.clone()]);

    let kling = GenerationFilter {
        model: Some("kling-2.6/text-to-video".into()),
        ..GenerationFilter::default()
    };
    assert_eq!(
        ids(store.find_generations(&kling, None, 50).await.unwrap()),
        [b1.clone(), a1.clone()]
    );

    let adas = GenerationFilter {
        user: Some(ada.id.clone()),
        status: Some(Status::Queued),
        ..GenerationFilter::default()
    };
    assert_eq!(
        ids(store.find_generations(&adas, None, 50).await.unwrap()),
        [a2.clone(), a1.clone()]
    );

    let errors = GenerationFilter {
        with_upstream_error: true,
        ..GenerationFilter::default()
    };
    let failed = store.find_generations(&errors, None, 50).await.unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!(
        failed.items[0].upstream_error.as_deref(),
        Some("content policy")
    );

    let first = store
        .find_generations(&GenerationFilter::default(), None, 2)
        .await
        .unwrap();
    let cursor = first.next_cursor.clone();
    assert_eq!(ids(first), [b1, a2]);
    let rest = store
        .find_generations(&GenerationFilter::default(), cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids(rest).len(), 1, "the oldest is all the next page holds");
}

async fn counts_list_every_state_including_empty_ones(store: &TestStore) {
    let ada = customer(store, "ada", 100).await;
    submit(store, &ada, "veo3-fast").await;
    let failed = submit(store, &ada, "veo3-fast").await;
    fail(store, &failed).await;
    let counts = store.count_generations(None).await.unwrap();
    assert_eq!(
        counts,
        [
            (Status::Queued, 1),
            (Status::Running, 0),
            (Status::Succeeded, 0),
            (Status::Failed, 1),
            (Status::Canceled, 0)
        ]
    );
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    let none: u64 = store
        .count_generations(Some(tomorrow))
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(none, 0);
}

async fn a_fresh_database_has_no_admin_until_one_is_made(store: &TestStore) {
    assert!(!store.has_admin().await.unwrap());
    customer(store, "ada", 0).await;
    assert!(!store.has_admin().await.unwrap());
    user_with(store, "ops", Role::Admin, 0).await;
    assert!(store.has_admin().await.unwrap());
}
