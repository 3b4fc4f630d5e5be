//! The API key never shows in `Debug` output, errors or logs, even when Kie's answer quotes it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use kie::{
    KieClient, KieConfig, KieError, RetryPolicy, SecretString, TaskId, TaskInput, TaskRequest, Url,
};
use serde_json::json;

const KEY: &str = "sk-live-7f3a9c1e5b2d4f60";

/// Collects log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn echo(headers: &HeaderMap) -> String {
    headers["authorization"].to_str().unwrap().to_owned()
}

async fn kie_that_quotes_the_key() -> Url {
    let router = Router::new()
        .route(
            "/api/v1/chat/credit",
            get(|headers: HeaderMap| async move {
                Json(json!({"code": 401, "msg": format!("bad key: {}", echo(&headers))}))
            }),
        )
        .route(
            "/api/v1/veo/record-info",
            get(|headers: HeaderMap| async move { format!("<html>{}</html>", echo(&headers)) }),
        )
        .route(
            "/api/v1/jobs/createTask",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Url::parse(&format!("http://{addr}")).unwrap()
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_errors_or_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = KieConfig {
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..KieConfig::for_single_host(kie_that_quotes_the_key().await, SecretString::from(KEY))
    };
    let config_debug = format!("{config:?}");
    let kie = KieClient::new(config).unwrap();
    let request = TaskRequest {
        model: "sora-2-text-to-video".into(),
        call_back_url: None,
        input: TaskInput::new().with("prompt", "a boat"),
    };
    let errors: Vec<KieError> = vec![
        kie.credit_balance().await.unwrap_err(),
        kie.veo_status(&TaskId::from("veo_1")).await.unwrap_err(),
        kie.create_task(&request).await.unwrap_err(),
    ];

    assert!(matches!(errors[0], KieError::Unauthorized { .. }));
    assert!(matches!(errors[1], KieError::Undecodable { .. }));
    assert!(matches!(errors[2], KieError::OutcomeUnknown { .. }));
    // The answers did carry the key: it was redacted, not merely absent.
    assert!(
        errors[0].to_string().contains("[REDACTED]"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].to_string().contains("[REDACTED]"),
        "{}",
        errors[1]
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("kie call") && logs.contains("/api/v1/chat/credit"),
        "{logs}"
    );
    let mut outputs = vec![config_debug, format!("{kie:?}"), logs];
    for err in &errors {
        outputs.push(format!("{err:?}"));
        outputs.push(err.to_string());
    }
    for output in outputs {
        assert!(!output.contains(KEY), "the key leaked into: {output}");
    }
}
