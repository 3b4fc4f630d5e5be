use std::time::Duration;

/// When to ask Kie about a running task that has not called back. The first look comes near
/// the model's expected duration — asking earlier only spends status calls — and later looks
/// back off geometrically, so a stuck task costs a bounded number of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSchedule {
    /// Never poll more often than this, whatever the model.
    pub min_interval: Duration,
    /// Never wait longer than this between two looks.
    pub max_interval: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule {
            min_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(120),
        }
    }
}

impl PollSchedule {
    /// The wait before look number `polls_done + 1` at a task expected to take `expected`.
    pub fn delay(&self, expected: Duration, polls_done: u32) -> Duration {
        let delay = if polls_done == 0 {
            expected
        } else {
            // A quarter of the expected time, doubling with each fruitless look.
            let base = expected / 4;
            base.saturating_mul(1u32 << polls_done.saturating_sub(1).min(16))
        };
        delay.clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_look_comes_at_the_expected_duration_then_backs_off() {
        let schedule = PollSchedule::default();
        let expected = Duration::from_secs(60);
        let delays: Vec<u64> = (0..6)
            .map(|n| schedule.delay(expected, n).as_secs())
            .collect();
        assert_eq!(delays, vec![60, 15, 30, 60, 120, 120]);
    }

    #[test]
    fn delays_stay_within_bounds_for_instant_and_huge_models() {
        let schedule = PollSchedule::default();
        assert_eq!(schedule.delay(Duration::ZERO, 0), schedule.min_interval);
        assert_eq!(
            schedule.delay(Duration::from_secs(100_000), 40),
            schedule.max_interval
        );
    }
}
