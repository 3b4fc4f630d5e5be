//! Free text that callers send (API key names, grant reasons, tokens, choices, URLs): every
//! such field of the API and the web app is one of these types, so its bound is written once,
//! here, and no request can store, show, log or forward a control character or a megabyte.
//! (Prompts are bounded per model by the catalog, which refuses control characters alike.)

use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// An API key's name.
pub const NAME_CHARS: usize = 100;
/// An operator's reason for a grant or an adjustment.
pub const REASON_CHARS: usize = 500;
/// A one-word choice or id (a package id, a payment provider, the demo's outcome).
pub const CHOICE_CHARS: usize = 64;
/// A token from a mailed link, a signature, a page cursor.
pub const TOKEN_CHARS: usize = 256;
/// What an operator searches for (an email address at most).
pub const SEARCH_CHARS: usize = 254;
/// A URL (a webhook's, an image's).
pub const URL_CHARS: usize = 2048;

pub type Name = Text<NAME_CHARS>;
pub type Reason = Text<REASON_CHARS>;
pub type Choice = Text<CHOICE_CHARS>;
pub type Token = Text<TOKEN_CHARS>;
pub type UrlText = Text<URL_CHARS>;
pub type Search = Text<SEARCH_CHARS>;

/// Text of at most `MAX` characters, trimmed, with no control character.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<const MAX: usize>(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must be at most {max} characters (it has {chars})")]
    TooLong { max: usize, chars: usize },
    #[error("must not contain control characters (found U+{0:04X})")]
    Control(u32),
}

impl<const MAX: usize> Text<MAX> {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = raw.trim();
        check(text, MAX)?;
        if let Some(c) = control_character(text, false) {
            return Err(TextError::Control(c));
        }
        Ok(Text(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `text` holds at most `max` characters.
pub fn check(text: &str, max: usize) -> Result<(), TextError> {
    // Bytes bound characters from above: most text is decided without counting.
    if text.len() > max {
        let chars = text.chars().count();
        if chars > max {
            return Err(TextError::TooLong { max, chars });
        }
    }
    Ok(())
}

/// The first control character in `text`; tab and line breaks pass where `line_breaks`
/// (prose such as prompts).
pub fn control_character(text: &str, line_breaks: bool) -> Option<u32> {
    text.chars()
        .find(|c| c.is_control() && !(line_breaks && matches!(c, '\t' | '\n' | '\r')))
        .map(u32::from)
}

/// Read as the `&str` it is (`Option<Text>::as_deref` gives an `Option<&str>`).
impl<const MAX: usize> std::ops::Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> std::fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Refused as a serde error, so that the JSON body's error names the field it was in.
impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Cow::<'de, str>::deserialize(deserializer)?;
        Text::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl<const MAX: usize> utoipa::PartialSchema for Text<MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX))
            .into()
    }
}

impl<const MAX: usize> utoipa::ToSchema for Text<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Text{MAX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_and_control_characters_are_refused() {
        assert_eq!(Text::<10>::parse("  ci  ").unwrap().as_str(), "ci");
        assert_eq!(Text::<3>::parse("ğüş").unwrap().as_str(), "ğüş");
        assert_eq!(
            Text::<10>::parse(&"x".repeat(11)),
            Err(TextError::TooLong { max: 10, chars: 11 })
        );
        for (bad, c) in [("a\0b", 0), ("a\u{1b}[31m", 0x1b), ("a\nb", 10)] {
            assert_eq!(Text::<10>::parse(bad), Err(TextError::Control(c)));
        }
        assert_eq!(control_character("a\nb\tc", true), None);
        assert_eq!(control_character("a\u{7f}", true), Some(0x7f));
    }

    #[test]
    fn a_refusal_is_a_serde_error() {
        let long = serde_json::json!("n".repeat(NAME_CHARS + 1));
        let error = serde_json::from_value::<Name>(long).unwrap_err();
        assert!(error.to_string().contains("at most 100"), "{error}");
    }
}
