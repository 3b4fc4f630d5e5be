mod common;

use chrono::{Duration, Utc};
use common::{consistent_balance, customer};
use reelgate_domain::ledger::{Actor, EntryKind, VoucherCode};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{NewVoucher, StoreError};

on_both_backends!(
    redeeming_a_voucher_adds_its_credits_once,
    unknown_codes_are_refused,
    used_up_vouchers_are_refused,
    expired_vouchers_are_refused,
    codes_are_generated_when_not_given,
    voucher_codes_are_unique,
    vouchers_list_their_redemptions,
);

fn voucher(code: Option<&str>, credits: i64, max: i64) -> NewVoucher {
    NewVoucher {
        code: code.map(|c| VoucherCode::parse(c).unwrap()),
        credits: Credits::new(credits),
        max_redemptions: max,
        expires_at: None,
        created_by: Actor::Cli,
    }
}

fn code(text: &str) -> VoucherCode {
    VoucherCode::parse(text).unwrap()
}

async fn redeeming_a_voucher_adds_its_credits_once(store: &TestStore) {
    let ada = customer(store, "ada", 5).await;
    store
        .create_voucher(voucher(Some("WELCOME"), 100, 10))
        .await
        .unwrap();
    let entry = store
        .redeem_voucher(&ada.id, &code("welcome"))
        .await
        .unwrap();
    assert_eq!(
        (entry.kind, entry.amount),
        (EntryKind::Voucher, Credits::new(100))
    );
    let again = store.redeem_voucher(&ada.id, &code("WELCOME")).await;
    assert!(
        matches!(again, Err(StoreError::VoucherAlreadyRedeemed)),
        "{again:?}"
    );
    assert_eq!(consistent_balance(store, &ada).await, (105, 0));
}

async fn unknown_codes_are_refused(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let err = store
        .redeem_voucher(&ada.id, &code("NOPE"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VoucherNotFound), "{err:?}");
}

async fn used_up_vouchers_are_refused(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let bob = customer(store, "bob", 0).await;
    store
        .create_voucher(voucher(Some("ONLY-ONE"), 10, 1))
        .await
        .unwrap();
    store
        .redeem_voucher(&ada.id, &code("ONLY-ONE"))
        .await
        .unwrap();
    let err = store
        .redeem_voucher(&bob.id, &code("ONLY-ONE"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VoucherUsedUp), "{err:?}");
    // The one who used it up hears that they already have it, which is the more useful news.
    let err = store
        .redeem_voucher(&ada.id, &code("ONLY-ONE"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VoucherAlreadyRedeemed), "{err:?}");
    assert_eq!(consistent_balance(store, &bob).await, (0, 0));
}

async fn expired_vouchers_are_refused(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let mut expired = voucher(Some("OLD-CODE"), 10, 5);
    expired.expires_at = Some(Utc::now() - Duration::minutes(1));
    store.create_voucher(expired).await.unwrap();
    let err = store
        .redeem_voucher(&ada.id, &code("OLD-CODE"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VoucherExpired), "{err:?}");

    let mut fresh = voucher(Some("NEW-CODE"), 10, 5);
    fresh.expires_at = Some(Utc::now() + Duration::hours(1));
    store.create_voucher(fresh).await.unwrap();
    store
        .redeem_voucher(&ada.id, &code("NEW-CODE"))
        .await
        .unwrap();
}

async fn codes_are_generated_when_not_given(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let created = store.create_voucher(voucher(None, 7, 1)).await.unwrap();
    assert_eq!(created.code.as_str().len(), 14);
    store.redeem_voucher(&ada.id, &created.code).await.unwrap();
    assert_eq!(consistent_balance(store, &ada).await, (7, 0));
}

async fn voucher_codes_are_unique(store: &TestStore) {
    store
        .create_voucher(voucher(Some("PROMO"), 10, 1))
        .await
        .unwrap();
    let err = store
        .create_voucher(voucher(Some("promo"), 20, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VoucherCodeTaken), "{err:?}");
    let err = store
        .create_voucher(voucher(Some("ZERO"), 0, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidAmount(_)), "{err:?}");
    let err = store
        .create_voucher(voucher(Some("NEVER"), 5, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidVoucher(_)), "{err:?}");
}

async fn vouchers_list_their_redemptions(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let bob = customer(store, "bob", 0).await;
    store
        .create_voucher(voucher(Some("SPRING"), 10, 5))
        .await
        .unwrap();
    store
        .create_voucher(voucher(Some("SUMMER"), 20, 5))
        .await
        .unwrap();
    store
        .redeem_voucher(&ada.id, &code("SPRING"))
        .await
        .unwrap();
    store
        .redeem_voucher(&bob.id, &code("SPRING"))
        .await
        .unwrap();
    let listed = store.list_vouchers().await.unwrap();
    let spring = listed.iter().find(|v| v.code.as_str() == "SPRING").unwrap();
    let summer = listed.iter().find(|v| v.code.as_str() == "SUMMER").unwrap();
    assert_eq!((spring.redemptions, summer.redemptions), (2, 0));
    let redemptions = store
        .voucher_redemptions(Some(&code("SPRING")))
        .await
        .unwrap();
    let mut who: Vec<_> = redemptions.iter().map(|r| r.email.to_string()).collect();
    who.sort();
    assert_eq!(who, ["ada@example.com", "bob@example.com"]);
    assert_eq!(store.voucher_redemptions(None).await.unwrap().len(), 2);
}
