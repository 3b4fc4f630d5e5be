//! Free text that callers name things with (API key names, grant reasons): bounded in length,
//! and without control characters, which would be stored, shown and logged as they came.

use super::ApiError;

/// The longest name (an API key's).
pub const MAX_NAME_CHARS: usize = 100;
/// The longest reason (an operator's grant or adjustment).
pub const MAX_REASON_CHARS: usize = 500;

/// `value`, trimmed, if it is at most `max` characters and holds no control character.
pub fn bounded(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::field(
            field,
            "invalid_parameter",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(ApiError::field(
            field,
            "invalid_parameter",
            format!(
                "{field} must not contain control characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_and_control_characters_are_refused_by_name() {
        assert_eq!(bounded("name", "  ci  ", 10).unwrap(), "ci");
        for bad in ["x".repeat(11), "a\0b".into(), "a\u{1b}[31m".into()] {
            let ApiError::InvalidInput(problems) = bounded("name", &bad, 10).unwrap_err() else {
                panic!("not a field error");
            };
            assert_eq!(problems[0].field, "name");
        }
    }
}
