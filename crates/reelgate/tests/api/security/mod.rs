//! Hostile callers: the authorisation matrix, forged and replayed callbacks, SSRF through the
//! URLs a customer gives, oversized bodies and slow clients.

mod callbacks;
mod envelope;
mod input;
mod limits;
mod matrix;
mod outage;
mod overload;
mod routes;
mod ssrf;
