//! The ledger hold (`ledger::hold`: the conditional balance debit and the `hold` row) in a
//! transaction of its own, committed, as `POST /v1/generations` does it; and the whole
//! `Store::submit_generation` (hold + generation row), one at a time and 64 at once. On SQLite (a temp file, the server's
//! pragmas) and, when reachable, on the test PostgreSQL server (a fresh schema).
//!
//! `cargo bench -p reelgate-store --bench ledger_hold`

use criterion::{criterion_group, criterion_main, Criterion};
use reelgate_domain::accounts::{Email, Password, Role, UserId};
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::testing::{postgres_store, sqlite_store, TestStore};
use reelgate_store::{ledger, NewGeneration, NewUser, Store};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::runtime::Runtime;

async fn rich_customer(store: &Store) -> UserId {
    let user = store
        .create_user(NewUser {
            email: Email::parse("bench@example.com").expect("a valid address"),
            password: Password::parse("correct horse battery staple").expect("a valid password"),
            role: Role::Customer,
            signup_bonus: Credits::ZERO,
        })
        .await
        .expect("user created");
    store
        .grant(
            &user.id,
            Credits::new(ledger::MAX_BALANCE.get() / 2),
            "bench",
            &Actor::Cli,
        )
        .await
        .expect("credits granted");
    user.id
}

fn new_generation(user: &UserId) -> NewGeneration {
    let params = json!({"prompt": "a red fox running through snow", "aspect_ratio": "16:9",
                        "duration": 5, "sound": false});
    NewGeneration {
        id: GenerationId::new(),
        user_id: user.clone(),
        model: "kling-2.6/text-to-video".to_owned(),
        params: params.as_object().cloned().unwrap_or_default(),
        upstream_request: json!({"api": "jobs", "body": {"model": "kling-2.6/text-to-video",
                                 "input": params}}),
        credits: Credits::new(45),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: None,
        idempotency: None,
    }
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: &TestStore) {
    let user = rt.block_on(rich_customer(store));
    let mut group = c.benchmark_group(format!("ledger/{name}"));
    group.bench_function("hold (own transaction, committed)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = store.begin().await.expect("begin");
                ledger::hold(
                    &mut tx,
                    &user,
                    &GenerationId::new(),
                    Credits::new(45),
                    "bench",
                )
                .await
                .expect("held");
                tx.commit().await.expect("commit");
            })
        })
    });
    group.bench_function("submit_generation (hold + insert)", |b| {
        b.iter(|| {
            rt.block_on(async {
                store
                    .submit_generation(&new_generation(&user), |_| String::new())
                    .await
                    .expect("submitted")
            })
        })
    });
    // What the store alone sustains under the bench's 64 clients: on SQLite, what arrives
    // together is written as one batch (group commit). Reported per submission.
    group.bench_function("submit_generation, 64 at once (per submission)", |b| {
        b.iter_custom(|submissions| {
            rt.block_on(async {
                let started = std::time::Instant::now();
                let mut left = submissions;
                while left > 0 {
                    let wave = left.min(64);
                    let waves = (0..wave).map(|_| {
                        let (store, user) = (Store::clone(store), user.clone());
                        tokio::spawn(async move {
                            store
                                .submit_generation(&new_generation(&user), |_| String::new())
                                .await
                                .expect("submitted")
                        })
                    });
                    for submitted in futures::future::join_all(waves).await {
                        submitted.expect("the task ran");
                    }
                    left -= wave;
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

fn ledger_hold(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let sqlite = rt.block_on(sqlite_store()).expect("a SQLite store");
    bench_backend(c, &rt, "sqlite", &sqlite);
    match rt.block_on(postgres_store()) {
        Ok(postgres) => bench_backend(c, &rt, "postgres", &postgres),
        Err(error) => eprintln!("skipping PostgreSQL: {error}"),
    }
}

criterion_group!(benches, ledger_hold);
criterion_main!(benches);
