//! Kie's per-key limit on new tasks: a sliding window, not a fixed one, so a burst straddling
//! a window boundary is still caught.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// Without a configured limit, stats still measure bursts over Kie's window.
const DEFAULT_WINDOW: Duration = RateLimit::KIE.per;

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    keys: HashMap<u64, KeyWindows>,
    max_attempts_in_window: u32,
}

#[derive(Debug, Default)]
struct KeyWindows {
    /// Creates let through, which is what the limit counts.
    admitted: VecDeque<Instant>,
    /// Every create seen, refused or not: what a well-behaved client keeps under the limit.
    attempts: VecDeque<Instant>,
}

impl RateLimiter {
    /// Records one create by `key` at `now`; false when it is over the limit.
    pub fn admit(&mut self, key: u64, limit: Option<RateLimit>, now: Instant) -> bool {
        let window = limit.map_or(DEFAULT_WINDOW, |l| l.per);
        let w = self.keys.entry(key).or_default();
        evict(&mut w.attempts, now, window);
        w.attempts.push_back(now);
        let seen = u32::try_from(w.attempts.len()).unwrap_or(u32::MAX);
        self.max_attempts_in_window = self.max_attempts_in_window.max(seen);
        let Some(limit) = limit else {
            return true;
        };
        evict(&mut w.admitted, now, window);
        if w.admitted.len() >= limit.requests as usize {
            return false;
        }
        w.admitted.push_back(now);
        true
    }

    /// The most creates one key sent within any one window.
    pub fn max_attempts_in_window(&self) -> u32 {
        self.max_attempts_in_window
    }
}

fn evict(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
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

    const LIMIT: RateLimit = RateLimit {
        requests: 3,
        per: Duration::from_secs(10),
    };

    #[test]
    fn window_slides_rather_than_resetting() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(rl.admit(1, Some(LIMIT), at(0)));
        assert!(rl.admit(1, Some(LIMIT), at(5_000)));
        assert!(rl.admit(1, Some(LIMIT), at(9_000)));
        assert!(!rl.admit(1, Some(LIMIT), at(9_500)));
        // Only the first create has left the window at 10 s.
        assert!(rl.admit(1, Some(LIMIT), at(10_000)));
        assert!(!rl.admit(1, Some(LIMIT), at(14_999)));
        assert!(rl.admit(1, Some(LIMIT), at(15_000)));
        assert_eq!(rl.max_attempts_in_window(), 5);
    }

    #[test]
    fn keys_are_limited_separately_and_unlimited_still_measures() {
        let mut rl = RateLimiter::default();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(rl.admit(1, Some(LIMIT), now));
        }
        assert!(rl.admit(2, Some(LIMIT), now));
        for _ in 0..7 {
            assert!(rl.admit(3, None, now));
        }
        assert_eq!(rl.max_attempts_in_window(), 7);
    }
}
