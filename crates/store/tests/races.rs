//! Money under concurrency: however requests race, balances never go negative and every
//! generation settles once.

mod common;

use common::{consistent_balance, customer, gen};
use futures::future::join_all;
use reelgate_domain::ledger::{Actor, VoucherCode};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{NewVoucher, Store, StoreError};

on_both_backends!(
    parallel_holds_accept_exactly_what_the_balance_covers,
    racing_capture_and_release_settle_once,
    racing_redemptions_respect_the_voucher_limit,
    a_second_process_can_write_while_the_first_is_busy,
);

async fn parallel_holds_accept_exactly_what_the_balance_covers(store: &TestStore) {
    let user = customer(store, "ada", 100).await;
    let holds = (0..64).map(|n| {
        let store = Store::clone(store);
        let user = user.id.clone();
        tokio::spawn(async move { store.hold(&user, &gen(n), Credits::new(7), "race").await })
    });
    let mut accepted = 0;
    for outcome in join_all(holds).await {
        match outcome.unwrap() {
            Ok(_) => accepted += 1,
            Err(StoreError::InsufficientCredits { .. }) => {}
            Err(other) => panic!("a hold failed for the wrong reason: {other:?}"),
        }
    }
    assert_eq!(accepted, 100 / 7);
    assert_eq!(
        consistent_balance(store, &user).await,
        (100 % 7, 7 * (100 / 7))
    );
}

async fn racing_capture_and_release_settle_once(store: &TestStore) {
    let user = customer(store, "ada", 1000).await;
    for n in 0..8 {
        let generation = gen(n);
        store
            .hold(&user.id, &generation, Credits::new(10), "race")
            .await
            .unwrap();
        let attempts = (0..8).map(|i| {
            let store = Store::clone(store);
            let generation = generation.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    store.capture(&generation).await
                } else {
                    store.release(&generation, "failed").await
                }
            })
        });
        let settled = join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .filter(|did| *did)
            .count();
        assert_eq!(
            settled, 1,
            "generation {generation} settled {settled} times"
        );
    }
    let (balance, held) = consistent_balance(store, &user).await;
    assert_eq!(held, 0);
    assert!(balance <= 1000 && (1000 - balance) % 10 == 0);
}

async fn racing_redemptions_respect_the_voucher_limit(store: &TestStore) {
    let code = VoucherCode::parse("FIRST-FIVE").unwrap();
    store
        .create_voucher(NewVoucher {
            code: Some(code.clone()),
            credits: Credits::new(10),
            max_redemptions: 5,
            expires_at: None,
            created_by: Actor::Cli,
        })
        .await
        .unwrap();
    let mut users = Vec::new();
    for n in 0..16 {
        users.push(customer(store, &format!("user{n}"), 0).await);
    }
    let redemptions = users.iter().map(|user| {
        let store = Store::clone(store);
        let user = user.id.clone();
        let code = code.clone();
        tokio::spawn(async move { store.redeem_voucher(&user, &code).await })
    });
    let mut redeemed = 0;
    for outcome in join_all(redemptions).await {
        match outcome.unwrap() {
            Ok(_) => redeemed += 1,
            Err(StoreError::VoucherUsedUp) => {}
            Err(other) => panic!("a redemption failed for the wrong reason: {other:?}"),
        }
    }
    assert_eq!(redeemed, 5);
    let total: i64 = {
        let mut total = 0;
        for user in &users {
            total += consistent_balance(store, user).await.0;
        }
        total
    };
    assert_eq!(total, 50);
}

/// `reelgate admin grant` runs as its own process with its own pool while `serve` is busy
/// writing; both must get through (SQLite: busy_timeout and write-first transactions).
async fn a_second_process_can_write_while_the_first_is_busy(store: &TestStore) {
    let cli = Store::connect(store.url()).await.unwrap();
    let user = customer(store, "ada", 1_000).await;
    let serve_work = (0..40).map(|n| {
        let store = Store::clone(store);
        let user = user.id.clone();
        tokio::spawn(async move {
            let generation = gen(n);
            store
                .hold(&user, &generation, Credits::new(5), "busy")
                .await?;
            store.capture(&generation).await
        })
    });
    let cli_work = (0..20).map(|_| {
        let cli = cli.clone();
        let user = user.id.clone();
        tokio::spawn(async move {
            cli.grant(&user, Credits::new(3), "cli grant", &Actor::Cli)
                .await
                .map(|_| true)
        })
    });
    let all: Vec<_> = serve_work.chain(cli_work).collect();
    for outcome in join_all(all).await {
        assert!(outcome.unwrap().unwrap());
    }
    assert_eq!(
        consistent_balance(store, &user).await,
        (1_000 - 200 + 60, 0)
    );
    cli.close().await;
}
