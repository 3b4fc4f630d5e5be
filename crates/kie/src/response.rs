//! The `data` of Kie's answers and callbacks, named and spelled as on the wire.
//!
//! Veo's fields are camelCase; the jobs API's `param` and `resultJson` are JSON *strings*;
//! times are milliseconds since the epoch.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `data` of a create answer (both families).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTask {
    pub task_id: String,
}

/// `data` of `GET /api/v1/veo/record-info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoRecordInfo {
    pub task_id: String,
    #[serde(default)]
    pub param_json: Option<String>,
    /// 0 generating, 1 success, 2 failed, 3 generation failed.
    pub success_flag: u8,
    /// `null` until success.
    #[serde(default)]
    pub response: Option<VeoResult>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default, deserialize_with = "millis")]
    pub create_time: Option<i64>,
    #[serde(default, deserialize_with = "millis")]
    pub complete_time: Option<i64>,
    #[serde(default)]
    pub fallback_flag: Option<bool>,
}

/// Veo's result: `response` in record-info, `info` in a callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default)]
    pub result_urls: Vec<String>,
    #[serde(default)]
    pub origin_urls: Option<Vec<String>>,
    #[serde(default)]
    pub resolution: Option<String>,
}

/// `data` of `GET /api/v1/veo/get-1080p-video`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Veo1080p {
    pub result_url: String,
}

/// `data` of a `get-4k-video` answer: `resultUrls` is `null` until the 4K file is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Veo4k {
    #[serde(default)]
    pub result_urls: Option<Vec<String>>,
}

/// `data` of a Veo callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoCallbackData {
    pub task_id: String,
    #[serde(default)]
    pub info: Option<VeoResult>,
    #[serde(default)]
    pub fallback_flag: Option<bool>,
}

/// A jobs-API task's `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobsState {
    Waiting,
    Queuing,
    Generating,
    Success,
    Fail,
}

/// `data` of `GET /api/v1/jobs/recordInfo` (or `getTaskDetails`), and of a jobs callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsRecordInfo {
    pub task_id: String,
    #[serde(default)]
    pub model: Option<String>,
    pub state: JobsState,
    /// The create request, as a JSON string.
    #[serde(default)]
    pub param: Option<String>,
    /// `{"resultUrls": [...]}` as a JSON string; empty or absent until success.
    #[serde(default)]
    pub result_json: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub fail_code: Option<String>,
    #[serde(default)]
    pub fail_msg: Option<String>,
    #[serde(default)]
    pub cost_time: Option<i64>,
    #[serde(default, deserialize_with = "millis")]
    pub complete_time: Option<i64>,
    #[serde(default, deserialize_with = "millis")]
    pub create_time: Option<i64>,
}

/// What the jobs API's `resultJson` string holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsResult {
    #[serde(default)]
    pub result_urls: Vec<String>,
}

/// `data` of `POST {upload}/api/file-stream-upload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedFile {
    pub file_name: String,
    pub file_path: String,
    pub download_url: String,
    pub file_size: u64,
    pub mime_type: String,
    pub uploaded_at: String,
}

/// Kie's error codes arrive as numbers, strings or `null` depending on the endpoint.
fn text_or_number<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(text) => Some(text),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Times are milliseconds since the epoch; some of Kie's pages show them as formatted dates.
/// A time we cannot read must not make the whole status unreadable, so it becomes `None`.
fn millis<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_are_read_as_text_whatever_their_json_type() {
        let base = json!({"taskId": "t", "successFlag": 2});
        let with = |code: Value| {
            let mut v = base.clone();
            v["errorCode"] = code;
            serde_json::from_value::<VeoRecordInfo>(v)
                .unwrap()
                .error_code
        };
        assert_eq!(with(json!(501)), Some("501".into()));
        assert_eq!(with(json!("E_SAFETY")), Some("E_SAFETY".into()));
        assert_eq!(with(Value::Null), None);
    }

    #[test]
    fn formatted_dates_do_not_break_a_record() {
        let rec: JobsRecordInfo = serde_json::from_value(json!({
            "taskId": "t", "state": "generating", "createTime": "2025-06-06 10:25:00",
            "completeTime": null}))
        .unwrap();
        assert_eq!((rec.create_time, rec.complete_time), (None, None));
    }

    #[test]
    fn unknown_jobs_state_is_rejected() {
        let res =
            serde_json::from_value::<JobsRecordInfo>(json!({"taskId": "t", "state": "paused"}));
        assert!(res.is_err());
    }
}
