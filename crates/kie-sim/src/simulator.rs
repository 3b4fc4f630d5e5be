//! One simulated Kie account: its tasks, balance, limits, files and dice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::callbacks::{self, Due, Scheduler};
use crate::config::{Durations, Faults, RateLimit, SimConfig};
use crate::rate_limit::RateLimiter;
use crate::stats::SimStats;
use crate::task::{Failure, Outcome, Task, TaskId, TaskState};
use crate::upgrade::Upgrades;
use crate::validate::{Order, Rejection};

/// A cheap-to-clone handle on one simulated Kie account.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub durations: Durations,
    pub hd_delay: Duration,
    pub uhd_delay: Duration,
    pub webhook_key: Option<String>,
    pub rate_limit: Option<RateLimit>,
    state: Mutex<State>,
    /// Set once: configured, bound by `spawn`, or learnt from the first request's `Host`.
    base_url: OnceLock<String>,
    pub callbacks: Scheduler,
    pub http: reqwest::Client,
}

pub(crate) struct State {
    rng: StdRng,
    pub faults: Faults,
    pub balance: Decimal,
    /// Accounts with a balance of their own, by key hash.
    pub key_balances: HashMap<u64, Decimal>,
    pub tasks: HashMap<u64, Task>,
    next_seq: u64,
    /// Tasks created before this sequence number have had their files deleted.
    pub files_kept_from_seq: u64,
    pub uploads: HashMap<String, Upload>,
    /// Veo tasks' upgrades, by task number.
    pub upgrades: HashMap<u64, Upgrades>,
    limiter: RateLimiter,
    pub stats: SimStats,
    /// Models Kie no longer takes, by wire name, and how it says so.
    pub withdrawn: HashMap<String, Withdrawal>,
    /// Keys Kie answers 401 to (wrong or revoked), by key hash.
    pub revoked: std::collections::HashSet<u64>,
}

/// How Kie refuses a model it has withdrawn: `disabled` answers 505 ("feature disabled"),
/// `unsupported` a 422 naming the model as not supported, `invalid` Kie's bare 422
/// ("parameter validation failed") that names nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Withdrawal {
    Disabled,
    Unsupported,
    Invalid,
}

impl Withdrawal {
    fn rejection(self, model: &str) -> Rejection {
        match self {
            Withdrawal::Disabled => {
                Rejection::new(505, format!("This feature is disabled: {model}"))
            }
            Withdrawal::Unsupported => {
                Rejection::invalid(format!("The model {model} is not supported"))
            }
            Withdrawal::Invalid => Rejection::invalid("parameter validation failed"),
        }
    }
}

/// A file a customer uploaded for Kie to fetch.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    pub bytes: Bytes,
    pub mime: String,
}

/// A task as tests see it.
#[derive(Clone, Debug, Serialize)]
pub struct SimTask {
    pub task_id: String,
    pub model: String,
    pub callback_url: Option<String>,
    /// The create request's body as received.
    pub request: Value,
    pub state: TaskState,
    /// Kie credits charged at creation.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    pub created_ms: u64,
    /// Set once the task has reached its final state.
    pub completed_ms: Option<u64>,
}

/// The caller's API key, reduced to a hash at once so it is never stored or logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyHash(pub u64);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        KeyHash(hasher.finish())
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl State {
    pub fn balance_for(&self, key: KeyHash) -> Decimal {
        self.key_balances
            .get(&key.0)
            .copied()
            .unwrap_or(self.balance)
    }

    fn charge(&mut self, key: KeyHash, cost: Decimal) {
        match self.key_balances.get_mut(&key.0) {
            Some(balance) => *balance -= cost,
            None => self.balance -= cost,
        }
    }

    /// One draw of the shared RNG; a zero ratio draws nothing, so turning a fault off leaves
    /// the rest of a seeded run unchanged.
    pub fn roll(&mut self, ratio: f64) -> bool {
        ratio > 0.0 && self.rng.gen_bool(ratio.min(1.0))
    }

    pub fn random_u64(&mut self) -> u64 {
        self.rng.gen()
    }

    fn fresh_task_number(&mut self) -> u64 {
        loop {
            let n = self.rng.gen();
            if !self.tasks.contains_key(&n) {
                return n;
            }
        }
    }
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let base_url = OnceLock::new();
        if let Some(url) = &config.public_url {
            let _ = base_url.set(url.trim_end_matches('/').to_owned());
        }
        let state = State {
            rng: StdRng::seed_from_u64(config.seed),
            faults: config.faults,
            balance: config.initial_balance,
            key_balances: config
                .key_balances
                .iter()
                .map(|(key, credits)| (KeyHash::of(key).0, *credits))
                .collect(),
            tasks: HashMap::new(),
            next_seq: 0,
            files_kept_from_seq: 0,
            uploads: HashMap::new(),
            upgrades: HashMap::new(),
            limiter: RateLimiter::default(),
            stats: SimStats::default(),
            revoked: Default::default(),
            withdrawn: HashMap::new(),
        };
        Self {
            shared: Arc::new(Shared {
                durations: config.durations,
                hd_delay: config.hd_delay,
                uhd_delay: config.uhd_delay,
                webhook_key: config.webhook_key,
                rate_limit: config.rate_limit,
                state: Mutex::new(state),
                base_url,
                callbacks: Scheduler::default(),
                http: reqwest::Client::new(),
            }),
        }
    }

    pub fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    /// How long each model's tasks take here.
    pub fn durations(&self) -> Durations {
        self.shared.durations.clone()
    }

    /// Every task, oldest first.
    pub fn tasks(&self) -> Vec<SimTask> {
        let now = now_ms();
        let st = self.lock();
        let mut tasks: Vec<_> = st.tasks.iter().collect();
        tasks.sort_by_key(|(_, t)| t.seq);
        tasks
            .into_iter()
            .map(|(n, t)| {
                let state = t.state(now);
                SimTask {
                    task_id: t.id(*n),
                    model: t.model.wire_name().to_owned(),
                    callback_url: t.callback_url.as_deref().map(str::to_owned),
                    request: serde_json::from_str(&t.param).unwrap_or(Value::Null),
                    state,
                    cost: t.cost,
                    created_ms: t.created_ms,
                    completed_ms: state.is_final().then(|| t.completed_ms()),
                }
            })
            .collect()
    }

    pub fn set_balance(&self, credits: Decimal) {
        self.lock().balance = credits;
    }

    pub fn balance(&self) -> Decimal {
        self.lock().balance
    }

    /// Gives `key` an account of its own with this balance (several Kie accounts).
    pub fn set_key_balance(&self, key: &str, credits: Decimal) {
        self.lock().key_balances.insert(KeyHash::of(key).0, credits);
    }

    /// Kie answers every request with `key` 401, as it does a wrong or revoked key.
    pub fn revoke_key(&self, key: &str) {
        self.lock().revoked.insert(KeyHash::of(key).0);
    }

    /// The balance `key` sees: its own account's, or the shared one.
    pub fn balance_of(&self, key: &str) -> Decimal {
        self.lock().balance_for(KeyHash::of(key))
    }

    /// How many tasks `key` created.
    pub fn tasks_created_with(&self, key: &str) -> usize {
        let key = KeyHash::of(key).0;
        self.lock().tasks.values().filter(|t| t.key == key).count()
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Deletes every result and uploaded file so far, as Kie does after 14 (results) and
    /// 3 (uploads) days. Task records stay: Kie keeps task logs for two months.
    /// Kie stops taking `model` (a wire name: `sora-2-text-to-video`, `veo3_fast`), or, with
    /// `None`, takes it again.
    pub fn withdraw_model(&self, model: &str, how: Option<Withdrawal>) {
        let mut st = self.lock();
        match how {
            Some(how) => st.withdrawn.insert(model.to_owned(), how),
            None => st.withdrawn.remove(model),
        };
    }

    /// The models withdrawn now, by wire name.
    pub fn withdrawn_models(&self) -> HashMap<String, Withdrawal> {
        self.lock().withdrawn.clone()
    }

    pub fn forget_files(&self) {
        let mut st = self.lock();
        st.files_kept_from_seq = st.next_seq;
        st.uploads.clear();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    pub(crate) fn base_url(&self) -> String {
        self.shared.base_url()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        let _ = self.shared.base_url.set(url);
    }

    /// Without a configured or bound address, result URLs use the host the caller reached.
    pub(crate) fn learn_base_url(&self, host: &axum::http::HeaderValue) {
        if self.shared.base_url.get().is_none() {
            if let Ok(host) = host.to_str() {
                self.set_base_url(format!("http://{host}"));
            }
        }
    }

    /// Creates a task: rate limit, then validation, then payment, as Kie orders them.
    pub(crate) fn create(
        &self,
        key: KeyHash,
        body: &Value,
        parse: fn(&Value) -> Result<Order, Rejection>,
    ) -> Result<TaskId, Rejection> {
        let parsed = parse(body);
        let param: Box<str> = body.to_string().into();
        let mut st = self.lock();
        let admitted = st
            .limiter
            .admit(key.0, self.shared.rate_limit, Instant::now());
        st.stats.max_creates_in_window = st.limiter.max_attempts_in_window();
        if !admitted {
            st.stats.rate_limited += 1;
            return Err(Rejection::new(
                429,
                "The request frequency is too high. Please try again later.",
            ));
        }
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(withdrawal) = st.withdrawn.get(model).copied() {
            st.stats.creates_rejected += 1;
            return Err(withdrawal.rejection(model));
        }
        let order = parsed.inspect_err(|_| st.stats.creates_rejected += 1)?;
        if st.balance_for(key) < order.cost {
            st.stats.creates_unpaid += 1;
            return Err(Rejection::new(
                402,
                "The current credits are insufficient. Please top up.",
            ));
        }
        st.charge(key, order.cost);
        let number = st.fresh_task_number();
        let outcome = self.draw_outcome(&mut st);
        let faults = st.faults.clone();
        let copies = match order.callback_url {
            None => 0,
            Some(_) if st.roll(faults.drop_callback_ratio) => 0,
            Some(_) if st.roll(faults.duplicate_callback_ratio) => 2,
            Some(_) => 1,
        };
        let run = self.shared.durations.for_model(order.model);
        let task = Task {
            seq: st.next_seq,
            key: key.0,
            model: order.model,
            created_ms: now_ms(),
            run_ms: u64::try_from(run.as_millis()).unwrap_or(u64::MAX),
            outcome,
            hd_available: order.hd_available,
            cost: order.cost,
            callback_url: order.callback_url.map(Into::into),
            param,
        };
        st.next_seq += 1;
        st.stats.tasks_created += 1;
        let due = task.callback_url.is_some().then(|| Due {
            at_ms: task.completed_ms(),
            task: number,
            copies,
            uhd: false,
        });
        let id = TaskId::new(order.model.is_veo(), number);
        st.tasks.insert(number, task);
        drop(st);
        if let Some(due) = due {
            callbacks::schedule(&self.shared, due);
        }
        Ok(id)
    }

    fn draw_outcome(&self, st: &mut State) -> Outcome {
        let ratio = st.faults.failure_ratio;
        if !st.roll(ratio) {
            return Outcome::Success;
        }
        st.stats.tasks_failing += 1;
        Outcome::Fail(if st.roll(0.5) {
            Failure::Refused
        } else {
            Failure::GenerationFailed
        })
    }

    /// Runs `f` on the task `id` names, if it exists, belongs to the asking API (`veo`: the
    /// Veo endpoints; otherwise the jobs API) and was created with the asking key.
    pub(crate) fn with_task<R>(
        &self,
        key: KeyHash,
        id: &str,
        veo: bool,
        f: impl FnOnce(&Task, TaskId) -> R,
    ) -> Option<R> {
        let id = TaskId::parse(id).filter(|id| id.veo == veo)?;
        let mut st = self.lock();
        let task = st.tasks.get(&id.number)?;
        if task.key != key.0 {
            st.stats.foreign_key_reads += 1;
            return None;
        }
        Some(f(task, id))
    }
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters and maps, still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn base_url(&self) -> String {
        self.base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1".to_owned())
    }

    pub fn hd_delay_ms(&self) -> u64 {
        u64::try_from(self.hd_delay.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.callbacks.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse_create_task;
    use serde_json::json;

    #[test]
    fn a_task_record_stays_small() {
        // 100,000 tasks in flight must be cheap: the record, not counting its two strings.
        assert!(
            std::mem::size_of::<Task>() <= 96,
            "{}",
            std::mem::size_of::<Task>()
        );
    }

    #[tokio::test]
    async fn a_hundred_thousand_tasks_in_flight_with_callbacks_pending() {
        let sim = Simulator::new(SimConfig {
            durations: Durations::uniform(Duration::from_secs(3600)),
            initial_balance: Decimal::from(10_000_000),
            ..SimConfig::for_tests()
        });
        let body = json!({"model": "kling-2.6/text-to-video",
            "callBackUrl": "http://127.0.0.1:9/cb/token",
            "input": {"prompt": "fox", "sound": false, "aspect_ratio": "16:9", "duration": "5"}});
        let before = sim.balance();
        for _ in 0..100_000 {
            sim.create(KeyHash(1), &body, parse_create_task).unwrap();
        }
        assert_eq!(sim.stats().tasks_created, 100_000);
        assert_eq!(sim.lock().tasks.len(), 100_000);
        assert_eq!(sim.balance(), before - Decimal::from(55 * 100_000));
        assert_eq!(sim.shared.callbacks.pending(), 100_000);
        let tasks = sim.tasks();
        assert!(tasks.iter().all(|t| t.state == TaskState::Waiting));
    }
}
