//! Every error answer is the JSON envelope, also those our handlers never see: hyper's refusal
//! of a malformed request head, a body that trickles in past the request timeout, axum's
//! rejection of an oversized raw body, a missing static file, a method a path does not take.

use crate::helpers::{json, TestApp};
use reelgate::config::Settings;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `request` by hand and reads the answer until the server closes the connection (or
/// `wait` passes): its status and its body as JSON.
async fn raw_exchange(app: &TestApp, request: &[u8], wait: Duration) -> (u16, Value, String) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if complete(&answer) {
                    break;
                }
            }
            Err(_) => panic!(
                "no complete answer within {wait:?}: {}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let envelope = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {text:?}"));
    (status, envelope, head.to_ascii_lowercase())
}

/// The answer's head is in and its body is as long as its `Content-Length` says.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_different_content_lengths_are_refused_in_the_envelope() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let body = r#"{"model": "kling-2.6/text-to-video", "prompt": "a fox"}"#;
    let request = format!(
        "POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nContent-Length: {}\r\n\r\n{body}",
        key.expose(),
        body.len(),
        body.len() + 1,
    );
    let (status, envelope, head) =
        raw_exchange(&app, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(status, 400, "{envelope}");
    assert_eq!(envelope["error"]["code"], "malformed_request", "{envelope}");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Length"),
        "{envelope}"
    );
    assert!(head.contains("content-type: application/json"), "{head}");
    // A head that is not HTTP at all, too.
    let (status, envelope, _) = raw_exchange(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        (status, envelope["error"]["code"].as_str()),
        (400, Some("malformed_request"))
    );
    // A URI longer than hyper takes (64 KiB).
    let long = format!(
        "GET /v1/models?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q".repeat(70_000)
    );
    let (status, envelope, _) = raw_exchange(&app, long.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(
        (status, envelope["error"]["code"].as_str()),
        (414, Some("uri_too_long"))
    );
    assert_eq!(app.balance(&key).await, (100, 0));
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickling_in_past_the_request_timeout_is_answered_408_in_the_envelope() {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_REQUEST_TIMEOUT_SECS", "1")).await;
    let (_, key) = app.customer("ada", 100).await;
    // The head and a tenth of the body, then nothing.
    let request = format!(
        "POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\": ",
        key.expose(),
    );
    let (status, envelope, _) =
        raw_exchange(&app, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(status, 408, "{envelope}");
    assert_eq!(envelope["error"]["code"], "request_timeout", "{envelope}");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 1 s"),
        "{envelope}"
    );
    assert_eq!(app.balance(&key).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_callback_is_refused_413_in_the_envelope() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/callbacks/kie/gen_01J00000000000000000000000/token"))
        .header("content-type", "application/json")
        .body(vec![b' '; 13 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    let (status, envelope) = json(response).await;
    assert_eq!(status, 413);
    assert_eq!(envelope["error"]["code"], "payload_too_large", "{envelope}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_static_file_and_a_wrong_method_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    let (status, envelope) = json(app.get("/static/nothing.css").await).await;
    assert_eq!(status, 404);
    assert_eq!(envelope["error"]["code"], "not_found", "{envelope}");
    let response = app
        .client
        .delete(app.url("/v1/models"))
        .send()
        .await
        .unwrap();
    let allow = response.headers().get("allow").cloned();
    let (status, envelope) = json(response).await;
    assert_eq!(status, 405);
    assert_eq!(
        envelope["error"]["code"], "method_not_allowed",
        "{envelope}"
    );
    assert!(allow.is_some(), "405 without Allow");
}
