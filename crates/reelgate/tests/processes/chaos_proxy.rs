//! A callback proxy between the simulator and `reelgate serve`. Kie's callbacks go to
//! `REELGATE_PUBLIC_URL`, which points here; the proxy passes them on to the server after a
//! random delay (so they arrive late and out of order), and may drop, duplicate or replay them
//! much later, and sends forged copies (wrong token, or another generation's id) that the
//! server must refuse. Callbacks that reach a server being restarted are lost, as with Kie.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to callbacks now; changed by the fault schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackFaults {
    pub drop: f64,
    pub duplicate: f64,
    pub max_delay: Duration,
    pub replay: f64,
    pub forge: f64,
}

#[derive(Debug, Default)]
pub struct ProxyStats {
    pub received: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub delayed: AtomicU64,
    pub reordered: AtomicU64,
    pub replayed: AtomicU64,
    /// Could not be delivered: the server was down (killed or restarting).
    pub lost_to_restarts: AtomicU64,
    /// A genuine callback the server answered with neither 2xx nor a connection error.
    pub refused_genuine: AtomicU64,
    pub forged_sent: AtomicU64,
    pub forged_refused: AtomicU64,
    /// Must stay 0.
    pub forged_accepted: AtomicU64,
    highest_delivered: AtomicU64,
}

struct Shared {
    target: String,
    faults: Mutex<CallbackFaults>,
    rng: Mutex<StdRng>,
    /// Generations seen lately, whose ids the forgeries borrow.
    recent: Mutex<Vec<String>>,
    stats: Arc<ProxyStats>,
    http: reqwest::Client,
}

pub struct ChaosProxy {
    pub url: String,
    pub stats: Arc<ProxyStats>,
    shared: Arc<Shared>,
}

impl ChaosProxy {
    /// Listens on a free port and passes callbacks on to `target` (the server's base URL).
    pub async fn start(target: &str, seed: u64) -> ChaosProxy {
        let stats = Arc::new(ProxyStats::default());
        let shared = Arc::new(Shared {
            target: target.trim_end_matches('/').to_owned(),
            faults: Mutex::new(CallbackFaults::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            recent: Mutex::new(Vec::new()),
            stats: Arc::clone(&stats),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
        });
        let router = Router::new()
            .route("/callbacks/kie/{generation}/{token}", post(receive))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        ChaosProxy { url, stats, shared }
    }

    pub fn set_faults(&self, faults: CallbackFaults) {
        *self.shared.faults.lock().expect("faults lock") = faults;
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path((generation, token)): Path<(String, String)>,
    body: Bytes,
) -> StatusCode {
    let seq = shared.stats.received.fetch_add(1, Relaxed) + 1;
    let faults = *shared.faults.lock().expect("faults lock");
    let (dropped, copies, delays, replay, forge, other_id) = {
        let mut rng = shared.rng.lock().expect("rng lock");
        let dropped = rng.gen_bool(faults.drop);
        let copies = if rng.gen_bool(faults.duplicate) { 2 } else { 1 };
        let max_ms = u64::try_from(faults.max_delay.as_millis()).unwrap_or(0);
        let delays: Vec<u64> = (0..copies).map(|_| rng.gen_range(0..=max_ms)).collect();
        let replay = rng
            .gen_bool(faults.replay)
            .then(|| rng.gen_range(3_000..8_000));
        let forge = rng.gen_bool(faults.forge);
        let mut recent = shared.recent.lock().expect("recent lock");
        let other_id = recent
            .iter()
            .find(|id| **id != generation)
            .cloned()
            .unwrap_or_else(|| format!("gen_{}", ulid::Ulid::new().to_string().to_lowercase()));
        if recent.len() >= 64 {
            let at = rng.gen_range(0..recent.len());
            recent[at] = generation.clone();
        } else {
            recent.push(generation.clone());
        }
        drop(recent);
        (dropped, copies, delays, replay, forge, other_id)
    };
    if forge {
        let shared = Arc::clone(&shared);
        let (generation, good, body) = (generation.clone(), token.clone(), body.clone());
        tokio::spawn(async move {
            // One hex digit changed, and the genuine token on an id it was not made for.
            let mut bad = good.clone().into_bytes();
            if let Some(first) = bad.first_mut() {
                *first = if *first == b'0' { b'1' } else { b'0' };
            }
            let bad = String::from_utf8(bad).unwrap_or_default();
            forge_one(&shared, &generation, &bad, &body).await;
            forge_one(&shared, &other_id, &good, &body).await;
        });
    }
    if dropped {
        shared.stats.dropped.fetch_add(1, Relaxed);
        return StatusCode::OK;
    }
    if copies > 1 {
        shared.stats.duplicated.fetch_add(1, Relaxed);
    }
    for delay in delays {
        let shared = Arc::clone(&shared);
        let (generation, token, body) = (generation.clone(), token.clone(), body.clone());
        tokio::spawn(async move {
            if delay > 0 {
                shared.stats.delayed.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            deliver(&shared, seq, &generation, &token, &body).await;
        });
    }
    if let Some(later) = replay {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(later)).await;
            shared.stats.replayed.fetch_add(1, Relaxed);
            deliver(&shared, seq, &generation, &token, &body).await;
        });
    }
    StatusCode::OK
}

async fn deliver(shared: &Shared, seq: u64, generation: &str, token: &str, body: &Bytes) {
    let previous = shared.stats.highest_delivered.fetch_max(seq, Relaxed);
    if previous > seq {
        shared.stats.reordered.fetch_add(1, Relaxed);
    }
    let url = format!("{}/callbacks/kie/{generation}/{token}", shared.target);
    let sent = shared
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            shared.stats.delivered.fetch_add(1, Relaxed);
        }
        Ok(response) if response.status().is_server_error() => {
            // The database was briefly unavailable, or the server is stopping: as lost.
            shared.stats.lost_to_restarts.fetch_add(1, Relaxed);
        }
        Ok(_) => {
            shared.stats.refused_genuine.fetch_add(1, Relaxed);
        }
        Err(_) => {
            shared.stats.lost_to_restarts.fetch_add(1, Relaxed);
        }
    }
}

async fn forge_one(shared: &Shared, generation: &str, token: &str, body: &Bytes) {
    let url = format!("{}/callbacks/kie/{generation}/{token}", shared.target);
    let sent = shared
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    let Ok(response) = sent else {
        return; // the server is down; nothing was tried
    };
    shared.stats.forged_sent.fetch_add(1, Relaxed);
    if response.status().is_success() {
        shared.stats.forged_accepted.fetch_add(1, Relaxed);
    } else if matches!(response.status().as_u16(), 403 | 404) {
        shared.stats.forged_refused.fetch_add(1, Relaxed);
    }
}
