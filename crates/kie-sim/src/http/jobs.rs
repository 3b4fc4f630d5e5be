//! The jobs API: createTask and recordInfo (also under the seed's name, getTaskDetails).

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::envelope::{self, json_body, not_found, task_id, Params};
use crate::record::View;
use crate::simulator::{now_ms, KeyHash, Simulator};
use crate::validate::{parse_create_task, Rejection};

pub(super) async fn create_task(
    State(sim): State<Simulator>,
    key: KeyHash,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = json_body(&body)?;
    let id = sim.create(key, &body, parse_create_task)?;
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
        .with_task(key, id, false, |task, id| {
            View {
                task,
                id,
                now_ms,
                base_url: &base_url,
            }
            .job_record()
        })
        .ok_or_else(|| not_found("task"))?;
    Ok(envelope::ok(data))
}
