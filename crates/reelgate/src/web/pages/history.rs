//! The account page's credit history in the page's language: a generation is its model,
//! the start of its prompt and what it finally cost; a purchase, voucher or grant says what
//! it was in words, not in the ledger's machinery. The operator's user page keeps the raw rows.

use reelgate_domain::catalog::Catalog;
use reelgate_domain::ledger::LedgerEntry;
use reelgate_store::{HistoryLine, HistoryPage};
use serde::Serialize;

use crate::front::views::text_start;
use crate::web::catalog_text;
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
            catalog.model(&g.model).map_or_else(
                || g.model.clone(),
                |m| catalog_text::model_title(&m.title, lang),
            ),
            g.prompt
                .as_deref()
                .map(|p| text_start(p, PROMPT_START_CHARS)),
            Some(g.status.as_str().to_owned()),
        ),
        None => {
            let kind = entry.kind.as_str();
            let title = match kind {
                "grant" if entry.reason == SIGNUP_BONUS => reason_text(entry, lang),
                "voucher" => reason_text(entry, lang),
                "grant" | "adjustment" => lang.text(&format!("ledger.{kind}")).to_owned(),
                _ => reason_text(entry, lang),
            };
            // An operator's reason is their own words, shown as written.
            let detail = matches!(kind, "grant" | "adjustment")
                .then(|| entry.reason.clone())
                .filter(|r| !r.is_empty() && r != SIGNUP_BONUS);
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

/// A ledger row's reason in the page's language. The store writes system reasons in English
/// ("signup bonus", "voucher SPRING", "bought: payment pay_…"); those are said in words
/// here, while an operator's reason for a grant is shown as they wrote it.
pub fn reason_text(entry: &LedgerEntry, lang: Locale) -> String {
    let kind = entry.kind.as_str();
    if entry.generation_id.is_some() {
        let key = match (kind, entry.reason.as_str()) {
            ("refund", "generation canceled") => "history.reason_canceled".to_owned(),
            _ => format!("history.reason_{kind}"),
        };
        if lang.has(&key) {
            return lang.text(&key).to_owned();
        }
    }
    match kind {
        "grant" if entry.reason == SIGNUP_BONUS => lang.text("history.signup_bonus").to_owned(),
        "voucher" => {
            let code = entry.reason.strip_prefix("voucher ").unwrap_or_default();
            lang.text("history.voucher").replace("{code}", code)
        }
        "grant" | "adjustment" => entry.reason.clone(),
        _ => {
            let worded = format!("history.{kind}");
            if lang.has(&worded) {
                lang.text(&worded).to_owned()
            } else {
                entry.reason.clone()
            }
        }
    }
}
