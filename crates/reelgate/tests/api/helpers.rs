//! `TestApp`: the real application on port 0 with its own data directory.

use reelgate::app::Application;
use reelgate::config::{Config, Settings};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Kept so the data directory lives as long as the app.
    pub _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let settings = settings
            .with(
                "REELGATE_DATABASE_URL",
                format!("sqlite://{}/reelgate.db", data_dir.path().display()),
            )
            .with("REELGATE_LISTEN", "127.0.0.1:0");
        let config = Config::from_settings(&settings).expect("test config");
        let app = Application::build(config).await.expect("app builds");
        let address = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::new(),
            _data_dir: data_dir,
        }
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
}
