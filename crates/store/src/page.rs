//! Cursor pagination: a page of rows and an opaque cursor for the next one.
//!
//! Cursors are the key of the last row shown, base64-encoded so clients treat them as opaque
//! and we stay free to change what is inside.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::StoreError;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The page size actually used, plus one extra row to learn whether another page follows.
pub(crate) fn fetch_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_PAGE_SIZE)) + 1
}

/// Cuts the extra row off and, if there was one, makes the cursor from the last row kept.
pub(crate) fn finish<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> String,
    kind: &str,
) -> Page<T> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE) as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| encode(kind, &key(last)))
    } else {
        None
    };
    Page { items, next_cursor }
}

fn encode(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The key inside a cursor made by [`finish`] for the same `kind` of list.
pub(crate) fn decode(kind: &str, cursor: &str) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::InvalidCursor)?;
    let (found, key) = text.split_once(':').ok_or(StoreError::InvalidCursor)?;
    if found != kind || key.is_empty() {
        return Err(StoreError::InvalidCursor);
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_only_opens_the_list_it_came_from() {
        let page = finish(vec![1, 2, 3], 2, |n| n.to_string(), "ledger");
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.unwrap();
        assert_eq!(decode("ledger", &cursor).unwrap(), "2");
        assert!(matches!(
            decode("users", &cursor),
            Err(StoreError::InvalidCursor)
        ));
        assert!(matches!(
            decode("ledger", "%%%"),
            Err(StoreError::InvalidCursor)
        ));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let page = finish(vec![1, 2], 2, |n| n.to_string(), "ledger");
        assert_eq!(page.next_cursor, None);
    }
}
