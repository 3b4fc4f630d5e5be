//! For the operator's machinery: readiness for load balancers and Prometheus metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use kie::KieError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::ApiContext;
use crate::monitoring;

/// A probe that cannot answer in this time counts as failed: a load balancer waits for no one.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    database: Check,
    upstream: Check,
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    ok: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Check {
                ok: true,
                error: None,
            },
            Err(error) => Check {
                ok: false,
                error: Some(error),
            },
        }
    }
}

/// Readiness: the database answers and Kie AI answers with our key accepted. 503 names
/// what failed.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = Readiness),
              (status = 503, description = "the database or upstream is unreachable", body = Readiness)))]
async fn readyz(State(ctx): State<ApiContext>) -> impl IntoResponse {
    let (database, upstream) = tokio::join!(database(&ctx), upstream(&ctx));
    let ready = database.is_ok() && upstream.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        database: Check::from(database),
        upstream: Check::from(upstream),
    };
    (status, Json(body))
}

async fn database(ctx: &ApiContext) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, ctx.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

/// Any answer from Kie that shows it took our key will do: an empty balance or a spent cap
/// still lets customers queue work.
async fn upstream(ctx: &ApiContext) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, ctx.upstream.client.credit_balance()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(
            KieError::InsufficientCredits { .. }
            | KieError::SpendingLimit { .. }
            | KieError::RateLimited { .. },
        )) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(ctx): State<ApiContext>) -> impl IntoResponse {
    let figures = match tokio::time::timeout(CHECK_TIMEOUT, ctx.store.figures()).await {
        Ok(Ok(figures)) => Some(figures),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: cannot read figures from the database");
            None
        }
        Err(_) => None,
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        monitoring::render(figures.as_ref()),
    )
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}
