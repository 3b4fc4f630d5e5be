//! What customers do with their own accounts, for both front ends (the JSON API and the web
//! pages): getting back in by mail, confirming addresses, their data.

pub mod recovery;
pub mod security;
pub mod throttle;
pub mod verification;

pub use recovery::RecoveryError;
pub use verification::VerificationError;
