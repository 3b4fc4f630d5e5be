//! One system under test: a fresh database (a new SQLite file, or a new schema on the
//! PostgreSQL server), customers in it, a `reelgate sim` and a `reelgate serve` bought from it.

use reelgate_domain::generations::Status;
use reelgate_store::testing::{postgres_store, sqlite_store, TestStore};
use reelgate_store::{Backend, DatabaseUrl};

use super::procs::{Launcher, Process};
use super::seed::{self, Customer};

/// A server's settings besides its database and simulator.
pub type Env = Vec<(String, String)>;

pub struct Stack {
    /// Dropped last: deletes the file or schema once the processes are gone.
    pub store: TestStore,
    pub customers: Vec<Customer>,
    pub sim: Process,
    pub server: Process,
}

impl Stack {
    pub async fn start(
        launcher: &Launcher,
        name: &str,
        backend: Backend,
        customers: usize,
        sim_flags: &[String],
        server_env: Env,
    ) -> anyhow::Result<Stack> {
        let store = match backend {
            Backend::Sqlite => sqlite_store().await?,
            Backend::Postgres => postgres_store().await?,
        };
        let customers = seed::customers(&store, customers).await?;
        let sim = launcher.sim(&format!("{name}-sim"), sim_flags).await?;
        let mut env: Env = vec![
            ("REELGATE_DATABASE_URL".into(), raw_url(store.url())),
            ("REELGATE_KIE_API_KEY".into(), "bench-kie-key".into()),
            ("REELGATE_KIE_BASE_URL".into(), sim.base_url()),
            ("REELGATE_KIE_UPLOAD_URL".into(), sim.base_url()),
            (
                "REELGATE_SECRET".into(),
                "bench-secret-0123456789abcdef0123456789abcdef".into(),
            ),
        ];
        env.extend(server_env);
        let server = launcher.serve(&format!("{name}-serve"), &env).await?;
        Ok(Stack {
            store,
            customers,
            sim,
            server,
        })
    }

    /// Generations stored, of the statuses `which` picks.
    pub async fn count(&self, which: impl Fn(Status) -> bool) -> anyhow::Result<i64> {
        let counts = self.store.count_generations(None).await?;
        let n: u64 = counts
            .into_iter()
            .filter(|(status, _)| which(*status))
            .map(|(_, n)| n)
            .sum();
        Ok(i64::try_from(n)?)
    }

    /// The simulator's counters (`/sim/stats`) as JSON.
    pub async fn sim_stats(&self) -> anyhow::Result<serde_json::Value> {
        Ok(reqwest::get(format!("{}/sim/stats", self.sim.base_url()))
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Sim requests to one route so far (`"GET /api/v1/jobs/recordInfo"`).
    pub async fn sim_requests(&self, route: &str) -> anyhow::Result<u64> {
        Ok(self.sim_stats().await?["requests"][route]
            .as_u64()
            .unwrap_or(0))
    }
}

/// The URL as the server must be given it (`Display` hides a password).
fn raw_url(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres { url } => url.clone(),
    }
}
