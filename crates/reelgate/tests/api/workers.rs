//! Adding a background worker, in full: the example `docs/ARCHITECTURE.md` shows, compiled
//! and run here on a real queue of the store with the one worker loop (`worker::run`).

use chrono::{DateTime, Utc};
use reelgate::worker::{self, Claimed, Worker};
use reelgate_domain::accounts::Email;
use reelgate_domain::mail::{Language, MailTemplate};
use reelgate_store::{queues, NewMail, OutboxMail, Store, StoreError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

use crate::helpers::SuiteDatabase;

// --- the example (docs/ARCHITECTURE.md, "Adding a worker") ---
/// Hands each due mail of the outbox to a channel instead of a mail server, and records it
/// sent: a development sink for mail.
pub struct MailSink {
    store: Store,
    nudge: Notify,
    out: mpsc::UnboundedSender<OutboxMail>,
}

impl Worker for MailSink {
    type Job = OutboxMail;
    const NAME: &'static str = "mail-sink";
    const PARALLEL: usize = 4;

    async fn claim(&self, limit: u32) -> Result<Claimed<OutboxMail>, StoreError> {
        let lease = Duration::from_secs(60);
        Ok(Claimed::Jobs(
            self.store.claim(&queues::MAIL, limit, lease).await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_due(&queues::MAIL).await
    }

    fn nudge(&self) -> &Notify {
        &self.nudge
    }

    async fn work(&self, mail: OutboxMail) {
        match self.store.record_mail_sent(&mail.id, false).await {
            Ok(()) => drop(self.out.send(mail)),
            // Not recorded: it comes back when its lease runs out.
            Err(error) => tracing::error!(mail = %mail.id, %error, "mail-sink: cannot record"),
        }
    }
}
// --- end of the example ---

fn alert(to: &str) -> NewMail {
    NewMail {
        to: Email::parse(&format!("{to}@example.com")).expect("an address"),
        language: Language::En,
        template: MailTemplate::OperatorAlert,
        values: json!({"subject": "s", "message": "m"}),
        user: None,
    }
}

/// The next mail the sink handed out; a deadline only so that a broken loop fails the test
/// instead of hanging it.
async fn next(sent: &mut mpsc::UnboundedReceiver<OutboxMail>) -> String {
    let mail = tokio::time::timeout(Duration::from_secs(30), sent.recv())
        .await
        .expect("the worker handed out a mail")
        .expect("the worker is running");
    mail.to.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_of_thirty_lines_works_its_queue_and_each_job_once() {
    let store = if SuiteDatabase::on_postgres() {
        reelgate_store::testing::postgres_store().await
    } else {
        reelgate_store::testing::sqlite_store().await
    }
    .expect("a test store");
    for to in ["ada", "bob", "cem"] {
        store.enqueue_mail(&alert(to)).await.unwrap();
    }
    let (out, mut sent) = mpsc::unbounded_channel();
    let sink = Arc::new(MailSink {
        store: store.store().clone(),
        nudge: Notify::new(),
        out,
    });
    let (stop, stopping) = watch::channel(false);
    let running = tokio::spawn(worker::run(Arc::clone(&sink), stopping));

    let mut first = vec![
        next(&mut sent).await,
        next(&mut sent).await,
        next(&mut sent).await,
    ];
    first.sort();
    assert_eq!(
        first,
        ["ada@example.com", "bob@example.com", "cem@example.com"]
    );
    // Idle now; a mail queued later is taken when the worker is nudged.
    store.enqueue_mail(&alert("dan")).await.unwrap();
    sink.nudge.notify_one();
    assert_eq!(next(&mut sent).await, "dan@example.com");

    stop.send_replace(true);
    running.await.unwrap();
    assert!(sent.try_recv().is_err(), "a mail was handed out twice");
    let outbox = store.recent_mail(10).await.unwrap();
    assert_eq!(outbox.len(), 4);
    assert!(
        outbox.iter().all(|mail| mail.sent_at.is_some()),
        "{outbox:?}"
    );
}

#[test]
fn the_architecture_doc_shows_this_very_worker() {
    let here = include_str!("workers.rs");
    let example = here
        .split_once("// --- the example (docs/ARCHITECTURE.md, \"Adding a worker\") ---\n")
        .and_then(|(_, rest)| rest.split_once("// --- end of the example ---"))
        .expect("the example's markers")
        .0;
    let doc = include_str!("../../../../docs/ARCHITECTURE.md");
    assert!(
        doc.contains(&format!("```rust\n{example}```")),
        "docs/ARCHITECTURE.md's worker example differs from tests/api/workers.rs"
    );
}
