//! Callbacks to `callBackUrl` when tasks end: one timer loop over a min-heap of due times, not
//! a sleeping task per task, and a bounded number of deliveries in flight.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::record::View;
use crate::simulator::{now_ms, Shared};
use crate::task::TaskId;
use crate::upgrade::uhd_callback;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_IN_FLIGHT: usize = 64;

/// One callback to make: `copies` is 0 when the fault dice dropped it, 2 when duplicated;
/// `uhd` for the end of a 4K upgrade rather than of the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Due {
    pub at_ms: u64,
    pub task: u64,
    pub copies: u8,
    pub uhd: bool,
}

pub(crate) struct Scheduler {
    queue: Mutex<BinaryHeap<Reverse<Due>>>,
    wake: Arc<Notify>,
    started: AtomicBool,
    in_flight: Arc<Semaphore>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            wake: Arc::default(),
            started: AtomicBool::new(false),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

impl Scheduler {
    fn queue(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Reverse<Due>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    /// Wakes the loop so it notices its simulator is gone.
    pub fn stop(&self) {
        self.wake.notify_one();
    }

    fn pop_due(&self, now: u64) -> Result<Due, Option<u64>> {
        let mut queue = self.queue();
        let Some(&Reverse(due)) = queue.peek() else {
            return Err(None);
        };
        if due.at_ms > now {
            return Err(Some(due.at_ms - now));
        }
        queue.pop();
        Ok(due)
    }
}

/// Queues a callback; the first one starts the timer loop (handlers run inside a runtime).
pub(crate) fn schedule(shared: &Arc<Shared>, due: Due) {
    let scheduler = &shared.callbacks;
    scheduler.queue().push(Reverse(due));
    if !scheduler.started.swap(true, Ordering::AcqRel) {
        tokio::spawn(run(Arc::downgrade(shared), scheduler.wake.clone()));
    }
    scheduler.wake.notify_one();
}

/// Holds only a weak reference while sleeping, so dropping the simulator ends the loop.
async fn run(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        let wait = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            match dispatch_due(&shared).await {
                Some(wait) => wait,
                None => return,
            }
        };
        match wait {
            Some(ms) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    _ = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

/// Starts every due delivery; returns how long until the next one (`Some(None)`: none
/// queued), or `None` if the semaphore is gone.
async fn dispatch_due(shared: &Arc<Shared>) -> Option<Option<u64>> {
    loop {
        let permit = shared
            .callbacks
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .ok()?;
        match shared.callbacks.pop_due(now_ms()) {
            Ok(due) => {
                tokio::spawn(deliver(shared.clone(), due, permit));
            }
            Err(wait) => return Some(wait),
        }
    }
}

async fn deliver(shared: Arc<Shared>, due: Due, _permit: OwnedSemaphorePermit) {
    let Some((url, task_id, payload)) = payload(&shared, due) else {
        return;
    };
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    if due.copies == 0 {
        shared.lock().stats.callbacks_dropped += 1;
        // The URL carries the receiver's secret token: log its host only.
        tracing::debug!(%host, "callback dropped by fault injection");
        return;
    }
    if due.copies > 1 {
        shared.lock().stats.callbacks_duplicated += 1;
    }
    for _ in 0..due.copies {
        let mut request = shared
            .http
            .post(&url)
            .timeout(DELIVERY_TIMEOUT)
            .json(&payload);
        if let Some(key) = &shared.webhook_key {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            request = request
                .header("X-Webhook-Timestamp", &timestamp)
                .header("X-Webhook-Signature", signature(key, &task_id, &timestamp));
        }
        let result = request.send().await;
        let delivered = match result {
            Ok(resp) if resp.status().is_success() => true,
            Ok(resp) => {
                tracing::warn!(%host, status = %resp.status(), "callback refused; not retried");
                false
            }
            Err(err) => {
                tracing::warn!(%host, error = %err.without_url(), "callback failed; not retried");
                false
            }
        };
        let mut st = shared.lock();
        st.stats.callbacks_sent += 1;
        if !delivered {
            st.stats.callbacks_failed += 1;
        }
    }
}

fn payload(shared: &Shared, due: Due) -> Option<(String, String, Value)> {
    let base_url = shared.base_url();
    let st = shared.lock();
    let task = st.tasks.get(&due.task)?;
    let id = TaskId::new(task.model.is_veo(), due.task);
    if due.uhd {
        let uhd = st.upgrades.get(&due.task)?.uhd.as_ref()?;
        let url = uhd.callback_url.clone()?;
        return Some((url, id.to_string(), uhd_callback(id, uhd, &base_url)));
    }
    let url = task.callback_url.as_deref()?.to_owned();
    let view = View {
        task,
        id,
        now_ms: now_ms().max(task.completed_ms()),
        base_url: &base_url,
    };
    Some((url, id.to_string(), view.callback()))
}

/// Kie's callback signature: base64(HMAC-SHA256(key, taskId + "." + timestamp)). Written
/// here on its own, not shared with reelgate's check, so each side tests the other.
pub(crate) fn signature(key: &str, task_id: &str, timestamp: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(format!("{task_id}.{timestamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
