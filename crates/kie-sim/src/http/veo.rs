//! Veo 3.1's own endpoints: generate, record-info, get-1080p-video.

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::envelope::{self, json_body, not_found, task_id, Params};
use crate::record::{hd_result_url, View};
use crate::simulator::{now_ms, KeyHash, Simulator};
use crate::validate::{parse_veo_generate, Rejection};

pub(super) async fn generate(
    State(sim): State<Simulator>,
    key: KeyHash,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = json_body(&body)?;
    let id = sim.create(key, &body, parse_veo_generate)?;
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

/// Only 16:9 tasks, only after success, and only once the HD file has caught up.
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
    sim.with_task(key, id, true, |task, id| {
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
            Some(_) => Ok(envelope::ok(
                json!({"resultUrl": hd_result_url(&base_url, id)}),
            )),
        }
    })
    .ok_or_else(|| not_found("task"))?
}

fn processing() -> Rejection {
    Rejection::invalid(
        "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly.",
    )
}
