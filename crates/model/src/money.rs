//! Money as integer minor units (kopecks, cents) plus an ISO 4217 currency.
//!
//! DESIGN.md "Money is never a float": amounts are stored and computed as `i64` minor units. The
//! JSON API additionally shows the spec's decimal `price` (e.g. `990.00`); [`minor_from_decimal`]
//! converts such a decimal exactly or rejects it, and [`decimal_from_minor`] renders the other way.

use std::fmt;
use std::str::FromStr;

/// The currencies a plan may be priced in (DESIGN.md business rules: RUB, USD, EUR).
/// Each has two decimal places, so one major unit is 100 minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Rub,
    Usd,
    Eur,
}

crate::states::by_name!(Currency, code);

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Rub, Currency::Usd, Currency::Eur];

    /// ISO 4217 code, as stored in the database and sent to YooKassa.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Rub => "RUB",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
        }
    }

    /// The currency sign shown to people.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Rub => "₽",
            Currency::Usd => "$",
            Currency::Eur => "€",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL.into_iter().find(|c| c.code() == s).ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))
    }
}

/// Why an amount or currency was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unsupported currency {0:?}; use RUB, USD or EUR")]
    UnknownCurrency(String),
    #[error("amount {0:?} is not a decimal number with at most two decimal places")]
    NotExact(String),
    #[error("amount must not be negative")]
    Negative,
    #[error("amount is too large")]
    TooLarge,
}

/// Converts a decimal amount in major units, as written in JSON (`990`, `990.5`, `990.00`), to
/// minor units. Exact or rejected: more than two significant decimals, exponents, signs other than
/// a leading `-`, and values beyond `i64` are errors. Negative amounts are returned as negative;
/// callers that forbid them check the sign.
pub fn minor_from_decimal(text: &str) -> Result<i64, MoneyError> {
    let not_exact = || MoneyError::NotExact(text.to_owned());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_exact());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
        return Err(not_exact());
    }
    // Trailing zeros beyond two places are harmless (`990.000`); other digits are not.
    let (cents, rest) = frac.split_at(frac.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(not_exact());
    }
    let whole: i64 = whole.parse().map_err(|_| MoneyError::TooLarge)?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| not_exact())?;
    let minor = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or(MoneyError::TooLarge)?;
    Ok(if negative { -minor } else { minor })
}

/// Deserializes a whole number: a JSON integer, or a number with no fractional part (`3227.0`,
/// which JSON Schema also calls an integer) as long as it is exact (|n| ≤ 2^53). Anything else
/// (`1.5`, `1e300`, a string) is an error naming what was found.
///
/// # Errors
/// The deserializer's error for anything but such a number.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            if v.fract() == 0.0 && v.abs() <= EXACT {
                Ok(v as i64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(Whole)
}

/// [`whole_number`] for an optional field (`null` or absent: `None`; with `#[serde(default)]`).
///
/// # Errors
/// The deserializer's error for anything but `null` or a whole number.
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    <Option<Whole> as serde::Deserialize>::deserialize(deserializer).map(|w| w.map(|Whole(n)| n))
}

/// A decimal amount in major units exactly as the client wrote it: a JSON number (`990.00`) or
/// string (`"990.00"`), kept as text and never passed through a float, so that
/// [`minor_from_decimal`] can convert it exactly or refuse it (`1e3`, `9.999`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecimalText(pub String);

impl DecimalText {
    /// The amount in minor units.
    ///
    /// # Errors
    /// [`MoneyError`] for anything but a plain decimal with at most two places.
    pub fn minor(&self) -> Result<i64, MoneyError> {
        minor_from_decimal(self.0.trim())
    }
}

impl<'de> serde::Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let unquoted: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            return Ok(DecimalText(unquoted));
        }
        if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Err(serde::de::Error::custom("expected a decimal number"));
        }
        Ok(DecimalText(text.to_owned()))
    }
}

impl serde::Serialize for DecimalText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.0.clone()) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

impl From<&str> for DecimalText {
    fn from(text: &str) -> DecimalText {
        DecimalText(text.to_owned())
    }
}

/// Minor units as a decimal number in major units (`99000` → `990.0`), for the JSON `price`
/// field. Exact for every amount below 2^53 minor units, which covers any real price.
pub fn decimal_from_minor(minor: i64) -> f64 {
    minor as f64 / 100.0
}

/// Minor units as the two-decimal string YooKassa expects (`99000` → `"990.00"`).
pub fn yookassa_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_prices_convert_exactly() {
        assert_eq!(minor_from_decimal("990.00"), Ok(99_000));
        assert_eq!(minor_from_decimal("990"), Ok(99_000));
        assert_eq!(minor_from_decimal("0.5"), Ok(50));
        assert_eq!(minor_from_decimal("19.99"), Ok(1_999));
        assert_eq!(minor_from_decimal("1.100"), Ok(110));
        assert_eq!(minor_from_decimal("-5.25"), Ok(-525));
    }

    #[test]
    fn inexact_or_malformed_prices_are_rejected() {
        for bad in ["9.999", "1e3", "", ".5", "5.", "+1", "1,5", "abc", "99999999999999999999"] {
            assert!(minor_from_decimal(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(deserialize_with = "whole_number")]
            amount: i64,
        }
        let parse = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.amount);
        assert_eq!(parse(r#"{"amount": 3227}"#).unwrap(), 3227);
        assert_eq!(parse(r#"{"amount": 3227.0}"#).unwrap(), 3227);
        assert_eq!(parse(r#"{"amount": -900.0}"#).unwrap(), -900);
        assert!(parse(r#"{"amount": 1.5}"#).is_err());
        assert!(parse(r#"{"amount": 1e300}"#).is_err());
        assert!(parse(r#"{"amount": 18446744073709551615}"#).is_err());
        assert!(parse(r#"{"amount": "5"}"#).is_err());
    }

    #[test]
    fn decimal_text_keeps_what_the_client_wrote() {
        #[derive(serde::Deserialize)]
        struct Body {
            amount: DecimalText,
        }
        let parse = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.amount);
        assert_eq!(parse(r#"{"amount": 990.00}"#).unwrap().minor(), Ok(99_000));
        assert_eq!(parse(r#"{"amount": "300.5"}"#).unwrap().minor(), Ok(30_050));
        assert!(parse(r#"{"amount": 1e3}"#).unwrap().minor().is_err(), "exponents are refused, not rounded");
        assert!(parse(r#"{"amount": 0.1000000000000000055511151231257827}"#).unwrap().minor().is_err());
        assert!(parse(r#"{"amount": true}"#).is_err());
    }

    #[test]
    fn yookassa_amounts_have_two_decimals() {
        assert_eq!(yookassa_amount(99_000), "990.00");
        assert_eq!(yookassa_amount(5), "0.05");
        assert_eq!(yookassa_amount(0), "0.00");
    }

    #[test]
    fn currency_codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>(), Ok(c));
        }
        assert!("GBP".parse::<Currency>().is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

            /// Any text: an amount or an error, never a panic.
            #[test]
            fn any_text_parses_or_is_refused(text in "\\PC{0,40}") {
                let _ = minor_from_decimal(&text);
            }

            /// Decimal-looking text (the shapes clients send), including huge and long ones.
            #[test]
            fn decimal_shapes_parse_or_are_refused(text in "-?[0-9]{0,25}(\\.[0-9]{0,6})?(e[0-9]{1,3})?") {
                if let Ok(minor) = minor_from_decimal(&text) {
                    // What was accepted is exactly the written number: minor / 100 == text.
                    let negative = text.starts_with('-');
                    let unsigned = text.trim_start_matches('-');
                    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
                    let scale = 10i128.pow(frac.len() as u32);
                    let written = whole.parse::<i128>().unwrap() * scale + frac.parse::<i128>().unwrap_or(0);
                    let written = if negative { -written } else { written };
                    prop_assert_eq!(written * 100, i128::from(minor) * scale, "{} read as {}", text, minor);
                }
            }

            /// Minor units printed for YooKassa and parsed back are the same amount.
            #[test]
            fn printed_amounts_parse_back(minor in 0i64..=i64::MAX / 100) {
                prop_assert_eq!(minor_from_decimal(&yookassa_amount(minor)), Ok(minor));
            }

            /// Whole numbers in any JSON spelling: an integer or an error, never a panic.
            #[test]
            fn whole_numbers_never_panic(text in "-?[0-9]{1,30}(\\.[0-9]{1,5})?(e-?[0-9]{1,3})?") {
                #[derive(serde::Deserialize)]
                struct Body {
                    #[serde(deserialize_with = "whole_number")]
                    #[allow(dead_code)]
                    amount: i64,
                }
                let _ = serde_json::from_str::<Body>(&format!("{{\"amount\": {text}}}"));
            }
        }
    }
}
