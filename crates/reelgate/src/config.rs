//! Configuration from the environment, optionally layered over a TOML file with the same keys.
//!
//! Every setting of the README's "Configuration" is read here and nowhere else; a bad value stops start-up with
//! an error that names the setting.

use reelgate_store::DatabaseUrl;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/reelgate.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_KIE_BASE_URL: &str = "https://api.kie.ai";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error("config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{setting}: cannot use the secret file {path}: {source}")]
    SecretFile {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// Where generations are bought: Kie AI itself, or the built-in simulator when no key is set.
// Built once at start and never moved about: the larger variant costs nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Upstream {
    Kie {
        base_url: Url,
        /// Kie's file upload host (`REELGATE_KIE_UPLOAD_URL`, default Kie's).
        upload_url: Option<Url>,
        /// The first (with `REELGATE_KIE_API_KEY`, the only) key.
        api_key: SecretString,
        /// The other keys of `REELGATE_KIE_API_KEYS`, each its own Kie account.
        more_keys: Vec<SecretString>,
    },
    /// The built-in simulator, with its settings (demo-like by default; tests change them).
    Simulator(Box<kie_sim::SimConfig>),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Prints without its password.
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    /// The URL at which Kie AI reaches us; callback URLs are built on it.
    pub public_url: Url,
    pub upstream: Upstream,
    pub pricing_file: Option<PathBuf>,
    pub secret: SecretString,
    /// Kie's webhook HMAC key (`REELGATE_KIE_WEBHOOK_KEY`): callbacks must then carry Kie's
    /// valid signature as well as reelgate's own token.
    pub kie_webhook_key: Option<SecretString>,
    /// Where the SQLite file, the generated secret and other local state live.
    pub data_dir: PathBuf,
    /// Credits granted to each customer who signs up on the web (`REELGATE_SIGNUP_BONUS`).
    pub signup_bonus: reelgate_domain::Credits,
    /// Rate limits, polling and waits of the generation lifecycle.
    pub lifecycle: crate::generations::settings::LifecycleSettings,
    /// Watching the Kie balance, and whom to warn.
    pub guard: crate::balance_guard::GuardSettings,
    /// Where reelgate keeps its copies of the videos.
    pub media: crate::media::MediaSettings,
    /// Outgoing mail: the SMTP server (or none: the outbox), the sender, retries.
    pub mail: crate::mail::MailSettings,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` is believed
    /// (`REELGATE_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// How long a request, its body included, may take before it is answered 408
    /// (`REELGATE_REQUEST_TIMEOUT_SECS`).
    pub request_timeout: std::time::Duration,
    /// Stripe and iyzico, each on when its keys are set; neither: the demo provider.
    pub payments: crate::payments::settings::PaymentSettings,
}

/// A slow client cannot hold a connection and a task longer than this by default.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

/// The raw settings, before parsing: environment over file.
#[derive(Debug, Default, Clone)]
pub struct Settings(HashMap<String, String>);

impl Settings {
    /// The process environment, layered over the file named by `REELGATE_CONFIG` (if any).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut settings = match std::env::var_os("REELGATE_CONFIG") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Self::default(),
        };
        for (key, value) in std::env::vars() {
            if key.starts_with("REELGATE_") {
                settings.0.insert(key, value);
            }
        }
        Ok(settings)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let file_error = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        let mut map = HashMap::new();
        for (key, value) in table {
            let value = match value {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            map.insert(key.to_ascii_uppercase(), value);
        }
        Ok(Self(map))
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        setting: &'static str,
    ) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(setting)
            .map(|raw| {
                raw.trim()
                    .parse::<T>()
                    .map_err(|e| invalid(setting, format!("{raw:?}: {e}")))
            })
            .transpose()
    }
}

/// `REELGATE_KIE_API_KEY` (one key) or `REELGATE_KIE_API_KEYS` (several, comma-separated),
/// not both: which one counts would be a guess. `None`: neither, the built-in simulator.
fn kie_keys(settings: &Settings) -> Result<Option<(SecretString, Vec<SecretString>)>, ConfigError> {
    let (one, several) = (
        settings.get("REELGATE_KIE_API_KEY"),
        settings.get("REELGATE_KIE_API_KEYS"),
    );
    let raw = match (one, several) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "REELGATE_KIE_API_KEYS",
                "set either REELGATE_KIE_API_KEY (one key) or REELGATE_KIE_API_KEYS (several), not both",
            ))
        }
        (Some(key), None) => return Ok(Some((SecretString::from(key.to_owned()), Vec::new()))),
        (None, Some(keys)) => keys,
        (None, None) => return Ok(None),
    };
    let mut keys: Vec<&str> = Vec::new();
    for (n, key) in raw.split(',').map(str::trim).enumerate() {
        // The message names the key's place in the list, never the key.
        if key.is_empty() {
            return Err(invalid(
                "REELGATE_KIE_API_KEYS",
                format!("key number {} is empty", n + 1),
            ));
        }
        if keys.contains(&key) {
            return Err(invalid(
                "REELGATE_KIE_API_KEYS",
                format!("key number {} repeats an earlier one", n + 1),
            ));
        }
        keys.push(key);
    }
    let mut keys = keys.into_iter().map(|k| SecretString::from(k.to_owned()));
    Ok(keys.next().map(|first| (first, keys.collect())))
}

impl Config {
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_settings(&Settings::from_env()?)
    }

    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let database_url = DatabaseUrl::parse(
            settings
                .get("REELGATE_DATABASE_URL")
                .unwrap_or(DEFAULT_DATABASE_URL),
        )
        .map_err(|e| invalid("REELGATE_DATABASE_URL", e.to_string()))?;
        let data_dir = data_dir_for(&database_url);
        let listen: SocketAddr = settings
            .parse("REELGATE_LISTEN")?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = match settings.get("REELGATE_PUBLIC_URL") {
            Some(raw) => parse_http_url("REELGATE_PUBLIC_URL", raw)?,
            None => parse_http_url("REELGATE_LISTEN", &format!("http://{listen}"))?,
        };
        let kie_webhook_key = match settings.get("REELGATE_KIE_WEBHOOK_KEY") {
            Some(key) if key.trim().is_empty() => {
                return Err(invalid("REELGATE_KIE_WEBHOOK_KEY", "must not be empty"))
            }
            Some(key) => Some(SecretString::from(key.trim().to_owned())),
            None => None,
        };
        let upstream = match kie_keys(settings)? {
            Some((api_key, more_keys)) => Upstream::Kie {
                base_url: parse_http_url(
                    "REELGATE_KIE_BASE_URL",
                    settings
                        .get("REELGATE_KIE_BASE_URL")
                        .unwrap_or(DEFAULT_KIE_BASE_URL),
                )?,
                upload_url: settings
                    .get("REELGATE_KIE_UPLOAD_URL")
                    .map(|raw| parse_http_url("REELGATE_KIE_UPLOAD_URL", raw))
                    .transpose()?,
                api_key,
                more_keys,
            },
            // The built-in simulator signs its callbacks with the same key, as Kie would.
            None => Upstream::Simulator(Box::new(kie_sim::SimConfig {
                webhook_key: kie_webhook_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned()),
                ..kie_sim::SimConfig::default()
            })),
        };
        let pricing_file = settings.get("REELGATE_PRICING_FILE").map(PathBuf::from);
        let secret = match settings.get("REELGATE_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err(invalid("REELGATE_SECRET", "must be at least 32 characters"))
            }
            Some(secret) => SecretString::from(secret.to_owned()),
            None => stored_secret(&data_dir)?,
        };
        let mail = crate::mail::MailSettings::from_settings(settings, &public_url)?;
        let payments = crate::payments::settings::PaymentSettings::from_settings(settings)?;
        Ok(Config {
            payments,
            database_url,
            listen,
            public_url,
            upstream,
            pricing_file,
            secret,
            kie_webhook_key,
            signup_bonus: reelgate_domain::Credits::new(
                settings
                    .parse::<u32>("REELGATE_SIGNUP_BONUS")?
                    .unwrap_or(0)
                    .into(),
            ),
            lifecycle: crate::generations::settings::LifecycleSettings::from_settings(settings)?,
            guard: crate::balance_guard::GuardSettings::from_settings(settings)?,
            media: crate::media::MediaSettings::from_settings(settings, &data_dir)?,
            mail,
            trusted_proxies: crate::client_addr::TrustedProxies::parse(
                settings.get("REELGATE_TRUSTED_PROXIES").unwrap_or(""),
            )
            .map_err(|reason| invalid("REELGATE_TRUSTED_PROXIES", reason))?,
            request_timeout: match settings.parse::<u64>("REELGATE_REQUEST_TIMEOUT_SECS")? {
                // Zero would answer every request 408 before it is read.
                Some(0) => {
                    return Err(invalid(
                        "REELGATE_REQUEST_TIMEOUT_SECS",
                        "must be at least 1",
                    ))
                }
                Some(secs) => std::time::Duration::from_secs(secs),
                None => std::time::Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            },
            data_dir,
        })
    }
}

pub(crate) fn parse_http_url(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| invalid(setting, format!("{raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(setting, format!("{raw:?}: must be an http(s) URL")));
    }
    Ok(url)
}

/// The SQLite file's folder, or `./data` for a server database.
fn data_dir_for(database_url: &DatabaseUrl) -> PathBuf {
    match database_url {
        DatabaseUrl::Sqlite { path } => match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        },
        DatabaseUrl::Postgres { .. } => PathBuf::from("data"),
    }
}

/// With no `REELGATE_SECRET`, one is generated on first start and kept in the data dir, so
/// sessions and callback tokens survive restarts.
fn stored_secret(data_dir: &Path) -> Result<SecretString, ConfigError> {
    let path = data_dir.join("secret");
    let file_error = |source| ConfigError::SecretFile {
        setting: "REELGATE_SECRET",
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => {
            return Ok(SecretString::from(secret.trim().to_owned()))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(file_error)?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &secret).map_err(file_error)?;
    Ok(SecretString::from(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn temp_settings(dir: &tempfile::TempDir) -> Settings {
        Settings::default().with(
            "REELGATE_DATABASE_URL",
            format!("sqlite://{}/reelgate.db", dir.path().display()),
        )
    }

    #[test]
    fn defaults_match_the_product_contract() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_settings(&temp_settings(&dir)).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(matches!(config.upstream, Upstream::Simulator(_)));
        assert_eq!(config.data_dir, dir.path());
    }

    #[test]
    fn generated_secret_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let first = Config::from_settings(&temp_settings(&dir)).unwrap();
        let second = Config::from_settings(&temp_settings(&dir)).unwrap();
        assert_eq!(first.secret.expose_secret(), second.secret.expose_secret());
        assert!(first.secret.expose_secret().len() >= 32);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::from_settings(&temp_settings(&dir).with("REELGATE_LISTEN", "nowhere"))
            .unwrap_err();
        assert!(err.to_string().starts_with("REELGATE_LISTEN:"), "{err}");
        let err =
            Config::from_settings(&Settings::default().with("REELGATE_DATABASE_URL", "mysql://x"))
                .unwrap_err();
        assert!(
            err.to_string().starts_with("REELGATE_DATABASE_URL:"),
            "{err}"
        );
        let err =
            Config::from_settings(&temp_settings(&dir).with("REELGATE_PUBLIC_URL", "ftp://x"))
                .unwrap_err();
        assert!(err.to_string().starts_with("REELGATE_PUBLIC_URL:"), "{err}");
        for zero in [
            "REELGATE_UPSTREAM_TIMEOUT_MS",
            "REELGATE_MEDIA_RETENTION_DAYS",
            "REELGATE_REQUEST_TIMEOUT_SECS",
        ] {
            let err = Config::from_settings(&temp_settings(&dir).with(zero, "0")).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{zero}:")), "{err}");
        }
        let err = Config::from_settings(
            &temp_settings(&dir).with("REELGATE_TRUSTED_PROXIES", "10.0.0.1, caddy"),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("REELGATE_TRUSTED_PROXIES:"),
            "{err}"
        );
    }

    #[test]
    fn a_kie_key_selects_the_real_upstream_and_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_settings(
            &temp_settings(&dir).with("REELGATE_KIE_API_KEY", "kie-secret-key-123"),
        )
        .unwrap();
        assert!(matches!(config.upstream, Upstream::Kie { .. }));
        assert!(!format!("{config:?}").contains("kie-secret-key-123"));
    }

    #[test]
    fn several_kie_keys_are_read_in_order_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_settings(
            &temp_settings(&dir).with("REELGATE_KIE_API_KEYS", " key-one-aaa , key-two-bbb "),
        )
        .unwrap();
        let Upstream::Kie {
            api_key, more_keys, ..
        } = &config.upstream
        else {
            panic!("several keys select the real upstream");
        };
        use secrecy::ExposeSecret;
        assert_eq!(api_key.expose_secret(), "key-one-aaa");
        let more: Vec<&str> = more_keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(more, ["key-two-bbb"]);
        let printed = format!("{config:?}");
        assert!(!printed.contains("key-one-aaa") && !printed.contains("key-two-bbb"));
    }

    #[test]
    fn kie_keys_refused_when_both_forms_are_set_or_one_is_empty_or_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let error = |settings: Settings| {
            Config::from_settings(&settings)
                .map(drop)
                .unwrap_err()
                .to_string()
        };
        let both = error(
            temp_settings(&dir)
                .with("REELGATE_KIE_API_KEY", "key-one-aaa")
                .with("REELGATE_KIE_API_KEYS", "key-two-bbb"),
        );
        assert!(
            both.contains("REELGATE_KIE_API_KEYS") && both.contains("not both"),
            "{both}"
        );
        let empty = error(temp_settings(&dir).with("REELGATE_KIE_API_KEYS", "key-one-aaa,,x"));
        assert!(empty.contains("key number 2 is empty"), "{empty}");
        let repeated =
            error(temp_settings(&dir).with("REELGATE_KIE_API_KEYS", "key-one-aaa,key-one-aaa"));
        assert!(repeated.contains("key number 2 repeats"), "{repeated}");
        assert!(!repeated.contains("key-one-aaa"), "{repeated}");
    }
}
