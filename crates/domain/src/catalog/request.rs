//! A generation request the catalog accepted: a model and typed parameter values, with the
//! upstream body it becomes and its quote. Only `Catalog::parse` makes one.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::spec::ModelId;
use super::upstream::UpstreamRequest;
use super::value::ParamValue;
use crate::pricing::Quote;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    pub(super) model: ModelId,
    /// Every parameter given, plus the defaults of those left out.
    pub(super) params: BTreeMap<String, ParamValue>,
    pub(super) upstream: UpstreamRequest,
    pub(super) quote: Quote,
}

impl GenerationRequest {
    pub fn model(&self) -> &ModelId {
        &self.model
    }

    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        self.params.get(name)
    }

    pub fn params(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.params
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// The price of this request when the catalog accepted it.
    pub fn quote(&self) -> &Quote {
        &self.quote
    }

    /// reelgate's uniform `params` object (for the generation object and for storage);
    /// `Catalog::parse_params` reads it back into an equal request.
    pub fn params_json(&self) -> Map<String, Value> {
        self.params
            .iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect()
    }

    /// The request body it came from, with defaults filled in: `params_json` plus `model`.
    pub fn to_body(&self) -> Map<String, Value> {
        let mut body = self.params_json();
        body.insert("model".to_owned(), self.model.as_str().into());
        body
    }

    /// Kie's create body, with the callback URL the caller chose (it carries a per-generation
    /// token only the caller knows).
    pub fn to_upstream(&self, callback_url: Option<String>) -> UpstreamRequest {
        self.upstream.clone().with_callback(callback_url)
    }
}
