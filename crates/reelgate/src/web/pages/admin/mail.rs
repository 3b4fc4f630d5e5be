//! Operator: the mail outbox — what was sent, what waits and why. Without an SMTP server the
//! mails themselves are shown here instead (so a password reset works on the defaults: the
//! operator can pass the link on); with one, only who got what and when.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

use crate::web::error::WebError;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

const SHOWN: u32 = 100;

#[derive(Serialize)]
struct MailRow {
    id: String,
    to: String,
    template: String,
    state: &'static str,
    attempts: u32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    subject: String,
    /// The text part, only while mail is not configured.
    text: Option<String>,
}

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
) -> Result<Response, WebError> {
    let mailer = &web.api.mail;
    let configured = mailer.is_configured();
    let rows: Vec<MailRow> = web
        .api
        .store
        .recent_mail(SHOWN)
        .await?
        .into_iter()
        .map(|mail| {
            let rendered = mailer.render(&mail);
            let state = match (mail.sent_at, mail.gave_up_at) {
                (Some(_), _) => "sent",
                (None, Some(_)) => "gave_up",
                (None, None) => "waiting",
            };
            MailRow {
                subject: rendered
                    .as_ref()
                    .map(|r| r.subject.clone())
                    .unwrap_or_else(|e| e.to_string()),
                text: rendered.ok().filter(|_| !configured).map(|r| r.text),
                id: mail.id,
                to: mail.to.to_string(),
                template: mail.template.to_string(),
                state,
                attempts: mail.attempts,
                last_error: mail.last_error,
                created_at: mail.created_at,
                sent_at: mail.sent_at,
            }
        })
        .collect();
    let server = mailer
        .settings
        .smtp
        .as_ref()
        .map(|url| format!("{} ({})", url.server(), url.security()));
    let page = chrome.render(
        "admin/mail.html",
        "admin_mail",
        context! {
            configured => configured,
            server => server,
            from => mailer.settings.from.to_string(),
            mails => rows,
        },
    )?;
    Ok(page.into_response())
}
