//! What a page handler can fail with. Expected failures (a wrong password, a bad form value)
//! re-render their form with a message; these are the rest, shown as a full error page in
//! the visitor's language by [`localize`], which knows the request's language.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use reelgate_store::{ErrorKind, StoreError};

use super::i18n::Locale;
use super::templates;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("page not found")]
    NotFound,
    /// A form that no page of ours produces (fields missing or malformed).
    #[error("malformed form: {0}")]
    BadForm(String),
    #[error("forbidden")]
    Forbidden,
    /// The form's CSRF token did not match the browser's cookie (an old tab, or a forgery).
    #[error("form token mismatch")]
    BadCsrf,
    /// A store refusal no page handles in its own words (a conflict, a rule): this page
    /// cannot do it as things stand. Nothing was changed.
    #[error("refused: {0}")]
    Refused(String),
    /// The database could not be used for now (out of connections under a burst, or
    /// unreachable): a 503 with `Retry-After`, as the JSON API answers.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an infrastructure failure: logged with its whole chain of causes, shown
    /// without detail.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl WebError {
    /// Any failure the visitor cannot act on (an error, or a sentence saying what broke).
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> WebError {
        WebError::Internal(error.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadForm(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden | WebError::BadCsrf => StatusCode::FORBIDDEN,
            WebError::Refused(_) => StatusCode::CONFLICT,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The locale key of the page's explanation.
    fn message_key(&self) -> &'static str {
        match self {
            WebError::NotFound => "error.not_found",
            WebError::BadForm(_) => "error.bad_form",
            WebError::Forbidden => "error.forbidden",
            WebError::BadCsrf => "error.bad_csrf",
            WebError::Refused(_) => "error.refused",
            WebError::Unavailable(_) => "error.unavailable",
            WebError::Internal(_) => "error.internal",
        }
    }
}

/// The store's failures by their kind, as the JSON API maps them: an outage is a 503 page
/// on both front ends.
impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            ErrorKind::NotFound => WebError::NotFound,
            ErrorKind::Conflict | ErrorKind::Refused => WebError::Refused(error.to_string()),
            ErrorKind::Unavailable => WebError::Unavailable(crate::telemetry::error_chain(&error)),
            ErrorKind::Bug => WebError::internal(error),
        }
    }
}

impl From<axum::extract::rejection::FormRejection> for WebError {
    fn from(rejection: axum::extract::rejection::FormRejection) -> Self {
        WebError::BadForm(rejection.body_text())
    }
}

/// `Form<T>` whose rejection is our error page instead of axum's plain text.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct WebForm<T>(pub T);

impl From<minijinja::Error> for WebError {
    fn from(error: minijinja::Error) -> Self {
        // `{:#}` includes the template name and line.
        WebError::Internal(format!("{error:#}").into())
    }
}

/// Marks a response as an error page still to be rendered.
#[derive(Clone, Copy)]
struct Pending {
    status: StatusCode,
    key: &'static str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match &self {
            WebError::Internal(source) => tracing::error!(
                error = %crate::telemetry::error_chain(source.as_ref()),
                "page failed"
            ),
            WebError::Unavailable(detail) => {
                tracing::error!(error = %detail, "the database is unavailable")
            }
            _ => {}
        }
        let pending = Pending {
            status: self.status(),
            key: self.message_key(),
        };
        let mut response = pending.status.into_response();
        response.extensions_mut().insert(pending);
        response
    }
}

/// Renders the error pages that handlers returned, in the request's language.
pub async fn localize(request: Request, next: Next) -> Response {
    let locale = Locale::negotiate(request.headers());
    let response = next.run(request).await;
    match response.extensions().get::<Pending>().copied() {
        Some(pending) => {
            let mut page = error_page(locale, pending.status, pending.key);
            if pending.status == StatusCode::SERVICE_UNAVAILABLE {
                page.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    crate::front::RETRY_UNAVAILABLE_SECS.into(),
                );
            }
            page
        }
        None => response,
    }
}

pub fn error_page(locale: Locale, status: StatusCode, key: &str) -> Response {
    let html = templates::render(
        "error.html",
        context! { lang => locale.code(), status => status.as_u16(), message_key => key },
    );
    match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "error page failed to render");
            (status, locale.text(key)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_map_by_their_kind() {
        let status = |error: StoreError| WebError::from(error).status();
        assert_eq!(
            status(StoreError::WriterStopped),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(StoreError::UserNotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(StoreError::VoucherUsedUp), StatusCode::CONFLICT);
        assert_eq!(status(StoreError::AccountDisabled), StatusCode::CONFLICT);
        let bug = StoreError::Corrupt {
            table: "users",
            detail: "role 'owner'".into(),
        };
        assert_eq!(status(bug), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn an_internal_error_keeps_its_causes() {
        let error = WebError::from(StoreError::CreateDataDir {
            path: "/data".into(),
            source: std::io::Error::other("read-only file system"),
        });
        let WebError::Internal(source) = &error else {
            panic!("a bug is internal: {error:?}");
        };
        let cause = source.source().map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("read-only file system"));
    }
}
