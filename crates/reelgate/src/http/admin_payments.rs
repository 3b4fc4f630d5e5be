//! Operator routes for selling credits: packages, payments with their events, refunds.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use reelgate_domain::payments::{
    check_bonus, check_credits, Money, PackageId, PackageName, PaymentId, PaymentStatus,
};
use reelgate_domain::text::Choice;
use reelgate_store::{NewPackage, PackageChange, PaymentEvent, PaymentFilter};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::str::FromStr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::{ErrorEnvelope, FieldProblem};
use super::payments::{PackageView, PaymentView};
use super::{ApiContext, ApiError, ApiJson, ApiPath, ApiQuery};

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPackageList {
    /// Every package, hidden ones too, in page order.
    pub packages: Vec<PackageView>,
}

/// Every package, on sale or hidden.
#[utoipa::path(get, path = "/v1/admin/packages", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = AdminPackageList), (status = 403, body = ErrorEnvelope)))]
async fn admin_list_packages(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<AdminPackageList>, ApiError> {
    let packages = ctx.store.packages(true).await?;
    Ok(ApiJson(AdminPackageList {
        packages: packages.iter().map(PackageView::from).collect(),
    }))
}

/// A package's fields as sent; absent ones are not changed (PATCH) or defaulted (POST).
#[derive(Debug, Default)]
struct PackageFields {
    change: PackageChange,
    problems: Vec<FieldProblem>,
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        code: "invalid_parameter".into(),
        message: message.into(),
        field: field.into(),
    }
}

/// Reads a package body field by field, so every bad field is named.
fn package_fields(body: &serde_json::Map<String, Value>) -> PackageFields {
    let mut fields = PackageFields::default();
    let known = [
        "name",
        "credits",
        "bonus_credits",
        "price",
        "active",
        "position",
    ];
    for key in body.keys().filter(|k| !known.contains(&k.as_str())) {
        fields.problems.push(FieldProblem {
            code: "unknown_parameter".into(),
            ..problem(
                key,
                format!("unknown field {key}; packages take {}", known.join(", ")),
            )
        });
    }
    if let Some(v) = body.get("name") {
        match v.as_str().map(PackageName::parse) {
            Some(Ok(name)) => fields.change.name = Some(name),
            Some(Err(e)) => fields.problems.push(problem("name", e.to_string())),
            None => fields
                .problems
                .push(problem("name", "name must be a string")),
        }
    }
    if let Some(v) = body.get("credits") {
        match v.as_i64().map(check_credits) {
            Some(Ok(c)) => fields.change.credits = Some(c),
            Some(Err(e)) => fields.problems.push(problem("credits", e.to_string())),
            None => fields
                .problems
                .push(problem("credits", "credits must be a whole number")),
        }
    }
    if let Some(v) = body.get("bonus_credits") {
        match v.as_i64().map(check_bonus) {
            Some(Ok(c)) => fields.change.bonus_credits = Some(c),
            Some(Err(e)) => fields
                .problems
                .push(problem("bonus_credits", e.to_string())),
            None => fields.problems.push(problem(
                "bonus_credits",
                "bonus_credits must be a whole number",
            )),
        }
    }
    if let Some(v) = body.get("price") {
        for key in v
            .as_object()
            .into_iter()
            .flat_map(|price| price.keys())
            .filter(|k| !["amount", "currency"].contains(&k.as_str()))
        {
            fields.problems.push(FieldProblem {
                code: "unknown_parameter".into(),
                ..problem(
                    &format!("price.{key}"),
                    format!("unknown field price.{key}; a price takes amount and currency"),
                )
            });
        }
        // Bounded first: an unknown currency's name is quoted back in the refusal.
        let text = |name: &str| match v.get(name).and_then(Value::as_str).map(Choice::parse) {
            Some(Err(e)) => Err(problem(
                &format!("price.{name}"),
                format!("price.{name} {e}"),
            )),
            other => Ok(other.and_then(Result::ok)),
        };
        let (amount, currency) = match (text("amount"), text("currency")) {
            (Ok(amount), Ok(currency)) => (amount, currency),
            (Err(e), _) | (_, Err(e)) => {
                fields.problems.push(e);
                (None, None)
            }
        };
        let (amount, currency) = (
            amount.as_ref().map(Choice::as_str),
            currency.as_ref().map(Choice::as_str),
        );
        let bounded = fields
            .problems
            .iter()
            .all(|p| !p.field.starts_with("price."));
        match (amount, currency) {
            _ if !bounded => {}
            (Some(amount), Some(currency)) => match Money::parse(amount, currency) {
                Ok(price) => fields.change.price = Some(price),
                Err(e @ reelgate_domain::payments::MoneyError::UnknownCurrency(_)) => fields
                    .problems
                    .push(problem("price.currency", e.to_string())),
                Err(e) => fields.problems.push(problem("price.amount", e.to_string())),
            },
            (None, _) => fields.problems.push(problem(
                "price.amount",
                "price.amount must be an exact decimal string such as \"149.90\"",
            )),
            (_, None) => fields.problems.push(problem(
                "price.currency",
                "price.currency must be an ISO 4217 code: TRY, USD, EUR or GBP",
            )),
        }
    }
    if let Some(v) = body.get("active") {
        match v.as_bool() {
            Some(b) => fields.change.active = Some(b),
            None => fields
                .problems
                .push(problem("active", "active must be true or false")),
        }
    }
    if let Some(v) = body.get("position") {
        match v.as_i64() {
            Some(p) => fields.change.position = Some(p),
            None => fields
                .problems
                .push(problem("position", "position must be a whole number")),
        }
    }
    fields
}

fn object(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest {
            code: "invalid_json",
            message: "the body must be a JSON object".into(),
        }),
    }
}

/// Defines a package: `{"name", "credits", "bonus_credits", "price": {"amount", "currency"},
/// "active", "position"}`.
#[utoipa::path(post, path = "/v1/admin/packages", tag = "admin", security(("api_key" = [])),
    request_body(content = Object, description = "name, credits, bonus_credits, price {amount, currency}, active, position"),
    responses((status = 201, body = PackageView), (status = 400, body = ErrorEnvelope)))]
async fn create_package(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<PackageView>), ApiError> {
    let body = object(body)?;
    let mut fields = package_fields(&body);
    for required in ["name", "credits", "price"] {
        if !body.contains_key(required) {
            fields.problems.push(FieldProblem {
                code: "missing_parameter".into(),
                message: format!("{required} is required"),
                field: required.into(),
            });
        }
    }
    let change = fields.change;
    let (Some(name), Some(credits), Some(price), true) = (
        change.name,
        change.credits,
        change.price,
        fields.problems.is_empty(),
    ) else {
        return Err(ApiError::InvalidInput(fields.problems));
    };
    let package = ctx
        .store
        .create_package(&NewPackage {
            name,
            credits,
            bonus_credits: change.bonus_credits.unwrap_or_default(),
            price,
            active: change.active.unwrap_or(true),
            position: change.position.unwrap_or(0),
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(PackageView::from(&package))))
}

/// Changes a package: rename, reprice, hide or show. Checkouts already begun keep their price.
#[utoipa::path(patch, path = "/v1/admin/packages/{id}", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the package's id (`pkg_…`)")),
    request_body(content = Object, description = "any of name, credits, bonus_credits, price, active, position"),
    responses((status = 200, body = PackageView), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn update_package(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<PackageView>, ApiError> {
    let id: PackageId = id.parse().map_err(|_| ApiError::NotFound("package"))?;
    let fields = package_fields(&object(body)?);
    if !fields.problems.is_empty() {
        return Err(ApiError::InvalidInput(fields.problems));
    }
    let package = ctx
        .store
        .update_package(&id, &fields.change)
        .await
        .map_err(|e| match e {
            reelgate_store::StoreError::PackageNotFound => ApiError::NotFound("package"),
            other => other.into(),
        })?;
    Ok(ApiJson(PackageView::from(&package)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminPaymentQuery {
    /// Only payments in this status.
    #[param(nullable = false)]
    #[param(inline)]
    pub status: Option<reelgate_domain::text::Choice>,
    /// Only this customer's (`usr_…`).
    #[param(nullable = false)]
    #[param(inline)]
    pub user: Option<reelgate_domain::text::Search>,
    #[param(nullable = false)]
    #[param(inline)]
    pub cursor: Option<reelgate_domain::text::Token>,
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentEventView {
    pub id: i64,
    pub provider: String,
    /// The provider's event id, when it has one.
    pub event_id: Option<String>,
    pub event_type: String,
    /// `verified`, `duplicate`, or why it was refused.
    pub verification: String,
    /// What it changed.
    pub effect: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

impl From<&PaymentEvent> for PaymentEventView {
    fn from(e: &PaymentEvent) -> Self {
        PaymentEventView {
            id: e.id,
            provider: e.provider.clone(),
            event_id: e.event_id.clone(),
            event_type: e.event_type.clone(),
            verification: e.verification.clone(),
            effect: e.effect.clone(),
            payload: e.payload.clone(),
            received_at: e.received_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPaymentView {
    #[serde(flatten)]
    pub payment: PaymentView,
    pub user_id: String,
    /// The provider's checkout reference (Stripe session, iyzico token).
    pub provider_ref: Option<String>,
    /// The provider's id of the money movement (Stripe payment intent, iyzico paymentId).
    pub provider_payment_id: Option<String>,
    pub dispute: String,
    /// Every notification and callback received for it, oldest first.
    pub events: Vec<PaymentEventView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPaymentList {
    pub payments: Vec<AdminPaymentView>,
    pub next_cursor: Option<String>,
    /// On the first page: the latest notifications that name no payment of ours — forged,
    /// expired or unreadable ones, and events of other integrations — newest first.
    pub unmatched_events: Vec<PaymentEventView>,
}

async fn admin_view(
    ctx: &ApiContext,
    payment: &reelgate_domain::payments::Payment,
) -> Result<AdminPaymentView, ApiError> {
    let events = ctx.store.payment_events(Some(&payment.id), 200).await?;
    Ok(AdminPaymentView {
        payment: PaymentView::from(payment),
        user_id: payment.user_id.to_string(),
        provider_ref: payment.provider_ref.clone(),
        provider_payment_id: payment.provider_payment_id.clone(),
        dispute: payment.dispute.as_str().to_owned(),
        events: events.iter().map(PaymentEventView::from).collect(),
    })
}

/// Every payment, newest first, with the events received for it.
#[utoipa::path(get, path = "/v1/admin/payments", tag = "admin", security(("api_key" = [])),
    params(AdminPaymentQuery),
    responses((status = 200, body = AdminPaymentList), (status = 400, body = ErrorEnvelope)))]
async fn admin_list_payments(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<AdminPaymentQuery>,
) -> Result<ApiJson<AdminPaymentList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(PaymentStatus::from_str)
        .transpose()
        .map_err(|e| ApiError::field("status", "invalid_parameter", e))?;
    let user = query
        .user
        .as_deref()
        .map(reelgate_domain::accounts::UserId::parse)
        .transpose()
        .map_err(|e| ApiError::field("user", "invalid_parameter", e.to_string()))?;
    let page = ctx
        .store
        .payments(
            &PaymentFilter { user, status },
            query.cursor.as_deref(),
            super::account::page_limit(query.limit)?,
        )
        .await?;
    let mut payments = Vec::with_capacity(page.items.len());
    for payment in &page.items {
        payments.push(admin_view(&ctx, payment).await?);
    }
    let unmatched_events = if query.cursor.is_none() {
        ctx.store
            .payment_events(None, 200)
            .await?
            .iter()
            .filter(|e| e.payment_id.is_none())
            .take(50)
            .map(PaymentEventView::from)
            .collect()
    } else {
        Vec::new()
    };
    Ok(ApiJson(AdminPaymentList {
        payments,
        next_cursor: page.next_cursor,
        unmatched_events,
    }))
}

fn payment_id(raw: &str) -> Result<PaymentId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("payment"))
}

fn not_found(e: reelgate_store::StoreError) -> ApiError {
    match e {
        reelgate_store::StoreError::PaymentNotFound => ApiError::NotFound("payment"),
        other => other.into(),
    }
}

/// One payment with every event received for it.
#[utoipa::path(get, path = "/v1/admin/payments/{id}", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the payment's id (`pay_…`)")),
    responses((status = 200, body = AdminPaymentView), (status = 404, body = ErrorEnvelope)))]
async fn admin_get_payment(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<AdminPaymentView>, ApiError> {
    let payment = ctx
        .store
        .payment(&payment_id(&id)?)
        .await
        .map_err(not_found)?;
    Ok(ApiJson(admin_view(&ctx, &payment).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Exact decimal string in the payment's currency; everything not yet refunded when
    /// omitted.
    #[schema(inline)]
    pub amount: Option<Choice>,
}

/// Refunds all or part of a payment through its provider; the credits follow.
#[utoipa::path(post, path = "/v1/admin/payments/{id}/refund", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the payment's id (`pay_…`)")),
    request_body = RefundRequest,
    responses((status = 200, body = AdminPaymentView), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "the provider refused the refund (`refund_refused`, its code and reason in the message); nothing moved", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)))]
async fn refund_payment(
    State(ctx): State<ApiContext>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<ApiJson<AdminPaymentView>, ApiError> {
    let id = payment_id(&id)?;
    let amount = match request.amount.as_ref().map(Choice::as_str) {
        None => None,
        Some(raw) => {
            let plain = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            let value = Decimal::from_str(raw)
                .ok()
                .filter(|_| plain)
                .ok_or_else(|| {
                    ApiError::field(
                        "amount",
                        "invalid_parameter",
                        "amount must be an exact decimal string such as \"10.00\"",
                    )
                })?;
            if value.scale() > 2 {
                return Err(ApiError::field(
                    "amount",
                    "invalid_parameter",
                    "amount has more than two decimal places",
                ));
            }
            Some(value)
        }
    };
    let settled = ctx
        .payments
        .refund(&id, amount, &admin.id)
        .await
        .map_err(|e| match e {
            crate::payments::PaymentError::Store(e) => not_found(e),
            other => other.into(),
        })?;
    Ok(ApiJson(admin_view(&ctx, &settled.payment).await?))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(admin_list_packages, create_package))
        .routes(routes!(update_package))
        .routes(routes!(admin_list_payments))
        .routes(routes!(admin_get_payment))
        .routes(routes!(refund_payment))
}
