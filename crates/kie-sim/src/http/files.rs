//! Files: the stream upload (Kie serves it from its own host; here, the same one), uploaded
//! files, and the result videos every finished task points at.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::json;

use crate::media::{self, VIDEO_1080P, VIDEO_720P};
use crate::simulator::{now_ms, KeyHash, Simulator, Upload};
use crate::task::{TaskId, TaskState};
use crate::validate::Rejection;

/// The upload API's answers add `success` to the usual envelope.
fn upload_failure(r: Rejection) -> Response {
    Json(json!({"success": false, "code": r.code, "msg": r.msg, "data": null})).into_response()
}

fn bad(msg: impl Into<String>) -> Rejection {
    Rejection::new(400, msg)
}

/// What the multipart form carried.
#[derive(Default)]
struct Form {
    file: Option<(Option<String>, Option<String>, Bytes)>,
    upload_path: Option<String>,
    file_name: Option<String>,
}

async fn read_form(mut multipart: Multipart) -> Result<Form, Rejection> {
    let mut form = Form::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let original = field.file_name().map(str::to_owned);
                let mime = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|e| bad(format!("file: {e}")))?;
                form.file = Some((original, mime, bytes));
            }
            "uploadPath" | "fileName" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| bad(format!("{name}: {e}")))?;
                if name == "uploadPath" {
                    form.upload_path = Some(text);
                } else {
                    form.file_name = Some(text);
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

fn check_upload_path(path: &str) -> Result<(), Rejection> {
    if path.is_empty() {
        return Err(bad("uploadPath is required"));
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err(bad("uploadPath must not start or end with a slash"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(bad("uploadPath has an empty, '.' or '..' segment"));
    }
    Ok(())
}

pub(super) async fn upload(
    State(sim): State<Simulator>,
    key: Result<KeyHash, Rejection>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    match store_upload(&sim, key, multipart).await {
        Ok(data) => Json(json!({
            "success": true, "code": 200, "msg": "File uploaded successfully", "data": data,
        }))
        .into_response(),
        Err(r) => upload_failure(r),
    }
}

async fn store_upload(
    sim: &Simulator,
    key: Result<KeyHash, Rejection>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<serde_json::Value, Rejection> {
    key?;
    let multipart = multipart.map_err(|e| bad(format!("expected a multipart form: {e}")))?;
    let form = read_form(multipart).await?;
    let (original, mime, bytes) = form.file.ok_or_else(|| bad("file is required"))?;
    let upload_path = form.upload_path.unwrap_or_default();
    check_upload_path(&upload_path)?;
    let file_name = match form.file_name.filter(|n| !n.trim().is_empty()) {
        Some(name) if name.contains('/') || name == "." || name == ".." => {
            return Err(bad("fileName must be a plain file name"))
        }
        Some(name) => name,
        None => {
            let ext = original
                .as_deref()
                .and_then(|o| o.rsplit_once('.'))
                .map(|(_, ext)| format!(".{ext}"))
                .filter(|ext| !ext.contains('/'))
                .unwrap_or_default();
            format!("{:016x}{ext}", sim.lock().random_u64())
        }
    };
    let mime = mime
        .filter(|m| m != "application/octet-stream")
        .unwrap_or_else(|| mime_from_name(&file_name).to_owned());
    let file_path = format!("{upload_path}/{file_name}");
    let download_url = download_url(&sim.base_url(), &file_path);
    let size = bytes.len();
    sim.lock().uploads.insert(
        file_path.clone(),
        Upload {
            bytes,
            mime: mime.clone(),
        },
    );
    Ok(json!({
        "fileName": file_name,
        "filePath": file_path,
        "downloadUrl": download_url,
        "fileSize": size,
        "mimeType": mime,
        "uploadedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }))
}

/// File names may hold spaces and the like: each path segment is percent-encoded.
fn download_url(base_url: &str, file_path: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(mut url) => {
            if let Ok(mut segments) = url.path_segments_mut() {
                segments
                    .pop_if_empty()
                    .push("files")
                    .extend(file_path.split('/'));
            }
            url.to_string()
        }
        Err(_) => format!("{base_url}/files/{file_path}"),
    }
}

fn mime_from_name(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

fn gone() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

pub(super) async fn uploaded(
    State(sim): State<Simulator>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let file = sim.lock().uploads.get(&path).cloned();
    match file {
        Some(f) => media::serve(f.bytes, &f.mime, &headers),
        None => gone(),
    }
}

/// `{taskId}.mp4`, or `{taskId}_1080p.mp4` / `{taskId}_4k.mp4` for Veo's upgrades once they
/// are made (the 4K file is the 1080p sample: the simulator ships no 4K clip).
pub(super) async fn result(
    State(sim): State<Simulator>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(stem) = file.strip_suffix(".mp4") else {
        return gone();
    };
    let (stem, hd, uhd) = match (stem.strip_suffix("_1080p"), stem.strip_suffix("_4k")) {
        (Some(stem), _) => (stem, true, false),
        (None, Some(stem)) => (stem, false, true),
        (None, None) => (stem, false, false),
    };
    let Some(id) = TaskId::parse(stem) else {
        return gone();
    };
    let now = now_ms();
    let hd_delay_ms = sim.shared.hd_delay_ms();
    let servable = {
        let st = sim.lock();
        st.tasks.get(&id.number).is_some_and(|t| {
            t.model.is_veo() == id.veo
                && t.seq >= st.files_kept_from_seq
                && t.state(now) == TaskState::Success
                && (!hd || t.hd_ready_ms(hd_delay_ms).is_some_and(|at| at <= now))
                && (!uhd
                    || st
                        .upgrades
                        .get(&id.number)
                        .and_then(|u| u.uhd.as_ref())
                        .is_some_and(|u| !u.fails && u.ready_ms <= now))
        })
    };
    match (servable, hd || uhd) {
        (false, _) => gone(),
        (true, false) => media::serve(Bytes::from_static(VIDEO_720P), "video/mp4", &headers),
        (true, true) => media::serve(Bytes::from_static(VIDEO_1080P), "video/mp4", &headers),
    }
}
