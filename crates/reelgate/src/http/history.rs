//! `GET /v1/account/history`: the caller's credits as they read them — one line per
//! generation (model, the start of its prompt, what it finally cost, its state) and one per
//! purchase, voucher, grant or other movement. `GET /v1/account/ledger` keeps every raw row.

use axum::extract::State;
use chrono::{DateTime, Utc};
use reelgate_domain::catalog::Catalog;
use reelgate_store::{HistoryLine, HistoryPage};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::account::{page_limit, PageQuery};
use super::auth::AuthUser;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};
pub use crate::front::views::text_start;

/// How much of a prompt a line shows.
const PROMPT_START_CHARS: usize = 80;

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPageView {
    pub lines: Vec<HistoryLineView>,
    pub next_cursor: Option<String>,
    pub balance: i64,
    pub held: i64,
}

/// One line of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryLineView {
    /// `generation` for a video's line; otherwise the movement's kind (`grant`, `voucher`,
    /// `purchase`, `adjustment`, `reversal`, `debt`, `debt_repayment`, `reinstatement`).
    pub kind: String,
    /// Signed. A generation's line is the sum of its rows: −price once charged (or while its
    /// price is held), 0 once refunded.
    pub credits: i64,
    /// The movement's reason (a grant's as the operator wrote it, `voucher CODE`, …); none for
    /// a generation's line.
    pub reason: Option<String>,
    pub generation: Option<HistoryGenerationView>,
    pub payment_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryGenerationView {
    pub id: String,
    pub model: String,
    /// The catalog's name for the model.
    pub model_title: String,
    /// The first 80 characters of the prompt, `…` when cut.
    pub prompt_start: Option<String>,
    /// `queued`, `running`, `succeeded`, `failed` or `canceled`.
    pub status: String,
}

impl HistoryLineView {
    pub fn new(line: &HistoryLine, catalog: &Catalog) -> Self {
        let generation = line.generation.as_ref().map(|g| HistoryGenerationView {
            id: g.id.to_string(),
            model_title: catalog
                .model(&g.model)
                .map_or_else(|| g.model.clone(), |m| m.title.clone()),
            model: g.model.clone(),
            prompt_start: g
                .prompt
                .as_deref()
                .map(|p| text_start(p, PROMPT_START_CHARS)),
            status: g.status.as_str().to_owned(),
        });
        HistoryLineView {
            kind: if generation.is_some() {
                "generation".to_owned()
            } else {
                line.entry.kind.as_str().to_owned()
            },
            credits: line.amount.get(),
            reason: generation.is_none().then(|| line.entry.reason.clone()),
            generation,
            payment_id: line.entry.payment_id.as_ref().map(ToString::to_string),
            created_at: line.entry.created_at,
        }
    }
}

impl HistoryPageView {
    pub fn new(page: &HistoryPage, catalog: &Catalog) -> Self {
        HistoryPageView {
            lines: page
                .lines
                .iter()
                .map(|l| HistoryLineView::new(l, catalog))
                .collect(),
            next_cursor: page.next_cursor.clone(),
            balance: page.balance.get(),
            held: page.held.get(),
        }
    }
}

/// The caller's credit history, newest first: a line per generation and per other movement.
#[utoipa::path(get, path = "/v1/account/history", tag = "account",
    operation_id = "get_credit_history", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, body = HistoryPageView), (status = 400, body = super::error::ErrorEnvelope),
        (status = 401, body = super::error::ErrorEnvelope)))]
async fn history(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<HistoryPageView>, ApiError> {
    let page = ctx
        .store
        .history_page(&user.id, query.cursor.as_deref(), page_limit(query.limit)?)
        .await?;
    Ok(ApiJson(HistoryPageView::new(&page, &ctx.catalog)))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(history))
}

#[cfg(test)]
mod tests {
    use super::text_start;

    #[test]
    fn a_long_prompt_is_cut_on_a_character() {
        assert_eq!(text_start("a fox", 80), "a fox");
        assert_eq!(text_start("çğıöşü çğıöşü", 6), "çğıöşü…");
        assert_eq!(text_start("one two three", 4), "one…");
    }
}
