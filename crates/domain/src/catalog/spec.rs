//! The catalog once loaded: every model, its parameters and their allowed values, resolved
//! from the data layers and checked, so that parsing a request never meets a contradiction.

use kie::{AspectRatioField, VeoModel};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

use super::value::ParamValue;
use crate::pricing::PricePoint;

/// A model variant id from the catalog, e.g. `kling-2.6/text-to-video`. Only the catalog makes
/// one, so holding a `ModelId` means the model existed when the request was parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "kling-2.6/text-to-video")]
pub struct ModelId(String);

impl ModelId {
    pub(crate) fn new(id: impl Into<String>) -> Self {
        ModelId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a model starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VideoMode {
    /// From a prompt (some models also take optional images).
    TextToVideo,
    /// From one or more images, and usually a prompt.
    ImageToVideo,
}

/// Veo's parameter that is no field of Kie's create body: the resolution reelgate asks Kie to
/// upgrade the finished 720p video to.
pub const VEO_RESOLUTION: &str = "resolution";

/// Which of Kie's two create endpoints a model uses, and the model name it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Veo {
        model: VeoModel,
        ratio_field: AspectRatioField,
    },
    Jobs {
        model: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: ModelId,
    pub family: String,
    pub title: String,
    pub description: String,
    pub mode: VideoMode,
    pub endpoint: Endpoint,
    pub enabled: bool,
    pub reason: Option<String>,
    /// In presentation order (`prompt` first).
    pub params: Vec<ParamSpec>,
    /// Every combination of the priced parameters' declared values, priced or not.
    pub prices: Vec<PricePoint>,
}

impl ModelSpec {
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameter a request field names, by its own name or one of its aliases.
    pub fn param_named(&self, name: &str) -> Option<&ParamSpec> {
        self.param(name).or_else(|| {
            self.params
                .iter()
                .find(|p| p.aliases.iter().any(|a| a == name))
        })
    }

    /// The most images any request may carry: the list's own bound, or more where a value
    /// (a generation type) raises it.
    pub fn max_images(&self) -> usize {
        self.params
            .iter()
            .map(|p| match &p.kind {
                ParamKind::ImageUrls { max, .. } => *max,
                ParamKind::Choice { values, .. } => values
                    .iter()
                    .filter_map(|v| v.images.map(|(_, max)| max))
                    .max()
                    .unwrap_or(0),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// `Err(reason)` when the model is not offered: disabled, or no combination has a cost.
    pub fn availability(&self) -> Result<(), String> {
        if !self.enabled {
            return Err(disabled_reason(self.reason.as_deref()));
        }
        if self.prices.iter().all(|p| p.price.is_err()) {
            return Err("no cost configured".to_owned());
        }
        Ok(())
    }

    /// Whether one value of a parameter can be asked for. A priced value also needs at least
    /// one priced combination that uses it.
    pub fn value_availability(&self, param: &ParamSpec, value: &ValueSpec) -> Result<(), String> {
        if !value.enabled {
            return Err(disabled_reason(value.reason.as_deref()));
        }
        let priced_somewhere = self
            .prices
            .iter()
            .any(|p| p.price.is_ok() && p.combination.get(&param.name) == Some(&value.value));
        if param.priced && !priced_somewhere {
            return Err("no cost configured".to_owned());
        }
        Ok(())
    }
}

pub(crate) fn disabled_reason(reason: Option<&str>) -> String {
    reason.map_or_else(|| "disabled".to_owned(), |r| format!("disabled: {r}"))
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// reelgate's uniform name (`prompt`, `duration`, …), the same for every model.
    pub name: String,
    pub description: String,
    pub kind: ParamKind,
    pub required: bool,
    /// Filled in (and sent upstream) when the request leaves the parameter out.
    pub default: Option<ParamValue>,
    pub enabled: bool,
    pub reason: Option<String>,
    pub wire_field: String,
    /// A cost dimension.
    pub priced: bool,
    /// Accepted only with at least this many images.
    pub requires_images: Option<usize>,
    /// Other names a request may give it under (`n_frames` for Sora's `duration`).
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// Free text, trimmed, non-empty, at most `max_chars` characters.
    Text {
        max_chars: usize,
    },
    /// A list of http(s) image URLs.
    ImageUrls {
        min: usize,
        max: usize,
    },
    /// One of a list of values.
    Choice {
        ty: ScalarType,
        values: Vec<ValueSpec>,
    },
    IntegerRange {
        min: i64,
        max: i64,
    },
    NumberRange {
        min: Decimal,
        max: Decimal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    String,
    Integer,
    Boolean,
}

/// One allowed value of a choice parameter, in reelgate's terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    String(String),
    Integer(i64),
    Boolean(bool),
}

impl Scalar {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::String(s) => s.clone().into(),
            Scalar::Integer(i) => (*i).into(),
            Scalar::Boolean(b) => (*b).into(),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::String(s) => f.write_str(s),
            Scalar::Integer(i) => write!(f, "{i}"),
            Scalar::Boolean(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValueSpec {
    pub value: Scalar,
    /// What Kie receives for it (e.g. Sora's `16:9` is `"landscape"`, Kling's `5` is `"5"`).
    pub wire: serde_json::Value,
    pub enabled: bool,
    pub reason: Option<String>,
    pub description: Option<String>,
    /// Other spellings accepted for it (Sora's `landscape` for `16:9`).
    pub aliases: Vec<Scalar>,
    /// How many `image_urls` a request with this value takes, when the value decides it.
    pub images: Option<(usize, usize)>,
}

impl ValueSpec {
    /// Whether `scalar` is this value, in its own spelling or an alias.
    pub fn matches(&self, scalar: &Scalar) -> bool {
        self.value == *scalar || self.aliases.contains(scalar)
    }
}
