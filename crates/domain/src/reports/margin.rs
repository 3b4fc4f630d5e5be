//! Revenue and margin: what settled generations sold for, what they cost upstream, and the
//! difference, per day, model and/or customer.
//!
//! Only succeeded generations earn and cost anything: a failed or canceled one was refunded,
//! and Kie charges nothing for work it did not deliver (the reconciliation checks that).

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::Grouping;
use crate::accounts::UserId;
use crate::generations::Status;
use crate::pricing::PriceRule;

/// Revenue is credits ÷ credits_per_usd, which rarely divides evenly: it is rounded half-up
/// to this many decimal places (a hundredth of a cent).
pub const REVENUE_DECIMALS: u32 = 4;

/// How a settled generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Succeeded,
    Failed,
    Canceled,
}

impl Outcome {
    /// `None` for a generation that has not ended.
    pub fn of(status: Status) -> Option<Outcome> {
        match status {
            Status::Succeeded => Some(Outcome::Succeeded),
            Status::Failed => Some(Outcome::Failed),
            Status::Canceled => Some(Outcome::Canceled),
            Status::Queued | Status::Running => None,
        }
    }
}

/// Settled generations that share a day, model, customer, outcome and unit cost, as the store
/// counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledGroup {
    /// The UTC day it finished.
    pub day: NaiveDate,
    pub model: String,
    pub customer_id: UserId,
    pub email: String,
    pub outcome: Outcome,
    pub count: u64,
    /// The sum of their prices.
    pub credits: i64,
    /// What Kie charges for one of them, per the price table when it was submitted.
    pub unit_cost_usd: Decimal,
    /// The fingerprint of the Kie key they were sent with; `None` when none was recorded
    /// (never sent, or sent when reelgate had a single key).
    pub upstream_key: Option<String>,
}

/// How a report names the generations that carry no key fingerprint.
pub const NO_KEY: &str = "none";

/// One line of the report. The dimensions not grouped by are absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MarginRow {
    /// `YYYY-MM-DD`, the UTC day the generations finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub day: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With `by=key`: the fingerprint of the Kie key the generations were sent with (`kie-…`),
    /// or `none` for those that never reached Kie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_key: Option<String>,
    pub succeeded: u64,
    pub failed: u64,
    pub canceled: u64,
    /// Credits of the succeeded generations: earned.
    pub credits_charged: i64,
    /// Credits of the failed and canceled ones: returned to the customers.
    pub credits_refunded: i64,
    /// Exact decimal string.
    #[schema(value_type = String, example = "0.28")]
    pub upstream_cost_usd: Decimal,
    /// credits_charged ÷ credits_per_usd, rounded half-up to 4 decimals.
    #[schema(value_type = String, example = "0.4167")]
    pub revenue_usd: Decimal,
    /// revenue_usd − upstream_cost_usd.
    #[schema(value_type = String, example = "0.1367")]
    pub margin_usd: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MarginReport {
    /// Ordered by day, model, then customer email.
    pub rows: Vec<MarginRow>,
    /// Every row added up (its revenue computed from the total credits).
    pub totals: MarginRow,
}

type Key = (
    Option<NaiveDate>,
    Option<String>,
    Option<(String, String)>,
    Option<String>,
);

#[derive(Default)]
struct Sums {
    succeeded: u64,
    failed: u64,
    canceled: u64,
    credits_charged: i64,
    credits_refunded: i64,
    cost: Decimal,
}

impl Sums {
    fn add(&mut self, group: &SettledGroup) {
        match group.outcome {
            Outcome::Succeeded => {
                self.succeeded += group.count;
                self.credits_charged += group.credits;
                self.cost += group
                    .unit_cost_usd
                    .saturating_mul(Decimal::from(group.count));
            }
            Outcome::Failed => {
                self.failed += group.count;
                self.credits_refunded += group.credits;
            }
            Outcome::Canceled => {
                self.canceled += group.count;
                self.credits_refunded += group.credits;
            }
        }
    }

    fn row(self, key: Key, rule: &PriceRule) -> MarginRow {
        let (day, model, customer, upstream_key) = key;
        let revenue = Decimal::from(self.credits_charged)
            .checked_div(rule.credits_per_usd())
            // A PriceRule's rate is always more than zero.
            .unwrap_or_default()
            .round_dp_with_strategy(REVENUE_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
            .normalize();
        let (email, customer_id) = customer.unzip();
        MarginRow {
            day,
            model,
            customer_id,
            email,
            upstream_key,
            succeeded: self.succeeded,
            failed: self.failed,
            canceled: self.canceled,
            credits_charged: self.credits_charged,
            credits_refunded: self.credits_refunded,
            upstream_cost_usd: self.cost.normalize(),
            revenue_usd: revenue,
            margin_usd: (revenue - self.cost).normalize(),
        }
    }
}

impl MarginReport {
    /// Adds the groups up along `grouping`; revenue at the rule's credits per USD.
    pub fn build(groups: &[SettledGroup], grouping: Grouping, rule: &PriceRule) -> MarginReport {
        let mut rows: BTreeMap<Key, Sums> = BTreeMap::new();
        let mut totals = Sums::default();
        for group in groups {
            let key = (
                grouping.day.then_some(group.day),
                grouping.model.then(|| group.model.clone()),
                grouping
                    .customer
                    .then(|| (group.email.clone(), group.customer_id.to_string())),
                grouping.key.then(|| {
                    group
                        .upstream_key
                        .clone()
                        .unwrap_or_else(|| NO_KEY.to_owned())
                }),
            );
            rows.entry(key).or_default().add(group);
            totals.add(group);
        }
        MarginReport {
            rows: rows
                .into_iter()
                .map(|(key, sums)| sums.row(key, rule))
                .collect(),
            totals: totals.row((None, None, None, None), rule),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn rule() -> PriceRule {
        PriceRule::new(dec!(0.5), dec!(108), 5).unwrap()
    }

    fn group(day: u32, model: &str, outcome: Outcome, count: u64, price: i64) -> SettledGroup {
        SettledGroup {
            day: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            model: model.into(),
            customer_id: UserId::parse("usr_01hzzzzzzzzzzzzzzzzzzzzzzz").unwrap(),
            email: "ada@example.com".into(),
            outcome,
            count,
            credits: price * count as i64,
            unit_cost_usd: dec!(0.28),
            upstream_key: None,
        }
    }

    #[test]
    fn only_succeeded_generations_earn_and_cost() {
        let groups = [
            group(1, "kling", Outcome::Succeeded, 2, 45),
            group(1, "kling", Outcome::Failed, 1, 45),
            group(1, "kling", Outcome::Canceled, 1, 45),
        ];
        let report = MarginReport::build(&groups, Grouping::DAY_MODEL, &rule());
        assert_eq!(report.rows.len(), 1);
        let row = &report.rows[0];
        assert_eq!((row.succeeded, row.failed, row.canceled), (2, 1, 1));
        assert_eq!((row.credits_charged, row.credits_refunded), (90, 90));
        assert_eq!(row.upstream_cost_usd.to_string(), "0.56");
        // 90 / 108 = 0.8333…
        assert_eq!(row.revenue_usd.to_string(), "0.8333");
        assert_eq!(row.margin_usd.to_string(), "0.2733");
        assert_eq!(
            report.totals,
            MarginRow {
                day: None,
                model: None,
                ..row.clone()
            }
        );
    }

    #[test]
    fn rows_follow_the_grouping_in_order() {
        let groups = [
            group(2, "sora", Outcome::Succeeded, 1, 120),
            group(1, "sora", Outcome::Succeeded, 1, 120),
            group(1, "kling", Outcome::Succeeded, 1, 45),
        ];
        let by_day = MarginReport::build(&groups, "day".parse().unwrap(), &rule());
        let days: Vec<_> = by_day
            .rows
            .iter()
            .map(|r| r.day.unwrap().to_string())
            .collect();
        assert_eq!(days, ["2026-03-01", "2026-03-02"]);
        assert!(by_day.rows.iter().all(|r| r.model.is_none()));
        let by_model = MarginReport::build(&groups, "day,model".parse().unwrap(), &rule());
        let keys: Vec<_> = by_model
            .rows
            .iter()
            .map(|r| format!("{} {}", r.day.unwrap(), r.model.as_deref().unwrap()))
            .collect();
        assert_eq!(
            keys,
            ["2026-03-01 kling", "2026-03-01 sora", "2026-03-02 sora"]
        );
        // 285 credits / 108 = 2.638888…
        assert_eq!(by_model.totals.revenue_usd.to_string(), "2.6389");
    }

    #[test]
    fn per_key_rows_split_the_upstream_cost_by_the_key_that_was_charged() {
        let with_key = |key: Option<&str>, outcome, count| SettledGroup {
            upstream_key: key.map(str::to_owned),
            ..group(1, "kling", outcome, count, 45)
        };
        let groups = [
            with_key(Some("kie-bbbbbbbb"), Outcome::Succeeded, 1),
            with_key(Some("kie-aaaaaaaa"), Outcome::Succeeded, 2),
            with_key(Some("kie-aaaaaaaa"), Outcome::Failed, 1),
            with_key(None, Outcome::Canceled, 1),
        ];
        let report = MarginReport::build(&groups, "key".parse().unwrap(), &rule());
        let rows: Vec<_> = report
            .rows
            .iter()
            .map(|r| {
                let key = r.upstream_key.as_deref().unwrap();
                format!("{key} {} {}", r.succeeded, r.upstream_cost_usd)
            })
            .collect();
        assert_eq!(
            rows,
            ["kie-aaaaaaaa 2 0.56", "kie-bbbbbbbb 1 0.28", "none 0 0"]
        );
        assert!(report
            .rows
            .iter()
            .all(|r| r.day.is_none() && r.model.is_none()));
        assert_eq!(report.totals.upstream_cost_usd.to_string(), "0.84");
        assert_eq!(report.totals.upstream_key, None);
    }
}
