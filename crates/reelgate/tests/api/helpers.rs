//! `TestApp`: the real application on port 0 with its own data directory.

use reelgate::app::Application;
use reelgate::config::{Config, Settings, Upstream};
use reelgate_domain::accounts::{ApiKey, Email, Password, Role, User};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store};

/// The database this suite runs on: the `api` binary on SQLite (the embedded default), the
/// `api_postgres` binary — the same tests — on a fresh PostgreSQL schema per app.
pub struct SuiteDatabase {
    pub url: String,
    _store: Option<reelgate_store::testing::TestStore>,
}

impl SuiteDatabase {
    pub fn on_postgres() -> bool {
        env!("CARGO_CRATE_NAME") == "api_postgres"
    }

    /// A new database for one app; `dir` holds the SQLite file.
    pub async fn new(dir: &std::path::Path) -> SuiteDatabase {
        if Self::on_postgres() {
            let store = reelgate_store::testing::empty_postgres_store()
                .await
                .expect("a PostgreSQL schema for the test");
            // The URL itself, not its Display, which redacts a password.
            let reelgate_store::DatabaseUrl::Postgres { url } = store.url().clone() else {
                unreachable!("a PostgreSQL store has a PostgreSQL URL")
            };
            SuiteDatabase {
                url,
                _store: Some(store),
            }
        } else {
            SuiteDatabase {
                url: format!("sqlite://{}/reelgate.db", dir.display()),
                _store: None,
            }
        }
    }

    /// A database another app of the test already runs on.
    pub fn shared(url: &str) -> SuiteDatabase {
        SuiteDatabase {
            url: url.to_owned(),
            _store: None,
        }
    }

    /// The app's configuration from `settings`, its data directory `dir` (on a server
    /// database it would be `./data`, where the media copier keeps its temporary files).
    pub fn config(settings: &Settings, dir: &std::path::Path) -> Config {
        let mut config = Config::from_settings(settings).expect("test config");
        config.data_dir = dir.to_owned();
        config
    }

    /// `settings` on this database, with everything the app keeps in its data directory
    /// (media, the secret) in `dir`: on PostgreSQL that directory is `./data` otherwise.
    pub fn settings(&self, settings: Settings, dir: &std::path::Path) -> Settings {
        let mut settings = settings.with("REELGATE_DATABASE_URL", self.url.clone());
        if settings.get("REELGATE_MEDIA_DIR").is_none() {
            settings = settings.with(
                "REELGATE_MEDIA_DIR",
                dir.join("media").display().to_string(),
            );
        }
        // Instances sharing a database share the secret, as a deployment's do.
        if self.url.starts_with("postgres") && settings.get("REELGATE_SECRET").is_none() {
            settings = settings.with("REELGATE_SECRET", "a test secret of thirty-two chars!");
        }
        settings
    }
}

pub struct TestApp {
    pub address: String,
    /// The database the app runs on (for the admin CLI, which acts on the same one).
    pub database: SuiteDatabase,
    pub client: reqwest::Client,
    /// The app's own database, for setting up users the way the admin CLI would.
    pub store: Store,
    /// The built-in simulator the app buys from (to inject faults and inspect tasks).
    pub sim: kie_sim::Simulator,
    /// Kept so the data directory lives as long as the app.
    pub _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        Self::spawn_with_sim(settings, kie_sim::SimConfig::for_tests()).await
    }

    /// On a simulator that injects these faults.
    pub async fn with_faults(faults: kie_sim::Faults) -> TestApp {
        let sim = kie_sim::SimConfig {
            faults,
            ..kie_sim::SimConfig::for_tests()
        };
        Self::spawn_with_sim(Settings::default(), sim).await
    }

    /// With this simulator configuration, and polling fast enough for tests.
    pub async fn spawn_with_sim(settings: Settings, sim_config: kie_sim::SimConfig) -> TestApp {
        Self::spawn_polling(
            settings,
            sim_config,
            std::time::Duration::from_millis(50),
            std::time::Duration::from_millis(500),
        )
        .await
    }

    /// With status reads between `min` and `max` apart.
    pub async fn spawn_polling(
        settings: Settings,
        sim_config: kie_sim::SimConfig,
        min: std::time::Duration,
        max: std::time::Duration,
    ) -> TestApp {
        Self::spawn_tuned(settings, sim_config, |config| {
            config.lifecycle.poll.min_interval = min;
            config.lifecycle.poll.max_interval = max;
        })
        .await
    }

    /// With these settings, then `tune` applied to the configuration they make.
    pub async fn spawn_tuned(
        settings: Settings,
        sim_config: kie_sim::SimConfig,
        tune: impl FnOnce(&mut Config),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        // A test that shares one database between instances names it; else each app has its own.
        let database = match settings.get("REELGATE_DATABASE_URL") {
            Some(shared) => SuiteDatabase::shared(shared),
            None => SuiteDatabase::new(data_dir.path()).await,
        };
        let settings = database
            .settings(settings, data_dir.path())
            .with("REELGATE_LISTEN", "127.0.0.1:0");
        let mut config = SuiteDatabase::config(&settings, data_dir.path());
        if let Upstream::Simulator(sim) = &mut config.upstream {
            **sim = sim_config;
        }
        tune(&mut config);
        let app = Application::build(config).await.expect("app builds");
        let sim = app
            .simulator()
            .expect("tests run on the built-in simulator");
        let address = format!("http://{}", app.local_addr());
        let store = app.store().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            database,
            client: reqwest::Client::new(),
            store,
            sim,
            _data_dir: data_dir,
        }
    }

    /// The app buying from a simulator of the test's own (several Kie keys, each an account
    /// there), on these settings, then `tune` applied to the configuration they make.
    pub async fn on_simulator(
        running: &kie_sim::RunningSim,
        settings: Settings,
        tune: impl FnOnce(&mut Config),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = SuiteDatabase::new(data_dir.path()).await;
        Self::start_on(database, data_dir, running, settings, tune).await
    }

    /// Another instance beside this app: on its database and `running`, with `settings`
    /// (on PostgreSQL, instances sharing a database as a deployment's do).
    pub async fn beside(&self, running: &kie_sim::RunningSim, settings: Settings) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = SuiteDatabase::shared(&self.database.url);
        Self::start_on(database, data_dir, running, settings, |_| {}).await
    }

    async fn start_on(
        database: SuiteDatabase,
        data_dir: tempfile::TempDir,
        running: &kie_sim::RunningSim,
        settings: Settings,
        tune: impl FnOnce(&mut Config),
    ) -> TestApp {
        let settings = database
            .settings(settings, data_dir.path())
            .with("REELGATE_LISTEN", "127.0.0.1:0")
            .with("REELGATE_KIE_BASE_URL", running.base_url.clone())
            .with("REELGATE_KIE_UPLOAD_URL", running.base_url.clone());
        let mut config = SuiteDatabase::config(&settings, data_dir.path());
        tune(&mut config);
        let app = Application::build(config).await.expect("app builds");
        let address = format!("http://{}", app.local_addr());
        let store = app.store().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            database,
            client: reqwest::Client::new(),
            store,
            sim: running.sim.clone(),
            _data_dir: data_dir,
        }
    }

    /// Where the app keeps its copies of the videos (the default local storage).
    pub fn media_dir(&self) -> std::path::PathBuf {
        self._data_dir.path().join("media")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A new user with `credits` granted and an API key to act as them.
    pub async fn user(&self, name: &str, role: Role, credits: i64) -> (User, ApiKey) {
        let user = self
            .store
            .create_user(NewUser {
                email: Email::parse(&format!("{name}@example.com")).unwrap(),
                password: Password::parse("correct horse battery").unwrap(),
                role,
                signup_bonus: Credits::ZERO,
            })
            .await
            .expect("user created");
        if credits > 0 {
            self.store
                .grant(&user.id, Credits::new(credits), "test credits", &Actor::Cli)
                .await
                .expect("credits granted");
        }
        let (_, key) = self.store.create_api_key(&user.id, "tests").await.unwrap();
        (self.store.user(&user.id).await.unwrap(), key)
    }

    pub async fn customer(&self, name: &str, credits: i64) -> (User, ApiKey) {
        self.user(name, Role::Customer, credits).await
    }

    pub async fn admin(&self) -> (User, ApiKey) {
        self.user("operator", Role::Admin, 0).await
    }

    pub async fn get_as(&self, key: &ApiKey, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key.expose())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_as(
        &self,
        key: &ApiKey,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key.expose())
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete_as(&self, key: &ApiKey, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(key.expose())
            .send()
            .await
            .expect("request sent")
    }
}

impl TestApp {
    /// Submits a generation as `key`'s owner.
    pub async fn submit(&self, key: &ApiKey, body: serde_json::Value) -> (u16, serde_json::Value) {
        json(self.post_as(key, "/v1/generations", body).await).await
    }

    /// Polls a generation until it reaches a final state (or panics after 30 s).
    pub async fn settled(&self, key: &ApiKey, id: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (status, body) =
                json(self.get_as(key, &format!("/v1/generations/{id}")).await).await;
            assert_eq!(status, 200, "{body}");
            if matches!(
                body["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            ) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "generation {id} never settled: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// How many times reelgate has read Kie's balance from the simulator: the balance guard's
    /// own clock, for tests that show something does not happen over so many of its rounds
    /// instead of over a sleep.
    pub fn kie_balance_reads(&self) -> u64 {
        self.sim
            .stats()
            .requests
            .get("GET /api/v1/chat/credit")
            .copied()
            .unwrap_or(0)
    }

    /// Waits until reelgate has read Kie's balance `n` more times than `since`.
    pub async fn balance_reads_after(&self, since: u64, n: u64) {
        wait_until(&format!("{n} more reads of Kie's balance"), async || {
            self.kie_balance_reads() >= since + n
        })
        .await;
    }

    /// Submits one more Kling video as `key`'s owner and waits for it to end: the dispatcher
    /// and the tracker have each worked a round since, so whatever an earlier request woke
    /// them to do is done. For tests that show something did not happen, instead of a sleep.
    pub async fn after_a_round_of_the_workers(&self, key: &ApiKey) {
        let (status, created) = self
            .submit(
                key,
                serde_json::json!({"model": "kling-2.6/text-to-video", "prompt": "one more"}),
            )
            .await;
        assert_eq!(status, 202, "{created}");
        self.settled(key, created["id"].as_str().unwrap()).await;
    }

    /// The caller's balance and held credits, as the account API shows them.
    pub async fn balance(&self, key: &ApiKey) -> (i64, i64) {
        let (_, account) = json(self.get_as(key, "/v1/account").await).await;
        (
            account["balance"].as_i64().unwrap(),
            account["held"].as_i64().unwrap(),
        )
    }

    /// A generation's ledger rows as `(kind, amount)`, from the customer's ledger, sorted.
    pub async fn ledger_rows(&self, key: &ApiKey, generation: &str) -> Vec<(String, i64)> {
        let (_, page) = json(self.get_as(key, "/v1/account/ledger?limit=200").await).await;
        let mut rows: Vec<(String, i64)> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["generation_id"] == generation)
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["amount"].as_i64().unwrap(),
                )
            })
            .collect();
        rows.sort();
        rows
    }

    /// Charged once, by the ledger's kinds and not only their sum: a hold of the price, then a
    /// charge of 0, and nothing else (a 0-credit refund would sum the same).
    pub async fn assert_charged(&self, key: &ApiKey, generation: &str, price: i64) {
        assert_eq!(
            self.ledger_rows(key, generation).await,
            [("charge".to_owned(), 0), ("hold".to_owned(), -price)],
            "{generation}: held and charged once"
        );
    }

    /// Refunded once: a hold of the price, then a refund of it, and nothing else.
    pub async fn assert_refunded(&self, key: &ApiKey, generation: &str, price: i64) {
        assert_eq!(
            self.ledger_rows(key, generation).await,
            [("hold".to_owned(), -price), ("refund".to_owned(), price)],
            "{generation}: held and refunded once"
        );
    }

    /// The signed sum of a generation's ledger rows, from the customer's ledger.
    pub async fn ledger_sum(&self, key: &ApiKey, generation: &str) -> (i64, Vec<String>) {
        let (_, page) = json(self.get_as(key, "/v1/account/ledger?limit=200").await).await;
        let rows: Vec<&serde_json::Value> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["generation_id"] == generation)
            .collect();
        let kinds = rows
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        (
            rows.iter().map(|e| e["amount"].as_i64().unwrap()).sum(),
            kinds,
        )
    }
}

/// The status and JSON body of a response.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Waits (up to 30 s) until `done` holds.
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
