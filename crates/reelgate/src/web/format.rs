//! Numbers, money and dates as a reader of the page's language writes them: `1,045` and
//! `$0.40` in English, `1.045` and `₺149,90` in Turkish. Pages format through here only
//! (the templates' `credits`, `number`, `money` and `datetime` filters), so a Turkish page
//! never shows an English number.

use rust_decimal::Decimal;

use super::i18n::Locale;

struct Separators {
    group: char,
    decimal: char,
}

fn separators(lang: Locale) -> Separators {
    match lang {
        Locale::En => Separators {
            group: ',',
            decimal: '.',
        },
        Locale::Tr => Separators {
            group: '.',
            decimal: ',',
        },
    }
}

/// A whole number with its thousands grouped: `1234567` → `1,234,567` / `1.234.567`.
/// The minus is the typographic one (`−`), which does not break from its digits.
pub fn integer(n: i64, lang: Locale) -> String {
    let grouped = group(&n.unsigned_abs().to_string(), separators(lang).group);
    if n < 0 {
        format!("−{grouped}")
    } else {
        grouped
    }
}

fn group(digits: &str, separator: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// An exact number with its thousands grouped and the decimals it has: a Kie balance of
/// `998914.5` → `998,914.5` / `998.914,5`.
pub fn decimal(n: Decimal, lang: Locale) -> String {
    let seps = separators(lang);
    let text = n.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if n.is_sign_negative() && !n.is_zero() {
        out.push('−');
    }
    out.push_str(&group(whole, seps.group));
    if !fraction.is_empty() {
        out.push(seps.decimal);
        out.push_str(fraction);
    }
    out
}

/// How many decimals a currency's amounts are written with (ISO 4217 minor units).
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "ISK" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "USD" => Some("$"),
        "TRY" => Some("₺"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        _ => None,
    }
}

/// An exact amount with at least its currency's decimals (`$0.40`, never `$0.4`) and more
/// only when the amount has them (an upstream cost of `$0.275` is not rounded away), grouped
/// and in the page's language. An unknown currency is written after the amount (`12.50 CHF`).
pub fn money(amount: Decimal, currency: &str, lang: Locale) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < minor_digits(currency) {
        amount.rescale(minor_digits(currency));
    }
    let number = decimal(amount.abs(), lang);
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "−"
    } else {
        ""
    };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{number} {currency}"),
    }
}

/// A moment in UTC, as the language writes dates: `2026-11-25 16:14 UTC` / `25.11.2026 16:14 UTC`.
pub fn datetime(at: chrono::DateTime<chrono::Utc>, lang: Locale) -> String {
    let pattern = match lang {
        Locale::En => "%Y-%m-%d %H:%M UTC",
        Locale::Tr => "%d.%m.%Y %H:%M UTC",
    };
    at.format(pattern).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn integers_are_grouped_in_the_page_language() {
        assert_eq!(integer(0, Locale::En), "0");
        assert_eq!(integer(999, Locale::En), "999");
        assert_eq!(integer(1045, Locale::En), "1,045");
        assert_eq!(integer(1045, Locale::Tr), "1.045");
        assert_eq!(integer(998_914, Locale::Tr), "998.914");
        assert_eq!(integer(-1_234_567, Locale::En), "−1,234,567");
    }

    #[test]
    fn decimals_keep_their_digits_and_group() {
        assert_eq!(decimal(d("998914"), Locale::En), "998,914");
        assert_eq!(decimal(d("998914.5"), Locale::Tr), "998.914,5");
    }

    #[test]
    fn money_has_its_currency_decimals() {
        assert_eq!(money(d("0.4"), "USD", Locale::En), "$0.40");
        assert_eq!(money(d("1.2"), "USD", Locale::En), "$1.20");
        assert_eq!(money(d("0"), "USD", Locale::En), "$0.00");
        assert_eq!(money(d("0.56"), "USD", Locale::En), "$0.56");
        assert_eq!(money(d("149.90"), "TRY", Locale::Tr), "₺149,90");
        assert_eq!(money(d("1234.5"), "TRY", Locale::Tr), "₺1.234,50");
        assert_eq!(money(d("1234.5"), "EUR", Locale::En), "€1,234.50");
        assert_eq!(money(d("9.680"), "USD", Locale::Tr), "$9,68");
        assert_eq!(money(d("12.5"), "CHF", Locale::En), "12.50 CHF");
        assert_eq!(money(d("500"), "JPY", Locale::En), "500 JPY");
    }

    #[test]
    fn money_keeps_the_precision_an_amount_has() {
        assert_eq!(money(d("0.275"), "USD", Locale::En), "$0.275");
        assert_eq!(money(d("-2.5"), "USD", Locale::En), "−$2.50");
    }

    #[test]
    fn dates_follow_the_language() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T16:14:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(datetime(at, Locale::En), "2026-11-25 16:14 UTC");
        assert_eq!(datetime(at, Locale::Tr), "25.11.2026 16:14 UTC");
    }
}
