//! Keeping the videos: Kie deletes its files after 14 days, so after a success each video is
//! copied into reelgate's own storage (a local directory, or S3-compatible object storage for
//! several instances), with a poster image when ffmpeg is installed, and served from there to
//! its owner with byte ranges.
//!
//! Copying is a background job per video (`copy.rs`), queued in the same transaction as the
//! success; a copy that fails is retried with backoff and, in the end, shown to the operator.
//! It never fails the generation: until it is copied, the generation shows Kie's URL.

pub mod copy;
pub mod inputs;
pub mod links;
pub mod present;
mod requests;
pub mod settings;
mod storage;
pub mod thumbnail;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

pub use links::{Asset, LinkError, MediaLinks};
pub use settings::{MediaSettings, MediaStorage, S3Settings};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot create the media directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("media storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
    #[error("download: {0}")]
    Download(String),
}

/// reelgate's media storage and what serves it. One per process.
pub struct Media {
    store: Arc<dyn ObjectStore>,
    described: String,
    pub links: MediaLinks,
    pub settings: MediaSettings,
    /// ffmpeg, when it runs here.
    posters: Option<thumbnail::Posters>,
    /// Downloads land here before they are stored (and before ffmpeg reads them).
    temp_dir: PathBuf,
    http: reqwest::Client,
    /// Wakes the copier (a video was deleted and its files should go).
    pub wake: Notify,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("storage", &self.described)
            .field("thumbnails", &self.posters.is_some())
            .finish_non_exhaustive()
    }
}

/// Kie's files are big, and its CDN can be slow; a copy may take this long.
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Media {
    /// Opens the storage and looks for ffmpeg.
    pub async fn open(
        settings: MediaSettings,
        links: MediaLinks,
        data_dir: &Path,
    ) -> Result<Arc<Self>, MediaError> {
        let (store, described) = storage::open(&settings.storage)?;
        let posters = match &settings.ffmpeg {
            Some(path) => {
                let found = thumbnail::Posters::find(path).await;
                if found.is_none() {
                    tracing::info!(ffmpeg = %path.display(), "ffmpeg not found: videos get no poster images");
                }
                found
            }
            None => None,
        };
        let temp_dir = data_dir.join("tmp").join("media");
        std::fs::create_dir_all(&temp_dir).map_err(|source| MediaError::Directory {
            path: temp_dir.display().to_string(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(DOWNLOAD_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| MediaError::Download(e.to_string()))?;
        tracing::info!(storage = %described, thumbnails = posters.is_some(), "videos are kept in reelgate's own storage");
        Ok(Arc::new(Media {
            store,
            described,
            links,
            settings,
            posters,
            temp_dir,
            http,
            wake: Notify::new(),
        }))
    }

    /// Where the videos are kept, in words for the operator.
    pub fn describe(&self) -> &str {
        &self.described
    }

    pub fn makes_thumbnails(&self) -> bool {
        self.posters.is_some()
    }

    /// The stored object's size in bytes.
    pub async fn size(&self, key: &str) -> Result<u64, MediaError> {
        Ok(self.store.head(&ObjectPath::from(key)).await?.size)
    }

    /// The bytes `first..=last` of a stored object (all of it with `None`), as a stream.
    pub async fn read(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<BoxStream<'static, Result<Bytes, MediaError>>, MediaError> {
        let options = GetOptions {
            range: range.map(|(first, last)| GetRange::Bounded(first..last + 1)),
            ..GetOptions::default()
        };
        let found = self.store.get_opts(&ObjectPath::from(key), options).await?;
        Ok(found
            .into_stream()
            .map(|chunk| chunk.map_err(MediaError::from))
            .boxed())
    }
}
