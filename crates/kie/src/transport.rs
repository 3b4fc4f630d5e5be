//! One HTTP exchange with Kie, and the rules for repeating it: timeouts on every call,
//! retries only where a repeat cannot create a second task, the key kept out of every error
//! and log line.

use std::time::Instant;

use bytes::Bytes;
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};

use crate::config::RetryPolicy;
use crate::error::KieError;

/// How a call may be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Creates a task: sent at most once. Once sent, a lost answer is `OutcomeUnknown`.
    AtMostOnce,
    /// Creates nothing that matters if repeated, but is not worth repeating (uploads).
    Once,
    /// A read: repeated on transient failures, per the retry policy.
    Retried,
}

/// The raw answer to one exchange.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
}

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub api_key: SecretString,
    pub retry: RetryPolicy,
}

impl Transport {
    /// Runs `build`'s request, decodes its answer with `decode`, and retries as `delivery`
    /// allows. `endpoint` names the call in logs (a path, never a URL with credentials).
    pub async fn call<T>(
        &self,
        endpoint: &'static str,
        delivery: Delivery,
        build: impl Fn() -> RequestBuilder,
        decode: impl Fn(u16, &[u8]) -> Result<T, KieError>,
    ) -> Result<T, KieError> {
        let retries = match delivery {
            Delivery::Retried => self.retry.max_retries,
            Delivery::AtMostOnce | Delivery::Once => 0,
        };
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let outcome = self.exchange(&build, delivery).await;
            let status = outcome.as_ref().map_or(0, |answer| answer.status);
            let result = outcome.and_then(|answer| decode(answer.status, &answer.body));
            let result = result.map_err(|err| self.redact(err));
            // Named for the application's namespace: this crate's one consumer is reelgate,
            // and operators read one family of metrics. A no-op without a recorder installed.
            let outcome = result.as_ref().err().map_or("ok", KieError::kind);
            metrics::counter!("reelgate_upstream_requests_total", "endpoint" => endpoint, "outcome" => outcome)
                .increment(1);
            metrics::histogram!("reelgate_upstream_request_duration_seconds", "endpoint" => endpoint)
                .record(started.elapsed().as_secs_f64());
            tracing::debug!(
                endpoint,
                attempt,
                status,
                latency_ms = started.elapsed().as_millis() as u64,
                error = result.as_ref().err().map(tracing::field::display),
                "kie call"
            );
            match result {
                Err(err) if err.is_retryable() && attempt < retries => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn exchange(
        &self,
        build: &impl Fn() -> RequestBuilder,
        delivery: Delivery,
    ) -> Result<Answer, KieError> {
        let key = self.api_key.expose_secret();
        // An unset key sends no header at all, so Kie answers "missing key" (401) rather
        // than judging an empty bearer token.
        let request = if key.is_empty() {
            build()
        } else {
            build().bearer_auth(key)
        };
        let response = request
            .send()
            .await
            .map_err(|err| classify(err, delivery))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|err| classify(err, delivery))?;
        Ok(Answer { status, body })
    }

    /// Kie's messages and our snippets quote bodies we do not control; should one ever echo
    /// the key, it must not travel further in an error.
    fn redact(&self, mut err: KieError) -> KieError {
        let key = self.api_key.expose_secret();
        if let Some(text) = err.text_mut() {
            if !key.is_empty() && text.contains(key) {
                *text = text.replace(key, "[REDACTED]");
            }
        }
        err
    }
}

/// Sorts a failed exchange by whether the request can have reached Kie: a connection that was
/// never made sent nothing, anything later may have.
fn classify(err: reqwest::Error, delivery: Delivery) -> KieError {
    if err.is_connect() || err.is_builder() {
        return KieError::Transport(err);
    }
    match delivery {
        Delivery::AtMostOnce => KieError::OutcomeUnknown {
            reason: if err.is_timeout() {
                "no answer within the request timeout".to_owned()
            } else {
                format!("the connection failed after sending: {err}")
            },
        },
        Delivery::Once | Delivery::Retried if err.is_timeout() => KieError::Timeout,
        Delivery::Once | Delivery::Retried => KieError::Transport(err),
    }
}
