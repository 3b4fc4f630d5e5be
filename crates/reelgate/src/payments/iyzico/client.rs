//! iyzico's JSON API: every request signed with `IYZWSv2` over its exact body. iyzico answers
//! refusals as `status: failure` with an `errorMessage`, usually with HTTP 200.

use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;
use url::Url;

use super::sign::authorization;
use crate::payments::provider::ProviderError;
use reelgate_domain::payments::ProviderKind;

pub struct IyzicoClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: SecretString,
    secret_key: SecretString,
}

impl IyzicoClient {
    pub fn new(base_url: Url, api_key: SecretString, secret_key: SecretString) -> IyzicoClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        IyzicoClient {
            http,
            base_url,
            api_key,
            secret_key,
        }
    }

    pub fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }

    /// Posts `request` to `path`; iyzico's answer, whatever its `status`.
    pub async fn post(&self, path: &str, request: &Value) -> Result<Value, ProviderError> {
        self.send(reqwest::Method::POST, path, request.to_string())
            .await
    }

    /// Gets `path` (with its query) — the reporting API's reads. Signed as `post` signs, the
    /// path without its query followed by the (empty) body.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, ProviderError> {
        self.send(reqwest::Method::GET, path_and_query, String::new())
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: String,
    ) -> Result<Value, ProviderError> {
        let unavailable = |e: String| ProviderError::Unavailable(ProviderKind::Iyzico, e);
        let url = self
            .base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| ProviderError::Refused(ProviderKind::Iyzico, e.to_string()))?;
        let random: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(8)
            .map(char::from)
            .collect();
        let header = authorization(
            self.api_key.expose_secret(),
            self.secret_key.expose_secret(),
            &random,
            url.path(),
            &body,
        );
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", header)
            .header("x-iyzi-rnd", &random)
            .header("Accept", "application/json");
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("unreadable answer: {e}")))
    }
}

/// A text field of an answer.
pub fn text<'a>(answer: &'a Value, field: &str) -> Option<&'a str> {
    answer.get(field).and_then(Value::as_str)
}

/// The answer's refusal, if it is one.
pub fn refusal(answer: &Value) -> Option<String> {
    if text(answer, "status") == Some("success") {
        return None;
    }
    // iyzico writes its codes as strings ("5093"); a number is read the same.
    let code = match answer.get("errorCode") {
        Some(Value::String(code)) => code.clone(),
        Some(Value::Number(code)) => code.to_string(),
        _ => "none".into(),
    };
    Some(format!(
        "{} (errorCode {code})",
        text(answer, "errorMessage").unwrap_or("no reason given"),
    ))
}
