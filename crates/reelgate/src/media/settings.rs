//! Where videos are kept and for how long.

use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

use crate::config::{ConfigError, Settings};

#[derive(Debug, Clone)]
pub enum MediaStorage {
    /// A local directory (`REELGATE_MEDIA_DIR`, default `<data dir>/media`): one instance.
    Local { dir: PathBuf },
    /// S3-compatible object storage, shared by several instances
    /// (`REELGATE_MEDIA_S3_BUCKET` and the other `REELGATE_MEDIA_S3_*` settings).
    S3(S3Settings),
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// For S3-compatible servers other than AWS (`REELGATE_MEDIA_S3_ENDPOINT`).
    pub endpoint: Option<Url>,
    /// `REELGATE_MEDIA_S3_REGION`, default `us-east-1`.
    pub region: String,
    pub access_key_id: Option<String>,
    /// Prints as `[REDACTED]`.
    pub secret_access_key: Option<SecretString>,
    /// Keys start with this folder (`REELGATE_MEDIA_S3_PREFIX`).
    pub prefix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub storage: MediaStorage,
    /// Copies are deleted this long after they were made (`REELGATE_MEDIA_RETENTION_DAYS`;
    /// unset keeps them forever; 0 is refused at start).
    pub retention: Option<Duration>,
    /// How long a signed video link works (`REELGATE_MEDIA_LINK_TTL_SECS`, default 86400).
    pub link_ttl: Duration,
    /// The ffmpeg that makes posters (`REELGATE_FFMPEG`, default `ffmpeg` on the PATH;
    /// `off` for none).
    pub ffmpeg: Option<PathBuf>,
}

const DAY: Duration = Duration::from_secs(86_400);

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl MediaSettings {
    /// The defaults: a local directory in `data_dir`, kept forever.
    pub fn local(data_dir: &Path) -> Self {
        MediaSettings {
            storage: MediaStorage::Local {
                dir: data_dir.join("media"),
            },
            retention: None,
            link_ttl: DAY,
            ffmpeg: Some(PathBuf::from("ffmpeg")),
        }
    }

    pub fn from_settings(settings: &Settings, data_dir: &Path) -> Result<Self, ConfigError> {
        let defaults = MediaSettings::local(data_dir);
        let storage = match settings.get("REELGATE_MEDIA_S3_BUCKET") {
            Some(bucket) => MediaStorage::S3(S3Settings {
                bucket: bucket.trim().to_owned(),
                endpoint: settings
                    .get("REELGATE_MEDIA_S3_ENDPOINT")
                    .map(|raw| {
                        Url::parse(raw.trim())
                            .ok()
                            .filter(|u| matches!(u.scheme(), "http" | "https"))
                            .ok_or_else(|| {
                                invalid(
                                    "REELGATE_MEDIA_S3_ENDPOINT",
                                    format!("{raw:?}: must be an http(s) URL"),
                                )
                            })
                    })
                    .transpose()?,
                region: settings
                    .get("REELGATE_MEDIA_S3_REGION")
                    .unwrap_or("us-east-1")
                    .trim()
                    .to_owned(),
                access_key_id: settings
                    .get("REELGATE_MEDIA_S3_ACCESS_KEY_ID")
                    .map(|k| k.trim().to_owned()),
                secret_access_key: settings
                    .get("REELGATE_MEDIA_S3_SECRET_ACCESS_KEY")
                    .map(|k| SecretString::from(k.trim().to_owned())),
                prefix: settings
                    .get("REELGATE_MEDIA_S3_PREFIX")
                    .map(|p| p.trim_matches('/').to_owned())
                    .filter(|p| !p.is_empty()),
            }),
            None => MediaStorage::Local {
                dir: settings
                    .get("REELGATE_MEDIA_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("media")),
            },
        };
        let retention = match settings.parse::<u64>("REELGATE_MEDIA_RETENTION_DAYS")? {
            // Zero read as "keep for ever" would surprise whoever meant "keep nothing", and
            // "delete at once" would lose every video: neither is a guess to make.
            Some(0) => {
                return Err(invalid(
                    "REELGATE_MEDIA_RETENTION_DAYS",
                    "must be at least 1 (leave it unset to keep copies for ever)",
                ))
            }
            Some(days) => Some(DAY.saturating_mul(u32::try_from(days).unwrap_or(u32::MAX))),
            None => None,
        };
        let link_ttl = match settings.parse::<u64>("REELGATE_MEDIA_LINK_TTL_SECS")? {
            Some(0) => {
                return Err(invalid(
                    "REELGATE_MEDIA_LINK_TTL_SECS",
                    "must be at least 1",
                ))
            }
            Some(secs) => Duration::from_secs(secs),
            None => defaults.link_ttl,
        };
        let ffmpeg = match settings.get("REELGATE_FFMPEG").map(str::trim) {
            Some("off" | "none" | "false") => None,
            Some(path) => Some(PathBuf::from(path)),
            None => defaults.ffmpeg,
        };
        Ok(MediaSettings {
            storage,
            retention,
            link_ttl,
            ffmpeg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_storage_in_the_data_dir_kept_forever_by_default() {
        let s =
            MediaSettings::from_settings(&Settings::default(), Path::new("/srv/reelgate")).unwrap();
        assert!(
            matches!(&s.storage, MediaStorage::Local { dir } if dir == Path::new("/srv/reelgate/media"))
        );
        assert_eq!(s.retention, None);
        assert_eq!(s.link_ttl, DAY);
    }

    #[test]
    fn a_bucket_selects_s3_whose_secret_never_prints() {
        let s = MediaSettings::from_settings(
            &Settings::default()
                .with("REELGATE_MEDIA_S3_BUCKET", "videos")
                .with("REELGATE_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9000")
                .with("REELGATE_MEDIA_S3_SECRET_ACCESS_KEY", "s3-secret-123")
                .with("REELGATE_MEDIA_RETENTION_DAYS", "30"),
            Path::new("data"),
        )
        .unwrap();
        let MediaStorage::S3(s3) = &s.storage else {
            panic!("expected S3");
        };
        assert_eq!(s3.bucket, "videos");
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s.retention, Some(DAY * 30));
        assert!(!format!("{s:?}").contains("s3-secret-123"));
        let err = MediaSettings::from_settings(
            &Settings::default()
                .with("REELGATE_MEDIA_S3_BUCKET", "v")
                .with("REELGATE_MEDIA_S3_ENDPOINT", "s3://x"),
            Path::new("data"),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("REELGATE_MEDIA_S3_ENDPOINT"),
            "{err}"
        );
    }
}
