//! The JSON API. One small router per resource, composed here; the OpenAPI document is
//! collected from the same routes, so it cannot drift from them.

pub mod account;
pub mod account_data;
pub mod account_security;
pub mod admin;
mod admin_generations;
pub mod admin_payments;
mod admin_prices;
mod admin_webhooks;
pub mod api_keys;
pub mod auth;
mod byte_range;
pub mod callbacks;
pub mod catalog;
mod common_responses;
pub mod csrf;
mod document;
pub mod envelope;
pub mod error;
pub mod extensions;
pub mod generations;
mod health;
pub mod history;
pub mod limits;
pub mod media;
pub mod model_pauses;
mod operations;
pub mod password_reset;
pub mod payments;
pub mod reports;
pub mod upstream;
pub mod upstream_keys;
pub mod webhook_deliveries;

use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ApiJson, ApiPath, ApiQuery};

/// The application state, under the name the API's handlers know it by.
pub type ApiContext = crate::front::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "reelgate", description = "Resell AI video generation for prepaid credits."),
    components(schemas(error::ErrorEnvelope, crate::webhooks::event::WebhookEvent)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (`rg_…`) from the account page"))
                    .build(),
            ),
        );
    }
}

/// Every route of the API, with the OpenAPI document that describes them.
pub fn api(ctx: ApiContext) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(operations::router())
        .merge(catalog::router())
        .merge(generations::router())
        .merge(callbacks::router())
        .merge(account::router())
        .merge(history::router())
        .merge(account_security::router())
        .merge(account_data::router())
        .merge(password_reset::router())
        .merge(api_keys::router())
        .merge(webhook_deliveries::router())
        .merge(admin_webhooks::router())
        .merge(admin::router())
        .merge(limits::router())
        .merge(admin_generations::router())
        .merge(admin_prices::router())
        .merge(media::router())
        .merge(reports::router())
        .merge(upstream::router())
        .merge(upstream_keys::router())
        .merge(model_pauses::router())
        .merge(extensions::router())
        .merge(payments::router())
        .merge(admin_payments::router())
        .split_for_parts();
    // After the merge: the routes' operations exist only now.
    let mut openapi = openapi;
    utoipa::Modify::modify(&common_responses::CommonResponses, &mut openapi);
    let document = Arc::new(document::complete(&openapi, &ctx.catalog));
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        // The fallbacks (a page for a browser, the envelope for a program) are set where the
        // web app's routes are merged in: `app.rs`.
        .with_state(ctx)
}

/// Only the probes and metrics: what a workers-only instance serves.
pub fn probes(ctx: ApiContext) -> Router {
    let (router, _) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(operations::router())
        .split_for_parts();
    router
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(ctx)
}
