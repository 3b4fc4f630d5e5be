//! `reelgate-bench`: the performance figures of `docs/PERFORMANCE.md`, from one command.
//!
//! It lives outside the product so that the `reelgate` binary carries no benchmark code, no
//! direct database access and no test-store helpers. It starts what it measures as child
//! processes — `reelgate sim` with no generation time and no rate limit, and `reelgate serve` on
//! a fresh database seeded through the store's `bulk` API — loads them over loopback, and prints a table: each figure the median of several runs,
//! next to a baseline measured in the same runs, with the ratio and the target it is held
//! to. It also writes the table and two SVG charts (cost against concurrency and against the
//! number of stored generations) into `--out`.

mod burst;
mod http_figures;
mod in_flight;
mod load;
mod procs;
mod relay;
mod report;
mod seed;
mod stack;
mod svg;

use reelgate_domain::catalog::Catalog;
use reelgate_store::Backend;
use std::path::PathBuf;
use std::time::Duration;

use http_figures::Load;
use procs::Launcher;
use report::Report;
use stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    fn backend(self) -> Backend {
        match self {
            Database::Sqlite => Backend::Sqlite,
            Database::Postgres => Backend::Postgres,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Submit and read against /healthz.
    Http,
    /// Submit and read against concurrency and stored rows (charts).
    Sweeps,
    /// A burst of generations, end to end.
    Burst,
    /// Many generations running upstream at once, and the relay overhead.
    InFlight,
}

/// Flags of `reelgate-bench`. PostgreSQL runs use a fresh schema on the server named by
/// `REELGATE_TEST_POSTGRES_URL` (`scripts/bench.sh`: `postgres://postgres@127.0.0.1:5432/test`
/// unless set), or else on the test suite's temporary server, which runs without fsync: its
/// figures are not comparable with a real server's.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "reelgate-bench",
    version,
    about = "Measure reelgate's throughput, latency and cost (docs/PERFORMANCE.md)"
)]
pub struct BenchArgs {
    /// Databases to measure, in order; sweeps run on the first only.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub databases: Vec<Database>,
    /// Scenarios to run (all by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Scenario>,
    /// Rounds of submit, read and /healthz; figures are their medians.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Length of each load run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Concurrent clients for the submit and read figures.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Client counts of the concurrency sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    pub concurrency: Vec<usize>,
    /// Table sizes of the stored-generations sweep (rows inserted through SQL).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub stored: Vec<usize>,
    /// Runs per sweep point, and the length of each, in seconds.
    #[arg(long, default_value_t = 3)]
    pub sweep_runs: usize,
    #[arg(long, default_value_t = 2.0)]
    pub sweep_seconds: f64,
    /// Generations submitted in the end-to-end burst.
    #[arg(long, default_value_t = 10_000)]
    pub burst: usize,
    /// Generations running at once in the in-flight figure.
    #[arg(long, default_value_t = 100_000)]
    pub in_flight: usize,
    /// How long to watch the in-flight server, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub watch_seconds: f64,
    /// The status-read budget of the in-flight server (REELGATE_STATUS_CALLS_PER_MINUTE).
    #[arg(long, default_value_t = 600)]
    pub status_budget: u32,
    /// Status reads timed for the relay overhead.
    #[arg(long, default_value_t = 2000)]
    pub relay_reads: usize,
    /// Where the table, the charts and the children's logs go.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// A setting for every server started, as `KEY=VALUE` (repeatable); for example
    /// `--server-env REELGATE_FFMPEG=none` measures without poster images.
    #[arg(long, value_parser = key_value)]
    pub server_env: Vec<(String, String)>,
    /// A reelgate binary to start as server and simulator, e.g. an older build to compare
    /// with (default: this binary, which contains the product it was built with).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

impl BenchArgs {
    fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }

    fn load(&self) -> Load {
        Load {
            clients: self.clients,
            duration: Duration::from_secs_f64(self.seconds),
        }
    }

    fn customers(&self) -> usize {
        self.clients.clamp(1, 64)
    }
}

fn key_value(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {raw:?}"))
}

/// The first argument that makes `reelgate-bench` run as `reelgate` (see `main.rs`).
pub const AS_REELGATE: &str = "reelgate";

/// Kie credits the simulators start with: enough for every task a benchmark creates.
pub const SIM_BALANCE: &str = "1000000000000";

/// Targets of the issue, per database.
fn submit_target(backend: Backend) -> f64 {
    match backend {
        Backend::Sqlite => 5000.0,
        Backend::Postgres => 3000.0,
    }
}

/// Runs the benchmarks and prints the table (also written to `--out`).
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let launcher = Launcher {
        binary: match &args.binary {
            // Absolute: the children run in the logs folder.
            Some(binary) => std::path::absolute(binary)?,
            None => std::env::current_exe()?,
        },
        prefix: match &args.binary {
            Some(_) => Vec::new(),
            None => vec![AS_REELGATE.into()],
        },
        logs: procs::logs_dir(&args.out)?,
        server_env: args.server_env.clone(),
    };
    let catalog = Catalog::builtin()?;
    let load_before = load_average();
    let mut report = Report::default();
    for (i, database) in args.databases.iter().enumerate() {
        let backend = database.backend();
        let name = backend.name();
        let sweeps_here = i == 0 && args.runs(Scenario::Sweeps);
        if args.runs(Scenario::Http) || sweeps_here {
            eprintln!("{name}: submit and read");
            let started = Stack::start(
                &launcher,
                &format!("http-{name}"),
                backend,
                args.customers(),
                &sim_flags_idle(),
                Vec::new(),
            )
            .await;
            match started {
                Ok(stack) => {
                    if args.runs(Scenario::Http) {
                        let rows = http_figures::submit_and_read(
                            &stack,
                            args.load(),
                            args.runs,
                            submit_target(backend),
                        )
                        .await;
                        report.outcome(format!("{name}: submit and read"), rows);
                    }
                    if sweeps_here {
                        let swept = sweeps(&args, &launcher, &stack, &catalog, &mut report).await;
                        if let Err(error) = swept {
                            report.outcome(format!("{name}: sweeps"), Err(error));
                        }
                    }
                }
                Err(error) => report.outcome(format!("{name}: submit and read"), Err(error)),
            }
        }
        if args.runs(Scenario::Burst) {
            eprintln!("{name}: burst of {}", args.burst);
            let rows = burst::run(
                &launcher,
                backend,
                args.burst,
                args.clients,
                args.customers(),
            )
            .await;
            report.outcome(
                format!("{name}: end to end, {} generations at once", args.burst),
                rows,
            );
        }
        if args.runs(Scenario::InFlight) {
            eprintln!("{name}: {} generations in flight", args.in_flight);
            let title = format!("{name}: {} generations in flight", args.in_flight);
            let in_flight = in_flight::run(
                &launcher,
                &catalog,
                backend,
                args.in_flight,
                Duration::from_secs_f64(args.watch_seconds),
                args.status_budget,
            )
            .await;
            match in_flight {
                Ok(in_flight) => {
                    report.section(title, in_flight.rows);
                    if i == 0 {
                        let rows = relay::run(
                            &in_flight.stack.sim.base_url(),
                            &in_flight.task_id,
                            args.relay_reads,
                        )
                        .await;
                        report.outcome("relay overhead (any database)", rows);
                    }
                }
                Err(error) => report.outcome(title, Err(error)),
            }
        }
    }
    let table = report.markdown();
    let machine = machine(load_before);
    println!("{machine}\n{table}");
    let missed = report.missed();
    if !missed.is_empty() {
        println!("\nTargets missed: {}", missed.join("; "));
    }
    std::fs::write(args.out.join("results.md"), format!("{machine}\n{table}"))?;
    eprintln!("written to {}", args.out.display());
    anyhow::ensure!(
        report.failures.is_empty(),
        "{} scenario(s) could not be measured",
        report.failures.len()
    );
    Ok(())
}

async fn sweeps(
    args: &BenchArgs,
    launcher: &Launcher,
    stack: &Stack,
    catalog: &Catalog,
    report: &mut Report,
) -> anyhow::Result<()> {
    let name = stack.store.backend().name();
    let duration = Duration::from_secs_f64(args.sweep_seconds);
    eprintln!("{name}: concurrency sweep");
    let points =
        http_figures::by_concurrency(stack, &args.concurrency, duration, args.sweep_runs).await?;
    write_chart(
        args,
        "concurrency.svg",
        &format!("Submit and read against concurrency ({name})"),
        "concurrent clients",
        &points,
    )?;
    report.section(
        format!("{name}: against concurrency"),
        http_figures::rows("clients", &points),
    );
    eprintln!("{name}: stored-generations sweep");
    let load = Load {
        clients: args.clients,
        duration,
    };
    // A database of its own: the rows earlier measurements submitted would count otherwise.
    let stored = Stack::start(
        launcher,
        &format!("stored-{name}"),
        stack.store.backend(),
        args.customers(),
        &sim_flags_idle(),
        Vec::new(),
    )
    .await?;
    let points =
        http_figures::by_stored_rows(&stored, catalog, &args.stored, load, args.sweep_runs).await?;
    write_chart(
        args,
        "stored.svg",
        &format!(
            "Submit and read against stored generations ({name}, {} clients)",
            args.clients
        ),
        "generations stored",
        &points,
    )?;
    report.section(
        format!("{name}: against stored generations"),
        http_figures::rows("stored", &points),
    );
    Ok(())
}

fn write_chart(
    args: &BenchArgs,
    file: &str,
    title: &str,
    x_label: &str,
    points: &[http_figures::SweepPoint],
) -> anyhow::Result<()> {
    let chart = svg::Chart {
        title: title.to_owned(),
        x_label: x_label.to_owned(),
        left_label: "requests per second (solid)".to_owned(),
        right_label: "p99 latency, ms (dashed)".to_owned(),
        series: http_figures::series(points),
    };
    std::fs::write(args.out.join(file), chart.render())?;
    Ok(())
}

/// The simulator for submit and read: no rate limit, and tasks that run for hours. The
/// server still sends creates at Kie's pace (20 per 10 s) while it is measured, but nothing
/// finishes: a finished generation is copied into reelgate's storage and, where ffmpeg is
/// installed, gets a poster from an ffmpeg process, work that would compete with the requests
/// being measured on a 2-core machine (the burst measures that pipeline instead).
fn sim_flags_idle() -> Vec<String> {
    let mut flags: Vec<String> = [
        "--rate-limit",
        "off",
        "--seed",
        "1",
        "--balance",
        SIM_BALANCE,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for family in ["veo3", "veo3-fast", "sora", "sora-pro", "kling", "grok"] {
        flags.push(format!("--{family}-ms"));
        flags.push(in_flight::TASK_MS.to_owned());
    }
    flags
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The machine, for the record: cores, CPU model, and how loaded it was.
fn machine(load_before: String) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "machine: {cores} cores, {cpu}; load average (1 min) {load_before} before, {} after",
        load_average()
    )
}
