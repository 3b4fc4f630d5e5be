//! The web app's cookies — the session's, which the API accepts too, and the CSRF nonce's —
//! their names, and reading and writing them, all with the same safe attributes.

use axum::http::header::GetAll;
use axum::http::HeaderValue;
use std::time::Duration;
use url::Url;

/// The name of the web app's session cookie (over plain http).
pub const SESSION_COOKIE: &str = "reelgate_session";

/// The names of the web app's cookies. Over https they carry the `__Host-` prefix, which
/// browsers accept only from this host, with `Secure` and `Path=/`: a sibling subdomain cannot
/// plant a session or a CSRF nonce of its choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    /// Whether cookies get `Secure` (served over https).
    pub secure: bool,
}

impl CookieNames {
    pub fn for_public_url(public: &Url) -> CookieNames {
        if public.scheme() == "https" {
            CookieNames {
                session: "__Host-reelgate_session",
                csrf: "__Host-reelgate_csrf",
                secure: true,
            }
        } else {
            CookieNames {
                session: SESSION_COOKIE,
                csrf: "reelgate_csrf",
                secure: false,
            }
        }
    }
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn get(headers: GetAll<'_, HeaderValue>, name: &str) -> Option<String> {
    headers
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value: HttpOnly (scripts never need our cookies), SameSite=Lax (sent on
/// top-level navigation, not on other sites' POSTs), Secure when we are served over https.
/// `max_age` None is a browser-session cookie.
pub fn build(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    build(name, "", secure, Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        headers.append("cookie", HeaderValue::from_static("c=\"3\""));
        assert_eq!(get(headers.get_all("cookie"), "b").as_deref(), Some("2"));
        assert_eq!(get(headers.get_all("cookie"), "c").as_deref(), Some("3"));
        assert_eq!(get(headers.get_all("cookie"), "d"), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site_lax() {
        let c = build("s", "v", false, None);
        assert_eq!(c, "s=v; Path=/; HttpOnly; SameSite=Lax");
        let secure = build("s", "v", true, Some(Duration::from_secs(60)));
        assert!(secure.ends_with("; Max-Age=60; Secure"), "{secure}");
    }

    #[test]
    fn cookies_are_host_prefixed_over_https_only() {
        let https = CookieNames::for_public_url(&Url::parse("https://v.example").unwrap());
        assert_eq!(https.session, "__Host-reelgate_session");
        assert!(https.secure);
        let http = CookieNames::for_public_url(&Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(http.session, "reelgate_session");
        assert!(!http.secure);
    }
}
