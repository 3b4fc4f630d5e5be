//! The real application on port 0, with its own data directory and the simulator at zero
//! durations, as `tests/api/helpers.rs` starts it; plus the store, to make the operator.

use reelgate::app::Application;
use reelgate::config::{Config, Settings, Upstream};
use reelgate_domain::accounts::{Email, Password, Role, User};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store};

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with_sim(|_| {}).await
    }

    /// With the simulator at zero durations, changed by `tune`.
    pub async fn spawn_with_sim(tune: impl FnOnce(&mut kie_sim::SimConfig)) -> TestApp {
        Self::spawn_with(Settings::default(), tune).await
    }

    /// With these settings, and the simulator at zero durations changed by `tune`.
    pub async fn spawn_with(
        settings: Settings,
        tune: impl FnOnce(&mut kie_sim::SimConfig),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        // Its own SQLite file, unless the test shares a database between instances; then the
        // files a server database keeps under `./data` go to the temporary directory too.
        let shared = settings.get("REELGATE_DATABASE_URL").map(str::to_owned);
        let mut settings = settings
            .with(
                "REELGATE_DATABASE_URL",
                shared.clone().unwrap_or_else(|| {
                    format!("sqlite://{}/reelgate.db", data_dir.path().display())
                }),
            )
            .with("REELGATE_LISTEN", "127.0.0.1:0");
        if shared.is_some() {
            settings = settings.with(
                "REELGATE_MEDIA_DIR",
                data_dir.path().join("media").display().to_string(),
            );
            if settings.get("REELGATE_SECRET").is_none() {
                settings = settings.with("REELGATE_SECRET", "a test secret of thirty-two chars!");
            }
        }
        let mut config = Config::from_settings(&settings).expect("test config");
        if shared.is_some() {
            config.data_dir = data_dir.path().to_owned();
        }
        if let Upstream::Simulator(sim) = &mut config.upstream {
            **sim = kie_sim::SimConfig::for_tests();
            tune(sim);
        }
        let app = Application::build(config).await.expect("app builds");
        let address = format!("http://{}", app.local_addr());
        let store = app.store().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            store,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            _data_dir: data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn create_user(&self, email: &str, password: &str, role: Role) -> User {
        self.store
            .create_user(NewUser {
                email: Email::parse(email).expect("email"),
                password: Password::parse(password).expect("password"),
                role,
                signup_bonus: Credits::ZERO,
            })
            .await
            .expect("user created")
    }

    /// The catalog, as `GET /v1/models` answers it.
    pub async fn models(&self) -> serde_json::Value {
        self.client
            .get(self.url("/v1/models"))
            .send()
            .await
            .expect("the catalog")
            .json()
            .await
            .expect("catalog JSON")
    }

    pub async fn grant(&self, user: &User, credits: i64) {
        self.store
            .operator_grant(&user.id, Credits::new(credits), Some("test"), &Actor::Cli)
            .await
            .expect("credits granted");
    }
}
