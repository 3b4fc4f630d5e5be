//! Who is looking at a page: the signed-in user behind the session cookie (the same cookie and
//! session store the JSON API accepts), as extractors. A handler that takes `Viewer` cannot run
//! for a visitor who is not signed in; one that takes `Operator` only for an operator.

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use reelgate_domain::accounts::{SessionToken, User};
use reelgate_store::StoreError;
use std::time::Duration;

use super::cookies;
use super::error::WebError;
use super::WebContext;

/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The signed-in user, if any; looked up once per request.
#[derive(Clone)]
struct Looked(Option<User>);

pub async fn current_user(parts: &mut Parts, web: &WebContext) -> Result<Option<User>, WebError> {
    if let Some(Looked(user)) = parts.extensions.get::<Looked>() {
        return Ok(user.clone());
    }
    let token = cookies::get(parts.headers.get_all(COOKIE), web.api.cookies.session)
        .and_then(|raw| SessionToken::parse(&raw).ok());
    let user = match token {
        None => None,
        Some(token) => match web.api.store.session_user(&token).await {
            Ok(user) => user,
            // A disabled account's session is simply not a session any more.
            Err(StoreError::AccountDisabled) => None,
            Err(other) => return Err(other.into()),
        },
    };
    parts.extensions.insert(Looked(user.clone()));
    Ok(user)
}

/// The session cookie the request came with, if it holds a well-formed token (valid or not:
/// `Viewer` says whether anyone is signed in).
pub struct WebSession(pub Option<SessionToken>);

impl FromRequestParts<WebContext> for WebSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &WebContext,
    ) -> Result<Self, Self::Rejection> {
        Ok(WebSession(
            cookies::get(parts.headers.get_all(COOKIE), web.api.cookies.session)
                .and_then(|raw| SessionToken::parse(&raw).ok()),
        ))
    }
}

/// A signed-in user (customer or operator).
pub struct Viewer(pub User);

impl FromRequestParts<WebContext> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &WebContext) -> Result<Self, Response> {
        match current_user(parts, web).await {
            Ok(Some(user)) => Ok(Viewer(user)),
            Ok(None) => Err(to_sign_in(parts).into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
}

/// A signed-in operator.
pub struct Operator(pub User);

impl FromRequestParts<WebContext> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &WebContext) -> Result<Self, Response> {
        let Viewer(user) = Viewer::from_request_parts(parts, web).await?;
        if user.is_admin() {
            Ok(Operator(user))
        } else {
            Err(WebError::Forbidden.into_response())
        }
    }
}

/// Sends a visitor to sign in, coming back here afterwards (for page views only: a form
/// posted after the session ended comes back to the page, not to the POST).
fn to_sign_in(parts: &Parts) -> Redirect {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    if parts.method == axum::http::Method::GET && path != "/" {
        Redirect::to(&format!("/signin?next={}", encode(path)))
    } else {
        Redirect::to("/signin")
    }
}

/// Percent-encodes a path for a query string.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Where to go after signing in: only a path on this site. `next` is read as a URL relative
/// to the public origin, as a browser would read it — which strips tabs and newlines and
/// turns `\\` into `/`, so `/\t/evil.example` is `//evil.example` — and anything that lands
/// on another origin is refused; so is a result a browser would read as `//elsewhere`.
pub fn safe_next(next: Option<&str>, public: &url::Url, user: &User) -> String {
    same_site(next, public).unwrap_or_else(|| home(user).to_owned())
}

/// Where a signed-in user starts: an operator's work is on the dashboard, a customer's on
/// the generate page.
pub fn home(user: &User) -> &'static str {
    if user.is_admin() {
        "/admin"
    } else {
        "/generate"
    }
}

/// `next` if it stays on this site, else the site's root (for visitors not signed in).
pub fn same_site_or_root(next: &str, public: &url::Url) -> String {
    same_site(Some(next), public).unwrap_or_else(|| "/".to_owned())
}

fn same_site(next: Option<&str>, public: &url::Url) -> Option<String> {
    let raw = next.filter(|n| n.starts_with('/'))?;
    let url = public.join(raw).ok()?;
    if url.origin() != public.origin() {
        return None;
    }
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if path.starts_with("//") || path.starts_with("/\\") {
        return None;
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        let public = url::Url::parse("https://videos.example.com/").unwrap();
        let next = |n| same_site(Some(n), &public);
        assert_eq!(next("/videos?x=1").as_deref(), Some("/videos?x=1"));
        for evil in [
            "//evil.example/",
            "/\\evil.example/",
            "https://evil.example/",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\t\\evil.example",
            "/.//evil.example",
            "/%2e//evil.example",
            "https://videos.example.com.evil.example/",
        ] {
            assert_eq!(next(evil), None, "{evil:?}");
        }
        assert_eq!(same_site(None, &public), None);
    }
}
