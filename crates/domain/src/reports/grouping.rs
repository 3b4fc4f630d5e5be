//! Which dimensions a margin report breaks its figures down by.

use std::fmt;
use std::str::FromStr;

/// Any combination of day, model, customer and Kie key; at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grouping {
    pub day: bool,
    pub model: bool,
    pub customer: bool,
    /// The Kie key (account) the generations were sent with, by fingerprint.
    pub key: bool,
}

impl Grouping {
    /// Per day and model, as `docs/API.md` shows the operator by default.
    pub const DAY_MODEL: Grouping = Grouping {
        day: true,
        model: true,
        customer: false,
        key: false,
    };
    pub const CUSTOMER: Grouping = Grouping {
        day: false,
        model: false,
        customer: true,
        key: false,
    };
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping::DAY_MODEL
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected a comma-separated list of day, model, customer and key")]
pub struct GroupingError(String);

/// `day,model`, `customer`, `day,customer`, `key`, … in any order.
impl FromStr for Grouping {
    type Err = GroupingError;

    fn from_str(raw: &str) -> Result<Self, GroupingError> {
        let mut grouping = Grouping {
            day: false,
            model: false,
            customer: false,
            key: false,
        };
        for part in raw.split(',').map(str::trim) {
            let flag = match part {
                "day" => &mut grouping.day,
                "model" => &mut grouping.model,
                "customer" => &mut grouping.customer,
                "key" => &mut grouping.key,
                _ => return Err(GroupingError(raw.to_owned())),
            };
            *flag = true;
        }
        Ok(grouping)
    }
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.day, "day"),
            (self.model, "model"),
            (self.customer, "customer"),
            (self.key, "key"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_combination_of_the_three_dimensions_parses() {
        assert_eq!("day,model".parse(), Ok(Grouping::DAY_MODEL));
        assert_eq!("model, day".parse(), Ok(Grouping::DAY_MODEL));
        assert_eq!("customer".parse(), Ok(Grouping::CUSTOMER));
        assert_eq!(
            "day,customer".parse::<Grouping>().unwrap().to_string(),
            "day,customer"
        );
        assert_eq!(
            "key,day".parse::<Grouping>().unwrap().to_string(),
            "day,key"
        );
        assert!("".parse::<Grouping>().is_err());
        assert!("day,week".parse::<Grouping>().is_err());
    }
}
