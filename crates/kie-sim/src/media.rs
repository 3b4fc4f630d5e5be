//! Real, playable result videos, served with byte ranges so browsers can seek.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// Every successful task's result is this short clip.
pub(crate) static VIDEO_720P: &[u8] = include_bytes!("../assets/sample-720p.mp4");
/// Veo's 1080p upgrade.
pub(crate) static VIDEO_1080P: &[u8] = include_bytes!("../assets/sample-1080p.mp4");

/// What a `Range` header asks of a body of a given length.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// A single `bytes=` range; anything this does not understand (several ranges, other units,
/// bad syntax) gets the whole body, which RFC 9110 allows.
fn wanted(range: Option<&HeaderValue>, len: u64) -> Wanted {
    let Some(spec) = range
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // A suffix: the last `end` bytes.
        return match end.parse::<u64>() {
            Ok(0) => Wanted::Unsatisfiable,
            Ok(_) if len == 0 => Wanted::Unsatisfiable,
            Ok(n) => Wanted::Part(len - n.min(len), len - 1),
            Err(_) => Wanted::Whole,
        };
    }
    let Ok(first) = start.parse::<u64>() else {
        return Wanted::Whole;
    };
    let last = match end {
        "" => u64::MAX,
        e => match e.parse::<u64>() {
            Ok(last) if last >= first => last,
            _ => return Wanted::Whole,
        },
    };
    if first >= len {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part(first, last.min(len - 1))
}

/// Answers a GET for `body`, honouring a `Range` header.
pub(crate) fn serve(body: Bytes, content_type: &str, request: &HeaderMap) -> Response {
    let len = body.len() as u64;
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    match wanted(request.get(header::RANGE), len) {
        Wanted::Whole => (StatusCode::OK, headers, body).into_response(),
        Wanted::Part(first, last) => {
            let range = format!("bytes {first}-{last}/{len}");
            if let Ok(v) = HeaderValue::from_str(&range) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            // Both bounds are below `len`, which is a usize.
            let part = body.slice(first as usize..=last as usize);
            (StatusCode::PARTIAL_CONTENT, headers, part).into_response()
        }
        Wanted::Unsatisfiable => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(range: &str, len: u64) -> Wanted {
        wanted(Some(&HeaderValue::from_str(range).unwrap()), len)
    }

    #[test]
    fn single_ranges_are_understood_and_clamped() {
        assert_eq!(w("bytes=0-99", 1000), Wanted::Part(0, 99));
        assert_eq!(w("bytes=900-", 1000), Wanted::Part(900, 999));
        assert_eq!(w("bytes=900-5000", 1000), Wanted::Part(900, 999));
        assert_eq!(w("bytes=-100", 1000), Wanted::Part(900, 999));
        assert_eq!(w("bytes=-5000", 1000), Wanted::Part(0, 999));
        assert_eq!(w("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(w("bytes=-0", 1000), Wanted::Unsatisfiable);
    }

    #[test]
    fn ranges_not_understood_get_the_whole_body() {
        assert_eq!(wanted(None, 10), Wanted::Whole);
        assert_eq!(w("bytes=5-2", 1000), Wanted::Whole);
        assert_eq!(w("bytes=0-1,5-6", 1000), Wanted::Whole);
        assert_eq!(w("items=0-1", 1000), Wanted::Whole);
        assert_eq!(w("bytes=a-b", 1000), Wanted::Whole);
    }

    #[test]
    fn bundled_videos_are_mp4() {
        for video in [VIDEO_720P, VIDEO_1080P] {
            assert_eq!(&video[4..8], b"ftyp");
        }
    }
}
