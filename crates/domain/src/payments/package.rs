//! Credit packages: what the operator sells, at what price.

use chrono::{DateTime, Utc};

use super::{Money, PackageId};
use crate::Credits;

/// A package on the shelf (or hidden from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub id: PackageId,
    pub name: PackageName,
    pub credits: Credits,
    /// Given on top of `credits`; the customer receives both.
    pub bonus_credits: Credits,
    pub price: Money,
    /// Hidden packages are not on sale; payments already made for them stay valid.
    pub active: bool,
    /// Lower first on the page.
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Package {
    /// What a customer receives for it.
    pub fn total_credits(&self) -> Credits {
        Credits::new(self.credits.get() + self.bonus_credits.get())
    }
}

/// A package's name: trimmed, 1 to 80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name must be 1 to 80 characters, without control characters")]
pub struct PackageNameError;

impl PackageName {
    pub fn parse(raw: &str) -> Result<PackageName, PackageNameError> {
        let name = raw.trim();
        let length = name.chars().count();
        if (1..=80).contains(&length) && !name.chars().any(char::is_control) {
            Ok(PackageName(name.to_owned()))
        } else {
            Err(PackageNameError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PackageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Credits a package gives: at least one, and far below any balance limit.
pub const MAX_PACKAGE_CREDITS: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageCreditsError {
    #[error("credits must be 1 to {MAX_PACKAGE_CREDITS}")]
    Credits,
    #[error("bonus_credits must be 0 to {MAX_PACKAGE_CREDITS}")]
    Bonus,
}

pub fn check_credits(credits: i64) -> Result<Credits, PackageCreditsError> {
    if (1..=MAX_PACKAGE_CREDITS).contains(&credits) {
        Ok(Credits::new(credits))
    } else {
        Err(PackageCreditsError::Credits)
    }
}

pub fn check_bonus(bonus: i64) -> Result<Credits, PackageCreditsError> {
    if (0..=MAX_PACKAGE_CREDITS).contains(&bonus) {
        Ok(Credits::new(bonus))
    } else {
        Err(PackageCreditsError::Bonus)
    }
}
