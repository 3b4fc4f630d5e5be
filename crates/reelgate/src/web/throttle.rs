//! Sign-in throttling: after `LIMIT` failed attempts for one email from one address within
//! `WINDOW`, further attempts are refused until the oldest failure ages out. Kept in memory:
//! it slows password guessing against one instance; a restart forgets it, which only gives an
//! attacker back five guesses.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const LIMIT: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Past this many tracked keys, expired ones are swept so the map cannot grow without bound.
const SWEEP_ABOVE: usize = 10_000;

type Key = (String, Option<IpAddr>);

#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl SignInThrottle {
    /// `Err(wait)` while the key is locked out.
    pub fn check(&self, email: &str, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(&key(email, ip)) else {
            return Ok(());
        };
        expire(times, now);
        if times.len() < LIMIT {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        Err(WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    pub fn record_failure(&self, email: &str, ip: Option<IpAddr>, now: Instant) {
        let mut failures = self.lock();
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, times| {
                expire(times, now);
                !times.is_empty()
            });
        }
        let times = failures.entry(key(email, ip)).or_default();
        expire(times, now);
        times.push_back(now);
    }

    /// A successful sign-in forgets earlier failures.
    pub fn clear(&self, email: &str, ip: Option<IpAddr>) {
        self.lock().remove(&key(email, ip));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Instant>>> {
        // The map holds no invariant a panicking holder could have broken halfway.
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(email: &str, ip: Option<IpAddr>) -> Key {
    (email.trim().to_lowercase(), ip)
}

fn expire(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn five_failures_lock_out_the_sixth_attempt() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for _ in 0..LIMIT {
            assert!(throttle.check("a@b.co", IP, start).is_ok());
            throttle.record_failure("a@b.co", IP, start);
        }
        let wait = throttle.check("A@b.co ", IP, start).unwrap_err();
        assert_eq!(wait, WINDOW);
    }

    #[test]
    fn the_lockout_ends_when_the_window_passes() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for _ in 0..LIMIT {
            throttle.record_failure("a@b.co", IP, start);
        }
        assert!(throttle.check("a@b.co", IP, start + WINDOW).is_ok());
    }

    #[test]
    fn other_emails_and_addresses_are_not_locked_out() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..LIMIT {
            throttle.record_failure("a@b.co", IP, now);
        }
        assert!(throttle.check("c@d.co", IP, now).is_ok());
        assert!(throttle.check("a@b.co", None, now).is_ok());
    }

    #[test]
    fn success_clears_the_failures() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..LIMIT {
            throttle.record_failure("a@b.co", IP, now);
        }
        throttle.clear("a@b.co", IP);
        assert!(throttle.check("a@b.co", IP, now).is_ok());
    }
}
