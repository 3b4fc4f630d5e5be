//! Operator: every customer's generations, with the filters of the operator's web page
//! (status, model, customer by email or id), the upstream task id and Kie's raw error.

use axum::extract::State;
use reelgate_domain::accounts::{Email, UserId};
use reelgate_domain::generations::Status;
use reelgate_store::{GenerationFilter, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};
use crate::generations::GenerationView;
use crate::media;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminGenerationQuery {
    /// Only generations in this state: queued, running, succeeded, failed or canceled.
    #[param(nullable = false)]
    #[param(inline)]
    pub status: Option<reelgate_domain::text::Choice>,
    /// Only this model (an id of `GET /v1/models`).
    #[param(nullable = false)]
    #[param(inline)]
    pub model: Option<reelgate_domain::text::Choice>,
    /// Only this customer's: an email address or a user id (`usr_…`).
    #[param(nullable = false)]
    #[param(inline)]
    pub customer: Option<reelgate_domain::text::Search>,
    /// Only those Kie failed with its own words (`upstream_error` set).
    #[param(nullable = false)]
    pub with_upstream_error: Option<bool>,
    /// The `next_cursor` of the previous page.
    #[param(nullable = false)]
    #[param(inline)]
    pub cursor: Option<reelgate_domain::text::Token>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// A generation as the operator sees it: the customer's object and what happened upstream.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminGenerationView {
    #[serde(flatten)]
    pub generation: GenerationView,
    /// `usr_…`
    pub user_id: String,
    /// The customer's email (absent if the account no longer exists).
    pub email: Option<String>,
    /// Kie's task id, once Kie accepted it.
    pub upstream_task_id: Option<String>,
    /// Kie's own words about a failure, unedited.
    pub upstream_error: Option<String>,
    /// What this generation costs at Kie's prices, an exact decimal string.
    #[schema(example = "0.28")]
    pub upstream_cost_usd: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminGenerationPage {
    /// Newest first.
    pub generations: Vec<AdminGenerationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The customer a filter names, by id or email; a 400 naming `customer` when nobody is.
async fn customer(ctx: &ApiContext, raw: &str) -> Result<UserId, ApiError> {
    let raw = raw.trim();
    if let Ok(id) = UserId::parse(raw) {
        return Ok(id);
    }
    let unknown = || {
        ApiError::field(
            "customer",
            "invalid_parameter",
            "customer must be the email address or the id of an existing user",
        )
    };
    let email = Email::parse(raw).map_err(|_| unknown())?;
    match ctx.store.user_by_email(&email).await {
        Ok(user) => Ok(user.id),
        Err(StoreError::UserNotFound) => Err(unknown()),
        Err(other) => Err(other.into()),
    }
}

/// Every customer's generations, newest first, filtered like the operator's page.
#[utoipa::path(get, path = "/v1/admin/generations", tag = "admin", security(("api_key" = [])),
    operation_id = "admin_list_generations", params(AdminGenerationQuery),
    responses((status = 200, body = AdminGenerationPage), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
async fn list(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<AdminGenerationQuery>,
) -> Result<ApiJson<AdminGenerationPage>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<Status>)
        .transpose()
        .map_err(|e| ApiError::field("status", "invalid_parameter", e.to_string()))?;
    let model = super::admin_prices::model_filter(&ctx, query.model.as_deref())?;
    let user = match query.customer.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(raw) => Some(customer(&ctx, raw).await?),
        None => None,
    };
    let filter = GenerationFilter {
        status,
        model: model.map(str::to_owned),
        user,
        with_upstream_error: query.with_upstream_error.unwrap_or(false),
    };
    let page = ctx
        .store
        .find_generations(
            &filter,
            query.cursor.as_deref(),
            super::account::page_limit(query.limit)?,
        )
        .await?;
    let views = media::present::views(&ctx.lifecycle, &ctx.media.links, &page.items).await?;
    let mut emails: HashMap<UserId, Option<String>> = HashMap::new();
    let mut generations = Vec::with_capacity(views.len());
    for (generation, view) in page.items.iter().zip(views) {
        if !emails.contains_key(&generation.user_id) {
            let email = match ctx.store.user(&generation.user_id).await {
                Ok(user) => Some(user.email.to_string()),
                Err(StoreError::UserNotFound) => None,
                Err(other) => return Err(other.into()),
            };
            emails.insert(generation.user_id.clone(), email);
        }
        generations.push(AdminGenerationView {
            generation: view,
            user_id: generation.user_id.to_string(),
            email: emails.get(&generation.user_id).cloned().flatten(),
            upstream_task_id: generation.upstream_task_id.clone(),
            upstream_error: generation.upstream_error.clone(),
            upstream_cost_usd: generation.upstream_cost_usd.normalize().to_string(),
        });
    }
    Ok(ApiJson(AdminGenerationPage {
        generations,
        next_cursor: page.next_cursor,
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(list))
}
