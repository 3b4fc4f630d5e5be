//! Attempt throttles for mailing links: at most `limit` attempts per key within `window`,
//! counted (reserved) before the work is done, under one lock, so concurrent requests cannot
//! slip past the count.
//!
//! This is a seam: it keeps the counts in this process. The store-level attempt throttle of
//! the sign-in hardening (shared by every instance on PostgreSQL) replaces the body of
//! [`AttemptThrottle::reserve`] when it lands; callers do not change.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked keys, expired ones are swept so the map cannot grow without bound.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct AttemptThrottle {
    limit: usize,
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl AttemptThrottle {
    pub fn new(limit: usize, window: Duration) -> Self {
        AttemptThrottle {
            limit,
            window,
            attempts: Mutex::default(),
        }
    }

    /// Counts an attempt for `key`, or `Err(wait)` (counting nothing) while the key has used
    /// up its attempts.
    pub fn reserve(&self, key: &str, now: Instant) -> Result<(), Duration> {
        // The map holds no invariant a panicking holder could have broken halfway.
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if attempts.len() > SWEEP_ABOVE {
            attempts.retain(|_, times| {
                expire(times, now, self.window);
                !times.is_empty()
            });
        }
        let times = attempts.entry(key.to_owned()).or_default();
        expire(times, now, self.window);
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_past_the_limit_is_refused_until_the_window_passes() {
        let throttle = AttemptThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..3 {
            assert!(throttle.reserve("a", start).is_ok());
        }
        assert_eq!(throttle.reserve("a", start), Err(Duration::from_secs(60)));
        assert!(throttle.reserve("b", start).is_ok());
        assert!(throttle
            .reserve("a", start + Duration::from_secs(60))
            .is_ok());
    }

    #[test]
    fn concurrent_attempts_cannot_pass_the_count() {
        let throttle = std::sync::Arc::new(AttemptThrottle::new(5, Duration::from_secs(60)));
        let now = Instant::now();
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let throttle = &throttle;
                    s.spawn(move || usize::from(throttle.reserve("a", now).is_ok()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(passed, 5);
    }
}
