//! Tests that start the real application on a free port and talk to it over HTTP.

mod account;
mod admin;
mod auth;
mod callback_races;
mod catalog;
mod generations;
mod health;
mod helpers;
mod security;
mod webhooks;
