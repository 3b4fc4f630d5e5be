//! What the operator's business looks like: revenue and margin of settled generations, the
//! cash taken and the credits still owed to customers, and how the upstream spend reelgate
//! computed compares with the drop in the Kie balance.
//!
//! Pure arithmetic over figures the store has already grouped; every amount of money is an
//! exact `Decimal`, never a float.

mod cash;
mod grouping;
mod margin;
mod reconcile;

pub use cash::{
    CashDay, CashGroup, CashKind, CashReport, CreditFlow, CurrencyCash, FlowKind, Opening,
    SoldGroup,
};
pub use grouping::{Grouping, GroupingError};
pub use margin::{MarginReport, MarginRow, Outcome, SettledGroup, NO_KEY, REVENUE_DECIMALS};
pub use reconcile::{reconcile, BalanceSample, DispatchedGroup, Reconciliation, KIE_CREDIT_USD};
