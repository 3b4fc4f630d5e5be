//! The operator's reports: revenue and margin, cash and unspent credits (JSON or CSV), and
//! the reconciliation of reelgate's computed upstream spend with the Kie balance.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use reelgate_domain::reports::{
    reconcile, CashReport, Grouping, MarginReport, MarginRow, Reconciliation, KIE_CREDIT_USD,
};
use reelgate_store::Store;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};

/// Longest period one report covers.
const MAX_DAYS: i64 = 366;
/// Without `from`, a report covers this many days up to `to`.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(inline)]
    pub from: Option<reelgate_domain::text::Choice>,
    /// Last UTC day, included (default: today).
    #[param(inline)]
    pub to: Option<reelgate_domain::text::Choice>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<reelgate_domain::text::Choice>,
}

/// A report's `format`: JSON unless `csv` is asked for.
fn wants_csv(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.unwrap_or("json") {
        "json" => Ok(false),
        "csv" => Ok(true),
        _ => Err(ApiError::field(
            "format",
            "invalid_parameter",
            "format must be json or csv",
        )),
    }
}

fn csv_response(name: &str, from: NaiveDate, to: NaiveDate, body: String) -> Response {
    let filename = format!("attachment; filename=\"{name}-{from}-{to}.csv\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarginQuery {
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(inline)]
    pub from: Option<reelgate_domain::text::Choice>,
    /// Last UTC day, included (default: today).
    #[param(inline)]
    pub to: Option<reelgate_domain::text::Choice>,
    /// Rows per any of `day`, `model`, `customer`, `key` (the Kie key's fingerprint),
    /// comma-separated (default `day,model`).
    #[param(inline)]
    pub by: Option<reelgate_domain::text::Choice>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<reelgate_domain::text::Choice>,
}

fn day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|raw| {
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::field(
                field,
                "invalid_parameter",
                format!("{field} must be a date like 2026-03-01"),
            )
        })
    })
    .transpose()
}

/// The days a report covers, both included.
fn period(from: Option<&str>, to: Option<&str>) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = day("to", to)?.unwrap_or_else(|| Utc::now().date_naive());
    let from = day("from", from)?.unwrap_or(to - chrono::Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        return Err(ApiError::field(
            "from",
            "invalid_parameter",
            "from must not be after to",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::field(
            "from",
            "invalid_parameter",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarginReportView {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The dimensions of the rows, e.g. `day,model`.
    pub by: String,
    /// Revenue is credits ÷ this.
    #[schema(value_type = String, example = "108")]
    pub credits_per_usd: Decimal,
    #[serde(flatten)]
    pub report: MarginReport,
}

/// Revenue and margin of the generations that finished in the period (by UTC day): per day
/// and model by default, or per customer. Failed and canceled generations were refunded and
/// cost nothing. USD amounts are exact decimal strings; revenue is credits ÷
/// `credits_per_usd`, rounded half-up to 4 decimals.
#[utoipa::path(get, path = "/v1/admin/reports/margin", tag = "admin", security(("api_key" = [])),
    params(MarginQuery),
    responses((status = 200, description = "The report; with `format=csv`, its rows as CSV",
            content((MarginReportView = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn margin(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<MarginQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = period(query.from.as_deref(), query.to.as_deref())?;
    let grouping: Grouping = match query.by.as_deref() {
        Some(raw) => raw
            .parse()
            .map_err(|e: reelgate_domain::reports::GroupingError| {
                ApiError::field("by", "invalid_parameter", e.to_string())
            })?,
        None => Grouping::default(),
    };
    let as_csv = wants_csv(query.format.as_deref())?;
    let rule = ctx.catalog.rule();
    let mut groups = ctx.store.settled_groups(from, to).await?;
    // With one key no fingerprint is stored: what was sent then went with the first key.
    if let Some(first) = ctx.lifecycle.keys.get(0) {
        for group in &mut groups {
            group
                .upstream_key
                .get_or_insert_with(|| first.label.clone());
        }
    }
    let report = MarginReport::build(&groups, grouping, rule);
    if as_csv {
        return Ok(csv_response(
            "margin",
            from,
            to,
            csv(&report.rows, grouping),
        ));
    }
    Ok(ApiJson(MarginReportView {
        from,
        to,
        by: grouping.to_string(),
        credits_per_usd: rule.credits_per_usd().normalize(),
        report,
    })
    .into_response())
}

/// The rows as CSV (RFC 4180), with the grouped dimensions first.
pub fn csv(rows: &[MarginRow], grouping: Grouping) -> String {
    let mut header: Vec<&str> = Vec::new();
    if grouping.day {
        header.push("day");
    }
    if grouping.model {
        header.push("model");
    }
    if grouping.customer {
        header.extend(["customer_id", "email"]);
    }
    if grouping.key {
        header.push("upstream_key");
    }
    header.extend([
        "succeeded",
        "failed",
        "canceled",
        "credits_charged",
        "credits_refunded",
        "upstream_cost_usd",
        "revenue_usd",
        "margin_usd",
    ]);
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let mut cells: Vec<String> = Vec::new();
        if grouping.day {
            cells.push(row.day.map(|d| d.to_string()).unwrap_or_default());
        }
        if grouping.model {
            cells.push(cell(row.model.as_deref().unwrap_or_default()));
        }
        if grouping.customer {
            cells.push(cell(row.customer_id.as_deref().unwrap_or_default()));
            cells.push(cell(row.email.as_deref().unwrap_or_default()));
        }
        if grouping.key {
            cells.push(cell(row.upstream_key.as_deref().unwrap_or_default()));
        }
        cells.extend([
            row.succeeded.to_string(),
            row.failed.to_string(),
            row.canceled.to_string(),
            row.credits_charged.to_string(),
            row.credits_refunded.to_string(),
            row.upstream_cost_usd.to_string(),
            row.revenue_usd.to_string(),
            row.margin_usd.to_string(),
        ]);
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Quotes a text cell when it needs it, and keeps spreadsheets from reading a cell that
/// starts like a formula (a customer chose their email) as one.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashReportView {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    #[serde(flatten)]
    pub report: CashReport,
}

/// Money taken and given back per UTC day and currency (payments confirmed paid, refunds,
/// chargebacks), the credits it bought, the credits generations consumed, and the unspent
/// credits outstanding at the end of each day — every account's balance plus its held
/// credits, what the business still owes its customers (see docs/PAYMENTS.md for how it is
/// derived from the ledger). Amounts are exact decimal strings; currencies are never added
/// together. Demo payments count as cash, as the demo provider's page says nothing moves.
#[utoipa::path(get, path = "/v1/admin/reports/cash", tag = "admin", security(("api_key" = [])),
    params(PeriodQuery),
    responses((status = 200, description = "The report; with `format=csv`, one line per day and currency, then the day's `all` line with its credits",
            content((CashReportView = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn cash(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = period(query.from.as_deref(), query.to.as_deref())?;
    let as_csv = wants_csv(query.format.as_deref())?;
    let report = ctx.store.cash_report(from, to).await?;
    if as_csv {
        return Ok(csv_response("cash", from, to, cash_csv(&report)));
    }
    Ok(ApiJson(CashReportView { from, to, report }).into_response())
}

/// The cash report as CSV: per day, a line per currency with its money and the credits it
/// bought, then an `all` line with the day's credits (which have no currency) and no money
/// (currencies do not add up). Summing a column over the `all` lines, or over one currency's
/// lines, never counts anything twice.
pub fn cash_csv(report: &CashReport) -> String {
    let header = [
        "day",
        "currency",
        "payments",
        "cash_received",
        "cash_refunded",
        "cash_charged_back",
        "cash_net",
        "credits_sold",
        "credits_granted",
        "credits_consumed",
        "credits_taken_back",
        "unspent_credits",
        "debt_outstanding",
    ];
    let mut out = header.join(",");
    out.push_str("\r\n");
    for day in &report.days {
        for line in &day.currencies {
            let cells = [
                day.day.to_string(),
                cell(&line.currency),
                line.payments.to_string(),
                line.cash_received.to_string(),
                line.cash_refunded.to_string(),
                line.cash_charged_back.to_string(),
                line.cash_net.to_string(),
                line.credits_sold.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        let cells = [
            day.day.to_string(),
            "all".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            day.credits_sold.to_string(),
            day.credits_granted.to_string(),
            day.credits_consumed.to_string(),
            day.credits_taken_back.to_string(),
            day.unspent_credits.to_string(),
            day.debt_outstanding.to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Whether the balance is the built-in simulator's.
    pub simulated: bool,
    /// USD per Kie credit.
    #[schema(value_type = String, example = "0.005")]
    pub kie_credit_usd: Decimal,
    /// `null` until the balance guard has recorded two samples in (or just before) the period.
    /// With several Kie keys: the sum of every key's balance against every generation sent.
    pub reconciliation: Option<Reconciliation>,
    /// With several Kie keys, each key's account against the generations sent with it (by
    /// fingerprint, never the key); empty with one key, whose account is the one above.
    pub keys: Vec<KeyReconciliation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyReconciliation {
    /// The key's fingerprint, `kie-` and 8 hex digits.
    pub upstream_key: String,
    /// `null` until the balance guard has recorded two samples of this key's balance.
    pub reconciliation: Option<Reconciliation>,
}

/// The samples of one account (`key`) or of all together (`None`) against the generations
/// Kie accepted between the first and the last of them.
async fn reconcile_account(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
    key: Option<&str>,
) -> Result<Option<Reconciliation>, ApiError> {
    let samples = store.balance_samples(from, to, key).await?;
    Ok(match (samples.first(), samples.last()) {
        (Some(first), Some(last)) if samples.len() > 1 => {
            let sent = store
                .dispatched_groups(first.taken_at, last.taken_at, key)
                .await?;
            reconcile(&samples, &sent, KIE_CREDIT_USD)
        }
        _ => None,
    })
}

/// Compares the upstream cost reelgate computed for the generations Kie accepted with the
/// drop in the Kie balance (top-ups excluded) between the balance guard's samples that
/// bracket the period; with several Kie keys, each key's account too.
#[utoipa::path(get, path = "/v1/admin/reports/reconciliation", tag = "admin", security(("api_key" = [])),
    params(PeriodQuery),
    responses((status = 200, description = "The reconciliation; with `format=csv`, one line for all keys, then one per key",
            content((ReconciliationView = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn reconciliation(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = period(query.from.as_deref(), query.to.as_deref())?;
    let as_csv = wants_csv(query.format.as_deref())?;
    let reconciliation = reconcile_account(&ctx.store, from, to, None).await?;
    let mut keys = Vec::new();
    if ctx.lifecycle.keys.is_several() {
        for key in ctx.lifecycle.keys.entries() {
            keys.push(KeyReconciliation {
                upstream_key: key.label.clone(),
                reconciliation: reconcile_account(&ctx.store, from, to, Some(&key.label)).await?,
            });
        }
    }
    let view = ReconciliationView {
        from,
        to,
        simulated: ctx.upstream.is_simulated(),
        kie_credit_usd: KIE_CREDIT_USD,
        reconciliation,
        keys,
    };
    if as_csv {
        return Ok(csv_response(
            "reconciliation",
            from,
            to,
            reconciliation_csv(&view),
        ));
    }
    Ok(ApiJson(view).into_response())
}

/// The reconciliation as CSV: `all` (every key together), then each key by fingerprint; an
/// account without two balance samples has its figures empty.
pub fn reconciliation_csv(view: &ReconciliationView) -> String {
    let header = [
        "upstream_key",
        "window_start",
        "window_end",
        "samples",
        "start_balance_credits",
        "end_balance_credits",
        "kie_spent_credits",
        "kie_topped_up_credits",
        "kie_spent_usd",
        "generations_sent",
        "reelgate_cost_usd",
        "failed_cost_usd",
        "running_cost_usd",
        "difference_usd",
    ];
    let mut out = header.join(",");
    out.push_str("\r\n");
    let accounts = std::iter::once(("all", view.reconciliation.as_ref())).chain(
        view.keys
            .iter()
            .map(|k| (k.upstream_key.as_str(), k.reconciliation.as_ref())),
    );
    for (name, figures) in accounts {
        let mut cells = vec![cell(name)];
        match figures {
            Some(r) => cells.extend([
                r.window_start.to_rfc3339(),
                r.window_end.to_rfc3339(),
                r.samples.to_string(),
                r.start_balance_credits.to_string(),
                r.end_balance_credits.to_string(),
                r.kie_spent_credits.to_string(),
                r.kie_topped_up_credits.to_string(),
                r.kie_spent_usd.to_string(),
                r.generations_sent.to_string(),
                r.reelgate_cost_usd.to_string(),
                r.failed_cost_usd.to_string(),
                r.running_cost_usd.to_string(),
                r.difference_usd.to_string(),
            ]),
            None => cells.extend(std::iter::repeat_n(String::new(), header.len() - 1)),
        }
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(margin))
        .routes(routes!(cash))
        .routes(routes!(reconciliation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_or_hold_commas_are_neutralised() {
        assert_eq!(cell("ada@example.com"), "ada@example.com");
        assert_eq!(
            cell("=HYPERLINK(\"x\")@evil.com"),
            "\"'=HYPERLINK(\"\"x\"\")@evil.com\""
        );
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("-1"), "'-1");
    }

    #[test]
    fn periods_default_to_thirty_days_and_name_bad_fields() {
        let (from, to) = period(None, Some("2026-03-31")).unwrap();
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-03-02".into(), "2026-03-31".into())
        );
        for (from, to, field) in [
            (Some("2026-04-01"), Some("2026-03-01"), "from"),
            (Some("yesterday"), None, "from"),
            (None, Some("2026-13-01"), "to"),
            (Some("2024-01-01"), Some("2026-01-01"), "from"),
        ] {
            let Err(ApiError::InvalidInput(problems)) = period(from, to) else {
                panic!("{from:?}..{to:?} must be refused");
            };
            assert_eq!(problems[0].field, field);
        }
    }
}
