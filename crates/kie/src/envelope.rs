//! Kie's answer envelope `{"code", "msg", "data"}`, decoded once whatever the HTTP status:
//! Kie often answers HTTP 200 with the failure in `code`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::KieError;

/// How much of an undecodable body an error keeps: enough to recognise it, small enough to log.
const SNIPPET_CHARS: usize = 240;

/// A successful answer (`code` 200).
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub http_status: u16,
    /// The whole body, kept for diagnosis.
    pub body: Value,
}

impl Envelope {
    pub fn data(&self) -> &Value {
        self.body.get("data").unwrap_or(&Value::Null)
    }

    /// `data` as the type the endpoint promises; anything else is undecodable.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, KieError> {
        T::deserialize(self.data()).map_err(|err| {
            tracing::debug!(error = %err, "Kie answer data does not match its type");
            self.undecodable()
        })
    }

    pub fn undecodable(&self) -> KieError {
        KieError::Undecodable {
            status: self.http_status,
            body_snippet: snippet(&self.body.to_string()),
        }
    }
}

/// Decodes one answer: the envelope if its code is 200, the mapped error otherwise.
pub(crate) fn decode(http_status: u16, body: &[u8]) -> Result<Envelope, KieError> {
    let undecodable = || KieError::Undecodable {
        status: http_status,
        body_snippet: snippet(&String::from_utf8_lossy(body)),
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(undecodable());
    };
    let msg = match fields.get("msg") {
        Some(Value::String(msg)) => msg.clone(),
        _ => String::new(),
    };
    let code = match fields.get("code") {
        Some(code) => code_of(code).ok_or_else(undecodable)?,
        // Without a code the HTTP status is all there is; a 2xx without one is not Kie's shape.
        None if (200..300).contains(&http_status) => return Err(undecodable()),
        None => i64::from(http_status),
    };
    if code == 200 {
        return Ok(Envelope {
            http_status,
            body: Value::Object(fields),
        });
    }
    Err(KieError::from_code(code, msg).unwrap_or_else(undecodable))
}

/// Kie sends `code` as a number; tolerate a numeric string rather than call a clear answer
/// undecodable.
pub(crate) fn code_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_code_wins_over_http_200() {
        let err = decode(
            200,
            br#"{"code": 402, "msg": "Credits insufficient", "data": null}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, KieError::InsufficientCredits { ref message } if message == "Credits insufficient")
        );
    }

    #[test]
    fn success_code_wins_over_an_error_http_status() {
        let env = decode(500, br#"{"code": 200, "msg": "success", "data": 7}"#).unwrap();
        assert_eq!(env.data(), &Value::from(7));
    }

    #[test]
    fn http_status_stands_in_when_the_body_has_no_code() {
        let err = decode(429, br#"{"msg": "slow down"}"#).unwrap_err();
        assert!(matches!(err, KieError::RateLimited { ref message } if message == "slow down"));
        let err = decode(200, br#"{"msg": "?"}"#).unwrap_err();
        assert!(matches!(err, KieError::Undecodable { status: 200, .. }));
    }

    #[test]
    fn non_json_and_unknown_codes_are_undecodable_with_a_snippet() {
        let err = decode(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(err, KieError::Undecodable { status: 502, ref body_snippet } if body_snippet == "<html>Bad Gateway</html>")
        );
        let err = decode(200, br#"{"code": 302, "msg": "moved"}"#).unwrap_err();
        assert!(matches!(err, KieError::Undecodable { .. }));
    }

    #[test]
    fn numeric_string_codes_are_understood() {
        let err = decode(200, br#"{"code": "455", "msg": "maintenance"}"#).unwrap_err();
        assert!(matches!(err, KieError::Maintenance { .. }));
    }

    #[test]
    fn snippet_is_cut_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
