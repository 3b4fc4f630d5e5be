//! End to end: a burst of generations submitted at once, to a simulator that finishes each
//! task the moment it is created and calls back; how long until every one is settled, how
//! many upstream calls each cost, and the server's peak memory.

use bytes::Bytes;
use reelgate_domain::generations::Status;
use reelgate_store::Backend;
use std::time::{Duration, Instant};

use super::load::{self, Stop, Target};
use super::procs::Launcher;
use super::report::{Row, Target as Goal};
use super::seed;
use super::stack::Stack;

/// Give up on a burst that has not settled by then: something is stuck, not slow.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(900);

pub async fn run(
    launcher: &Launcher,
    backend: Backend,
    generations: usize,
    clients: usize,
    customers: usize,
) -> anyhow::Result<Vec<Row>> {
    let sim_flags: Vec<String> = ["--duration-scale", "0", "--rate-limit", "off"]
        .into_iter()
        .chain([
            "--hd-delay-ms",
            "0",
            "--seed",
            "1",
            "--balance",
            super::SIM_BALANCE,
        ])
        .map(str::to_owned)
        .collect();
    // Limits raised so the burst is bound by reelgate, not by limits meant for Kie itself.
    let raised = (generations * 10).max(1000).to_string();
    let env = vec![
        ("REELGATE_UPSTREAM_RATE_LIMIT".into(), format!("{raised}/1")),
        ("REELGATE_MAX_CONCURRENT_TASKS".into(), raised.clone()),
        ("REELGATE_STATUS_CALLS_PER_MINUTE".into(), raised.clone()),
    ];
    let name = format!("burst-{}", backend.name());
    let stack = Stack::start(launcher, &name, backend, customers, &sim_flags, env).await?;

    let bodies: Vec<Bytes> = seed::model_mix()
        .iter()
        .map(|body| serde_json::to_vec(body).map(Bytes::from))
        .collect::<Result<_, _>>()?;
    let targets = (0..clients)
        .map(|i| Target::Submit {
            key: stack.customers[i % stack.customers.len()].key.clone(),
            body: bodies[i % bodies.len()].clone(),
        })
        .collect();
    let cpu_before = stack.server.cpu_time()?;
    let children_before = stack.server.children_cpu_time()?;
    let started = Instant::now();
    let submitted = load::run(
        stack.server.addr,
        targets,
        Stop::Requests(generations as u64),
    )
    .await?;
    let submit_time = started.elapsed();
    anyhow::ensure!(
        submitted.errors == 0,
        "{} submits failed; first: {}",
        submitted.errors,
        submitted.first_error.as_deref().unwrap_or("?")
    );
    loop {
        let unsettled = stack.count(|status| !status.is_final()).await?;
        if unsettled == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < SETTLE_TIMEOUT,
            "{unsettled} generations still unsettled after {SETTLE_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settle_time = started.elapsed();
    let memory = stack.server.memory()?;
    let cpu = (stack.server.cpu_time()? - cpu_before).as_secs_f64();
    let children_cpu = (stack.server.children_cpu_time()? - children_before).as_secs_f64();

    let last_finished = stack.store.last_finished_at().await?;
    let failed = stack.count(|status| status != Status::Succeeded).await?;
    let veo: i64 = stack
        .store
        .figures()
        .await?
        .generations
        .iter()
        .filter(|tally| tally.model.starts_with("veo"))
        .map(|tally| tally.count)
        .sum();
    let sim_done = sim_finished_ms(&stack).await?;
    let last_finished_ms = last_finished.map_or(0, |at| at.timestamp_millis());
    let lag_s = (last_finished_ms - sim_done) as f64 / 1000.0;

    let stats = stack.sim_stats().await?;
    let calls = |route: &str| stats["requests"][route].as_f64().unwrap_or(0.0);
    let n = generations as f64;
    let veo = veo as f64;
    let jobs = n - veo;
    let veo_calls = calls("POST /api/v1/veo/generate")
        + calls("GET /api/v1/veo/record-info")
        + calls("GET /api/v1/veo/get-1080p-video");
    let jobs_calls = calls("POST /api/v1/jobs/createTask") + calls("GET /api/v1/jobs/recordInfo");
    let mut rows = vec![
        Row::single(
            format!("submit {generations} at once ({clients} clients)"),
            "s",
            submit_time.as_secs_f64(),
        ),
        Row::single(
            "all settled, from the first submit",
            "s",
            settle_time.as_secs_f64(),
        ),
        Row::single(
            "last settled after the simulator finished the last task",
            "s",
            lag_s,
        )
        .target(Goal::AtMost(2.0)),
        Row::single("generations not succeeded", "", failed as f64).target(Goal::AtMost(0.0)),
        Row::single(
            "upstream calls per jobs generation (create + status)",
            "",
            jobs_calls / jobs.max(1.0),
        )
        .target(Goal::AtMost(2.0)),
        Row::single(
            "upstream calls per Veo 16:9 generation (create + status + 1080p)",
            "",
            veo_calls / veo.max(1.0),
        )
        .target(Goal::AtMost(3.0)),
    ];
    for route in [
        "POST /api/v1/jobs/createTask",
        "GET /api/v1/jobs/recordInfo",
        "POST /api/v1/veo/generate",
        "GET /api/v1/veo/record-info",
        "GET /api/v1/veo/get-1080p-video",
    ] {
        let per = if route.contains("veo") { veo } else { jobs };
        rows.push(Row::single(
            format!("`{route}` per generation of its kind"),
            "",
            calls(route) / per.max(1.0),
        ));
    }
    rows.push(Row::single(
        "callbacks the simulator could not deliver",
        "",
        stats["callbacks_failed"].as_f64().unwrap_or(0.0),
    ));
    rows.push(Row::single("server CPU until all settled", "s", cpu));
    rows.push(Row::single(
        "CPU of its finished child processes meanwhile (ffmpeg posters)",
        "s",
        children_cpu,
    ));
    rows.push(Row::single(
        "server peak RSS",
        "MB",
        memory.peak as f64 / 1e6,
    ));
    Ok(rows)
}

/// When the simulator finished the last task of the burst (Unix ms).
async fn sim_finished_ms(stack: &Stack) -> anyhow::Result<i64> {
    let tasks: serde_json::Value = reqwest::get(format!("{}/sim/tasks", stack.sim.base_url()))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let last = tasks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|task| task["completed_ms"].as_i64())
        .max()
        .ok_or_else(|| anyhow::anyhow!("the simulator finished no task"))?;
    Ok(last)
}
