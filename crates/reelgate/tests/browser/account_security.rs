//! In Chromium: a customer looks after their account on the account page — password, mail
//! settings, sessions, a new address confirmed from the mail read off a real SMTP server,
//! their data downloaded — and, in Turkish, closes it after being shown the credits it gives up.

use reelgate::config::Settings;
use reelgate_domain::accounts::{Email, Password, Role};
use std::time::Duration;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::smtp::SmtpServer;

const EMAIL: &str = "maya@example.com";
const NEW_EMAIL: &str = "maya@new.example";
const OLD: &str = "maya's old password";
const NEW: &str = "maya's new password";

/// Submits the form with `data-confirm` behind `button` and accepts the browser's question.
async fn confirm_click(b: &Browser, button: &str) {
    b.click(button).await;
    b.wait_until("the browser asks to confirm", || async {
        b.client.get_alert_text().await.is_ok()
    })
    .await;
    b.client.accept_alert().await.expect("confirm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_changes_password_settings_and_address_then_closes_the_account() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with(
        Settings::default().with("REELGATE_SMTP_URL", smtp.url()),
        |_| {},
    )
    .await;
    let maya = app.create_user(EMAIL, OLD, Role::Customer).await;
    app.grant(&maya, 120).await;
    // Signed in somewhere else too.
    let elsewhere = app
        .store
        .create_session(&maya.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", OLD).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    b.goto("/account").await;
    b.wait_for_text("#email-state", "confirmed").await;
    b.wait_for_text("#sessions", "this browser").await;
    // Named by the browser it was started from.
    b.wait_for_text("#sessions tbody", "Chrome").await;

    // The password, with the current one proven.
    b.fill("#current-password", "not my password").await;
    b.fill("#new-password", NEW).await;
    b.click("form[action='/account/password'] button").await;
    b.wait_for_text("#password-error", "The password is wrong.")
        .await;
    b.fill("#current-password", OLD).await;
    b.fill("#new-password", NEW).await;
    b.click("form[action='/account/password'] button").await;
    b.wait_for_text("#notice", "Your password was changed.")
        .await;
    // This browser stays signed in; the other session was ended.
    assert_eq!(app.store.session_user(&elsewhere).await.unwrap(), None);
    let another = app
        .store
        .create_session(&maya.id, Duration::from_secs(3600))
        .await
        .unwrap();
    confirm_click(&b, "#sign-out-everywhere").await;
    b.wait_for_text("#notice", "Signed out everywhere else (1 sessions ended).")
        .await;
    assert_eq!(app.store.session_user(&another).await.unwrap(), None);

    // Mail settings: generation mail off, a reminder below 50 credits.
    b.click("#notify-generations").await;
    b.click("#low-balance").await;
    b.fill("#low-balance-below", "50").await;
    b.click("form[action='/account/notifications'] button")
        .await;
    b.wait_for_text("#notice", "Your mail settings were saved.")
        .await;
    let shown = b
        .eval(
            "return [document.querySelector('#notify-generations').checked,
                     document.querySelector('#low-balance-below').value];",
        )
        .await;
    assert_eq!(shown, serde_json::json!([false, "50"]));

    // A new address, confirmed by the link mailed to it.
    b.fill("#new-email", NEW_EMAIL).await;
    b.fill("#email-password", NEW).await;
    b.click("form[action='/account/email'] button").await;
    b.wait_for_text("#notice", "A link is on its way to the new address")
        .await;
    b.wait_for_text("#current-email", EMAIL).await;
    let link = loop {
        let received = smtp.received();
        if let Some(mail) = received.iter().find(|m| m.rcpt_tos == [NEW_EMAIL]) {
            break mail.link(&format!("{}/confirm-email?token=", app.address));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.goto(link.strip_prefix(&app.address).unwrap()).await;
    b.wait_for_text("#notice", "your email address is confirmed")
        .await;
    b.wait_for_text("#current-email", NEW_EMAIL).await;
    b.screenshot("account-security").await;

    // The download holds the account as it is now.
    let exported = b
        .eval(
            "var x = new XMLHttpRequest(); x.open('GET', \
             document.querySelector('#export').getAttribute('href'), false); x.send(); \
             return [x.status, JSON.parse(x.responseText).account.email];",
        )
        .await;
    assert_eq!(exported, serde_json::json!([200, NEW_EMAIL]));

    // In Turkish: closing shows the credits given up, asks, and signs out for good.
    b.click(".lang-switch button[value='tr']").await;
    b.wait_for_text("#close-h", "Hesabı kapat").await;
    b.wait_for_text("#close-credits", "Harcanmamış 120 krediniz var")
        .await;
    b.click("#close summary").await;
    b.fill("#close-password", NEW).await;
    confirm_click(&b, "#close-account").await;
    b.wait_for_path("/signin").await;
    b.wait_for_text(".alert-ok", "Hesabınız kapatıldı").await;
    let email = Email::parse(NEW_EMAIL).unwrap();
    let password = Password::parse(NEW).unwrap();
    assert!(app.store.authenticate(&email, &password).await.is_err());
    b.fill("#email", NEW_EMAIL).await;
    b.fill("#password", NEW).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_text("#signin-error", "").await;
    assert!(b.path().await.starts_with("/signin"));
    assert!(!b.text("#signin-error").await.is_empty());
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_verification_required_a_new_customer_generates_once_the_mailed_link_is_followed() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with(
        Settings::default()
            .with("REELGATE_SMTP_URL", smtp.url())
            .with("REELGATE_REQUIRE_VERIFIED_EMAIL", "true"),
        |_| {},
    )
    .await;
    let b = Browser::start(&app.address).await;
    b.goto("/signup").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", OLD).await;
    b.click("form[action='/signup'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    let users = app.store.list_users(None, None, 10).await.unwrap();
    app.grant(&users.items[0], 100).await;

    let generate = async || {
        b.goto("/generate?model=kling-2.6%2Ftext-to-video").await;
        b.wait_for_exact_text("#price", "45").await;
        b.fill("#p-prompt", "A red fox running through fresh snow")
            .await;
        b.click("#submit").await;
    };
    generate().await;
    b.wait_for_text("#generate-error", "Confirm your email address first")
        .await;
    assert_eq!(b.text("[data-balance]").await.trim(), "100");
    b.goto("/account").await;
    b.wait_for_text("#email-state", "not confirmed").await;

    let mail = loop {
        let received = smtp.received();
        if let Some(mail) = received
            .into_iter()
            .find(|m| m.header("subject") == "Confirm your email address")
        {
            break mail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let link = mail.link(&format!("{}/confirm-email?token=", app.address));
    b.goto(link.strip_prefix(&app.address).unwrap()).await;
    b.wait_for_text("#notice", "your email address is confirmed")
        .await;
    b.wait_for_text("#email-state", "confirmed").await;
    generate().await;
    b.wait_for_path("/videos").await;
    b.quit().await;
}
