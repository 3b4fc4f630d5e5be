//! Customer webhooks: when a generation ends, its object is POSTed to the request's
//! `webhook_url`, signed per the Standard Webhooks scheme.

pub mod circuit;
pub mod deliver;
pub mod event;
pub mod resend;
pub mod share;
pub mod signature;
