//! A faithful local stand-in for Kie AI (`shared/spec/kie-api.md`), so reelgate runs, demos
//! and is tested with no network and no key.
//!
//! It answers every endpoint reelgate uses with Kie's envelope and codes, validates requests
//! per model as Kie does, charges Kie credits, rate-limits creates, moves tasks through Kie's
//! states over time, serves real MP4 results (with byte ranges), posts callbacks, and injects
//! faults from one seeded RNG.

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
mod validate;

pub use args::{RateLimitArg, SimArgs};
pub use config::{Durations, Faults, RateLimit, SimConfig};
pub use server::{spawn, RunningSim};
pub use simulator::{SimTask, Simulator};
pub use stats::SimStats;
pub use task::TaskState;
pub use validate::{validate_create_task, validate_veo_generate, Rejection};
