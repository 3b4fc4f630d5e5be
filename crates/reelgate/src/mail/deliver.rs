//! The mail deliverer: claims due mails from the outbox, sends them, and records each attempt —
//! sent, tried again later with backoff, or given up (refused for good, or a day old).
//!
//! A claim is a lease, so several instances share the outbox and none sends a mail another
//! is sending; a deliverer that dies after the server took a mail and before recording it
//! sends it once more, with the same Message-ID.

use chrono::{DateTime, Utc};
use reelgate_store::{queues, OutboxMail, StoreError};
use std::sync::Arc;
use tokio::sync::Notify;

use super::Mailer;
use crate::generations::lifecycle::Lifecycle;
use crate::worker::{after, Claimed, Worker};

/// Sends the outbox's due mails, one of the background workers on the shared claim.
pub struct MailDeliverer {
    mailer: Arc<Mailer>,
    lifecycle: Arc<Lifecycle>,
}

impl MailDeliverer {
    /// `None` when no mail server is configured: the mail then stays in the outbox, where
    /// the operator's mail page shows it, and nothing is claimed.
    pub fn new(mailer: Arc<Mailer>, lifecycle: Arc<Lifecycle>) -> Option<MailDeliverer> {
        match &mailer.settings.smtp {
            None => {
                tracing::warn!(
                    "mail is not configured (REELGATE_SMTP_URL): mails are kept in the outbox, \
                     where the operator's mail page shows them"
                );
                None
            }
            Some(url) => {
                tracing::info!(server = %url.server(), security = url.security(), "sending mail");
                Some(MailDeliverer { mailer, lifecycle })
            }
        }
    }
}

impl Worker for MailDeliverer {
    type Job = OutboxMail;
    const NAME: &'static str = "mail";
    /// Sent side by side, each within the mail timeout, which is kept under the claim lease
    /// so that no claim runs out mid-send.
    const PARALLEL: usize = 8;

    async fn claim(&self, limit: u32) -> Result<Claimed<OutboxMail>, StoreError> {
        let lease = self.lifecycle.settings.claim_lease;
        Ok(Claimed::Jobs(
            self.lifecycle
                .store
                .claim(&queues::MAIL, limit, lease)
                .await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.lifecycle.store.next_due(&queues::MAIL).await
    }

    fn nudge(&self) -> &Notify {
        &self.lifecycle.wake.mail
    }

    async fn work(&self, mail: OutboxMail) {
        attempt(&self.mailer, &self.lifecycle, mail).await;
    }
}

async fn attempt(mailer: &Mailer, lifecycle: &Lifecycle, mail: OutboxMail) {
    let timeout = mailer
        .settings
        .timeout
        .min(lifecycle.settings.claim_lease / 2);
    let outcome = match tokio::time::timeout(timeout, mailer.send(&mail)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(super::SendError::Transient(format!(
            "the mail server did not take the mail within {timeout:?}"
        ))),
    };
    let recorded = match &outcome {
        Ok(()) => {
            metrics::counter!("reelgate_mail_attempts_total", "outcome" => "sent").increment(1);
            tracing::info!(mail = %mail.id, template = %mail.template, "mail sent");
            lifecycle
                .store
                .record_mail_sent(&mail.id, mail.template.carries_secret())
                .await
        }
        Err(error) => {
            metrics::counter!("reelgate_mail_attempts_total", "outcome" => "failed").increment(1);
            let age = (Utc::now() - mail.created_at).to_std().unwrap_or_default();
            let wait = mailer.settings.wait_after(mail.attempts);
            let retry_at = (!error.is_permanent() && age + wait <= mailer.settings.keep_trying_for)
                .then(|| after(wait));
            tracing::warn!(mail = %mail.id, template = %mail.template, attempts = mail.attempts,
                %error, will_retry = retry_at.is_some(), "mail not sent");
            lifecycle
                .store
                .record_mail_failed(&mail.id, &error.to_string(), retry_at)
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(mail = %mail.id, %error, "cannot record the mail attempt");
    }
}
