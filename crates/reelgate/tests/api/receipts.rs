//! Receipts by mail, read from a real SMTP server: a purchase credited on the demo provider,
//! and the refund that takes its credits back.

use reelgate::config::Settings;
use serde_json::json;
use std::time::Duration;

use crate::helpers::{json, wait_until, TestApp};
use crate::smtp::SmtpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_and_its_refund_each_mail_a_receipt_once() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_tuned(
        Settings::default().with("REELGATE_SMTP_URL", smtp.url()),
        kie_sim::SimConfig::for_tests(),
        |config| config.mail.backoff = vec![Duration::from_millis(200)],
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let (_, package) = json(
        app.post_as(
            &admin,
            "/v1/admin/packages",
            json!({"name": "Starter", "credits": 500, "bonus_credits": 50,
                   "price": {"amount": "149.90", "currency": "TRY"}, "active": true}),
        )
        .await,
    )
    .await;
    let (_, checkout) = json(
        app.post_as(
            &key,
            "/v1/checkout",
            json!({"package": package["id"], "provider": "demo"}),
        )
        .await,
    )
    .await;
    let payment = checkout["payment"]["id"].as_str().unwrap().to_owned();
    let pay_path = format!("/v1/payments/{payment}/demo");
    let pay = || app.post_as(&key, &pay_path, json!({"choice": "pay"}));
    assert_eq!(pay().await.status(), 200);
    // The provider saying it twice credits once, and mails once.
    assert_eq!(pay().await.status(), 200);

    let receipt = smtp.wait_for(1).await.remove(0);
    assert_eq!(receipt.rcpt_tos, ["ada@example.com"]);
    assert_eq!(receipt.header("subject"), "Receipt: 550 credits");
    let text = receipt.text.clone().unwrap();
    assert!(text.contains("₺149.90 paid"), "{text}");
    assert!(text.contains(&payment), "{text}");
    assert!(receipt.html.unwrap().contains("₺149.90"));

    let (status, refunded) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/payments/{payment}/refund"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{refunded}");
    let refund = smtp.wait_for(2).await.remove(1);
    assert_eq!(refund.header("subject"), "Refund: ₺149.90");
    assert!(refund.text.unwrap().contains("550 credits were taken back"));
    // Nothing more: the outbox has nothing left to send (the sink writes each mail down before
    // accepting it), so a second receipt or refund would be in the log by now.
    wait_until("the outbox to be empty", async || {
        app.store.next_mail_due().await.unwrap().is_none()
    })
    .await;
    assert_eq!(smtp.received().len(), 2, "{:#?}", smtp.received());
}
