//! Decoding each endpoint's answer (HTTP status + body) into typed values, without doing any
//! I/O: [`KieClient`](crate::KieClient) uses these, and so can a caller with its own HTTP stack.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::envelope::{self, Envelope};
use crate::error::KieError;
use crate::response::{CreatedTask, JobsRecordInfo, UploadedFile, Veo1080p, Veo4k, VeoRecordInfo};
use crate::status::TaskStatus;
use crate::task_id::TaskId;

/// A create answer (`POST /api/v1/veo/generate` or `/api/v1/jobs/createTask`).
pub fn created(http_status: u16, body: &[u8]) -> Result<TaskId, KieError> {
    let env = envelope::decode(http_status, body)?;
    let created: CreatedTask = env.data_as()?;
    if created.task_id.is_empty() {
        return Err(env.undecodable());
    }
    Ok(TaskId::new(created.task_id))
}

/// `GET /api/v1/veo/record-info`.
pub fn veo_status(http_status: u16, body: &[u8]) -> Result<TaskStatus, KieError> {
    let env = status_envelope(http_status, body)?;
    let record: VeoRecordInfo = env.data_as()?;
    TaskStatus::from_veo(&record, env.body.clone()).map_err(|why| malformed(&env, &why.0))
}

/// `GET /api/v1/jobs/recordInfo` (or the older `getTaskDetails`).
pub fn jobs_status(http_status: u16, body: &[u8]) -> Result<TaskStatus, KieError> {
    let env = status_envelope(http_status, body)?;
    let record: JobsRecordInfo = env.data_as()?;
    TaskStatus::from_jobs(&record, env.body.clone()).map_err(|why| malformed(&env, &why.0))
}

/// `GET /api/v1/veo/get-1080p-video`: the 1080p video's URL. Until the 1080p version is ready
/// Kie answers with an error code; the caller retries a while.
pub fn veo_1080p(http_status: u16, body: &[u8]) -> Result<String, KieError> {
    let env = envelope::decode(http_status, body)?;
    let hd: Veo1080p = env.data_as()?;
    Ok(hd.result_url)
}

/// `POST /api/v1/veo/get-4k-video`: the 4K video's URL once it is made, `None` while Kie is
/// making it (the first answer, and Kie's 422 "4k is processing" after it). Any other refusal
/// (the 4K version is unavailable, the task is unknown or failed) is the error.
pub fn veo_4k(http_status: u16, body: &[u8]) -> Result<Option<String>, KieError> {
    let env = match envelope::decode(http_status, body) {
        Ok(env) => env,
        Err(KieError::InvalidRequest { code: 422, message })
            if message.to_ascii_lowercase().contains("processing") =>
        {
            return Ok(None)
        }
        Err(other) => return Err(other),
    };
    let uhd: Veo4k = env.data_as()?;
    Ok(uhd.result_urls.and_then(|urls| urls.into_iter().next()))
}

/// `GET /api/v1/chat/credit`: the account's remaining Kie credits, exactly as Kie wrote them.
pub fn credit_balance(http_status: u16, body: &[u8]) -> Result<Decimal, KieError> {
    let env = envelope::decode(http_status, body)?;
    decimal_of(env.data()).ok_or_else(|| env.undecodable())
}

/// `POST {upload}/api/file-stream-upload`.
pub fn uploaded_file(http_status: u16, body: &[u8]) -> Result<UploadedFile, KieError> {
    envelope::decode(http_status, body)?.data_as()
}

/// Record-info forgets tasks after 14 days and then answers 422 "record is null": for a status
/// read that means the task is unknown, which callers handle as they handle 404.
fn status_envelope(http_status: u16, body: &[u8]) -> Result<Envelope, KieError> {
    envelope::decode(http_status, body).map_err(|err| match err {
        KieError::InvalidRequest { code: 422, message }
            if message.to_ascii_lowercase().contains("record is null") =>
        {
            KieError::NotFound { message }
        }
        other => other,
    })
}

fn malformed(env: &Envelope, why: &str) -> KieError {
    tracing::debug!(reason = why, "Kie status answer does not describe a task");
    env.undecodable()
}

/// Without serde_json's arbitrary precision a number arrives as an f64; its shortest
/// round-trip text is exactly what Kie wrote for any balance of up to 15 significant digits,
/// so going through text (never through float arithmetic) keeps the balance exact.
fn decimal_of(value: &Value) -> Option<Decimal> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::prelude::FromPrimitive;

    #[test]
    fn balances_keep_the_digits_kie_sent() {
        assert_eq!(
            decimal_of(&serde_json::json!(1234.5)),
            Decimal::from_str("1234.5").ok()
        );
        assert_eq!(
            decimal_of(&serde_json::json!(0.1)),
            Decimal::from_str("0.1").ok()
        );
        assert_eq!(decimal_of(&serde_json::json!(42)), Decimal::from_i64(42));
        assert_eq!(
            decimal_of(&serde_json::json!("7.25")),
            Decimal::from_str("7.25").ok()
        );
        assert_eq!(decimal_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn expired_record_reads_as_not_found() {
        let err = veo_status(
            200,
            br#"{"code": 422, "msg": "record is null", "data": null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, KieError::NotFound { .. }));
        let err = veo_1080p(
            200,
            br#"{"code": 422, "msg": "record is null", "data": null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, KieError::InvalidRequest { code: 422, .. }));
    }

    #[test]
    fn a_4k_answer_is_its_url_or_not_yet() {
        let started = br#"{"code": 200, "msg": "success", "data": {"taskId": "veo_task_1", "resultUrls": null, "imageUrls": null}}"#;
        assert_eq!(veo_4k(200, started).unwrap(), None);
        let processing = br#"{"code": 422, "msg": "4k is processing. It should be ready in 5-10 minutes. Please check back shortly.", "data": null}"#;
        assert_eq!(veo_4k(200, processing).unwrap(), None);
        let ready = br#"{"code": 200, "msg": "success", "data": {"taskId": "veo_task_1", "resultUrls": ["https://f/4k.mp4"]}}"#;
        assert_eq!(
            veo_4k(200, ready).unwrap().as_deref(),
            Some("https://f/4k.mp4")
        );
        let unavailable = br#"{"code": 422, "msg": "The 4K version of this video is unavailable. Please try a different video.", "data": null}"#;
        assert!(matches!(
            veo_4k(200, unavailable),
            Err(KieError::InvalidRequest { code: 422, .. })
        ));
    }

    #[test]
    fn a_create_answer_without_a_task_id_is_undecodable() {
        let err = created(
            200,
            br#"{"code": 200, "msg": "success", "data": {"taskId": ""}}"#,
        )
        .unwrap_err();
        assert!(err.may_have_created_task());
        let err = created(200, br#"{"code": 200, "msg": "success", "data": null}"#).unwrap_err();
        assert!(matches!(err, KieError::Undecodable { status: 200, .. }));
    }
}
