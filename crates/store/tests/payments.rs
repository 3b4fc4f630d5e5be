//! Buying credits: packages, payments, and credits that follow the provider's facts exactly
//! once, with refunds, chargebacks and debt, on both backends.

mod common;

use common::{consistent_balance, customer, gen};
use reelgate_domain::ledger::EntryKind;
use reelgate_domain::payments::{
    Dispute, Fact, Money, Package, PackageName, Payment, PaymentStatus, ProviderKind,
};
use reelgate_domain::Credits;
use reelgate_store::{NewPackage, NewPaymentEvent, PackageChange, Store, StoreError};
use rust_decimal::Decimal;
use std::str::FromStr;

async fn package(store: &Store, credits: i64, bonus: i64, price: &str) -> Package {
    store
        .create_package(&NewPackage {
            name: PackageName::parse("Starter").unwrap(),
            credits: Credits::new(credits),
            bonus_credits: Credits::new(bonus),
            price: Money::parse(price, "TRY").unwrap(),
            active: true,
            position: 1,
        })
        .await
        .unwrap()
}

async fn checkout(store: &Store, user: &reelgate_domain::accounts::User, pkg: &Package) -> Payment {
    store
        .open_payment(&user.id, &pkg.id, ProviderKind::Demo)
        .await
        .unwrap()
}

fn paid() -> Fact {
    Fact::Paid {
        provider_payment_id: Some("pi_1".into()),
    }
}

fn event(id: &str, payment: &Payment) -> NewPaymentEvent {
    NewPaymentEvent {
        provider: ProviderKind::Stripe,
        event_id: Some(id.into()),
        event_type: "checkout.session.completed".into(),
        payment_id: Some(payment.id.clone()),
        payload: "{}".into(),
    }
}

fn refunded(total: &str) -> Fact {
    Fact::RefundedTotal(Decimal::from_str(total).unwrap())
}

async fn kinds_of(
    store: &Store,
    user: &reelgate_domain::accounts::User,
) -> Vec<(EntryKind, i64, i64)> {
    let mut rows: Vec<_> = store
        .ledger_page(&user.id, None, 200)
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.payment_id.is_some())
        .map(|e| (e.kind, e.amount.get(), e.debt.get()))
        .collect();
    rows.reverse();
    rows
}

async fn a_confirmed_payment_credits_once_with_its_bonus(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 500, 50, "149.90").await;
    let payment = checkout(store, &user, &pkg).await;
    assert_eq!(payment.status(), PaymentStatus::Pending);
    for _ in 0..3 {
        let settled = store
            .apply_payment_facts(&payment.id, &[paid()], Some(&event("evt_1", &payment)))
            .await
            .unwrap();
        assert_eq!(settled.payment.status(), PaymentStatus::Paid);
    }
    // A different event saying the same thing moves nothing either.
    store
        .apply_payment_facts(&payment.id, &[paid()], Some(&event("evt_2", &payment)))
        .await
        .unwrap();
    assert_eq!(consistent_balance(store, &user).await, (550, 0));
    assert_eq!(
        kinds_of(store, &user).await,
        vec![(EntryKind::Purchase, 550, 0)]
    );
    let events = store.payment_events(Some(&payment.id), 10).await.unwrap();
    let verdicts: Vec<&str> = events.iter().map(|e| e.verification.as_str()).collect();
    assert_eq!(verdicts, ["verified", "duplicate", "duplicate", "verified"]);
    assert!(
        events[0].effect.contains("purchase +550"),
        "{:?}",
        events[0]
    );
}

async fn the_price_at_checkout_is_the_price_paid(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 500, 0, "149.90").await;
    let payment = checkout(store, &user, &pkg).await;
    let change = PackageChange {
        credits: Some(Credits::new(100)),
        price: Some(Money::parse("999.00", "TRY").unwrap()),
        ..PackageChange::default()
    };
    let repriced = store.update_package(&pkg.id, &change).await.unwrap();
    assert_eq!(repriced.price.amount_string(), "999.00");
    let settled = store
        .apply_payment_facts(&payment.id, &[paid()], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.price.amount_string(), "149.90");
    assert_eq!(consistent_balance(store, &user).await, (500, 0));
}

async fn hidden_packages_cannot_be_bought(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 500, 0, "10").await;
    let hide = PackageChange {
        active: Some(false),
        ..PackageChange::default()
    };
    store.update_package(&pkg.id, &hide).await.unwrap();
    assert!(store.packages(false).await.unwrap().is_empty());
    assert_eq!(store.packages(true).await.unwrap().len(), 1);
    let refused = store
        .open_payment(&user.id, &pkg.id, ProviderKind::Demo)
        .await;
    assert!(
        matches!(refused, Err(StoreError::PackageNotFound)),
        "{refused:?}"
    );
}

async fn a_refund_after_spending_leaves_debt_that_the_next_purchase_pays(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 0, "50").await;
    let first = checkout(store, &user, &pkg).await;
    store
        .apply_payment_facts(&first.id, &[paid()], None)
        .await
        .unwrap();
    // 70 of the 100 are spent on a generation.
    store
        .hold(&user.id, &gen(1), Credits::new(70), "gen")
        .await
        .unwrap();
    store.capture(&gen(1)).await.unwrap();
    let settled = store
        .apply_payment_facts(&first.id, &[refunded("50")], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Refunded);
    let owner = store.user(&user.id).await.unwrap();
    assert_eq!((owner.balance.get(), owner.debt.get()), (0, 70));
    let refused = store.hold(&user.id, &gen(2), Credits::new(0), "gen").await;
    assert!(
        matches!(refused, Err(StoreError::InDebt { debt }) if debt == Credits::new(70)),
        "{refused:?}"
    );

    let second = checkout(store, &user, &pkg).await;
    store
        .apply_payment_facts(&second.id, &[paid()], None)
        .await
        .unwrap();
    let owner = store.user(&user.id).await.unwrap();
    assert_eq!((owner.balance.get(), owner.debt.get()), (30, 0));
    consistent_balance(store, &user).await;
    assert_eq!(
        kinds_of(store, &user).await,
        vec![
            (EntryKind::Purchase, 100, 0),
            (EntryKind::Reversal, -30, 0),
            (EntryKind::Debt, 0, 70),
            (EntryKind::Purchase, 100, 0),
            (EntryKind::DebtRepayment, -70, -70),
        ]
    );
    store
        .hold(&user.id, &gen(3), Credits::new(30), "gen")
        .await
        .unwrap();
}

async fn partial_refunds_take_back_their_share(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 0, "40").await;
    let payment = checkout(store, &user, &pkg).await;
    store
        .apply_payment_facts(&payment.id, &[paid()], None)
        .await
        .unwrap();
    let settled = store
        .apply_payment_facts(&payment.id, &[refunded("10")], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::PartiallyRefunded);
    assert_eq!(consistent_balance(store, &user).await, (75, 0));
    // An older, smaller total arriving late changes nothing.
    store
        .apply_payment_facts(&payment.id, &[refunded("5")], None)
        .await
        .unwrap();
    assert_eq!(consistent_balance(store, &user).await, (75, 0));
    store
        .apply_payment_facts(&payment.id, &[refunded("40")], None)
        .await
        .unwrap();
    assert_eq!(consistent_balance(store, &user).await, (0, 0));
}

async fn a_dispute_takes_credits_back_and_a_won_one_returns_them(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 20, "40").await;
    let payment = checkout(store, &user, &pkg).await;
    store
        .apply_payment_facts(&payment.id, &[paid()], None)
        .await
        .unwrap();
    store
        .hold(&user.id, &gen(1), Credits::new(50), "gen")
        .await
        .unwrap();
    let settled = store
        .apply_payment_facts(&payment.id, &[Fact::Dispute(Dispute::Open)], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Disputed);
    // 70 spendable taken back; the 50 held for a running generation become debt.
    let owner = store.user(&user.id).await.unwrap();
    assert_eq!(
        (owner.balance.get(), owner.held.get(), owner.debt.get()),
        (0, 50, 50)
    );
    let settled = store
        .apply_payment_facts(&payment.id, &[Fact::Dispute(Dispute::Won)], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Paid);
    let owner = store.user(&user.id).await.unwrap();
    assert_eq!(
        (owner.balance.get(), owner.held.get(), owner.debt.get()),
        (70, 50, 0)
    );
    // A late "dispute created" after it was won does not reopen it.
    store
        .apply_payment_facts(&payment.id, &[Fact::Dispute(Dispute::Open)], None)
        .await
        .unwrap();
    assert_eq!(consistent_balance(store, &user).await, (70, 50));
}

async fn a_refund_seen_before_the_payment_is_applied_when_it_is_confirmed(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 0, "40").await;
    let payment = checkout(store, &user, &pkg).await;
    let settled = store
        .apply_payment_facts(&payment.id, &[refunded("40")], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Pending);
    assert_eq!(consistent_balance(store, &user).await, (0, 0));
    let settled = store
        .apply_payment_facts(&payment.id, &[paid()], None)
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Refunded);
    let owner = store.user(&user.id).await.unwrap();
    assert_eq!((owner.balance.get(), owner.debt.get()), (0, 0));
    consistent_balance(store, &user).await;
}

async fn a_decline_after_payment_changes_nothing(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 0, "40").await;
    let payment = checkout(store, &user, &pkg).await;
    store
        .apply_payment_facts(&payment.id, &[paid()], None)
        .await
        .unwrap();
    let settled = store
        .apply_payment_facts(
            &payment.id,
            &[Fact::Failed("declined".into()), Fact::Expired],
            None,
        )
        .await
        .unwrap();
    assert_eq!(settled.payment.status(), PaymentStatus::Paid);
    assert_eq!(consistent_balance(store, &user).await, (100, 0));
}

async fn fifty_copies_of_one_event_at_once_credit_once(store: &Store) {
    let user = customer(store, "ada", 0).await;
    let pkg = package(store, 100, 0, "40").await;
    let payment = checkout(store, &user, &pkg).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let payment = payment.clone();
            tokio::spawn(async move {
                store
                    .apply_payment_facts(&payment.id, &[paid()], Some(&event("evt_race", &payment)))
                    .await
                    .map(|s| s.duplicate)
            })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        if !task.await.unwrap().unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
    assert_eq!(consistent_balance(store, &user).await, (100, 0));
    assert_eq!(
        kinds_of(store, &user).await,
        vec![(EntryKind::Purchase, 100, 0)]
    );
}

on_both_backends!(
    a_confirmed_payment_credits_once_with_its_bonus,
    the_price_at_checkout_is_the_price_paid,
    hidden_packages_cannot_be_bought,
    a_refund_after_spending_leaves_debt_that_the_next_purchase_pays,
    partial_refunds_take_back_their_share,
    a_dispute_takes_credits_back_and_a_won_one_returns_them,
    a_refund_seen_before_the_payment_is_applied_when_it_is_confirmed,
    a_decline_after_payment_changes_nothing,
    fifty_copies_of_one_event_at_once_credit_once,
);

/// Version 8 rebuilds the SQLite ledger to add the purchase kinds: rows, their ids and the
/// voucher redemptions that point at them survive, on both backends.
async fn upgrading_keeps_the_ledger_and_its_voucher_redemptions(
    store: &reelgate_store::testing::TestStore,
) {
    reelgate_store::testing::migrate_to(store, 5).await.unwrap();
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, balance, held, webhook_secret, created_at)
         VALUES ('usr_01hzzzzzzzzzzzzzzzzzzzzzzz', 'old@example.com', 'x', 'customer', 30, 0, 's', 1)",
    )
    .execute(pool)
    .await
    .unwrap();
    let old_id: i64 = sqlx::Row::get(
        &sqlx::query(
            "INSERT INTO ledger_entries (user_id, kind, amount, reason, actor, created_at)
             VALUES ('usr_01hzzzzzzzzzzzzzzzzzzzzzzz', 'voucher', 30, 'voucher', 'cli', 1)
             RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
        "id",
    );
    sqlx::query(
        "INSERT INTO vouchers (code, credits, max_redemptions, redemptions, created_by, created_at)
         VALUES ('OLD-CODE', 30, 1, 1, 'cli', 1)",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO voucher_redemptions (code, user_id, ledger_entry_id, redeemed_at)
         VALUES ('OLD-CODE', 'usr_01hzzzzzzzzzzzzzzzzzzzzzzz', $1, 1)",
    )
    .bind(old_id)
    .execute(pool)
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let user: reelgate_domain::accounts::UserId =
        reelgate_domain::accounts::UserId::parse("usr_01hzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let entries = store.ledger_page(&user, None, 10).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].id, entries[0].amount.get()), (old_id, 30));
    let audit = store.audit_balance(&user).await.unwrap();
    assert!(audit.is_consistent(), "{audit:?}");
    let grant = store
        .grant(
            &user,
            Credits::new(5),
            "after",
            &reelgate_domain::ledger::Actor::Cli,
        )
        .await
        .unwrap();
    assert!(grant.id > old_id);
    let redemptions = store
        .voucher_redemptions(Some(&"OLD-CODE".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(redemptions.len(), 1);
}

mod upgrade {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let store = reelgate_store::testing::empty_sqlite_store().await.unwrap();
        super::upgrading_keeps_the_ledger_and_its_voucher_redemptions(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let store = reelgate_store::testing::empty_postgres_store()
            .await
            .unwrap();
        super::upgrading_keeps_the_ledger_and_its_voucher_redemptions(&store).await;
    }
}
