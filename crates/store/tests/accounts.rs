mod common;

use std::time::Duration;

use common::{customer, email, user_with, PASSWORD};
use reelgate_domain::accounts::{ApiKey, Password, Role, SessionToken, UserId};
use reelgate_domain::ledger::EntryKind;
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{NewUser, Store, StoreError, KEY_CACHE_TTL};

on_both_backends!(
    signup_bonus_is_a_ledger_grant,
    an_email_has_one_account_whatever_its_case,
    login_checks_the_password,
    disabled_users_cannot_log_in,
    sessions_find_their_user_until_revoked,
    expired_sessions_find_no_one,
    disabled_users_sessions_and_keys_stop_working,
    api_keys_authenticate_until_revoked,
    api_keys_are_private_to_their_owner,
    api_key_use_is_recorded,
    another_instance_stops_trusting_a_revoked_key_within_the_ttl,
    webhook_secret_can_be_rotated,
    users_are_searchable_by_email_and_paginated,
);

async fn signup_bonus_is_a_ledger_grant(store: &TestStore) {
    let user = user_with(store, "ada", Role::Customer, 25).await;
    assert_eq!(user.balance, Credits::new(25));
    let page = store.ledger_page(&user.id, None, 10).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].kind, EntryKind::Grant);
    assert_eq!(page.entries[0].reason, "signup bonus");

    let no_bonus = user_with(store, "bob", Role::Customer, 0).await;
    assert!(store
        .ledger_page(&no_bonus.id, None, 10)
        .await
        .unwrap()
        .entries
        .is_empty());
}

async fn an_email_has_one_account_whatever_its_case(store: &TestStore) {
    user_with(store, "ada", Role::Customer, 0).await;
    let again = store
        .create_user(NewUser {
            email: reelgate_domain::accounts::Email::parse(" ADA@Example.com").unwrap(),
            password: Password::parse("another password").unwrap(),
            role: Role::Admin,
            signup_bonus: Credits::new(0),
        })
        .await;
    assert!(matches!(again, Err(StoreError::EmailTaken)), "{again:?}");
}

async fn login_checks_the_password(store: &TestStore) {
    let ada = user_with(store, "ada", Role::Admin, 0).await;
    let right = Password::parse(PASSWORD).unwrap();
    let wrong = Password::parse("wrong password").unwrap();
    let found = store.authenticate(&email("ada"), &right).await.unwrap();
    assert_eq!(found.id, ada.id);
    assert!(found.is_admin());
    let err = store.authenticate(&email("ada"), &wrong).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidCredentials), "{err:?}");
    let err = store
        .authenticate(&email("nobody"), &right)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCredentials), "{err:?}");
}

async fn disabled_users_cannot_log_in(store: &TestStore) {
    let ada = user_with(store, "ada", Role::Customer, 0).await;
    let disabled = store.set_disabled(&ada.id, true).await.unwrap();
    assert!(disabled.is_disabled());
    let err = store
        .authenticate(&email("ada"), &Password::parse(PASSWORD).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountDisabled), "{err:?}");
    let enabled = store.set_disabled(&ada.id, false).await.unwrap();
    assert!(!enabled.is_disabled());
    let err = store
        .set_disabled(&UserId::generate(), true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserNotFound), "{err:?}");
}

async fn sessions_find_their_user_until_revoked(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let token = store
        .create_session(&ada.id, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        store.session_user(&token).await.unwrap().map(|u| u.id),
        Some(ada.id.clone())
    );
    store.revoke_session(&token).await.unwrap();
    assert_eq!(store.session_user(&token).await.unwrap(), None);
    let forged = SessionToken::parse(&format!("rgs_{}", "0".repeat(64))).unwrap();
    assert_eq!(store.session_user(&forged).await.unwrap(), None);
}

async fn expired_sessions_find_no_one(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let token = store
        .create_session(&ada.id, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.session_user(&token).await.unwrap(), None);
}

async fn disabled_users_sessions_and_keys_stop_working(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let token = store
        .create_session(&ada.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let (_, key) = store.create_api_key(&ada.id, "ci").await.unwrap();
    store.set_disabled(&ada.id, true).await.unwrap();
    assert!(matches!(
        store.session_user(&token).await,
        Err(StoreError::AccountDisabled)
    ));
    assert!(matches!(
        store.api_key_user(&key).await,
        Err(StoreError::AccountDisabled)
    ));
}

async fn api_keys_authenticate_until_revoked(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let (first, first_key) = store.create_api_key(&ada.id, "laptop").await.unwrap();
    let (second, second_key) = store.create_api_key(&ada.id, "  ").await.unwrap();
    assert!(first_key.expose().starts_with("rg_"));
    assert_eq!(first.name, "laptop");
    assert_eq!(second.name, "default");
    assert!(first_key.expose().starts_with(&first.prefix));
    assert_eq!(
        store.api_key_user(&first_key).await.unwrap().map(|u| u.id),
        Some(ada.id.clone())
    );

    store.revoke_api_key(&ada.id, &first.id).await.unwrap();
    store.revoke_api_key(&ada.id, &first.id).await.unwrap();
    assert_eq!(store.api_key_user(&first_key).await.unwrap(), None);
    assert!(store.api_key_user(&second_key).await.unwrap().is_some());

    let keys = store.list_api_keys(&ada.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    let listed_first = keys.iter().find(|k| k.id == first.id).unwrap();
    assert!(listed_first.revoked_at.is_some());

    let unknown = ApiKey::parse(&format!("rg_{}", "a".repeat(48))).unwrap();
    assert_eq!(store.api_key_user(&unknown).await.unwrap(), None);
}

async fn api_keys_are_private_to_their_owner(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let bob = customer(store, "bob", 0).await;
    let (key, secret) = store.create_api_key(&ada.id, "laptop").await.unwrap();
    let err = store.revoke_api_key(&bob.id, &key.id).await.unwrap_err();
    assert!(matches!(err, StoreError::ApiKeyNotFound), "{err:?}");
    assert!(store.api_key_user(&secret).await.unwrap().is_some());
    assert!(store.list_api_keys(&bob.id).await.unwrap().is_empty());
}

async fn another_instance_stops_trusting_a_revoked_key_within_the_ttl(store: &TestStore) {
    let other = Store::connect(store.url()).await.unwrap();
    let ada = customer(store, "ada", 0).await;
    let (info, key) = store.create_api_key(&ada.id, "ci").await.unwrap();
    assert!(other.api_key_user(&key).await.unwrap().is_some());
    store.revoke_api_key(&ada.id, &info.id).await.unwrap();
    assert_eq!(store.api_key_user(&key).await.unwrap(), None);
    // The other instance hears of it only through the database, once its entry expires.
    tokio::time::sleep(KEY_CACHE_TTL + Duration::from_millis(50)).await;
    assert_eq!(other.api_key_user(&key).await.unwrap(), None);
    other.close().await;
}

async fn api_key_use_is_recorded(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let (key, secret) = store.create_api_key(&ada.id, "laptop").await.unwrap();
    assert_eq!(key.last_used_at, None);
    store.api_key_user(&secret).await.unwrap();
    let listed = store.list_api_keys(&ada.id).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
}

async fn webhook_secret_can_be_rotated(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let before = store.webhook_secret(&ada.id).await.unwrap();
    assert!(before.expose().starts_with("whsec_"));
    let rotated = store.rotate_webhook_secret(&ada.id).await.unwrap();
    assert_ne!(rotated, before);
    assert_eq!(store.webhook_secret(&ada.id).await.unwrap(), rotated);
}

async fn users_are_searchable_by_email_and_paginated(store: &TestStore) {
    for name in ["ann", "anna", "bob", "joanne", "zed"] {
        customer(store, name, 0).await;
    }
    let found = store.list_users(Some("ANN"), None, 50).await.unwrap();
    let mut emails: Vec<_> = found.items.iter().map(|u| u.email.to_string()).collect();
    emails.sort();
    assert_eq!(
        emails,
        ["ann@example.com", "anna@example.com", "joanne@example.com"]
    );
    // LIKE wildcards in the query are taken literally.
    assert!(store
        .list_users(Some("%"), None, 50)
        .await
        .unwrap()
        .items
        .is_empty());

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_users(None, cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|u| u.email.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen.first().map(String::as_str),
        Some("zed@example.com"),
        "newest first: {seen:?}"
    );
}
