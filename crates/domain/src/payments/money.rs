//! Prices: exact decimals in an ISO 4217 currency. Never floats — a price shown at checkout is
//! the price charged, credited and reported, to the last kuruş or cent.

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// The currencies packages may be priced in. Each has two minor digits, which is what the
/// providers' minor-unit amounts (Stripe's `unit_amount`) assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Try,
    Usd,
    Eur,
    Gbp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency must be one of TRY, USD, EUR, GBP (got {0:?})")]
    UnknownCurrency(String),
    #[error("amount must be a decimal string such as \"149.90\" (got {0:?})")]
    NotADecimal(String),
    #[error("amount must be more than zero")]
    NotPositive,
    #[error("amount has more than two decimal places")]
    TooPrecise,
    #[error("amount must be at most 1000000")]
    TooLarge,
}

impl Currency {
    pub const ALL: [Currency; 4] = [Currency::Try, Currency::Usd, Currency::Eur, Currency::Gbp];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Try => "TRY",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
        }
    }

    /// Digits after the decimal point of the minor unit (all of ours have two).
    pub fn minor_digits(self) -> u32 {
        2
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Currency, MoneyError> {
        let code = s.trim().to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A positive amount of a currency, with at most its minor digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// No package costs a million or more: a guard against typos, and it keeps minor units in i64.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        if amount <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        if amount.normalize().scale() > currency.minor_digits() {
            return Err(MoneyError::TooPrecise);
        }
        if amount > MAX_AMOUNT {
            return Err(MoneyError::TooLarge);
        }
        let mut amount = amount;
        amount.rescale(currency.minor_digits());
        Ok(Money { amount, currency })
    }

    /// From the exact decimal string of the API (`"149.90"`) and a currency code.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, MoneyError> {
        let currency = currency.parse()?;
        let text = amount.trim();
        // Decimal::from_str accepts "1e3" and "_"; prices are plain digits with one point.
        let plain = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && text.bytes().filter(|b| *b == b'.').count() <= 1
            && !text.starts_with('.')
            && !text.ends_with('.');
        if !plain {
            return Err(MoneyError::NotADecimal(amount.to_owned()));
        }
        let value =
            Decimal::from_str(text).map_err(|_| MoneyError::NotADecimal(amount.to_owned()))?;
        Money::new(value, currency)
    }

    /// From a provider's count of minor units (Stripe's `amount_total`).
    pub fn from_minor_units(units: i64, currency: Currency) -> Result<Money, MoneyError> {
        Money::new(Decimal::new(units, currency.minor_digits()), currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (kuruş, cents), exact by construction.
    pub fn minor_units(&self) -> i64 {
        // `amount` has exactly `minor_digits` places and is below a million, so the mantissa
        // is the count of minor units and fits.
        i64::try_from(self.amount.mantissa()).unwrap_or(i64::MAX)
    }

    /// `"149.90"`: always the currency's minor digits, as the API shows prices.
    pub fn amount_string(&self) -> String {
        self.amount.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_with_the_currencys_digits() {
        let price = Money::parse("149.9", "try").unwrap();
        assert_eq!(price.amount_string(), "149.90");
        assert_eq!(price.currency(), Currency::Try);
        assert_eq!(price.minor_units(), 14990);
        assert_eq!(Money::from_minor_units(14990, Currency::Try), Ok(price));
        assert_eq!(Money::parse("5", "USD").unwrap().amount_string(), "5.00");
    }

    #[test]
    fn bad_prices_are_refused_with_the_reason() {
        assert_eq!(Money::parse("0", "USD"), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("1.005", "USD"), Err(MoneyError::TooPrecise));
        assert!(matches!(
            Money::parse("1e3", "USD"),
            Err(MoneyError::NotADecimal(_))
        ));
        assert!(matches!(
            Money::parse("-1", "USD"),
            Err(MoneyError::NotADecimal(_))
        ));
        assert!(matches!(
            Money::parse("10", "JPY"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert_eq!(Money::parse("1000000.01", "EUR"), Err(MoneyError::TooLarge));
        assert!(Money::parse("1.50", "EUR").is_ok());
    }
}
