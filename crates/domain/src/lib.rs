//! reelgate's domain: what the business sells, what it costs, and how credits move.
//! Nothing here does I/O; persistence and HTTP live in other crates.

pub mod accounts;
pub mod catalog;
pub mod credits;
pub mod generations;
pub mod ledger;
pub mod limits;
pub mod mail;
pub mod media;
pub mod payments;
pub mod pricing;
pub mod reports;
pub mod text;

pub use credits::Credits;
