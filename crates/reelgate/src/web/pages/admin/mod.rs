//! The operator's pages: dashboard, users (and their limits), vouchers, prices,
//! generations, mail, the Kie keys. Every handler takes
//! `Operator`, so none of them runs for a customer.

mod dashboard;
mod generations;
mod limits;
mod mail;
mod prices;
mod upstream;
mod users;
mod vouchers;

use axum::routing::{get, post};
use axum::Router;

use crate::web::WebContext;

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/admin", get(dashboard::page))
        .route("/admin/model-pauses/resume", post(dashboard::resume_model))
        .route("/admin/users", get(users::list))
        .route("/admin/users/{id}", get(users::detail))
        .route("/admin/users/{id}/grants", post(users::grant))
        .route("/admin/users/{id}/disabled", post(users::set_disabled))
        .route("/admin/users/{id}/limits", post(limits::customer_form))
        .route(
            "/admin/limits",
            get(limits::defaults_page).post(limits::set_defaults),
        )
        .route("/admin/upstream", get(upstream::page))
        .route("/admin/upstream/keys", post(upstream::add))
        .route("/admin/upstream/keys/{id}/{action}", post(upstream::change))
        .route(
            "/admin/vouchers",
            get(vouchers::list).post(vouchers::create),
        )
        .route("/admin/prices", get(prices::page))
        .route("/admin/generations", get(generations::list))
        .route("/admin/mail", get(mail::page))
}
