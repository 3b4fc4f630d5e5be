//! An honest wait for a queued generation: its place under fair dispatch, when it should be
//! sent (the rate window and the in-flight cap, given what is ahead) and when it should be
//! ready (its model's median run time over the last day).

use chrono::{DateTime, Utc};
use reelgate_domain::generations::{Dispatch, Generation, GenerationId, Status};
use reelgate_store::StoreError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

use super::dispatch::Passage;
use super::Lifecycle;

/// Medians are read again after this long: a read of a queued generation stays one query.
const MEDIAN_TTL: Duration = Duration::from_secs(60);
/// How far back run times count.
const MEDIAN_OVER: chrono::Duration = chrono::Duration::days(1);
/// The latest this many successes of a model make its median.
const MEDIAN_SAMPLE: u32 = 1000;

/// Each model's median run time, as last read.
#[derive(Debug, Default)]
pub struct RunTimes(Mutex<HashMap<String, (Instant, Duration)>>);

/// What a generation's object says about its wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wait {
    pub queue_position: Option<u64>,
    pub estimated_start_at: Option<DateTime<Utc>>,
    pub estimated_ready_at: Option<DateTime<Utc>>,
    /// Why it has not been sent yet, when the rate window or the in-flight cap holds it back.
    pub waiting_for: Option<String>,
}

/// Reads of the queue and the window before an estimate settles for one a claim overlapped.
const CONSISTENT_READ_TRIES: u32 = 5;

impl Lifecycle {
    /// When each create slot is next free, soonest first, over every Kie key (read from the
    /// database when instances share the window). (With several keys the schedule past these slots still assumes one
    /// key's rate: later estimates err late, never early.)
    async fn free_create_slots(&self) -> Option<Vec<Instant>> {
        let mut slots = Vec::new();
        for key in self.keys.entries().iter().filter(|k| k.is_enabled()) {
            slots.extend(key.creates.free_at().await?);
        }
        slots.sort();
        Some(slots)
    }

    /// The waits of `generations`: one query for the queued ones' places (none when nothing
    /// is queued), plus a model's run times at most once a minute.
    pub async fn waits(
        &self,
        generations: &[Generation],
    ) -> Result<HashMap<GenerationId, Wait>, StoreError> {
        let waiting: Vec<GenerationId> = generations
            .iter()
            .filter(|g| g.status == Status::Queued && g.dispatch == Dispatch::Waiting)
            .map(|g| g.id.clone())
            .collect();
        let cap = self.settings.max_concurrent_tasks;
        // The queue and the window read with no claim of this instance's dispatcher in
        // between (`dispatch/claiming.rs`); a claim is a few milliseconds, so a few tries.
        let mut tries = 0;
        let (places, free_at) = loop {
            let before = self.claiming.mark();
            let places = self.store.queue_places(&waiting, cap).await?;
            let free_at = self.free_create_slots().await;
            tries += 1;
            if before.quiet_until(self.claiming.mark()) || tries == CONSISTENT_READ_TRIES {
                break (places, free_at);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        // A suspension or a pause the dispatcher has not yet marked on every queued row.
        let refusing = self.gate.passage() != Passage::Open;
        let (now, instant_now) = (Utc::now(), Instant::now());
        let mut waits = HashMap::new();
        for g in generations {
            let run_time = match g.status {
                Status::Queued | Status::Running => self.median_run_time(&g.model).await?,
                _ => continue,
            };
            let wait = if g.status == Status::Running {
                let sent = g.dispatched_at.unwrap_or(now);
                Wait {
                    estimated_ready_at: Some((sent + chrono_of(run_time)).max(now)),
                    ..Wait::default()
                }
            } else if g.blocked_since.is_some() || refusing {
                // Upstream refuses new work: nobody can say when it takes some again.
                Wait {
                    queue_position: places.ahead.get(&g.id).copied(),
                    waiting_for: Some(super::view::NO_CAPACITY.to_owned()),
                    ..Wait::default()
                }
            } else if let Some(&ahead) = places.ahead.get(&g.id) {
                let schedule = Schedule {
                    requests: self.settings.rate_limit.requests,
                    per: self.settings.rate_limit.per,
                    cap,
                    in_flight: places.in_flight,
                    run_time,
                };
                let free_at: Option<Vec<Duration>> = free_at.as_ref().map(|slots| {
                    slots
                        .iter()
                        .map(|at| at.saturating_duration_since(instant_now))
                        .collect()
                });
                let (after, held) = schedule.start_after(ahead, free_at.as_deref());
                let start = now + chrono_of(after);
                Wait {
                    queue_position: Some(ahead),
                    estimated_start_at: Some(start),
                    estimated_ready_at: Some(start + chrono_of(run_time)),
                    waiting_for: held.map(|h| h.words(&schedule, ahead)),
                }
            } else {
                // Being sent now (or its answer is awaited).
                Wait {
                    queue_position: Some(0),
                    estimated_start_at: Some(now),
                    estimated_ready_at: Some(now + chrono_of(run_time)),
                    waiting_for: None,
                }
            };
            waits.insert(g.id.clone(), wait);
        }
        Ok(waits)
    }

    /// The model's median run time over the last day; with no success to measure, the
    /// expectation for its family.
    async fn median_run_time(&self, model: &str) -> Result<Duration, StoreError> {
        if let Ok(cache) = self.run_times.0.lock() {
            if let Some((read_at, median)) = cache.get(model) {
                if read_at.elapsed() < MEDIAN_TTL {
                    return Ok(*median);
                }
            }
        }
        let mut took = self
            .store
            .run_times(model, Utc::now() - MEDIAN_OVER, MEDIAN_SAMPLE)
            .await?;
        took.sort();
        let Some(&median) = took.get(took.len() / 2) else {
            // Not kept: the first success is measured as soon as there is one.
            return Ok(self.settings.expected.for_model(model));
        };
        if let Ok(mut cache) = self.run_times.0.lock() {
            cache.insert(model.to_owned(), (Instant::now(), median));
        }
        Ok(median)
    }
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// What decides when the queue moves.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    requests: u32,
    per: Duration,
    cap: u32,
    in_flight: u64,
    run_time: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    RateWindow,
    InFlightCap,
}

impl Held {
    fn words(self, s: &Schedule, ahead: u64) -> String {
        match self {
            Held::RateWindow => format!(
                "rate_limit: the video service takes {} new videos every {} s; {ahead} are ahead of this one",
                s.requests,
                s.per.as_secs_f64()
            ),
            Held::InFlightCap => format!(
                "in_flight_cap: {} videos are being made at once; this one starts as others finish",
                s.cap
            ),
        }
    }
}

impl Schedule {
    /// How long until the generation with `ahead` waiting before it is sent, and what holds
    /// it back (nothing when it goes at once).
    ///
    /// The rate window is a sliding one: a slot comes back one window after its request was
    /// answered, so with the window's slots next free at `free_at` (soonest first), the one
    /// `ahead` places back goes `ahead / requests` windows after slot `ahead % requests`
    /// frees. Without that knowledge (the shared window could not be read), every slot is taken to free a
    /// window from now. The cap lets a slot go only as a task finishes: past the free
    /// places, one every `run_time / cap`.
    fn start_after(&self, ahead: u64, free_at: Option<&[Duration]>) -> (Duration, Option<Held>) {
        let requests = u64::from(self.requests.max(1));
        let windows = u32::try_from(ahead / requests).unwrap_or(u32::MAX);
        let slot = usize::try_from(ahead % requests).unwrap_or(0);
        let first = match free_at {
            Some(slots) => slots.get(slot).copied().unwrap_or(self.per),
            None if ahead == 0 => Duration::ZERO,
            None => self.per,
        };
        let by_rate = first + self.per.saturating_mul(windows);
        let over_cap = (self.in_flight + ahead + 1).saturating_sub(u64::from(self.cap));
        let by_cap = self
            .run_time
            .mul_f64(over_cap as f64 / f64::from(self.cap.max(1)));
        let held = if by_cap > by_rate && !by_cap.is_zero() {
            Some(Held::InFlightCap)
        } else if !by_rate.is_zero() {
            Some(Held::RateWindow)
        } else {
            None
        };
        (by_rate.max(by_cap), held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kie's window, with a cap high enough never to bind.
    const KIE: Schedule = Schedule {
        requests: 20,
        per: Duration::from_secs(10),
        cap: 1000,
        in_flight: 0,
        run_time: Duration::from_secs(120),
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_empty_window_sends_a_whole_window_at_once_then_one_window_later_the_next() {
        let free = vec![Duration::ZERO; 20];
        assert_eq!(KIE.start_after(0, Some(&free)), (Duration::ZERO, None));
        assert_eq!(KIE.start_after(19, Some(&free)), (Duration::ZERO, None));
        assert_eq!(
            KIE.start_after(20, Some(&free)),
            (secs(10), Some(Held::RateWindow))
        );
        assert_eq!(KIE.start_after(199, Some(&free)).0, secs(90));
    }

    #[test]
    fn a_slot_comes_back_one_window_after_its_request() {
        let free: Vec<Duration> = (1..=20).map(|s| Duration::from_millis(s * 500)).collect();
        assert_eq!(
            KIE.start_after(0, Some(&free)).0,
            Duration::from_millis(500)
        );
        assert_eq!(KIE.start_after(21, Some(&free)).0, secs(11));
    }

    #[test]
    fn past_the_cap_a_slot_frees_only_as_a_task_finishes() {
        let busy = Schedule {
            in_flight: 100,
            cap: 100,
            ..KIE
        };
        let free = vec![Duration::ZERO; 20];
        // 100 running, 2 minutes each: one frees every 1.2 s.
        assert_eq!(
            busy.start_after(9, Some(&free)),
            (secs(12), Some(Held::InFlightCap))
        );
    }

    #[test]
    fn the_shared_window_counts_a_window_per_turn() {
        assert_eq!(KIE.start_after(0, None), (Duration::ZERO, None));
        assert_eq!(KIE.start_after(1, None).0, secs(10));
        assert_eq!(KIE.start_after(20, None).0, secs(20));
    }
}
