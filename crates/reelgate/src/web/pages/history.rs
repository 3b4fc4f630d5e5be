//! The account page's credit history in the page's language: a generation is its model,
//! the start of its prompt and what it finally cost; a purchase, voucher or grant says what
//! it was in words, not in the ledger's machinery. The operator's user page keeps the raw rows.

use reelgate_domain::catalog::Catalog;
use reelgate_store::{HistoryLine, HistoryPage};
use serde::Serialize;

use crate::http::history::text_start;
use crate::web::i18n::Locale;

/// How much of a prompt a line shows on the page.
const PROMPT_START_CHARS: usize = 60;

/// The reason the store writes for a signup bonus (`accounts.rs`).
const SIGNUP_BONUS: &str = "signup bonus";

#[derive(Debug, Serialize)]
pub struct LineView {
    /// A generation's model title, or what the movement was (`Voucher SPRING`).
    title: String,
    /// The start of a generation's prompt, or an operator's reason for a grant.
    detail: Option<String>,
    generation_id: Option<String>,
    /// A generation's state (`status.*` texts), or none.
    status: Option<String>,
    payment_id: Option<String>,
    amount: i64,
    created_at: String,
}

pub fn lines(page: &HistoryPage, catalog: &Catalog, lang: Locale) -> Vec<LineView> {
    page.lines
        .iter()
        .map(|line| view(line, catalog, lang))
        .collect()
}

fn view(line: &HistoryLine, catalog: &Catalog, lang: Locale) -> LineView {
    let entry = &line.entry;
    let (title, detail, status) = match &line.generation {
        Some(g) => (
            catalog
                .model(&g.model)
                .map_or_else(|| g.model.clone(), |m| m.title.clone()),
            g.prompt
                .as_deref()
                .map(|p| text_start(p, PROMPT_START_CHARS)),
            Some(g.status.as_str().to_owned()),
        ),
        None => {
            let kind = entry.kind.as_str();
            let (title, detail) = match kind {
                "grant" if entry.reason == SIGNUP_BONUS => {
                    (lang.text("history.signup_bonus").to_owned(), None)
                }
                "voucher" => {
                    let code = entry.reason.strip_prefix("voucher ").unwrap_or_default();
                    (lang.text("history.voucher").replace("{code}", code), None)
                }
                // An operator's reason is their own words, shown as written.
                "grant" | "adjustment" => (
                    lang.text(&format!("ledger.{kind}")).to_owned(),
                    Some(entry.reason.clone()).filter(|r| !r.is_empty()),
                ),
                // A purchase and what a refund or dispute did to it say so in words; any
                // other row (a hold whose generation is gone) by its kind's name.
                _ => {
                    let worded = format!("history.{kind}");
                    let key = if lang.has(&worded) {
                        worded
                    } else {
                        format!("ledger.{kind}")
                    };
                    (lang.text(&key).to_owned(), None)
                }
            };
            (title, detail, None)
        }
    };
    LineView {
        title,
        detail,
        generation_id: line.generation.as_ref().map(|g| g.id.to_string()),
        status,
        payment_id: entry.payment_id.as_ref().map(ToString::to_string),
        amount: line.amount.get(),
        created_at: entry.created_at.to_rfc3339(),
    }
}
