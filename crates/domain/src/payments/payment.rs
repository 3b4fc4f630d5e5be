//! A payment: one customer's attempt to buy one package through one provider, with the price
//! and credits captured when the checkout began (a repriced package does not change it).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

use super::{Money, PackageId, PaymentId};
use crate::accounts::UserId;
use crate::Credits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// The built-in payment page: no money moves; for trying reelgate out.
    Demo,
    Stripe,
    Iyzico,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider must be one of iyzico, stripe, demo (got {0:?})")]
pub struct ProviderKindError(pub String);

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Iyzico,
        ProviderKind::Stripe,
        ProviderKind::Demo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Demo => "demo",
            ProviderKind::Stripe => "stripe",
            ProviderKind::Iyzico => "iyzico",
        }
    }
}

impl FromStr for ProviderKind {
    type Err = ProviderKindError;
    fn from_str(s: &str) -> Result<ProviderKind, ProviderKindError> {
        ProviderKind::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ProviderKindError(s.to_owned()))
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The statuses of product.md. Derived from the payment's facts, never set directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    Refunded,
    PartiallyRefunded,
    Disputed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::Pending,
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Refunded,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Disputed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Disputed => "disputed",
        }
    }
}

impl FromStr for PaymentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<PaymentStatus, String> {
        PaymentStatus::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown payment status {s:?}"))
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A chargeback's course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dispute {
    None,
    /// The cardholder disputed it: the credits are taken back while it is open.
    Open,
    /// Decided for the business: the credits come back.
    Won,
    /// Decided for the cardholder: the money and the credits are gone.
    Lost,
}

impl Dispute {
    pub fn as_str(self) -> &'static str {
        match self {
            Dispute::None => "none",
            Dispute::Open => "open",
            Dispute::Won => "won",
            Dispute::Lost => "lost",
        }
    }
}

impl FromStr for Dispute {
    type Err = String;
    fn from_str(s: &str) -> Result<Dispute, String> {
        [Dispute::None, Dispute::Open, Dispute::Won, Dispute::Lost]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown dispute state {s:?}"))
    }
}

/// Why an unpaid payment is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpaid {
    /// Still waiting for the customer or the provider.
    Open,
    Failed(String),
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub user_id: UserId,
    pub package_id: PackageId,
    pub package_name: String,
    /// Captured at checkout: the package's credits and bonus then.
    pub credits: Credits,
    pub bonus_credits: Credits,
    /// Captured at checkout: the price shown then is the price paid.
    pub price: Money,
    pub provider: ProviderKind,
    /// The provider's handle on the checkout (Stripe session id, iyzico token).
    pub provider_ref: Option<String>,
    /// The provider's id of the money movement (Stripe payment intent, iyzico paymentId), for
    /// refunds.
    pub provider_payment_id: Option<String>,
    /// When the provider confirmed the money was taken.
    pub paid_at: Option<DateTime<Utc>>,
    pub unpaid: Unpaid,
    /// Cumulative amount refunded, in the price's currency.
    pub refunded: Decimal,
    pub dispute: Dispute,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    pub fn total_credits(&self) -> Credits {
        Credits::new(self.credits.get() + self.bonus_credits.get())
    }

    pub fn status(&self) -> PaymentStatus {
        status_of(
            self.paid_at.is_some(),
            &self.unpaid,
            self.refunded,
            self.price.amount(),
            self.dispute,
        )
    }

    pub fn failure(&self) -> Option<&str> {
        match &self.unpaid {
            Unpaid::Failed(reason) if self.paid_at.is_none() => Some(reason),
            _ => None,
        }
    }
}

/// The status a payment's facts add up to.
pub fn status_of(
    paid: bool,
    unpaid: &Unpaid,
    refunded: Decimal,
    price: Decimal,
    dispute: Dispute,
) -> PaymentStatus {
    if !paid {
        return match unpaid {
            Unpaid::Open => PaymentStatus::Pending,
            Unpaid::Failed(_) => PaymentStatus::Failed,
            Unpaid::Expired => PaymentStatus::Expired,
        };
    }
    match dispute {
        Dispute::Open | Dispute::Lost => PaymentStatus::Disputed,
        Dispute::None | Dispute::Won if refunded >= price => PaymentStatus::Refunded,
        Dispute::None | Dispute::Won if refunded > Decimal::ZERO => {
            PaymentStatus::PartiallyRefunded
        }
        Dispute::None | Dispute::Won => PaymentStatus::Paid,
    }
}

/// Something the provider says happened to a payment. Facts only move forward: a payment once
/// paid stays paid, refunds only grow, a decided dispute stays decided; so an old or repeated
/// fact changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The provider confirmed the money was taken (from its own API).
    Paid {
        provider_payment_id: Option<String>,
    },
    /// The provider or customer gave up; ignored once paid (a late decline of a paid payment
    /// is old news).
    Failed(String),
    Expired,
    /// The total refunded so far, in the price's currency (providers report it cumulatively;
    /// for one refund, add it to what was refunded before).
    RefundedTotal(Decimal),
    Dispute(Dispute),
}

impl Payment {
    /// Applies a fact; whether anything changed.
    pub fn apply(&mut self, fact: &Fact, now: DateTime<Utc>) -> bool {
        let before = self.clone();
        match fact {
            Fact::Paid {
                provider_payment_id,
            } => {
                if self.paid_at.is_none() {
                    self.paid_at = Some(now);
                }
                if self.provider_payment_id.is_none() {
                    self.provider_payment_id.clone_from(provider_payment_id);
                }
            }
            Fact::Failed(reason) => {
                if self.paid_at.is_none() && self.unpaid == Unpaid::Open {
                    self.unpaid = Unpaid::Failed(reason.clone());
                }
            }
            Fact::Expired => {
                if self.paid_at.is_none() && self.unpaid == Unpaid::Open {
                    self.unpaid = Unpaid::Expired;
                }
            }
            Fact::RefundedTotal(total) => {
                let total = (*total).min(self.price.amount());
                if total > self.refunded {
                    self.refunded = total;
                }
            }
            Fact::Dispute(next) => {
                let forward = matches!(
                    (self.dispute, next),
                    (Dispute::None, Dispute::Open | Dispute::Won | Dispute::Lost)
                        | (Dispute::Open, Dispute::Won | Dispute::Lost)
                );
                if forward {
                    self.dispute = *next;
                }
            }
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        changed
    }

    /// What is left to refund.
    pub fn refundable(&self) -> Decimal {
        if self.paid_at.is_none() {
            Decimal::ZERO
        } else {
            self.price.amount() - self.refunded
        }
    }
}
