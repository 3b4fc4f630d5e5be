//! The mail deliverer: claims due mails from the outbox, sends them, and records each attempt —
//! sent, tried again later with backoff, or given up (refused for good, or a day old).
//!
//! A claim is a lease, so several instances share the outbox and none sends a mail another
//! is sending; a deliverer that dies after the server took a mail and before recording it
//! sends it once more, with the same Message-ID.

use chrono::Utc;
use reelgate_store::OutboxMail;
use std::sync::Arc;

use super::Mailer;
use crate::generations::lifecycle::Lifecycle;
use crate::worker::{after, pause};

/// Mails claimed at once; they are sent side by side, each within the mail timeout, which is
/// kept under the claim lease so that no claim runs out mid-send.
const BATCH: u32 = 8;

pub async fn run(mailer: Arc<Mailer>, lc: Arc<Lifecycle>) {
    match &mailer.settings.smtp {
        None => {
            tracing::warn!(
                "mail is not configured (REELGATE_SMTP_URL): mails are kept in the outbox, \
                 where the operator's mail page shows them"
            );
            return;
        }
        Some(url) => {
            tracing::info!(server = %url.server(), security = url.security(), "sending mail")
        }
    }
    let mut stop = lc.stopping();
    while !*stop.borrow() {
        if drain_once(&mailer, &lc).await > 0 {
            continue;
        }
        let next_due = lc.store.next_mail_due().await.ok().flatten();
        if !pause(next_due, &lc.wake.mail, &mut stop).await {
            break;
        }
    }
}

/// Claims one batch of due mails and attempts each; returns how many were claimed.
pub async fn drain_once(mailer: &Mailer, lc: &Lifecycle) -> usize {
    match lc.store.claim_mail(BATCH, lc.settings.claim_lease).await {
        Ok(claimed) => {
            let n = claimed.len();
            let attempts = claimed.into_iter().map(|mail| attempt(mailer, lc, mail));
            futures::future::join_all(attempts).await;
            n
        }
        Err(error) => {
            tracing::error!(%error, "mail: cannot claim the outbox");
            0
        }
    }
}

async fn attempt(mailer: &Mailer, lc: &Lifecycle, mail: OutboxMail) {
    let timeout = mailer.settings.timeout.min(lc.settings.claim_lease / 2);
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
            lc.store
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
            lc.store
                .record_mail_failed(&mail.id, &error.to_string(), retry_at)
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(mail = %mail.id, %error, "cannot record the mail attempt");
    }
}
