//! Posters: the first frame of a video as a JPEG, made by ffmpeg when it is installed.
//!
//! A burst of finished generations means a burst of ffmpeg runs, and each one costs several
//! times the CPU of settling the generation it belongs to. So posters are made one per two
//! cores at most, by a single-threaded ffmpeg at the lowest CPU priority (through `nice`
//! when it is installed): settlements, callbacks and the API never wait behind them; a
//! poster waits instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::Semaphore;

const FFMPEG_TIMEOUT: Duration = Duration::from_secs(60);
/// Wide enough for a gallery card, small enough to load fast.
const MAX_WIDTH: u32 = 640;

/// Whether `ffmpeg` runs at all (`ffmpeg -version`).
async fn available(ffmpeg: &Path) -> bool {
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

/// Where `nice` is, if it is installed (coreutils puts it in one of these).
fn find_nice() -> Option<PathBuf> {
    ["/usr/bin/nice", "/bin/nice"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Makes posters with a working ffmpeg, a bounded number at a time.
#[derive(Debug)]
pub struct Posters {
    ffmpeg: PathBuf,
    nice: Option<PathBuf>,
    slots: Semaphore,
}

impl Posters {
    /// `ffmpeg` if it runs here, else `None` (videos then get no posters).
    pub async fn find(ffmpeg: &Path) -> Option<Posters> {
        if !available(ffmpeg).await {
            return None;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Some(Posters {
            ffmpeg: ffmpeg.to_owned(),
            nice: find_nice(),
            slots: Semaphore::new((cores / 2).max(1)),
        })
    }

    /// Writes the first frame of `video` to `poster` (JPEG), waiting for a slot first.
    pub async fn first_frame(&self, video: &Path, poster: &Path) -> Result<(), String> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| "the poster maker has stopped".to_owned())?;
        first_frame(self.command(), video, poster).await
    }

    fn command(&self) -> Command {
        match &self.nice {
            Some(nice) => {
                let mut command = Command::new(nice);
                command.args(["-n", "19"]).arg(&self.ffmpeg);
                command
            }
            None => Command::new(&self.ffmpeg),
        }
    }
}

/// Writes the first frame of `video` to `poster` (JPEG) with `ffmpeg`, a command that runs it.
async fn first_frame(mut ffmpeg: Command, video: &Path, poster: &Path) -> Result<(), String> {
    let scale = format!("scale='min({MAX_WIDTH},iw)':-2");
    let run = ffmpeg
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-threads", "1", "-i"])
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
