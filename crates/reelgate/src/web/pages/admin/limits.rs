//! Operator: the limits every customer gets by default, and one customer's overrides and
//! tier, as forms over the same store calls as `/v1/admin/limits`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use reelgate_domain::accounts::UserId;
use reelgate_domain::limits::LimitSettings;
use reelgate_store::{LimitScope, StoreError};
use serde::{Deserialize, Serialize};

use crate::front::views::limits::LimitsBody;
use crate::web::error::{WebError, WebForm};
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

/// One level of limits as the form's fields: empty means not set at this level.
#[derive(Debug, Deserialize)]
pub struct LimitsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    max_active: String,
    #[serde(default)]
    submissions_per_minute: String,
    #[serde(default)]
    daily_credits: String,
    #[serde(default)]
    weight: String,
}

/// A refused form: the field at fault and the words for the operator.
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

fn number<T: std::str::FromStr>(
    chrome: &Chrome,
    field: &'static str,
    raw: &str,
) -> Result<Option<T>, Refusal> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| Refusal {
        field,
        message: format!(
            "{}: {}",
            chrome.text(&format!("admin.limits.{field}")),
            chrome.text("admin.limits.whole_number")
        ),
    })
}

impl LimitsForm {
    fn parse(&self, chrome: &Chrome) -> Result<LimitSettings, Refusal> {
        LimitSettings::new(
            number(chrome, "max_active", &self.max_active)?,
            number(
                chrome,
                "submissions_per_minute",
                &self.submissions_per_minute,
            )?,
            number(chrome, "daily_credits", &self.daily_credits)?,
            number(chrome, "weight", &self.weight)?,
        )
        .map_err(|e| Refusal {
            field: e.field(),
            message: format!(
                "{}: {}",
                chrome.text(&format!("admin.limits.{}", e.field())),
                chrome.text(if e.field() == "weight" {
                    "admin.limits.weight_range"
                } else {
                    "admin.limits.at_least_one"
                })
            ),
        })
    }
}

/// What the user page shows of a customer's limits: their overrides, the defaults under
/// them, and what applies.
#[derive(Serialize)]
pub struct CustomerLimitsPage {
    own: LimitsBody,
    defaults: LimitsBody,
    effective: LimitsBody,
}

pub async fn of_customer(web: &WebContext, id: &UserId) -> Result<CustomerLimitsPage, WebError> {
    let limits = web.api.store.customer_limits(id).await?;
    Ok(CustomerLimitsPage {
        own: LimitsBody::from(&limits.own),
        defaults: LimitsBody::from(&limits.defaults),
        effective: LimitsBody::from(&limits.effective),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn defaults_page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    axum::extract::Query(query): axum::extract::Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let saved = query.notice.as_deref() == Some("saved");
    let defaults = web.api.store.limit_settings(LimitScope::Defaults).await?;
    render_defaults(&chrome, &LimitsBody::from(&defaults), saved, None)
}

fn render_defaults(
    chrome: &Chrome,
    defaults: &LimitsBody,
    saved: bool,
    refusal: Option<&Refusal>,
) -> Result<Response, WebError> {
    let page = chrome.render(
        "admin/limits.html",
        "admin_limits",
        context! {
            defaults => defaults,
            notice => saved.then(|| chrome.text("admin.limits.saved")),
            error => refusal.map(|r| r.message.as_str()),
            error_field => refusal.map(|r| r.field),
        },
    )?;
    let status = if refusal.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

pub async fn set_defaults(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    WebForm(form): WebForm<LimitsForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    match form.parse(&chrome) {
        Ok(settings) => {
            web.api
                .store
                .set_limit_settings(LimitScope::Defaults, &settings)
                .await?;
            Ok(Redirect::to("/admin/limits?notice=saved").into_response())
        }
        Err(refusal) => {
            let defaults = web.api.store.limit_settings(LimitScope::Defaults).await?;
            render_defaults(&chrome, &LimitsBody::from(&defaults), false, Some(&refusal))
        }
    }
}

/// `POST /admin/users/{id}/limits`: saves a customer's overrides and tier; a refused form
/// is shown again on their page, naming the field, with nothing saved.
pub async fn customer_form(
    State(web): State<WebContext>,
    Operator(operator): Operator,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<LimitsForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let id = UserId::parse(&id).map_err(|_| WebError::NotFound)?;
    // The customer must exist before anything is written for them.
    web.api.store.user(&id).await.map_err(|e| match e {
        StoreError::UserNotFound => WebError::NotFound,
        other => other.into(),
    })?;
    let settings = match form.parse(&chrome) {
        Ok(settings) => settings,
        Err(refusal) => {
            return super::users::render_with_limits_refusal(
                &web, &chrome, &operator, &id, &refusal,
            )
            .await
        }
    };
    web.api
        .store
        .set_limit_settings(LimitScope::Customer(&id), &settings)
        .await?;
    Ok(Redirect::to(&format!("/admin/users/{id}?notice=limits_saved#limits")).into_response())
}
