//! The operator's reports from the store: a fixture of generations with known prices, costs,
//! outcomes and days, against figures worked out by hand.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::customer;
use reelgate_domain::accounts::User;
use reelgate_domain::generations::{GenerationError, GenerationId, Video};
use reelgate_domain::pricing::PriceRule;
use reelgate_domain::reports::{reconcile, Grouping, MarginRow, KIE_CREDIT_USD};
use reelgate_domain::Credits;
use reelgate_store::testing::{set_generation_times, TestStore};
use reelgate_store::{queues, NewGeneration, Outcome, Store, Submitted};
use rust_decimal::Decimal;
use std::time::Duration;

on_both_backends!(
    margin_per_day_and_model_matches_the_hand_computed_figures,
    margin_per_customer_matches_the_hand_computed_figures,
    reconciliation_compares_balance_drops_with_accepted_generations,
    margin_and_reconciliation_break_down_per_kie_key,
);

fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, h, m, s).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

#[derive(Clone, Copy)]
enum End {
    Succeed,
    Fail,
    Cancel,
    KeepRunning,
}

/// Submits a generation, takes it as far as `end`, and dates it.
async fn generation(
    store: &Store,
    user: &User,
    model: &str,
    credits: i64,
    cost: &str,
    end: End,
    finished_at: Option<DateTime<Utc>>,
) -> GenerationId {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: model.into(),
        params: serde_json::Map::new(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(credits),
        upstream_cost_usd: cost.parse().unwrap(),
        webhook_url: None,
        idempotency: None,
    };
    let Submitted::Created(created, _) = store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    else {
        panic!("not created");
    };
    let id = created.id.clone();
    if let End::Cancel = end {
        store
            .cancel_generation(&user.id, &id, |_| String::new())
            .await
            .unwrap();
    } else {
        let claimed = store
            .claim(&queues::DISPATCH, 1, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed[0].id, id);
        assert!(store
            .record_accepted(&id, &format!("task_{id}"), Utc::now())
            .await
            .unwrap());
        let outcome = match end {
            End::Succeed => Some(Outcome::Succeeded {
                videos: vec![Video {
                    url: "https://files.example/v.mp4".into(),
                    resolution: None,
                }],
                hd_pending: false,
            }),
            End::Fail => Some(Outcome::Failed {
                error: GenerationError {
                    code: "generation_failed".into(),
                    message: "no".into(),
                },
                upstream_error: None,
            }),
            _ => None,
        };
        if let Some(outcome) = outcome {
            store
                .settle_generation(&id, &outcome, |_| String::new())
                .await
                .unwrap()
                .unwrap();
        }
    }
    // Kie accepted it (if it reached Kie) when it finished: all this fixture needs.
    let dispatched_at = finished_at.filter(|_| !matches!(end, End::Cancel));
    set_generation_times(store, &id, dispatched_at, finished_at)
        .await
        .unwrap();
    id
}

/// Two customers over three days (see each test for the figures):
/// - 28 Feb: ada kling 45 cr, $0.28, succeeded (before the period)
/// - 1 Mar: ada kling 45 cr, $0.28 and $0.280, succeeded ×2; ada kling failed;
///   bob sora 120 cr, $0.75, succeeded; bob sora canceled
/// - 2 Mar: ada veo3-fast 50 cr, $0.30, succeeded; bob kling succeeded at 23:59:59.999
/// - 3 Mar 00:00: bob kling succeeded (after the period); ada kling still running
async fn fixture(store: &TestStore) -> (User, User) {
    let ada = customer(store, "ada", 10_000).await;
    let bob = customer(store, "bob", 10_000).await;
    let kling = "kling-2.6/text-to-video";
    let sora = "sora-2-text-to-video";
    generation(
        store,
        &ada,
        kling,
        45,
        "0.28",
        End::Succeed,
        Some(Utc.with_ymd_and_hms(2026, 2, 28, 23, 59, 59).unwrap()),
    )
    .await;
    generation(
        store,
        &ada,
        kling,
        45,
        "0.28",
        End::Succeed,
        Some(at(1, 0, 0, 0)),
    )
    .await;
    generation(
        store,
        &ada,
        kling,
        45,
        "0.280",
        End::Succeed,
        Some(at(1, 9, 30, 0)),
    )
    .await;
    generation(
        store,
        &ada,
        kling,
        45,
        "0.28",
        End::Fail,
        Some(at(1, 10, 0, 0)),
    )
    .await;
    generation(
        store,
        &bob,
        sora,
        120,
        "0.75",
        End::Succeed,
        Some(at(1, 11, 0, 0)),
    )
    .await;
    generation(
        store,
        &bob,
        sora,
        120,
        "0.75",
        End::Cancel,
        Some(at(1, 12, 0, 0)),
    )
    .await;
    generation(
        store,
        &ada,
        "veo3-fast",
        50,
        "0.30",
        End::Succeed,
        Some(at(2, 8, 0, 0)),
    )
    .await;
    let last_ms = at(2, 23, 59, 59) + chrono::Duration::milliseconds(999);
    generation(store, &bob, kling, 45, "0.28", End::Succeed, Some(last_ms)).await;
    generation(
        store,
        &bob,
        kling,
        45,
        "0.28",
        End::Succeed,
        Some(at(3, 0, 0, 0)),
    )
    .await;
    generation(store, &ada, kling, 45, "0.28", End::KeepRunning, None).await;
    (ada, bob)
}

fn rule() -> PriceRule {
    PriceRule::new("0.50".parse().unwrap(), Decimal::from(108), 5).unwrap()
}

/// `(succeeded, failed, canceled, charged, refunded, cost, revenue, margin)`.
type Figures = (
    u64,
    u64,
    u64,
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
);

fn figures(row: &MarginRow) -> Figures {
    let leak = |d: Decimal| -> &'static str { Box::leak(d.to_string().into_boxed_str()) };
    (
        row.succeeded,
        row.failed,
        row.canceled,
        row.credits_charged,
        row.credits_refunded,
        leak(row.upstream_cost_usd),
        leak(row.revenue_usd),
        leak(row.margin_usd),
    )
}

async fn margin_per_day_and_model_matches_the_hand_computed_figures(store: &TestStore) {
    fixture(store).await;
    let report = store
        .margin_report(day(1), day(2), Grouping::DAY_MODEL, &rule())
        .await
        .unwrap();
    let rows: Vec<(String, String, Figures)> = report
        .rows
        .iter()
        .map(|r| {
            (
                r.day.unwrap().to_string(),
                r.model.clone().unwrap(),
                figures(r),
            )
        })
        .collect();
    let expected: Vec<(String, String, Figures)> = vec![
        // 90 / 108 = 0.83333… → 0.8333; 0.8333 − 0.56 = 0.2733
        (
            "2026-03-01".into(),
            "kling-2.6/text-to-video".into(),
            (2, 1, 0, 90, 45, "0.56", "0.8333", "0.2733"),
        ),
        // 120 / 108 = 1.11111… → 1.1111; − 0.75 = 0.3611
        (
            "2026-03-01".into(),
            "sora-2-text-to-video".into(),
            (1, 0, 1, 120, 120, "0.75", "1.1111", "0.3611"),
        ),
        // 45 / 108 = 0.416666… → 0.4167; − 0.28 = 0.1367
        (
            "2026-03-02".into(),
            "kling-2.6/text-to-video".into(),
            (1, 0, 0, 45, 0, "0.28", "0.4167", "0.1367"),
        ),
        // 50 / 108 = 0.462962… → 0.4630; − 0.30 = 0.163
        (
            "2026-03-02".into(),
            "veo3-fast".into(),
            (1, 0, 0, 50, 0, "0.3", "0.463", "0.163"),
        ),
    ];
    assert_eq!(rows, expected);
    // 305 / 108 = 2.824074… → 2.8241; cost 0.56 + 0.75 + 0.28 + 0.30 = 1.89
    assert_eq!(
        figures(&report.totals),
        (5, 1, 1, 305, 165, "1.89", "2.8241", "0.9341")
    );
}

async fn margin_per_customer_matches_the_hand_computed_figures(store: &TestStore) {
    let (ada, bob) = fixture(store).await;
    let report = store
        .margin_report(day(1), day(2), Grouping::CUSTOMER, &rule())
        .await
        .unwrap();
    let rows: Vec<(String, String, Figures)> = report
        .rows
        .iter()
        .map(|r| {
            (
                r.customer_id.clone().unwrap(),
                r.email.clone().unwrap(),
                figures(r),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            // kling ×2 + veo: 140 / 108 = 1.296296… → 1.2963; cost 0.86
            (
                ada.id.to_string(),
                "ada@example.com".into(),
                (3, 1, 0, 140, 45, "0.86", "1.2963", "0.4363")
            ),
            // sora + kling: 165 / 108 = 1.527777… → 1.5278; cost 1.03
            (
                bob.id.to_string(),
                "bob@example.com".into(),
                (2, 0, 1, 165, 120, "1.03", "1.5278", "0.4978")
            ),
        ]
    );
    assert!(report
        .rows
        .iter()
        .all(|r| r.day.is_none() && r.model.is_none()));
    let empty = store
        .margin_report(day(20), day(21), Grouping::CUSTOMER, &rule())
        .await
        .unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(figures(&empty.totals), (0, 0, 0, 0, 0, "0", "0", "0"));
}

async fn reconciliation_compares_balance_drops_with_accepted_generations(store: &TestStore) {
    fixture(store).await;
    // Just before the period (after the 28 Feb generation): the balance it starts with. Then Kie takes 56 + 56 + 56 + 150 credits
    // for the four generations accepted on 1 Mar (kling ×3, sora), is topped up with 1000,
    // takes 60 (veo) and 56 (kling) on 2 Mar. The sample of 3 Mar is after the period.
    for (taken_at, credits) in [
        (
            Utc.with_ymd_and_hms(2026, 2, 28, 23, 59, 59).unwrap()
                + chrono::Duration::milliseconds(500),
            "2000",
        ),
        (at(1, 12, 30, 0), "1682"),
        (at(1, 18, 0, 0), "2682"),
        (
            at(2, 23, 59, 59) + chrono::Duration::milliseconds(999),
            "2566",
        ),
        (at(3, 6, 0, 0), "2000"),
    ] {
        store
            .record_balance_sample(taken_at, None, credits.parse().unwrap())
            .await
            .unwrap();
    }
    let samples = store.balance_samples(day(1), day(2), None).await.unwrap();
    let balances: Vec<String> = samples.iter().map(|s| s.credits.to_string()).collect();
    assert_eq!(balances, ["2000", "1682", "2682", "2566"]);
    let sent = store
        .dispatched_groups(samples[0].taken_at, samples[3].taken_at, None)
        .await
        .unwrap();
    let r = reconcile(&samples, &sent, KIE_CREDIT_USD).unwrap();
    // Kie: 318 + 116 = 434 credits taken = $2.17; 1000 topped up.
    assert_eq!(r.kie_spent_credits.to_string(), "434");
    assert_eq!(r.kie_topped_up_credits.to_string(), "1000");
    assert_eq!(r.kie_spent_usd.to_string(), "2.17");
    // reelgate: kling 0.28 ×3 (one failed) + 0.280 + sora 0.75 + veo 0.30 + kling 0.28
    // (the canceled sora never reached Kie; the 28 Feb one is before the window).
    assert_eq!(r.generations_sent, 6);
    assert_eq!(r.reelgate_cost_usd.to_string(), "2.17");
    assert_eq!(r.failed_cost_usd.to_string(), "0.28");
    assert_eq!(r.difference_usd.to_string(), "0");
    let latest = store.latest_balance_sample().await.unwrap().unwrap();
    assert_eq!(latest.credits.to_string(), "2000");
    assert_eq!(latest.taken_at, at(3, 6, 0, 0));
}

/// A kling generation of ada's for `cost`, sent with `key` and succeeded at `at`.
async fn sent_with_key(store: &Store, user: &User, cost: &str, key: &str, at: DateTime<Utc>) {
    let new = NewGeneration {
        id: GenerationId::new(),
        user_id: user.id.clone(),
        model: "kling".into(),
        params: serde_json::Map::new(),
        upstream_request: serde_json::json!({"endpoint": "jobs", "body": {}}),
        credits: Credits::new(45),
        upstream_cost_usd: cost.parse().unwrap(),
        webhook_url: None,
        idempotency: None,
    };
    let Submitted::Created(created, _) = store
        .submit_generation(&new, |_| String::new())
        .await
        .unwrap()
    else {
        panic!("not created");
    };
    let id = created.id.clone();
    let claimed = store
        .claim(&queues::DISPATCH, 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed[0].id, id);
    assert!(store.record_sending_key(&id, key).await.unwrap());
    assert!(store
        .record_accepted(&id, &format!("task_{id}"), Utc::now())
        .await
        .unwrap());
    let succeeded = Outcome::Succeeded {
        videos: vec![Video {
            url: "https://files.example/v.mp4".into(),
            resolution: None,
        }],
        hd_pending: false,
    };
    store
        .settle_generation(&id, &succeeded, |_| String::new())
        .await
        .unwrap()
        .unwrap();
    set_generation_times(store, &id, Some(at), Some(at))
        .await
        .unwrap();
}

async fn margin_and_reconciliation_break_down_per_kie_key(store: &TestStore) {
    const A: &str = "kie-aaaaaaaa";
    const B: &str = "kie-bbbbbbbb";
    let ada = customer(store, "ada", 10_000).await;
    // Key A: kling $0.28 (56 Kie credits) and $0.30 (60); key B: $0.75 (150), on 5 March.
    sent_with_key(store, &ada, "0.28", A, at(5, 12, 0, 0)).await;
    sent_with_key(store, &ada, "0.30", A, at(5, 13, 0, 0)).await;
    sent_with_key(store, &ada, "0.75", B, at(5, 14, 0, 0)).await;
    for (hour, key, credits) in [
        (10, None, "1500"),
        (10, Some(A), "1000"),
        (10, Some(B), "500"),
        (20, None, "1234"),
        (20, Some(A), "884"),
        (20, Some(B), "350"),
    ] {
        store
            .record_balance_sample(at(5, hour, 0, 0), key, credits.parse().unwrap())
            .await
            .unwrap();
    }

    let report = store
        .margin_report(day(5), day(5), "key".parse().unwrap(), &rule())
        .await
        .unwrap();
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|r| {
            let key = r.upstream_key.as_deref().unwrap();
            format!("{key} {} {}", r.succeeded, r.upstream_cost_usd)
        })
        .collect();
    assert_eq!(rows, [format!("{A} 2 0.58"), format!("{B} 1 0.75")]);
    assert_eq!(report.totals.upstream_cost_usd.to_string(), "1.33");

    let mut seen = Vec::new();
    for key in [None, Some(A), Some(B)] {
        let samples = store.balance_samples(day(5), day(5), key).await.unwrap();
        assert_eq!(samples.len(), 2, "{key:?}: only its own samples");
        let sent = store
            .dispatched_groups(samples[0].taken_at, samples[1].taken_at, key)
            .await
            .unwrap();
        let r = reconcile(&samples, &sent, KIE_CREDIT_USD).unwrap();
        assert_eq!(r.difference_usd.to_string(), "0", "{key:?}: {r:?}");
        seen.push((
            r.start_balance_credits.to_string(),
            r.generations_sent,
            r.reelgate_cost_usd.to_string(),
        ));
    }
    assert_eq!(
        seen,
        [
            ("1500".to_owned(), 3, "1.33".to_owned()),
            ("1000".to_owned(), 2, "0.58".to_owned()),
            ("500".to_owned(), 1, "0.75".to_owned()),
        ]
    );
    let latest = store.latest_balance_sample().await.unwrap().unwrap();
    assert_eq!(
        latest.credits.to_string(),
        "1234",
        "the total, not one key's"
    );
}
