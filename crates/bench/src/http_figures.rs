//! Submit and read throughput and latency, each run next to `GET /healthz` of the same server
//! in the same round; and how they change with the number of clients and of stored rows.

use bytes::Bytes;
use reelgate_domain::catalog::Catalog;
use std::sync::Arc;
use std::time::Duration;

use super::load::{self, Outcome, Stop, Target};
use super::report::{Row, Target as Goal};
use super::seed::{self, BulkState};
use super::stack::Stack;
use super::svg::Series;

/// How long and how hard one measurement pushes.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub duration: Duration,
}

/// Submits as `clients` clients, client `i` acting as customer `i mod customers`.
fn submit_targets(stack: &Stack, clients: usize) -> anyhow::Result<Vec<Target>> {
    let body = Bytes::from(serde_json::to_vec(&seed::example_body())?);
    Ok((0..clients)
        .map(|i| Target::Submit {
            key: stack.customers[i % stack.customers.len()].key.clone(),
            body: body.clone(),
        })
        .collect())
}

/// Reads as `clients` clients, each over generations its customer owns.
fn read_targets(stack: &Stack, owned: &[Arc<Vec<String>>], clients: usize) -> Vec<Target> {
    (0..clients)
        .map(|i| {
            let customer = i % stack.customers.len();
            Target::Read {
                key: stack.customers[customer].key.clone(),
                ids: Arc::clone(&owned[customer]),
            }
        })
        .collect()
}

/// Files created ids under their customer, for reads.
fn owned_ids(stack: &Stack, submitted: &Outcome) -> Vec<Arc<Vec<String>>> {
    let mut owned = vec![Vec::new(); stack.customers.len()];
    for (client, ids) in submitted.created.iter().enumerate() {
        owned[client % stack.customers.len()].extend(ids.iter().cloned());
    }
    owned.into_iter().map(Arc::new).collect()
}

fn checked(what: &str, outcome: Outcome) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        outcome.ok > 0,
        "{what}: no request succeeded ({} failed; first: {})",
        outcome.errors,
        outcome.first_error.as_deref().unwrap_or("none")
    );
    Ok(outcome)
}

/// One submit run and one read run (of what it created) at `load`.
async fn submit_then_read(stack: &Stack, load: Load) -> anyhow::Result<(Outcome, Outcome)> {
    let addr = stack.server.addr;
    let submitted = checked(
        "submit",
        load::run(
            addr,
            submit_targets(stack, load.clients)?,
            Stop::After(load.duration),
        )
        .await?,
    )?;
    let owned = owned_ids(stack, &submitted);
    anyhow::ensure!(
        (0..load.clients).all(|i| !owned[i % owned.len()].is_empty()),
        "every customer needs a generation to read; submit longer or with more clients"
    );
    let read = checked(
        "read",
        load::run(
            addr,
            read_targets(stack, &owned, load.clients),
            Stop::After(load.duration),
        )
        .await?,
    )?;
    Ok((submitted, read))
}

/// Submit, read and `/healthz`, round after round, and the rows of their medians.
pub async fn submit_and_read(
    stack: &Stack,
    load: Load,
    runs: usize,
    submit_target: f64,
) -> anyhow::Result<Vec<Row>> {
    let (mut health, mut health_p99) = (Vec::new(), Vec::new());
    let (mut submit, mut submit_p50, mut submit_p99, mut submit_errors) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut read, mut read_p50, mut read_p99) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let healthz = checked(
            "healthz",
            load::run(
                stack.server.addr,
                vec![Target::Healthz; load.clients],
                Stop::After(load.duration),
            )
            .await?,
        )?;
        health.push(healthz.per_second());
        health_p99.push(healthz.latency_ms(0.99));
        let (s, r) = submit_then_read(stack, load).await?;
        submit.push(s.per_second());
        submit_p50.push(s.latency_ms(0.5));
        submit_p99.push(s.latency_ms(0.99));
        submit_errors.push(s.errors as f64);
        read.push(r.per_second());
        read_p50.push(r.latency_ms(0.5));
        read_p99.push(r.latency_ms(0.99));
    }
    let clients = load.clients;
    Ok(vec![
        Row::new(
            format!("submit: accepted POST /v1/generations, {clients} clients"),
            "req/s",
            submit,
        )
        .against("GET /healthz", health.clone())
        .target(Goal::AtLeast(submit_target)),
        Row::new("submit p50 latency", "ms", submit_p50),
        Row::new("submit p99 latency", "ms", submit_p99)
            .against("GET /healthz p99", health_p99.clone())
            .target(Goal::AtMost(20.0)),
        Row::new("submit answers other than 202", "", submit_errors).target(Goal::AtMost(0.0)),
        Row::new(
            format!("read: GET /v1/generations/{{id}}, {clients} clients"),
            "req/s",
            read,
        )
        .against("GET /healthz", health)
        .target(Goal::RatioAtLeast(0.5)),
        Row::new("read p50 latency", "ms", read_p50),
        Row::new("read p99 latency", "ms", read_p99).against("GET /healthz p99", health_p99),
    ])
}

/// A point of a sweep: submit and read rates and p99s, medians of `runs`.
pub struct SweepPoint {
    pub x: f64,
    pub submit: f64,
    pub submit_p99: f64,
    pub read: f64,
    pub read_p99: f64,
}

async fn point(stack: &Stack, x: f64, load: Load, runs: usize) -> anyhow::Result<SweepPoint> {
    let mut figures: [Vec<f64>; 4] = Default::default();
    for _ in 0..runs.max(1) {
        let (s, r) = submit_then_read(stack, load).await?;
        figures[0].push(s.per_second());
        figures[1].push(s.latency_ms(0.99));
        figures[2].push(r.per_second());
        figures[3].push(r.latency_ms(0.99));
    }
    let m = |i: usize| super::report::median(&figures[i]);
    Ok(SweepPoint {
        x,
        submit: m(0),
        submit_p99: m(1),
        read: m(2),
        read_p99: m(3),
    })
}

/// Submit and read at each number of clients.
pub async fn by_concurrency(
    stack: &Stack,
    clients: &[usize],
    duration: Duration,
    runs: usize,
) -> anyhow::Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    for &c in clients {
        let load = Load {
            clients: c,
            duration,
        };
        points.push(point(stack, c as f64, load, runs).await?);
    }
    Ok(points)
}

/// Submit and read at `load` with the generations table grown to each size first (rows
/// inserted directly through SQL, see `seed`). A size is what the table holds when its
/// measurement starts; the measurement's own submissions add to it (a few thousand rows).
pub async fn by_stored_rows(
    stack: &Stack,
    catalog: &Catalog,
    sizes: &[usize],
    load: Load,
    runs: usize,
) -> anyhow::Result<Vec<SweepPoint>> {
    let owner = &stack.customers[0].id;
    let mut points = Vec::new();
    for &size in sizes {
        let stored = stack.count(|_| true).await?;
        let missing = size.saturating_sub(usize::try_from(stored)?);
        let started = std::time::Instant::now();
        seed::bulk_generations(&stack.store, catalog, owner, missing, &BulkState::Succeeded)
            .await?;
        eprintln!(
            "  {size} stored generations ({missing} inserted in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        points.push(point(stack, size as f64, load, runs).await?);
    }
    Ok(points)
}

/// The four lines of a sweep chart.
pub fn series(points: &[SweepPoint]) -> Vec<Series> {
    let line = |name: &str, right: bool, colour, f: fn(&SweepPoint) -> f64| Series {
        name: name.to_owned(),
        right_axis: right,
        colour,
        points: points.iter().map(|p| (p.x, f(p))).collect(),
    };
    vec![
        line("submit/s", false, "#1f77b4", |p| p.submit),
        line("read/s", false, "#2ca02c", |p| p.read),
        line("submit p99 ms", true, "#1f77b4", |p| p.submit_p99),
        line("read p99 ms", true, "#2ca02c", |p| p.read_p99),
    ]
}

/// A sweep as table rows.
pub fn rows(label: &str, points: &[SweepPoint]) -> Vec<Row> {
    points
        .iter()
        .flat_map(|p| {
            let x = super::report::count(p.x);
            [
                Row::single(format!("submit, {x} {label}"), "req/s", p.submit),
                Row::single(format!("submit p99, {x} {label}"), "ms", p.submit_p99),
                Row::single(format!("read, {x} {label}"), "req/s", p.read),
                Row::single(format!("read p99, {x} {label}"), "ms", p.read_p99),
            ]
        })
        .collect()
}
