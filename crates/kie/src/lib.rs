//! A typed client for Kie AI's video generation API.
//!
//! This crate knows nothing of credits or customers: it speaks Kie's wire format
//! (see `shared/spec/kie-api.md`) and nothing else, so it can be used on its own.

pub mod request;

pub use request::{AspectRatioField, TaskInput, TaskRequest, VeoGenerateRequest, VeoModel};
