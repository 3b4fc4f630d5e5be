//! Credit packages and payments as both front ends show them.

use chrono::{DateTime, Utc};
use reelgate_domain::payments::{Package, Payment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An exact amount of money.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceView {
    /// Exact decimal string in the currency's major unit, e.g. `"149.90"`.
    pub amount: String,
    /// ISO 4217: `TRY`, `USD`, `EUR` or `GBP`.
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    pub id: String,
    pub name: String,
    pub credits: i64,
    pub bonus_credits: i64,
    pub price: PriceView,
    pub active: bool,
    /// Lower first on the page.
    pub position: i64,
}

impl From<&Package> for PackageView {
    fn from(p: &Package) -> Self {
        PackageView {
            id: p.id.to_string(),
            name: p.name.to_string(),
            credits: p.credits.get(),
            bonus_credits: p.bonus_credits.get(),
            price: PriceView {
                amount: p.price.amount_string(),
                currency: p.price.currency().code().to_owned(),
            },
            active: p.active,
            position: p.position,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPackage {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    /// `pending`, `paid`, `failed`, `expired`, `refunded`, `partially_refunded` or `disputed`.
    pub status: String,
    pub package: PaymentPackage,
    /// Credits the payment buys (package credits plus bonus), as captured at checkout.
    pub credits: i64,
    pub bonus_credits: i64,
    /// The price captured at checkout: exact decimal string.
    pub amount: String,
    pub currency: String,
    /// Refunded so far, same currency.
    pub refunded: String,
    /// `iyzico`, `stripe` or `demo`.
    pub provider: String,
    /// Why it failed, for a failed payment.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Payment> for PaymentView {
    fn from(p: &Payment) -> Self {
        let mut refunded = p.refunded;
        refunded.rescale(p.price.currency().minor_digits());
        PaymentView {
            id: p.id.to_string(),
            status: p.status().to_string(),
            package: PaymentPackage {
                id: p.package_id.to_string(),
                name: p.package_name.clone(),
            },
            credits: p.total_credits().get(),
            bonus_credits: p.bonus_credits.get(),
            amount: p.price.amount_string(),
            currency: p.price.currency().code().to_owned(),
            refunded: refunded.to_string(),
            provider: p.provider.to_string(),
            failure: p.failure().map(str::to_owned),
            created_at: p.created_at,
            paid_at: p.paid_at,
            updated_at: p.updated_at,
        }
    }
}
