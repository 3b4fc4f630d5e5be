//! The priced combinations of a model: every combination of its priced parameters' declared
//! values, derived from the data, each with its price or the reason it has none.

use rust_decimal::Decimal;
use std::fmt;

use crate::catalog::{disabled_reason, Scalar};
use crate::Credits;

/// One value for each priced parameter of a model, in the model's parameter order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Combination(Vec<(String, Scalar)>);

impl Combination {
    pub fn new(values: Vec<(String, Scalar)>) -> Self {
        Combination(values)
    }

    pub fn get(&self, param: &str) -> Option<&Scalar> {
        self.0
            .iter()
            .find(|(name, _)| name == param)
            .map(|(_, v)| v)
    }

    /// The same combination without one parameter (a per-second cost's combination).
    pub fn without(&self, param: &str) -> Combination {
        Combination(
            self.0
                .iter()
                .filter(|(name, _)| name != param)
                .cloned()
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Scalar)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.iter()
            .map(|(name, value)| (name.to_owned(), value.to_json()))
            .collect()
    }

    /// Every combination of the given parameters' values (the cartesian product), in order.
    pub fn all(dimensions: &[(String, Vec<Scalar>)]) -> Vec<Combination> {
        dimensions
            .iter()
            .fold(vec![Combination::default()], |combos, (name, values)| {
                combos
                    .iter()
                    .flat_map(|combo| {
                        values.iter().map(move |value| {
                            let mut next = combo.0.clone();
                            next.push((name.clone(), value.clone()));
                            Combination(next)
                        })
                    })
                    .collect()
            })
    }
}

impl fmt::Display for Combination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|(n, v)| format!("{n} {v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub cost_usd: Decimal,
    pub credits: Credits,
    /// Set by the operator rather than by the rule.
    pub fixed: bool,
    /// Where the cost comes from, as the data says.
    pub note: Option<String>,
}

/// Why a combination is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpriced {
    ValueDisabled {
        param: String,
        value: Scalar,
        reason: Option<String>,
    },
    NoCost,
}

impl fmt::Display for Unpriced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unpriced::ValueDisabled {
                param,
                value,
                reason,
            } => write!(f, "{param} {value} {}", disabled_reason(reason.as_deref())),
            Unpriced::NoCost => f.write_str("no cost configured"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricePoint {
    pub combination: Combination,
    pub price: Result<Price, Unpriced>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_combinations_is_the_cartesian_product_in_order() {
        let combos = Combination::all(&[
            (
                "duration".into(),
                vec![Scalar::Integer(5), Scalar::Integer(10)],
            ),
            (
                "sound".into(),
                vec![Scalar::Boolean(false), Scalar::Boolean(true)],
            ),
        ]);
        let shown: Vec<String> = combos.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "duration 5, sound false",
                "duration 5, sound true",
                "duration 10, sound false",
                "duration 10, sound true"
            ]
        );
        assert_eq!(Combination::all(&[]), vec![Combination::default()]);
    }
}
