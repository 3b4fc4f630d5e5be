//! The web app, end to end: scenarios in headless Chromium, and security checks over HTTP.

mod accounts;
mod app;
mod browser;
mod cross_site;
mod generate;
mod guessing;
mod operator;
mod purchase;
mod queue_wait;
mod recovery;
mod security;
mod sign_up;
#[path = "../support/smtp.rs"]
mod smtp;
mod visitor;
