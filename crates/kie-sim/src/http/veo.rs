//! Veo 3.1's own endpoints: generate, record-info, get-1080p-video, get-4k-video.

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::envelope::{self, json_body, not_found, task_id, Params};
use crate::record::{hd_result_url, View};
use crate::simulator::{now_ms, KeyHash, Simulator};
use crate::task::TaskState;
use crate::upgrade::UhdAnswer;
use crate::validate::{parse_veo_extend, parse_veo_generate, Fields, Rejection};

pub(super) async fn generate(
    State(sim): State<Simulator>,
    key: KeyHash,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = json_body(&body)?;
    let id = sim.create(key, &body, parse_veo_generate)?;
    Ok(envelope::ok(json!({"taskId": id.to_string()})))
}

/// `POST /api/v1/veo/extend`: a new task continuing a succeeded Veo task of this key's. An
/// upscaled (4K) video cannot be extended, as Kie's page says.
pub(super) async fn extend(
    State(sim): State<Simulator>,
    key: KeyHash,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = json_body(&body)?;
    // The body's own faults first, as Kie validates before it looks the task up.
    parse_veo_extend(&body)?;
    let original = body
        .get("taskId")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let now = now_ms();
    let state = sim
        .with_task(key, original, true, |task, _| task.state(now))
        .ok_or_else(|| not_found("task"))?;
    if state != TaskState::Success {
        return Err(Rejection::invalid(
            "only a successfully generated video can be extended",
        ));
    }
    if sim.was_upscaled(original) {
        return Err(Rejection::invalid(
            "an upscaled (4K) video cannot be extended",
        ));
    }
    let id = sim.create(key, &body, parse_veo_extend)?;
    Ok(envelope::ok(json!({"taskId": id.to_string()})))
}

pub(super) async fn record_info(
    State(sim): State<Simulator>,
    key: KeyHash,
    params: Params,
) -> Result<Response, Rejection> {
    let id = task_id(&params)?;
    let base_url = sim.base_url();
    let now_ms = now_ms();
    let data = sim
        .with_task(key, id, true, |task, id| {
            View {
                task,
                id,
                now_ms,
                base_url: &base_url,
            }
            .veo_record()
        })
        .ok_or_else(|| not_found("task"))?;
    Ok(envelope::ok(data))
}

/// Only after success, and only once the HD file has caught up; charged the first time.
pub(super) async fn hd_video(
    State(sim): State<Simulator>,
    key: KeyHash,
    params: Params,
) -> Result<Response, Rejection> {
    let id = task_id(&params)?;
    match params.get("index").map(|i| i.trim()) {
        None | Some("0") => {}
        Some(other) => {
            return Err(Rejection::invalid(format!(
                "index {other} is out of range: the task has one video (index 0)"
            )))
        }
    }
    let base_url = sim.base_url();
    let now_ms = now_ms();
    let hd_delay_ms = sim.shared.hd_delay_ms();
    let answer = sim.with_task(key, id, true, |task, id| {
        if !task.hd_available {
            return Err(Rejection::invalid(
                "1080P is only available for 16:9 videos",
            ));
        }
        // Not finished yet looks the same whatever the outcome will be.
        if !task.state(now_ms).is_final() {
            return Err(processing());
        }
        match task.hd_ready_ms(hd_delay_ms) {
            None => Err(Rejection::invalid(
                "The task did not succeed: no 1080P video",
            )),
            Some(ready) if now_ms < ready => Err(processing()),
            Some(_) => Ok((id, hd_result_url(&base_url, id))),
        }
    });
    let (id, url) = answer.ok_or_else(|| not_found("task"))??;
    sim.charge_hd_once(id.number)?;
    Ok(envelope::ok(json!({"resultUrl": url})))
}

/// `POST /api/v1/veo/get-4k-video` (`taskId`, `index`, `callBackUrl`): the first request
/// starts the 4K file and is charged; later ones answer 422 until it is made, then its URL.
pub(super) async fn uhd_video(
    State(sim): State<Simulator>,
    key: KeyHash,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = json_body(&body)?;
    let f = Fields::body(&body)?;
    f.only(&["taskId", "index", "callBackUrl"], "veo/get-4k-video")?;
    let id = f
        .string("taskId")?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejection::invalid("taskId is required"))?;
    if let Some(index) = f.integer("index", 0..=i64::MAX, false)? {
        if index != 0 {
            return Err(Rejection::invalid(format!(
                "index {index} is out of range: the task has one video (index 0)"
            )));
        }
    }
    let callback_url = f.url("callBackUrl")?;
    // Kie shows a task only to the account (key) that created it, for upgrades as for reads.
    let id = sim
        .with_task(key, id, true, |_, id| id)
        .ok_or_else(|| not_found("task"))?;
    let delay = sim.shared.uhd_delay;
    let (urls, task_id) = match sim.request_uhd(id, callback_url, delay)? {
        UhdAnswer::Started => (serde_json::Value::Null, id.to_string()),
        UhdAnswer::Ready(url) => (json!([url]), id.to_string()),
    };
    Ok(envelope::ok(
        json!({"taskId": task_id, "resultUrls": urls, "imageUrls": null}),
    ))
}

fn processing() -> Rejection {
    Rejection::invalid(
        "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly.",
    )
}
