//! Many generations running upstream at once, for hours, with no callbacks: what the server
//! costs while it waits — memory, CPU, and the status reads it spends from its budget.
//!
//! The tasks are created in the simulator directly and their generations inserted through
//! SQL (see `seed`): submitting 100,000 through HTTP and the rate window would take longer
//! than the measurement. The rows are what dispatch would have left: running, with their
//! task ids, their holds, and first status reads due over the next two minutes.

use kie::{KieClient, KieConfig, SecretString, TaskRequest};
use reelgate_domain::catalog::{Catalog, UpstreamRequest};
use reelgate_domain::generations::Status;
use reelgate_store::Backend;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::procs::Launcher;
use super::report::{Row, Target as Goal};
use super::seed::{self, BulkState};
use super::stack::Stack;

/// Ten hours: nothing finishes while we watch.
pub const TASK_MS: &str = "36000000";
/// Creates in flight at once while filling the simulator.
const CREATE_CONCURRENCY: usize = 32;
pub const STATUS_ROUTE: &str = "GET /api/v1/jobs/recordInfo";

pub struct InFlight {
    pub rows: Vec<Row>,
    /// The running stack, kept for the relay measurement (its tasks run for hours).
    pub stack: Stack,
    pub task_id: String,
}

pub async fn run(
    launcher: &Launcher,
    catalog: &Catalog,
    backend: Backend,
    generations: usize,
    watch: Duration,
    budget_per_minute: u32,
) -> anyhow::Result<InFlight> {
    let mut sim_flags: Vec<String> = vec![
        "--rate-limit".into(),
        "off".into(),
        "--drop-callback-ratio".into(),
        "1".into(),
        "--balance".into(),
        super::SIM_BALANCE.into(),
    ];
    for family in ["veo3", "veo3-fast", "sora", "sora-pro", "kling", "grok"] {
        sim_flags.push(format!("--{family}-ms"));
        sim_flags.push(TASK_MS.into());
    }
    let env = vec![
        (
            "REELGATE_MAX_CONCURRENT_TASKS".into(),
            (generations + 1000).to_string(),
        ),
        (
            "REELGATE_STATUS_CALLS_PER_MINUTE".into(),
            budget_per_minute.to_string(),
        ),
    ];
    let name = format!("in-flight-{}", backend.name());
    let stack = Stack::start(launcher, &name, backend, 1, &sim_flags, env).await?;

    let started = Instant::now();
    let request = match seed::example_request(catalog)?.to_upstream(None) {
        UpstreamRequest::Task(body) => body,
        UpstreamRequest::Veo(_) => anyhow::bail!("the example request is expected on the jobs API"),
    };
    let task_ids = create_tasks(&stack.sim.base_url(), &request, generations).await?;
    let running = BulkState::Running {
        task_ids,
        spread_secs: 120,
    };
    let owner = stack.customers[0].id.clone();
    seed::bulk_generations(&stack.store, catalog, &owner, generations, &running).await?;
    eprintln!(
        "  {generations} running generations created and stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let BulkState::Running { task_ids, .. } = running else {
        unreachable!("built just above")
    };

    let cpu_before = stack.server.cpu_time()?;
    let reads_before = stack.sim_requests(STATUS_ROUTE).await?;
    let watching = Instant::now();
    let mut peak_current = 0;
    while watching.elapsed() < watch {
        peak_current = peak_current.max(stack.server.memory()?.current);
        tokio::time::sleep(Duration::from_millis(500).min(watch)).await;
    }
    let watched = watching.elapsed().as_secs_f64();
    let cpu = (stack.server.cpu_time()? - cpu_before).as_secs_f64() / watched * 100.0;
    let reads = (stack.sim_requests(STATUS_ROUTE).await? - reads_before) as f64;
    let memory = stack.server.memory()?;
    let still_running = stack.count(|status| status == Status::Running).await?;

    let rows = vec![
        Row::single("generations running upstream", "", still_running as f64),
        Row::single("server peak RSS (VmHWM)", "MB", memory.peak as f64 / 1e6)
            .target(Goal::AtMost(300.0)),
        Row::single(
            format!("server RSS while waiting (largest sample over {watched:.0} s)"),
            "MB",
            peak_current as f64 / 1e6,
        ),
        Row::single("server CPU while waiting (of one core)", "%", cpu).target(Goal::AtMost(10.0)),
        Row::single(
            "upstream status reads per minute",
            "",
            reads * 60.0 / watched,
        )
        .against(
            "REELGATE_STATUS_CALLS_PER_MINUTE",
            vec![f64::from(budget_per_minute)],
        )
        .target(Goal::AtMost(f64::from(budget_per_minute) * 1.02)),
    ];
    let task_id = task_ids
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no task was created"))?;
    Ok(InFlight {
        rows,
        stack,
        task_id,
    })
}

/// Creates `n` tasks in the simulator, as Kie's own API would be called.
async fn create_tasks(
    sim_url: &str,
    request: &TaskRequest,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let kie = KieClient::new(KieConfig::for_single_host(
        kie::Url::parse(sim_url)?,
        SecretString::from("bench-kie-key".to_owned()),
    ))?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..CREATE_CONCURRENCY.min(n.max(1)) {
        let (kie, next, request) = (kie.clone(), Arc::clone(&next), request.clone());
        creators.spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                ids.push(kie.create_task(&request).await?.as_str().to_owned());
            }
            Ok::<_, kie::KieError>(ids)
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(created) = creators.join_next().await {
        ids.extend(created??);
    }
    Ok(ids)
}
