//! Per-customer limits and the fair order of dispatch, decided in the submission's
//! transaction: however many submissions race (from one instance or several sharing
//! PostgreSQL), a customer gets exactly what their limits allow, and the claim hands out
//! slots to customers in turn.

mod common;

use common::{consistent_balance, customer};
use futures::future::join_all;
use reelgate_domain::accounts::User;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::limits::{Breach, LimitSettings};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{
    queues, LimitScope, NewGeneration, Store, StoreError, Submitted, EXACT_PLACES_UP_TO,
    QUEUE_VIEW_TTL,
};
use rust_decimal::Decimal;
use std::time::Duration;

on_both_backends!(
    racing_submissions_get_exactly_the_per_minute_limit,
    racing_submissions_get_exactly_the_active_limit,
    the_daily_cap_counts_what_is_held_or_spent_not_what_was_refunded,
    customer_overrides_win_over_the_defaults,
    dispatch_serves_customers_in_turn_each_in_arrival_order,
    a_heavier_tier_gets_more_turns,
    an_idle_customer_saves_up_no_turns,
    the_queue_place_is_the_order_the_claim_sends_in,
    places_deep_in_a_long_queue_come_from_a_view_at_most_a_second_old,
);

fn new_generation(user: &User, credits: i64) -> NewGeneration {
    NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "kling-2.6/text-to-video".into(),
        params: serde_json::json!({"prompt": "a fox"})
            .as_object()
            .cloned()
            .unwrap(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(credits),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: None,
        idempotency: None,
    }
}

async fn submit(store: &Store, user: &User, credits: i64) -> Result<Generation, StoreError> {
    match store
        .submit_generation(&new_generation(user, credits), |_| String::new())
        .await?
    {
        Submitted::Created(g, _) => Ok(*g),
        other => panic!("expected a new generation, got {other:?}"),
    }
}

async fn limit(store: &Store, user: &User, settings: LimitSettings) {
    store
        .set_limit_settings(LimitScope::Customer(&user.id), &settings)
        .await
        .unwrap();
}

/// `n` submissions of `credits` each at once; the refusals' reasons.
async fn race(store: &TestStore, user: &User, n: usize, credits: i64) -> (usize, Vec<Breach>) {
    let attempts = (0..n).map(|_| {
        let store = Store::clone(store);
        let user = user.clone();
        tokio::spawn(async move { submit(&store, &user, credits).await })
    });
    let mut created = 0;
    let mut refused = Vec::new();
    for outcome in join_all(attempts).await {
        match outcome.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::LimitReached(breach)) => refused.push(breach),
            Err(other) => panic!("a submission failed for the wrong reason: {other:?}"),
        }
    }
    (created, refused)
}

async fn racing_submissions_get_exactly_the_per_minute_limit(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    limit(
        store,
        &ada,
        LimitSettings::new(None, Some(5), None, None).unwrap(),
    )
    .await;
    let (created, refused) = race(store, &ada, 24, 10).await;
    assert_eq!(created, 5);
    assert_eq!(refused.len(), 19);
    assert!(
        refused
            .iter()
            .all(|b| matches!(b, Breach::TooManyPerMinute { quota }
            if quota.limit == 5 && quota.remaining == 0 && (1..=60).contains(&quota.reset_secs))),
        "{refused:?}"
    );
    // Refused submissions held nothing.
    assert_eq!(consistent_balance(store, &ada).await, (950, 50));
}

async fn racing_submissions_get_exactly_the_active_limit(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    limit(
        store,
        &ada,
        LimitSettings::new(Some(3), None, None, None).unwrap(),
    )
    .await;
    let (created, refused) = race(store, &ada, 16, 10).await;
    assert_eq!((created, refused.len()), (3, 13));
    assert!(refused
        .iter()
        .all(|b| *b == Breach::TooManyActive { limit: 3 }));
    // One finishing (here: canceled) frees a place for exactly one more.
    let queued = store.generations_of(&ada.id, None, None, 10).await.unwrap();
    store
        .cancel_generation(&ada.id, &queued.items[0].id, |_| String::new())
        .await
        .unwrap();
    let (created, _) = race(store, &ada, 4, 10).await;
    assert_eq!(created, 1);
    assert_eq!(consistent_balance(store, &ada).await, (970, 30));
}

async fn the_daily_cap_counts_what_is_held_or_spent_not_what_was_refunded(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    limit(
        store,
        &ada,
        LimitSettings::new(None, None, Some(100), None).unwrap(),
    )
    .await;
    let first = submit(store, &ada, 60).await.unwrap();
    let Err(StoreError::LimitReached(Breach::DailyCap {
        cap, spent, price, ..
    })) = submit(store, &ada, 50).await
    else {
        panic!("60 + 50 passes a cap of 100");
    };
    assert_eq!(
        (cap, spent, price),
        (Credits::new(100), Credits::new(60), Credits::new(50))
    );
    submit(store, &ada, 40).await.unwrap();
    store
        .cancel_generation(&ada.id, &first.id, |_| String::new())
        .await
        .unwrap();
    // The refunded 60 no longer count: 40 + 50 fits.
    submit(store, &ada, 50).await.unwrap();
    assert_eq!(consistent_balance(store, &ada).await, (910, 90));
}

async fn customer_overrides_win_over_the_defaults(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let partner = customer(store, "partner", 1000).await;
    store
        .set_limit_settings(
            LimitScope::Defaults,
            &LimitSettings::new(Some(1), None, None, None).unwrap(),
        )
        .await
        .unwrap();
    limit(
        store,
        &partner,
        LimitSettings::new(Some(3), None, None, Some(4)).unwrap(),
    )
    .await;
    assert_eq!(race(store, &ada, 4, 10).await.0, 1);
    assert_eq!(race(store, &partner, 6, 10).await.0, 3);
    let limits = store.customer_limits(&partner.id).await.unwrap();
    assert_eq!(limits.effective.max_active, Some(3));
    assert_eq!(limits.effective.weight.get(), 4);
    assert_eq!(limits.defaults.max_active, Some(1));
}

/// Claims every waiting generation one slot at a time, as dispatch does when the rate window
/// lets one through at a time; the owners in the order they were handed out.
async fn claim_order(store: &Store, users: &[(&User, &str)]) -> String {
    let mut order = String::new();
    while let Some(g) = store
        .claim(&queues::DISPATCH, 1, Duration::from_secs(600))
        .await
        .unwrap()
        .pop()
    {
        let (_, name) = users.iter().find(|(u, _)| u.id == g.user_id).unwrap();
        order.push_str(name);
    }
    order
}

async fn dispatch_serves_customers_in_turn_each_in_arrival_order(store: &TestStore) {
    let a = customer(store, "a", 10_000).await;
    let b = customer(store, "b", 10_000).await;
    let mut a_ids = Vec::new();
    for _ in 0..8 {
        a_ids.push(submit(store, &a, 1).await.unwrap().id);
    }
    for _ in 0..3 {
        submit(store, &b, 1).await.unwrap();
    }
    // B arrived after all of A's eight, and still gets every other slot once A's first is out.
    assert_eq!(
        claim_order(store, &[(&a, "A"), (&b, "B")]).await,
        "AABABABAAAA"
    );
    // A's own went in the order they came.
    let mut sent: Vec<_> = store
        .generations_of(&a.id, None, None, 20)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|g| (g.fair_key, g.id))
        .collect();
    sent.sort();
    assert_eq!(
        sent.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
        a_ids
    );
}

async fn a_heavier_tier_gets_more_turns(store: &TestStore) {
    let a = customer(store, "a", 10_000).await;
    let partner = customer(store, "p", 10_000).await;
    limit(
        store,
        &partner,
        LimitSettings::new(None, None, None, Some(4)).unwrap(),
    )
    .await;
    for _ in 0..4 {
        submit(store, &a, 1).await.unwrap();
    }
    for _ in 0..8 {
        submit(store, &partner, 1).await.unwrap();
    }
    assert_eq!(
        claim_order(store, &[(&a, "A"), (&partner, "P")]).await,
        "APPPAPPPPAPA"
    );
}

async fn an_idle_customer_saves_up_no_turns(store: &TestStore) {
    let a = customer(store, "a", 10_000).await;
    let b = customer(store, "b", 10_000).await;
    for _ in 0..6 {
        submit(store, &a, 1).await.unwrap();
    }
    assert_eq!(claim_order(store, &[(&a, "A"), (&b, "B")]).await, "AAAAAA");
    // B was idle all that time: it takes turns with A from now on, not six in a row.
    for _ in 0..3 {
        submit(store, &a, 1).await.unwrap();
    }
    for _ in 0..3 {
        submit(store, &b, 1).await.unwrap();
    }
    assert_eq!(claim_order(store, &[(&a, "A"), (&b, "B")]).await, "AABABB");
}

async fn the_queue_place_is_the_order_the_claim_sends_in(store: &TestStore) {
    let a = customer(store, "a", 10_000).await;
    let b = customer(store, "b", 10_000).await;
    let partner = customer(store, "p", 10_000).await;
    limit(
        store,
        &partner,
        LimitSettings::new(None, None, None, Some(4)).unwrap(),
    )
    .await;
    let mut ids = Vec::new();
    for (user, n) in [(&a, 6), (&partner, 6), (&b, 3)] {
        for _ in 0..n {
            ids.push(submit(store, user, 1).await.unwrap().id);
        }
    }
    let places = store.queue_places(&ids, 100).await.unwrap();
    assert_eq!(places.in_flight, 0);
    let mut by_place: Vec<(u64, GenerationId)> = ids
        .iter()
        .map(|id| (places.ahead[id], id.clone()))
        .collect();
    by_place.sort();
    assert_eq!(
        by_place.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        (0..15).collect::<Vec<u64>>(),
        "one place each"
    );
    let mut claimed = Vec::new();
    let claim_one = async || {
        store
            .claim(&queues::DISPATCH, 1, Duration::from_secs(600))
            .await
            .unwrap()
            .pop()
            .map(|g| g.id)
    };
    for _ in 0..5 {
        claimed.push(claim_one().await.unwrap());
    }
    // Claimed is being sent: it has no place any more, holds an upstream slot, and everyone
    // behind it moved up.
    let places = store.queue_places(&ids, 100).await.unwrap();
    assert_eq!(places.in_flight, 5);
    let mut left: Vec<u64> = places.ahead.values().copied().collect();
    left.sort();
    assert_eq!(left, (0..10).collect::<Vec<u64>>());
    assert_eq!(store.queue_places(&ids, 3).await.unwrap().in_flight, 3);
    while let Some(id) = claim_one().await {
        claimed.push(id);
    }
    assert_eq!(
        claimed,
        by_place.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
}

async fn places_deep_in_a_long_queue_come_from_a_view_at_most_a_second_old(store: &TestStore) {
    let ada = customer(store, "ada", 100_000).await;
    let exact = u64::from(EXACT_PLACES_UP_TO);
    let mut ids = Vec::new();
    for _ in 0..exact + 5 {
        ids.push(submit(store, &ada, 1).await.unwrap().id);
    }
    let place = async |i: usize| store.queue_places(&ids[i..=i], 100).await.unwrap().ahead[&ids[i]];
    // Counted, up to the limit; read from the view past it: the same places.
    assert_eq!(place(0).await, 0);
    assert_eq!(place(exact as usize - 1).await, exact - 1);
    assert_eq!(place(exact as usize).await, exact);
    assert_eq!(place(exact as usize + 4).await, exact + 4);

    for _ in 0..10 {
        store
            .claim(&queues::DISPATCH, 1, Duration::from_secs(600))
            .await
            .unwrap();
    }
    // The counted places move at once; the viewed ones once the view is read again (at
    // once, if the claims took longer than the view's age).
    assert_eq!(place(exact as usize - 1).await, exact - 11);
    assert!([exact + 4, exact - 6].contains(&place(exact as usize + 4).await));
    tokio::time::sleep(QUEUE_VIEW_TTL).await;
    assert_eq!(place(exact as usize + 4).await, exact - 6);
}
