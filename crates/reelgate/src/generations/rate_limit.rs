//! Kie allows N new generations per window per API key and does not queue the excess: a
//! request past the limit is refused (429) and lost. So reelgate never sends faster than the
//! configured limit; bursts wait in `queued`.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// Kie's published limit: 20 new generation requests per 10 seconds.
    pub const KIE: RateLimit = RateLimit {
        requests: 20,
        per: Duration::from_secs(10),
    };
}

/// A sliding window over the send times of the last `requests` creates.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: RateLimit,
    sent: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    pub fn new(limit: RateLimit) -> Self {
        SlidingWindow {
            limit,
            sent: Mutex::new(VecDeque::with_capacity(limit.requests as usize)),
        }
    }

    /// Takes a slot now if one is free; otherwise says how long until one frees up.
    pub async fn try_acquire(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut sent = self.sent.lock().await;
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.per)
        {
            sent.pop_front();
        }
        if sent.len() < self.limit.requests as usize {
            sent.push_back(now);
            return Ok(());
        }
        // The window is full, so it has a front.
        let oldest = sent.front().copied().unwrap_or(now);
        Err(self.limit.per.saturating_sub(now.duration_since(oldest)))
    }

    /// Waits for a slot and takes it.
    pub async fn acquire(&self) {
        while let Err(wait) = self.try_acquire().await {
            tokio::time::sleep(wait).await;
        }
    }

    /// Kie said 429 although we kept to the limit (another client on the same key, or a
    /// stricter limit than configured): treat the window as full from now.
    pub async fn saturate(&self) {
        let now = Instant::now();
        let mut sent = self.sent.lock().await;
        sent.clear();
        sent.extend(std::iter::repeat_n(now, self.limit.requests as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let window = SlidingWindow::new(RateLimit {
            requests: 3,
            per: Duration::from_secs(10),
        });
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            window.acquire().await;
            times.push(start.elapsed().as_secs());
        }
        assert_eq!(times, vec![0, 0, 0, 10, 10, 10, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_from_upstream_pauses_a_whole_window() {
        let window = SlidingWindow::new(RateLimit {
            requests: 2,
            per: Duration::from_secs(10),
        });
        window.saturate().await;
        assert_eq!(window.try_acquire().await, Err(Duration::from_secs(10)));
    }
}
