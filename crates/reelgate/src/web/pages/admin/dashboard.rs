//! Operator dashboard: today's business at a glance and the upstream's health.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use std::time::Duration;

use crate::web::error::WebError;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

/// The dashboard must render even when Kie does not answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Serialize)]
struct UpstreamHealth {
    simulated: bool,
    /// Kie credits left, as Kie reports them.
    balance: Option<String>,
    /// Why the balance could not be read.
    error: Option<String>,
}

async fn upstream_health(web: &WebContext) -> UpstreamHealth {
    let upstream = &web.api.upstream;
    let answer = tokio::time::timeout(UPSTREAM_TIMEOUT, upstream.client.credit_balance()).await;
    let (balance, error) = match answer {
        Ok(Ok(balance)) => (Some(balance.normalize().to_string()), None),
        Ok(Err(error)) => (None, Some(error.to_string())),
        Err(_) => (None, Some("no answer within 3 seconds".to_owned())),
    };
    UpstreamHealth {
        simulated: upstream.is_simulated(),
        balance,
        error,
    }
}

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
) -> Result<Response, WebError> {
    let upstream = upstream_health(&web).await;
    Ok(chrome
        .render(
            "admin/dashboard.html",
            "admin_dashboard",
            context! { upstream => upstream },
        )?
        .into_response())
}
