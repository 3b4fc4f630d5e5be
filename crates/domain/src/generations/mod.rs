//! A generation's life (docs/API.md): queued → running → succeeded | failed, or queued →
//! canceled. The rules here are pure (`lifecycle.rs` is the whole state machine); the
//! workers that drive them live in the app crate.

mod id;
pub mod lifecycle;
mod record;
mod schedule;
mod status;

pub use id::{GenerationId, ParseGenerationIdError};
pub use lifecycle::{Effect, Event, IllegalState, IllegalTransition, Queued, State, Why};
pub use record::{Dispatch, Generation, GenerationError, HdFetch, Video};
pub use schedule::PollSchedule;
pub use status::{ParseStatusError, Status};
