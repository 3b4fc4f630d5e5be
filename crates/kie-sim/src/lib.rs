//! A faithful local stand-in for Kie AI (`docs/UPSTREAM.md`), so reelgate runs, demos
//! and is tested with no network and no key.
//!
//! It answers every endpoint reelgate uses with Kie's envelope and codes, validates requests
//! per model as Kie does, charges Kie credits, rate-limits creates, moves tasks through Kie's
//! states over time, serves real MP4 results (with byte ranges), posts callbacks, and injects
//! faults from one seeded RNG.
//!
//! Where `docs/UPSTREAM.md` is silent, the simulator chooses, and clients should not rely on more:
//! - Refusals are HTTP 200 with the code in the envelope (as Kie does, 401 included); only
//!   injected server errors are HTTP 500 and unknown routes HTTP 404.
//! - Any field a model's table does not list is refused with 422, on both APIs; the deprecated
//!   Veo `enableFallback` is accepted and ignored (with a warning in the log).
//! - Until a jobs task ends, `resultJson`, `failCode` and `failMsg` are `""` and `costTime` and
//!   `completeTime` are `null`; Veo's `response`, `errorCode` and `completeTime` are `null`.
//! - Failed tasks are either refused content (code 400, Veo successFlag 2) or failed generation
//!   (code 501, successFlag 3). Veo's 1080p answers 422 until ready; its 4K answers 422 until
//!   made, or for good when the upgrade fails (`upscale_failure_ratio`). Each upgrade is
//!   charged once (1080p 5 Kie credits when first handed out, 4K 120 at the request).
//! - With a webhook key, callbacks are signed as Kie signs them (`X-Webhook-Timestamp`,
//!   `X-Webhook-Signature`); the 4K request's own callback comes when the file is made.
//! - Result files live under `{base}/results/`, uploads under `{base}/files/{uploadPath}/`.

mod args;
mod callbacks;
mod config;
mod http;
mod media;
mod model;
mod pricing;
mod rate_limit;
mod record;
mod server;
mod simulator;
mod stats;
mod task;
mod upgrade;
mod validate;

pub use args::{RateLimitArg, SimArgs};
pub use config::{Durations, Faults, RateLimit, SimConfig};
pub use server::{spawn, RunningSim};
pub use simulator::{SimTask, Simulator, Withdrawal};
pub use stats::SimStats;
pub use task::TaskState;
pub use validate::{
    charge_create_task, charge_veo_generate, charge_veo_upgrade, validate_create_task,
    validate_veo_generate, Rejection,
};
