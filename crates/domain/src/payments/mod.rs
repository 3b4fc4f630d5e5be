//! Selling credits: packages, payments through a provider, and how their money moves credits.

mod ids;
mod money;
mod package;
mod payment;
pub mod settle;

pub use ids::{PackageId, ParseIdError, PaymentId};
pub use money::{Currency, Money, MoneyError};
pub use package::{
    check_bonus, check_credits, Package, PackageCreditsError, PackageName, PackageNameError,
    MAX_PACKAGE_CREDITS,
};
pub use payment::{
    status_of, Dispute, Fact, Payment, PaymentStatus, ProviderKind, ProviderKindError, Unpaid,
};
