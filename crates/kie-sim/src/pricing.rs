//! What Kie charges per task, in Kie credits (1 Kie credit = $0.005, so credits = USD × 200).
//!
//! The USD figures are the business's cost table (`pricing.md`), except Grok Imagine, which
//! Kie prices per second, and Kling 5 s silent, which Kie's page puts at $0.275; variants the table does not price use Kie's list (Veo 3 quality:
//! 250 credits; Sora 2 Pro standard costs what Sora 2 does).

use rust_decimal::Decimal;

use crate::model::Model;

/// Kie's charge for a Veo task (text or image, 8 s, 720p): Quality $1.25, Fast $0.30, Lite
/// $0.15 (Kie's Veo 3.1 price page).
pub fn veo(model: Model) -> Decimal {
    Decimal::from(match model {
        Model::Veo3Fast => 60,
        Model::Veo3Lite => 30,
        _ => 250,
    })
}

/// Kie's charge for upgrading a finished Veo video, on any model: 1080p $0.025, 4K $0.60
/// (its 4K callback reports `creditsConsumed: 120`).
pub fn veo_upgrade(uhd: bool) -> Decimal {
    Decimal::from(if uhd { 120 } else { 5 })
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

/// Kling 2.6: native audio doubles the price, as in the business's table; 5 s silent is Kie's
/// $0.275 (the table rounds it to $0.28).
pub fn kling(seconds: u32, sound: bool) -> Decimal {
    Decimal::from(match (seconds, sound) {
        (10, true) => 220,
        (10, false) | (_, true) => 110,
        (_, false) => 55,
    })
}

/// Grok Imagine, per second as Kie's price list has it: $0.008/s at 480p (1.6 credits),
/// $0.015/s at 720p (3 credits).
pub fn grok(seconds: u32, hd: bool) -> Decimal {
    let per_second = if hd {
        Decimal::new(3, 0)
    } else {
        Decimal::new(16, 1)
    };
    per_second * Decimal::from(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn prices_match_the_business_cost_table_at_200_credits_per_dollar() {
        assert_eq!(veo(Model::Veo3Fast), dec!(60)); // $0.30
        assert_eq!(kling(5, false), dec!(55)); // $0.275, Kie's figure
        assert_eq!(kling(10, false), dec!(110)); // $0.55
        assert_eq!(kling(5, true), dec!(110)); // $0.55
        assert_eq!(kling(10, true), dec!(220)); // $1.10
        assert_eq!(sora(10, false), dec!(150)); // $0.75
        assert_eq!(sora(15, false), dec!(270)); // $1.35
        assert_eq!(sora(10, true), dec!(330)); // $1.65
        assert_eq!(sora(15, true), dec!(630)); // $3.15
    }

    #[test]
    fn unpriced_variants_use_kie_list_and_grok_by_the_second() {
        assert_eq!(veo(Model::Veo3), dec!(250)); // $1.25
        assert_eq!(veo(Model::Veo3Lite), dec!(30)); // $0.15
        assert_eq!(veo_upgrade(false), dec!(5)); // $0.025
        assert_eq!(veo_upgrade(true), dec!(120)); // $0.60
        assert_eq!(grok(6, false), dec!(9.6)); // $0.048
        assert_eq!(grok(10, false), dec!(16));
        assert_eq!(grok(30, false), dec!(48));
        assert_eq!(grok(6, true), dec!(18)); // $0.09
        assert_eq!(grok(30, true), dec!(90));
    }
}
