//! The soak's figures, as the Markdown table `docs/RELIABILITY.md` publishes.

use serde_json::Value;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use super::audit::Audit;
use super::load::Load;
use super::Plan;
use crate::chaos_proxy::ProxyStats;

pub struct Report {
    pub backend: String,
    pub plan: Plan,
    pub load_time: Duration,
    pub settle_time: Duration,
    pub total_time: Duration,
    pub kills: u64,
    pub graceful_restarts: u64,
    pub final_exit_ok: bool,
    /// SIGTERMs after which a worker kept working past the grace period.
    pub slow_stops: usize,
    pub panics: usize,
    pub slow_requests: u64,
    pub phases: Vec<(&'static str, u64)>,
    pub sim_stats: Value,
    pub proxy: Arc<ProxyStats>,
    pub load: Arc<Load>,
    pub audit: Audit,
    pub log_dir: PathBuf,
}

impl Report {
    /// Everything that must hold; empty when the run passed.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.audit.violations.clone();
        failures.extend(
            self.load
                .stats
                .problems
                .lock()
                .expect("problems")
                .iter()
                .cloned(),
        );
        let lowest = self.load.stats.lowest_balance.load(Relaxed);
        if lowest < 0 {
            failures.push(format!("a balance read showed {lowest}"));
        }
        let forged = self.proxy.forged_accepted.load(Relaxed);
        if forged > 0 {
            failures.push(format!("{forged} forged callbacks were accepted"));
        }
        let refused = self.proxy.refused_genuine.load(Relaxed);
        if refused > 0 {
            failures.push(format!("{refused} genuine callbacks were refused"));
        }
        if self.slow_stops > 0 {
            failures.push(format!(
                "{} graceful stops waited for workers that did not stop",
                self.slow_stops
            ));
        }
        if self.panics > 0 {
            failures.push(format!("the server panicked {} times", self.panics));
        }
        if !self.final_exit_ok {
            failures.push("the final SIGTERM did not end serve cleanly".into());
        }
        if self.audit.generations == 0 {
            failures.push("no generation was made".into());
        }
        failures.extend(self.unexercised());
        failures.extend(self.phases_below_their_floor());
        failures
    }

    /// A fault that never happened proves nothing: every kind the run injects into each
    /// request must show in the counters of whoever injected it. (Failing tasks and dropped
    /// callbacks are left out: they need a task created or finished within their phase, which a
    /// loaded machine's backlog can push past it; the report shows their counts.)
    fn unexercised(&self) -> Vec<String> {
        let ran = |name: &str| self.phases.iter().any(|(phase, _)| *phase == name);
        let p = &self.proxy;
        let n = |v: &std::sync::atomic::AtomicU64| v.load(Relaxed);
        let mut checks: Vec<(&str, u64)> = vec![
            ("kill -9 of serve", self.kills),
            ("forged callbacks sent", n(&p.forged_sent)),
            ("callbacks duplicated by the proxy", n(&p.duplicated)),
            ("callbacks replayed by the proxy", n(&p.replayed)),
            ("callbacks delayed by the proxy", n(&p.delayed)),
            (
                "Idempotency-Key replays checked",
                n(&self.load.stats.replays_checked),
            ),
        ];
        if ran("upstream 5xx") {
            checks.push(("5xx answers injected", self.sim("server_errors_injected")));
        }
        if ran("garbled answers") {
            checks.push(("garbled answers injected", self.sim("malformed_injected")));
        }
        if ran("timeouts") {
            checks.push(("requests slower than the timeout", self.slow_requests));
        }
        checks
            .into_iter()
            .filter(|(_, count)| *count == 0)
            .map(|(what, _)| format!("never exercised: {what}"))
            .collect()
    }

    /// Refunding everything would keep every credit exact: each phase must also get work done.
    /// The floors are well under what runs reach (see docs/RELIABILITY.md) and only judge a
    /// phase with enough submissions to say anything.
    fn phases_below_their_floor(&self) -> Vec<String> {
        self.audit
            .by_phase
            .iter()
            .filter_map(|(phase, tally)| {
                let judged = tally.accepted - tally.canceled;
                let floor = success_floor(phase);
                (judged >= 10 && tally.succeeded * 100 < judged * floor).then(|| {
                    format!(
                        "phase {phase}: {} of {judged} generations succeeded, under its floor of {floor} %",
                        tally.succeeded
                    )
                })
            })
            .collect()
    }

    fn sim(&self, key: &str) -> u64 {
        self.sim_stats[key].as_u64().unwrap_or(0)
    }

    pub fn markdown(&self) -> String {
        let a = &self.audit;
        let l = &self.load.stats;
        let p = &self.proxy;
        let n = |v: &std::sync::atomic::AtomicU64| v.load(Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "#### {} — {} s of load at {} generations/s, {} s to settle, {} s in all\n",
            self.backend,
            self.load_time.as_secs(),
            self.plan.rate,
            self.settle_time.as_secs(),
            self.total_time.as_secs()
        );
        let _ = writeln!(out, "| what | count |\n|---|---:|");
        let mut row = |what: &str, count: String| {
            let _ = writeln!(out, "| {what} | {count} |");
        };
        row("generations accepted (202)", a.generations.to_string());
        for (status, count) in &a.by_status {
            row(&format!("… {status}"), count.to_string());
        }
        for (code, count) in &a.failures {
            row(&format!("… … ended as `{code}`"), count.to_string());
        }
        row(
            "submissions refused for want of credits (402)",
            n(&l.insufficient_credits).to_string(),
        );
        row(
            "submissions retried across a restart (same Idempotency-Key)",
            n(&l.retried).to_string(),
        );
        row(
            "Idempotency-Key replays that returned the first generation",
            n(&l.replays_checked).to_string(),
        );
        row(
            "cancels (refunded) / too late to cancel",
            format!("{} / {}", n(&l.canceled), n(&l.cancel_too_late)),
        );
        for (phase, tally) in &a.by_phase {
            row(
                &format!("submitted during *{phase}*: succeeded / accepted (canceled)"),
                format!(
                    "{} / {} ({})",
                    tally.succeeded, tally.accepted, tally.canceled
                ),
            );
        }
        row("**`kill -9` of serve**", self.kills.to_string());
        row(
            "graceful restarts (SIGTERM)",
            self.graceful_restarts.to_string(),
        );
        row(
            "graceful stops that outwaited a worker / server panics",
            format!("{} / {}", self.slow_stops, self.panics),
        );
        row("upstream tasks created", a.upstream_tasks.to_string());
        row(
            "upstream 5xx injected",
            self.sim("server_errors_injected").to_string(),
        );
        row(
            "upstream 429 (rate limited)",
            self.sim("rate_limited").to_string(),
        );
        row(
            "upstream answers cut short (undecodable)",
            self.sim("malformed_injected").to_string(),
        );
        row(
            &format!(
                "upstream requests answered after the {} ms timeout",
                super::UPSTREAM_TIMEOUT_MS
            ),
            self.slow_requests.to_string(),
        );
        row(
            "tasks failed upstream",
            self.sim("tasks_failing").to_string(),
        );
        row(
            "callbacks dropped by upstream / by the proxy",
            format!("{} / {}", self.sim("callbacks_dropped"), n(&p.dropped)),
        );
        row(
            "callbacks duplicated by upstream / by the proxy",
            format!(
                "{} / {}",
                self.sim("callbacks_duplicated"),
                n(&p.duplicated)
            ),
        );
        row(
            "callbacks delayed / delivered out of order",
            format!("{} / {}", n(&p.delayed), n(&p.reordered)),
        );
        row(
            "callbacks replayed seconds later",
            n(&p.replayed).to_string(),
        );
        row(
            "callbacks lost to a restarting server",
            n(&p.lost_to_restarts).to_string(),
        );
        row(
            "forged callbacks sent / refused / **accepted**",
            format!(
                "{} / {} / **{}**",
                n(&p.forged_sent),
                n(&p.forged_refused),
                n(&p.forged_accepted)
            ),
        );
        row(
            "balance reads during the run / lowest seen",
            format!(
                "{} / {}",
                n(&l.balance_reads),
                l.lowest_balance.load(Relaxed)
            ),
        );
        row(
            "credits charged / refunded",
            format!("{} / {}", a.credits_charged, a.credits_refunded),
        );
        row(
            "tasks Kie made whose answer was lost, refunded to the customer",
            a.tasks_paid_but_refunded.to_string(),
        );
        row("**generations sent upstream twice**", count_twice(a));
        row(
            "**ledger violations (sum ≠ −price or 0, held left, cache ≠ rows, balance < 0)**",
            a.violations.len().to_string(),
        );
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect();
        let _ = writeln!(
            out,
            "\nFault phases ({} s each): {}.",
            self.plan.phase.as_secs(),
            phases.join(", ")
        );
        out
    }
}

fn count_twice(audit: &Audit) -> String {
    audit
        .violations
        .iter()
        .filter(|v| v.contains("created upstream"))
        .count()
        .to_string()
}

/// The least share (in %) of a phase's generations, canceled ones aside, that must succeed:
/// about half of what a run reaches (SQLite, default plan: calm, 5xx and callback faults
/// 95–100 %, failing tasks and garbled answers 73–77 %, timeouts 94 %, everything 97 %).
fn success_floor(phase: &str) -> usize {
    match phase {
        "tasks fail upstream" | "garbled answers" | "timeouts" => 40,
        _ => 50,
    }
}
