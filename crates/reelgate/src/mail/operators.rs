//! Operator alerts by mail (`REELGATE_OPERATOR_EMAILS`): what goes to the operator's webhook
//! and the log — the Kie balance low or dispatch stopped, a Kie key refused, a model withdrawn — also queued in
//! the outbox for each operator address, so a mail server that is down delays it and loses
//! nothing.

use reelgate_domain::accounts::Email;
use reelgate_domain::mail::{Language, MailTemplate};
use reelgate_store::mail::NewMail;
use reelgate_store::Store;
use serde_json::json;

/// Queues `subject` and `message` for every address in `to`. Best effort: an alert that cannot
/// be queued is logged, and the log line it repeats is written anyway.
pub async fn alert(store: &Store, to: &[Email], subject: &str, message: &str) {
    for address in to {
        let mail = NewMail {
            to: address.clone(),
            language: Language::En,
            template: MailTemplate::OperatorAlert,
            values: json!({ "subject": subject, "message": message }),
            user: None,
        };
        if let Err(error) = store.enqueue_mail(&mail).await {
            tracing::error!(%error, "cannot queue the operator alert mail");
        }
    }
}
