//! Random sequences of ledger operations — generations, grants, adjustments, purchases,
//! refunds and disputes — checked against a plain model of the rules after every step, on
//! both backends.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::{Actor, EntryKind, Settlement};
use reelgate_domain::payments::{Dispute, Fact, Money, PackageName, PaymentId, ProviderKind};
use reelgate_domain::Credits;
use reelgate_store::testing::{postgres_store, sqlite_store, TestStore};
use reelgate_store::NewPackage;
use reelgate_store::StoreError;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
enum Op {
    Grant(i64),
    Hold {
        generation: u8,
        price: i64,
    },
    Capture(u8),
    Release(u8),
    Adjust(i64),
    /// A package of this many credits bought and confirmed (its price is 4 TRY).
    Buy(i64),
    /// The `n`th payment refunded up to this many TRY in total.
    Refund {
        payment: u8,
        total: u8,
    },
    /// The `n`th payment's dispute moves to this state.
    Dispute {
        payment: u8,
        state: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..100).prop_map(Op::Grant),
        (0u8..6, 0i64..60).prop_map(|(generation, price)| Op::Hold { generation, price }),
        (0u8..6).prop_map(Op::Capture),
        (0u8..6).prop_map(Op::Release),
        (-80i64..80)
            .prop_filter("adjustments move credits", |a| *a != 0)
            .prop_map(Op::Adjust),
        (1i64..100).prop_map(Op::Buy),
        (0u8..4, 1u8..=4).prop_map(|(payment, total)| Op::Refund { payment, total }),
        (0u8..4, 0u8..3).prop_map(|(payment, state)| Op::Dispute { payment, state }),
    ]
}

/// What the ledger should say, by the rules in product.md, kept without a database.
#[derive(Default)]
struct Model {
    balance: i64,
    debt: i64,
    generations: BTreeMap<u8, Settlement>,
    payments: Vec<ModelPayment>,
}

/// A bought package as the rules see it: credits, refunded TRY (of 4), the dispute, and how
/// many of its credits are taken back now.
struct ModelPayment {
    id: PaymentId,
    credits: i64,
    refunded: u8,
    dispute: Dispute,
    taken_back: i64,
}

impl ModelPayment {
    /// product.md: a refund takes back its share (half up), a chargeback all while open or lost.
    fn owed_back(&self) -> i64 {
        if matches!(self.dispute, Dispute::Open | Dispute::Lost) {
            return self.credits;
        }
        (self.credits * i64::from(self.refunded) * 2 + 4) / 8
    }
}

impl Model {
    fn held(&self) -> i64 {
        self.generations
            .values()
            .map(|s| match s {
                Settlement::Held { price } => price.get(),
                _ => 0,
            })
            .sum()
    }

    /// Credits coming in pay the debt first.
    fn pay_in(&mut self, credits: i64) {
        let repaid = credits.min(self.debt);
        self.debt -= repaid;
        self.balance += credits - repaid;
    }

    /// Takes back or gives back the difference between what a payment owes and what it gave.
    fn follow(&mut self, index: usize) {
        let change = self.payments[index].owed_back() - self.payments[index].taken_back;
        self.payments[index].taken_back += change;
        if change > 0 {
            let taken = change.min(self.balance);
            self.balance -= taken;
            self.debt += change - taken;
        } else if change < 0 {
            self.pay_in(-change);
        }
    }

    fn settlement(&self, generation: u8) -> Settlement {
        self.generations
            .get(&generation)
            .copied()
            .unwrap_or(Settlement::NotHeld)
    }
}

/// Generations of different cases share the store, so their ids include the case number.
fn generation_id(case: u32, generation: u8) -> GenerationId {
    common::gen(u64::from(case) * 100 + u64::from(generation))
}

fn check(condition: bool, message: String) -> Result<(), TestCaseError> {
    if condition {
        Ok(())
    } else {
        Err(TestCaseError::fail(message))
    }
}

async fn apply(
    store: &TestStore,
    case: u32,
    user: &UserId,
    model: &mut Model,
    op: &Op,
) -> Result<(), TestCaseError> {
    let gen_id = |g: u8| generation_id(case, g);
    match *op {
        Op::Grant(amount) => {
            let outcome = store
                .grant(user, Credits::new(amount), "grant", &Actor::Cli)
                .await;
            check(outcome.is_ok(), format!("grant failed: {outcome:?}"))?;
            model.balance += amount;
        }
        Op::Hold { generation, price } => {
            let outcome = store
                .hold(user, &gen_id(generation), Credits::new(price), "hold")
                .await;
            match (model.settlement(generation), outcome) {
                (Settlement::NotHeld, Err(StoreError::InDebt { debt })) if model.debt > 0 => {
                    check(debt.get() == model.debt, format!("in debt {debt}"))?;
                }
                (Settlement::NotHeld, Ok(_)) if model.balance >= price && model.debt == 0 => {
                    model.balance -= price;
                    model.generations.insert(
                        generation,
                        Settlement::Held {
                            price: Credits::new(price),
                        },
                    );
                }
                (Settlement::NotHeld, Err(StoreError::InsufficientCredits { .. }))
                    if model.balance < price && model.debt == 0 => {}
                (Settlement::NotHeld, outcome) => {
                    return Err(TestCaseError::fail(format!("hold: {outcome:?}")))
                }
                (_, Err(StoreError::DuplicateHold(_))) => {}
                (_, outcome) => {
                    return Err(TestCaseError::fail(format!("second hold: {outcome:?}")))
                }
            }
        }
        Op::Capture(generation) | Op::Release(generation) => {
            let capture = matches!(op, Op::Capture(_));
            let outcome = if capture {
                store.capture(&gen_id(generation)).await
            } else {
                store.release(&gen_id(generation), "failed").await
            };
            match (model.settlement(generation), outcome) {
                (Settlement::NotHeld, Err(StoreError::NoHold(_))) => {}
                (Settlement::Held { price }, Ok(true)) => {
                    let settled = if capture {
                        Settlement::Captured { price }
                    } else {
                        model.balance += price.get();
                        Settlement::Released { price }
                    };
                    model.generations.insert(generation, settled);
                }
                (Settlement::Captured { .. } | Settlement::Released { .. }, Ok(false)) => {}
                (state, outcome) => {
                    return Err(TestCaseError::fail(format!(
                        "settling {state:?}: {outcome:?}"
                    )))
                }
            }
        }
        Op::Adjust(amount) => {
            let outcome = store
                .adjust(user, Credits::new(amount), "adjust", &Actor::Cli)
                .await;
            match outcome {
                Ok(_) if model.balance + amount >= 0 => model.balance += amount,
                Err(StoreError::InsufficientCredits { .. }) if model.balance + amount < 0 => {}
                other => return Err(TestCaseError::fail(format!("adjust {amount}: {other:?}"))),
            }
        }
        Op::Buy(credits) => {
            let package = store
                .create_package(&NewPackage {
                    name: PackageName::parse("p").unwrap(),
                    credits: Credits::new(credits),
                    bonus_credits: Credits::ZERO,
                    price: Money::parse("4", "TRY").unwrap(),
                    active: true,
                    position: 0,
                })
                .await
                .unwrap();
            let payment = store
                .open_payment(user, &package.id, ProviderKind::Demo)
                .await
                .unwrap();
            let paid = Fact::Paid {
                provider_payment_id: None,
            };
            let outcome = store.apply_payment_facts(&payment.id, &[paid], None).await;
            check(outcome.is_ok(), format!("buy: {outcome:?}"))?;
            model.pay_in(credits);
            model.payments.push(ModelPayment {
                id: payment.id,
                credits,
                refunded: 0,
                dispute: Dispute::None,
                taken_back: 0,
            });
        }
        Op::Refund { payment, total }
        | Op::Dispute {
            payment,
            state: total,
        } => {
            let index = usize::from(payment);
            if index >= model.payments.len() {
                return Ok(());
            }
            let fact = if let Op::Refund { .. } = op {
                let mine = &mut model.payments[index];
                mine.refunded = mine.refunded.max(total);
                Fact::RefundedTotal(Decimal::from(total))
            } else {
                let next = [Dispute::Open, Dispute::Won, Dispute::Lost][usize::from(total)];
                let mine = &mut model.payments[index];
                let forward = matches!(
                    (mine.dispute, next),
                    (Dispute::None, _) | (Dispute::Open, Dispute::Won | Dispute::Lost)
                );
                if forward {
                    mine.dispute = next;
                }
                Fact::Dispute(next)
            };
            let id = model.payments[index].id.clone();
            let outcome = store.apply_payment_facts(&id, &[fact], None).await;
            check(outcome.is_ok(), format!("{op:?}: {outcome:?}"))?;
            model.follow(index);
        }
    }
    Ok(())
}

async fn run_case(store: &TestStore, n: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let user = common::customer(store, &format!("case{n}"), 0).await;
    let mut model = Model::default();
    for op in ops {
        apply(store, n, &user.id, &mut model, op).await?;
        let audit = store.audit_balance(&user.id).await.unwrap();
        check(audit.is_consistent(), format!("after {op:?}: {audit:?}"))?;
        check(
            audit.cached_balance.get() >= 0,
            format!("negative after {op:?}"),
        )?;
        check(
            (
                audit.cached_balance.get(),
                audit.cached_held.get(),
                audit.cached_debt.get(),
            ) == (model.balance, model.held(), model.debt),
            format!(
                "after {op:?}: store {audit:?}, model {} / {} / debt {}",
                model.balance,
                model.held(),
                model.debt
            ),
        )?;
    }
    let rows = store
        .ledger_page(&user.id, None, 200)
        .await
        .unwrap()
        .entries;
    for payment in &model.payments {
        let purchases = rows
            .iter()
            .filter(|r| r.payment_id.as_ref() == Some(&payment.id) && r.kind == EntryKind::Purchase)
            .count();
        check(
            purchases == 1,
            format!("{}: {purchases} purchase rows", payment.id),
        )?;
    }
    for generation in 0u8..6 {
        let id = generation_id(n, generation);
        let sum: i64 = rows
            .iter()
            .filter(|r| r.generation_id.as_ref() == Some(&id))
            .map(|r| r.amount.get())
            .sum();
        let settlement = store.settlement(&id).await.unwrap();
        check(
            settlement == model.settlement(generation),
            format!("{id}: {settlement:?}"),
        )?;
        let expected = match settlement {
            Settlement::NotHeld | Settlement::Released { .. } => 0,
            Settlement::Held { price } | Settlement::Captured { price } => -price.get(),
        };
        check(
            sum == expected,
            format!("{id} rows sum to {sum}, expected {expected}"),
        )?;
    }
    Ok(())
}

fn run_on(store: TestStore, runtime: &tokio::runtime::Runtime, cases: u32) {
    // A shrunk failure is kept in this crate's proptest-regressions/ledger_properties.txt
    // (committed) and tried first on every later run.
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/proptest-regressions/ledger_properties.txt"
            )),
        )),
        ..Config::default()
    });
    let cases_run = AtomicU32::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        let n = cases_run.fetch_add(1, Ordering::Relaxed);
        runtime.block_on(run_case(&store, n, &ops))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn ledger_matches_its_rules_on_sqlite() {
    let runtime = runtime();
    let store = runtime.block_on(sqlite_store()).unwrap();
    run_on(store, &runtime, 64);
}

#[test]
fn ledger_matches_its_rules_on_postgres() {
    let runtime = runtime();
    let store = runtime.block_on(postgres_store()).unwrap();
    run_on(store, &runtime, 32);
}
