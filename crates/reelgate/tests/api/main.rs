//! Tests that start the real application on a free port and talk to it over HTTP.

mod account;
mod account_data;
mod account_security;
mod admin;
mod admin_oversight;
mod auth;
mod balance_guard;
mod callback_races;
mod cash_report;
mod catalog;
mod extensions;
mod fairness;
mod generations;
mod health;
mod helpers;
mod key_cache;
mod limits;
mod mail;
mod openapi;
mod openapi_client;
mod operator_mail;
mod payments;
mod providers;
mod queue_eta;
mod receipts;
mod reports;
mod security;
mod several_keys;
#[path = "../support/smtp.rs"]
mod smtp;
mod upgrades;
mod upstream_recovery;
mod videos;
mod webhook_isolation;
mod webhooks;
mod withdrawn_models;
