//! Views of stored records that both front ends show: serialised as the API's JSON (and
//! described in its OpenAPI document) and rendered by the web app's templates from the same
//! values, so a page and the API cannot disagree about a field.

pub mod account;
pub mod limits;
pub mod payments;
pub mod webhooks;

/// The first `max` characters of `text`, with `…` when there were more.
pub fn text_start(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}
