//! How a payment's credits follow its money. The ledger is brought in line with what the
//! provider says happened — paid, refunded so far, disputed — rather than replaying events one
//! by one, so duplicate, late and reordered events cannot move credits twice: a second look at
//! the same facts finds nothing left to do.
//!
//! The rules (product.md): a confirmed payment credits its credits once, paying the account's
//! debt first; a refund or an open chargeback takes back the credits it covers, from the
//! spendable balance as far as it goes, and what was already spent becomes debt; a dispute
//! won gives the credits back (paying debt first, like a purchase).

use rust_decimal::{Decimal, RoundingStrategy};

use super::{Dispute, Payment};
use crate::Credits;

/// What a payment's rows in the ledger amount to so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaymentCredits {
    /// Its `purchase` row exists.
    pub credited: bool,
    /// Credits taken back (reversals plus debt recorded) minus credits reinstated.
    pub taken_back: Credits,
}

/// The account at the moment of settling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wallet {
    /// Spendable credits (held credits are not touched: their generations are under way).
    pub balance: Credits,
    pub debt: Credits,
}

/// One ledger row to write; every kind names the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// +credits: the payment is confirmed.
    Purchase(Credits),
    /// −credits: taken back from the balance for a refund or chargeback.
    Reversal(Credits),
    /// Balance unchanged, debt +credits: what a refund could not take back, already spent.
    Debt(Credits),
    /// −credits from the balance, debt −credits.
    DebtRepayment(Credits),
    /// +credits: a dispute decided for the business gives back what it took.
    Reinstatement(Credits),
}

/// How many of the payment's credits its refunds and disputes cover now.
pub fn credits_to_take_back(payment: &Payment) -> Credits {
    let total = payment.total_credits();
    if payment.paid_at.is_none() {
        return Credits::ZERO;
    }
    if matches!(payment.dispute, Dispute::Open | Dispute::Lost) {
        return total;
    }
    let price = payment.price.amount();
    if payment.refunded >= price {
        return total;
    }
    if payment.refunded <= Decimal::ZERO {
        return Credits::ZERO;
    }
    // A partial refund takes back its share of the credits, rounded half up: refunding half
    // of a 100-credit package takes 50. Cumulative, so two partial refunds of half take all.
    let share = (Decimal::from(total.get()) * payment.refunded / price)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    Credits::new(
        i64::try_from(share)
            .unwrap_or(total.get())
            .clamp(0, total.get()),
    )
}

/// The rows that bring the ledger in line with the payment, in order.
pub fn movements(payment: &Payment, so_far: PaymentCredits, wallet: Wallet) -> Vec<Movement> {
    let mut rows = Vec::new();
    let mut balance = wallet.balance.get();
    let mut debt = wallet.debt.get();
    let pay_in = |credits: i64, rows: &mut Vec<Movement>, balance: &mut i64, debt: &mut i64| {
        let repaid = credits.min(*debt);
        if repaid > 0 {
            rows.push(Movement::DebtRepayment(Credits::new(repaid)));
        }
        *debt -= repaid;
        *balance += credits - repaid;
    };
    if payment.paid_at.is_some() && !so_far.credited {
        let total = payment.total_credits().get();
        rows.push(Movement::Purchase(Credits::new(total)));
        pay_in(total, &mut rows, &mut balance, &mut debt);
    }
    let target = credits_to_take_back(payment).get();
    let change = target - so_far.taken_back.get();
    if change > 0 {
        let taken = change.min(balance);
        if taken > 0 {
            rows.push(Movement::Reversal(Credits::new(taken)));
        }
        if change > taken {
            rows.push(Movement::Debt(Credits::new(change - taken)));
        }
    } else if change < 0 {
        rows.push(Movement::Reinstatement(Credits::new(-change)));
        pay_in(-change, &mut rows, &mut balance, &mut debt);
    }
    rows
}

impl Movement {
    /// The change to the spendable balance.
    pub fn balance_change(self) -> i64 {
        match self {
            Movement::Purchase(c) | Movement::Reinstatement(c) => c.get(),
            Movement::Reversal(c) | Movement::DebtRepayment(c) => -c.get(),
            Movement::Debt(_) => 0,
        }
    }

    /// The change to the debt.
    pub fn debt_change(self) -> i64 {
        match self {
            Movement::Debt(c) => c.get(),
            Movement::DebtRepayment(c) => -c.get(),
            _ => 0,
        }
    }

    /// The change to the payment's `taken_back`.
    pub fn taken_back_change(self) -> i64 {
        match self {
            Movement::Reversal(c) | Movement::Debt(c) => c.get(),
            Movement::Reinstatement(c) => -c.get(),
            _ => 0,
        }
    }
}
