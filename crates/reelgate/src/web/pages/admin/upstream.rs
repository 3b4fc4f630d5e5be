//! Operator: each Kie key by its fingerprint (never the key) — its rate window, tasks in
//! flight, balance, and whether Kie refused it — as `GET /v1/admin/upstream` lists them.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use crate::web::error::WebError;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
) -> Result<Response, WebError> {
    let lc = &web.api.lifecycle;
    let settings = &lc.settings;
    let keys = lc
        .keys
        .load(&web.api.store, settings.max_concurrent_tasks)
        .await?;
    Ok(chrome
        .render(
            "admin/upstream.html",
            "admin_upstream",
            context! {
                keys => keys,
                several => lc.keys.is_several(),
                simulated => web.api.upstream.is_simulated(),
                window_requests => settings.rate_limit.requests,
                // Display of a whole f64 has no ".0": "10", "2.5".
                window_secs => settings.rate_limit.per.as_secs_f64().to_string(),
                in_flight_cap => settings.max_concurrent_tasks,
            },
        )?
        .into_response())
}
