//! The soak: thousands of generations across every model through a separate simulator
//! process, under injected upstream failures, 5xx and 429 answers, timeouts, garbled answers,
//! lost, duplicated, late, reordered, replayed and forged callbacks, and repeated `kill -9`
//! (and graceful restarts) of `reelgate serve`. Then an audit of every generation and every
//! credit. Short by default (CI); `REELGATE_SOAK_SECS` and `REELGATE_SOAK_RATE` make it long.

mod audit;
mod faults;
mod load;
mod report;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reelgate_domain::accounts::Email;
use reelgate_store::{DatabaseUrl, Store};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chaos_proxy::ChaosProxy;
use crate::children::{Serve, Sim};
use load::{Customer, Load};
pub use report::Report;

/// Upstream answers slower than this are timeouts.
const UPSTREAM_TIMEOUT_MS: u64 = 1000;

/// How hard and how long; from the environment, with CI's short form as the default.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Generations submitted per second, spread over the customers.
    pub rate: u32,
    /// How long the load and the faults last.
    pub load: Duration,
    /// How long each fault phase lasts.
    pub phase: Duration,
    /// A `kill -9` (or, one time in four, a SIGTERM) about this often.
    pub restart_every: Duration,
    /// How long everything may take to settle once the load stops.
    pub settle_within: Duration,
    pub seed: u64,
}

impl Plan {
    pub fn from_env() -> Plan {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let load = number("REELGATE_SOAK_SECS", 24);
        Plan {
            rate: u32::try_from(number("REELGATE_SOAK_RATE", 20)).unwrap_or(20),
            load: Duration::from_secs(load),
            phase: Duration::from_secs(number("REELGATE_SOAK_PHASE_SECS", 3)),
            restart_every: Duration::from_secs(number("REELGATE_SOAK_RESTART_SECS", 4)),
            settle_within: Duration::from_secs(60 + load / 2),
            seed: number("REELGATE_SOAK_SEED", 7),
        }
    }
}

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Runs the soak against the database at `database`, in `dir`.
pub async fn run(backend: &str, database: &DatabaseUrl, dir: &std::path::Path) -> Report {
    let plan = Plan::from_env();
    let started = Instant::now();
    let database_url = match database {
        DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres { url } => url.clone(),
    };
    let sim = Sim::start(
        dir,
        &[
            "--seed".into(),
            plan.seed.to_string(),
            "--duration-scale".into(),
            "0.15".into(),
            "--hd-delay-ms".into(),
            "300".into(),
            // Veo sold in 4K waits for its upgrade within REELGATE_MAX_RUNNING_SECS below.
            "--uhd-delay-ms".into(),
            "1000".into(),
            // Room for the load, but stricter than reelgate's own limit below: every backlog
            // (after a pause, a restart) meets 429s.
            "--rate-limit".into(),
            format!("{}/1", plan.rate + 10),
        ],
    )
    .await;
    let mut serve = Serve::new(
        dir,
        env(&[
            ("REELGATE_DATABASE_URL", database_url),
            ("REELGATE_KIE_API_KEY", "soak-kie-key".into()),
            ("REELGATE_KIE_BASE_URL", sim.url.clone()),
            ("REELGATE_KIE_UPLOAD_URL", sim.url.clone()),
            (
                "REELGATE_UPSTREAM_TIMEOUT_MS",
                UPSTREAM_TIMEOUT_MS.to_string(),
            ),
            ("REELGATE_UNCONFIRMED_WAIT_SECS", "3".into()),
            ("REELGATE_UPSTREAM_WAIT_SECS", "8".into()),
            ("REELGATE_MAX_RUNNING_SECS", "20".into()),
            ("REELGATE_HD_WAIT_SECS", "3".into()),
            (
                "REELGATE_UPSTREAM_RATE_LIMIT",
                format!("{}/1", plan.rate + 20),
            ),
            ("REELGATE_MAX_CONCURRENT_TASKS", "400".into()),
            ("REELGATE_STATUS_CALLS_PER_MINUTE", "30000".into()),
            ("REELGATE_POLL_MAX_INTERVAL_SECS", "2".into()),
        ]),
    );
    // Kie's callbacks reach the server through the chaos proxy.
    let proxy = ChaosProxy::start(&serve.url, plan.seed).await;
    serve.set_env("REELGATE_PUBLIC_URL", &proxy.url);
    serve.start().await;

    // Six customers with plenty, two who run out (so balances race towards zero).
    let mut customers = Vec::new();
    for n in 0..8 {
        let email = format!("customer{n}@soak.example");
        let credits = if n < 6 { 10_000_000 } else { 1_500 };
        let key = serve.user(&email, credits, false).await;
        customers.push(Customer { email, key });
    }
    let client = reqwest::Client::new();
    let models = load::catalog(&client, &serve.url).await;
    assert_eq!(models.len(), 11, "the soak covers every model");
    let load = Load::new(&serve.url, customers, models, plan.seed);

    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let graceful = Arc::new(AtomicU64::new(0));
    let phases = faults::phases(UPSTREAM_TIMEOUT_MS);

    // The load: `rate` submissions a second until the load time is over.
    let submitter = {
        let (load, stop) = (Arc::clone(&load), Arc::clone(&stop));
        let every = Duration::from_secs(1) / plan.rate.max(1);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut submissions = tokio::task::JoinSet::new();
            while !stop.load(Relaxed) {
                tick.tick().await;
                submissions.spawn(Arc::clone(&load).submit_one());
                while submissions.try_join_next().is_some() {}
            }
            while submissions.join_next().await.is_some() {}
        })
    };
    let watcher = {
        let (load, stop) = (Arc::clone(&load), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                load.read_balances().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };

    // Faults and restarts, on one clock, until the load time is over.
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut phase_log: Vec<(&'static str, u64)> = Vec::new();
    let mut slow_requests = 0;
    let mut next_restart = Instant::now() + plan.restart_every;
    let load_ends = Instant::now() + plan.load;
    let mut phase_index = 0;
    // Every phase runs at least once, however long restarts took.
    while Instant::now() < load_ends || phase_index < phases.len() {
        let phase = &phases[phase_index % phases.len()];
        phase_index += 1;
        sim.set_faults(&phase.sim).await;
        proxy.set_faults(phase.callbacks);
        *load.phase.lock().expect("phase lock") = phase.name;
        let before = upstream_requests(&sim).await;
        let mut phase_ends = Instant::now() + plan.phase;
        if phase_index > phases.len() {
            phase_ends = phase_ends.min(load_ends);
        }
        while Instant::now() < phase_ends {
            if Instant::now() >= next_restart {
                let restart_began = Instant::now();
                if rng.gen_ratio(1, 4) {
                    serve.sigterm();
                    serve.wait_exit(Duration::from_secs(60)).await;
                    graceful.fetch_add(1, Relaxed);
                } else {
                    serve.kill9().await;
                    kills.fetch_add(1, Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1200))).await;
                serve.start().await;
                // The phase's faults must meet a running server for its whole length.
                phase_ends += restart_began.elapsed();
                eprintln!(
                    "soak {backend}: restart {} took {:?}",
                    serve.starts - 1,
                    restart_began.elapsed()
                );
                next_restart = Instant::now() + plan.restart_every.mul_f64(rng.gen_range(0.6..1.4));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "soak {backend}: phase {} done at {:?}",
            phase.name,
            started.elapsed()
        );
        if phase.timeouts {
            slow_requests += upstream_requests(&sim).await - before;
        }
        phase_log.push((phase.name, 1));
    }
    stop.store(true, Relaxed);
    let (quiet_sim, quiet_callbacks) = faults::quiet();
    sim.set_faults(&quiet_sim).await;
    proxy.set_faults(quiet_callbacks);
    submitter.await.expect("submitter");
    watcher.await.expect("watcher");
    let load_done = started.elapsed();

    // Everything must settle by itself now.
    let store = Store::connect(database).await.expect("audit connects");
    let users = users_of(&store, &load).await;
    let settle_started = Instant::now();
    while unfinished(&store, &users).await > 0 && settle_started.elapsed() < plan.settle_within {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settle_time = settle_started.elapsed();

    // A last graceful stop: it must exit cleanly.
    serve.sigterm();
    let exit = serve.wait_exit(Duration::from_secs(60)).await;
    graceful.fetch_add(1, Relaxed);

    // Every stop must have been clean, and nothing may have panicked.
    let logs: String = (1..=serve.starts)
        .map(|n| std::fs::read_to_string(serve.log_path(n)).unwrap_or_default())
        .collect();
    let slow_stops = logs.matches("did not stop in time").count();
    let panics = logs.matches("panicked").count();

    let sim_tasks: Vec<Value> = sim
        .get("/sim/tasks")
        .await
        .as_array()
        .cloned()
        .expect("a task list");
    let sim_stats = sim.get("/sim/stats").await;
    let accepted = load.stats.accepted_ids.lock().expect("accepted").clone();
    let audit = audit::audit(&store, &users, &sim_tasks, &accepted).await;
    store.close().await;
    sim.stop().await;

    let mut phases_run: Vec<(&'static str, u64)> = Vec::new();
    for (name, n) in phase_log {
        match phases_run.iter_mut().find(|(p, _)| *p == name) {
            Some((_, count)) => *count += n,
            None => phases_run.push((name, n)),
        }
    }
    Report {
        backend: backend.to_owned(),
        plan,
        load_time: load_done,
        settle_time,
        total_time: started.elapsed(),
        kills: kills.load(Relaxed),
        graceful_restarts: graceful.load(Relaxed),
        final_exit_ok: exit.success(),
        slow_stops,
        panics,
        slow_requests,
        phases: phases_run,
        sim_stats,
        proxy: proxy.stats.clone(),
        load: Arc::clone(&load),
        audit,
        log_dir: dir.to_owned(),
    }
}

/// Kie API requests the simulator has answered so far (its own `/sim/*` routes excluded).
async fn upstream_requests(sim: &Sim) -> u64 {
    let stats = sim.get("/sim/stats").await;
    stats["requests"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .filter(|(route, _)| route.contains("/api/"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

async fn users_of(store: &Store, load: &Load) -> Vec<reelgate_domain::accounts::User> {
    let mut users = Vec::new();
    for customer in &load.customers {
        let email = Email::parse(&customer.email).expect("email");
        users.push(store.user_by_email(&email).await.expect("customer exists"));
    }
    users
}

/// Generations not yet in a final state.
async fn unfinished(store: &Store, users: &[reelgate_domain::accounts::User]) -> usize {
    let mut open = 0;
    for user in users {
        for status in [
            reelgate_domain::generations::Status::Queued,
            reelgate_domain::generations::Status::Running,
        ] {
            // The audit store is a second client: on SQLite it may meet the server's lock.
            if let Ok(page) = store
                .generations_of(&user.id, Some(status), None, 200)
                .await
            {
                open += page.items.len();
            } else {
                open += 1;
            }
        }
    }
    open
}
