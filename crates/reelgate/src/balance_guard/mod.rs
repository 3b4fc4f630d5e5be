//! The upstream balance guard: reads Kie's credit balance on an interval, records it (the
//! reconciliation's evidence), warns the operator below one threshold and, below a second,
//! suspends dispatch so generations wait queued ("waiting for capacity") instead of being
//! refused by Kie, until the balance is topped up.

pub mod alerts;
pub mod settings;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::ToSchema;

use crate::generations::Lifecycle;
use crate::worker::pause_for;
use alerts::{AlertKind, OperatorAlerts};
pub use settings::GuardSettings;

/// How often the balance is read while dispatch is suspended for it, so that a top-up resumes
/// dispatch within seconds (not at the next regular read, minutes later).
pub const HELD_POLL: Duration = Duration::from_secs(2);

/// Where the balance stands against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not read yet (or never successfully).
    Unknown,
    Ok,
    /// Below the warning threshold: the operator has been told.
    Low,
    /// Below the stop threshold: dispatch is suspended.
    Stopped,
}

/// What the guard knows, for the operator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuardSnapshot {
    pub level: Level,
    /// Kie credits at the last successful read.
    #[schema(value_type = Option<String>)]
    pub balance_credits: Option<Decimal>,
    pub checked_at: Option<DateTime<Utc>>,
    /// Since when the level is what it is.
    pub level_since: Option<DateTime<Utc>>,
    /// Why the last read failed, if it did.
    pub last_error: Option<String>,
}

pub struct BalanceGuard {
    settings: GuardSettings,
    lifecycle: Arc<Lifecycle>,
    alerts: Arc<OperatorAlerts>,
    snapshot: Mutex<GuardSnapshot>,
    /// One read at a time: the loop and the operator's "check now" must not both act on a
    /// change of level.
    checking: tokio::sync::Mutex<()>,
    /// The balance read just after Kie refused for lack of credits: a read above it is a
    /// top-up, and dispatch resumes.
    refused_at: Mutex<Option<Decimal>>,
    /// The keys refused at the last check, as the operator's mail says each.
    refused_keys: Mutex<BTreeSet<String>>,
}

impl BalanceGuard {
    pub fn new(settings: GuardSettings, lifecycle: Arc<Lifecycle>, simulated: bool) -> Arc<Self> {
        let alerts = Arc::new(OperatorAlerts::new(&settings, simulated));
        // The workers tell the operator about withdrawn models through the same webhook.
        lifecycle.set_operator_alerts(Arc::clone(&alerts));
        Arc::new(BalanceGuard {
            settings,
            lifecycle,
            alerts,
            snapshot: Mutex::new(GuardSnapshot {
                level: Level::Unknown,
                balance_credits: None,
                checked_at: None,
                level_since: None,
                last_error: None,
            }),
            checking: tokio::sync::Mutex::new(()),
            refused_at: Mutex::new(None),
            refused_keys: Mutex::default(),
        })
    }

    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    pub fn snapshot(&self) -> GuardSnapshot {
        match self.snapshot.lock() {
            Ok(snapshot) => snapshot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The level a balance puts us at.
    pub fn level_for(&self, credits: Decimal) -> Level {
        if credits < self.settings.stop_below {
            Level::Stopped
        } else if credits < self.settings.warn_below {
            Level::Low
        } else {
            Level::Ok
        }
    }

    /// Reads the balance now, records it and acts on a change of level.
    pub async fn check_now(&self) -> GuardSnapshot {
        let _one_at_a_time = self.checking.lock().await;
        let read = if self.lifecycle.keys.is_several() {
            self.read_every_key().await
        } else {
            self.lifecycle.kie.credit_balance().await.map(|c| (c, true))
        };
        match read {
            Ok((credits, every_key)) => {
                let now = Utc::now();
                // A total missing a key would read as a drop then a top-up: the reconciliation
                // would count it as spent. Each key that was read has its own sample.
                let recorded = if every_key {
                    self.lifecycle
                        .store
                        .record_balance_sample(now, None, credits)
                        .await
                        .err()
                } else {
                    None
                };
                if let Some(error) = recorded {
                    tracing::error!(%error, "cannot record the Kie balance sample");
                }
                self.apply(credits, now).await;
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(error = %message, "cannot read the Kie balance");
                self.lifecycle.upstream_log.record("balance", &message);
                if let Ok(mut snapshot) = self.snapshot.lock() {
                    snapshot.last_error = Some(message);
                }
            }
        }
        self.mail_new_key_refusals().await;
        self.snapshot()
    }

    /// Several keys: each key's balance is its own account's. A key below the stop threshold
    /// leaves the rotation (dispatch's key refusal, tried again after its pause); the levels
    /// and the operator's alerts go by the sum, what all accounts can still buy. The sum, and
    /// whether every key was read (else it is the sum of those that were).
    async fn read_every_key(&self) -> Result<(Decimal, bool), kie::KieError> {
        let mut total = Decimal::ZERO;
        let mut last_error = None;
        let mut read_any = false;
        for key in self.lifecycle.keys.entries() {
            match key.client.credit_balance().await {
                Ok(credits) => {
                    read_any = true;
                    total += credits;
                    key.record_balance(credits);
                    // Each account's own samples: the reconciliation per key.
                    let sample = self
                        .lifecycle
                        .store
                        .record_balance_sample(Utc::now(), Some(&key.label), credits)
                        .await;
                    if let Err(error) = sample {
                        tracing::error!(key = %key.label, %error, "cannot record this Kie key's balance sample");
                    }
                    if credits < self.settings.stop_below && key.is_enabled() {
                        let reason = format!(
                            "the balance of key {} ({credits} credits) is below the operator's stop threshold ({})",
                            key.label, self.settings.stop_below
                        );
                        tracing::error!(key = %key.label, %credits, "KIE KEY BALANCE BELOW THE STOP THRESHOLD: new generations go to the other keys");
                        key.refuse(&reason);
                    }
                }
                Err(error) => {
                    tracing::warn!(key = %key.label, %error, "cannot read this Kie key's balance");
                    last_error = Some(error);
                }
            }
        }
        match (read_any, last_error) {
            (false, Some(error)) => Err(error),
            (_, last_error) => Ok((total, last_error.is_none())),
        }
    }

    async fn apply(&self, credits: Decimal, now: DateTime<Utc>) {
        let level = self.level_for(credits);
        let before = {
            let Ok(mut snapshot) = self.snapshot.lock() else {
                return;
            };
            let before = snapshot.level;
            snapshot.balance_credits = Some(credits);
            snapshot.checked_at = Some(now);
            snapshot.last_error = None;
            if before != level {
                snapshot.level = level;
                snapshot.level_since = Some(now);
            }
            before
        };
        self.keep_saying(level, credits);
        if before != level {
            self.changed(before, level, credits).await;
        }
        if level != Level::Stopped {
            self.after_kie_refusal(credits).await;
        }
    }

    async fn mail_operators(&self, subject: &str, message: &str) {
        let to = &self.settings.operator_emails;
        if !to.is_empty() {
            crate::mail::operators::alert(&self.lifecycle.store, to, subject, message).await;
            self.lifecycle.wake.mail.notify_one();
        }
    }

    /// Mails each key Kie refused since the last check (dispatch nudges the guard when it
    /// refuses one), once per refusal: a key retried and refused again is not news.
    async fn mail_new_key_refusals(&self) {
        let views = self.lifecycle.keys.views();
        let refused: BTreeSet<&str> = views
            .iter()
            .filter(|key| key.state == "refused")
            .map(|key| key.label.as_str())
            .collect();
        let new: Vec<String> = {
            let Ok(mut known) = self.refused_keys.lock() else {
                return;
            };
            let new = views
                .iter()
                .filter(|key| refused.contains(key.label.as_str()) && !known.contains(&key.label))
                .map(|key| {
                    format!(
                        "Kie refused key {}: {}. New generations go to the other keys, or wait \
                         queued if none is left, until the key works again.",
                        key.label,
                        key.reason.as_deref().unwrap_or("no reason given")
                    )
                })
                .collect();
            *known = refused.into_iter().map(str::to_owned).collect();
            new
        };
        for message in new {
            self.mail_operators("a Kie key was refused", &message).await;
        }
    }

    /// While dispatch is suspended because Kie refused for lack of credits: the first read is the
    /// level Kie refused at, and dispatch resumes once a read is above it (a top-up), or
    /// after a regular interval anyway, when one generation finds out whether Kie takes work.
    async fn after_kie_refusal(&self, credits: Decimal) {
        let Some(since) = self.lifecycle.gate.suspended_for_kie_refusal() else {
            self.forget_refusal();
            return;
        };
        let refused_at = {
            let Ok(mut refused_at) = self.refused_at.lock() else {
                return;
            };
            *refused_at.get_or_insert(credits)
        };
        let suspended_for = (Utc::now() - since).to_std().unwrap_or_default();
        if credits <= refused_at && suspended_for < self.settings.poll_every {
            return;
        }
        tracing::info!(%credits, %refused_at, "Kie balance topped up after its refusal: dispatch resumes");
        self.forget_refusal();
        self.resume_dispatch().await;
    }

    fn forget_refusal(&self) {
        if let Ok(mut refused_at) = self.refused_at.lock() {
            *refused_at = None;
        }
    }

    async fn resume_dispatch(&self) {
        if self.lifecycle.gate.resume() {
            self.lifecycle.wake.dispatch.notify_one();
        }
        if self.lifecycle.gate.refusal().is_none() {
            if let Err(error) = self.lifecycle.store.clear_queued_blocked().await {
                tracing::error!(%error, "cannot clear the waiting-for-capacity marks");
            }
        }
    }

    /// Every read below a threshold is logged, so the operator's log never goes quiet about it.
    fn keep_saying(&self, level: Level, credits: Decimal) {
        let (warn, stop) = (self.settings.warn_below, self.settings.stop_below);
        match level {
            Level::Stopped => tracing::error!(%credits, %stop,
                "KIE BALANCE BELOW THE STOP THRESHOLD: new generations wait queued until it is topped up"),
            Level::Low => tracing::warn!(%credits, %warn,
                "Kie balance is low: top it up before it falls below the stop threshold"),
            Level::Ok | Level::Unknown => {}
        }
    }

    async fn changed(&self, before: Level, now: Level, credits: Decimal) {
        if now == Level::Stopped {
            let reason = format!(
                "the Kie balance ({credits} credits) is below the operator's stop threshold ({})",
                self.settings.stop_below
            );
            self.lifecycle.gate.suspend(&reason);
            if let Err(error) = self.lifecycle.store.mark_queued_blocked(&reason).await {
                tracing::error!(%error, "cannot mark queued generations as waiting");
            }
        } else if before == Level::Stopped {
            tracing::info!(%credits, "Kie balance topped up: dispatch resumes");
            self.forget_refusal();
            self.resume_dispatch().await;
        }
        let kind = match (before, now) {
            (_, Level::Stopped) => Some(AlertKind::Stopped),
            (Level::Stopped, _) => Some(AlertKind::Resumed),
            (_, Level::Low) => Some(AlertKind::Low),
            (Level::Low, Level::Ok) => Some(AlertKind::Recovered),
            _ => None,
        };
        if let Some(kind) = kind {
            self.alerts.send(kind, credits, &self.settings);
            let message = format!("{} Balance: {credits} Kie credits.", kind.message());
            self.mail_operators(kind.subject(), &message).await;
        }
    }

    /// Reads on the interval, every few seconds while dispatch is suspended, and at once when Kie
    /// refused for lack of credits, until the lifecycle stops.
    pub async fn run(self: Arc<Self>) {
        let mut stop = self.lifecycle.stopping();
        loop {
            self.check_now().await;
            let every = if self.lifecycle.gate.suspension().is_some() {
                HELD_POLL.min(self.settings.poll_every)
            } else {
                self.settings.poll_every
            };
            if !pause_for(every, &self.lifecycle.wake.guard, &mut stop).await {
                break;
            }
        }
    }
}
