//! The pricing engine of `pricing.md`: an upstream USD cost becomes a price in credits by one
//! rule, in exact decimal arithmetic, unless the operator fixed the price of a combination.

mod list;
mod point;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::ModelId;
use crate::Credits;

pub use list::PriceListEntry;
pub use point::{Combination, Price, PricePoint, Unpriced};

/// `credits = round_half_up(cost × (1 + markup) × credits_per_usd / step) × step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRule {
    markup: Decimal,
    credits_per_usd: Decimal,
    step: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceRuleError {
    #[error("markup must be zero or more (0.50 is 50%)")]
    NegativeMarkup,
    #[error("credits_per_usd must be more than zero")]
    NonPositiveRate,
    #[error("step must be a whole number of credits, at least 1")]
    NonPositiveStep,
}

impl PriceRule {
    pub fn new(
        markup: Decimal,
        credits_per_usd: Decimal,
        step: i64,
    ) -> Result<Self, PriceRuleError> {
        if markup.is_sign_negative() && !markup.is_zero() {
            return Err(PriceRuleError::NegativeMarkup);
        }
        if credits_per_usd <= Decimal::ZERO {
            return Err(PriceRuleError::NonPositiveRate);
        }
        if step < 1 {
            return Err(PriceRuleError::NonPositiveStep);
        }
        Ok(PriceRule {
            markup,
            credits_per_usd,
            step,
        })
    }

    pub fn markup(&self) -> Decimal {
        self.markup
    }

    pub fn credits_per_usd(&self) -> Decimal {
        self.credits_per_usd
    }

    pub fn step(&self) -> i64 {
        self.step
    }

    /// The selling price of an upstream cost. Never zero: a tiny cost still sells for one
    /// step, so every price stays a positive multiple of the step. `None` only on overflow.
    pub fn credits_for(&self, cost_usd: Decimal) -> Option<Credits> {
        let exact = cost_usd
            .checked_mul(Decimal::ONE.checked_add(self.markup)?)?
            .checked_mul(self.credits_per_usd)?
            .checked_div(Decimal::from(self.step))?;
        // Half-up and away-from-zero agree here: costs are positive.
        let steps = exact
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()?
            .max(1);
        steps.checked_mul(self.step).map(Credits::new)
    }
}

/// The price of one request before it is submitted. The price charged is the one quoted at
/// submission, whatever the operator changes while the generation runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Quote {
    pub model: ModelId,
    #[schema(value_type = i64, example = 45)]
    pub credits: Credits,
    /// What Kie AI charges us, in USD.
    #[schema(value_type = String, example = "0.28")]
    pub upstream_cost_usd: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn seed_rule() -> PriceRule {
        PriceRule::new(dec!(0.50), dec!(108), 5).unwrap()
    }

    #[test]
    fn rule_rounds_to_the_nearest_step() {
        // The two worked examples of pricing.md.
        assert_eq!(seed_rule().credits_for(dec!(0.10)), Some(Credits::new(15)));
        assert_eq!(seed_rule().credits_for(dec!(0.75)), Some(Credits::new(120)));
    }

    #[test]
    fn exact_halves_round_up() {
        // 1.25 × 1.5 × 108 / 5 = 40.5 exactly.
        assert_eq!(seed_rule().credits_for(dec!(1.25)), Some(Credits::new(205)));
    }

    #[test]
    fn a_tiny_cost_still_costs_one_step() {
        assert_eq!(seed_rule().credits_for(dec!(0.001)), Some(Credits::new(5)));
    }

    #[test]
    fn rule_rejects_nonsense_settings() {
        assert_eq!(
            PriceRule::new(dec!(-0.1), dec!(108), 5),
            Err(PriceRuleError::NegativeMarkup)
        );
        assert_eq!(
            PriceRule::new(dec!(0.5), dec!(0), 5),
            Err(PriceRuleError::NonPositiveRate)
        );
        assert_eq!(
            PriceRule::new(dec!(0.5), dec!(108), 0),
            Err(PriceRuleError::NonPositiveStep)
        );
    }

    #[test]
    fn overflow_is_no_price() {
        let rule = PriceRule::new(dec!(0.5), Decimal::MAX, 1).unwrap();
        assert_eq!(rule.credits_for(Decimal::MAX), None);
    }
}
