//! A typed client for Kie AI's video generation API.
//!
//! This crate knows nothing of credits or customers: it speaks Kie's wire format
//! (see `docs/UPSTREAM.md`) and nothing else, so it can be used on its own.
//!
//! - [`KieClient`] calls Kie: creates (never re-sent), status reads, 1080p, balance, upload.
//! - [`answer`] decodes each endpoint's answer without I/O; [`Callback`] decodes callbacks.
//! - Every failure is one [`KieError`], sorted by what the caller does next.
//!
//! ```no_run
//! use kie::{KieClient, KieConfig, KieError, SecretString, TaskInput, TaskRequest, TaskState};
//!
//! # async fn run() -> Result<(), KieError> {
//! let kie = KieClient::new(KieConfig::new(SecretString::from("your-kie-api-key")))?;
//! let request = TaskRequest {
//!     model: "kling-2.6/text-to-video".into(),
//!     call_back_url: None,
//!     input: TaskInput::new()
//!         .with("prompt", "A fox in the snow")
//!         .with("sound", false)
//!         .with("aspect_ratio", "16:9")
//!         .with("duration", "5"),
//! };
//! // Never re-sent by the client; after an error with `may_have_created_task()` the task
//! // may exist at Kie, so the caller must not simply send it again either.
//! let task = kie.create_task(&request).await?;
//! if let TaskState::Succeeded { videos, .. } = kie.task_status(&task).await?.state {
//!     println!("{}", videos[0]);
//! }
//! # Ok(())
//! # }
//! ```

pub mod answer;
mod callback;
mod client;
mod config;
mod envelope;
mod error;
pub mod request;
pub mod response;
mod status;
mod task_id;
mod transport;

pub use callback::{
    signature_is_valid, ApiFamily, Callback, CallbackError, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
};
pub use client::{FileUpload, KieClient};
pub use config::{
    JobsStatusPath, KieConfig, RetryPolicy, DEFAULT_BASE_URL, DEFAULT_UPLOAD_BASE_URL,
};
pub use error::KieError;
pub use request::{
    AspectRatioField, TaskInput, TaskRequest, VeoExtendRequest, VeoGenerateRequest, VeoModel,
    VeoResolution,
};
pub use response::UploadedFile;
pub use status::{TaskState, TaskStatus};
pub use task_id::TaskId;

/// Re-exported so callers can build a [`KieConfig`] without naming the crate themselves.
pub use secrecy::SecretString;
pub use url::Url;
