//! Mail settings: `REELGATE_SMTP_URL`, `REELGATE_MAIL_FROM`, and whether a customer must
//! confirm their address before generating (`REELGATE_REQUIRE_VERIFIED_EMAIL`).

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

use crate::config::{ConfigError, Settings};

/// The SMTP server, as `REELGATE_SMTP_URL` names it. Kept secret: it may carry a password.
#[derive(Clone)]
pub struct SmtpUrl(SecretString);

impl SmtpUrl {
    /// `smtps://user:pass@host:465` (TLS from the first byte), `smtp://…:587?tls=required`
    /// (STARTTLS, refused without it), `smtp://host:port` (plain, for a relay on this host).
    pub fn parse(raw: &str) -> Result<SmtpUrl, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match (url.scheme(), tls.as_deref()) {
            ("smtps", None) | ("smtp", None | Some("required" | "opportunistic")) => {}
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "tls={other:?}: must be tls=required (STARTTLS) or tls=opportunistic"
                ))
            }
            (scheme, _) => {
                return Err(format!("scheme {scheme:?}: must be smtp:// or smtps://"));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("names no host".into());
        }
        Ok(SmtpUrl(SecretString::from(raw.trim().to_owned())))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// How the connection is protected, for the log and the operator page.
    pub fn security(&self) -> &'static str {
        match Url::parse(self.expose()) {
            Ok(url) if url.scheme() == "smtps" => "TLS",
            Ok(url)
                if url
                    .query_pairs()
                    .any(|(k, v)| k == "tls" && v == "required") =>
            {
                "STARTTLS"
            }
            Ok(url) if url.query_pairs().any(|(k, _)| k == "tls") => "STARTTLS if offered",
            _ => "plain",
        }
    }

    /// `host:port`, without credentials.
    pub fn server(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(url) => format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port()
                    .map_or_else(|| "default".to_owned(), |p| p.to_string())
            ),
            Err(_) => "?".into(),
        }
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpUrl({} {}, credentials redacted)",
            self.security(),
            self.server()
        )
    }
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: mail stays in the outbox, where the operator's page shows it.
    pub smtp: Option<SmtpUrl>,
    pub from: Mailbox,
    /// Customers must confirm their address before they can generate.
    pub require_verified_email: bool,
    /// Waits between attempts at one mail; the last one repeats. Tests shorten them.
    pub backoff: Vec<Duration>,
    /// A mail still not sent this long after it was queued is given up (a reset link in it
    /// would have expired long before).
    pub keep_trying_for: Duration,
    /// The longest the mail server gets to take one mail.
    pub timeout: Duration,
}

const BACKOFF: [u64; 8] = [10, 30, 60, 300, 900, 1800, 3600, 7200];

impl MailSettings {
    pub fn from_settings(settings: &Settings, public_url: &Url) -> Result<Self, ConfigError> {
        let invalid =
            |setting: &'static str, reason: String| ConfigError::Invalid { setting, reason };
        let smtp = settings
            .get("REELGATE_SMTP_URL")
            .map(|raw| SmtpUrl::parse(raw).map_err(|e| invalid("REELGATE_SMTP_URL", e)))
            .transpose()?;
        let from = match settings.get("REELGATE_MAIL_FROM") {
            Some(raw) => raw.trim().parse::<Mailbox>().map_err(|e| {
                invalid(
                    "REELGATE_MAIL_FROM",
                    format!("{raw:?}: not a mail address: {e}"),
                )
            })?,
            None => {
                let host = public_url.host_str().unwrap_or("localhost");
                format!("reelgate <reelgate@{host}>")
                    .parse::<Mailbox>()
                    .map_err(|e| {
                        invalid(
                            "REELGATE_MAIL_FROM",
                            format!("unset, and reelgate@{host} is not a mail address: {e}"),
                        )
                    })?
            }
        };
        Ok(MailSettings {
            smtp,
            from,
            require_verified_email: settings
                .parse::<bool>("REELGATE_REQUIRE_VERIFIED_EMAIL")?
                .unwrap_or(false),
            backoff: BACKOFF.iter().map(|s| Duration::from_secs(*s)).collect(),
            keep_trying_for: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(30),
        })
    }

    /// The wait after the `attempts`-th failed attempt.
    pub fn wait_after(&self, attempts: u32) -> Duration {
        let index = (attempts.saturating_sub(1) as usize).min(self.backoff.len().saturating_sub(1));
        self.backoff
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public() -> Url {
        Url::parse("https://videos.example.com/").unwrap()
    }

    #[test]
    fn the_three_documented_forms_are_accepted() {
        let tls = SmtpUrl::parse("smtps://user:pass@mail.example.com:465").unwrap();
        assert_eq!(tls.security(), "TLS");
        let starttls =
            SmtpUrl::parse("smtp://user:pass@mail.example.com:587?tls=required").unwrap();
        assert_eq!(starttls.security(), "STARTTLS");
        let plain = SmtpUrl::parse("smtp://127.0.0.1:25").unwrap();
        assert_eq!(plain.security(), "plain");
        assert_eq!(plain.server(), "127.0.0.1:25");
    }

    #[test]
    fn other_urls_are_refused_naming_the_problem() {
        assert!(SmtpUrl::parse("http://mail.example.com")
            .unwrap_err()
            .contains("scheme"));
        assert!(SmtpUrl::parse("smtp://mail.example.com?tls=maybe")
            .unwrap_err()
            .contains("tls"));
        assert!(SmtpUrl::parse("not a url").is_err());
    }

    #[test]
    fn the_password_never_prints() {
        let url = SmtpUrl::parse("smtps://user:hunter2@mail.example.com:465").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn the_sender_defaults_to_the_public_host() {
        let settings = MailSettings::from_settings(&Settings::default(), &public()).unwrap();
        assert_eq!(
            settings.from.email.to_string(),
            "reelgate@videos.example.com"
        );
        assert!(settings.smtp.is_none());
        let err = MailSettings::from_settings(
            &Settings::default().with("REELGATE_MAIL_FROM", "not an address"),
            &public(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("REELGATE_MAIL_FROM:"), "{err}");
        let err = MailSettings::from_settings(
            &Settings::default().with("REELGATE_SMTP_URL", "ftp://x"),
            &public(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("REELGATE_SMTP_URL:"), "{err}");
    }

    #[test]
    fn backoff_repeats_its_last_wait() {
        let settings = MailSettings::from_settings(&Settings::default(), &public()).unwrap();
        assert_eq!(settings.wait_after(1), Duration::from_secs(10));
        assert_eq!(settings.wait_after(100), Duration::from_secs(7200));
    }
}
