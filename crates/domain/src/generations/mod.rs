//! A generation's life (docs/API.md): queued → running → succeeded | failed, or queued →
//! canceled. The rules here are pure; the workers that drive them live in the app crate.

mod id;
mod record;
mod schedule;
mod status;

pub use id::{GenerationId, ParseGenerationIdError};
pub use record::{Dispatch, Generation, GenerationError, HdFetch, Video};
pub use schedule::PollSchedule;
pub use status::{ParseStatusError, Status};
