//! What the business sells: every model variant, its parameters in reelgate's uniform names,
//! the values each accepts, how each becomes Kie's wire format, and what each combination costs.
//!
//! The catalog is data, not code: `default.toml` (compiled in) holds models → parameters →
//! allowed values → wire field and wire value → costs, and the operator's pricing file is a
//! second layer of the same format over it. Adding a value, a variant or a model is an edit to
//! one of those files. `docs/pricing.example.toml` documents the format.

mod build;
mod data;
mod field_error;
mod given;
mod images;
mod parse;
mod request;
mod request_schema;
mod source;
mod spec;
mod upstream;
mod value;
mod view;

pub use field_error::{ErrorCode, FieldError, FieldErrors};
pub use request::GenerationRequest;
pub use request_schema::request_schema;
pub use source::{CatalogError, Source};
pub use spec::{
    Endpoint, ModelId, ModelSpec, ParamKind, ParamSpec, Scalar, ScalarType, ValueSpec, VideoMode,
    VEO_RESOLUTION,
};
pub use upstream::UpstreamRequest;
pub use value::{ImageUrl, NotAnHttpUrl, ParamValue};
pub use view::{ModelView, ParameterView, PriceView, ValueView};

pub(crate) use spec::disabled_reason;

use crate::pricing::PriceRule;
use source::Texts;

/// A request's parameter values by the parameters' own names.
pub(crate) type Params = std::collections::BTreeMap<String, ParamValue>;

/// The built-in catalog and price table (`pricing.md` and `docs/UPSTREAM.md` as data).
pub const BUILTIN: &str = include_str!("default.toml");

/// The loaded catalog: every model with its parameters and price points, and the price rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    rule: PriceRule,
    models: Vec<ModelSpec>,
}

impl Catalog {
    /// The built-in catalog alone.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::load(None)
    }

    /// The built-in catalog with the operator's pricing file (its text) over it.
    pub fn with_pricing_file(text: &str) -> Result<Self, CatalogError> {
        Self::load(Some(text))
    }

    pub fn load(pricing_file: Option<&str>) -> Result<Self, CatalogError> {
        let builtin = data::parse(Source::Builtin, BUILTIN)?;
        let file = pricing_file
            .map(|text| data::parse(Source::PricingFile, text))
            .transpose()?;
        let texts = Texts {
            builtin: BUILTIN,
            pricing_file: pricing_file.unwrap_or_default(),
        };
        build::build(texts, &builtin, file.as_ref())
    }

    pub fn rule(&self) -> &PriceRule {
        &self.rule
    }

    /// Every model, offered or not, by id.
    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    pub fn model(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id.as_str() == id)
    }

    /// `GET /v1/models`.
    pub fn view(&self) -> Vec<ModelView> {
        self.models.iter().map(ModelView::of).collect()
    }
}
