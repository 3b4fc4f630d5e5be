//! The web app, end to end: scenarios in headless Chromium, and security checks over HTTP.

mod account_security;
mod accounts;
mod app;
mod browser;
mod cancel;
mod cross_site;
mod follow_ups;
mod generate;
mod generate_again;
mod guessing;
mod history;
mod languages;
mod newcomer;
mod operator;
mod operator_keys;
mod operator_limits;
mod paused_model;
mod purchase;
mod queue_wait;
mod recovery;
mod security;
mod sign_up;
#[path = "../support/smtp.rs"]
mod smtp;
mod visitor;
