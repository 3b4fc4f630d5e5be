//! The Kie client: one method per endpoint, each with its delivery rule.

use std::fmt;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::multipart::{Form, Part};
use rust_decimal::Decimal;
use serde::Serialize;
use url::Url;

use crate::answer;
use crate::config::{JobsStatusPath, KieConfig};
use crate::error::KieError;
use crate::request::{TaskRequest, VeoExtendRequest, VeoGenerateRequest};
use crate::response::UploadedFile;
use crate::status::TaskStatus;
use crate::task_id::TaskId;
use crate::transport::{Delivery, Transport};

const VEO_GENERATE: &str = "/api/v1/veo/generate";
const VEO_RECORD_INFO: &str = "/api/v1/veo/record-info";
const VEO_1080P: &str = "/api/v1/veo/get-1080p-video";
const VEO_4K: &str = "/api/v1/veo/get-4k-video";
const VEO_EXTEND: &str = "/api/v1/veo/extend";
const JOBS_CREATE: &str = "/api/v1/jobs/createTask";
const CREDIT: &str = "/api/v1/chat/credit";
const FILE_STREAM_UPLOAD: &str = "/api/file-stream-upload";

/// A file for [`KieClient::upload`].
#[derive(Clone)]
pub struct FileUpload {
    pub bytes: Bytes,
    /// The file's own name, sent with the `file` part (Kie reads the type from it).
    pub file_name: String,
    pub mime: String,
    /// Folder at Kie, e.g. `images/user-uploads`; slashes at either end are dropped.
    pub upload_path: String,
    /// `fileName`: the name to store the file under. Kie overwrites a file of the same name,
    /// so leave it `None` (Kie picks a random name) unless the name is unique.
    pub stored_name: Option<String>,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("bytes", &self.bytes.len())
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .field("upload_path", &self.upload_path)
            .field("stored_name", &self.stored_name)
            .finish()
    }
}

/// A typed client for Kie AI. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct KieClient {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    transport: Transport,
    base_url: Url,
    upload_base_url: Url,
    status_path: JobsStatusPath,
    upload_timeout: std::time::Duration,
}

impl fmt::Debug for KieClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KieClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("upload_base_url", &self.inner.upload_base_url.as_str())
            .field("status_path", &self.inner.status_path)
            .field("api_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl KieClient {
    pub fn new(config: KieConfig) -> Result<Self, KieError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Kie does not redirect; following one would turn a POST into a GET, or carry the
            // request somewhere we did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kie-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(KieError::Transport)?;
        Ok(Self {
            inner: std::sync::Arc::new(Inner {
                transport: Transport {
                    http,
                    api_key: config.api_key,
                    retry: config.retry,
                },
                base_url: config.base_url,
                upload_base_url: config.upload_base_url,
                status_path: config.status_path,
                upload_timeout: config.upload_timeout,
            }),
        })
    }

    /// `POST /api/v1/veo/generate`. Never re-sent: see [`KieError::OutcomeUnknown`].
    pub async fn create_veo(&self, request: &VeoGenerateRequest) -> Result<TaskId, KieError> {
        self.create(VEO_GENERATE, request).await
    }

    /// `POST /api/v1/veo/extend`: a new task continuing a finished one. Never re-sent.
    pub async fn extend_veo(&self, request: &VeoExtendRequest) -> Result<TaskId, KieError> {
        self.create(VEO_EXTEND, request).await
    }

    /// `POST /api/v1/jobs/createTask` (Sora 2, Kling 2.6, Grok Imagine). Never re-sent.
    pub async fn create_task(&self, request: &TaskRequest) -> Result<TaskId, KieError> {
        self.create(JOBS_CREATE, request).await
    }

    /// `GET /api/v1/veo/record-info`. Retried on transient failures.
    pub async fn veo_status(&self, task_id: &TaskId) -> Result<TaskStatus, KieError> {
        self.read(
            VEO_RECORD_INFO,
            &[("taskId", task_id.as_str())],
            answer::veo_status,
        )
        .await
    }

    /// The jobs API's status read, at the configured path. Retried on transient failures.
    pub async fn task_status(&self, task_id: &TaskId) -> Result<TaskStatus, KieError> {
        let path = self.inner.status_path.path();
        self.read(path, &[("taskId", task_id.as_str())], answer::jobs_status)
            .await
    }

    /// `GET /api/v1/veo/get-1080p-video`: the 1080p video's URL (16:9 Veo videos only).
    /// Kie answers an error code until the 1080p version is ready, which can be minutes after
    /// success; that wait is the caller's, this call only retries transient failures.
    pub async fn veo_1080p(&self, task_id: &TaskId, index: u32) -> Result<String, KieError> {
        let index = index.to_string();
        self.read(
            VEO_1080P,
            &[("taskId", task_id.as_str()), ("index", &index)],
            answer::veo_1080p,
        )
        .await
    }

    /// `POST /api/v1/veo/get-4k-video`: starts the 4K version of a finished Veo video (charged
    /// once by Kie), then answers `None` until it is made (5–10 minutes) and its URL after.
    /// Asking again is how Kie says to wait for it, so transient failures are retried.
    pub async fn veo_4k(
        &self,
        task_id: &TaskId,
        index: u32,
        call_back_url: Option<&str>,
    ) -> Result<Option<String>, KieError> {
        let mut body = serde_json::json!({"taskId": task_id.as_str(), "index": index});
        if let Some(url) = call_back_url {
            body["callBackUrl"] = url.into();
        }
        let url = self.api_url(VEO_4K);
        let http = &self.inner.transport.http;
        self.inner
            .transport
            .call(
                VEO_4K,
                Delivery::Retried,
                || http.post(url.clone()).json(&body),
                answer::veo_4k,
            )
            .await
    }

    /// `GET /api/v1/chat/credit`: the account's remaining Kie credits.
    pub async fn credit_balance(&self) -> Result<Decimal, KieError> {
        self.read(CREDIT, &[], answer::credit_balance).await
    }

    /// Uploads a file for Kie to fetch, under a random name Kie picks. Files are deleted after
    /// three days: upload just before submitting.
    pub async fn upload_file(
        &self,
        bytes: impl Into<Bytes>,
        file_name: &str,
        mime: &str,
        upload_path: &str,
    ) -> Result<UploadedFile, KieError> {
        self.upload(&FileUpload {
            bytes: bytes.into(),
            file_name: file_name.to_owned(),
            mime: mime.to_owned(),
            upload_path: upload_path.to_owned(),
            stored_name: None,
        })
        .await
    }

    /// `POST {upload_base_url}/api/file-stream-upload`. Not retried.
    pub async fn upload(&self, upload: &FileUpload) -> Result<UploadedFile, KieError> {
        let Ok(content_type) = HeaderValue::from_str(&upload.mime) else {
            return Err(KieError::InvalidRequest {
                code: 400,
                message: format!("not a MIME type: {:?}", upload.mime),
            });
        };
        let url = join(&self.inner.upload_base_url, FILE_STREAM_UPLOAD);
        let http = &self.inner.transport.http;
        let timeout = self.inner.upload_timeout;
        let build = || {
            http.post(url.clone())
                .timeout(timeout)
                .multipart(upload_form(upload, &content_type))
        };
        self.inner
            .transport
            .call(
                FILE_STREAM_UPLOAD,
                Delivery::Once,
                build,
                answer::uploaded_file,
            )
            .await
    }

    async fn create(&self, path: &'static str, body: &impl Serialize) -> Result<TaskId, KieError> {
        let url = self.api_url(path);
        let http = &self.inner.transport.http;
        let build = || http.post(url.clone()).json(body);
        self.inner
            .transport
            .call(path, Delivery::AtMostOnce, build, answer::created)
            .await
    }

    async fn read<T>(
        &self,
        path: &'static str,
        query: &[(&str, &str)],
        decode: fn(u16, &[u8]) -> Result<T, KieError>,
    ) -> Result<T, KieError> {
        let url = self.api_url(path);
        let http = &self.inner.transport.http;
        self.inner
            .transport
            .call(
                path,
                Delivery::Retried,
                || http.get(url.clone()).query(query),
                decode,
            )
            .await
    }

    fn api_url(&self, path: &str) -> String {
        join(&self.inner.base_url, path)
    }
}

/// Appends `path` to a base URL, keeping any path prefix the base has (`Url::join` with an
/// absolute path would drop it).
fn join(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

fn upload_form(upload: &FileUpload, content_type: &HeaderValue) -> Form {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, content_type.clone());
    let file = Part::stream(reqwest::Body::from(upload.bytes.clone()))
        .file_name(upload.file_name.clone())
        .headers(headers);
    let form = Form::new().part("file", file).text(
        "uploadPath",
        upload.upload_path.trim_matches('/').to_owned(),
    );
    match &upload.stored_name {
        Some(name) => form.text("fileName", name.clone()),
        None => form,
    }
}
