//! What Kie charges per task, in Kie credits (1 Kie credit = $0.005, so credits = USD × 200).
//!
//! The USD figures are the business's cost table (`pricing.md`); variants it does not price use
//! Kie's list (Veo 3 quality: 250 credits; Sora 2 Pro standard costs what Sora 2 does).

use rust_decimal::{Decimal, RoundingStrategy};

/// Kie's charge for a Veo task (text or image, 8 s).
pub fn veo(fast: bool) -> Decimal {
    Decimal::from(if fast { 60 } else { 250 })
}

/// Sora 2 and Sora 2 Pro. `high` is Pro's `size: "high"`; Pro standard costs what Sora 2 does.
pub fn sora(seconds: u32, high: bool) -> Decimal {
    Decimal::from(match (seconds, high) {
        (15, false) => 270,
        (15, true) => 630,
        (_, false) => 150,
        (_, true) => 330,
    })
}

/// Kling 2.6: native audio doubles the price, as in the business's table.
pub fn kling(seconds: u32, sound: bool) -> Decimal {
    Decimal::from(match (seconds, sound) {
        (10, true) => 220,
        (10, false) | (_, true) => 110,
        (_, false) => 56,
    })
}

/// Grok Imagine: 20 credits for the seed's 6 s at 480p, proportional to seconds; 720p costs
/// 1.5× (between the per-pixel and flat rates other resellers use). Rounded to a cent of a
/// credit, half up, because Kie balances carry decimals.
pub fn grok(seconds: u32, hd: bool) -> Decimal {
    let per_six = Decimal::from(if hd { 30 } else { 20 });
    (per_six * Decimal::from(seconds) / Decimal::from(6))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn prices_match_the_business_cost_table_at_200_credits_per_dollar() {
        assert_eq!(veo(true), dec!(60)); // $0.30
        assert_eq!(kling(5, false), dec!(56)); // $0.28
        assert_eq!(kling(10, false), dec!(110)); // $0.55
        assert_eq!(kling(5, true), dec!(110)); // $0.55
        assert_eq!(kling(10, true), dec!(220)); // $1.10
        assert_eq!(sora(10, false), dec!(150)); // $0.75
        assert_eq!(sora(15, false), dec!(270)); // $1.35
        assert_eq!(sora(10, true), dec!(330)); // $1.65
        assert_eq!(sora(15, true), dec!(630)); // $3.15
        assert_eq!(grok(6, false), dec!(20)); // $0.10
    }

    #[test]
    fn unpriced_variants_use_kie_list_and_proportional_grok() {
        assert_eq!(veo(false), dec!(250));
        assert_eq!(grok(10, false), dec!(33.33));
        assert_eq!(grok(30, false), dec!(100));
        assert_eq!(grok(6, true), dec!(30));
        assert_eq!(grok(10, true), dec!(50));
    }
}
