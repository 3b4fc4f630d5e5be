//! Callbacks Kie POSTs to a task's `callBackUrl` when it ends.
//!
//! Kie does not sign them: anyone who learns the URL can post one. So a callback is only a
//! hint, to be confirmed with a status read before acting on it.

use serde_json::Value;

use crate::envelope::{code_of, snippet};
use crate::response::{JobsRecordInfo, VeoCallbackData};
use crate::status::{veo_success, TaskState};
use crate::task_id::TaskId;

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
