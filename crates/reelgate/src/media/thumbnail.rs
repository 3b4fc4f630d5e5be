//! Posters: the first frame of a video as a JPEG, made by ffmpeg when it is installed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

const FFMPEG_TIMEOUT: Duration = Duration::from_secs(60);
/// Wide enough for a gallery card, small enough to load fast.
const MAX_WIDTH: u32 = 640;

/// Whether `ffmpeg` runs at all (`ffmpeg -version`).
pub async fn available(ffmpeg: &Path) -> bool {
    let run = Command::new(ffmpeg)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(
        tokio::time::timeout(Duration::from_secs(10), run).await,
        Ok(Ok(status)) if status.success()
    )
}

/// Writes the first frame of `video` to `poster` (JPEG).
pub async fn first_frame(ffmpeg: &Path, video: &Path, poster: &Path) -> Result<(), String> {
    let scale = format!("scale='min({MAX_WIDTH},iw)':-2");
    let run = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-vf", &scale, "-q:v", "4", "-f", "image2"])
        .arg(poster)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(FFMPEG_TIMEOUT, run)
        .await
        .map_err(|_| format!("ffmpeg took more than {} s", FFMPEG_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "ffmpeg failed ({}): {}",
            output.status,
            said.trim()
        ));
    }
    match tokio::fs::metadata(poster).await {
        Ok(meta) if meta.len() > 0 => Ok(()),
        _ => Err("ffmpeg wrote no image".to_owned()),
    }
}
