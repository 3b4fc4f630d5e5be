//! Oversized bodies and slow clients cannot tie the server up.

use crate::helpers::TestApp;
use reelgate::http_server::HEADER_READ_TIMEOUT;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413_in_the_envelope() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let prompt = "a".repeat(13 * 1024 * 1024);
    let body = format!(r#"{{"model": "kling-2.6/text-to-video", "prompt": "{prompt}"}}"#);
    let host = app.address.trim_start_matches("http://").to_owned();
    for path in ["/v1/generations", "/v1/quote", "/v1/vouchers/redeem"] {
        // The server may answer as soon as it sees the length, and close while the body is
        // still being written: send the body on the side and read the answer meanwhile.
        let stream = TcpStream::connect(&host).await.expect("connected");
        let (mut read, mut write) = stream.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            key.expose(),
            body.len()
        );
        let body = body.clone();
        let sender = tokio::spawn(async move {
            if write.write_all(head.as_bytes()).await.is_ok() {
                // Refused part-way is what this test expects.
                let _ = write.write_all(body.as_bytes()).await;
            }
        });
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut answer))
            .await
            .expect("answered within 30 s")
            .ok();
        sender.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        let envelope = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let envelope: serde_json::Value =
            serde_json::from_str(envelope).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"));
        assert_eq!(envelope["error"]["code"], "payload_too_large", "{path}");
    }
    assert_eq!(app.balance(&key).await, (100, 0));
}

/// Reads until the server closes the connection; returns how long that took.
async fn closed_within(mut stream: TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_off() {
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let limit = HEADER_READ_TIMEOUT + Duration::from_secs(5);

    // Slowloris: a request head trickling in one byte a second, never finished.
    let slow = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    // A connection that never sends a byte.
    let silent = TcpStream::connect(&address).await.unwrap();
    // And one that finished a request and then idles on keep-alive.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let started = Instant::now();
    let slow_closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(limit, reader.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the slowloris connection was still open after {limit:?}"),
            }
        }
    };
    let (slow, silent, idle) = tokio::join!(
        slow_closed,
        closed_within(silent, limit),
        closed_within(idle, limit)
    );
    trickle.abort();
    for (what, took) in [("slowloris", slow), ("silent", silent), ("idle", idle)] {
        assert!(took <= limit, "{what} connection held for {took:?}");
    }
    // The server still serves everyone else.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
