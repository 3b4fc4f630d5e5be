//! In Chromium: a customer who forgot their password asks for a link on the sign-in page,
//! reads the mail from a real SMTP server, follows the link and signs in with the new password.

use reelgate::config::Settings;
use reelgate_domain::accounts::Role;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::smtp::SmtpServer;

const EMAIL: &str = "maya@example.com";
const OLD: &str = "maya's old password";
const NEW: &str = "maya's new password";

async fn sign_in_with(b: &Browser, password: &str) {
    b.fill("#email", EMAIL).await;
    b.fill("#password", password).await;
    b.click("form[action='/signin'] button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_resets_a_forgotten_password_through_the_mailed_link() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with(
        Settings::default().with("REELGATE_SMTP_URL", smtp.url()),
        |_| {},
    )
    .await;
    app.create_user(EMAIL, OLD, Role::Customer).await;
    let b = Browser::start(&app.address).await;

    b.goto("/signin").await;
    b.click("#forgot-password").await;
    b.wait_for_path("/password-reset").await;
    b.fill("#email", EMAIL).await;
    b.click("form[action='/password-reset'] button[type=submit]")
        .await;
    b.wait_for_text("#reset-sent", "on its way").await;

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, [EMAIL]);
    let link = mail.link(&format!("{}/password-reset/confirm?token=", app.address));
    let path = link.strip_prefix(&app.address).unwrap().to_owned();
    b.goto(&path).await;
    b.fill("#password", "short").await;
    b.click("form[action='/password-reset/confirm'] button[type=submit]")
        .await;
    b.wait_for_text("#reset-error", "at least 8 characters")
        .await;
    b.fill("#password", NEW).await;
    b.screenshot("password-reset").await;
    b.click("form[action='/password-reset/confirm'] button[type=submit]")
        .await;
    b.wait_for_path("/signin").await;
    b.wait_for_text(".alert-ok", "Your password was changed")
        .await;

    sign_in_with(&b, OLD).await;
    b.wait_for_text("#signin-error", "Wrong email or password.")
        .await;
    sign_in_with(&b, NEW).await;
    b.wait_for_path("/generate").await;
    b.click("form[action='/signout'] button").await;
    b.wait_for_path("/signin").await;

    // The link worked once.
    b.goto(&path).await;
    b.fill("#password", "a third password").await;
    b.click("form[action='/password-reset/confirm'] button[type=submit]")
        .await;
    b.wait_for_text("#reset-error", "does not work any more")
        .await;
    b.quit().await;
}
