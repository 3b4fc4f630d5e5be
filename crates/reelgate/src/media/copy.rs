//! The copier: claims due copy jobs, downloads each video from Kie into a temporary file,
//! makes its poster, stores both, and records it. Between jobs it removes the files of
//! deleted videos and applies the retention policy.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{PutPayload, WriteMultipart};
use reelgate_domain::media::{MediaCopy, StoredMedia};
use reelgate_store::{queues, StoreError};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Media, MediaError};
use crate::generations::lifecycle::Lifecycle;
use crate::worker::{Claimed, Worker};

/// Retries start after this and double…
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// …up to this.
const LONGEST_RETRY: Duration = Duration::from_secs(3600);
/// After this many attempts (about a day of retrying) the copy is given up and shown to the
/// operator, who can queue it again.
const MAX_ATTEMPTS: u32 = 24;
/// Kie deletes its files after 14 days: past that, retrying cannot help.
const KIE_KEEPS_FILES: chrono::Duration = chrono::Duration::days(14);
/// Videos larger than this are refused (Kie's are a few tens of MB).
const MAX_VIDEO_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Objects up to this size are stored in one request; larger ones in parts of this size.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// How often deleted files are removed and retention applied.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// Copies the videos that are due to be copied; between copies, removes deleted videos'
/// files and applies the retention policy.
pub struct Copier {
    media: Arc<Media>,
    lifecycle: Arc<Lifecycle>,
    housekeeping_due: Mutex<Instant>,
}

impl Copier {
    pub fn new(media: Arc<Media>, lifecycle: Arc<Lifecycle>) -> Copier {
        Copier {
            media,
            lifecycle,
            housekeeping_due: Mutex::new(Instant::now()),
        }
    }

    /// True if housekeeping is due now; the next turn is then a while away.
    fn housekeeping_turn(&self) -> bool {
        let Ok(mut due) = self.housekeeping_due.lock() else {
            return false;
        };
        let now = Instant::now();
        let turn = *due <= now;
        if turn {
            *due = now + HOUSEKEEPING_EVERY;
        }
        turn
    }

    fn housekeep_on_waking(&self) {
        if let Ok(mut due) = self.housekeeping_due.lock() {
            *due = Instant::now();
        }
    }
}

impl Worker for Copier {
    type Job = MediaCopy;
    const NAME: &'static str = "media";
    const PARALLEL: usize = 4;

    async fn claim(&self, limit: u32) -> Result<Claimed<MediaCopy>, StoreError> {
        // With a backlog (the loop never idles) housekeeping still runs every so often.
        if self.housekeeping_turn() {
            housekeeping(&self.media, &self.lifecycle).await;
        }
        let claimed = self.lifecycle.store.claim(
            &queues::MEDIA_COPIES,
            limit,
            self.lifecycle.settings.claim_lease,
        );
        Ok(Claimed::Jobs(claimed.await?))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        // Idle: housekeeping runs on waking (a nudge means a video was deleted: its files go
        // now rather than within a minute).
        self.housekeep_on_waking();
        self.lifecycle.store.next_due(&queues::MEDIA_COPIES).await
    }

    fn nudge(&self) -> &Notify {
        &self.media.wake
    }

    async fn work(&self, copy: MediaCopy) {
        copy_one(&self.media, &self.lifecycle, &copy).await;
    }
}

/// When to try again after `attempts` failed attempts, or `None` to give up.
pub fn next_attempt(
    attempts: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if attempts >= MAX_ATTEMPTS || now - created_at > KIE_KEEPS_FILES {
        return None;
    }
    let delay = FIRST_RETRY
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(LONGEST_RETRY);
    Some(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX))
}

fn object_keys(copy: &MediaCopy, content_type: &str) -> (String, String) {
    let extension = match content_type {
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        _ => "mp4",
    };
    let stem = format!("videos/{}/{}", copy.generation_id, copy.index);
    (format!("{stem}.{extension}"), format!("{stem}.jpg"))
}

async fn copy_one(media: &Media, lifecycle: &Lifecycle, copy: &MediaCopy) {
    let id = &copy.generation_id;
    let temp = media
        .temp_dir
        .join(format!("{id}-{}-{}", copy.index, ulid::Ulid::new()));
    let (video_file, poster_file) = (temp.with_extension("video"), temp.with_extension("jpg"));
    // A download may outlast the claim lease: the claim is renewed while it runs, so a
    // crashed instance's copy is retaken within one lease, not after the slowest download.
    let stored = tokio::select! {
        stored = store_copy(media, copy, &video_file, &poster_file) => stored,
        never = keep_claimed(lifecycle, copy) => match never {},
    };
    for file in [&video_file, &poster_file] {
        // Missing (never written) is fine.
        let _ = tokio::fs::remove_file(file).await;
    }
    let recorded = match stored {
        Ok(stored) => match lifecycle
            .store
            .record_media_copied(id, copy.index, &stored)
            .await
        {
            Ok(true) => {
                tracing::info!(generation = %id, index = copy.index, bytes = stored.size_bytes, "video copied");
                // A webhook may be waiting for this copy.
                if let Err(error) = lifecycle.store.webhooks_ready(id.as_str()).await {
                    tracing::warn!(generation = %id, %error, "cannot tell its webhook the copy is made");
                }
                lifecycle.wake.webhooks.notify_one();
                Ok(())
            }
            Ok(false) => {
                tracing::info!(generation = %id, index = copy.index, "video deleted while it was copied");
                remove_objects(media, &stored).await;
                Ok(())
            }
            Err(error) => {
                // The lease runs out and the copy is made again; this one is left behind.
                remove_objects(media, &stored).await;
                Err(error)
            }
        },
        Err(error) => {
            let error = error.to_string();
            let retry_at = next_attempt(copy.attempts, copy.created_at, Utc::now());
            match retry_at {
                Some(at) => {
                    tracing::warn!(generation = %id, index = copy.index, %error, retry_at = %at, "video copy failed; will retry")
                }
                None => {
                    tracing::error!(generation = %id, index = copy.index, %error, attempts = copy.attempts,
                    "VIDEO COPY GAVE UP: the video stays at Kie only (see GET /v1/admin/media)")
                }
            }
            lifecycle
                .store
                .record_media_attempt_failed(id, copy.index, &error, retry_at)
                .await
                .map(drop)
        }
    };
    if let Err(error) = recorded {
        tracing::error!(generation = %id, index = copy.index, %error, "media: cannot record the copy");
    }
}

/// Renews the claim on `copy` every third of a lease, until dropped.
async fn keep_claimed(lifecycle: &Lifecycle, copy: &MediaCopy) -> std::convert::Infallible {
    let lease = lifecycle.settings.claim_lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed = lifecycle
            .store
            .extend_media_claim(&copy.generation_id, copy.index, lease)
            .await;
        if let Err(error) = renewed {
            tracing::warn!(generation = %copy.generation_id, index = copy.index, %error,
                "media: cannot renew the claim on a copy; another instance may take it over");
        }
    }
}

async fn store_copy(
    media: &Media,
    copy: &MediaCopy,
    video_file: &Path,
    poster_file: &Path,
) -> Result<StoredMedia, MediaError> {
    let (size, content_type) = download(media, &copy.source_url, video_file).await?;
    let (video_key, poster_key) = object_keys(copy, &content_type);
    let poster = match &media.posters {
        Some(posters) => match posters.first_frame(video_file, poster_file).await {
            Ok(()) => Some(poster_key),
            Err(error) => {
                tracing::warn!(generation = %copy.generation_id, %error, "no poster image for this video");
                None
            }
        },
        None => None,
    };
    upload(media, video_file, &video_key).await?;
    if let Some(key) = &poster {
        if let Err(error) = upload(media, poster_file, key).await {
            let _ = media
                .store
                .delete(&ObjectPath::from(video_key.as_str()))
                .await;
            return Err(error);
        }
    }
    Ok(StoredMedia {
        object_key: video_key,
        content_type,
        size_bytes: size,
        thumbnail_key: poster,
    })
}

/// Streams `url` into `file`; returns its size and content type.
async fn download(media: &Media, url: &str, file: &Path) -> Result<(u64, String), MediaError> {
    let response = media
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| MediaError::Download(e.without_url().to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(MediaError::Download(format!("HTTP {status}")));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .filter(|v| v.starts_with("video/"))
        .unwrap_or("video/mp4")
        .to_owned();
    let mut out = tokio::fs::File::create(file).await?;
    let mut size: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| MediaError::Download(e.without_url().to_string()))?;
        size += chunk.len() as u64;
        if size > MAX_VIDEO_BYTES {
            return Err(MediaError::Download(format!(
                "larger than {MAX_VIDEO_BYTES} bytes"
            )));
        }
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    if size == 0 {
        return Err(MediaError::Download("empty file".to_owned()));
    }
    Ok((size, content_type))
}

/// Stores a local file under `key`: in one request when small, in parts otherwise.
async fn upload(media: &Media, file: &Path, key: &str) -> Result<(), MediaError> {
    let path = ObjectPath::from(key);
    let len = tokio::fs::metadata(file).await?.len();
    if len <= PART_BYTES as u64 {
        let bytes = tokio::fs::read(file).await?;
        media.store.put(&path, PutPayload::from(bytes)).await?;
        return Ok(());
    }
    let upload = media.store.put_multipart(&path).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut input = tokio::fs::File::open(file).await?;
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let read = match input.read(&mut buffer).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                let _ = writer.abort().await;
                return Err(error.into());
            }
        };
        if let Err(error) = writer.wait_for_capacity(4).await {
            let _ = writer.abort().await;
            return Err(error.into());
        }
        writer.write(&buffer[..read]);
    }
    writer.finish().await?;
    Ok(())
}

async fn remove_objects(media: &Media, stored: &StoredMedia) {
    let keys = std::iter::once(&stored.object_key).chain(stored.thumbnail_key.as_ref());
    for key in keys {
        match media.store.delete(&ObjectPath::from(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => tracing::warn!(%key, %error, "media: cannot delete a stored file"),
        }
    }
}

/// Removes the files of deleted videos and deletes the copies retention says are too old.
async fn housekeeping(media: &Media, lifecycle: &Lifecycle) {
    if let Some(keep) = media.settings.retention {
        let before = Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        match lifecycle.store.expire_media(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                videos = n,
                "retention: deleted videos older than the policy"
            ),
            Err(error) => tracing::error!(%error, "media: cannot apply retention"),
        }
        match media.expire_inputs(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                objects = n,
                "retention: deleted kept images older than the policy"
            ),
            Err(error) => tracing::error!(%error, "media: cannot apply retention to kept images"),
        }
    }
    let deleted = match lifecycle.store.media_to_purge(100).await {
        Ok(deleted) => deleted,
        Err(error) => {
            tracing::error!(%error, "media: cannot list deleted videos");
            return;
        }
    };
    for copy in deleted {
        if let Some(stored) = &copy.stored {
            remove_objects(media, stored).await;
        }
        if let Err(error) = lifecycle
            .store
            .record_media_purged(&copy.generation_id, copy.index)
            .await
        {
            tracing::error!(%error, "media: cannot record a purge");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour_then_give_up() {
        let created = Utc::now();
        let delay = |attempts| {
            next_attempt(attempts, created, created).map(|at| (at - created).num_seconds())
        };
        assert_eq!(delay(1), Some(30));
        assert_eq!(delay(2), Some(60));
        assert_eq!(delay(5), Some(480));
        assert_eq!(delay(9), Some(3600));
        assert_eq!(delay(23), Some(3600));
        assert_eq!(delay(MAX_ATTEMPTS), None);
        let two_weeks_later = created + chrono::Duration::days(15);
        assert_eq!(next_attempt(1, created, two_weeks_later), None);
    }
}
