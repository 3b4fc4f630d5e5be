//! Mail through a real SMTP server (aiosmtpd), password reset over the API, and the outbox the
//! operator reads when no server is configured.

use reelgate::config::Settings;
use reelgate_domain::accounts::{Email, Password};
use serde_json::json;
use std::time::Duration;

use crate::helpers::{json, wait_until, TestApp};
use crate::smtp::SmtpServer;

/// The app sending mail to `smtp`, retrying quickly.
async fn app_mailing_to(smtp: &SmtpServer) -> TestApp {
    TestApp::spawn_tuned(
        Settings::default().with("REELGATE_SMTP_URL", smtp.url()),
        kie_sim::SimConfig::for_tests(),
        |config| {
            config.mail.backoff = vec![Duration::from_millis(200)];
        },
    )
    .await
}

async fn ask_reset(app: &TestApp, email: &str) -> (u16, serde_json::Value) {
    json(
        app.client
            .post(app.url("/v1/auth/password-reset"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> (u16, serde_json::Value) {
    json(
        app.client
            .post(app.url("/v1/auth/password-reset/confirm"))
            .json(&json!({ "token": token, "password": password }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mail_arrives_over_smtp_and_its_link_sets_a_new_password() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;
    let (ada, key) = app.customer("ada", 0).await;
    let session = app
        .store
        .create_session(&ada.id, Duration::from_secs(3600))
        .await
        .unwrap();

    let (status, body) = ask_reset(&app, "Ada@Example.com").await;
    assert_eq!(status, 202, "{body}");
    let mail = smtp.wait_for(1).await.remove(0);

    assert_eq!(mail.rcpt_tos, ["ada@example.com"]);
    assert_eq!(mail.header("to"), "ada@example.com");
    assert!(
        mail.header("from").contains("reelgate@127.0.0.1"),
        "{mail:?}"
    );
    assert_eq!(mail.header("subject"), "Reset your reelgate password");
    assert!(mail.header("message-id").starts_with("<mail_"), "{mail:?}");
    assert!(!mail.header("date").is_empty());
    assert_eq!(mail.content_type, "multipart/alternative");
    let base = format!("{}/password-reset/confirm?token=", app.address);
    let link = mail.link(&base);
    assert!(
        mail.html
            .as_deref()
            .unwrap()
            .contains(&format!("href=\"{link}\"")),
        "{mail:?}"
    );

    // The link opens the page that takes the new password.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("name=\"password\""));

    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(
        confirm_reset(&app, token, "a brand new password").await.0,
        204
    );
    assert_eq!(app.store.session_user(&session).await.unwrap(), None);
    let email = Email::parse("ada@example.com").unwrap();
    let new = Password::parse("a brand new password").unwrap();
    assert!(app.store.authenticate(&email, &new).await.is_ok());
    // API keys are not sessions: they keep working.
    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 200);

    let (status, body) = confirm_reset(&app, token, "another new password").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "token");
    assert_eq!(body["error"]["code"], "invalid_token");
    // And the owner hears that the password changed.
    let changed = smtp.wait_for(2).await.remove(1);
    assert_eq!(
        changed.header("subject"),
        "Your reelgate password was changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_an_unknown_address_answers_the_same_and_mails_nothing() {
    let app = TestApp::spawn().await;
    app.customer("ada", 0).await;
    let known = ask_reset(&app, "ada@example.com").await;
    let unknown = ask_reset(&app, "nobody@example.com").await;
    assert_eq!(known, unknown);
    assert_eq!(unknown.0, 202);
    let nobody = Email::parse("nobody@example.com").unwrap();
    assert!(app.store.mail_to(&nobody).await.unwrap().is_empty());
    let ada = Email::parse("ada@example.com").unwrap();
    assert_eq!(app.store.mail_to(&ada).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reset_requests_name_their_field() {
    let app = TestApp::spawn().await;
    let (status, body) = ask_reset(&app, "not an address").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "email");
    let (status, body) = confirm_reset(&app, "nonsense", "a long enough password").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "token");
    let (status, body) = confirm_reset(&app, "rgt_0123456789abcdef0123456789abcdef", "short").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_are_throttled_per_address_and_per_client() {
    let app = TestApp::spawn().await;
    app.customer("ada", 0).await;
    for _ in 0..5 {
        assert_eq!(ask_reset(&app, "ada@example.com").await.0, 202);
    }
    // The address got its three links an hour; the answer does not change.
    let ada = Email::parse("ada@example.com").unwrap();
    assert_eq!(app.store.mail_to(&ada).await.unwrap().len(), 3);
    // This client has now asked five times; five more and it is told to wait.
    for i in 0..5 {
        assert_eq!(ask_reset(&app, &format!("x{i}@example.com")).await.0, 202);
    }
    let (status, body) = ask_reset(&app, "y@example.com").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_down_for_a_while_delays_mail_and_sends_each_once() {
    let mut smtp = SmtpServer::on(crate::smtp::free_port());
    let app = app_mailing_to(&smtp).await;
    let names = ["ada", "bob", "cyd"];
    for name in names {
        app.customer(name, 0).await;
        assert_eq!(ask_reset(&app, &format!("{name}@example.com")).await.0, 202);
    }
    // Attempts fail while nothing listens; the mails wait with the reason.
    for name in names {
        let email = Email::parse(&format!("{name}@example.com")).unwrap();
        wait_until("a failed attempt", async || {
            let mails = app.store.mail_to(&email).await.unwrap();
            mails[0].attempts >= 2 && mails[0].last_error.is_some()
        })
        .await;
    }
    assert!(smtp.received().is_empty());

    smtp.resume();
    let received = smtp.wait_for(3).await;
    for name in names {
        let email = Email::parse(&format!("{name}@example.com")).unwrap();
        wait_until("the mail recorded sent", async || {
            app.store.mail_to(&email).await.unwrap()[0]
                .sent_at
                .is_some()
        })
        .await;
    }
    // Every mail once: nothing left to send, and three distinct messages arrived.
    assert!(app.store.next_mail_due().await.unwrap().is_none());
    let mut ids: Vec<String> = smtp
        .received()
        .iter()
        .map(|m| m.header("message-id").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{received:#?}");
    assert_eq!(smtp.received().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_the_operator_reads_the_mail_on_the_outbox_page() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.admin().await;
    app.customer("ada", 0).await;
    assert_eq!(ask_reset(&app, "ada@example.com").await.0, 202);
    let session = app
        .store
        .create_session(&admin.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let page = app
        .client
        .get(app.url("/admin/mail"))
        .header("cookie", format!("reelgate_session={}", session.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // As a browser shows it: minijinja escapes `/` as `&#x2f;`.
    let html = page.text().await.unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains("Mail not configured — shown here instead."),
        "{html}"
    );
    assert!(html.contains("ada@example.com"));
    assert!(
        html.contains(&format!(
            "{}/password-reset/confirm?token=rgt_",
            app.address
        )),
        "{html}"
    );
    // Customers cannot read it.
    let (eve, _) = app.customer("eve", 0).await;
    let eve = app
        .store
        .create_session(&eve.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let refused = app
        .client
        .get(app.url("/admin/mail"))
        .header("cookie", format!("reelgate_session={}", eve.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}
