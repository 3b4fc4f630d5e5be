//! Operator alerts by mail (`REELGATE_OPERATOR_EMAILS`), read from a real SMTP server: the
//! balance guard stopping dispatch, a Kie key refused and a model withdrawn reach every operator
//! address, once.

use kie_sim::SimConfig;
use reelgate::config::Settings;
use rust_decimal::Decimal;
use std::time::Duration;

use crate::helpers::{wait_until, TestApp};
use crate::smtp::SmtpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_stopping_for_a_low_kie_balance_is_mailed_to_every_operator_address() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_tuned(
        Settings::default()
            .with("REELGATE_SMTP_URL", smtp.url())
            .with("REELGATE_BALANCE_POLL_SECS", "1")
            .with("REELGATE_BALANCE_WARN_CREDITS", "1000")
            .with("REELGATE_BALANCE_STOP_CREDITS", "500")
            .with(
                "REELGATE_OPERATOR_EMAILS",
                "ops@example.com, cto@example.com",
            ),
        SimConfig {
            initial_balance: Decimal::from(100),
            ..SimConfig::for_tests()
        },
        |config| config.mail.backoff = vec![Duration::from_millis(200)],
    )
    .await;

    let mut mails = smtp.wait_for(2).await;
    mails.sort_by(|a, b| a.rcpt_tos.cmp(&b.rcpt_tos));
    assert_eq!(mails[0].rcpt_tos, ["cto@example.com"]);
    assert_eq!(mails[1].rcpt_tos, ["ops@example.com"]);
    for mail in &mails {
        assert_eq!(
            mail.header("subject"),
            "reelgate: dispatch stopped: the Kie balance is below the stop threshold"
        );
        let text = mail.text.as_deref().unwrap();
        assert!(text.contains("new generations wait queued"), "{text}");
        assert!(text.contains("Balance: 100 Kie credits."), "{text}");
        assert!(mail
            .html
            .as_deref()
            .unwrap()
            .contains("Balance: 100 Kie credits."));
    }
    // The level did not change again, so nothing more comes: over three more of the guard's
    // reads of the balance, after which nothing is left in the outbox to send.
    app.balance_reads_after(app.kie_balance_reads(), 3).await;
    wait_until("the outbox to be empty", async || {
        app.store.next_mail_due().await.unwrap().is_none()
    })
    .await;
    assert_eq!(smtp.received().len(), 2, "{:#?}", smtp.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kie_key_refused_is_mailed_once_naming_its_fingerprint_not_the_key() {
    const KEY_A: &str = "kie-key-alpha-0001";
    const KEY_B: &str = "kie-key-bravo-0002";
    let smtp = SmtpServer::start();
    let running = kie_sim::spawn(
        SimConfig {
            key_balances: vec![
                (KEY_A.to_owned(), Decimal::ZERO),
                (KEY_B.to_owned(), Decimal::from(1_000_000)),
            ],
            ..SimConfig::for_tests()
        },
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let settings = Settings::default()
        .with("REELGATE_KIE_API_KEYS", format!("{KEY_A},{KEY_B}"))
        // Kie's own 402 refuses key A here, not the guard's threshold.
        .with("REELGATE_BALANCE_WARN_CREDITS", "0")
        .with("REELGATE_BALANCE_STOP_CREDITS", "0")
        .with("REELGATE_SMTP_URL", smtp.url())
        .with("REELGATE_OPERATOR_EMAILS", "ops@example.com");
    let app = TestApp::on_simulator(&running, settings, |_| {}).await;
    let (_, ada) = app.customer("ada", 1_000_000).await;
    let kling =
        serde_json::json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox in snow"});
    // Until dispatch has tried key A (it takes the keys in turn) and Kie refused it.
    let mut ids = Vec::new();
    while app.sim.stats().creates_unpaid == 0 {
        assert!(ids.len() < 20, "key A was never tried");
        let (status, body) = app.submit(&ada, kling.clone()).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
        app.settled(&ada, ids.last().unwrap()).await;
    }
    for id in &ids {
        assert_eq!(app.settled(&ada, id).await["status"], "succeeded");
    }

    // Ada hears of her videos; the operator of the key.
    let to_ops = || {
        smtp.received()
            .into_iter()
            .filter(|m| m.rcpt_tos == ["ops@example.com"])
            .collect::<Vec<_>>()
    };
    crate::helpers::wait_until("the operator's mail", async || !to_ops().is_empty()).await;
    let mail = to_ops().remove(0);
    assert_eq!(mail.header("subject"), "reelgate: a Kie key was refused");
    let text = mail.text.clone().unwrap();
    let label = reelgate::generations::keys::fingerprint(KEY_A);
    assert!(text.contains(&format!("Kie refused key {label}")), "{text}");
    assert!(!text.contains(KEY_A) && !text.contains(KEY_B), "{text}");
    // Once: nothing else waits in the outbox, though Ada's mails went through it too.
    wait_until("the outbox to be empty", async || {
        app.store.next_mail_due().await.unwrap().is_none()
    })
    .await;
    assert_eq!(to_ops().len(), 1, "{:#?}", to_ops());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_kie_withdraws_is_mailed_to_the_operators_once() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_tuned(
        Settings::default()
            .with("REELGATE_SMTP_URL", smtp.url())
            .with("REELGATE_MODEL_PAUSE_SECS", "3600")
            .with("REELGATE_OPERATOR_EMAILS", "ops@example.com"),
        SimConfig::for_tests(),
        |config| config.mail.backoff = vec![Duration::from_millis(200)],
    )
    .await;
    let (_, ada) = app.customer("ada", 10_000).await;
    app.sim
        .withdraw_model("sora-2-text-to-video", Some(kie_sim::Withdrawal::Disabled));
    let sora = serde_json::json!({"model": "sora-2-text-to-video", "prompt": "a lighthouse"});
    let (status, created) = app.submit(&ada, sora.clone()).await;
    assert_eq!(status, 202, "{created}");
    let done = app.settled(&ada, created["id"].as_str().unwrap()).await;
    assert_eq!(done["error"]["code"], "model_unavailable", "{done}");

    // Ada is told her video could not be made; the operator, that the model is paused.
    let mut mails = smtp.wait_for(2).await;
    mails.sort_by(|a, b| a.rcpt_tos.cmp(&b.rcpt_tos));
    assert_eq!(mails[0].rcpt_tos, ["ada@example.com"]);
    assert_eq!(mails[1].rcpt_tos, ["ops@example.com"]);
    let alert = &mails[1];
    assert_eq!(
        alert.header("subject"),
        "reelgate: sora-2-text-to-video is paused: Kie withdrew or disabled it"
    );
    let text = alert.text.as_deref().unwrap();
    assert!(
        text.contains("Kie refuses sora-2-text-to-video as withdrawn or disabled"),
        "{text}"
    );
    // Refused at submission while paused: not news, nothing more is mailed.
    let (status, refused) = app.submit(&ada, sora).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(app.balance(&ada).await, (10_000, 0));
    assert_eq!(smtp.received().len(), 2, "{:#?}", smtp.received());
}
