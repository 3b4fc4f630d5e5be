//! The effective price list, for the operator (`reelgate prices`, the admin pages): every
//! combination of every model, offered or not, with its upstream cost.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::catalog::{Catalog, ModelId};
use crate::Credits;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PriceListEntry {
    pub model: ModelId,
    /// The priced parameters' values (empty when the model has one price).
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub upstream_cost_usd: Option<Decimal>,
    #[schema(value_type = Option<i64>)]
    pub credits: Option<Credits>,
    /// The operator fixed this price; the rule did not compute it.
    pub fixed_price: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Catalog {
    pub fn price_list(&self) -> Vec<PriceListEntry> {
        self.models()
            .iter()
            .flat_map(|model| {
                let model_reason = model.availability().err();
                model.prices.iter().map(move |point| {
                    let price = point.price.as_ref().ok();
                    let reason = match &point.price {
                        Err(unpriced) => Some(unpriced.to_string()),
                        Ok(_) => model_reason.clone(),
                    };
                    PriceListEntry {
                        model: model.id.clone(),
                        params: point.combination.to_json(),
                        available: reason.is_none(),
                        reason,
                        upstream_cost_usd: price.map(|p| p.cost_usd),
                        credits: price.map(|p| p.credits),
                        fixed_price: price.is_some_and(|p| p.fixed),
                        note: price.and_then(|p| p.note.clone()),
                    }
                })
            })
            .collect()
    }
}
