//! The end-of-run audit, read straight from the database (the server is stopped by then) and
//! from the simulator's record of every task it was asked to create.

use super::load::Accepted;
use reelgate_domain::accounts::User;
use reelgate_domain::generations::{Generation, Status};
use reelgate_domain::ledger::{EntryKind, LedgerEntry};
use reelgate_store::Store;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What the audit found. `violations` must be empty.
#[derive(Debug, Default)]
pub struct Audit {
    pub generations: usize,
    pub by_status: BTreeMap<String, usize>,
    /// Failed generations by error code.
    pub failures: BTreeMap<String, usize>,
    pub credits_charged: i64,
    pub credits_refunded: i64,
    pub upstream_tasks: usize,
    /// Generations that reached Kie, counted from the simulator's side.
    pub generations_sent: usize,
    /// Tasks that Kie created for generations reelgate then failed and refunded, because the
    /// create's answer was lost and no callback or status read ever revealed the task: the
    /// business paid Kie, the customer paid nothing. Never a customer's loss.
    pub tasks_paid_but_refunded: usize,
    pub users_audited: usize,
    pub lowest_final_balance: i64,
    pub violations: Vec<String>,
    /// Accepted generations by the fault phase they were submitted in.
    pub by_phase: BTreeMap<&'static str, PhaseTally>,
}

/// What became of the generations submitted during one fault phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhaseTally {
    pub accepted: usize,
    pub succeeded: usize,
    pub canceled: usize,
}

impl Audit {
    fn violation(&mut self, text: String) {
        if self.violations.len() < 50 {
            self.violations.push(text);
        }
    }
}

async fn all_generations(store: &Store, user: &User) -> Vec<Generation> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .generations_of(&user.id, None, cursor.as_deref(), 200)
            .await
            .expect("generations page");
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn all_entries(store: &Store, user: &User) -> Vec<LedgerEntry> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .ledger_page(&user.id, cursor.as_deref(), 200)
            .await
            .expect("ledger page");
        all.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

/// The generation id in a callback URL `…/callbacks/kie/{generation}/{token}`.
fn generation_of_task(task: &Value) -> Option<String> {
    let url = task["callback_url"].as_str()?;
    let mut parts = url.rsplit('/');
    let _token = parts.next()?;
    Some(parts.next()?.to_owned())
}

pub async fn audit(
    store: &Store,
    users: &[User],
    sim_tasks: &[Value],
    accepted: &[Accepted],
) -> Audit {
    let mut audit = Audit {
        lowest_final_balance: i64::MAX,
        ..Audit::default()
    };
    let mut generations: HashMap<String, Generation> = HashMap::new();
    for user in users {
        audit.users_audited += 1;
        let entries = all_entries(store, user).await;
        let mut by_generation: HashMap<String, Vec<&LedgerEntry>> = HashMap::new();
        for entry in &entries {
            if let Some(id) = &entry.generation_id {
                by_generation.entry(id.to_string()).or_default().push(entry);
            }
        }
        for generation in all_generations(store, user).await {
            let id = generation.id.to_string();
            audit_one(
                &mut audit,
                &generation,
                by_generation.remove(&id).unwrap_or_default(),
            );
            generations.insert(id, generation);
        }
        for id in by_generation.keys() {
            audit.violation(format!("ledger rows for unknown generation {id}"));
        }
        let balance = store.audit_balance(&user.id).await.expect("balance audit");
        if !balance.is_consistent() {
            audit.violation(format!(
                "{}: cached balance disagrees with its rows: {balance:?}",
                user.email
            ));
        }
        if balance.cached_held.get() != 0 {
            audit.violation(format!(
                "{}: {} credits still held at the end",
                user.email, balance.cached_held
            ));
        }
        audit.lowest_final_balance = audit.lowest_final_balance.min(balance.cached_balance.get());
        if balance.cached_balance.get() < 0 {
            audit.violation(format!(
                "{}: negative balance {}",
                user.email, balance.cached_balance
            ));
        }
    }
    audit.generations = generations.len();
    audit_upstream(&mut audit, &generations, sim_tasks);
    audit_accepted(&mut audit, &generations, accepted);
    audit
}

/// Every generation answered 202 is in the database (once: ids are unique there, and no two
/// answers named the same one), and each phase's outcome is tallied.
fn audit_accepted(
    audit: &mut Audit,
    generations: &HashMap<String, Generation>,
    accepted: &[Accepted],
) {
    let mut seen = std::collections::HashSet::new();
    for one in accepted {
        if !seen.insert(one.id.as_str()) {
            audit.violation(format!("two submissions were answered with {}", one.id));
        }
        let tally = audit.by_phase.entry(one.phase).or_default();
        tally.accepted += 1;
        match generations.get(&one.id) {
            None => audit.violation(format!(
                "{} was accepted (202) but is not in the database",
                one.id
            )),
            Some(generation) if generation.status == Status::Succeeded => tally.succeeded += 1,
            Some(generation) if generation.status == Status::Canceled || one.canceled => {
                tally.canceled += 1
            }
            Some(_) => {}
        }
    }
}

fn audit_one(audit: &mut Audit, generation: &Generation, rows: Vec<&LedgerEntry>) {
    let id = &generation.id;
    *audit
        .by_status
        .entry(generation.status.to_string())
        .or_default() += 1;
    if let Some(error) = &generation.error {
        *audit.failures.entry(error.code.clone()).or_default() += 1;
    }
    if !generation.status.is_final() {
        audit.violation(format!("{id} is still {}", generation.status));
    }
    let count = |kind: EntryKind| rows.iter().filter(|r| r.kind == kind).count();
    let (holds, charges, refunds) = (
        count(EntryKind::Hold),
        count(EntryKind::Charge),
        count(EntryKind::Refund),
    );
    let sum: i64 = rows.iter().map(|r| r.amount.get()).sum();
    let price = generation.credits.get();
    let succeeded = generation.status == Status::Succeeded;
    let expected = if succeeded { -price } else { 0 };
    // The kinds, not only the sum: a hold of −price, then a charge of 0 on success or a refund
    // of +price otherwise, and nothing else (a success settled by a 0-credit "refund" sums
    // right too).
    let others = rows.len() - holds - charges - refunds;
    let hold_is_the_price = rows
        .iter()
        .filter(|r| r.kind == EntryKind::Hold)
        .all(|r| r.amount.get() == -price);
    let settled_by_its_kind = if succeeded {
        (charges, refunds) == (1, 0)
    } else {
        (charges, refunds) == (0, 1)
    };
    if holds != 1 || !settled_by_its_kind || others != 0 || !hold_is_the_price || sum != expected {
        audit.violation(format!(
            "{id} ({}, {price} credits): {holds} holds, {charges} charges, {refunds} refunds, {others} other rows, rows sum to {sum}, expected {expected}",
            generation.status
        ));
    }
    if generation.status == Status::Succeeded {
        audit.credits_charged += price;
    } else {
        audit.credits_refunded += price;
    }
}

fn audit_upstream(
    audit: &mut Audit,
    generations: &HashMap<String, Generation>,
    sim_tasks: &[Value],
) {
    audit.upstream_tasks = sim_tasks.len();
    let mut tasks_of: HashMap<String, Vec<&Value>> = HashMap::new();
    for task in sim_tasks {
        match generation_of_task(task) {
            Some(id) => tasks_of.entry(id).or_default().push(task),
            None => audit.violation(format!("upstream task without a callback URL: {task}")),
        }
    }
    audit.generations_sent = tasks_of.len();
    for (id, tasks) in &tasks_of {
        let Some(generation) = generations.get(id) else {
            audit.violation(format!("upstream task for unknown generation {id}"));
            continue;
        };
        if tasks.len() > 1 {
            audit.violation(format!("{id} was created upstream {} times", tasks.len()));
        }
        let task = tasks[0];
        let state = task["state"].as_str().unwrap_or("");
        match (&generation.upstream_task_id, generation.status) {
            (Some(task_id), status) => {
                if task["task_id"].as_str() != Some(task_id) {
                    audit.violation(format!(
                        "{id} records task {task_id}, upstream made {}",
                        task["task_id"]
                    ));
                }
                if status == Status::Succeeded && state != "success" {
                    audit.violation(format!("{id} succeeded but its task is {state}"));
                }
                if state == "success" && status == Status::Failed {
                    // Kie finished it, yet we refunded: only acceptable when we gave up on it
                    // for running too long, or on the higher resolution it was sold at (the
                    // 1080p or 4K version not ready within REELGATE_HD_WAIT_SECS): the customer
                    // did not get what they paid for.
                    let code = generation.error.as_ref().map(|e| e.code.as_str());
                    if !matches!(code, Some("timed_out" | "upgrade_unavailable")) {
                        audit.violation(format!(
                            "{id} failed ({code:?}) although its task succeeded"
                        ));
                    }
                }
            }
            (None, Status::Failed) => audit.tasks_paid_but_refunded += 1,
            (None, status) => {
                audit.violation(format!("{id} is {status} with an unrecorded upstream task"))
            }
        }
    }
    for (id, generation) in generations {
        if generation.upstream_task_id.is_some() && !tasks_of.contains_key(id) {
            audit.violation(format!("{id} records a task upstream never made"));
        }
        if generation.status == Status::Succeeded && generation.upstream_task_id.is_none() {
            audit.violation(format!("{id} succeeded without an upstream task"));
        }
    }
}
