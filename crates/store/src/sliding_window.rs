//! A rate limit counted in this process: the upstream's limit on new tasks when one instance
//! sends (SQLite: [`crate::CreateLimiter`]), and budgets like the status reads'. The upstream
//! does not queue the excess — a request past its limit is refused (429) and lost — so
//! reelgate never sends faster than the configured limit; bursts wait in `queued`.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

/// A sliding window over the times of the last `requests` creates.
///
/// A create counts from when its request has been *answered*, not from when the slot was
/// taken: upstream counts from arrival, which lies somewhere in between, so counting from the
/// end is the only way jitter in sending cannot squeeze more than the limit into its window.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: RateLimit,
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    /// When recent requests were answered, oldest first.
    done: VecDeque<Instant>,
    /// Slots taken whose requests are not answered yet.
    in_flight: usize,
}

/// While every slot is in flight there is no time to compute; look again this soon.
const IN_FLIGHT_RECHECK: Duration = Duration::from_millis(20);

impl SlidingWindow {
    pub fn new(limit: RateLimit) -> Self {
        SlidingWindow {
            limit,
            state: Mutex::new(Window::default()),
        }
    }

    /// Takes up to `n` slots now; each must be given back with [`complete`](Self::complete)
    /// once its request is answered (or [`give_back`](Self::give_back) if never sent). With
    /// none free, says how long until one frees up.
    pub async fn take_up_to(&self, n: usize) -> Result<usize, Duration> {
        let now = Instant::now();
        let mut window = self.state.lock().await;
        while window
            .done
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.per)
        {
            window.done.pop_front();
        }
        let used = window.done.len() + window.in_flight;
        let free = (self.limit.requests as usize).saturating_sub(used).min(n);
        if free == 0 && n > 0 {
            return Err(match window.done.front() {
                Some(oldest) => self.limit.per.saturating_sub(now.duration_since(*oldest)),
                None => IN_FLIGHT_RECHECK,
            });
        }
        window.in_flight += free;
        Ok(free)
    }

    /// A request that took a slot has been answered: it counts from now.
    pub async fn complete(&self) {
        let mut window = self.state.lock().await;
        window.in_flight = window.in_flight.saturating_sub(1);
        window.done.push_back(Instant::now());
    }

    /// Returns slots taken but not used (nothing was there to send).
    pub async fn give_back(&self, n: usize) {
        let mut window = self.state.lock().await;
        window.in_flight = window.in_flight.saturating_sub(n);
    }

    /// Waits for a slot and uses it at once.
    pub async fn acquire(&self) {
        loop {
            match self.take_up_to(1).await {
                Ok(_) => return self.complete().await,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// When each of the window's slots is next free, soonest first (now for a free one; a
    /// slot whose request is still unanswered counts a whole window from now).
    pub async fn free_at(&self) -> Vec<Instant> {
        let now = Instant::now();
        let window = self.state.lock().await;
        let mut at: Vec<Instant> = window
            .done
            .iter()
            .map(|t| (*t + self.limit.per).max(now))
            .chain(std::iter::repeat_n(now + self.limit.per, window.in_flight))
            .collect();
        let free = (self.limit.requests as usize).saturating_sub(at.len());
        at.extend(std::iter::repeat_n(now, free));
        at.sort();
        at.truncate(self.limit.requests as usize);
        at
    }

    /// Kie said 429 although we kept to the limit (another client on the same key, or a
    /// stricter limit than configured): treat the window as full from now.
    pub async fn saturate(&self) {
        let now = Instant::now();
        let mut window = self.state.lock().await;
        let free = (self.limit.requests as usize).saturating_sub(window.in_flight);
        window.done.clear();
        window.done.extend(std::iter::repeat_n(now, free));
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
    async fn a_slow_request_counts_from_its_answer() {
        let window = SlidingWindow::new(RateLimit {
            requests: 1,
            per: Duration::from_secs(10),
        });
        assert_eq!(window.take_up_to(1).await, Ok(1));
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            window.take_up_to(1).await,
            Err(IN_FLIGHT_RECHECK),
            "in flight"
        );
        window.complete().await;
        assert_eq!(window.take_up_to(1).await, Err(Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn batches_take_only_free_slots_and_unused_ones_come_back() {
        let window = SlidingWindow::new(RateLimit {
            requests: 5,
            per: Duration::from_secs(10),
        });
        assert_eq!(window.take_up_to(3).await, Ok(3));
        for _ in 0..3 {
            window.complete().await;
        }
        assert_eq!(window.take_up_to(3).await, Ok(2));
        assert_eq!(window.take_up_to(1).await, Err(Duration::from_secs(10)));
        window.give_back(2).await;
        assert_eq!(window.take_up_to(9).await, Ok(2));
    }

    #[tokio::test(start_paused = true)]
    async fn free_at_says_when_each_slot_comes_back() {
        let window = SlidingWindow::new(RateLimit {
            requests: 3,
            per: Duration::from_secs(10),
        });
        let start = Instant::now();
        assert_eq!(window.free_at().await, vec![start; 3]);
        window.acquire().await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        window.acquire().await;
        let now = Instant::now();
        assert_eq!(
            window.free_at().await,
            vec![
                now,
                start + Duration::from_secs(10),
                now + Duration::from_secs(10)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_from_upstream_pauses_a_whole_window() {
        let window = SlidingWindow::new(RateLimit {
            requests: 2,
            per: Duration::from_secs(10),
        });
        window.saturate().await;
        assert_eq!(window.take_up_to(1).await, Err(Duration::from_secs(10)));
    }
}
