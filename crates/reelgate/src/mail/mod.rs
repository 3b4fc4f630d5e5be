//! Outgoing mail. Whatever causes a mail queues it in the outbox in its own transaction
//! (`reelgate_store::mail`); [`deliver`] sends it over SMTP with retries; without
//! `REELGATE_SMTP_URL` it stays in the outbox, where the operator's mail page shows it.

pub mod deliver;
pub mod operators;
pub mod render;
pub mod settings;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use reelgate_store::OutboxMail;
use std::sync::Arc;
use url::Url;

pub use render::{render, RenderedMail};
pub use settings::{MailSettings, SmtpUrl};

#[derive(Debug, thiserror::Error)]
#[error("REELGATE_SMTP_URL: {0}")]
pub struct MailStartError(String);

/// Why a mail was not sent, and whether trying again may help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The mail cannot be made (bad values, a bad address): trying again will not help.
    #[error("{0}")]
    Unsendable(String),
    /// The server refused it for good (5xx: no such mailbox, …).
    #[error("refused by the mail server: {0}")]
    Refused(String),
    /// Connection trouble, a timeout, a 4xx: may pass.
    #[error("{0}")]
    Transient(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        !matches!(self, SendError::Transient(_))
    }
}

pub struct Mailer {
    pub settings: MailSettings,
    /// Links in mails point into the site here.
    pub public_url: Url,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(settings: MailSettings, public_url: Url) -> Result<Arc<Mailer>, MailStartError> {
        let transport = match &settings.smtp {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| MailStartError(e.to_string()))?
                    .timeout(Some(settings.timeout))
                    .build(),
            ),
        };
        Ok(Arc::new(Mailer {
            settings,
            public_url,
            transport,
        }))
    }

    /// Whether mail is sent at all (else it waits in the outbox for the operator to read).
    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    pub fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, render::RenderError> {
        render(mail, &self.public_url)
    }

    /// Renders `mail` and hands it to the SMTP server.
    pub async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let Some(transport) = &self.transport else {
            return Err(SendError::Transient("mail is not configured".into()));
        };
        let message = self.message(mail)?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }

    /// The multipart (text + HTML) message. Its Message-ID comes from the outbox row, so a
    /// mail sent twice (a deliverer that died after the server took it) is recognisably one.
    fn message(&self, mail: &OutboxMail) -> Result<Message, SendError> {
        let rendered = self
            .render(mail)
            .map_err(|e| SendError::Unsendable(e.to_string()))?;
        let to: Mailbox = mail
            .to
            .as_str()
            .parse()
            .map_err(|e| SendError::Unsendable(format!("recipient: {e}")))?;
        let from = &self.settings.from;
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{}@{}>", mail.id, from.email.domain())))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| SendError::Unsendable(e.to_string()))
    }
}
