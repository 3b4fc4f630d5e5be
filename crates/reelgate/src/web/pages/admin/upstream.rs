//! Operator: each Kie key by its fingerprint (never the key) — its rate window, tasks in
//! flight, balance, and whether Kie refused it — as `GET /v1/admin/upstream` lists them; and
//! the forms that add, disable, enable and delete keys, over the same calls as
//! `/v1/admin/upstream/keys`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;

use crate::generations::operator_keys::KeyChangeError;
use crate::web::error::{WebError, WebForm};
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// What went wrong with a form: the field at fault (if one) and the words for the operator.
struct Refusal {
    field: Option<&'static str>,
    message: String,
    status: StatusCode,
}

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let notice = match query.notice.as_deref() {
        Some("added") => Some(chrome.text("admin.upstream.added")),
        Some("disabled") => Some(chrome.text("admin.upstream.was_disabled")),
        Some("enabled") => Some(chrome.text("admin.upstream.was_enabled")),
        Some("deleted") => Some(chrome.text("admin.upstream.deleted")),
        _ => None,
    };
    render(&web, &chrome, notice, None, "").await
}

async fn render(
    web: &WebContext,
    chrome: &Chrome,
    notice: Option<&str>,
    refusal: Option<&Refusal>,
    name: &str,
) -> Result<Response, WebError> {
    let lifecycle = &web.api.lifecycle;
    let settings = &lifecycle.settings;
    let keys = lifecycle
        .keys
        .load(&web.api.store, settings.max_concurrent_tasks)
        .await?;
    let page = chrome.render(
        "admin/upstream.html",
        "admin_upstream",
        context! {
            keys => keys,
            several => lifecycle.keys.is_several(),
            simulated => web.api.upstream.is_simulated(),
            window_requests => settings.rate_limit.requests,
            // Display of a whole f64 has no ".0": "10", "2.5".
            window_secs => settings.rate_limit.per.as_secs_f64().to_string(),
            in_flight_cap => settings.max_concurrent_tasks,
            notice => notice,
            error => refusal.map(|r| r.message.as_str()),
            error_field => refusal.and_then(|r| r.field),
            // The name is kept for another try; the key never comes back in a page.
            name => name,
        },
    )?;
    let status = refusal.map_or(StatusCode::OK, |r| r.status);
    Ok((status, page).into_response())
}

/// The operator's words for a refused change, in the page's language.
fn refusal(chrome: &Chrome, error: KeyChangeError) -> Result<Refusal, WebError> {
    let text = |key: &str| chrome.text(key).to_owned();
    let (field, message, status) = match &error {
        KeyChangeError::BadName => (Some("name"), text("admin.upstream.bad_name"), 400),
        KeyChangeError::BadKey => (Some("key"), text("admin.upstream.bad_key"), 400),
        KeyChangeError::Refused(kie) => (
            Some("key"),
            format!("{} ({kie})", chrome.text("admin.upstream.refused_key")),
            400,
        ),
        KeyChangeError::Unchecked(why) => (
            Some("key"),
            format!("{} ({why})", chrome.text("admin.upstream.unchecked")),
            503,
        ),
        KeyChangeError::Duplicate(_) => (Some("key"), text("admin.upstream.duplicate"), 409),
        KeyChangeError::Configured(_) => (None, text("admin.upstream.configured_fixed"), 409),
        KeyChangeError::Busy { unsettled, .. } => (
            None,
            chrome
                .text("admin.upstream.busy")
                .replace("{n}", &unsettled.to_string()),
            409,
        ),
        KeyChangeError::NotFound => return Err(WebError::NotFound),
        KeyChangeError::Store(_) | KeyChangeError::Seal(_) | KeyChangeError::Client(_) => {
            return Err(WebError::internal(error))
        }
    };
    Ok(Refusal {
        field,
        message,
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
    })
}

/// The add form. (No `Debug`: it holds the key.)
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    key: Option<SecretString>,
}

/// `POST /admin/upstream/keys`: checks the key with Kie and adds it; a refused key is shown
/// again on the page naming the field, with nothing stored.
pub async fn add(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    WebForm(form): WebForm<AddForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let key = form
        .key
        .unwrap_or_else(|| SecretString::from(String::new()));
    match web.api.lifecycle.add_upstream_key(&form.name, &key).await {
        Ok(_) => Ok(Redirect::to("/admin/upstream?notice=added").into_response()),
        Err(error) => {
            let refusal = refusal(&chrome, error)?;
            render(&web, &chrome, None, Some(&refusal), form.name.trim()).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/upstream/keys/{id}/{disable|enable|delete}`.
pub async fn change(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Path((id, action)): Path<(String, String)>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let lifecycle = &web.api.lifecycle;
    let (done, notice) = match action.as_str() {
        "disable" => (
            lifecycle
                .set_upstream_key_enabled(&id, false)
                .await
                .map(drop),
            "disabled",
        ),
        "enable" => (
            lifecycle
                .set_upstream_key_enabled(&id, true)
                .await
                .map(drop),
            "enabled",
        ),
        "delete" => (lifecycle.delete_upstream_key(&id).await, "deleted"),
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/admin/upstream?notice={notice}")).into_response()),
        Err(error) => {
            let refusal = refusal(&chrome, error)?;
            render(&web, &chrome, None, Some(&refusal), "").await
        }
    }
}
