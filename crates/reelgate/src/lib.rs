//! The reelgate application: configuration, the HTTP API, the web app and the background
//! workers, wired around the domain (`reelgate-domain`) and storage (`reelgate-store`) crates.

pub mod accounts;
mod allocator;
pub mod app;
pub mod balance_guard;
pub mod cli;
pub mod client_addr;
pub mod commands;
pub mod config;
pub mod front;
pub mod generations;
pub mod http;
pub mod http_server;
pub mod mail;
pub mod media;
pub mod monitoring;
pub mod operator;
pub mod outbound;
pub mod payments;
pub mod prices;
pub mod signing;
pub mod telemetry;
pub mod upstream;
pub mod web;
pub mod webhooks;
mod wire_errors;
pub mod worker;
