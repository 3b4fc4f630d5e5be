//! Customers submitting generations through the JSON API as a real integration would: every
//! submission carries an `Idempotency-Key` and is retried with it until it gets an answer, so a
//! request cut off by a `kill -9` is neither lost nor charged twice. Some are canceled.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Customer {
    pub email: String,
    pub key: String,
}

/// One model and the priced parameter combinations it offers (from `GET /v1/models`).
pub struct ModelChoice {
    pub id: String,
    pub images: bool,
    pub variants: Vec<Map<String, Value>>,
}

/// Reads the catalog the server offers, so the load covers every model and priced variant.
pub async fn catalog(client: &reqwest::Client, server: &str) -> Vec<ModelChoice> {
    let models: Value = client
        .get(format!("{server}/v1/models"))
        .send()
        .await
        .expect("catalog answers")
        .json()
        .await
        .expect("catalog JSON");
    let list = models
        .get("models")
        .and_then(Value::as_array)
        .or_else(|| models.as_array())
        .expect("a list of models");
    list.iter()
        .filter(|m| m["available"] == true)
        .map(|m| ModelChoice {
            id: m["id"].as_str().expect("model id").to_owned(),
            images: m["mode"]
                .as_str()
                .is_some_and(|mode| mode.contains("image")),
            variants: m["prices"]
                .as_array()
                .map(|prices| {
                    prices
                        .iter()
                        .filter_map(|p| p["params"].as_object().cloned())
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

#[derive(Debug, Default)]
pub struct LoadStats {
    pub accepted: AtomicU64,
    pub insufficient_credits: AtomicU64,
    /// Submissions that needed more than one attempt (the server was down or restarting).
    pub retried: AtomicU64,
    /// Retries answered with the first attempt's generation (the Idempotency-Key replay).
    pub replays_checked: AtomicU64,
    pub never_answered: AtomicU64,
    pub canceled: AtomicU64,
    pub cancel_too_late: AtomicU64,
    pub balance_reads: AtomicU64,
    /// The lowest balance any read saw; must never go below zero.
    pub lowest_balance: AtomicI64,
    pub problems: Mutex<Vec<String>>,
    /// Every generation answered 202, with the fault phase it was submitted in: each must be
    /// in the database at the end (a count alone would miss one lost and another made twice).
    pub accepted_ids: Mutex<Vec<Accepted>>,
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: String,
    pub phase: &'static str,
    pub canceled: bool,
}

impl LoadStats {
    pub fn problem(&self, text: String) {
        self.problems.lock().expect("problems lock").push(text);
    }
}

pub struct Load {
    pub client: reqwest::Client,
    pub server: String,
    pub customers: Vec<Customer>,
    pub models: Vec<ModelChoice>,
    pub stats: LoadStats,
    pub rng: Mutex<StdRng>,
    /// The fault phase running now (set by the soak's clock).
    pub phase: Mutex<&'static str>,
}

enum Answer {
    Done(u16, Value),
    GaveUp,
}

impl Load {
    pub fn new(
        server: &str,
        customers: Vec<Customer>,
        models: Vec<ModelChoice>,
        seed: u64,
    ) -> Arc<Load> {
        let stats = LoadStats::default();
        stats.lowest_balance.store(i64::MAX, Relaxed);
        Arc::new(Load {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
            server: server.to_owned(),
            customers,
            models,
            stats,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            phase: Mutex::new("starting"),
        })
    }

    fn random_request(&self) -> (usize, Value) {
        let mut rng = self.rng.lock().expect("rng lock");
        let customer = rng.gen_range(0..self.customers.len());
        let model = self.models.choose(&mut *rng).expect("at least one model");
        let mut body = json!({"model": model.id, "prompt": "a red fox running through snow"});
        if let Some(variant) = model.variants.choose(&mut *rng) {
            for (name, value) in variant {
                body[name] = value.clone();
            }
        }
        if model.images {
            body["image_urls"] = json!(["https://images.example.com/fox.png"]);
        }
        (customer, body)
    }

    /// Sends one request again and again (connection refused, 5xx, 408: the server is
    /// restarting) until it gets an answer or `patience` runs out.
    async fn send(
        &self,
        key: &str,
        path: &str,
        body: &Value,
        idempotency: Option<&str>,
        patience: Duration,
    ) -> (u32, Answer) {
        let deadline = Instant::now() + patience;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut request = self
                .client
                .post(format!("{}{path}", self.server))
                .bearer_auth(key)
                .json(body);
            if let Some(idempotency) = idempotency {
                request = request.header("Idempotency-Key", idempotency);
            }
            if let Ok(response) = request.send().await {
                let status = response.status().as_u16();
                if !matches!(status, 408 | 429 | 500..=599) {
                    // A body cut off (the server killed between the status line and the end
                    // of the body) is no answer: a client sends the request again, with its
                    // Idempotency-Key, as for any other lost answer.
                    if let Ok(body) = response.json::<Value>().await {
                        return (attempts, Answer::Done(status, body));
                    }
                }
            }
            if Instant::now() > deadline {
                return (attempts, Answer::GaveUp);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Submits one random generation; sometimes cancels it soon after.
    pub async fn submit_one(self: Arc<Self>) {
        let (customer, body) = self.random_request();
        let phase = *self.phase.lock().expect("phase lock");
        let key = &self.customers[customer].key;
        let idempotency = ulid::Ulid::new().to_string();
        let patience = Duration::from_secs(45);
        let (attempts, answer) = self
            .send(key, "/v1/generations", &body, Some(&idempotency), patience)
            .await;
        let (status, created) = match answer {
            Answer::Done(status, created) => (status, created),
            Answer::GaveUp => {
                self.stats.never_answered.fetch_add(1, Relaxed);
                return;
            }
        };
        match status {
            202 => {}
            402 => {
                self.stats.insufficient_credits.fetch_add(1, Relaxed);
                return;
            }
            _ => {
                self.stats
                    .problem(format!("submit {body} answered {status}: {created}"));
                return;
            }
        }
        self.stats.accepted.fetch_add(1, Relaxed);
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        self.stats
            .accepted_ids
            .lock()
            .expect("accepted lock")
            .push(Accepted {
                id: id.clone(),
                phase,
                canceled: false,
            });
        let (replay_check, cancel, cancel_after) = {
            let mut rng = self.rng.lock().expect("rng lock");
            (
                attempts > 1 || rng.gen_bool(0.05),
                rng.gen_bool(0.05),
                rng.gen_range(0..400),
            )
        };
        if attempts > 1 {
            self.stats.retried.fetch_add(1, Relaxed);
        }
        if replay_check {
            // The same key again must give the same generation, never a second one.
            let (_, again) = self
                .send(key, "/v1/generations", &body, Some(&idempotency), patience)
                .await;
            match again {
                Answer::Done(202, replayed) if same_generation(&replayed, &created) => {
                    self.stats.replays_checked.fetch_add(1, Relaxed);
                }
                Answer::Done(status, replayed) => self.stats.problem(format!(
                    "replaying Idempotency-Key {idempotency} gave {status} {replayed}, first {created}"
                )),
                Answer::GaveUp => {}
            }
        }
        if cancel {
            tokio::time::sleep(Duration::from_millis(cancel_after)).await;
            let path = format!("/v1/generations/{id}/cancel");
            match self.send(key, &path, &json!({}), None, patience).await.1 {
                Answer::Done(200, _) => {
                    self.stats.canceled.fetch_add(1, Relaxed);
                    let mut accepted = self.stats.accepted_ids.lock().expect("accepted lock");
                    if let Some(one) = accepted.iter_mut().find(|a| a.id == id) {
                        one.canceled = true;
                    }
                }
                Answer::Done(409, _) => {
                    self.stats.cancel_too_late.fetch_add(1, Relaxed);
                }
                Answer::Done(status, answer) => {
                    self.stats
                        .problem(format!("cancel {id} answered {status}: {answer}"));
                }
                Answer::GaveUp => {}
            }
        }
    }

    /// Reads every customer's balance; none may ever be negative.
    pub async fn read_balances(&self) {
        for customer in &self.customers {
            let Ok(response) = self
                .client
                .get(format!("{}/v1/account", self.server))
                .bearer_auth(&customer.key)
                .send()
                .await
            else {
                continue;
            };
            let Ok(account) = response.json::<Value>().await else {
                continue;
            };
            if let (Some(balance), Some(held)) =
                (account["balance"].as_i64(), account["held"].as_i64())
            {
                self.stats.balance_reads.fetch_add(1, Relaxed);
                self.stats
                    .lowest_balance
                    .fetch_min(balance.min(held), Relaxed);
            }
        }
    }
}

/// A replay answers with the generation first created, as it was created: the same id, model,
/// parameters, price and creation time (its status may have moved on since).
fn same_generation(replayed: &Value, first: &Value) -> bool {
    ["id", "model", "params", "credits", "created_at"]
        .iter()
        .all(|field| replayed[field] == first[field])
}
