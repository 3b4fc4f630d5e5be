//! The web app: server-rendered pages for customers (sign up, generate, watch, account) and
//! operators (dashboard, users, vouchers, prices, generations), in English and Turkish.
//!
//! Pages call the same store and domain operations as the JSON API; the one script
//! (`static/app.js`) enhances them — live prices, live progress — through the JSON API itself.
//! Every form carries a CSRF token, every response a strict Content-Security-Policy.

mod assets;
pub(crate) mod catalog_text;
mod csrf;
mod error;
pub mod first_run;
pub(crate) mod format;
mod i18n;
mod pages;
mod security;
mod session;
pub(crate) mod templates;
mod throttle;

use axum::extract::FromRef;
use axum::routing::get;
use axum::{middleware, Router};

use crate::front::{cookies, AppState};

pub use i18n::Locale;

/// What page handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebContext {
    /// The application state the JSON API's handlers get too.
    pub api: AppState,
}

impl FromRef<WebContext> for AppState {
    fn from_ref(web: &WebContext) -> AppState {
        web.api.clone()
    }
}

/// The "page not found" page, for a browser asking for a page (not `/v1/…`) that does not
/// exist; `None` for API clients, who get the JSON envelope.
pub fn not_found_page(headers: &axum::http::HeaderMap) -> Option<axum::response::Response> {
    browser_error_page(
        headers,
        axum::http::StatusCode::NOT_FOUND,
        "error.not_found",
    )
}

/// The page for a browser that used a method a path does not take (a bookmarked form
/// address); `None` for API clients.
pub fn method_not_allowed_page(
    headers: &axum::http::HeaderMap,
) -> Option<axum::response::Response> {
    browser_error_page(
        headers,
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "error.method_not_allowed",
    )
}

fn browser_error_page(
    headers: &axum::http::HeaderMap,
    status: axum::http::StatusCode,
    key: &str,
) -> Option<axum::response::Response> {
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return None;
    }
    let mut page = error::error_page(Locale::negotiate(headers), status, key);
    security::apply(page.headers_mut(), false);
    Some(page)
}

/// Every page and asset of the web app.
pub fn router(api: AppState) -> Router {
    let web = WebContext { api };
    pages::router()
        .route("/static/{name}", get(assets::serve))
        .layer(middleware::from_fn_with_state(
            web.clone(),
            csrf::ensure_cookie,
        ))
        .layer(middleware::from_fn(error::localize))
        .layer(middleware::from_fn(security::headers))
        .with_state(web)
}
