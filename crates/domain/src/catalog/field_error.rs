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

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
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
