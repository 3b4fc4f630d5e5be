//! A closed-loop HTTP load generator: N clients, each on its own keep-alive connection,
//! sending its next request as soon as the previous answer is read.
//!
//! Built on hyper's bare HTTP/1 connection rather than reqwest: no pool, no redirects, no
//! per-request bookkeeping, so on a 2-core machine the generator takes as little CPU from the
//! server it measures as it can. Every figure is measured with this same generator as its
//! baseline, so what it costs cancels out of the ratios.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// What one client sends, over and over.
#[derive(Clone, Debug)]
pub enum Target {
    Healthz,
    /// `POST /v1/generations` with this body, as this API key.
    Submit {
        key: String,
        body: Bytes,
    },
    /// `GET /v1/generations/{id}` over these ids in turn, as this API key.
    Read {
        key: String,
        ids: Arc<Vec<String>>,
    },
}

/// When a load run stops.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    After(Duration),
    /// After this many requests in all, however long that takes.
    Requests(u64),
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Answers with the status the target expects (200, or 202 for a submit).
    pub ok: u64,
    pub errors: u64,
    /// The first unexpected answer, to say what went wrong.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency of every answered request, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Ids of the generations each client created (submits only), by client.
    pub created: Vec<Vec<String>>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[rank.min(self.latencies_us.len() - 1)]) / 1000.0
    }
}

/// Runs one client per target against `addr` until `stop`.
pub async fn run(addr: SocketAddr, targets: Vec<Target>, stop: Stop) -> anyhow::Result<Outcome> {
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for (n, target) in targets.into_iter().enumerate() {
        let issued = Arc::clone(&issued);
        clients.spawn(async move { (n, client(addr, target, stop, start, &issued).await) });
    }
    let mut outcome = Outcome::default();
    let mut created = Vec::new();
    while let Some(joined) = clients.join_next().await {
        let (n, client) = joined?;
        let client = client?;
        outcome.ok += client.ok;
        outcome.errors += client.errors;
        if outcome.first_error.is_none() {
            outcome.first_error = client.first_error;
        }
        outcome.latencies_us.extend(client.latencies_us);
        created.push((n, client.created));
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies_us.sort_unstable();
    created.sort_by_key(|(n, _)| *n);
    outcome.created = created.into_iter().map(|(_, ids)| ids).collect();
    Ok(outcome)
}

#[derive(Default)]
struct ClientOutcome {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
    created: Vec<String>,
}

async fn client(
    addr: SocketAddr,
    target: Target,
    stop: Stop,
    start: Instant,
    issued: &AtomicU64,
) -> anyhow::Result<ClientOutcome> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let host = addr.to_string();
    let mut out = ClientOutcome::default();
    for sequence in 0u64.. {
        let go_on = match stop {
            Stop::After(duration) => start.elapsed() < duration,
            Stop::Requests(total) => issued.fetch_add(1, Ordering::Relaxed) < total,
        };
        if !go_on {
            break;
        }
        let request = request(&target, &host, sequence)?;
        let sent = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        out.latencies_us.push(took);
        let expected = match target {
            Target::Submit { .. } => 202,
            _ => 200,
        };
        if status != expected {
            out.errors += 1;
            if out.first_error.is_none() {
                out.first_error = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
            continue;
        }
        out.ok += 1;
        if let Target::Submit { .. } = target {
            if let Some(id) = created_id(&body) {
                out.created.push(id);
            }
        }
    }
    Ok(out)
}

fn request(target: &Target, host: &str, sequence: u64) -> anyhow::Result<Request<Full<Bytes>>> {
    let builder = Request::builder().header(HOST, host);
    Ok(match target {
        Target::Healthz => builder
            .method(Method::GET)
            .uri("/healthz")
            .body(Full::new(Bytes::new()))?,
        Target::Submit { key, body } => builder
            .method(Method::POST)
            .uri("/v1/generations")
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))?,
        Target::Read { key, ids } => {
            let id = ids
                .get((sequence % ids.len().max(1) as u64) as usize)
                .ok_or_else(|| anyhow::anyhow!("a read client has no generation to read"))?;
            builder
                .method(Method::GET)
                .uri(format!("/v1/generations/{id}"))
                .header(AUTHORIZATION, format!("Bearer {key}"))
                .body(Full::new(Bytes::new()))?
        }
    })
}

fn created_id(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_sorted_latencies() {
        let outcome = Outcome {
            latencies_us: (1..=100).map(|ms| ms * 1000).collect(),
            ok: 100,
            elapsed: Duration::from_secs(2),
            ..Outcome::default()
        };
        assert_eq!(outcome.latency_ms(0.5), 51.0);
        assert_eq!(outcome.latency_ms(0.99), 99.0);
        assert_eq!(outcome.per_second(), 50.0);
    }
}
