//! Reading and writing the web app's cookies, all with the same safe attributes.

use axum::http::header::GetAll;
use axum::http::HeaderValue;
use std::time::Duration;

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
}
