//! Callbacks Kie POSTs to a task's `callBackUrl` when it ends.
//!
//! By default Kie does not sign them: anyone who learns the URL can post one. An account can
//! turn on Kie's webhook verification ([`signature_is_valid`]), which proves the sender but
//! covers no body. Either way a callback is only a hint, to be confirmed with a status read
//! before acting on it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use serde_json::Value;

use crate::envelope::{code_of, snippet};
use crate::response::{JobsRecordInfo, VeoCallbackData};
use crate::status::{veo_success, TaskState};
use crate::task_id::TaskId;

/// The header carrying the signing time (seconds since the epoch, as Kie writes it).
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "X-Webhook-Timestamp";
/// The header carrying base64(HMAC-SHA256(webhook key, `taskId + "." + timestamp`)).
pub const WEBHOOK_SIGNATURE_HEADER: &str = "X-Webhook-Signature";

/// Whether `signature` is Kie's signature of `task_id` at `timestamp` under the account's
/// webhook key. Compared in constant time, so timing reveals nothing of the right one.
pub fn signature_is_valid(key: &[u8], task_id: &str, timestamp: &str, signature: &str) -> bool {
    let Ok(given) = BASE64.decode(signature.trim()) else {
        return false;
    };
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(task_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.trim().as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Which API family sent a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    Veo,
    Jobs,
}

/// A decoded callback from either family.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub task_id: TaskId,
    pub family: ApiFamily,
    /// What the callback claims; confirm with a status read.
    pub hint: TaskState,
    /// The whole body, for diagnosis.
    pub raw: Value,
}

/// A body that is not a callback of either family.
#[derive(Debug, thiserror::Error)]
#[error("not a Kie callback ({reason}): {body_snippet}")]
pub struct CallbackError {
    pub reason: String,
    pub body_snippet: String,
}

impl Callback {
    /// Decodes a callback body. The jobs API's `data` carries a `state`; Veo's carries `info`
    /// on success and the outcome in the envelope `code`.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        let fail = |reason: String| CallbackError {
            reason,
            body_snippet: snippet(&String::from_utf8_lossy(body)),
        };
        let raw: Value =
            serde_json::from_slice(body).map_err(|err| fail(format!("not JSON: {err}")))?;
        let data = raw.get("data").cloned().unwrap_or(Value::Null);
        if data.get("state").is_some() {
            let record: JobsRecordInfo =
                serde_json::from_value(data).map_err(|err| fail(format!("jobs data: {err}")))?;
            let hint = TaskState::from_jobs(&record).map_err(|why| fail(why.0))?;
            return Ok(Self {
                task_id: TaskId::new(record.task_id),
                family: ApiFamily::Jobs,
                hint,
                raw,
            });
        }
        let code = raw
            .get("code")
            .and_then(code_of)
            .ok_or_else(|| fail("no code".into()))?;
        let data: VeoCallbackData =
            serde_json::from_value(data).map_err(|err| fail(format!("Veo data: {err}")))?;
        let hint = if code == 200 {
            veo_success(data.info.as_ref()).map_err(|why| fail(why.0))?
        } else {
            TaskState::Failed {
                code: code.to_string(),
                message: raw
                    .get("msg")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }
        };
        Ok(Self {
            task_id: TaskId::new(data.task_id),
            family: ApiFamily::Veo,
            hint,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kie's documented scheme, computed independently of `signature_is_valid`.
    fn signed(key: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_signature_holds_for_its_task_time_and_key_only() {
        let good = signed("key", "veo_task_1.1732000000");
        assert!(signature_is_valid(
            b"key",
            "veo_task_1",
            "1732000000",
            &good
        ));
        assert!(!signature_is_valid(
            b"key",
            "veo_task_2",
            "1732000000",
            &good
        ));
        assert!(!signature_is_valid(
            b"key",
            "veo_task_1",
            "1732000001",
            &good
        ));
        assert!(!signature_is_valid(
            b"other",
            "veo_task_1",
            "1732000000",
            &good
        ));
        assert!(!signature_is_valid(
            b"key",
            "veo_task_1",
            "1732000000",
            "not base64!"
        ));
        assert!(!signature_is_valid(b"key", "veo_task_1", "1732000000", ""));
    }
}
