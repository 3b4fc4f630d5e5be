mod common;

use std::time::Duration;

use common::{customer, email, PASSWORD};
use reelgate_domain::accounts::{AccountToken, Password};
use reelgate_domain::ledger::Actor;
use reelgate_domain::mail::{Language, MailTemplate};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{mail, NewMail, StoreError};
use serde_json::json;

on_both_backends!(
    a_mail_exists_only_if_its_transaction_commits,
    a_claimed_mail_is_not_claimed_again_until_its_lease_ends,
    concurrent_claims_share_the_outbox_without_overlap,
    a_sent_secret_mail_keeps_no_copy_of_its_link,
    a_failed_attempt_is_retried_at_its_time_or_given_up,
    a_reset_link_works_once_and_ends_every_session,
    only_the_newest_reset_link_works,
    an_unknown_address_gets_no_mail,
    grants_and_vouchers_mail_credits_added,
);

fn lease() -> Duration {
    Duration::from_secs(60)
}

fn new_mail(to: &str) -> NewMail {
    NewMail {
        to: email(to),
        language: Language::Tr,
        template: MailTemplate::OperatorAlert,
        values: json!({"subject": "s", "message": "m"}),
        user: None,
    }
}

async fn a_mail_exists_only_if_its_transaction_commits(store: &TestStore) {
    let mut tx = store.begin().await.unwrap();
    mail::enqueue(&mut tx, &new_mail("rolled")).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = mail::enqueue(&mut tx, &new_mail("kept")).await.unwrap();
    tx.commit().await.unwrap();

    assert!(store.mail_to(&email("rolled")).await.unwrap().is_empty());
    let kept = store.mail_to(&email("kept")).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id, id);
    assert_eq!(kept[0].language, Language::Tr);
    assert_eq!(kept[0].values, json!({"subject": "s", "message": "m"}));
}

async fn a_claimed_mail_is_not_claimed_again_until_its_lease_ends(store: &TestStore) {
    store.enqueue_mail(&new_mail("ada")).await.unwrap();
    let first = store.claim_mail(10, lease()).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(store.claim_mail(10, lease()).await.unwrap().is_empty());
    // A deliverer that died: its lease (here none) runs out and the mail comes back.
    store.enqueue_mail(&new_mail("bob")).await.unwrap();
    let short = store.claim_mail(10, Duration::ZERO).await.unwrap();
    assert_eq!(short.len(), 1);
    let again = store.claim_mail(10, lease()).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, short[0].id);
    assert_eq!(again[0].attempts, 2);
}

async fn concurrent_claims_share_the_outbox_without_overlap(store: &TestStore) {
    for i in 0..40 {
        store
            .enqueue_mail(&new_mail(&format!("m{i}")))
            .await
            .unwrap();
    }
    let claims = futures::future::join_all((0..8).map(|_| store.claim_mail(5, lease()))).await;
    let mut ids: Vec<String> = claims
        .into_iter()
        .flat_map(|c| c.unwrap())
        .map(|m| m.id)
        .collect();
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "a mail was claimed twice");
    assert_eq!(claimed, 40);
}

async fn a_sent_secret_mail_keeps_no_copy_of_its_link(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    assert!(store.request_password_reset(&ada.email).await.unwrap());
    let mut claimed = store.claim_mail(10, lease()).await.unwrap();
    let reset = claimed.pop().unwrap();
    assert_eq!(reset.template, MailTemplate::PasswordReset);
    assert!(reset.values["token"].as_str().unwrap().starts_with("rgt_"));
    store.record_mail_sent(&reset.id, true).await.unwrap();
    let stored = store.mail_to(&ada.email).await.unwrap();
    assert!(stored[0].sent_at.is_some());
    assert_eq!(stored[0].values, json!({}));
    assert!(store.next_mail_due().await.unwrap().is_none());
}

async fn a_failed_attempt_is_retried_at_its_time_or_given_up(store: &TestStore) {
    store.enqueue_mail(&new_mail("ada")).await.unwrap();
    store.enqueue_mail(&new_mail("bob")).await.unwrap();
    let claimed = store.claim_mail(10, lease()).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::seconds(30);
    store
        .record_mail_failed(&claimed[0].id, "connection refused", Some(later))
        .await
        .unwrap();
    store
        .record_mail_failed(&claimed[1].id, "550 no such mailbox", None)
        .await
        .unwrap();
    assert!(store.claim_mail(10, lease()).await.unwrap().is_empty());
    let due = store.next_mail_due().await.unwrap().unwrap();
    assert!(
        (due - later).num_milliseconds().abs() < 5,
        "{due} vs {later}"
    );
    let all = store.recent_mail(10).await.unwrap();
    let gave_up = all.iter().find(|m| m.id == claimed[1].id).unwrap();
    assert!(gave_up.gave_up_at.is_some());
    assert_eq!(gave_up.last_error.as_deref(), Some("550 no such mailbox"));
}

/// The token a reset mail carries, as the customer would read it from the mail.
async fn mailed_token(store: &TestStore, to: &reelgate_domain::accounts::Email) -> AccountToken {
    let mails = store.mail_to(to).await.unwrap();
    let reset = mails
        .iter()
        .rev()
        .find(|m| m.template == MailTemplate::PasswordReset)
        .expect("a reset mail");
    AccountToken::parse(reset.values["token"].as_str().unwrap()).unwrap()
}

async fn a_reset_link_works_once_and_ends_every_session(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    let phone = store.create_session(&ada.id, lease()).await.unwrap();
    let laptop = store.create_session(&ada.id, lease()).await.unwrap();
    store.request_password_reset(&ada.email).await.unwrap();
    let token = mailed_token(store, &ada.email).await;

    let new = Password::parse("a brand new password").unwrap();
    assert_eq!(store.reset_password(&token, &new).await.unwrap(), ada.id);
    for session in [&phone, &laptop] {
        assert_eq!(store.session_user(session).await.unwrap(), None);
    }
    assert!(store.authenticate(&ada.email, &new).await.is_ok());
    let old = Password::parse(PASSWORD).unwrap();
    assert!(matches!(
        store.authenticate(&ada.email, &old).await,
        Err(StoreError::InvalidCredentials)
    ));
    let again = store
        .reset_password(&token, &Password::parse("yet another password").unwrap())
        .await;
    assert!(matches!(again, Err(StoreError::InvalidToken)), "{again:?}");
    // The owner is told, in the same outbox.
    let templates: Vec<MailTemplate> = store
        .mail_to(&ada.email)
        .await
        .unwrap()
        .iter()
        .map(|m| m.template)
        .collect();
    assert_eq!(
        templates,
        [MailTemplate::PasswordReset, MailTemplate::PasswordChanged]
    );
}

async fn only_the_newest_reset_link_works(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    store.request_password_reset(&ada.email).await.unwrap();
    let first = mailed_token(store, &ada.email).await;
    store.request_password_reset(&ada.email).await.unwrap();
    let second = mailed_token(store, &ada.email).await;
    assert_ne!(first.expose(), second.expose());
    let new = Password::parse("a brand new password").unwrap();
    assert!(matches!(
        store.reset_password(&first, &new).await,
        Err(StoreError::InvalidToken)
    ));
    assert!(store.reset_password(&second, &new).await.is_ok());
    let unknown = AccountToken::parse("rgt_00000000000000000000000000000000").unwrap();
    assert!(matches!(
        store.reset_password(&unknown, &new).await,
        Err(StoreError::InvalidToken)
    ));
}

async fn an_unknown_address_gets_no_mail(store: &TestStore) {
    assert!(!store
        .request_password_reset(&email("nobody"))
        .await
        .unwrap());
    assert!(store.mail_to(&email("nobody")).await.unwrap().is_empty());
    // Nor does a disabled account.
    let ada = customer(store, "ada", 0).await;
    store.set_disabled(&ada.id, true).await.unwrap();
    assert!(!store.request_password_reset(&ada.email).await.unwrap());
}

async fn grants_and_vouchers_mail_credits_added(store: &TestStore) {
    let ada = customer(store, "ada", 0).await;
    store
        .operator_grant(
            &ada.id,
            Credits::new(150),
            Some("welcome gift"),
            &Actor::Cli,
        )
        .await
        .unwrap();
    // A correction taking credits away is not news to celebrate.
    store
        .operator_grant(&ada.id, Credits::new(-50), None, &Actor::Cli)
        .await
        .unwrap();
    let mails = store.mail_to(&ada.email).await.unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].template, MailTemplate::CreditsAdded);
    assert_eq!(mails[0].values["credits"], 150);
    assert_eq!(mails[0].values["balance"], 150);
    assert_eq!(mails[0].values["reason"], "welcome gift");
}
