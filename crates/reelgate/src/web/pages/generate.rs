//! The generate page: pick a model, set its parameters, see the price, submit.

use axum::Router;

use crate::web::WebContext;

pub fn router() -> Router<WebContext> {
    Router::new()
}
