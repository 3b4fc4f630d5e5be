//! Paused models: one pause per model shared by every instance, lengthened once per refusal
//! however many instances see it, and one probe at a time once it is over.

mod common;

use chrono::{Duration, Utc};
use common::gen;
use futures::future::join_all;
use reelgate_store::testing::TestStore;
use reelgate_store::{ModelPause, Store};

on_both_backends!(
    a_pause_is_written_once_however_many_instances_see_the_refusal,
    only_one_generation_probes_a_model_once_its_pause_is_over,
    resuming_a_model_ends_its_pause,
);

const SORA: &str = "sora-2-text-to-video";

fn pause(strikes: u32, probe_in: Duration) -> ModelPause {
    let now = Utc::now();
    ModelPause {
        model: SORA.into(),
        reason: "feature disabled".into(),
        since: now,
        probe_at: now + probe_in,
        strikes,
        probe: None,
    }
}

async fn instances(store: &TestStore, n: usize) -> Vec<Store> {
    let mut instances = Vec::new();
    for _ in 0..n {
        instances.push(Store::connect(store.url()).await.unwrap());
    }
    instances
}

async fn a_pause_is_written_once_however_many_instances_see_the_refusal(store: &TestStore) {
    let instances = instances(store, 4).await;
    let first = pause(0, Duration::minutes(10));
    let written = join_all(
        instances
            .iter()
            .map(|instance| instance.put_model_pause(&first, None)),
    )
    .await;
    assert_eq!(written.iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
    // A refused probe lengthens it: written by the one that saw 0 strikes, once.
    let longer = pause(1, Duration::minutes(20));
    let written = join_all(
        instances
            .iter()
            .map(|instance| instance.put_model_pause(&longer, Some(0))),
    )
    .await;
    assert_eq!(written.iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
    let stored = store.model_pause(SORA).await.unwrap().unwrap();
    assert_eq!(stored.strikes, 1);
    assert_eq!(store.model_pauses().await.unwrap().len(), 1);
    assert!(store
        .model_pause("kling-2.6/text-to-video")
        .await
        .unwrap()
        .is_none());
}

async fn only_one_generation_probes_a_model_once_its_pause_is_over(store: &TestStore) {
    assert!(store
        .put_model_pause(&pause(0, Duration::minutes(10)), None)
        .await
        .unwrap());
    assert!(
        !store.take_model_probe(SORA, &gen(1)).await.unwrap(),
        "no probe while the pause runs"
    );
    assert!(store
        .put_model_pause(&pause(1, Duration::seconds(-1)), Some(0))
        .await
        .unwrap());
    let instances = instances(store, 4).await;
    let ids: Vec<_> = (10..30).map(gen).collect();
    let taken = join_all(
        ids.iter()
            .enumerate()
            .map(|(n, id)| instances[n % instances.len()].take_model_probe(SORA, id)),
    )
    .await;
    assert_eq!(taken.iter().filter(|t| *t.as_ref().unwrap()).count(), 1);
    let stored = store.model_pause(SORA).await.unwrap().unwrap();
    let (probe, _) = stored.probe.clone().expect("the probe is recorded");
    assert!(
        stored.refuses_at(Utc::now()),
        "others wait for the probe's answer"
    );
    // The probe will not reach the upstream (refused for its own content): another may probe.
    store.give_back_model_probe(SORA, &probe).await.unwrap();
    assert!(store.take_model_probe(SORA, &gen(99)).await.unwrap());
}

async fn resuming_a_model_ends_its_pause(store: &TestStore) {
    assert!(store
        .put_model_pause(&pause(0, Duration::minutes(10)), None)
        .await
        .unwrap());
    assert!(store.resume_model(SORA).await.unwrap());
    assert!(!store.resume_model(SORA).await.unwrap());
    assert!(store.model_pauses().await.unwrap().is_empty());
}
