//! Operator: the effective price list, as the operator's price page and `reelgate prices`
//! show it: the rule, then every combination with its upstream cost and selling price.

use axum::extract::State;
use reelgate_domain::pricing::PriceListEntry;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceQuery {
    /// Only this model's prices (an id of `GET /v1/models`).
    #[param(nullable = false)]
    #[param(inline)]
    pub model: Option<reelgate_domain::text::Choice>,
}

/// `credits = round_half_up(cost_usd × (1 + markup) × credits_per_usd / step) × step`
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRuleView {
    #[schema(value_type = String, example = "0.50")]
    pub markup: Decimal,
    #[schema(value_type = String, example = "108")]
    pub credits_per_usd: Decimal,
    #[schema(example = 5)]
    pub step: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceList {
    pub rule: PriceRuleView,
    /// Every combination of every model's priced parameters, offered or not (`reason` says
    /// why not); amounts in USD are exact decimal strings.
    pub prices: Vec<PriceListEntry>,
}

/// A `model` filter: absent or blank means every model; a name the catalog lacks is a 400
/// (a typo would otherwise look like a model with nothing in it).
pub(super) fn model_filter<'a>(
    ctx: &ApiContext,
    raw: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    let Some(model) = raw.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    if ctx.catalog.models().iter().any(|m| m.id.as_str() == model) {
        Ok(Some(model))
    } else {
        Err(ApiError::field(
            "model",
            "invalid_parameter",
            format!("{model} is not a model of the catalog (see GET /v1/models)"),
        ))
    }
}

/// The effective price list: the rule and every priced combination.
#[utoipa::path(get, path = "/v1/admin/prices", tag = "admin", security(("api_key" = [])),
    operation_id = "admin_list_prices", params(PriceQuery),
    responses((status = 200, body = PriceList), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
async fn list(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<PriceQuery>,
) -> Result<ApiJson<PriceList>, ApiError> {
    let model = model_filter(&ctx, query.model.as_deref())?;
    let rule = ctx.catalog.rule();
    Ok(ApiJson(PriceList {
        rule: PriceRuleView {
            markup: rule.markup(),
            credits_per_usd: rule.credits_per_usd(),
            step: rule.step(),
        },
        prices: ctx
            .catalog
            .price_list()
            .into_iter()
            .filter(|entry| model.is_none_or(|m| entry.model.as_str() == m))
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(list))
}
