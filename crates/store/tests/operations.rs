//! What operators ask of the database: whether it answers, a consistent copy, the figures
//! monitoring scrapes.

mod common;

use common::customer;
use reelgate_domain::generations::{GenerationError, GenerationId, Video};
use reelgate_domain::Credits;
use reelgate_store::testing::{sqlite_store, TestStore};
use reelgate_store::{queues, DatabaseUrl, NewGeneration, Outcome, Store, StoreError};
use rust_decimal::Decimal;

on_both_backends!(figures_count_generations_by_model_and_status_and_the_queue,);

fn new_generation(
    user: &reelgate_domain::accounts::User,
    model: &str,
    credits: i64,
) -> NewGeneration {
    NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: model.into(),
        params: serde_json::Map::new(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(credits),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: Some("https://hooks.example.com/x".into()),
        idempotency: None,
    }
}

async fn figures_count_generations_by_model_and_status_and_the_queue(store: &TestStore) {
    store.ping().await.unwrap();
    let user = customer(store, "ada", 1000).await;
    let mut ids = Vec::new();
    for (model, credits) in [("kling", 45), ("kling", 45), ("kling", 45), ("grok", 30)] {
        let new = new_generation(&user, model, credits);
        ids.push(new.id.clone());
        store
            .submit_generation(&new, |_| String::new())
            .await
            .unwrap();
    }
    let claimed = store
        .claim(&queues::DISPATCH, 2, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(store.figures().await.unwrap().in_flight, 2);
    store
        .record_accepted(&ids[0], "task_1", chrono::Utc::now())
        .await
        .unwrap();
    let succeeded = Outcome::Succeeded {
        videos: vec![Video {
            url: "https://v/1.mp4".into(),
            resolution: None,
        }],
        hd_pending: false,
    };
    let failed = Outcome::Failed {
        error: GenerationError {
            code: "generation_failed".into(),
            message: "no".into(),
        },
        upstream_error: None,
    };
    store
        .settle_generation(&ids[0], &succeeded, |_| "{}".into())
        .await
        .unwrap();
    store
        .settle_generation(&ids[1], &failed, |_| "{}".into())
        .await
        .unwrap();

    let figures = store.figures().await.unwrap();
    let tally = |model: &str, status: &str| {
        figures
            .generations
            .iter()
            .find(|t| t.model == model && t.status == status)
            .map(|t| (t.count, t.credits))
    };
    assert_eq!(tally("kling", "succeeded"), Some((1, 45)));
    assert_eq!(tally("kling", "failed"), Some((1, 45)));
    assert_eq!(tally("kling", "queued"), Some((1, 45)));
    assert_eq!(tally("grok", "queued"), Some((1, 30)));
    assert_eq!(figures.queue_depth, 2);
    assert_eq!(figures.in_flight, 0);
    assert_eq!(figures.webhook_deliveries, vec![("pending".to_owned(), 2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_opens_with_the_same_rows() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let store = sqlite_store().await.unwrap();
    let user = customer(&store, "ada", 10_000_000).await;
    // Writes go on before, during and after the copy; the copy is one snapshot, so it holds
    // whole generations with their holds, never half of one, and some but not all of them.
    let written = Arc::new(AtomicUsize::new(0));
    let copied = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, user) = (Store::clone(&store), user.clone());
        let (written, copied) = (Arc::clone(&written), Arc::clone(&copied));
        tokio::spawn(async move {
            let mut after_copy = 0;
            while after_copy < 10 {
                store
                    .submit_generation(&new_generation(&user, "kling", 45), |_| String::new())
                    .await
                    .unwrap();
                written.fetch_add(1, Ordering::SeqCst);
                if copied.load(Ordering::SeqCst) {
                    after_copy += 1;
                }
            }
            written.load(Ordering::SeqCst)
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while written.load(Ordering::SeqCst) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never got going"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let dir = tempfile_dir();
    let target = dir.join("backup.db");
    store.backup_to(&target).await.unwrap();
    copied.store(true, Ordering::SeqCst);
    let total = writer.await.unwrap() as i64;

    let copy = Store::connect(&DatabaseUrl::sqlite(&target)).await.unwrap();
    let count = |store: Store, sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    let generations = count(copy.clone(), "SELECT COUNT(*) FROM generations").await;
    let holds = count(
        copy.clone(),
        "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'hold'",
    )
    .await;
    assert_eq!(
        generations, holds,
        "a hold for every generation in the copy"
    );
    assert!(
        (20..total).contains(&generations),
        "the copy holds the {generations} generations written before it, of {total} in all"
    );
    let audit = copy.audit_balance(&user.id).await.unwrap();
    assert!(audit.is_consistent(), "{audit:?}");
    assert_eq!(
        copy.migrate().await.unwrap(),
        Vec::<i64>::new(),
        "fully migrated"
    );

    // After the writer finished, a second copy has exactly the live rows.
    let again = dir.join("again.db");
    store.backup_to(&again).await.unwrap();
    let copy = Store::connect(&DatabaseUrl::sqlite(&again)).await.unwrap();
    for sql in [
        "SELECT COUNT(*) FROM generations",
        "SELECT COUNT(*) FROM ledger_entries",
        "SELECT COUNT(*) FROM users",
    ] {
        assert_eq!(
            count(copy.clone(), sql).await,
            count(Store::clone(&store), sql).await,
            "{sql}"
        );
    }
    assert!(matches!(
        store.backup_to(&again).await,
        Err(StoreError::BackupTargetExists(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_databases_are_not_copied_by_backup() {
    let store = reelgate_store::testing::postgres_store().await.unwrap();
    let target = tempfile_dir().join("x.db");
    assert!(matches!(
        store.backup_to(&target).await,
        Err(StoreError::Unsupported(_))
    ));
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join("reelgate-tests")
        .join(ulid::Ulid::new().to_string().to_lowercase());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
