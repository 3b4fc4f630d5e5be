//! Operator: the effective price table, in credits, next to what each combination costs us.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::web::error::WebError;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

#[derive(Serialize)]
struct ModelPrices {
    id: String,
    title: String,
    available: bool,
    reason: Option<String>,
    /// The names of the parameters the price depends on, in column order.
    priced: Vec<String>,
    points: Vec<Point>,
}

#[derive(Serialize)]
struct Point {
    values: Vec<String>,
    credits: Option<i64>,
    reason: Option<String>,
    cost_usd: Option<String>,
    /// What the credits are worth in USD, less the cost.
    margin_usd: Option<String>,
    /// Set by the operator rather than by the rule.
    fixed: bool,
}

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
) -> Result<Response, WebError> {
    let catalog = &web.api.catalog;
    let per_usd = catalog.rule().credits_per_usd();
    let models: Vec<ModelPrices> = catalog
        .models()
        .iter()
        .map(|model| {
            let availability = model.availability();
            let priced: Vec<String> = model
                .params
                .iter()
                .filter(|p| p.priced)
                .map(|p| p.name.clone())
                .collect();
            let points = model
                .prices
                .iter()
                .map(|point| {
                    let json = point.combination.to_json();
                    let values = priced
                        .iter()
                        .map(|name| {
                            json.get(name)
                                .map(|v| v.to_string().trim_matches('"').to_owned())
                                .unwrap_or_default()
                        })
                        .collect();
                    match &point.price {
                        Ok(price) => {
                            let revenue = Decimal::from(price.credits.get())
                                .checked_div(per_usd)
                                .unwrap_or_default();
                            Point {
                                values,
                                credits: Some(price.credits.get()),
                                reason: None,
                                cost_usd: Some(price.cost_usd.normalize().to_string()),
                                margin_usd: Some(
                                    (revenue - price.cost_usd).round_dp(2).to_string(),
                                ),
                                fixed: price.fixed,
                            }
                        }
                        Err(unpriced) => Point {
                            values,
                            credits: None,
                            reason: Some(unpriced.to_string()),
                            cost_usd: None,
                            margin_usd: None,
                            fixed: false,
                        },
                    }
                })
                .collect();
            ModelPrices {
                id: model.id.to_string(),
                title: crate::web::catalog_text::model_title(&model.title, chrome.lang),
                available: availability.is_ok(),
                reason: availability.err(),
                priced,
                points,
            }
        })
        .collect();
    Ok(chrome
        .render(
            "admin/prices.html",
            "admin_prices",
            context! { models => models },
        )?
        .into_response())
}
