//! Shared by the store's integration tests: run each test on both backends, and make users.
#![allow(dead_code)]

use reelgate_domain::accounts::{Email, Password, Role, User};
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store};

/// Declares, for each listed `async fn name(store: &Store)`, a test `sqlite::name` and a test
/// `postgres::name` that each run it on a fresh store of that backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let store = reelgate_store::testing::sqlite_store().await.unwrap();
                    super::$test(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let store = reelgate_store::testing::postgres_store().await.unwrap();
                    super::$test(&store).await;
                }
            )*
        }
    };
}

pub const PASSWORD: &str = "correct horse battery staple";

pub fn email(name: &str) -> Email {
    Email::parse(&format!("{name}@example.com")).unwrap()
}

pub async fn user_with(store: &Store, name: &str, role: Role, bonus: i64) -> User {
    store
        .create_user(NewUser {
            email: email(name),
            password: Password::parse(PASSWORD).unwrap(),
            role,
            signup_bonus: Credits::new(bonus),
        })
        .await
        .unwrap()
}

/// A customer holding `credits`, granted by the operator.
pub async fn customer(store: &Store, name: &str, credits: i64) -> User {
    let user = user_with(store, name, Role::Customer, 0).await;
    if credits > 0 {
        store
            .grant(&user.id, Credits::new(credits), "test credits", &Actor::Cli)
            .await
            .unwrap();
    }
    store.user(&user.id).await.unwrap()
}

/// Asserts the user's cached balances equal what their ledger rows say, and returns them.
pub async fn consistent_balance(store: &Store, user: &User) -> (i64, i64) {
    let audit = store.audit_balance(&user.id).await.unwrap();
    assert!(
        audit.is_consistent(),
        "cached balances disagree with the rows: {audit:?}"
    );
    assert!(
        audit.cached_balance.get() >= 0,
        "negative balance: {audit:?}"
    );
    (audit.cached_balance.get(), audit.cached_held.get())
}

/// The `n`th generation id of a test: each test has its own store, so ids may repeat across tests.
pub fn gen(n: u64) -> GenerationId {
    format!("gen_{n:026}").parse().unwrap()
}
