//! Money: integer fen inside, a decimal string of yuan at the JSON edge.
//!
//! Parsing is strict: a JSON string of digits with at most two decimals,
//! positive and bounded. Numbers, negatives, exponents, three decimals and
//! blanks are refused; no float is ever involved.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::platform::error::{AppError, AppResult};

/// A positive amount in CNY, stored as fen (1/100 yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, pattern = r"^(?!0+(\.0{1,2})?$)[0-9]{1,9}(\.[0-9]{1,2})?$", example = "1000.00")]
pub struct Money(i64);

/// The largest amount one request may carry: 999,999,999.99 yuan.
pub const MAX_FEN: i64 = 99_999_999_999;

/// Why a money string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    Format,
    NotPositive,
    TooLarge,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::Format => "amount must be a string like \"1000.00\" (at most two decimals)",
            MoneyError::NotPositive => "amount must be greater than zero",
            MoneyError::TooLarge => "amount is too large",
        })
    }
}

impl Money {
    /// Parses `"1000"`, `"1000.5"` or `"1000.50"`.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !digits(int)
            || !digits(frac)
            || frac.len() > 2
            || (s.contains('.') && frac.is_empty())
        {
            return Err(MoneyError::Format);
        }
        let int = int.trim_start_matches('0');
        if int.len() > 9 {
            return Err(MoneyError::TooLarge);
        }
        let yuan: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| MoneyError::Format)?
        };
        let fen_part: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::Format)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::Format)?,
        };
        let fen = yuan * 100 + fen_part;
        if fen == 0 {
            return Err(MoneyError::NotPositive);
        }
        Money::from_fen(fen).ok_or(MoneyError::TooLarge)
    }

    /// A positive amount of fen within the bound.
    pub fn from_fen(fen: i64) -> Option<Money> {
        (1..=MAX_FEN).contains(&fen).then_some(Money(fen))
    }

    /// A stored amount read back: a value outside the bound means the row is
    /// corrupt, which is logged and answered as an internal error rather than
    /// shown as some other amount.
    pub fn from_stored(fen: i64) -> AppResult<Money> {
        Money::from_fen(fen).ok_or_else(|| {
            log::error!("stored amount out of range: {fen} fen");
            AppError::internal(format!("stored amount out of range: {fen} fen"))
        })
    }

    pub fn fen(self) -> i64 {
        self.0
    }
}

/// Formats signed fen as yuan with two decimals (`-12.30`).
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_fen(self.0))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a string like \"1000.00\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A signed amount in responses (ledger entries), e.g. `"-50.00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "-50.00")]
pub struct SignedFen(pub i64);

impl Serialize for SignedFen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_fen(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnd1_strict_parsing() {
        assert_eq!(Money::parse("1000.00").unwrap().fen(), 100_000);
        assert_eq!(Money::parse("1000").unwrap().fen(), 100_000);
        assert_eq!(Money::parse("0.5").unwrap().fen(), 50);
        assert_eq!(Money::parse("0.01").unwrap().fen(), 1);
        assert_eq!(Money::parse("007.10").unwrap().fen(), 710);
        assert_eq!(Money::parse("999999999.99").unwrap().fen(), MAX_FEN);
        for bad in [
            "", ".5", "5.", "1.234", "-1.00", "+1", "1e3", "1,000", " 1", "1 ", "0x10", "１",
        ] {
            assert_eq!(Money::parse(bad), Err(MoneyError::Format), "{bad:?}");
        }
        assert_eq!(Money::parse("0"), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("0.00"), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("1000000000"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn fnd1_json_numbers_are_refused() {
        assert!(serde_json::from_str::<Money>("100").is_err());
        assert!(serde_json::from_str::<Money>("100.5").is_err());
        assert_eq!(
            serde_json::from_str::<Money>("\"100.5\"").unwrap().fen(),
            10_050
        );
        assert_eq!(serde_json::to_string(&Money(10_050)).unwrap(), "\"100.50\"");
        assert_eq!(format_fen(-1230), "-12.30");
        assert_eq!(format_fen(0), "0.00");
    }

    proptest! {
        #[test]
        fn fnd1_format_then_parse_round_trips(fen in 1..=MAX_FEN) {
            let m = Money::from_fen(fen).unwrap();
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
        }

        #[test]
        fn fnd1_parse_then_format_is_canonical(yuan in 0u64..1_000_000_000, cents in 0u64..100, short in any::<bool>()) {
            prop_assume!(yuan > 0 || cents > 0);
            let text = if short && cents % 10 == 0 { format!("{yuan}.{}", cents / 10) } else { format!("{yuan}.{cents:02}") };
            let m = Money::parse(&text).unwrap();
            prop_assert_eq!(m.fen() as u64, yuan * 100 + cents);
            prop_assert_eq!(m.to_string(), format!("{yuan}.{cents:02}"));
        }

        #[test]
        fn fnd1_arbitrary_strings_never_panic(s in ".{0,16}") {
            if let Ok(m) = Money::parse(&s) {
                prop_assert!(m.fen() > 0 && m.fen() <= MAX_FEN);
            }
        }
    }
}
