//! Why a generation request was refused, field by field.

use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// `model` names no model of the catalog.
    UnknownModel,
    /// The model or value exists but is not sold now (disabled, or no cost configured).
    NotOffered,
    /// The model has no parameter of that name.
    UnknownParameter,
    /// The parameter exists but the operator has switched it off.
    ParameterDisabled,
    /// Wrong type, a value the model does not accept, out of range, too long, empty, bad URL.
    InvalidParameter,
    MissingParameter,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownModel => "unknown_model",
            ErrorCode::NotOffered => "not_offered",
            ErrorCode::UnknownParameter => "unknown_parameter",
            ErrorCode::ParameterDisabled => "parameter_disabled",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::MissingParameter => "missing_parameter",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field at fault (`model`, `aspect_ratio`, …).
    pub field: String,
    pub code: ErrorCode,
    /// For the customer, e.g. "aspect_ratio must be one of 16:9, 9:16".
    pub message: String,
}

/// Longest field name and message a refusal carries. Both may quote what the customer sent
/// (an unknown parameter's name, a refused value); a megabyte-long name must not come back as
/// a megabyte-long error (found by fuzzing).
const MAX_FIELD: usize = 100;
const MAX_MESSAGE: usize = 500;

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            field: shortened(field.into(), MAX_FIELD),
            code,
            message: shortened(message.into(), MAX_MESSAGE),
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), ending in `…` when cut.
fn shortened(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

/// A refused request: never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .first.message)]
pub struct FieldErrors {
    first: FieldError,
    rest: Vec<FieldError>,
}

impl FieldErrors {
    pub fn one(error: FieldError) -> Self {
        FieldErrors {
            first: error,
            rest: Vec::new(),
        }
    }

    /// `None` when there is nothing to complain about.
    pub fn from_vec(errors: Vec<FieldError>) -> Option<Self> {
        let mut errors = errors.into_iter();
        let first = errors.next()?;
        Some(FieldErrors {
            first,
            rest: errors.collect(),
        })
    }

    pub fn first(&self) -> &FieldError {
        &self.first
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        let mut all = vec![self.first];
        all.extend(self.rest);
        all
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        FieldErrors::one(error)
    }
}

#[cfg(test)]
mod shortening_tests {
    use super::*;

    #[test]
    fn long_names_and_messages_are_cut_on_a_character_boundary() {
        let error = FieldError::new(
            "é".repeat(200),
            ErrorCode::InvalidParameter,
            "x".repeat(9000),
        );
        assert!(error.field.len() <= MAX_FIELD && error.field.ends_with('…'));
        assert!(error.message.len() <= MAX_MESSAGE && error.message.ends_with('…'));
        let short = FieldError::new("prompt", ErrorCode::InvalidParameter, "too long");
        assert_eq!(
            (short.field.as_str(), short.message.as_str()),
            ("prompt", "too long")
        );
    }
}
