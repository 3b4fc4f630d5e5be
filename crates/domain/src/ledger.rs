//! The credit ledger: every movement of credits is an append-only row.
//!
//! A user's spendable balance is the sum of their rows. A generation moves credits in at most
//! two rows: a `hold` of −price when it is accepted, then either a `charge` of 0 (the held
//! credits become spent) or a `refund` of +price. So the rows of a generation sum to −price if
//! it succeeded and to 0 otherwise.

use crate::accounts::UserId;
use crate::generations::GenerationId;
use crate::Credits;
use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Credits given by the operator (or a signup bonus).
    Grant,
    /// Credits from redeeming a voucher code.
    Voucher,
    /// A generation's price set aside; negative.
    Hold,
    /// A held price becoming spent; always 0, it only settles the hold.
    Charge,
    /// A held price returned; positive.
    Refund,
    /// An operator's correction, either sign.
    Adjustment,
    /// Credits bought: a confirmed payment's credits and bonus; one per payment.
    Purchase,
    /// Purchased credits taken back by a refund or a chargeback; negative.
    Reversal,
    /// What a refund or chargeback could not take back because it was spent: 0 on the
    /// balance, +debt.
    Debt,
    /// Credits that paid off debt: −balance and −debt.
    DebtRepayment,
    /// A dispute decided for the business gives back what it took; positive.
    Reinstatement,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ledger entry kind {0:?}")]
pub struct EntryKindError(String);

impl EntryKind {
    pub const ALL: [EntryKind; 11] = [
        EntryKind::Grant,
        EntryKind::Voucher,
        EntryKind::Hold,
        EntryKind::Charge,
        EntryKind::Refund,
        EntryKind::Adjustment,
        EntryKind::Purchase,
        EntryKind::Reversal,
        EntryKind::Debt,
        EntryKind::DebtRepayment,
        EntryKind::Reinstatement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Voucher => "voucher",
            EntryKind::Hold => "hold",
            EntryKind::Charge => "charge",
            EntryKind::Refund => "refund",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Purchase => "purchase",
            EntryKind::Reversal => "reversal",
            EntryKind::Debt => "debt",
            EntryKind::DebtRepayment => "debt_repayment",
            EntryKind::Reinstatement => "reinstatement",
        }
    }
}

impl FromStr for EntryKind {
    type Err = EntryKindError;
    fn from_str(s: &str) -> Result<EntryKind, EntryKindError> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| EntryKindError(s.to_owned()))
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused a ledger movement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// reelgate itself: settling generations, signup bonuses.
    System,
    /// An operator at the command line (`reelgate admin …`).
    Cli,
    /// A signed-in user: the customer themselves, or an admin acting through the API.
    User(UserId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown actor {0:?}")]
pub struct ActorError(String);

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
            Actor::User(id) => f.write_str(id.as_str()),
        }
    }
}

impl FromStr for Actor {
    type Err = ActorError;
    fn from_str(s: &str) -> Result<Actor, ActorError> {
        match s {
            "system" => Ok(Actor::System),
            "cli" => Ok(Actor::Cli),
            other => UserId::parse(other)
                .map(Actor::User)
                .map_err(|_| ActorError(other.to_owned())),
        }
    }
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Increases with every row written; pages are ordered by it.
    pub id: i64,
    pub user_id: UserId,
    pub kind: EntryKind,
    pub amount: Credits,
    pub reason: String,
    pub actor: Actor,
    pub generation_id: Option<GenerationId>,
    /// The payment a purchase, reversal, debt, repayment or reinstatement belongs to.
    pub payment_id: Option<crate::payments::PaymentId>,
    /// The change this row makes to the account's debt (0 but for debt and repayment rows).
    pub debt: Credits,
    pub created_at: DateTime<Utc>,
}

/// Where a generation's credits stand, as its ledger rows say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// No hold was ever written for it.
    NotHeld,
    /// Its price is held, neither captured nor released yet.
    Held { price: Credits },
    /// Succeeded: the held price was spent.
    Captured { price: Credits },
    /// Failed or canceled: the held price was returned.
    Released { price: Credits },
}

/// A voucher code: trimmed and upper-cased, letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VoucherCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("voucher code must be 4 to 64 letters, digits, '-' or '_'")]
pub struct VoucherCodeError;

impl VoucherCode {
    pub fn parse(raw: &str) -> Result<VoucherCode, VoucherCodeError> {
        let code = raw.trim().to_uppercase();
        let ok = (4..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(VoucherCode(code))
        } else {
            Err(VoucherCodeError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for VoucherCode {
    type Err = VoucherCodeError;
    fn from_str(s: &str) -> Result<VoucherCode, VoucherCodeError> {
        VoucherCode::parse(s)
    }
}

/// A voucher as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub code: VoucherCode,
    pub credits: Credits,
    pub max_redemptions: i64,
    pub redemptions: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
}

/// One customer's redemption of a voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub code: VoucherCode,
    pub user_id: UserId,
    pub email: crate::accounts::Email,
    pub redeemed_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_kinds_round_trip_through_their_names() {
        for kind in EntryKind::ALL {
            assert_eq!(kind.as_str().parse::<EntryKind>(), Ok(kind));
        }
        assert!("gift".parse::<EntryKind>().is_err());
    }

    #[test]
    fn actors_round_trip_through_their_names() {
        let user = Actor::User(UserId::generate());
        for actor in [Actor::System, Actor::Cli, user] {
            assert_eq!(actor.to_string().parse::<Actor>(), Ok(actor));
        }
    }

    #[test]
    fn voucher_codes_are_upper_cased_and_checked() {
        assert_eq!(
            VoucherCode::parse(" welcome-10 ").unwrap().as_str(),
            "WELCOME-10"
        );
        assert!(VoucherCode::parse("abc").is_err());
        assert!(VoucherCode::parse("has space").is_err());
    }
}
