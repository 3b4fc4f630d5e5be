//! Reconciliation: does the Kie account's balance drop by what reelgate thinks it spent?
//!
//! Kie charges when it accepts a task. Between two balance samples, the drops add up to what
//! Kie took and the rises to what the operator topped up; the generations Kie accepted in
//! the same interval add up to what reelgate expected to pay. The difference is the
//! operator's to explain (a stale cost table, Kie refunding failed tasks, another user of the
//! same Kie key, …).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::generations::Status;

/// Kie sells its credits at $0.005 each (`docs/UPSTREAM.md`).
pub const KIE_CREDIT_USD: Decimal = Decimal::from_parts(5, 0, 0, false, 3);

/// The Kie balance as polled at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceSample {
    pub taken_at: DateTime<Utc>,
    /// In Kie credits.
    pub credits: Decimal,
}

/// Generations Kie accepted in the interval, by their state now and their unit cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchedGroup {
    pub status: Status,
    pub count: u64,
    pub unit_cost_usd: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Reconciliation {
    /// The first and last balance samples the comparison runs between.
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub samples: usize,
    #[schema(value_type = String)]
    pub start_balance_credits: Decimal,
    #[schema(value_type = String)]
    pub end_balance_credits: Decimal,
    /// The drops between consecutive samples, added up: what Kie took.
    #[schema(value_type = String)]
    pub kie_spent_credits: Decimal,
    /// The rises: top-ups (and any refunds Kie made).
    #[schema(value_type = String)]
    pub kie_topped_up_credits: Decimal,
    #[schema(value_type = String)]
    pub kie_spent_usd: Decimal,
    /// Generations Kie accepted in the window.
    pub generations_sent: u64,
    /// Their upstream cost per reelgate's price table.
    #[schema(value_type = String)]
    pub reelgate_cost_usd: Decimal,
    /// Of which: those that later failed (cost reelgate nothing if Kie refunds them).
    #[schema(value_type = String)]
    pub failed_cost_usd: Decimal,
    /// Of which: those still running.
    #[schema(value_type = String)]
    pub running_cost_usd: Decimal,
    /// kie_spent_usd − reelgate_cost_usd: positive means Kie took more than expected.
    #[schema(value_type = String)]
    pub difference_usd: Decimal,
}

/// Compares samples (oldest first) with the generations accepted between the first and the
/// last of them. `None` with fewer than two samples: there is no interval to compare.
pub fn reconcile(
    samples: &[BalanceSample],
    dispatched: &[DispatchedGroup],
    kie_credit_usd: Decimal,
) -> Option<Reconciliation> {
    let (first, last) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let (mut spent, mut topped_up) = (Decimal::ZERO, Decimal::ZERO);
    for pair in samples.windows(2) {
        let change = pair[1].credits - pair[0].credits;
        if change.is_sign_negative() {
            spent -= change;
        } else {
            topped_up += change;
        }
    }
    let (mut sent, mut cost, mut failed, mut running) =
        (0, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for group in dispatched {
        let subtotal = group
            .unit_cost_usd
            .saturating_mul(Decimal::from(group.count));
        sent += group.count;
        cost += subtotal;
        match group.status {
            Status::Failed => failed += subtotal,
            Status::Running => running += subtotal,
            _ => {}
        }
    }
    let spent_usd = spent.saturating_mul(kie_credit_usd);
    Some(Reconciliation {
        window_start: first.taken_at,
        window_end: last.taken_at,
        samples: samples.len(),
        start_balance_credits: first.credits.normalize(),
        end_balance_credits: last.credits.normalize(),
        kie_spent_credits: spent.normalize(),
        kie_topped_up_credits: topped_up.normalize(),
        kie_spent_usd: spent_usd.normalize(),
        generations_sent: sent,
        reelgate_cost_usd: cost.normalize(),
        failed_cost_usd: failed.normalize(),
        running_cost_usd: running.normalize(),
        difference_usd: (spent_usd - cost).normalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn sample(minute: u32, credits: Decimal) -> BalanceSample {
        BalanceSample {
            taken_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap(),
            credits,
        }
    }

    #[test]
    fn top_ups_do_not_hide_spending() {
        // 1000 → 888 (spent 112) → 5888 (top-up 5000) → 5832 (spent 56).
        let samples = [
            sample(0, dec!(1000)),
            sample(5, dec!(888)),
            sample(10, dec!(5888)),
            sample(15, dec!(5832)),
        ];
        let sent = [
            DispatchedGroup {
                status: Status::Succeeded,
                count: 2,
                unit_cost_usd: dec!(0.28),
            },
            DispatchedGroup {
                status: Status::Failed,
                count: 1,
                unit_cost_usd: dec!(0.28),
            },
        ];
        let r = reconcile(&samples, &sent, KIE_CREDIT_USD).unwrap();
        assert_eq!(r.kie_spent_credits, dec!(168));
        assert_eq!(r.kie_topped_up_credits, dec!(5000));
        assert_eq!(r.kie_spent_usd.to_string(), "0.84");
        assert_eq!(r.generations_sent, 3);
        assert_eq!(r.reelgate_cost_usd.to_string(), "0.84");
        assert_eq!(r.failed_cost_usd.to_string(), "0.28");
        assert_eq!(r.difference_usd.to_string(), "0");
    }

    #[test]
    fn one_sample_is_no_interval() {
        assert_eq!(reconcile(&[sample(0, dec!(10))], &[], KIE_CREDIT_USD), None);
        assert_eq!(reconcile(&[], &[], KIE_CREDIT_USD), None);
    }

    #[test]
    fn a_kie_credit_is_half_a_cent() {
        assert_eq!(KIE_CREDIT_USD, dec!(0.005));
    }
}
