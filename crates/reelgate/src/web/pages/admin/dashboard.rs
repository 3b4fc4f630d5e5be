//! Operator dashboard: today's business at a glance (margin, cash, credits owed) and the
//! upstream's health.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use chrono::Utc;
use reelgate_domain::generations::Status;
use reelgate_domain::reports::{Grouping, MarginRow};
use reelgate_store::GenerationFilter;

use crate::generations::model_pause;
use crate::web::error::{WebError, WebForm};
use crate::web::pages::videos::AdminRow;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

/// The dashboard must render even when Kie does not answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Serialize)]
struct UpstreamHealth {
    simulated: bool,
    /// Kie credits left, as Kie reports them: with several keys, the sum of those read.
    balance: Option<String>,
    /// Why the balance could not be read (with several keys: why none could).
    error: Option<String>,
    /// With several keys, each one's balance; empty with one.
    keys: Vec<KeyBalance>,
    /// Several keys, and some could not be read: the sum leaves them out.
    partial: bool,
}

#[derive(Serialize)]
struct KeyBalance {
    label: String,
    name: Option<String>,
    disabled: bool,
    balance: Option<String>,
    error: Option<String>,
}

async fn balance_of(client: &kie::KieClient) -> Result<rust_decimal::Decimal, String> {
    match tokio::time::timeout(UPSTREAM_TIMEOUT, client.credit_balance()).await {
        Ok(Ok(balance)) => Ok(balance),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 3 seconds".to_owned()),
    }
}

/// Every key's balance, read at once (each within the timeout), and their sum.
async fn upstream_health(web: &WebContext) -> UpstreamHealth {
    let simulated = web.api.upstream.is_simulated();
    let pool = &web.api.lifecycle.keys;
    if !pool.is_several() {
        let (balance, error) = match balance_of(&web.api.upstream.client).await {
            Ok(balance) => (Some(balance.normalize().to_string()), None),
            Err(error) => (None, Some(error)),
        };
        return UpstreamHealth {
            simulated,
            balance,
            error,
            keys: Vec::new(),
            partial: false,
        };
    }
    let entries = pool.entries();
    let reads = futures::future::join_all(entries.iter().map(|key| balance_of(&key.client))).await;
    let mut total = rust_decimal::Decimal::ZERO;
    let mut keys = Vec::with_capacity(entries.len());
    let mut last_error = None;
    for (key, read) in entries.iter().zip(reads) {
        let name = match key.origin() {
            crate::generations::keys::KeyOrigin::Operator { name, .. } => Some(name),
            crate::generations::keys::KeyOrigin::Configured => None,
        };
        let (balance, error) = match read {
            Ok(credits) => {
                total += credits;
                (Some(credits.normalize().to_string()), None)
            }
            Err(error) => {
                last_error = Some(error.clone());
                (None, Some(error))
            }
        };
        keys.push(KeyBalance {
            label: key.label.clone(),
            name,
            disabled: !key.is_enabled(),
            balance,
            error,
        });
    }
    let read_any = keys.iter().any(|k| k.balance.is_some());
    UpstreamHealth {
        simulated,
        balance: read_any.then(|| total.normalize().to_string()),
        error: if read_any { None } else { last_error },
        partial: read_any && keys.iter().any(|k| k.error.is_some()),
        keys,
    }
}

#[derive(Serialize)]
struct StatusCount {
    status: &'static str,
    count: u64,
    /// Of today's total, rounded to 5 (the bar's width class).
    percent: u64,
}

#[derive(Serialize)]
struct Today {
    total: u64,
    succeeded: u64,
    failed: u64,
    by_status: Vec<StatusCount>,
}

async fn today(web: &WebContext) -> Result<Today, WebError> {
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    let counts = web.api.store.count_generations(midnight).await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let of = |status: Status| {
        counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    Ok(Today {
        total,
        succeeded: of(Status::Succeeded),
        failed: of(Status::Failed),
        by_status: counts
            .iter()
            .map(|(status, count)| StatusCount {
                status: status.as_str(),
                count: *count,
                percent: (count * 100)
                    .checked_div(total)
                    .map_or(0, |p| (p + 2) / 5 * 5),
            })
            .collect(),
    })
}

/// Generations waiting to be sent upstream, whenever they were made (as monitoring counts it).
async fn queue_depth(web: &WebContext) -> Result<i64, WebError> {
    Ok(web.api.store.figures().await?.queue_depth)
}

const RECENT_ERRORS: u32 = 6;

/// Money figures as the dashboard shows them: whole credits, USD to the cent.
#[derive(Serialize)]
struct Money {
    credits: i64,
    refunded: i64,
    revenue_usd: String,
    cost_usd: String,
    margin_usd: String,
}

#[derive(Serialize)]
struct ModelLine {
    model: String,
    succeeded: u64,
    failed: u64,
    #[serde(flatten)]
    money: Money,
}

fn money(row: &MarginRow) -> Money {
    let usd = |d: rust_decimal::Decimal| d.round_dp(2).to_string();
    Money {
        credits: row.credits_charged,
        refunded: row.credits_refunded,
        revenue_usd: usd(row.revenue_usd),
        cost_usd: usd(row.upstream_cost_usd),
        margin_usd: usd(row.margin_usd),
    }
}

/// Today's margin report (generations that finished today, UTC): totals and per model.
async fn money_today(
    web: &WebContext,
    lang: crate::web::Locale,
) -> Result<(Money, Vec<ModelLine>), WebError> {
    let today = Utc::now().date_naive();
    let catalog = &web.api.catalog;
    let report = web
        .api
        .store
        .margin_report(today, today, Grouping::DAY_MODEL, catalog.rule())
        .await?;
    let lines = report
        .rows
        .iter()
        .map(|row| {
            let id = row.model.clone().unwrap_or_default();
            ModelLine {
                model: catalog.model(&id).map_or(id, |m| {
                    crate::web::catalog_text::model_title(&m.title, lang)
                }),
                succeeded: row.succeeded,
                failed: row.failed + row.canceled,
                money: money(row),
            }
        })
        .collect();
    Ok((money(&report.totals), lines))
}

#[derive(Serialize)]
struct CashLine {
    currency: String,
    payments: u64,
    received: String,
    refunded: String,
    charged_back: String,
    net: String,
    credits_sold: i64,
}

#[derive(Serialize)]
struct CashToday {
    lines: Vec<CashLine>,
    credits_consumed: i64,
    /// At the end of today so far: what the business owes its customers, in credits.
    unspent_credits: i64,
    debt_outstanding: i64,
}

/// Today's cash report (UTC): money per currency, credits consumed, credits still unspent.
async fn cash_today(web: &WebContext) -> Result<CashToday, WebError> {
    let today = Utc::now().date_naive();
    let report = web.api.store.cash_report(today, today).await?;
    let day = report.days.into_iter().next_back();
    let lines = day
        .as_ref()
        .map(|d| {
            d.currencies
                .iter()
                .map(|c| CashLine {
                    currency: c.currency.clone(),
                    payments: c.payments,
                    received: c.cash_received.to_string(),
                    refunded: c.cash_refunded.to_string(),
                    charged_back: c.cash_charged_back.to_string(),
                    net: c.cash_net.to_string(),
                    credits_sold: c.credits_sold,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CashToday {
        lines,
        credits_consumed: day.as_ref().map_or(0, |d| d.credits_consumed),
        unspent_credits: day
            .as_ref()
            .map_or(report.opening_unspent_credits, |d| d.unspent_credits),
        debt_outstanding: day.as_ref().map_or(0, |d| d.debt_outstanding),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    resumed: Option<String>,
}

pub async fn page(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let upstream = upstream_health(&web).await;
    let errors = GenerationFilter {
        with_upstream_error: true,
        ..GenerationFilter::default()
    };
    let recent_errors: Vec<AdminRow> = web
        .api
        .store
        .find_generations(&errors, None, RECENT_ERRORS)
        .await?
        .items
        .iter()
        .map(|g| AdminRow::new(g, &web.api.catalog, chrome.lang))
        .collect();
    let (money, by_model) = money_today(&web, chrome.lang).await?;
    let paused_models: Vec<_> = web
        .api
        .store
        .model_pauses()
        .await?
        .iter()
        .map(|p| {
            context! {
                model => p.model,
                title => web.api.catalog.model(&p.model).map_or(p.model.clone(), |m| m.title.clone()),
                reason => p.reason,
                since => p.since,
                probe_at => p.probe_at,
                refused_probes => p.strikes,
            }
        })
        .collect();
    let refusal = web
        .api
        .lifecycle
        .gate
        .refusal()
        .map(|(since, reason)| context! { since => since, reason => reason });
    Ok(chrome
        .render(
            "admin/dashboard.html",
            "admin_dashboard",
            context! {
                upstream => upstream,
                today => today(&web).await?,
                queue => queue_depth(&web).await?,
                recent_errors => recent_errors,
                money => money,
                by_model => by_model,
                cash => cash_today(&web).await?,
                refusal => refusal,
                paused_models => paused_models,
                resumed => query.resumed.is_some(),
            },
        )?
        .into_response())
}

#[derive(Deserialize)]
pub struct ResumeForm {
    #[serde(default)]
    csrf: String,
    model: String,
}

/// The operator's button on a model Kie withdrew: offer it again now.
pub async fn resume_model(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    WebForm(form): WebForm<ResumeForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    if web.api.catalog.model(form.model.trim()).is_none() {
        return Err(WebError::NotFound);
    }
    model_pause::resume(&web.api.lifecycle, form.model.trim()).await?;
    Ok(Redirect::to("/admin?resumed=1#paused-models").into_response())
}
