//! HTTP byte ranges (RFC 9110 §14), so that players can seek in stored videos.

use axum::http::HeaderValue;

/// What a `Range` header asks of a body of known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    Whole,
    /// Inclusive positions, both within the body.
    Part {
        first: u64,
        last: u64,
    },
    Unsatisfiable,
}

/// One `bytes=` range. Anything this does not understand (several ranges, other units, bad
/// syntax) gets the whole body, which RFC 9110 allows a server to answer.
pub fn requested(range: Option<&HeaderValue>, len: u64) -> ByteRange {
    let Some(spec) = range
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // The last `end` bytes.
        return match end.parse::<u64>() {
            Ok(0) => ByteRange::Unsatisfiable,
            Ok(_) if len == 0 => ByteRange::Unsatisfiable,
            Ok(n) => ByteRange::Part {
                first: len - n.min(len),
                last: len - 1,
            },
            Err(_) => ByteRange::Whole,
        };
    }
    let Ok(first) = start.parse::<u64>() else {
        return ByteRange::Whole;
    };
    let last = match end {
        "" => u64::MAX,
        end => match end.parse::<u64>() {
            Ok(last) if last >= first => last,
            _ => return ByteRange::Whole,
        },
    };
    if first >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part {
        first,
        last: last.min(len - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(range: &str, len: u64) -> ByteRange {
        requested(Some(&HeaderValue::from_str(range).unwrap()), len)
    }

    fn part(first: u64, last: u64) -> ByteRange {
        ByteRange::Part { first, last }
    }

    #[test]
    fn single_ranges_are_understood_and_clamped() {
        assert_eq!(r("bytes=0-99", 1000), part(0, 99));
        assert_eq!(r("bytes=900-", 1000), part(900, 999));
        assert_eq!(r("bytes=900-5000", 1000), part(900, 999));
        assert_eq!(r("bytes=-100", 1000), part(900, 999));
        assert_eq!(r("bytes=-5000", 1000), part(0, 999));
        assert_eq!(r("bytes=1000-", 1000), ByteRange::Unsatisfiable);
        assert_eq!(r("bytes=-0", 1000), ByteRange::Unsatisfiable);
    }

    #[test]
    fn ranges_not_understood_get_the_whole_body() {
        assert_eq!(requested(None, 10), ByteRange::Whole);
        assert_eq!(r("bytes=5-2", 1000), ByteRange::Whole);
        assert_eq!(r("bytes=0-1,5-6", 1000), ByteRange::Whole);
        assert_eq!(r("items=0-1", 1000), ByteRange::Whole);
        assert_eq!(r("bytes=a-b", 1000), ByteRange::Whole);
    }
}
