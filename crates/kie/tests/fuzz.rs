//! Fuzzing the decoding of everything Kie (or anyone posing as Kie) sends us: every answer
//! decoder and the callback parser, on arbitrary bytes, on arbitrary JSON shaped like Kie's
//! envelope, and on byte-level mutations of Kie's documented bodies. None may panic, and no
//! error may grow with its input (they quote a bounded snippet, never the whole body).
//!
//! Proptest rather than cargo-fuzz so that it runs in `cargo test` on stable; the case count
//! is `REELGATE_FUZZ_CASES` (default 2000 per property).

use kie::{answer, Callback};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

fn cases() -> u32 {
    std::env::var("REELGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// No error message may be longer than this, whatever the body.
const MAX_ERROR: usize = 2048;

const KEYS: &[&str] = &[
    "code",
    "msg",
    "data",
    "taskId",
    "state",
    "resultJson",
    "resultUrls",
    "failCode",
    "failMsg",
    "successFlag",
    "response",
    "info",
    "errorCode",
    "errorMessage",
    "resultUrl",
    "originUrls",
    "resolution",
    "fileName",
    "filePath",
    "downloadUrl",
    "fileSize",
    "mimeType",
    "uploadedAt",
    "success",
    "paramJson",
    "param",
    "model",
    "costTime",
    "completeTime",
    "createTime",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            0i64, 1, 2, 3, 200, 400, 401, 402, 404, 422, 429, 433, 451, 455, 500, 501, 505
        ])
        .prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
        prop::sample::select(vec![
            "success",
            "fail",
            "waiting",
            "queuing",
            "generating",
            "{\"resultUrls\":[\"https://v/1.mp4\"]}",
            "{\"resultUrls\":5}",
            "not json",
            "",
            "https://v/1.mp4",
            "720p",
            "1080p"
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Kie's envelope with anything at all in it.
fn envelope() -> impl Strategy<Value = Vec<u8>> {
    (leaf(), leaf(), json_value()).prop_map(|(code, msg, data)| {
        serde_json::to_vec(&json!({"code": code, "msg": msg, "data": data})).unwrap()
    })
}

/// Kie's documented bodies, as `kie-api.md` shows them.
fn documented() -> Vec<Vec<u8>> {
    [
        json!({"code": 200, "msg": "success", "data": {"taskId": "task_xxx_123456789"}}),
        json!({"code": 200, "msg": "success", "data": {"taskId": "veo_task_abcdef123456",
            "paramJson": "{}", "successFlag": 1,
            "response": {"taskId": "veo_task_abcdef123456", "resultUrls": ["https://t/v/abc.mp4"],
                         "originUrls": null, "resolution": "720p"},
            "errorCode": null, "errorMessage": "", "createTime": 1732000000000_i64,
            "completeTime": 1732000090000_i64, "fallbackFlag": false}}),
        json!({"code": 200, "msg": "success", "data": {"taskId": "task_12345678",
            "model": "kling-2.6/text-to-video", "state": "success", "param": "{}",
            "resultJson": "{\"resultUrls\":[\"https://t/video.mp4\"]}", "failCode": "", "failMsg": "",
            "costTime": 85000, "completeTime": 1732000090000_i64, "createTime": 1732000000000_i64}}),
        json!({"code": 200, "msg": "success", "data": {"resultUrl": "https://t/1080p.mp4"}}),
        json!({"code": 200, "msg": "success", "data": 1234.5}),
        json!({"success": true, "code": 200, "msg": "File uploaded successfully", "data": {
            "fileName": "a.png", "filePath": "u/a.png", "downloadUrl": "https://t/u/a.png",
            "fileSize": 12, "mimeType": "image/png", "uploadedAt": "2026-11-25T00:00:00Z"}}),
        json!({"code": 200, "msg": "Veo3 video generated successfully.", "data": {
            "taskId": "veo_task_abcdef123456", "info": {"resultUrls": ["https://t/abc.mp4"],
            "originUrls": null, "resolution": "720p"}, "fallbackFlag": false}}),
    ]
    .iter()
    .map(|v| serde_json::to_vec(v).unwrap())
    .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let mutation = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ];
    (
        prop::sample::select(documented()),
        prop::collection::vec(mutation, 1..6),
    )
        .prop_map(|(mut body, mutations)| {
            for m in mutations {
                let len = body.len().max(1);
                match m {
                    Mutation::Flip(i, b) if !body.is_empty() => body[i % len] ^= b,
                    Mutation::Insert(i, b) => body.insert(i % (body.len() + 1), b),
                    Mutation::Delete(i) if !body.is_empty() => {
                        body.remove(i % len);
                    }
                    Mutation::Truncate(i) => body.truncate(i % len),
                    _ => {}
                }
            }
            body
        })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(404),
        Just(429),
        Just(500),
        Just(502),
        0u16..1000
    ]
}

fn bounded<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        let text = error.to_string();
        prop_assert!(text.len() <= MAX_ERROR, "an error of {} bytes", text.len());
    }
    Ok(())
}

/// Every decoder on one answer.
fn decode_all(http_status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    bounded(answer::created(http_status, body))?;
    bounded(answer::veo_status(http_status, body))?;
    bounded(answer::jobs_status(http_status, body))?;
    bounded(answer::veo_1080p(http_status, body))?;
    bounded(answer::credit_balance(http_status, body))?;
    bounded(answer::uploaded_file(http_status, body))?;
    bounded(Callback::parse(body))?;
    Ok(())
}

/// Proptest's settings with `cases`, keeping every shrunk failure in this crate's
/// `proptest-regressions/fuzz.txt` (committed): each later run tries those cases first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/fuzz.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn decoders_survive_arbitrary_bytes(http_status in status(), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        decode_all(http_status, &body)?;
    }

    #[test]
    fn decoders_survive_arbitrary_envelopes(http_status in status(), body in envelope()) {
        decode_all(http_status, &body)?;
    }

    #[test]
    fn decoders_survive_mutations_of_documented_bodies(http_status in status(), body in mutated()) {
        decode_all(http_status, &body)?;
    }
}

#[test]
fn a_huge_body_gives_a_small_error() {
    let huge = format!("{{\"code\": 500, \"msg\": \"{}\"", "x".repeat(4 << 20));
    decode_all(500, huge.as_bytes()).unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    decode_all(200, deep.as_bytes()).unwrap();
}
