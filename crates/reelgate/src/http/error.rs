//! The one error type of the HTTP layer and its mapping to the JSON envelope of `docs/API.md`:
//! `{"error": {"code": …, "message": …, "field": …}}`. Every handler returns `Result<_, ApiError>`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelgate_domain::limits::{Breach, Quota};
use reelgate_store::{ErrorKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::front::RETRY_UNAVAILABLE_SECS;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    pub code: String,
    pub message: String,
    pub field: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: bad input. The first problem is the envelope's; all are listed in `details`.
    #[error("invalid request: {}", .0.first().map(|p| p.message.as_str()).unwrap_or(""))]
    InvalidInput(Vec<FieldProblem>),
    /// 400 that is about the request as a whole, not one field.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("{message}")]
    PaymentRequired { code: &'static str, message: String },
    #[error("forbidden")]
    Forbidden,
    /// 403 with its reason (a cross-site request carrying the session cookie).
    #[error("{message}")]
    ForbiddenBecause { code: &'static str, message: String },
    /// 403 because of one field of the account (an address not yet confirmed).
    #[error("{message}")]
    ForbiddenField {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not (axum adds the `Allow` header).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 410: it existed, and is gone for good (an expired signed link).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("request body too large")]
    PayloadTooLarge,
    /// 408: the request, its body included, did not arrive in time.
    #[error("request timed out")]
    RequestTimeout { secs: u64 },
    /// 416: a `Range` outside a body of `len` bytes (answered with `Content-Range: bytes */len`).
    #[error("range not satisfiable")]
    RangeNotSatisfiable { len: u64 },
    /// Any other refusal at the HTTP level (a malformed request head, one too large), for
    /// answers that axum or hyper would otherwise give with an empty or plain-text body.
    #[error("{message}")]
    Protocol {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("too many requests")]
    TooManyRequests,
    /// 429 or 402: one of the customer's limits (set by the operator) refuses it for now.
    #[error("customer limit reached")]
    Limit(Breach),
    #[error("{0}")]
    Unavailable(String),
    /// 503 for one model: the upstream withdrew or disabled it for now; retry after about
    /// this long (when it is probed again).
    #[error("model temporarily unavailable")]
    ModelUnavailable { retry_after_secs: u64 },
    /// A bug or an infrastructure failure: logged with its whole chain of causes, answered
    /// without detail.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::InvalidInput(vec![FieldProblem {
            code: code.to_owned(),
            message: message.into(),
            field: field.to_owned(),
        }])
    }

    /// Any failure the client cannot act on (an error, or a sentence saying what broke).
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(error.into())
    }

    /// The database (or another service we need) cannot be used for now: a 503 the client
    /// may retry; the cause is logged, not answered.
    pub fn unavailable(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(
            error = %crate::telemetry::error_chain(error),
            "the database is unavailable"
        );
        ApiError::Unavailable("the service is temporarily unavailable; please retry shortly".into())
    }

    /// The envelope for an answer something other than our handlers gave (axum's rejections,
    /// tower's timeout, hyper's refusal of a malformed head): `detail` is its plain-text body,
    /// if it had one worth passing on.
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        let message = |fallback: &str| detail.clone().unwrap_or_else(|| fallback.to_owned());
        match status {
            StatusCode::BAD_REQUEST => ApiError::BadRequest {
                code: "malformed_request",
                message: message(
                    "the request is malformed (for instance two different Content-Length \
                     headers, or a header that is not valid HTTP)",
                ),
            },
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::NOT_FOUND => ApiError::NotFound("resource"),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(message(
                "the service is temporarily unavailable; please retry shortly",
            )),
            StatusCode::INTERNAL_SERVER_ERROR => {
                ApiError::Internal(message("an error without detail").into())
            }
            StatusCode::URI_TOO_LONG => ApiError::Protocol {
                status,
                code: "uri_too_long",
                message: "the request's URI is longer than this server accepts".into(),
            },
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::Protocol {
                status,
                code: "headers_too_large",
                message: "the request's headers are larger than this server accepts".into(),
            },
            other => ApiError::Protocol {
                status: other,
                code: if other.is_client_error() {
                    "bad_request"
                } else {
                    "server_error"
                },
                message: message(other.canonical_reason().unwrap_or("error")),
            },
        }
    }

    /// The envelope as bytes, for an answer written below axum (see `wire_errors`).
    pub fn envelope_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&ErrorEnvelope { error: self.body() }).unwrap_or_default()
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Forbidden
            | ApiError::ForbiddenBecause { .. }
            | ApiError::ForbiddenField { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Protocol { status, .. } => *status,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Limit(Breach::DailyCap { .. }) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Limit(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::ModelUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        let plain = |code: &str, message: String| ErrorBody {
            code: code.to_owned(),
            message,
            field: None,
            details: Vec::new(),
        };
        match self {
            ApiError::InvalidInput(problems) => match problems.first() {
                Some(first) => ErrorBody {
                    code: first.code.clone(),
                    message: first.message.clone(),
                    field: Some(first.field.clone()),
                    details: if problems.len() > 1 {
                        problems.clone()
                    } else {
                        Vec::new()
                    },
                },
                None => plain("invalid_request", "invalid request".into()),
            },
            ApiError::ForbiddenField {
                code,
                field,
                message,
            } => ErrorBody {
                field: Some((*field).to_owned()),
                ..plain(code, message.clone())
            },
            ApiError::BadRequest { code, message }
            | ApiError::PaymentRequired { code, message }
            | ApiError::Conflict { code, message }
            | ApiError::Gone { code, message }
            | ApiError::ForbiddenBecause { code, message }
            | ApiError::Unprocessable { code, message } => plain(code, message.clone()),
            ApiError::Unauthorized => plain(
                "unauthorized",
                "sign in, or send an API key as `Authorization: Bearer rg_…`".into(),
            ),
            ApiError::Forbidden => plain("forbidden", "you are not allowed to do this".into()),
            ApiError::NotFound(what) => plain("not_found", format!("{what} not found")),
            ApiError::MethodNotAllowed => plain(
                "method_not_allowed",
                "this path does not take this method; the Allow header lists those it takes".into(),
            ),
            ApiError::PayloadTooLarge => plain(
                "payload_too_large",
                "the request body is larger than this server accepts".into(),
            ),
            ApiError::RequestTimeout { secs } => plain(
                "request_timeout",
                format!("the request, its body included, did not arrive within {secs} s"),
            ),
            ApiError::RangeNotSatisfiable { len } => plain(
                "range_not_satisfiable",
                format!(
                    "the Range header asks for no byte of this body, which has {len} bytes \
                     (Content-Range says so too)"
                ),
            ),
            ApiError::Protocol { code, message, .. } => plain(code, message.clone()),
            ApiError::TooManyRequests => {
                plain("rate_limited", "too many requests; retry later".into())
            }
            ApiError::Limit(breach) => plain(breach_code(breach), breach_message(breach)),
            ApiError::Unavailable(message) => plain("unavailable", message.clone()),
            ApiError::ModelUnavailable { .. } => ErrorBody {
                field: Some("model".into()),
                ..plain(
                    "model_unavailable",
                    crate::generations::model_pause::CUSTOMER_REASON.into(),
                )
            },
            ApiError::Internal(_) => plain("internal", "something went wrong on our side".into()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem, when there is more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

/// The error envelope, as it appears in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = %crate::telemetry::error_chain(source.as_ref()), "request failed");
        }
        let mut response = (status, Json(ErrorEnvelope { error: self.body() })).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                RETRY_UNAVAILABLE_SECS.into(),
            );
        }
        if let ApiError::ModelUnavailable { retry_after_secs } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if let ApiError::RangeNotSatisfiable { len } = &self {
            if let Ok(value) = HeaderValue::try_from(format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        if let ApiError::Limit(Breach::TooManyPerMinute { quota }) = &self {
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::try_from(quota.reset_secs.max(1).to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
            rate_limit_headers(headers, quota);
        }
        response
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) of a customer's
/// submissions-per-minute quota.
pub fn rate_limit_headers(headers: &mut HeaderMap, quota: &Quota) {
    for (name, value) in [
        ("ratelimit-limit", u64::from(quota.limit)),
        ("ratelimit-remaining", u64::from(quota.remaining)),
        ("ratelimit-reset", quota.reset_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

fn breach_code(breach: &Breach) -> &'static str {
    match breach {
        Breach::TooManyActive { .. } => "too_many_active",
        Breach::TooManyPerMinute { .. } => "rate_limited",
        Breach::DailyCap { .. } => "daily_spending_cap",
    }
}

/// Which limit, and when it frees, in words for the customer's program and its developer.
fn breach_message(breach: &Breach) -> String {
    match breach {
        Breach::TooManyActive { limit } => format!(
            "your account may have at most {limit} generations queued or running at once; \
             submit more when one of them finishes"
        ),
        Breach::TooManyPerMinute { quota } => format!(
            "your account may submit at most {} generations per minute; retry in {} s",
            quota.limit,
            quota.reset_secs.max(1)
        ),
        Breach::DailyCap {
            cap,
            spent,
            price,
            resets_at,
        } => format!(
            "this generation costs {price} credits and {spent} of your daily spending cap of \
             {cap} credits are already used; the cap resets at {}",
            resets_at.format("%Y-%m-%d %H:%M UTC")
        ),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge;
        }
        let message = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with `Content-Type: application/json`".to_owned()
            }
            other => other.body_text(),
        };
        ApiError::BadRequest {
            code: "invalid_json",
            message,
        }
    }
}

/// `Json<T>` whose rejections use our envelope instead of axum's plain text, and which takes
/// only a JSON object: serde would otherwise read a struct from an array of its fields in
/// order (`[null]` made an API key; found by Schemathesis).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::BadRequest {
                code: "invalid_json",
                message: "the body must be a JSON object".into(),
            });
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| body_error(&e))
    }
}

/// A body of the right JSON shape but the wrong content, as a 400 naming the field: the path
/// serde was at (`credits` for `{"credits": 1.5}`), or for a missing or unknown field the name
/// serde quotes (`missing field \`credits\``).
fn body_error(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let message = error.inner().to_string();
    let path = error.path().to_string();
    let quoted = message.split('`').nth(1).map(str::to_owned);
    let field = match path.as_str() {
        "." | "" => quoted,
        path => Some(path.to_owned()),
    };
    match field {
        Some(field) => {
            let (code, message) = in_words(&field, &message);
            ApiError::field(&field, code, message)
        }
        None => ApiError::BadRequest {
            code: "invalid_json",
            message: format!("Failed to deserialize the JSON body into the target type: {message}"),
        },
    }
}

/// serde's wording (`invalid type: floating point \`1.5\`, expected i64`) as a sentence about
/// the field (`credits must be a whole number (got floating point \`1.5\`)`), with its code.
fn in_words(field: &str, message: &str) -> (&'static str, String) {
    if message.starts_with("missing field") {
        return ("missing_parameter", format!("{field} is required"));
    }
    if message.starts_with("unknown field") {
        return ("unknown_parameter", message.to_owned());
    }
    if let Some((got, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        let expected = match expected {
            "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => {
                "a whole number"
            }
            "a boolean" => "true or false",
            "a borrowed string" => "a string",
            other => other,
        };
        return (
            "invalid_parameter",
            format!("{field} must be {expected} (got {got})"),
        );
    }
    // Our own types' refusals (`must be at most 100 characters`) read on from the field's name.
    if message.starts_with("must ") {
        return ("invalid_parameter", format!("{field} {message}"));
    }
    ("invalid_parameter", format!("{field}: {message}"))
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_query",
            message: rejection.body_text(),
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        // A path segment of the wrong shape (`/videos/abc`) names nothing that can exist.
        ApiError::NotFound("resource")
    }
}

/// `Path<T>` whose rejections use our envelope (a 404), not axum's plain-text 400.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query<T>` whose rejections use our envelope and name the parameter at fault, as
/// [`ApiJson`] names the body's field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| query_error(&e))
    }
}

fn query_error(error: &serde_path_to_error::Error<serde_urlencoded::de::Error>) -> ApiError {
    let message = error.inner().to_string();
    let path = error.path().to_string();
    match path.as_str() {
        "." | "" => ApiError::BadRequest {
            code: "invalid_query",
            message: format!("Failed to deserialize query string: {message}"),
        },
        field => {
            let (code, message) = in_words(field, &message);
            ApiError::field(field, code, message)
        }
    }
}

impl From<reelgate_domain::catalog::FieldError> for FieldProblem {
    fn from(e: reelgate_domain::catalog::FieldError) -> Self {
        FieldProblem {
            code: e.code.as_str().to_owned(),
            message: e.message,
            field: e.field,
        }
    }
}

/// A generation request the catalog refused: every field error, the first in the envelope.
impl From<reelgate_domain::catalog::FieldErrors> for ApiError {
    fn from(errors: reelgate_domain::catalog::FieldErrors) -> Self {
        ApiError::InvalidInput(
            errors
                .into_vec()
                .into_iter()
                .map(FieldProblem::from)
                .collect(),
        )
    }
}

/// How the store's failures reach the client: by their kind, so an outage is a 503 and a bug
/// a 500 whatever the variant; each refusal with the code `docs/API.md` gives it.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            ErrorKind::Unavailable => ApiError::unavailable(&error),
            ErrorKind::Bug => ApiError::internal(error),
            ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Refused => refusal(error),
        }
    }
}

/// A store refusal (not found, conflict, refused) as the API's status and code.
fn refusal(error: StoreError) -> ApiError {
    let kind = error.kind();
    let message = error.to_string();
    let conflict = |code| ApiError::Conflict {
        code,
        message: message.clone(),
    };
    match error {
        StoreError::InsufficientCredits { balance, needed } => ApiError::PaymentRequired {
            code: "insufficient_credits",
            // Only a generation's hold can find the balance short.
            message: format!("this generation costs {needed} credits; your balance is {balance}"),
        },
        StoreError::InDebt { .. } => ApiError::PaymentRequired {
            code: "in_debt",
            message,
        },
        StoreError::LimitReached(breach) => ApiError::Limit(breach),
        StoreError::PackageNotFound => ApiError::NotFound("package"),
        StoreError::PaymentNotFound => ApiError::NotFound("payment"),
        StoreError::UserNotFound => ApiError::NotFound("user"),
        StoreError::ApiKeyNotFound => ApiError::NotFound("API key"),
        StoreError::VoucherNotFound => ApiError::NotFound("voucher"),
        StoreError::EmailTaken => conflict("email_taken"),
        StoreError::VoucherCodeTaken => conflict("voucher_code_taken"),
        StoreError::VoucherUsedUp => conflict("voucher_used_up"),
        StoreError::VoucherAlreadyRedeemed => conflict("voucher_already_redeemed"),
        StoreError::IdempotencyConflict => conflict("idempotency_conflict"),
        StoreError::AccountBusy(_) => conflict("account_busy"),
        StoreError::VoucherExpired => ApiError::Unprocessable {
            code: "voucher_expired",
            message,
        },
        StoreError::InvalidCredentials => ApiError::Unauthorized,
        StoreError::AccountClosed | StoreError::AccountDisabled => ApiError::Forbidden,
        StoreError::InvalidToken => ApiError::field("token", "invalid_token", message),
        StoreError::InvalidAmount(_) => ApiError::field("credits", "invalid_parameter", message),
        StoreError::InvalidCursor => ApiError::field("cursor", "invalid_parameter", message),
        StoreError::InvalidVoucher(reason) => {
            ApiError::field("max_redemptions", "invalid_parameter", reason)
        }
        // A refusal no request of the API meets today: answered by its kind.
        _ => match kind {
            ErrorKind::NotFound => ApiError::NotFound("resource"),
            ErrorKind::Conflict => conflict("conflict"),
            _ => ApiError::Unprocessable {
                code: "refused",
                message,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn envelope(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn field_errors_use_the_spec_envelope() {
        let (status, body) = envelope(ApiError::field(
            "aspect_ratio",
            "invalid_parameter",
            "aspect_ratio must be one of 16:9, 9:16, 1:1",
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid_parameter",
                "message": "aspect_ratio must be one of 16:9, 9:16, 1:1", "field": "aspect_ratio"}})
        );
    }

    #[tokio::test]
    async fn store_failures_map_by_their_kind() {
        let (status, body) = envelope(StoreError::WriterStopped.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
        let bug = StoreError::Corrupt {
            table: "generations",
            detail: "status 'lost'".into(),
        };
        let (status, body) = envelope(bug.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        let (status, body) = envelope(StoreError::VoucherNotFound.into()).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::NOT_FOUND, &"not_found".into())
        );
        let (status, body) = envelope(StoreError::IdempotencyConflict.into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "idempotency_conflict");
        let (status, _) = envelope(StoreError::Unsupported("backups of PostgreSQL").into()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a refusal, never a 500"
        );
    }

    #[test]
    fn an_internal_error_keeps_its_causes() {
        let error = ApiError::from(StoreError::CreateDataDir {
            path: "/data".into(),
            source: std::io::Error::other("read-only file system"),
        });
        let ApiError::Internal(source) = &error else {
            panic!("a bug is internal: {error:?}");
        };
        let cause = source.source().map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("read-only file system"));
    }

    #[tokio::test]
    async fn internal_errors_hide_their_detail() {
        let (status, body) = envelope(ApiError::internal("db password is hunter2")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("hunter2"));
    }
}
