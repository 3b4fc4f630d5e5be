//! The client against a tiny stand-in for Kie's wire, answering exactly what each test needs.

use std::future::{ready, Ready};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use kie::{
    JobsStatusPath, KieClient, KieConfig, KieError, RetryPolicy, SecretString, TaskId, TaskInput,
    TaskRequest, TaskState, Url,
};
use serde_json::{json, Value};

const KEY: &str = "kie-test-key-0123456789abcdef";

async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Url::parse(&format!("http://{addr}")).unwrap()
}

fn config(base_url: Url) -> KieConfig {
    KieConfig {
        request_timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
        ..KieConfig::for_single_host(base_url, SecretString::from(KEY))
    }
}

fn client(base_url: Url) -> KieClient {
    KieClient::new(config(base_url)).unwrap()
}

fn kling() -> TaskRequest {
    TaskRequest {
        model: "kling-2.6/text-to-video".into(),
        call_back_url: None,
        input: TaskInput::new()
            .with("prompt", "a fox")
            .with("sound", false),
    }
}

/// Counts the requests a route receives.
#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

impl Hits {
    fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn ok(data: Value) -> Json<Value> {
    Json(json!({"code": 200, "msg": "success", "data": data}))
}

#[tokio::test]
async fn failure_codes_inside_http_200_become_errors() {
    let router = Router::new()
        .route(
            "/api/v1/jobs/createTask",
            post(|| async {
                Json(json!({"code": 402, "msg": "Credits insufficient", "data": null}))
            }),
        )
        .route(
            "/api/v1/chat/credit",
            get(|| async { Json(json!({"code": 401, "msg": "Invalid API key", "data": null})) }),
        );
    let kie = client(serve(router).await);

    let err = kie.create_task(&kling()).await.unwrap_err();
    assert!(
        matches!(err, KieError::InsufficientCredits { ref message } if message == "Credits insufficient")
    );
    assert!(!err.may_have_created_task());
    let err = kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Unauthorized { .. }) && err.needs_operator());
}

#[tokio::test]
async fn a_create_that_times_out_after_sending_is_outcome_unknown_and_never_resent() {
    let hits = Hits::default();
    let seen = hits.clone();
    let router = Router::new().route(
        "/api/v1/jobs/createTask",
        post(move || {
            seen.bump();
            async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                ok(json!({"taskId": "task_slow"}))
            }
        }),
    );
    let kie = client(serve(router).await);

    let err = kie.create_task(&kling()).await.unwrap_err();
    assert!(matches!(err, KieError::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.may_have_created_task() && !err.is_retryable());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn a_status_read_that_times_out_is_retried() {
    let hits = Hits::default();
    let seen = hits.clone();
    let router = Router::new().route(
        "/api/v1/jobs/recordInfo",
        get(move || {
            let first = seen.bump() == 1;
            async move {
                if first {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                ok(json!({"taskId": "task_1", "state": "generating"}))
            }
        }),
    );
    let kie = client(serve(router).await);

    let status = kie.task_status(&TaskId::from("task_1")).await.unwrap();
    assert_eq!(status.state, TaskState::Running);
    assert_eq!(hits.count(), 2);
}

/// A handler that counts its requests and answers each with Kie's 500.
fn counted_500(
    hits: &Hits,
) -> impl Fn() -> Ready<(StatusCode, Json<Value>)> + Clone + Send + Sync + 'static {
    let hits = hits.clone();
    move || {
        hits.bump();
        let body = json!({"code": 500, "msg": "internal error", "data": null});
        ready((StatusCode::INTERNAL_SERVER_ERROR, Json(body)))
    }
}

#[tokio::test]
async fn status_reads_give_up_after_the_bounded_retries() {
    let hits = Hits::default();
    let router = Router::new().route("/api/v1/veo/record-info", get(counted_500(&hits)));
    let kie = client(serve(router).await);

    let err = kie.veo_status(&TaskId::from("veo_1")).await.unwrap_err();
    assert!(matches!(err, KieError::Server { code: 500, .. }), "{err:?}");
    assert_eq!(hits.count(), 3, "one try and two retries");
}

#[tokio::test]
async fn a_create_answered_with_500_is_reported_once_as_not_created() {
    let hits = Hits::default();
    let router = Router::new().route("/api/v1/veo/generate", post(counted_500(&hits)));
    let kie = client(serve(router).await);

    let err = kie.create_veo(&veo()).await.unwrap_err();
    assert!(matches!(err, KieError::Server { code: 500, .. }));
    assert!(err.is_retryable() && !err.may_have_created_task());
    assert_eq!(hits.count(), 1);
}

fn veo() -> kie::VeoGenerateRequest {
    kie::VeoGenerateRequest {
        prompt: "a dog".into(),
        image_urls: vec![],
        model: kie::VeoModel::Veo3,
        aspect_ratio: "16:9".into(),
        aspect_ratio_field: kie::AspectRatioField::Snake,
        generation_type: None,
        watermark: None,
        enable_translation: None,
        call_back_url: None,
    }
}

#[tokio::test]
async fn a_malformed_body_is_undecodable_with_a_snippet() {
    let router = Router::new()
        .route(
            "/api/v1/jobs/createTask",
            post(|| async { "{\"code\": 200, \"data\": {\"taskId\"" }),
        )
        .route("/api/v1/chat/credit", get(|| async { "<html>oops</html>" }));
    let kie = client(serve(router).await);

    let err = kie.create_task(&kling()).await.unwrap_err();
    assert!(
        matches!(err, KieError::Undecodable { status: 200, ref body_snippet } if body_snippet.contains("taskId")),
        "{err:?}"
    );
    assert!(
        err.may_have_created_task(),
        "a 200 we cannot read may hide a created task"
    );
    let err = kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Undecodable { status: 200, .. }));
}

#[tokio::test]
async fn a_create_that_cannot_connect_is_a_transport_error_not_an_unknown_outcome() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let kie = client(Url::parse(&format!("http://{addr}")).unwrap());

    let err = kie.create_task(&kling()).await.unwrap_err();
    assert!(matches!(err, KieError::Transport(_)), "{err:?}");
    assert!(!err.may_have_created_task());
}

#[tokio::test]
async fn requests_carry_the_key_the_body_and_the_query_kie_expects() {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = seen.clone();
    let log2 = seen.clone();
    let router = Router::new()
        .route(
            "/prefix/api/v1/jobs/createTask",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let auth = headers["authorization"].to_str().unwrap().to_owned();
                log.lock()
                    .unwrap()
                    .push(json!({"auth": auth, "body": body}));
                async { ok(json!({"taskId": "task_42"})) }
            }),
        )
        .route(
            "/prefix/api/v1/veo/get-1080p-video",
            get(move |Query(query): Query<Value>| {
                log2.lock().unwrap().push(query);
                async { ok(json!({"resultUrl": "https://x/1080p.mp4"})) }
            }),
        )
        .route(
            "/prefix/api/v1/jobs/getTaskDetails",
            get(|| async {
                ok(
                    json!({"taskId": "task_42", "state": "fail", "failCode": "400",
                          "failMsg": "prompt flagged"}),
                )
            }),
        );
    let base = serve(router).await.join("prefix/").unwrap();
    let kie = KieClient::new(KieConfig {
        status_path: JobsStatusPath::GetTaskDetails,
        ..config(base)
    })
    .unwrap();

    let id = kie.create_task(&kling()).await.unwrap();
    assert_eq!(id, TaskId::from("task_42"));
    let url = kie.veo_1080p(&TaskId::from("veo_7"), 1).await.unwrap();
    assert_eq!(url, "https://x/1080p.mp4");
    let status = kie.task_status(&id).await.unwrap();
    assert_eq!(
        status.state,
        TaskState::Failed {
            code: "400".into(),
            message: "prompt flagged".into()
        }
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0]["auth"], format!("Bearer {KEY}"));
    assert_eq!(seen[0]["body"], serde_json::to_value(kling()).unwrap());
    assert_eq!(seen[1], json!({"taskId": "veo_7", "index": "1"}));
}

/// An upload endpoint that records the multipart fields it received.
fn upload_recorder(sink: Arc<Mutex<Value>>) -> Router {
    Router::new().route(
        "/api/file-stream-upload",
        post(move |mut form: Multipart| {
            let sink = sink.clone();
            async move {
                let mut fields = serde_json::Map::new();
                while let Some(field) = form.next_field().await.unwrap() {
                    let name = field.name().unwrap().to_owned();
                    let file_name = field.file_name().map(str::to_owned);
                    let mime = field.content_type().map(str::to_owned);
                    let text = String::from_utf8(field.bytes().await.unwrap().to_vec()).unwrap();
                    fields.insert(
                        name,
                        json!({"file_name": file_name, "mime": mime, "text": text}),
                    );
                }
                *sink.lock().unwrap() = Value::Object(fields);
                Json(
                    json!({"success": true, "code": 200, "msg": "File uploaded successfully",
                    "data": {"fileName": "k3j2.png", "filePath": "images/k3j2.png",
                             "downloadUrl": "https://files/images/k3j2.png", "fileSize": 3,
                             "mimeType": "image/png", "uploadedAt": "2026-01-01T00:00:00.000Z"}}),
                )
            }
        }),
    )
}

#[tokio::test]
async fn uploads_go_to_the_upload_host_with_a_trimmed_path_and_no_stored_name() {
    let fields: Arc<Mutex<Value>> = Arc::default();
    let upload_host = serve(upload_recorder(fields.clone())).await;
    let kie = KieClient::new(KieConfig {
        upload_base_url: upload_host,
        ..config(Url::parse("http://127.0.0.1:9").unwrap())
    })
    .unwrap();

    let file = kie
        .upload_file(b"PNG".to_vec(), "cat.png", "image/png", "/images/")
        .await
        .unwrap();

    assert_eq!(file.download_url, "https://files/images/k3j2.png");
    let fields = fields.lock().unwrap().clone();
    assert_eq!(
        fields["file"],
        json!({"file_name": "cat.png", "mime": "image/png", "text": "PNG"})
    );
    assert_eq!(fields["uploadPath"]["text"], "images");
    assert!(
        fields.get("fileName").is_none(),
        "Kie overwrites same-named files"
    );
}

#[tokio::test]
async fn an_upload_may_name_the_stored_file() {
    let fields: Arc<Mutex<Value>> = Arc::default();
    let kie = client(serve(upload_recorder(fields.clone())).await);

    kie.upload(&kie::FileUpload {
        bytes: b"PNG".to_vec().into(),
        file_name: "cat.png".into(),
        mime: "image/png".into(),
        upload_path: "images/user-uploads".into(),
        stored_name: Some("gen-123.png".into()),
    })
    .await
    .unwrap();

    let fields = fields.lock().unwrap().clone();
    assert_eq!(fields["uploadPath"]["text"], "images/user-uploads");
    assert_eq!(fields["fileName"]["text"], "gen-123.png");
}

#[tokio::test]
async fn an_upload_with_an_unusable_mime_type_is_refused_before_sending() {
    let fields: Arc<Mutex<Value>> = Arc::default();
    let kie = client(serve(upload_recorder(fields.clone())).await);

    let err = kie
        .upload_file(b"PNG".to_vec(), "cat.png", "image/\npng", "images")
        .await
        .unwrap_err();
    assert!(
        matches!(err, KieError::InvalidRequest { code: 400, .. }),
        "{err:?}"
    );
    assert_eq!(*fields.lock().unwrap(), Value::Null, "nothing reached Kie");
}

#[tokio::test]
async fn an_empty_key_sends_no_authorization_header() {
    let router = Router::new().route(
        "/api/v1/chat/credit",
        get(|headers: HeaderMap| async move {
            match headers.get("authorization") {
                None => Json(json!({"code": 401, "msg": "missing API key", "data": null})),
                Some(_) => ok(json!(1)),
            }
        }),
    );
    let kie = KieClient::new(KieConfig {
        api_key: SecretString::from(""),
        ..config(serve(router).await)
    })
    .unwrap();

    let err = kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Unauthorized { ref message } if message == "missing API key"));
}
