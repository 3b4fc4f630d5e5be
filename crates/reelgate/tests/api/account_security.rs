//! The customer's account security over the API, with mail read from a real SMTP server:
//! confirming the address (and the operator's setting that requires it), changing the address
//! and the password, sessions, and what is mailed.

use reelgate::config::Settings;
use reelgate_domain::accounts::{ApiKey, Email, Password, Role, User};
use reelgate_domain::ledger::Actor;
use reelgate_domain::mail::{Language, MailTemplate};
use reelgate_domain::Credits;
use reelgate_store::NewUser;
use serde_json::{json, Value};
use std::time::Duration;

use crate::helpers::{json, wait_until, TestApp};
use crate::smtp::SmtpServer;

const PASSWORD: &str = "correct horse battery";

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
           "aspect_ratio": "16:9", "duration": 5, "sound": false})
}

/// A customer who signed up on the site (address not yet confirmed), with `credits` granted
/// and an API key.
async fn signed_up(app: &TestApp, name: &str, credits: i64) -> (User, ApiKey) {
    let user = app
        .store
        .sign_up(
            NewUser {
                email: Email::parse(&format!("{name}@example.com")).unwrap(),
                password: Password::parse(PASSWORD).unwrap(),
                role: Role::Customer,
                signup_bonus: Credits::ZERO,
            },
            Language::En,
        )
        .await
        .unwrap();
    if credits > 0 {
        app.store
            .grant(
                &user.id,
                Credits::new(credits),
                "test credits",
                &reelgate_domain::ledger::Actor::Cli,
            )
            .await
            .unwrap();
    }
    let (_, key) = app.store.create_api_key(&user.id, "tests").await.unwrap();
    (user, key)
}

/// The token of the newest `template` mail to `address` still in the outbox (no SMTP server).
async fn outbox_token(app: &TestApp, address: &str, template: MailTemplate) -> String {
    let mails = app
        .store
        .mail_to(&Email::parse(address).unwrap())
        .await
        .unwrap();
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.template == template)
        .unwrap_or_else(|| panic!("no {template} mail to {address}: {mails:?}"));
    mail.values["token"].as_str().unwrap().to_owned()
}

async fn smtp_app(smtp: &SmtpServer, settings: Settings) -> TestApp {
    TestApp::spawn_tuned(
        settings.with("REELGATE_SMTP_URL", smtp.url()),
        kie_sim::SimConfig::for_tests(),
        |config| config.mail.backoff = vec![Duration::from_millis(200)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_mails_a_confirmation_whose_link_confirms_the_address() {
    let smtp = SmtpServer::start();
    let app = smtp_app(&smtp, Settings::default()).await;
    let (_, key) = signed_up(&app, "ada", 0).await;
    let (_, before) = json(app.get_as(&key, "/v1/account/notifications").await).await;
    assert_eq!(before["email_verified"], false);

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["ada@example.com"]);
    assert_eq!(mail.header("subject"), "Confirm your email address");
    assert!(mail.header("message-id").starts_with("<mail_"), "{mail:?}");
    assert_eq!(mail.content_type, "multipart/alternative");
    let link = mail.link(&format!("{}/confirm-email?token=", app.address));
    assert!(
        mail.html
            .as_deref()
            .unwrap()
            .contains(&format!("href=\"{link}\"")),
        "{mail:?}"
    );

    // Followed from the mail (a browser, signed out): the address is confirmed.
    let followed = app.client.get(&link).send().await.unwrap();
    assert_eq!(followed.status(), 200);
    assert!(followed.url().as_str().contains("reason=email_confirmed"));
    let (_, after) = json(app.get_as(&key, "/v1/account/notifications").await).await;
    assert_eq!(after["email_verified"], true);
    // The link worked once.
    let again = app.client.get(&link).send().await.unwrap();
    assert!(again.url().as_str().contains("reason=link_expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_verification_required_an_unconfirmed_account_cannot_generate_and_pays_nothing() {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_REQUIRE_VERIFIED_EMAIL", "true"))
            .await;
    let (_, key) = signed_up(&app, "ada", 500).await;

    let (status, body) = app.submit(&key, kling()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "email_unverified");
    assert_eq!(body["error"]["field"], "email");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("confirm your email address"));
    assert_eq!(app.balance(&key).await, (500, 0));
    let (_, page) = json(app.get_as(&key, "/v1/account/ledger").await).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1, "{page}");

    // Confirmed over the API with the mailed token, the same request is accepted.
    let token = outbox_token(&app, "ada@example.com", MailTemplate::VerifyEmail).await;
    let (status, confirmed) = json(
        app.client
            .post(app.url("/v1/auth/confirm-email"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(
        confirmed,
        json!({"email": "ada@example.com", "changed": false})
    );
    let (status, body) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_verification_off_an_unconfirmed_account_generates() {
    let app = TestApp::spawn().await;
    let (_, key) = signed_up(&app, "ada", 500).await;
    let (status, body) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_the_confirmation_again_replaces_the_link_and_is_throttled() {
    let app = TestApp::spawn().await;
    let (_, key) = signed_up(&app, "ada", 0).await;
    let first = outbox_token(&app, "ada@example.com", MailTemplate::VerifyEmail).await;
    let (status, body) = json(
        app.post_as(&key, "/v1/account/email/confirmation", json!({}))
            .await,
    )
    .await;
    assert_eq!((status, &body), (202, &json!({"sent": true})));
    let second = outbox_token(&app, "ada@example.com", MailTemplate::VerifyEmail).await;
    assert_ne!(first, second);
    for _ in 0..2 {
        let response = app
            .post_as(&key, "/v1/account/email/confirmation", json!({}))
            .await;
        assert_eq!(response.status(), 202);
    }
    let (status, body) = json(
        app.post_as(&key, "/v1/account/email/confirmation", json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 429, "{body}");

    // The replaced link no longer works; the newest does.
    let confirm = |token: String| {
        app.client
            .post(app.url("/v1/auth/confirm-email"))
            .json(&json!({ "token": token }))
            .send()
    };
    let (status, body) = json(confirm(first).await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "token");
    let newest = outbox_token(&app, "ada@example.com", MailTemplate::VerifyEmail).await;
    assert_eq!(confirm(newest).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_address_is_confirmed_by_a_link_mailed_to_it_before_it_replaces_the_old() {
    let smtp = SmtpServer::start();
    let app = smtp_app(&smtp, Settings::default()).await;
    let (_, key) = app.customer("ada", 0).await;
    app.customer("bob", 0).await;
    let change = |new_email: &str, password: &str| {
        app.post_as(
            &key,
            "/v1/account/email",
            json!({ "new_email": new_email, "password": password }),
        )
    };

    let (status, body) = json(change("not an address", PASSWORD).await).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("new_email"))
    );
    let (status, body) = json(change("ada@new.example", "wrong password").await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "password");
    let (status, body) = json(change("bob@example.com", PASSWORD).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(smtp.received().is_empty());

    let (status, body) = json(change("Ada@New.Example", PASSWORD).await).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["new_email"], "ada@new.example");
    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(account["email"], "ada@example.com");

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["ada@new.example"]);
    assert_eq!(mail.header("subject"), "Confirm your new email address");
    let link = mail.link(&format!("{}/confirm-email?token=", app.address));
    assert!(app
        .client
        .get(&link)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(account["email"], "ada@new.example");
    // The old address is told, in case the change was not its owner's.
    let notice = smtp.wait_for(2).await.remove(1);
    assert_eq!(notice.rcpt_tos, ["ada@example.com"]);
    assert_eq!(
        notice.header("subject"),
        "Your reelgate address was changed"
    );
    assert!(notice.text.unwrap().contains("ada@new.example"));
    // Both mails are the account's, in its export.
    let (_, export) = json(app.get_as(&key, "/v1/account/export").await).await;
    let templates: Vec<&str> = export["mail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    assert_eq!(templates, ["change_email", "email_changed"], "{export}");
    let new = Email::parse("ada@new.example").unwrap();
    let password = Password::parse(PASSWORD).unwrap();
    assert!(app.store.authenticate(&new, &password).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_needs_the_current_one_and_ends_every_session() {
    let smtp = SmtpServer::start();
    let app = smtp_app(&smtp, Settings::default()).await;
    let (ada, key) = app.customer("ada", 0).await;
    let hour = Duration::from_secs(3600);
    let sessions = [
        app.store.create_session(&ada.id, hour).await.unwrap(),
        app.store.create_session(&ada.id, hour).await.unwrap(),
    ];
    let change = |current: &str, new: &str| {
        app.post_as(
            &key,
            "/v1/account/password",
            json!({ "current_password": current, "new_password": new }),
        )
    };

    let (status, body) = json(change("not the password", "a new password").await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "current_password");
    let (status, body) = json(change(PASSWORD, "short").await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "new_password");
    for session in &sessions {
        assert!(app.store.session_user(session).await.unwrap().is_some());
    }

    assert_eq!(change(PASSWORD, "a new password").await.status(), 204);
    for session in &sessions {
        assert_eq!(app.store.session_user(session).await.unwrap(), None);
    }
    let email = Email::parse("ada@example.com").unwrap();
    let old = Password::parse(PASSWORD).unwrap();
    let new = Password::parse("a new password").unwrap();
    assert!(app.store.authenticate(&email, &old).await.is_err());
    assert!(app.store.authenticate(&email, &new).await.is_ok());
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.header("subject"), "Your reelgate password was changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_with_their_last_use_and_signing_out_everywhere_ends_them() {
    let app = TestApp::spawn().await;
    let (ada, key) = app.customer("ada", 0).await;
    let (bob, _) = app.customer("bob", 0).await;
    let hour = Duration::from_secs(3600);
    let used = app.store.create_session(&ada.id, hour).await.unwrap();
    app.store.create_session(&ada.id, hour).await.unwrap();
    let bobs = app.store.create_session(&bob.id, hour).await.unwrap();
    app.store.session_user(&used).await.unwrap();

    let (status, list) = json(app.get_as(&key, "/v1/account/sessions").await).await;
    assert_eq!(status, 200, "{list}");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    assert_eq!(
        sessions
            .iter()
            .filter(|s| s["last_used_at"].is_string())
            .count(),
        1,
        "{list}"
    );
    // The keys' list shows their last use too (this request used the key).
    let (_, keys) = json(app.get_as(&key, "/v1/account/api-keys").await).await;
    assert!(keys["api_keys"][0]["last_used_at"].is_string(), "{keys}");

    let (status, body) = json(
        app.post_as(&key, "/v1/account/sessions/revoke", json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body), (200, json!({"ended": 2})));
    assert_eq!(app.store.session_user(&used).await.unwrap(), None);
    // Nobody else's.
    assert!(app.store.session_user(&bobs).await.unwrap().is_some());
    let (_, list) = json(app.get_as(&key, "/v1/account/sessions").await).await;
    assert!(list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["revoked_at"].is_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_switches_generation_mail_off_is_not_told_of_their_videos() {
    let smtp = SmtpServer::start();
    let app = smtp_app(&smtp, Settings::default()).await;
    let (ada, key) = app.customer("ada", 500).await;
    let operator_grant = |credits: i64| {
        app.store.operator_grant(
            &ada.id,
            Credits::new(credits),
            Some("goodwill"),
            &Actor::Cli,
        )
    };
    operator_grant(5).await.unwrap();
    let credits_added = smtp.wait_for(1).await.remove(0);
    assert_eq!(
        credits_added.header("subject"),
        "5 credits were added to your account"
    );
    assert!(credits_added.text.unwrap().contains("goodwill"));

    let (_, id) = app.submit(&key, kling()).await;
    let settled = app.settled(&key, id["id"].as_str().unwrap()).await;
    assert_eq!(settled["status"], "succeeded");
    let ready = smtp.wait_for(2).await.remove(1);
    assert_eq!(ready.header("subject"), "Your video is ready");
    assert!(ready
        .text
        .unwrap()
        .contains(&format!("{}/videos", app.address)));

    let (status, body) = json(
        app.client
            .put(app.url("/v1/account/notifications"))
            .bearer_auth(key.expose())
            .json(&json!({"notify_generations": false, "low_balance_below": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "low_balance_below");
    let (status, body) = json(
        app.client
            .put(app.url("/v1/account/notifications"))
            .bearer_auth(key.expose())
            .json(&json!({"notify_generations": false, "low_balance_below": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["notify_generations"], false);

    let (_, id) = app.submit(&key, kling()).await;
    app.settled(&key, id["id"].as_str().unwrap()).await;
    // A mail about the video would be queued before this grant's note; only the note comes.
    operator_grant(1).await.unwrap();
    let received = smtp.wait_for(3).await;
    wait_until("nothing more", async || smtp.received().len() == 3).await;
    assert!(received[2].header("subject").contains("credits were added"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_throttles_are_shared_by_instances_on_one_postgresql() {
    let (_db, url) = postgres().await;
    let settings = || Settings::default().with("REELGATE_DATABASE_URL", url.as_str());
    let one = TestApp::spawn_with(settings()).await;
    let two = TestApp::spawn_with(settings()).await;
    let ask = |app: &TestApp| {
        app.client
            .post(app.url("/v1/auth/password-reset"))
            .json(&json!({"email": "ada@example.com"}))
            .send()
    };
    one.customer("ada", 0).await;
    // Three links an hour to one address, whichever instance is asked.
    for app in [&one, &two, &one, &two, &one] {
        assert_eq!(ask(app).await.unwrap().status(), 202);
    }
    let resets = one
        .store
        .mail_to(&Email::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == MailTemplate::PasswordReset)
        .count();
    assert_eq!(resets, 3);
    // Ten requests per client per 15 minutes, counted across the instances too.
    for n in 0..5 {
        let response = two
            .client
            .post(two.url("/v1/auth/password-reset"))
            .json(&json!({"email": format!("x{n}@example.com")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    assert_eq!(ask(&one).await.unwrap().status(), 429);
    assert_eq!(ask(&two).await.unwrap().status(), 429);
}

async fn postgres() -> (reelgate_store::testing::TestStore, String) {
    let store = reelgate_store::testing::postgres_store()
        .await
        .expect("the test PostgreSQL server (REELGATE_TEST_POSTGRES_URL) is reachable");
    let url = match store.url() {
        reelgate_store::DatabaseUrl::Postgres { url } => url.clone(),
        other => panic!("not a PostgreSQL URL: {other}"),
    };
    (store, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_low_balance_reminder_is_opt_in_and_mailed_once_per_crossing() {
    let app = TestApp::spawn().await;
    let quoted = app.client.post(app.url("/v1/quote")).json(&kling()).send();
    let (_, quote) = json(quoted.await.unwrap()).await;
    let price = quote["credits"].as_i64().unwrap();
    let (ada, key) = app.customer("ada", 4 * price).await;
    let reminders = || async {
        app.store
            .mail_to(&ada.email)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.template == MailTemplate::LowBalance)
            .collect::<Vec<_>>()
    };
    // Not asked for: nothing, however low the balance goes.
    assert_eq!(app.submit(&key, kling()).await.0, 202);
    assert!(reminders().await.is_empty());

    let threshold = 2 * price + 1;
    let (status, body) = json(
        app.client
            .put(app.url("/v1/account/notifications"))
            .bearer_auth(key.expose())
            .json(&json!({"notify_generations": true, "low_balance_below": threshold}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["low_balance_below"], threshold);
    // 3×price → 2×price crosses the threshold; 2×price → price is below it already.
    assert_eq!(app.submit(&key, kling()).await.0, 202);
    assert_eq!(app.submit(&key, kling()).await.0, 202);
    let sent = reminders().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].values,
        json!({"balance": 2 * price, "threshold": threshold})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeemed_voucher_mails_a_credits_added_note_in_the_customers_language() {
    let smtp = SmtpServer::start();
    let app = smtp_app(&smtp, Settings::default()).await;
    let (_, admin) = app.admin().await;
    let (ada, key) = app.customer("ada", 0).await;
    app.store.set_language(&ada.id, Language::Tr).await.unwrap();
    let (status, voucher) = json(
        app.post_as(
            &admin,
            "/v1/admin/vouchers",
            json!({"credits": 25, "max_redemptions": 10}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{voucher}");
    let redeemed = app
        .post_as(
            &key,
            "/v1/vouchers/redeem",
            json!({"code": voucher["code"]}),
        )
        .await;
    assert_eq!(redeemed.status(), 200);

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["ada@example.com"]);
    let text = mail.text.clone().unwrap();
    assert!(mail.header("subject").contains("25"), "{mail:?}");
    assert!(text.contains("25"), "{text}");
    // Turkish, as the customer chose.
    assert!(text.contains("kredi"), "{text}");
    assert!(mail.html.unwrap().contains("lang=\"tr\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_postgresql_share_the_outbox_and_send_each_mail_once() {
    let smtp = SmtpServer::start();
    let (_db, url) = postgres().await;
    let settings = || Settings::default().with("REELGATE_DATABASE_URL", url.as_str());
    let one = smtp_app(&smtp, settings()).await;
    let two = smtp_app(&smtp, settings()).await;
    let names: Vec<String> = (0..8).map(|n| format!("user{n}")).collect();
    for name in &names {
        one.customer(name, 0).await;
    }
    for (n, name) in names.iter().enumerate() {
        let app = if n % 2 == 0 { &one } else { &two };
        let response = app
            .client
            .post(app.url("/v1/auth/password-reset"))
            .json(&json!({"email": format!("{name}@example.com")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    smtp.wait_for(names.len()).await;
    wait_until("every mail recorded sent", async || {
        one.store.next_mail_due().await.unwrap().is_none()
    })
    .await;
    // The sink writes each mail down before it accepts it: once nothing is left to send,
    // every mail sent is in its log (no sleep needed to let a late one arrive).
    let received = smtp.received();
    let mut ids: Vec<&str> = received.iter().map(|m| m.header("message-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(received.len(), names.len(), "{received:#?}");
    assert_eq!(ids.len(), names.len());
}
