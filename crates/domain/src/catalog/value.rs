//! Parameter values of a valid request, typed.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;
use std::fmt;
use url::Url;

use super::spec::Scalar;

/// One parameter's value, as the catalog accepted it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Trimmed, non-empty, within the model's length limit.
    Text(String),
    ImageUrls(Vec<ImageUrl>),
    String(String),
    Integer(i64),
    Boolean(bool),
    Number(Decimal),
}

impl ParamValue {
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Text(s) | ParamValue::String(s) => s.clone().into(),
            ParamValue::ImageUrls(urls) => urls.iter().map(|u| Value::from(u.as_str())).collect(),
            ParamValue::Integer(i) => (*i).into(),
            ParamValue::Boolean(b) => (*b).into(),
            // Not money (cfg_scale and the like): a JSON number is what clients send and expect.
            ParamValue::Number(d) => d
                .to_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        }
    }

    /// The value as one of a choice's values, if it is a scalar.
    pub fn as_scalar(&self) -> Option<Scalar> {
        match self {
            ParamValue::String(s) => Some(Scalar::String(s.clone())),
            ParamValue::Integer(i) => Some(Scalar::Integer(*i)),
            ParamValue::Boolean(b) => Some(Scalar::Boolean(*b)),
            ParamValue::Text(_) | ParamValue::ImageUrls(_) | ParamValue::Number(_) => None,
        }
    }
}

impl From<Scalar> for ParamValue {
    fn from(scalar: Scalar) -> Self {
        match scalar {
            Scalar::String(s) => ParamValue::String(s),
            Scalar::Integer(i) => ParamValue::Integer(i),
            Scalar::Boolean(b) => ParamValue::Boolean(b),
        }
    }
}

/// An absolute http or https URL with a host: something Kie can fetch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an http or https URL")]
pub struct NotAnHttpUrl;

impl ImageUrl {
    pub fn parse(raw: &str) -> Result<Self, NotAnHttpUrl> {
        let url = Url::parse(raw.trim()).map_err(|_| NotAnHttpUrl)?;
        let fetchable = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty());
        if fetchable {
            Ok(ImageUrl(url))
        } else {
            Err(NotAnHttpUrl)
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ImageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_must_be_fetchable_over_http() {
        assert!(ImageUrl::parse("https://example.com/a.png").is_ok());
        assert!(ImageUrl::parse("http://example.com/a.png").is_ok());
        for bad in [
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "example.com/a.png",
            "data:image/png;base64,AAAA",
            "https://",
            "",
        ] {
            assert_eq!(ImageUrl::parse(bad), Err(NotAnHttpUrl), "{bad}");
        }
    }
}
