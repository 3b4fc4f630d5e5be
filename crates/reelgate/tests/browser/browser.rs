//! Headless Chromium driven over WebDriver: a `chromedriver` started on a free port, one
//! Chromium session with a fresh profile, and the waits the scenarios need. Missing binaries
//! fail the test with a message saying what to install; nothing is skipped silently.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any wait may take before the test fails (generous: CI machines are slow).
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find_binary(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

/// `target/screenshots`, so that a test run leaves the work tree clean; or the directory named
/// by `REELGATE_SCREENSHOT_DIR` (relative to the workspace root), e.g. `docs/screenshots` to
/// refresh the README's pictures.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("REELGATE_SCREENSHOT_DIR") {
        Some(dir) => reelgate_store::testing::workspace_root().join(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that loads pages from `base`.
    pub async fn start(base: &str) -> Browser {
        let driver_path = find_binary("CHROMEDRIVER", &["chromedriver"]).unwrap_or_else(|| {
            panic!(
                "chromedriver not found: install it (`apt-get install -y chromium chromium-driver`) \
                 or set CHROMEDRIVER to its path. The browser tests do not skip themselves."
            )
        });
        let chromium = find_binary(
            "CHROMIUM",
            &[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ],
        )
        .unwrap_or_else(|| {
            panic!(
                "Chromium not found: install it (`apt-get install -y chromium chromium-driver`) \
                 or set CHROMIUM to its path. The browser tests do not skip themselves."
            )
        });
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_path.display()));
        let profile = tempfile::tempdir().expect("a temporary Chromium profile");
        let client = connect(port, &chromium, profile.path()).await;
        client
            .set_window_size(1280, 900)
            .await
            .expect("window size");
        Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            _profile: profile,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits for an element to exist.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.describe().await),
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.retrying(css, || async {
            let field = self.find(css).await;
            field.clear().await?;
            field.send_keys(text).await
        })
        .await;
    }

    pub async fn click(&self, css: &str) {
        self.retrying(css, || async {
            let element = self.find(css).await;
            // Into view first: a click on a covered element fails.
            self.client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&element).expect("element reference")],
                )
                .await?;
            element.click().await
        })
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.retrying(css, || async { self.find(css).await.text().await })
            .await
    }

    /// Runs an action on an element again when the page replaced the element meanwhile (a
    /// navigation finishing, a live card being swapped).
    async fn retrying<T, F, Fut>(&self, css: &str, mut action: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            match action().await {
                Ok(value) => return value,
                Err(error) if is_stale(&error) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{css}: {error} on {}", self.describe().await),
            }
        }
    }

    /// Runs `script` (a function body that returns a value) in the page.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `check` holds, re-evaluating it; fails with `what` after [`WAIT`].
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + WAIT;
        while !check().await {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting until {what} on {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element's whole text, trimmed, is `expected`: for numbers and other
    /// values a containment check would pass wrongly (a balance of 10 for "0", 155 for "55").
    pub async fn wait_for_exact_text(&self, css: &str, expected: &str) {
        self.wait_until(&format!("{css} reads exactly {expected:?}"), || async {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.is_ok_and(|t| t.trim() == expected),
                Err(_) => false,
            }
        })
        .await
    }

    /// Waits until the elements matching `css`, in page order, read exactly `expected` (each
    /// one's whole text, trimmed).
    pub async fn wait_for_texts(&self, css: &str, expected: &[&str]) {
        let script =
            format!("return [...document.querySelectorAll({css:?})].map(e => e.innerText.trim());");
        self.wait_until(&format!("{css} read exactly {expected:?}"), || async {
            self.eval(&script).await == serde_json::json!(expected)
        })
        .await
    }

    /// Waits until the element's text contains `needle`: for sentences, whose words a test
    /// names without repeating the whole text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) {
        self.wait_until(&format!("{css} shows {needle:?}"), || async {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.is_ok_and(|t| t.contains(needle)),
                Err(_) => false,
            }
        })
        .await
    }

    pub async fn wait_for_path(&self, prefix: &str) {
        self.wait_until(&format!("the page is {prefix}"), || async {
            self.path().await.starts_with(prefix)
        })
        .await
    }

    /// A full-page screenshot at desktop width into [`screenshot_dir`]`/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        self.screenshot_at(name, 1280, false).await;
    }

    /// A full-page screenshot with the viewport `width` wide (`mobile`: as a phone renders
    /// it), into [`screenshot_dir`]`/<name>.png`.
    pub async fn screenshot_at(&self, name: &str, width: u32, mobile: bool) {
        let metrics = |height: u64| {
            serde_json::json!({"width": width, "height": height,
                "deviceScaleFactor": 1, "mobile": mobile})
        };
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(900))
            .await;
        self.eval("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); return true;")
            .await;
        let height = self
            .eval("return Math.ceil(document.documentElement.scrollHeight);")
            .await
            .as_u64()
            .unwrap_or(900)
            .clamp(600, 5000);
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(height))
            .await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// A Chrome DevTools command, through chromedriver.
    async fn cdp(&self, cmd: &'static str, params: serde_json::Value) {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"));
    }

    async fn describe(&self) -> String {
        let path = self.path().await;
        let body = self
            .client
            .execute(
                "return document.body ? document.body.innerText.slice(0, 600) : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{path}\n--- page text ---\n{body}\n---")
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

async fn connect(port: u16, chromium: &Path, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                "--lang=en-US", "--window-size=1280,900", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": "en-US,en" },
        }),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + WAIT;
    // chromedriver takes a moment to listen; retry until it answers.
    loop {
        let attempt = ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await;
        match attempt {
            Ok(client) => return client,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("cannot start a Chromium session via chromedriver: {error}"),
        }
    }
}

/// chromedriver's endpoint for Chrome DevTools Protocol commands.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

fn is_stale(error: &fantoccini::error::CmdError) -> bool {
    matches!(
        error,
        fantoccini::error::CmdError::Standard(e)
            if e.error == fantoccini::error::ErrorStatus::StaleElementReference
    )
}
