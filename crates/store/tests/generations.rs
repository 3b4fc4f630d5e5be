//! Generations in the store: submitting holds and stores atomically, idempotency, settling
//! exactly once, canceling, and claims that never hand one row to two workers.

mod common;

use common::{consistent_balance, customer};
use futures::future::join_all;
use reelgate_domain::generations::{GenerationError, GenerationId, Status, Video};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{
    queues, Canceled, IdempotencyKey, NewGeneration, Outcome, Store, StoreError, Submitted,
};
use rust_decimal::Decimal;
use std::time::Duration;

on_both_backends!(
    submitting_holds_the_price_and_stores_the_generation_queued,
    a_balance_too_small_stores_nothing_and_moves_nothing,
    an_idempotency_key_replays_the_first_response_or_conflicts,
    submissions_arriving_together_each_stand_or_fall_alone,
    racing_settlements_settle_once_and_queue_one_webhook,
    only_unsent_generations_can_be_canceled,
    parallel_claims_never_share_a_generation,
    every_claim_takes_at_most_its_limit,
    claims_under_contention_never_exceed_their_limit,
    a_failure_decided_on_a_queued_generation_spares_it_once_running,
    pages_list_a_users_generations_newest_first,
    the_webhook_log_shows_a_customers_deliveries_and_resends_them,
);

fn new_generation(user: &reelgate_domain::accounts::User, credits: i64) -> NewGeneration {
    NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "kling-2.6/text-to-video".into(),
        params: serde_json::json!({"prompt": "a fox", "duration": 5})
            .as_object()
            .cloned()
            .unwrap(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(credits),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: Some("https://hooks.example.com/x".into()),
        idempotency: None,
    }
}

fn created(submitted: Submitted) -> reelgate_domain::generations::Generation {
    match submitted {
        Submitted::Created(g, _) => *g,
        other => panic!("expected a new generation, got {other:?}"),
    }
}

fn failure() -> Outcome {
    Outcome::Failed {
        error: GenerationError {
            code: "generation_failed".into(),
            message: "no".into(),
        },
        upstream_error: Some("501".into()),
    }
}

async fn submitting_holds_the_price_and_stores_the_generation_queued(store: &TestStore) {
    let user = customer(store, "ada", 100).await;
    let generation = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    assert_eq!(generation.status, Status::Queued);
    let stored = store
        .generation_of(&user.id, &generation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, generation);
    assert_eq!(stored.upstream_cost_usd.to_string(), "0.28");
    assert_eq!(consistent_balance(store, &user).await, (55, 45));
}

async fn a_balance_too_small_stores_nothing_and_moves_nothing(store: &TestStore) {
    let user = customer(store, "ada", 40).await;
    let new = new_generation(&user, 45);
    let refused = store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::InsufficientCredits { .. }),
        "{refused:?}"
    );
    assert!(store.generation(&new.id).await.unwrap().is_none());
    assert_eq!(consistent_balance(store, &user).await, (40, 0));
}

async fn an_idempotency_key_replays_the_first_response_or_conflicts(store: &TestStore) {
    let user = customer(store, "ada", 1000).await;
    let key = |hash: &str| {
        Some(IdempotencyKey {
            key: "order-17".into(),
            request_hash: hash.into(),
        })
    };
    let mut first = new_generation(&user, 45);
    first.idempotency = key("h1");
    created(
        store
            .submit_generation(&first, |g| format!("first {}", g.id))
            .await
            .unwrap(),
    );
    let mut again = new_generation(&user, 45);
    again.idempotency = key("h1");
    assert_eq!(
        store
            .submit_generation(&again, |_| "second".into())
            .await
            .unwrap(),
        Submitted::Replayed {
            first_response: format!("first {}", first.id)
        }
    );
    let mut different = new_generation(&user, 45);
    different.idempotency = key("h2");
    assert!(matches!(
        store.submit_generation(&different, |_| String::new()).await,
        Err(StoreError::IdempotencyConflict)
    ));
    assert_eq!(
        consistent_balance(store, &user).await,
        (955, 45),
        "held once"
    );
}

/// The create's answer was lost; the worker that gives up on it reads it `queued`, and a
/// callback reveals its task (making it `running`) before the worker fails it. The failure
/// must not land: the task is real and the tracker settles it.
async fn a_failure_decided_on_a_queued_generation_spares_it_once_running(store: &TestStore) {
    let user = customer(store, "ada", 100).await;
    let generation = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    let id = generation.id.clone();
    store
        .claim(&queues::DISPATCH, 1, Duration::from_secs(60))
        .await
        .unwrap();
    store
        .record_outcome_unknown(&id, "timed out", chrono::Utc::now())
        .await
        .unwrap();
    let seen = store.generation(&id).await.unwrap().unwrap().status;
    assert_eq!(seen, Status::Queued);
    assert!(store
        .record_accepted(&id, "task_revealed", chrono::Utc::now())
        .await
        .unwrap());
    let late = store
        .settle_generation_from(&id, Some(seen), &failure(), |_| String::new())
        .await
        .unwrap();
    assert!(late.is_none(), "a running generation was failed as queued");
    assert_eq!(
        store.generation(&id).await.unwrap().unwrap().status,
        Status::Running
    );
    assert_eq!(consistent_balance(store, &user).await, (55, 45));
    let settled = store
        .settle_generation_from(&id, Some(Status::Running), &failure(), |_| String::new())
        .await
        .unwrap();
    assert!(settled.is_some());
    assert_eq!(consistent_balance(store, &user).await, (100, 0));
}

/// Submissions that arrive at once (on SQLite, written together in one transaction): the
/// refused ones are refused alone, with nothing of theirs kept, and the others commit.
async fn submissions_arriving_together_each_stand_or_fall_alone(store: &TestStore) {
    use reelgate_domain::limits::LimitSettings;
    use reelgate_store::LimitScope;
    let ada = customer(store, "ada", 100).await;
    let bob = customer(store, "bob", 1000).await;
    let cat = customer(store, "cat", 1000).await;
    // Cat's third and later submissions are refused after their hold was taken.
    store
        .set_limit_settings(
            LimitScope::Customer(&cat.id),
            &LimitSettings::new(Some(2), None, None, None).unwrap(),
        )
        .await
        .unwrap();
    let same_key = |user: &reelgate_domain::accounts::User| {
        let mut new = new_generation(user, 10);
        new.idempotency = Some(IdempotencyKey {
            key: "order-1".into(),
            request_hash: "h".into(),
        });
        new
    };
    let mut submissions = Vec::new();
    for n in 0..24 {
        submissions.push(match n % 4 {
            0 => new_generation(&ada, 45),
            1 => new_generation(&bob, 10),
            2 => new_generation(&cat, 10),
            _ => same_key(&bob),
        });
    }
    let outcomes = join_all(submissions.iter().map(|new| {
        let store = Store::clone(store);
        let new = new.clone();
        tokio::spawn(async move { store.submit_generation(&new, |g| g.id.to_string()).await })
    }))
    .await;
    let (mut created, mut replayed, mut poor, mut limited) = (Vec::new(), 0, 0, 0);
    for outcome in outcomes {
        match outcome.unwrap() {
            Ok(Submitted::Created(g, _)) => created.push(*g),
            Ok(Submitted::Replayed { .. }) => replayed += 1,
            Err(StoreError::InsufficientCredits { .. }) => poor += 1,
            Err(StoreError::LimitReached(_)) => limited += 1,
            Err(other) => panic!("a submission failed for the wrong reason: {other:?}"),
        }
    }
    let of = |user: &reelgate_domain::accounts::User| {
        created.iter().filter(|g| g.user_id == user.id).count()
    };
    assert_eq!((of(&ada), poor), (2, 4), "100 credits pay for two of 45");
    assert_eq!((of(&cat), limited), (2, 4), "two active at most");
    assert_eq!((of(&bob), replayed), (6 + 1, 5), "one per idempotency key");
    for generation in &created {
        assert!(store.generation(&generation.id).await.unwrap().is_some());
    }
    assert_eq!(consistent_balance(store, &ada).await, (10, 90));
    assert_eq!(consistent_balance(store, &bob).await, (930, 70));
    assert_eq!(consistent_balance(store, &cat).await, (980, 20));
}

async fn racing_settlements_settle_once_and_queue_one_webhook(store: &TestStore) {
    let user = customer(store, "ada", 1000).await;
    let generation = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    let claimed = store
        .claim(&queues::DISPATCH, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store
        .record_accepted(&generation.id, "task_1", chrono::Utc::now())
        .await
        .unwrap());
    let attempts = (0..8).map(|i| {
        let store = Store::clone(store);
        let id = generation.id.clone();
        tokio::spawn(async move {
            let outcome = if i % 2 == 0 {
                Outcome::Succeeded {
                    videos: vec![Video {
                        url: "https://v/1.mp4".into(),
                        resolution: None,
                    }],
                    hd_pending: false,
                }
            } else {
                failure()
            };
            store
                .settle_generation(&id, &outcome, |g| g.status.to_string())
                .await
                .unwrap()
        })
    });
    let settled: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(settled.len(), 1, "exactly one settlement wins");
    let deliveries = store
        .webhook_deliveries_of(generation.id.as_str())
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0].0;
    assert_eq!(
        delivery.event_type,
        format!("generation.{}", settled[0].status)
    );
    // A success's payload is composed by the worker once the videos are copied.
    let expected = match settled[0].status {
        Status::Succeeded => String::new(),
        other => other.to_string(),
    };
    assert_eq!(delivery.payload, expected);
    let (balance, held) = consistent_balance(store, &user).await;
    assert_eq!(held, 0);
    match settled[0].status {
        Status::Succeeded => assert_eq!(balance, 955),
        Status::Failed => assert_eq!(balance, 1000),
        other => panic!("unexpected {other}"),
    }
}

async fn only_unsent_generations_can_be_canceled(store: &TestStore) {
    let user = customer(store, "ada", 100).await;
    let waiting = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    let canceled = store
        .cancel_generation(&user.id, &waiting.id, |_| String::new())
        .await
        .unwrap();
    assert!(matches!(canceled, Some(Canceled::Now(g)) if g.status == Status::Canceled));
    assert_eq!(consistent_balance(store, &user).await, (100, 0));
    let again = store
        .cancel_generation(&user.id, &waiting.id, |_| String::new())
        .await
        .unwrap();
    assert!(
        matches!(again, Some(Canceled::TooLate(_))),
        "a second cancel refunds nothing"
    );

    let sending = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    store
        .claim(&queues::DISPATCH, 10, Duration::from_secs(60))
        .await
        .unwrap();
    let refused = store
        .cancel_generation(&user.id, &sending.id, |_| String::new())
        .await
        .unwrap();
    assert!(matches!(refused, Some(Canceled::TooLate(g)) if g.status == Status::Queued));
    assert_eq!(consistent_balance(store, &user).await, (55, 45));
}

async fn parallel_claims_never_share_a_generation(store: &TestStore) {
    let user = customer(store, "ada", 100_000).await;
    for _ in 0..40 {
        store
            .submit_generation(&new_generation(&user, 5), |_| String::new())
            .await
            .unwrap();
    }
    let claims = (0..8).map(|_| {
        let store = Store::clone(store);
        tokio::spawn(async move {
            store
                .claim(&queues::DISPATCH, 7, Duration::from_secs(60))
                .await
                .unwrap()
        })
    });
    let mut ids: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .flat_map(|c| c.unwrap())
        .map(|g| g.id)
        .collect();
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "a generation was claimed twice");
    assert_eq!(claimed, 40);
    assert!(store
        .claim(&queues::DISPATCH, 10, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
}

/// Claimers that keep re-claiming the same due rows (a zero lease) while the others update
/// them: on PostgreSQL an `IN (SELECT … LIMIT n)` claim re-ran its subquery on such rows and
/// returned more than `n` of them.
async fn claims_under_contention_never_exceed_their_limit(store: &TestStore) {
    let user = customer(store, "ada", 100_000).await;
    for _ in 0..60 {
        let Submitted::Created(generation, _) = store
            .submit_generation(&new_generation(&user, 5), |_| String::new())
            .await
            .unwrap()
        else {
            panic!("created");
        };
        store
            .claim(&queues::DISPATCH, 1, Duration::from_secs(60))
            .await
            .unwrap();
        store
            .record_accepted(
                &generation.id,
                &format!("task_{}", generation.id),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    }
    const LIMIT: u32 = 3;
    let claimers = (0..8).map(|_| {
        let store = Store::clone(store);
        tokio::spawn(async move {
            let mut largest = 0;
            for _ in 0..40 {
                let claimed = store
                    .claim(&queues::RUNNING, LIMIT, Duration::ZERO)
                    .await
                    .unwrap();
                largest = largest.max(claimed.len());
            }
            largest
        })
    });
    for largest in join_all(claimers).await {
        assert!(
            largest.unwrap() <= LIMIT as usize,
            "a claim took more rows than its limit"
        );
    }
}

async fn pages_list_a_users_generations_newest_first(store: &TestStore) {
    let user = customer(store, "ada", 1000).await;
    let other = customer(store, "bob", 1000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            created(
                store
                    .submit_generation(&new_generation(&user, 5), |_| String::new())
                    .await
                    .unwrap(),
            )
            .id,
        );
    }
    store
        .submit_generation(&new_generation(&other, 5), |_| String::new())
        .await
        .unwrap();
    let first = store.generations_of(&user.id, None, None, 3).await.unwrap();
    let second = store
        .generations_of(&user.id, None, first.next_cursor.as_deref(), 3)
        .await
        .unwrap();
    let listed: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|g| g.id.clone())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert!(second.next_cursor.is_none());
    let canceled = store
        .generations_of(&user.id, Some(Status::Canceled), None, 10)
        .await
        .unwrap();
    assert!(canceled.items.is_empty());
}

async fn every_claim_takes_at_most_its_limit(store: &TestStore) {
    let user = customer(store, "ada", 100_000).await;
    for _ in 0..6 {
        store
            .submit_generation(&new_generation(&user, 5), |_| String::new())
            .await
            .unwrap();
    }
    let lease = Duration::from_secs(60);
    let sending = store.claim(&queues::DISPATCH, 2, lease).await.unwrap();
    assert_eq!(sending.len(), 2, "dispatch");
    let rest = store.claim(&queues::DISPATCH, 10, lease).await.unwrap();
    assert_eq!(rest.len(), 4);
    for (n, generation) in sending.iter().chain(&rest).enumerate() {
        store
            .record_accepted(&generation.id, &format!("task_{n}"), chrono::Utc::now())
            .await
            .unwrap();
    }
    let running = store.claim(&queues::RUNNING, 3, lease).await.unwrap();
    assert_eq!(running.len(), 3, "tracking");
    let succeeded = Outcome::Succeeded {
        videos: vec![],
        hd_pending: true,
    };
    for generation in sending.iter().chain(&rest) {
        store
            .settle_generation(&generation.id, &succeeded, |_| "{}".into())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        store.claim(&queues::HD, 2, lease).await.unwrap().len(),
        2,
        "1080p"
    );
    assert_eq!(
        store
            .claim(&queues::WEBHOOKS, 4, lease)
            .await
            .unwrap()
            .len(),
        4,
        "webhooks"
    );
}

async fn the_webhook_log_shows_a_customers_deliveries_and_resends_them(store: &TestStore) {
    let user = customer(store, "ada", 100).await;
    let other = customer(store, "bob", 0).await;
    let generation = created(
        store
            .submit_generation(&new_generation(&user, 45), |_| String::new())
            .await
            .unwrap(),
    );
    store
        .settle_generation(&generation.id, &failure(), |_| "{\"failed\":1}".into())
        .await
        .unwrap()
        .unwrap();
    let lease = Duration::from_secs(30);
    let claimed = store.claim(&queues::WEBHOOKS, 4, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_type, "generation.failed");
    assert_eq!(claimed[0].attempts, 1);
    // Deferred (not sent): the claim is not counted as an attempt.
    store
        .defer_webhook(&claimed[0].id, chrono::Utc::now())
        .await
        .unwrap();
    let again = store.claim(&queues::WEBHOOKS, 4, lease).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    store
        .record_webhook_attempt(&again[0].id, Some("answered HTTP 500"), None)
        .await
        .unwrap();
    let log = store.webhook_log(&user.id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].gave_up_at.is_some());
    assert_eq!(log[0].last_error.as_deref(), Some("answered HTTP 500"));
    assert!(store.webhook_log(&other.id, 10).await.unwrap().is_empty());

    assert!(!store.resend_webhook(&other.id, &again[0].id).await.unwrap());
    assert!(store.resend_webhook(&user.id, &again[0].id).await.unwrap());
    let resent = store.claim(&queues::WEBHOOKS, 4, lease).await.unwrap();
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].id, again[0].id, "the same message");
    assert_eq!(resent[0].payload, "{\"failed\":1}");
}
