//! Credits (*kredi*): the prepaid unit customers buy and spend. Always whole numbers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A whole number of credits. Signed, because ledger rows move credits both ways;
/// balances are kept non-negative by the ledger, not by this type.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Credits(i64);

impl Credits {
    pub const ZERO: Credits = Credits(0);

    /// A number of credits, as stored or as given (a ledger amount, a request's field, a
    /// setting); which values are acceptable is for the caller's context to decide.
    pub const fn new(credits: i64) -> Credits {
        Credits(credits)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        self.0.checked_add(other.0).map(Credits)
    }

    pub fn checked_sub(self, other: Credits) -> Option<Credits> {
        self.0.checked_sub(other.0).map(Credits)
    }
}

impl std::ops::Neg for Credits {
    type Output = Credits;
    fn neg(self) -> Credits {
        // i64::MIN has no negative; amounts that large are refused wherever they come in.
        Credits(self.0.saturating_neg())
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
