//! The catalog's data format, as written in TOML: models → parameters → allowed values → wire
//! field and wire value → costs. The built-in catalog (`default.toml`) and the operator's
//! pricing file are two layers of this same format; the operator's layer overrides field by
//! field (see `build`). Every field keeps its span so that errors can name the line. Tables
//! do not: toml gives no span for a table implied by a longer header (`[models.x.params.y]`
//! without `[models.x]`), so `build` finds a table's line from its header.
//!
//! All fields are optional here because a layer may set only some of them; `build` decides
//! what a complete model needs.

use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

use super::source::{toml_error, CatalogError, Source};
use super::spec::VideoMode;

type Field<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Doc {
    pub pricing: Option<RuleDoc>,
    #[serde(default)]
    pub models: BTreeMap<String, ModelDoc>,
}

/// `credits = round_half_up(cost × (1 + markup) × credits_per_usd / step) × step`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    pub markup: Field<Decimal>,
    pub credits_per_usd: Field<Decimal>,
    pub step: Field<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EndpointKind {
    /// `POST /api/v1/veo/generate`.
    Veo,
    /// `POST /api/v1/jobs/createTask`.
    Jobs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelDoc {
    /// Copy `family`, `mode`, `endpoint` and `params` from another model, then override.
    pub extends: Field<String>,
    pub family: Field<String>,
    pub title: Field<String>,
    pub description: Field<String>,
    pub mode: Field<VideoMode>,
    pub endpoint: Field<EndpointKind>,
    /// The model name Kie expects; defaults to the catalog id on the jobs API.
    pub wire_model: Field<String>,
    pub enabled: Field<bool>,
    pub reason: Field<String>,
    /// Price combinations this model does not price itself as this other model does.
    pub costs_from: Field<String>,
    #[serde(default)]
    pub params: BTreeMap<String, ParamDoc>,
    #[serde(default)]
    pub costs: Vec<Spanned<CostDoc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ParamType {
    Text,
    ImageUrls,
    String,
    Integer,
    Boolean,
    Number,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParamDoc {
    #[serde(rename = "type")]
    pub kind: Field<ParamType>,
    pub description: Field<String>,
    pub required: Field<bool>,
    pub default: Field<toml::Value>,
    pub enabled: Field<bool>,
    pub reason: Field<String>,
    /// The field name in Kie's body; defaults to the parameter's name.
    pub wire_field: Field<String>,
    /// A cost dimension: each combination of priced values has its own cost.
    pub priced: Field<bool>,
    pub min: Field<Decimal>,
    pub max: Field<Decimal>,
    pub max_length: Field<usize>,
    pub min_items: Field<usize>,
    pub max_items: Field<usize>,
    /// Accepted only when at least this many `image_urls` are given.
    pub requires_images: Field<usize>,
    /// Other names the parameter is accepted under (the business's notes, Kie's own name);
    /// requests are stored under the parameter's own name.
    pub aliases: Field<Vec<String>>,
    #[serde(default)]
    pub values: Vec<Spanned<ValueDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValueDoc {
    pub value: Spanned<toml::Value>,
    /// What Kie receives for this value; defaults to the value itself.
    pub wire: Field<toml::Value>,
    pub enabled: Field<bool>,
    pub reason: Field<String>,
    pub description: Field<String>,
    /// Other spellings of the value, accepted and stored as the value itself.
    pub aliases: Field<Vec<toml::Value>>,
    /// With this value chosen, the request takes this many `image_urls` (e.g. Veo's
    /// generation types), instead of the list's own bounds.
    pub min_images: Field<usize>,
    pub max_images: Field<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CostDoc {
    /// One value for each priced parameter of the model.
    pub when: Spanned<BTreeMap<String, toml::Value>>,
    pub cost_usd: Field<Decimal>,
    /// A cost per second of `duration`, for every duration without a row of its own: added
    /// to the nearest shorter duration's `cost_usd`, or times the seconds when there is none.
    /// `when` then names every priced parameter but `duration`.
    pub per_second_usd: Field<Decimal>,
    /// A fixed price in credits that overrides the rule (promotions).
    pub credits: Field<i64>,
    /// Where the cost comes from; shown in the operator's price list.
    pub note: Field<String>,
}

pub(crate) fn parse(source: Source, text: &str) -> Result<Doc, CatalogError> {
    toml::from_str(text).map_err(|e| toml_error(source, text, &e))
}
