//! Buying credits: the packages on sale, checkout, the caller's payments, and the providers'
//! notifications.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reelgate_domain::payments::{PackageId, Payment, PaymentId, ProviderKind};
use reelgate_domain::text::Choice;
use reelgate_store::PaymentFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::account::{page_limit, PageQuery};
use super::auth::AuthUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiPath, ApiQuery};
use crate::client_addr::ClientAddr;
pub use crate::front::views::payments::{PackageView, PaymentPackage, PaymentView, PriceView};
use crate::payments::demo::DemoChoice;
use crate::payments::PaymentError;

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageList {
    pub packages: Vec<PackageView>,
    /// The providers a checkout may name on this server.
    pub providers: Vec<String>,
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Store(e) => ApiError::from(e),
            PaymentError::NotConfigured(kind) => ApiError::field(
                "provider",
                "provider_not_configured",
                format!("the payment provider {kind} is not configured on this server"),
            ),
            PaymentError::Provider(e @ crate::payments::provider::ProviderError::Mismatch(..)) => {
                ApiError::BadRequest {
                    code: "payment_mismatch",
                    message: format!("nothing was credited: {e}"),
                }
            }
            PaymentError::Provider(e) => {
                tracing::warn!(error = %e, "payment provider failed");
                ApiError::Unavailable(format!(
                    "the payment provider could not be reached or refused: {e}"
                ))
            }
            PaymentError::NotRefundable(message) => {
                ApiError::field("amount", "invalid_parameter", message)
            }
            PaymentError::Refused(e) => ApiError::BadRequest {
                code: "invalid_signature",
                message: format!("notification refused: {e}"),
            },
            PaymentError::RefundRefused(e) => ApiError::Conflict {
                code: "refund_refused",
                message: format!("nothing was refunded: {e}"),
            },
        }
    }
}

/// The credit packages on sale, in their order, with the providers to pay through.
#[utoipa::path(get, path = "/v1/packages", tag = "payments",
    responses((status = 200, body = PackageList)))]
async fn list_packages(State(ctx): State<ApiContext>) -> Result<ApiJson<PackageList>, ApiError> {
    let packages = ctx.store.packages(false).await?;
    Ok(ApiJson(PackageList {
        packages: packages.iter().map(PackageView::from).collect(),
        providers: ctx
            .payments
            .available()
            .into_iter()
            .map(|p| p.to_string())
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The package's id (`pkg_…`).
    #[schema(inline)]
    pub package: Option<Choice>,
    /// `iyzico`, `stripe` or `demo`; the only one configured when omitted.
    #[schema(inline)]
    pub provider: Option<Choice>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutView {
    pub payment: PaymentView,
    /// Where to send the customer to pay.
    pub redirect_url: String,
}

/// Parses a checkout request into the package and provider it names.
pub fn parse_checkout(
    ctx: &ApiContext,
    request: &CheckoutRequest,
) -> Result<(PackageId, ProviderKind), ApiError> {
    let package = match request.package.as_ref().map(Choice::as_str) {
        None | Some("") => {
            return Err(ApiError::field(
                "package",
                "missing_parameter",
                "package is required: the id of a package from GET /v1/packages",
            ))
        }
        Some(raw) => raw.parse::<PackageId>().map_err(|_| unknown_package())?,
    };
    let available = ctx.payments.available();
    let provider = match request.provider.as_ref().map(Choice::as_str) {
        Some(raw) if !raw.is_empty() => raw
            .parse::<ProviderKind>()
            .map_err(|e| ApiError::field("provider", "invalid_parameter", e.to_string()))?,
        _ if available.len() == 1 => available[0],
        _ => {
            return Err(ApiError::field(
                "provider",
                "missing_parameter",
                format!(
                    "provider is required: one of {}",
                    available
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    };
    Ok((package, provider))
}

fn unknown_package() -> ApiError {
    ApiError::field(
        "package",
        "unknown_package",
        "no such package on sale: see GET /v1/packages",
    )
}

/// Begins buying a package: the price and credits shown now are the ones paid and credited.
#[utoipa::path(post, path = "/v1/checkout", tag = "payments", security(("api_key" = [])),
    request_body = CheckoutRequest,
    responses((status = 201, body = CheckoutView), (status = 400, body = ErrorEnvelope),
        (status = 503, description = "the provider could not open a checkout", body = ErrorEnvelope)))]
async fn checkout(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ClientAddr(client): ClientAddr,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> Result<(StatusCode, ApiJson<CheckoutView>), ApiError> {
    let (package, provider) = parse_checkout(&ctx, &request)?;
    let (payment, redirect) = ctx
        .payments
        .checkout(&user, client, &package, provider)
        .await
        .map_err(|e| match e {
            PaymentError::Store(reelgate_store::StoreError::PackageNotFound) => unknown_package(),
            other => ApiError::from(other),
        })?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CheckoutView {
            payment: PaymentView::from(&payment),
            redirect_url: redirect.to_string(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentList {
    /// Newest first.
    pub payments: Vec<PaymentView>,
    pub next_cursor: Option<String>,
}

/// The caller's payments, newest first.
#[utoipa::path(get, path = "/v1/payments", tag = "payments", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, body = PaymentList), (status = 401, body = ErrorEnvelope)))]
async fn list_payments(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<PaymentList>, ApiError> {
    let filter = PaymentFilter {
        user: Some(user.id),
        status: None,
    };
    let page = ctx
        .store
        .payments(&filter, query.cursor.as_deref(), page_limit(query.limit)?)
        .await?;
    Ok(ApiJson(PaymentList {
        payments: page.items.iter().map(PaymentView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The caller's payment with this id (another customer's is not found).
pub async fn own_payment(
    ctx: &ApiContext,
    user: &reelgate_domain::accounts::User,
    raw: &str,
) -> Result<Payment, ApiError> {
    let id: PaymentId = raw.parse().map_err(|_| ApiError::NotFound("payment"))?;
    match ctx.store.payment(&id).await {
        Ok(payment) if payment.user_id == user.id => Ok(payment),
        Ok(_) | Err(reelgate_store::StoreError::PaymentNotFound) => {
            Err(ApiError::NotFound("payment"))
        }
        Err(e) => Err(e.into()),
    }
}

/// One of the caller's payments. A pending one is checked with its provider first, so a
/// payment whose notification was lost is still credited (by the provider's word, not the
/// browser's).
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "the payment's id (`pay_…`)")),
    responses((status = 200, body = PaymentView), (status = 404, body = ErrorEnvelope)))]
async fn get_payment(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<PaymentView>, ApiError> {
    let payment = own_payment(&ctx, &user, &id).await?;
    let payment = ctx.payments.refresh(payment).await;
    Ok(ApiJson(PaymentView::from(&payment)))
}

/// Stripe's events: verified by `Stripe-Signature`, acted on once per event id.
#[utoipa::path(post, path = "/v1/payments/stripe/webhook", tag = "payments",
    request_body(content = String, description = "a Stripe event", content_type = "application/json"),
    responses((status = 200, description = "received"), (status = 400, body = ErrorEnvelope)))]
async fn stripe_webhook(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    notification(&ctx, ProviderKind::Stripe, &headers, &body).await
}

/// iyzico's merchant notifications (an addition to the contract of product.md): verified by
/// `X-IYZ-SIGNATURE-V3`, then the payment is retrieved from iyzico before anything changes;
/// a repeated notification (the same `iyziReferenceCode`) changes nothing. Answered 200
/// once handled (also for a payment of no one here), 400 when refused, 5xx when iyzico or
/// the database could not be asked — iyzico then sends it again.
#[utoipa::path(post, path = "/v1/payments/iyzico/webhook", tag = "payments",
    request_body(content = String, description = "an iyzico merchant notification", content_type = "application/json"),
    responses((status = 200, description = "received"), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn iyzico_webhook(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    match ctx
        .payments
        .webhook(ProviderKind::Iyzico, &headers, &body)
        .await
    {
        Ok(_) => Ok(StatusCode::OK),
        Err(PaymentError::NotConfigured(_)) => Err(ApiError::NotFound("payment provider")),
        Err(e) => Err(e.into()),
    }
}

/// iyzico returns the customer's browser here with the form's token (a form post). The token
/// is only a hint: the result is retrieved from iyzico and checked before anything is
/// credited; the browser then goes on to the payment's live page.
#[utoipa::path(post, path = "/v1/payments/iyzico/callback", tag = "payments",
    request_body(content = String, description = "`token=…`, form-encoded, as iyzico posts it",
        content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "to the payment's page"),
        (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn iyzico_callback(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let settled = match ctx
        .payments
        .notification(ProviderKind::Iyzico, &headers, &body)
        .await
    {
        Ok(settled) => settled,
        Err(PaymentError::NotConfigured(_)) => return Err(ApiError::NotFound("payment provider")),
        Err(PaymentError::Refused(e)) => {
            return Err(ApiError::field("token", "invalid_parameter", e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let Some(settled) = settled else {
        return Err(ApiError::field(
            "token",
            "invalid_parameter",
            "the token names no payment of this server",
        ));
    };
    let page = ctx.payments.return_url(&settled.payment.id);
    Ok(axum::response::Redirect::to(page.as_str()).into_response())
}

async fn notification(
    ctx: &ApiContext,
    kind: ProviderKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<StatusCode, ApiError> {
    match ctx.payments.notification(kind, headers, body).await {
        Ok(_) => Ok(StatusCode::OK),
        // Not configured: a 404 the provider stops on, naming what is missing.
        Err(PaymentError::NotConfigured(_)) => Err(ApiError::NotFound("payment provider")),
        // Unavailable provider or database: 5xx, and the provider retries later.
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoChoiceRequest {
    /// `pay`, `decline` or `later`.
    #[schema(inline)]
    pub choice: Option<Choice>,
}

/// The demo provider only (no real provider configured): pay or decline one of the caller's
/// demo payments, as its built-in payment page does. No money moves.
#[utoipa::path(post, path = "/v1/payments/{id}/demo", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path, description = "the payment's id (`pay_…`)")),
    request_body = DemoChoiceRequest,
    responses((status = 200, body = PaymentView), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn demo_choice(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<DemoChoiceRequest>,
) -> Result<ApiJson<PaymentView>, ApiError> {
    let payment = own_payment(&ctx, &user, &id).await?;
    let choice = match request
        .choice
        .as_ref()
        .map(Choice::as_str)
        .unwrap_or_default()
    {
        "pay" => Some(DemoChoice::Pay),
        "decline" => Some(DemoChoice::Decline),
        "later" => None,
        _ => {
            return Err(ApiError::field(
                "choice",
                "invalid_parameter",
                "choice must be one of pay, decline, later",
            ))
        }
    };
    let payment = ctx.payments.demo_decide(&payment, choice).await?;
    Ok(ApiJson(PaymentView::from(&payment)))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list_packages))
        .routes(routes!(checkout))
        .routes(routes!(list_payments))
        .routes(routes!(get_payment))
        .routes(routes!(stripe_webhook))
        .routes(routes!(iyzico_callback))
        .routes(routes!(iyzico_webhook))
        .routes(routes!(demo_choice))
}
