//! Attempt throttles: however many requests reserve at once, on however many instances, no
//! subject gets more attempts in a window than the limit.

mod common;

use futures::future::join_all;
use reelgate_store::testing::TestStore;
use reelgate_store::{Attempt, AttemptLimit, Store};
use std::time::Duration;

on_both_backends!(
    the_sixth_attempt_is_refused_and_told_when_to_come_back,
    subjects_and_throttles_are_counted_apart,
    attempts_stop_counting_when_the_window_passes,
    clearing_and_forgiving_give_attempts_back,
    racing_instances_never_reserve_more_than_the_limit,
    the_table_holds_no_subject_in_clear,
);

const SIGN_IN: AttemptLimit = AttemptLimit {
    name: "sign_in",
    limit: 5,
    window: Duration::from_secs(15 * 60),
};

fn reserved(attempt: Attempt) -> reelgate_store::AttemptId {
    match attempt {
        Attempt::Reserved(id) => id,
        Attempt::Refused { retry_after } => panic!("refused for {retry_after:?}"),
    }
}

async fn the_sixth_attempt_is_refused_and_told_when_to_come_back(store: &TestStore) {
    for _ in 0..5 {
        reserved(
            store
                .reserve_attempt(&SIGN_IN, "ada|1.2.3.4")
                .await
                .unwrap(),
        );
    }
    match store
        .reserve_attempt(&SIGN_IN, "ada|1.2.3.4")
        .await
        .unwrap()
    {
        Attempt::Refused { retry_after } => assert!(
            retry_after > Duration::from_secs(14 * 60) && retry_after <= SIGN_IN.window,
            "{retry_after:?}"
        ),
        Attempt::Reserved(id) => panic!("a sixth attempt was reserved: {id:?}"),
    }
}

async fn subjects_and_throttles_are_counted_apart(store: &TestStore) {
    for _ in 0..5 {
        reserved(
            store
                .reserve_attempt(&SIGN_IN, "ada|1.2.3.4")
                .await
                .unwrap(),
        );
    }
    reserved(
        store
            .reserve_attempt(&SIGN_IN, "ada|5.6.7.8")
            .await
            .unwrap(),
    );
    reserved(
        store
            .reserve_attempt(&SIGN_IN, "bob|1.2.3.4")
            .await
            .unwrap(),
    );
    let reset = AttemptLimit {
        name: "password_reset",
        ..SIGN_IN
    };
    reserved(store.reserve_attempt(&reset, "ada|1.2.3.4").await.unwrap());
}

async fn attempts_stop_counting_when_the_window_passes(store: &TestStore) {
    let short = AttemptLimit {
        name: "short",
        limit: 2,
        window: Duration::from_millis(300),
    };
    reserved(store.reserve_attempt(&short, "ada").await.unwrap());
    reserved(store.reserve_attempt(&short, "ada").await.unwrap());
    let Attempt::Refused { retry_after } = store.reserve_attempt(&short, "ada").await.unwrap()
    else {
        panic!("a third attempt was reserved");
    };
    tokio::time::sleep(retry_after + Duration::from_millis(50)).await;
    reserved(store.reserve_attempt(&short, "ada").await.unwrap());
}

async fn clearing_and_forgiving_give_attempts_back(store: &TestStore) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(reserved(
            store.reserve_attempt(&SIGN_IN, "ada").await.unwrap(),
        ));
    }
    store.forgive_attempt(ids[0]).await.unwrap();
    let again = reserved(store.reserve_attempt(&SIGN_IN, "ada").await.unwrap());
    assert!(matches!(
        store.reserve_attempt(&SIGN_IN, "ada").await.unwrap(),
        Attempt::Refused { .. }
    ));
    assert_ne!(again, ids[0]);
    store.clear_attempts(&SIGN_IN, "ada").await.unwrap();
    for _ in 0..5 {
        reserved(store.reserve_attempt(&SIGN_IN, "ada").await.unwrap());
    }
}

async fn racing_instances_never_reserve_more_than_the_limit(store: &TestStore) {
    // Separate pools stand for separate instances.
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Store::connect(store.url()).await.unwrap());
    }
    let reservers = (0..60).map(|n| {
        let instance = instances[n % instances.len()].clone();
        async move { instance.reserve_attempt(&SIGN_IN, "ada|1.2.3.4").await }
    });
    let outcomes = join_all(reservers).await;
    let reserved = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Attempt::Reserved(_))))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Attempt::Refused { .. })))
        .count();
    assert_eq!((reserved, refused), (5, 55), "{outcomes:?}");
}

async fn the_table_holds_no_subject_in_clear(store: &TestStore) {
    reserved(
        store
            .reserve_attempt(&SIGN_IN, "ada@example.com|1.2.3.4")
            .await
            .unwrap(),
    );
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM throttle_attempts")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(subjects.len(), 1);
    assert!(!subjects[0].contains("ada"), "{subjects:?}");
    assert!(!subjects[0].contains("1.2.3.4"), "{subjects:?}");
}
