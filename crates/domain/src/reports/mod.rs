//! What the operator's business looks like: revenue and margin of settled generations, and
//! how the upstream spend reelgate computed compares with the drop in the Kie balance.
//!
//! Pure arithmetic over figures the store has already grouped; every USD amount is an exact
//! `Decimal`, never a float.

mod grouping;
mod margin;
mod reconcile;

pub use grouping::{Grouping, GroupingError};
pub use margin::{MarginReport, MarginRow, Outcome, SettledGroup, NO_KEY, REVENUE_DECIMALS};
pub use reconcile::{reconcile, BalanceSample, DispatchedGroup, Reconciliation, KIE_CREDIT_USD};
