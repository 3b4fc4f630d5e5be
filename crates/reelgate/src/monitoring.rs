//! Prometheus metrics. Events this process saw (HTTP requests, upstream calls, webhook
//! attempts, settlements) are counted through the `metrics` facade into one recorder per
//! process; the state of the business (generations, queue, credits, deliveries) is read from
//! the database at scrape time, so every instance reports the same, current figures.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reelgate_store::Figures;

/// Latency buckets in seconds: from a cached read to a slow upstream call.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed on first use.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(builder) => builder,
            // Only refused for an empty list; BUCKETS is not empty.
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows only database figures"
            );
        }
        handle
    })
}

/// Counts every HTTP request and its latency by route template (never the raw path, whose ids
/// would make a series per generation).
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("reelgate_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("reelgate_http_request_duration_seconds",
        "method" => method, "route" => route)
    .record(started.elapsed().as_secs_f64());
    response
}

/// The whole scrape: this process's counters, then the database's figures.
pub fn render(figures: Option<&Figures>) -> String {
    let mut out = recorder().render();
    match figures {
        Some(figures) => render_figures(figures, &mut out),
        None => {
            gauge(
                &mut out,
                "reelgate_database_up",
                "1 if the database answered this scrape",
            );
            sample(&mut out, "reelgate_database_up", &[], 0);
        }
    }
    out
}

fn render_figures(figures: &Figures, out: &mut String) {
    gauge(
        out,
        "reelgate_database_up",
        "1 if the database answered this scrape",
    );
    sample(out, "reelgate_database_up", &[], 1);

    gauge(
        out,
        "reelgate_generations",
        "Generations by status and model",
    );
    for t in &figures.generations {
        let labels = [("status", t.status.as_str()), ("model", t.model.as_str())];
        sample(out, "reelgate_generations", &labels, t.count);
    }
    gauge(
        out,
        "reelgate_queue_depth",
        "Queued generations not yet sent upstream",
    );
    sample(out, "reelgate_queue_depth", &[], figures.queue_depth);
    gauge(
        out,
        "reelgate_upstream_in_flight",
        "Generations sent upstream and not finished",
    );
    sample(out, "reelgate_upstream_in_flight", &[], figures.in_flight);

    let credits = |statuses: &[&str], model: &str| -> i64 {
        figures
            .generations
            .iter()
            .filter(|t| t.model == model && statuses.contains(&t.status.as_str()))
            .map(|t| t.credits)
            .sum()
    };
    let mut models: Vec<&str> = figures
        .generations
        .iter()
        .map(|t| t.model.as_str())
        .collect();
    models.dedup();
    for (name, kind, help, statuses) in [
        (
            "reelgate_credits_held",
            "gauge",
            "Credits held by unsettled generations",
            &["queued", "running"][..],
        ),
        (
            "reelgate_credits_charged_total",
            "counter",
            "Credits charged for succeeded generations",
            &["succeeded"][..],
        ),
        (
            "reelgate_credits_refunded_total",
            "counter",
            "Credits returned for failed or canceled generations",
            &["failed", "canceled"][..],
        ),
    ] {
        header(out, name, kind, help);
        for model in &models {
            sample(out, name, &[("model", model)], credits(statuses, model));
        }
    }

    gauge(
        out,
        "reelgate_webhook_deliveries",
        "Customer webhook deliveries by state",
    );
    for (state, n) in &figures.webhook_deliveries {
        sample(out, "reelgate_webhook_deliveries", &[("state", state)], *n);
    }
}

fn gauge(out: &mut String, name: &str, help: &str) {
    header(out, name, "gauge", help);
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: i64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Prometheus label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelgate_store::GenerationTally;

    #[test]
    fn figures_render_as_prometheus_text_with_credits_by_model() {
        let tally = |model: &str, status: &str, count, credits| GenerationTally {
            model: model.into(),
            status: status.into(),
            count,
            credits,
        };
        let figures = Figures {
            generations: vec![
                tally("kling-2.6/text-to-video", "failed", 1, 45),
                tally("kling-2.6/text-to-video", "running", 2, 90),
                tally("kling-2.6/text-to-video", "succeeded", 3, 135),
            ],
            queue_depth: 4,
            in_flight: 2,
            webhook_deliveries: vec![("delivered".into(), 3)],
        };
        let mut out = String::new();
        render_figures(&figures, &mut out);
        for line in [
            "reelgate_generations{status=\"succeeded\",model=\"kling-2.6/text-to-video\"} 3",
            "reelgate_queue_depth 4",
            "reelgate_credits_held{model=\"kling-2.6/text-to-video\"} 90",
            "reelgate_credits_charged_total{model=\"kling-2.6/text-to-video\"} 135",
            "reelgate_credits_refunded_total{model=\"kling-2.6/text-to-video\"} 45",
            "reelgate_webhook_deliveries{state=\"delivered\"} 3",
            "# TYPE reelgate_credits_charged_total counter",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }

    #[test]
    fn label_values_cannot_break_the_format() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
