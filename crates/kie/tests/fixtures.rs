//! Every example body of `shared/spec/kie-api.md`, decoded into the typed and normalised
//! forms (and, for the wire types, encoded back to the very same JSON).

use std::str::FromStr;

use kie::response::{JobsRecordInfo, JobsState, VeoRecordInfo};
use kie::{
    answer, ApiFamily, AspectRatioField, Callback, KieError, TaskInput, TaskRequest, TaskState,
    VeoGenerateRequest, VeoModel,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn veo_record_info() -> Value {
    json!({"code": 200, "msg": "success", "data": {
      "taskId": "veo_task_abcdef123456",
      "paramJson": "{\"prompt\":\"...\",\"model\":\"veo3_fast\",...}",
      "successFlag": 1,
      "response": {"taskId": "veo_task_abcdef123456",
                   "resultUrls": ["https://tempfile.aiquickdraw.com/v/abc.mp4"],
                   "originUrls": null, "resolution": "720p"},
      "errorCode": null, "errorMessage": "",
      "createTime": 1732000000000_i64, "completeTime": 1732000090000_i64, "fallbackFlag": false}})
}

fn jobs_record_info() -> Value {
    json!({"code": 200, "msg": "success", "data": {
      "taskId": "task_12345678", "model": "kling-2.6/text-to-video",
      "state": "success",
      "param": "{\"model\":\"kling-2.6/text-to-video\",\"input\":{...}}",
      "resultJson": "{\"resultUrls\":[\"https://.../video.mp4\"]}",
      "failCode": "", "failMsg": "",
      "costTime": 85000, "completeTime": 1732000090000_i64, "createTime": 1732000000000_i64}})
}

#[test]
fn create_answer_yields_the_task_id() {
    let body = json!({"code": 200, "msg": "success", "data": {"taskId": "task_xxx_123456789"}});
    let id = answer::created(200, &bytes(&body)).unwrap();
    assert_eq!(id.as_str(), "task_xxx_123456789");
}

#[test]
fn veo_create_request_matches_the_spec_example() {
    let request = VeoGenerateRequest {
        prompt: "A dog playing in a park".into(),
        image_urls: vec!["https://example.com/first-frame.png".into()],
        model: VeoModel::Veo3Fast,
        aspect_ratio: "16:9".into(),
        aspect_ratio_field: AspectRatioField::Camel,
        generation_type: None,
        watermark: None,
        enable_translation: None,
        call_back_url: Some("https://your.host/callbacks/kie/...".into()),
    };
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"prompt": "A dog playing in a park",
               "imageUrls": ["https://example.com/first-frame.png"],
               "model": "veo3_fast",
               "aspectRatio": "16:9",
               "callBackUrl": "https://your.host/callbacks/kie/..."})
    );
}

#[test]
fn jobs_create_request_matches_the_spec_example() {
    let request = TaskRequest {
        model: "kling-2.6/text-to-video".into(),
        call_back_url: Some("https://your.host/callbacks/kie/...".into()),
        input: TaskInput::new()
            .with("prompt", "...")
            .with("sound", false)
            .with("aspect_ratio", "16:9")
            .with("duration", "5"),
    };
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"model": "kling-2.6/text-to-video",
               "callBackUrl": "https://your.host/callbacks/kie/...",
               "input": {"prompt": "...", "sound": false, "aspect_ratio": "16:9", "duration": "5"}})
    );
}

#[test]
fn veo_record_info_normalises_to_success_with_its_video() {
    let body = veo_record_info();
    let status = answer::veo_status(200, &bytes(&body)).unwrap();
    assert_eq!(status.task_id.as_str(), "veo_task_abcdef123456");
    assert_eq!(
        status.state,
        TaskState::Succeeded {
            videos: vec!["https://tempfile.aiquickdraw.com/v/abc.mp4".into()],
            hd_video: None,
        }
    );
    assert_eq!(status.created_at_ms, Some(1_732_000_000_000));
    assert_eq!(status.completed_at_ms, Some(1_732_000_090_000));
    assert_eq!(status.raw, body);
}

#[test]
fn veo_record_info_wire_type_round_trips_exactly() {
    let data = veo_record_info()["data"].clone();
    let record: VeoRecordInfo = serde_json::from_value(data.clone()).unwrap();
    assert_eq!(record.success_flag, 1);
    assert_eq!(record.error_code, None);
    assert_eq!(record.fallback_flag, Some(false));
    let response = record.response.as_ref().unwrap();
    assert_eq!(response.resolution.as_deref(), Some("720p"));
    assert_eq!(response.origin_urls, None);
    assert_eq!(serde_json::to_value(&record).unwrap(), data);
}

#[test]
fn veo_1080p_answer_yields_its_url() {
    let body =
        json!({"code": 200, "msg": "success", "data": {"resultUrl": "https://.../1080p.mp4"}});
    assert_eq!(
        answer::veo_1080p(200, &bytes(&body)).unwrap(),
        "https://.../1080p.mp4"
    );
}

#[test]
fn veo_success_callback_is_a_success_hint() {
    let body = json!({"code": 200, "msg": "Veo3 video generated successfully.",
     "data": {"taskId": "veo_task_abcdef123456",
              "info": {"resultUrls": ["https://.../abc.mp4"], "originUrls": null, "resolution": "720p"},
              "fallbackFlag": false}});
    let callback = Callback::parse(&bytes(&body)).unwrap();
    assert_eq!(callback.task_id.as_str(), "veo_task_abcdef123456");
    assert_eq!(callback.family, ApiFamily::Veo);
    assert_eq!(
        callback.hint,
        TaskState::Succeeded {
            videos: vec!["https://.../abc.mp4".into()],
            hd_video: None
        }
    );
    assert_eq!(callback.raw, body);
}

#[test]
fn veo_failure_callbacks_carry_code_and_message() {
    for code in [400, 422, 500, 501] {
        let body = json!({"code": code, "msg": "Generation failed: prompt flagged",
                          "data": {"taskId": "veo_task_abcdef123456", "info": null,
                                   "fallbackFlag": false}});
        let callback = Callback::parse(&bytes(&body)).unwrap();
        assert_eq!(callback.task_id.as_str(), "veo_task_abcdef123456");
        assert_eq!(
            callback.hint,
            TaskState::Failed {
                code: code.to_string(),
                message: "Generation failed: prompt flagged".into()
            }
        );
    }
}

#[test]
fn jobs_record_info_normalises_to_success_from_its_result_json_string() {
    let body = jobs_record_info();
    let status = answer::jobs_status(200, &bytes(&body)).unwrap();
    assert_eq!(status.task_id.as_str(), "task_12345678");
    assert_eq!(
        status.state,
        TaskState::Succeeded {
            videos: vec!["https://.../video.mp4".into()],
            hd_video: None
        }
    );
    assert_eq!(status.created_at_ms, Some(1_732_000_000_000));
    assert_eq!(status.completed_at_ms, Some(1_732_000_090_000));
}

#[test]
fn jobs_record_info_wire_type_round_trips_exactly() {
    let data = jobs_record_info()["data"].clone();
    let record: JobsRecordInfo = serde_json::from_value(data.clone()).unwrap();
    assert_eq!(record.state, JobsState::Success);
    assert_eq!(record.model.as_deref(), Some("kling-2.6/text-to-video"));
    assert_eq!(record.cost_time, Some(85_000));
    assert_eq!(record.fail_code.as_deref(), Some(""));
    assert_eq!(serde_json::to_value(&record).unwrap(), data);
}

#[test]
fn jobs_callbacks_normalise_like_status_reads() {
    let mut body = jobs_record_info();
    let callback = Callback::parse(&bytes(&body)).unwrap();
    assert_eq!(callback.family, ApiFamily::Jobs);
    assert_eq!(callback.task_id.as_str(), "task_12345678");
    assert!(matches!(callback.hint, TaskState::Succeeded { ref videos, .. } if videos.len() == 1));

    body["code"] = json!(501);
    body["msg"] = json!("failed");
    body["data"]["state"] = json!("fail");
    body["data"]["resultJson"] = json!("");
    body["data"]["failCode"] = json!("500");
    body["data"]["failMsg"] = json!("internal error");
    let callback = Callback::parse(&bytes(&body)).unwrap();
    assert_eq!(
        callback.hint,
        TaskState::Failed {
            code: "500".into(),
            message: "internal error".into()
        }
    );
}

#[test]
fn a_body_that_is_no_callback_is_refused() {
    assert!(Callback::parse(b"not json").is_err());
    assert!(Callback::parse(br#"{"code": 200, "data": {}}"#).is_err());
    let err = Callback::parse(br#"{"code": 200, "data": {"taskId": "t", "info": null}}"#);
    assert!(
        err.is_err(),
        "a success callback without a video is not a success"
    );
}

#[test]
fn credit_answer_is_an_exact_decimal() {
    let body = json!({"code": 200, "msg": "success", "data": 1234.5});
    assert_eq!(
        answer::credit_balance(200, &bytes(&body)).unwrap(),
        Decimal::from_str("1234.5").unwrap()
    );
}

#[test]
fn upload_answer_decodes_every_field() {
    let body = json!({"success": true, "code": 200, "msg": "File uploaded successfully", "data": {
        "fileName": "uploaded-image.png",
        "filePath": "images/user-uploads/uploaded-image.png",
        "downloadUrl": "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
        "fileSize": 154832, "mimeType": "image/png", "uploadedAt": "2025-01-01T12:00:00.000Z"}});
    let file = answer::uploaded_file(200, &bytes(&body)).unwrap();
    assert_eq!(file.file_name, "uploaded-image.png");
    assert_eq!(file.file_path, "images/user-uploads/uploaded-image.png");
    assert_eq!(
        file.download_url,
        "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png"
    );
    assert_eq!(file.file_size, 154_832);
    assert_eq!(file.mime_type, "image/png");
    assert_eq!(file.uploaded_at, "2025-01-01T12:00:00.000Z");
    assert_eq!(serde_json::to_value(&file).unwrap(), body["data"]);
}

#[test]
fn every_documented_error_code_maps_to_its_error_even_with_http_200() {
    type Check = fn(&KieError) -> bool;
    let expect: [(u16, Check); 12] = [
        (
            400,
            |e| matches!(e, KieError::InvalidRequest { code: 400, message } if message == "why"),
        ),
        (401, |e| matches!(e, KieError::Unauthorized { .. })),
        (402, |e| matches!(e, KieError::InsufficientCredits { .. })),
        (404, |e| matches!(e, KieError::NotFound { .. })),
        (
            422,
            |e| matches!(e, KieError::InvalidRequest { code: 422, message } if message == "why"),
        ),
        (429, |e| matches!(e, KieError::RateLimited { .. })),
        (433, |e| matches!(e, KieError::SpendingLimit { .. })),
        (451, |e| matches!(e, KieError::ImageUnreachable { .. })),
        (455, |e| matches!(e, KieError::Maintenance { .. })),
        (
            500,
            |e| matches!(e, KieError::Server { code: 500, message } if message == "why"),
        ),
        (501, |e| matches!(e, KieError::GenerationFailed { .. })),
        (505, |e| matches!(e, KieError::FeatureDisabled { .. })),
    ];
    for (code, is_expected) in expect {
        let body = json!({"code": code, "msg": "why", "data": null});
        for http_status in [200, code] {
            let err = answer::created(http_status, &bytes(&body)).unwrap_err();
            assert!(
                is_expected(&err),
                "code {code} over HTTP {http_status} gave {err:?}"
            );
            assert_eq!(err.kie_code(), Some(code));
            assert!(err.to_string().contains("why"), "{err}");
        }
    }
}
