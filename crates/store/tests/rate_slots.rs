//! The shared rate window: however many instances take slots at once, no window holds more
//! requests than the limit.

mod common;

use futures::future::join_all;
use reelgate_store::testing::TestStore;
use reelgate_store::{RateSlots, RateWindow, Store};
use std::time::{Duration, Instant};

on_both_backends!(
    slots_run_out_at_the_limit_and_say_when_one_frees,
    unused_slots_come_back_at_once,
    an_answered_slot_counts_one_window_from_its_answer,
    an_unanswered_slot_counts_until_it_could_no_longer_arrive,
    a_refusal_fills_the_window,
    racing_instances_never_take_more_than_the_limit,
    the_operator_and_the_estimates_see_when_each_slot_frees,
);

fn window(requests: u32, per_ms: u64) -> RateWindow {
    RateWindow {
        name: "creates".into(),
        requests,
        per: Duration::from_millis(per_ms),
        unanswered_for: Duration::from_millis(per_ms),
    }
}

fn taken(slots: RateSlots) -> Vec<i64> {
    match slots {
        RateSlots::Taken(ids) => ids,
        RateSlots::Full(wait) => panic!("expected free slots, window full for {wait:?}"),
    }
}

async fn slots_run_out_at_the_limit_and_say_when_one_frees(store: &TestStore) {
    let w = window(3, 60_000);
    let first = taken(store.take_rate_slots(&w, 2).await.unwrap());
    assert_eq!(first.len(), 2);
    assert_eq!(taken(store.take_rate_slots(&w, 5).await.unwrap()).len(), 1);
    for id in &first {
        store.answered_rate_slot(&w, *id).await.unwrap();
    }
    match store.take_rate_slots(&w, 1).await.unwrap() {
        RateSlots::Full(wait) => assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "the first answered slot frees a window after its answer, not {wait:?}"
        ),
        RateSlots::Taken(ids) => panic!("took {ids:?} beyond the limit"),
    }
    let other = RateWindow {
        name: "another limit".into(),
        ..w
    };
    assert_eq!(
        taken(store.take_rate_slots(&other, 1).await.unwrap()).len(),
        1
    );
}

async fn unused_slots_come_back_at_once(store: &TestStore) {
    let w = window(2, 60_000);
    let ids = taken(store.take_rate_slots(&w, 2).await.unwrap());
    store.release_rate_slots(&ids).await.unwrap();
    assert_eq!(taken(store.take_rate_slots(&w, 2).await.unwrap()).len(), 2);
}

/// How long a window lasts in the tests that wait for one to pass: seconds, so that a loaded
/// machine's late wake-ups (hundreds of ms) cannot decide the result. Those tests never sleep
/// and then look: they poll for the moment the slot frees, and bound that moment on both
/// sides (lateness only moves it later, so the lower bound never fails on a slow machine).
const WINDOW: Duration = Duration::from_secs(2);

/// Polls until a slot of `w` can be taken (it takes it), and says how long after `since` that
/// was; fails if none frees within ten windows.
async fn first_free_slot(store: &TestStore, w: &RateWindow, since: Instant) -> Duration {
    let deadline = since + 10 * WINDOW;
    loop {
        if let RateSlots::Taken(_) = store.take_rate_slots(w, 1).await.unwrap() {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "no slot freed within {:?}",
            10 * WINDOW
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The database keeps whole milliseconds; a slot may free this much before the test's clock
/// says a window has passed.
const CLOCK_SLACK: Duration = Duration::from_millis(20);

async fn an_answered_slot_counts_one_window_from_its_answer(store: &TestStore) {
    let w = RateWindow {
        unanswered_for: Duration::from_secs(60),
        ..window(1, WINDOW.as_millis() as u64)
    };
    let id = taken(store.take_rate_slots(&w, 1).await.unwrap())[0];
    // Answered a window after it was taken: a slot counted from its taking would be free at
    // once.
    tokio::time::sleep(WINDOW).await;
    let before_answer = Instant::now();
    store.answered_rate_slot(&w, id).await.unwrap();
    let freed = first_free_slot(store, &w, before_answer).await;
    assert!(
        freed + CLOCK_SLACK >= WINDOW,
        "the slot freed {freed:?} after its answer; it counts a whole window ({WINDOW:?}) from it"
    );
}

async fn an_unanswered_slot_counts_until_it_could_no_longer_arrive(store: &TestStore) {
    // A taker that died never answers: its slot still frees, after the longest wait plus a window.
    let w = RateWindow {
        unanswered_for: WINDOW,
        ..window(1, WINDOW.as_millis() as u64)
    };
    let before_take = Instant::now();
    taken(store.take_rate_slots(&w, 1).await.unwrap());
    match store.take_rate_slots(&w, 1).await.unwrap() {
        RateSlots::Full(wait) => assert!(wait <= Duration::from_millis(100), "{wait:?}"),
        RateSlots::Taken(_) => panic!("an unanswered slot must count"),
    }
    let freed = first_free_slot(store, &w, before_take).await;
    assert!(
        freed + CLOCK_SLACK >= 2 * WINDOW,
        "the unanswered slot freed {freed:?} after it was taken; it counts for its wait for an \
         answer and a window after it ({:?})",
        2 * WINDOW
    );
}

async fn a_refusal_fills_the_window(store: &TestStore) {
    let w = window(5, 60_000);
    let one = taken(store.take_rate_slots(&w, 1).await.unwrap());
    store.fill_rate_window(&w).await.unwrap();
    assert!(matches!(
        store.take_rate_slots(&w, 1).await.unwrap(),
        RateSlots::Full(_)
    ));
    store.release_rate_slots(&one).await.unwrap();
    assert_eq!(taken(store.take_rate_slots(&w, 3).await.unwrap()).len(), 1);
}

async fn racing_instances_never_take_more_than_the_limit(store: &TestStore) {
    // Separate pools stand for separate instances.
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Store::connect(store.url()).await.unwrap());
    }
    let w = window(7, 60_000);
    let takers = (0..24).map(|n| {
        let store = instances[n % instances.len()].clone();
        let w = w.clone();
        tokio::spawn(async move { store.take_rate_slots(&w, 2).await.unwrap() })
    });
    let mut total = 0;
    for slots in join_all(takers).await {
        if let RateSlots::Taken(ids) = slots.unwrap() {
            total += ids.len();
        }
    }
    assert_eq!(total, 7);
    for instance in instances {
        instance.close().await;
    }
}

async fn the_operator_and_the_estimates_see_when_each_slot_frees(store: &TestStore) {
    // Unanswered slots could count for ten minutes; an estimate takes their answer as due.
    let w = RateWindow {
        unanswered_for: Duration::from_secs(600),
        ..window(4, 60_000)
    };
    assert_eq!(store.rate_slots_in_use(&w).await.unwrap(), 0);
    assert!(store.rate_slots_free_in(&w).await.unwrap().is_empty());
    let ids = taken(store.take_rate_slots(&w, 3).await.unwrap());
    store.answered_rate_slot(&w, ids[0]).await.unwrap();
    assert_eq!(store.rate_slots_in_use(&w).await.unwrap(), 3);
    let free_in = store.rate_slots_free_in(&w).await.unwrap();
    assert_eq!(free_in.len(), 3, "{free_in:?}");
    for wait in &free_in {
        assert!(
            *wait > Duration::from_secs(55) && *wait <= Duration::from_secs(60),
            "answered: a window after its answer; unanswered: a window from now, not {wait:?}"
        );
    }
    let other = RateWindow {
        name: "another limit".into(),
        ..w.clone()
    };
    assert_eq!(store.rate_slots_in_use(&other).await.unwrap(), 0);
    store.release_rate_slots(&ids[1..]).await.unwrap();
    assert_eq!(store.rate_slots_in_use(&w).await.unwrap(), 1);
}
