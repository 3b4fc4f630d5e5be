//! Times are stored as milliseconds since the Unix epoch: a BIGINT both backends and the
//! `Any` driver handle the same way.

use chrono::{DateTime, TimeZone, Utc};

pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(
    table: &'static str,
    ms: i64,
) -> Result<DateTime<Utc>, crate::StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| crate::StoreError::corrupt(table, format!("timestamp {ms} out of range")))
}

pub(crate) fn from_millis_opt(
    table: &'static str,
    ms: Option<i64>,
) -> Result<Option<DateTime<Utc>>, crate::StoreError> {
    ms.map(|ms| from_millis(table, ms)).transpose()
}
