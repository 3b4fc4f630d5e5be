//! The cash report: the money customers paid and got back, per UTC day and currency, next to
//! the credits that money bought, the credits spent on generations, and the credits still
//! unspent — what the business owes its customers.
//!
//! Money is never added across currencies. Credits have no currency, so the credit figures
//! other than `credits_sold` are the day's, over every currency and every source of credits
//! (grants and vouchers too).
//!
//! How the unspent credits are derived from the ledger: every row that brings credits in or
//! takes them out of the customers' hands (grant, voucher, adjustment, purchase, reversal,
//! debt repayment, reinstatement) up to the end of the day, minus the price of every
//! generation charged up to then. A generation's hold and refund only move credits between a
//! customer's balance and their held credits, so they are left out: held credits are still
//! the customer's until the generation is charged. The figure is therefore the sum of every
//! account's balance plus its held credits, as of the end of the day.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What moved money, as the store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CashKind {
    /// A payment's price, when the provider confirmed it paid.
    Received,
    /// An increase of what was refunded.
    Refunded,
    /// Taken back by a chargeback; negative when a won dispute returned it.
    ChargedBack,
}

/// Cash movements of one day, currency and kind that share an amount, as the store counts
/// them (the amounts are added here, exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashGroup {
    pub day: NaiveDate,
    pub currency: String,
    pub kind: CashKind,
    pub amount: Decimal,
    pub count: u64,
}

/// The ledger's credit movements of one day (rows outside generations), by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditFlow {
    pub day: NaiveDate,
    pub kind: FlowKind,
    /// The rows' summed `amount` (balance change).
    pub credits: i64,
    /// The rows' summed `debt` change.
    pub debt: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// `grant`, `voucher`, `adjustment`.
    Granted,
    /// `purchase`.
    Sold,
    /// `reversal`, `debt`, `debt_repayment`, `reinstatement`.
    TakenBack,
}

/// The credits a payment's purchase rows gave, by day and the payment's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldGroup {
    pub day: NaiveDate,
    pub currency: String,
    pub credits: i64,
}

/// Where the ledger stood when the period began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Opening {
    pub unspent_credits: i64,
    pub debt: i64,
}

/// One currency's money on one day (or over the period, in `totals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CurrencyCash {
    /// ISO 4217 code.
    pub currency: String,
    /// Payments confirmed paid.
    pub payments: u64,
    /// What they paid, exact decimal string.
    #[schema(value_type = String, example = "299.80")]
    pub cash_received: Decimal,
    /// Refunds made (through the operator's button, the provider's dashboard or panel).
    #[schema(value_type = String, example = "5.00")]
    pub cash_refunded: Decimal,
    /// Taken back by chargebacks, less what won disputes returned.
    #[schema(value_type = String, example = "0.00")]
    pub cash_charged_back: Decimal,
    /// Received minus refunded minus charged back.
    #[schema(value_type = String, example = "294.80")]
    pub cash_net: Decimal,
    /// Credits (with bonus) the payments of this currency bought: `purchase` rows.
    pub credits_sold: i64,
}

/// One UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CashDay {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The day's money, one line per currency that moved; empty on a day without payments.
    pub currencies: Vec<CurrencyCash>,
    /// Credits (with bonus) bought, in every currency.
    pub credits_sold: i64,
    /// Credits given by the operator: grants, vouchers redeemed, adjustments (net).
    pub credits_granted: i64,
    /// Credits spent: the prices of the generations charged that day.
    pub credits_consumed: i64,
    /// Credits refunds and chargebacks took back from balances, debt repaid from purchases,
    /// less credits given back for won disputes.
    pub credits_taken_back: i64,
    /// Unspent credits at the end of the day: every account's balance plus its held credits.
    /// The previous day's, plus sold and granted, minus consumed and taken back.
    pub unspent_credits: i64,
    /// What customers owed at the end of the day (spent credits of refunded payments).
    pub debt_outstanding: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CashReport {
    /// Unspent credits when the period began (the end of the day before `from`).
    pub opening_unspent_credits: i64,
    pub days: Vec<CashDay>,
    /// The period's money, per currency.
    pub totals: Vec<CurrencyCash>,
}

fn money(amount: Decimal) -> Decimal {
    let mut amount = amount;
    // Every currency sold has two minor digits (`Currency::minor_digits`).
    amount.rescale(2);
    amount
}

impl CurrencyCash {
    fn new(currency: &str) -> CurrencyCash {
        CurrencyCash {
            currency: currency.to_owned(),
            payments: 0,
            cash_received: money(Decimal::ZERO),
            cash_refunded: money(Decimal::ZERO),
            cash_charged_back: money(Decimal::ZERO),
            cash_net: money(Decimal::ZERO),
            credits_sold: 0,
        }
    }

    fn add(&mut self, other: &CurrencyCash) {
        self.payments += other.payments;
        self.cash_received += other.cash_received;
        self.cash_refunded += other.cash_refunded;
        self.cash_charged_back += other.cash_charged_back;
        self.credits_sold += other.credits_sold;
        self.settle();
    }

    fn settle(&mut self) {
        self.cash_received = money(self.cash_received);
        self.cash_refunded = money(self.cash_refunded);
        self.cash_charged_back = money(self.cash_charged_back);
        self.cash_net = money(self.cash_received - self.cash_refunded - self.cash_charged_back);
    }
}

fn line<'a>(
    by_day: &'a mut BTreeMap<NaiveDate, BTreeMap<String, CurrencyCash>>,
    day: NaiveDate,
    currency: &str,
) -> &'a mut CurrencyCash {
    by_day
        .entry(day)
        .or_default()
        .entry(currency.to_owned())
        .or_insert_with(|| CurrencyCash::new(currency))
}

impl CashReport {
    /// The report of the days `from` to `to` (every day has its line).
    pub fn build(
        from: NaiveDate,
        to: NaiveDate,
        opening: Opening,
        cash: &[CashGroup],
        sold: &[SoldGroup],
        flows: &[CreditFlow],
        consumed: &[(NaiveDate, i64)],
    ) -> CashReport {
        let mut by_day: BTreeMap<NaiveDate, BTreeMap<String, CurrencyCash>> = BTreeMap::new();
        for group in cash {
            let total = group.amount * Decimal::from(group.count);
            let line = line(&mut by_day, group.day, &group.currency);
            match group.kind {
                CashKind::Received => {
                    line.payments += group.count;
                    line.cash_received += total;
                }
                CashKind::Refunded => line.cash_refunded += total,
                CashKind::ChargedBack => line.cash_charged_back += total,
            }
            line.settle();
        }
        for group in sold {
            line(&mut by_day, group.day, &group.currency).credits_sold += group.credits;
        }
        let mut totals: BTreeMap<String, CurrencyCash> = BTreeMap::new();
        let mut days = Vec::new();
        let (mut unspent, mut debt) = (opening.unspent_credits, opening.debt);
        let mut day = from;
        while day <= to {
            let currencies: Vec<CurrencyCash> = by_day
                .remove(&day)
                .map(|lines| lines.into_values().collect())
                .unwrap_or_default();
            for line in &currencies {
                totals
                    .entry(line.currency.clone())
                    .or_insert_with(|| CurrencyCash::new(&line.currency))
                    .add(line);
            }
            let flow = |kind: FlowKind| -> (i64, i64) {
                flows
                    .iter()
                    .filter(|f| f.day == day && f.kind == kind)
                    .fold((0, 0), |(c, d), f| (c + f.credits, d + f.debt))
            };
            let (credits_sold, sold_debt) = flow(FlowKind::Sold);
            let (credits_granted, granted_debt) = flow(FlowKind::Granted);
            let (taken, taken_debt) = flow(FlowKind::TakenBack);
            let credits_consumed: i64 = consumed
                .iter()
                .filter(|(d, _)| *d == day)
                .map(|(_, c)| c)
                .sum();
            unspent += credits_sold + credits_granted + taken - credits_consumed;
            debt += sold_debt + granted_debt + taken_debt;
            days.push(CashDay {
                day,
                currencies,
                credits_sold,
                credits_granted,
                credits_consumed,
                credits_taken_back: -taken,
                unspent_credits: unspent,
                debt_outstanding: debt,
            });
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        CashReport {
            opening_unspent_credits: opening.unspent_credits,
            days,
            totals: totals.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn money_adds_up_per_day_and_currency_and_credits_carry_over() {
        let cash = [
            CashGroup {
                day: day(1),
                currency: "TRY".into(),
                kind: CashKind::Received,
                amount: dec!(149.90),
                count: 2,
            },
            CashGroup {
                day: day(2),
                currency: "TRY".into(),
                kind: CashKind::Refunded,
                amount: dec!(74.95),
                count: 1,
            },
            CashGroup {
                day: day(2),
                currency: "USD".into(),
                kind: CashKind::Received,
                amount: dec!(10.00),
                count: 1,
            },
        ];
        let sold = [
            SoldGroup {
                day: day(1),
                currency: "TRY".into(),
                credits: 1100,
            },
            SoldGroup {
                day: day(2),
                currency: "USD".into(),
                credits: 100,
            },
        ];
        let flows = [
            CreditFlow {
                day: day(1),
                kind: FlowKind::Sold,
                credits: 1100,
                debt: 0,
            },
            CreditFlow {
                day: day(2),
                kind: FlowKind::Sold,
                credits: 100,
                debt: 0,
            },
            CreditFlow {
                day: day(2),
                kind: FlowKind::TakenBack,
                credits: -275,
                debt: 0,
            },
            CreditFlow {
                day: day(3),
                kind: FlowKind::Granted,
                credits: 10,
                debt: 0,
            },
        ];
        let consumed = [(day(2), 45)];
        let opening = Opening {
            unspent_credits: 7,
            debt: 0,
        };
        let report = CashReport::build(day(1), day(3), opening, &cash, &sold, &flows, &consumed);
        assert_eq!(report.days.len(), 3);
        let first = &report.days[0];
        assert_eq!(first.currencies.len(), 1);
        assert_eq!(first.currencies[0].cash_received.to_string(), "299.80");
        assert_eq!(first.currencies[0].cash_refunded.to_string(), "0.00");
        assert_eq!(first.currencies[0].payments, 2);
        assert_eq!(first.unspent_credits, 1107);
        let second = &report.days[1];
        assert_eq!(
            second
                .currencies
                .iter()
                .map(|c| (c.currency.as_str(), c.cash_net.to_string()))
                .collect::<Vec<_>>(),
            [("TRY", "-74.95".to_owned()), ("USD", "10.00".to_owned())]
        );
        assert_eq!(
            (second.credits_consumed, second.credits_taken_back),
            (45, 275)
        );
        assert_eq!(second.unspent_credits, 1107 + 100 - 275 - 45);
        assert!(report.days[2].currencies.is_empty());
        assert_eq!(report.days[2].unspent_credits, 887 + 10);
        let try_total = &report.totals[0];
        assert_eq!(
            (
                try_total.currency.as_str(),
                try_total.cash_net.to_string(),
                try_total.credits_sold
            ),
            ("TRY", "224.85".to_owned(), 1100)
        );
    }
}
