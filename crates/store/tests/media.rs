//! reelgate's copies of generated videos: queued with the success that produced them, claimed
//! by one copier at a time, deleted only by their owner, expired by retention.

mod common;

use chrono::Utc;
use common::customer;
use reelgate_domain::accounts::User;
use reelgate_domain::generations::{Generation, GenerationId, Video};
use reelgate_domain::media::{MediaState, StoredMedia};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{queues, Backend, MediaTrouble, NewGeneration, Outcome, Store, Submitted};
use std::time::Duration;

on_both_backends!(
    a_success_queues_one_copy_per_video_and_the_1080p_one_joins_later,
    a_copy_is_claimed_by_one_copier_and_recorded_once,
    a_copy_in_progress_renews_its_claim_until_it_is_recorded,
    failed_attempts_back_off_then_give_up_visibly,
    only_the_owner_deletes_and_a_deleted_copy_is_purged_once,
    retention_deletes_copies_older_than_the_cutoff,
    videos_of_generations_that_succeeded_before_the_upgrade_are_queued,
);

const LEASE: Duration = Duration::from_secs(60);

async fn submitted(store: &Store, user: &User) -> Generation {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "veo3-fast".into(),
        params: serde_json::Map::new(),
        upstream_request: serde_json::json!({"endpoint": "veo", "body": {}}),
        credits: Credits::new(50),
        upstream_cost_usd: "0.30".parse().unwrap(),
        webhook_url: None,
        idempotency: None,
    };
    match store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    {
        Submitted::Created(g, _) => *g,
        other => panic!("{other:?}"),
    }
}

fn video(name: &str, resolution: &str) -> Video {
    Video {
        url: format!("https://files.example/{name}.mp4"),
        resolution: Some(resolution.into()),
    }
}

/// A generation that succeeded with one 720p video, its 1080p one still to come.
async fn succeeded(store: &Store, user: &User) -> Generation {
    let generation = submitted(store, user).await;
    store.claim(&queues::DISPATCH, 1, LEASE).await.unwrap();
    store
        .record_accepted(&generation.id, &format!("t_{}", generation.id), Utc::now())
        .await
        .unwrap();
    let outcome = Outcome::Succeeded {
        videos: vec![video("a", "720p")],
        hd_pending: true,
    };
    store
        .settle_generation(&generation.id, &outcome, |_| String::new())
        .await
        .unwrap()
        .unwrap()
}

fn stored(name: &str) -> StoredMedia {
    StoredMedia {
        object_key: format!("videos/{name}.mp4"),
        content_type: "video/mp4".into(),
        size_bytes: 1234,
        thumbnail_key: Some(format!("videos/{name}.jpg")),
    }
}

async fn a_success_queues_one_copy_per_video_and_the_1080p_one_joins_later(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let generation = succeeded(store, &ada).await;
    let copies = store
        .media_of(std::slice::from_ref(&generation.id))
        .await
        .unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].source_url, "https://files.example/a.mp4");
    assert_eq!(copies[0].state, MediaState::Pending);
    assert_eq!(copies[0].user_id, ada.id);

    assert!(store
        .record_hd(&generation, Some(video("a-hd", "1080p")), None)
        .await
        .unwrap());
    // Recording it twice (a retried worker) queues nothing more.
    assert!(!store
        .record_hd(&generation, Some(video("a-hd", "1080p")), None)
        .await
        .unwrap());
    let copies = store
        .media_of(std::slice::from_ref(&generation.id))
        .await
        .unwrap();
    let queued: Vec<(u32, &str, Option<&str>)> = copies
        .iter()
        .map(|c| (c.index, c.source_url.as_str(), c.resolution.as_deref()))
        .collect();
    assert_eq!(
        queued,
        [
            (0, "https://files.example/a.mp4", Some("720p")),
            (1, "https://files.example/a-hd.mp4", Some("1080p")),
        ]
    );
    // A failed generation has nothing to copy.
    let other = submitted(store, &ada).await;
    store.claim(&queues::DISPATCH, 1, LEASE).await.unwrap();
    store
        .record_accepted(&other.id, "t_other", Utc::now())
        .await
        .unwrap();
    let failed = Outcome::Failed {
        error: reelgate_domain::generations::GenerationError {
            code: "generation_failed".into(),
            message: "no".into(),
        },
        upstream_error: None,
    };
    store
        .settle_generation(&other.id, &failed, |_| String::new())
        .await
        .unwrap();
    assert!(store.media_of(&[other.id]).await.unwrap().is_empty());
}

async fn a_copy_is_claimed_by_one_copier_and_recorded_once(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let generation = succeeded(store, &ada).await;
    let (first, second) = tokio::join!(
        store.claim(&queues::MEDIA_COPIES, 10, LEASE),
        store.claim(&queues::MEDIA_COPIES, 10, LEASE)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.len() + second.len(), 1, "one copier gets it");
    let claimed = first.into_iter().chain(second).next().unwrap();
    assert_eq!(claimed.attempts, 1);
    assert!(
        store
            .next_due(&queues::MEDIA_COPIES)
            .await
            .unwrap()
            .unwrap()
            > Utc::now()
    );

    assert!(store
        .record_media_copied(&generation.id, 0, &stored("a"))
        .await
        .unwrap());
    assert!(!store
        .record_media_copied(&generation.id, 0, &stored("b"))
        .await
        .unwrap());
    let copy = store.media_copy(&generation.id, 0).await.unwrap().unwrap();
    assert_eq!(copy.state, MediaState::Copied);
    assert_eq!(copy.served(), Some(&stored("a")));
    assert!(copy.copied_at.is_some());
    assert_eq!(store.next_due(&queues::MEDIA_COPIES).await.unwrap(), None);
}

async fn a_copy_in_progress_renews_its_claim_until_it_is_recorded(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let generation = succeeded(store, &ada).await;
    let short = Duration::from_secs(2);
    assert_eq!(
        store
            .claim(&queues::MEDIA_COPIES, 10, short)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(next_copy_due(store).await.unwrap() <= Utc::now() + chrono::Duration::seconds(2));
    // Renewed: another copier (or a restarted instance) cannot take it for a whole lease.
    assert!(store
        .extend_media_claim(&generation.id, 0, LEASE)
        .await
        .unwrap());
    assert!(next_copy_due(store).await.unwrap() > Utc::now() + chrono::Duration::seconds(30));
    assert!(store
        .claim(&queues::MEDIA_COPIES, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .record_media_copied(&generation.id, 0, &stored("a"))
        .await
        .unwrap());
    // Recorded: a late renewal changes nothing.
    assert!(!store
        .extend_media_claim(&generation.id, 0, LEASE)
        .await
        .unwrap());
    assert_eq!(next_copy_due(store).await, None);
}

async fn next_copy_due(store: &Store) -> Option<chrono::DateTime<Utc>> {
    store.next_due(&queues::MEDIA_COPIES).await.unwrap()
}

async fn failed_attempts_back_off_then_give_up_visibly(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let generation = succeeded(store, &ada).await;
    store.claim(&queues::MEDIA_COPIES, 10, LEASE).await.unwrap();
    let retry_at = Utc::now() + chrono::Duration::minutes(5);
    store
        .record_media_attempt_failed(&generation.id, 0, "HTTP 503", Some(retry_at))
        .await
        .unwrap();
    assert!(store
        .claim(&queues::MEDIA_COPIES, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let retrying = store
        .media_in_trouble(MediaTrouble::Retrying, 10)
        .await
        .unwrap();
    assert_eq!(retrying.len(), 1);
    assert_eq!(retrying[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        retrying[0].next_attempt_at.map(|t| t.timestamp_millis()),
        Some(retry_at.timestamp_millis())
    );

    store
        .record_media_attempt_failed(&generation.id, 0, "HTTP 404", None)
        .await
        .unwrap();
    let failed = store
        .media_in_trouble(MediaTrouble::Failed, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].state, MediaState::Failed);
    assert_eq!(failed[0].last_error.as_deref(), Some("HTTP 404"));
    assert!(store
        .media_in_trouble(MediaTrouble::Retrying, 10)
        .await
        .unwrap()
        .is_empty());
    // The generation itself stays succeeded.
    let still = store.generation(&generation.id).await.unwrap().unwrap();
    assert_eq!(
        still.status,
        reelgate_domain::generations::Status::Succeeded
    );

    assert!(store.retry_media(&generation.id, 0).await.unwrap());
    assert_eq!(
        store
            .claim(&queues::MEDIA_COPIES, 10, LEASE)
            .await
            .unwrap()
            .len(),
        1
    );
    let counts = store.media_counts().await.unwrap();
    assert_eq!(counts, [(MediaState::Pending, 1)]);
}

async fn only_the_owner_deletes_and_a_deleted_copy_is_purged_once(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let bob = customer(store, "bob", 1000).await;
    let generation = succeeded(store, &ada).await;
    store.claim(&queues::MEDIA_COPIES, 10, LEASE).await.unwrap();
    store
        .record_media_copied(&generation.id, 0, &stored("a"))
        .await
        .unwrap();

    assert_eq!(
        store
            .delete_media_of(&bob.id, &generation.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .media_copy(&generation.id, 0)
            .await
            .unwrap()
            .unwrap()
            .state,
        MediaState::Copied
    );
    assert_eq!(
        store
            .delete_media_of(&ada.id, &generation.id)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .delete_media_of(&ada.id, &generation.id)
            .await
            .unwrap(),
        Some(0)
    );
    let copy = store.media_copy(&generation.id, 0).await.unwrap().unwrap();
    assert_eq!(copy.state, MediaState::Deleted);
    assert_eq!(copy.deleted_reason.as_deref(), Some("customer"));
    assert_eq!(copy.served(), None);

    let to_purge = store.media_to_purge(10).await.unwrap();
    assert_eq!(to_purge.len(), 1);
    assert_eq!(
        to_purge[0].stored.as_ref().unwrap().object_key,
        "videos/a.mp4"
    );
    store.record_media_purged(&generation.id, 0).await.unwrap();
    assert!(store.media_to_purge(10).await.unwrap().is_empty());
}

async fn retention_deletes_copies_older_than_the_cutoff(store: &TestStore) {
    let ada = customer(store, "ada", 1000).await;
    let generation = succeeded(store, &ada).await;
    store.claim(&queues::MEDIA_COPIES, 10, LEASE).await.unwrap();
    store
        .record_media_copied(&generation.id, 0, &stored("a"))
        .await
        .unwrap();
    let a_day_ago = Utc::now() - chrono::Duration::days(1);
    assert_eq!(store.expire_media(a_day_ago).await.unwrap(), 0);
    let soon = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.expire_media(soon).await.unwrap(), 1);
    let copy = store.media_copy(&generation.id, 0).await.unwrap().unwrap();
    assert_eq!(copy.state, MediaState::Deleted);
    assert_eq!(copy.deleted_reason.as_deref(), Some("retention"));
}

/// A database at version 2 with a succeeded generation, migrated to this version.
async fn videos_of_generations_that_succeeded_before_the_upgrade_are_queued(upgraded: &TestStore) {
    let fresh = match upgraded.backend() {
        Backend::Sqlite => reelgate_store::testing::empty_sqlite_store().await.unwrap(),
        Backend::Postgres => reelgate_store::testing::empty_postgres_store()
            .await
            .unwrap(),
    };
    let store: &Store = &fresh;
    reelgate_store::testing::migrate_to(store, 2).await.unwrap();
    // Written as version 2 wrote them: today's accounts and submissions need today's schema.
    let ada = reelgate_domain::accounts::UserId::generate();
    let ada_id = ada.as_str();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, webhook_secret, created_at)
         VALUES ($1, 'ada@example.com', 'x', 'customer', 'whsec_x', 1)",
    )
    .bind(ada_id)
    .execute(store.pool())
    .await
    .unwrap();
    let id = GenerationId::new();
    sqlx::query(
        "INSERT INTO generations (id, user_id, model, params, upstream_request, credits,
             upstream_cost_usd, status, next_check_at, created_at, updated_at, finished_at, videos)
         VALUES ($1, $2, 'veo3-fast', '{}', '{}', 50, '0.30', 'succeeded', 1, 1, 1, 1, $3)",
    )
    .bind(id.as_str())
    .bind(ada_id)
    .bind(serde_json::to_string(&[video("old", "720p"), video("old-hd", "1080p")]).unwrap())
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(
        store.migrate().await.unwrap().last(),
        reelgate_store::known_versions(store.backend()).last()
    );
    let copies = store.media_of(std::slice::from_ref(&id)).await.unwrap();
    let queued: Vec<(u32, &str, Option<&str>, MediaState)> = copies
        .iter()
        .map(|c| {
            (
                c.index,
                c.source_url.as_str(),
                c.resolution.as_deref(),
                c.state,
            )
        })
        .collect();
    assert_eq!(
        queued,
        [
            (
                0,
                "https://files.example/old.mp4",
                Some("720p"),
                MediaState::Pending
            ),
            (
                1,
                "https://files.example/old-hd.mp4",
                Some("1080p"),
                MediaState::Pending
            ),
        ]
    );
    assert_eq!(
        store
            .claim(&queues::MEDIA_COPIES, 10, LEASE)
            .await
            .unwrap()
            .len(),
        2
    );
}
