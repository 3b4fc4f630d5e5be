//! The customer's credit history: a generation is one line however many rows it wrote, with
//! what it finally cost; other movements are a line each; pages are cut without losing or
//! repeating a line.

mod common;

use common::customer;
use reelgate_domain::generations::{GenerationError, GenerationId, Status};
use reelgate_domain::ledger::{Actor, EntryKind};
use reelgate_domain::Credits;
use reelgate_store::testing::TestStore;
use reelgate_store::{queues, NewGeneration, Outcome, Store, Submitted};
use rust_decimal::Decimal;

on_both_backends!(
    a_generation_is_one_line_with_its_final_amount,
    history_pages_lose_and_repeat_no_line,
);

async fn submit(
    store: &Store,
    user: &reelgate_domain::accounts::User,
    prompt: &str,
) -> GenerationId {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "kling-2.6/text-to-video".into(),
        params: serde_json::json!({"prompt": prompt, "duration": 5})
            .as_object()
            .cloned()
            .unwrap(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(45),
        upstream_cost_usd: Decimal::new(28, 2),
        webhook_url: None,
        idempotency: None,
    };
    match store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    {
        Submitted::Created(g, _) => g.id,
        other => panic!("expected a new generation, got {other:?}"),
    }
}

async fn a_generation_is_one_line_with_its_final_amount(store: &TestStore) {
    let user = customer(store, "ada", 200).await;
    let won = submit(store, &user, "a red fox running through snow").await;
    let lost = submit(store, &user, "a storm at sea").await;
    // Sent upstream and accepted, so that it can succeed.
    let lease = std::time::Duration::from_secs(60);
    assert_eq!(
        store
            .claim(&queues::DISPATCH, 10, lease)
            .await
            .unwrap()
            .len(),
        2
    );
    store
        .record_accepted(&won, "task_1", chrono::Utc::now())
        .await
        .unwrap();
    let waiting = submit(store, &user, "a quiet street").await;
    store
        .settle_generation(
            &won,
            &Outcome::Succeeded {
                videos: vec![],
                hd_pending: false,
            },
            |_| String::new(),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .settle_generation(
            &lost,
            &Outcome::Failed {
                error: GenerationError {
                    code: "generation_failed".into(),
                    message: "no".into(),
                },
                upstream_error: None,
            },
            |_| String::new(),
        )
        .await
        .unwrap()
        .unwrap();

    let page = store.history_page(&user.id, None, 10).await.unwrap();
    let seen: Vec<_> = page
        .lines
        .iter()
        .map(|l| {
            (
                l.generation.as_ref().map(|g| (g.id.clone(), g.status)),
                l.amount.get(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some((waiting.clone(), Status::Queued)), -45),
            (Some((lost.clone(), Status::Failed)), 0),
            (Some((won.clone(), Status::Succeeded)), -45),
            (None, 200),
        ],
        "newest first, one line per generation"
    );
    let first = &page.lines[2];
    let generation = first.generation.as_ref().unwrap();
    assert_eq!(generation.model, "kling-2.6/text-to-video");
    assert_eq!(
        generation.prompt.as_deref(),
        Some("a red fox running through snow")
    );
    assert_eq!(page.lines[3].entry.kind, EntryKind::Grant);
    // The raw ledger still has every row: 3 holds, a charge, a refund and the grant.
    let raw = store.ledger_page(&user.id, None, 50).await.unwrap();
    assert_eq!(raw.entries.len(), 6);
    assert_eq!(
        (page.balance, page.held),
        (Credits::new(110), Credits::new(45))
    );
}

async fn history_pages_lose_and_repeat_no_line(store: &TestStore) {
    let user = customer(store, "bo", 500).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(submit(store, &user, &format!("video {n}")).await);
        store
            .grant(&user.id, Credits::new(1), "a credit", &Actor::Cli)
            .await
            .unwrap();
    }
    let mut lines = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .history_page(&user.id, cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.lines.len() <= 3);
        lines.extend(page.lines);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(lines.len(), 11, "5 generations, 5 grants, the first grant");
    let generations: Vec<_> = lines
        .iter()
        .filter_map(|l| l.generation.as_ref().map(|g| g.id.clone()))
        .collect();
    made.reverse();
    assert_eq!(generations, made);
    assert!(
        store
            .history_page(&user.id, Some("bogus"), 3)
            .await
            .is_err(),
        "a cursor that is not one is refused"
    );
}
