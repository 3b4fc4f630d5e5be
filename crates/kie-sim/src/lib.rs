//! A local stand-in for Kie AI.
mod config;
mod model;
mod pricing;
mod validate;

pub use config::{Durations, Faults, RateLimit, SimConfig};
pub use validate::{validate_create_task, validate_veo_generate, Rejection};
