//! Identity numbers (ACC-8): the resident ID (GB 11643) and the Unified
//! Social Credit Code (GB 32100), each built only through its parser, plus
//! the keyed hash used to look them up and the mask shown to people.

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::platform::error::{AppError, AppResult};

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The GB 11643 check character for 17 leading digits.
pub fn resident_id_check(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(ID_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    (first17.chars().count() == 17).then(|| ID_CHECK[(sum % 11) as usize] as char)
}

/// An 18-character mainland resident ID number with a valid checksum and a
/// real, past birth date.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId {
    number: String,
    birth_date: NaiveDate,
}

impl std::fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResidentId({})", mask(&self.number))
    }
}

impl ResidentId {
    /// Parses `raw` (a lowercase `x` is accepted), checking the date against `today`.
    pub fn parse(field: &str, raw: &str, today: NaiveDate) -> AppResult<ResidentId> {
        let invalid = |zh: &'static str, en: &'static str| {
            AppError::invalid_field(field, "id_number.invalid", zh, en)
        };
        let number = raw.to_ascii_uppercase();
        if number.len() != 18 || !number.is_ascii() {
            return Err(invalid(
                "身份证号须为 18 位",
                "The ID number must have 18 characters",
            ));
        }
        let (first17, check) = number.split_at(17);
        let Some(expected) = resident_id_check(first17) else {
            return Err(invalid("身份证号格式不正确", "The ID number is malformed"));
        };
        if !check.starts_with(expected) {
            return Err(invalid(
                "身份证号校验位不正确",
                "The ID number's check digit is wrong",
            ));
        }
        let birth_date = NaiveDate::parse_from_str(&first17[6..14], "%Y%m%d").map_err(|_| {
            invalid(
                "身份证号中的出生日期无效",
                "The birth date in the ID number is not a real date",
            )
        })?;
        if birth_date > today || birth_date.year() < 1900 {
            return Err(invalid(
                "身份证号中的出生日期无效",
                "The birth date in the ID number is not a real date",
            ));
        }
        Ok(ResidentId { number, birth_date })
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Full years of age on `today` (ACC-1 decides on 18).
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        years_between(self.birth_date, today)
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }
}

/// Whole years from `birth` to `on` (0 if `on` is earlier).
pub fn years_between(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [usize; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The GB 32100 check character for 17 leading characters.
pub fn credit_code_check(first17: &str) -> Option<char> {
    let mut sum = 0;
    let mut n = 0;
    for (c, w) in first17.chars().zip(USCC_WEIGHTS) {
        sum += USCC_CHARSET.find(c)? * w;
        n += 1;
    }
    (n == 17).then(|| USCC_CHARSET.as_bytes()[(31 - sum % 31) % 31] as char)
}

/// An 18-character Unified Social Credit Code with a valid checksum.
#[derive(Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl std::fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CreditCode({})", mask(&self.0))
    }
}

impl CreditCode {
    pub fn parse(field: &str, raw: &str) -> AppResult<CreditCode> {
        let invalid = |zh: &'static str, en: &'static str| {
            AppError::invalid_field(field, "credit_code.invalid", zh, en)
        };
        let code = raw.to_ascii_uppercase();
        if code.len() != 18 || !code.is_ascii() {
            return Err(invalid(
                "统一社会信用代码须为 18 位",
                "The credit code must have 18 characters",
            ));
        }
        let (first17, check) = code.split_at(17);
        match credit_code_check(first17) {
            Some(expected) if check.starts_with(expected) => Ok(CreditCode(code)),
            Some(_) => Err(invalid(
                "统一社会信用代码校验位不正确",
                "The credit code's check character is wrong",
            )),
            None => Err(invalid(
                "统一社会信用代码含有无效字符",
                "The credit code has invalid characters",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `1101**********1234`: the first and last four characters (ACC-11).
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// The keyed hash an identity is looked up by (HMAC-SHA256, hex), so the
/// number itself is never stored.
pub fn identity_hash(secret: &[u8], kind: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| {
        Hmac::<Sha256>::new_from_slice(b"hmac accepts any key length").expect("static key")
    });
    mac.update(kind.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn acc8_resident_id_real_example_and_one_digit_changed() {
        let id = ResidentId::parse("id_number", "11010519491231002X", today()).unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.age_on(today()), 76);
        assert!(ResidentId::parse("id_number", "11010519491231002x", today()).is_ok());
        let err = ResidentId::parse("id_number", "11010519491231003X", today()).unwrap_err();
        assert_eq!(err.code, "id_number.invalid");
        assert!(ResidentId::parse("id_number", "21010519491231002X", today()).is_err());
        assert!(ResidentId::parse("id_number", "1101051949123100", today()).is_err());
    }

    #[test]
    fn acc8_resident_id_birth_date_must_be_real_and_past() {
        // 1949-02-30 is not a date; the checksum is made valid to isolate the rule.
        let first17 = "11010519490230002";
        let id = format!("{first17}{}", resident_id_check(first17).unwrap());
        assert!(ResidentId::parse("id_number", &id, today()).is_err());
        let first17 = "11010520301231002";
        let future = format!("{first17}{}", resident_id_check(first17).unwrap());
        assert!(ResidentId::parse("id_number", &future, today()).is_err());
    }

    #[test]
    fn acc1_age_counts_whole_years_in_china_dates() {
        let first17 = "11010520081122002";
        let id = format!("{first17}{}", resident_id_check(first17).unwrap());
        let id = ResidentId::parse("id_number", &id, today()).unwrap();
        assert_eq!(id.age_on(today()), 17);
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()),
            18
        );
    }

    #[test]
    fn acc8_credit_code_real_example_and_one_char_changed() {
        assert!(CreditCode::parse("credit_code", "91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("credit_code", "91350100m000100y43").is_ok());
        assert!(CreditCode::parse("credit_code", "91350100M000100Y44").is_err());
        assert!(CreditCode::parse("credit_code", "91350100M000100Y4").is_err());
        // I, O, S, V, Z are not in the charset.
        assert!(CreditCode::parse("credit_code", "9135010OM000100Y43").is_err());
    }

    #[test]
    fn acc11_masks_and_hashes() {
        assert_eq!(mask("11010519491231002X"), "1101**********002X");
        assert_eq!(mask("110105194912311234"), "1101**********1234");
        let a = identity_hash(b"k1", "id", "11010519491231002X");
        assert_eq!(a.len(), 64);
        assert_ne!(a, identity_hash(b"k2", "id", "11010519491231002X"));
        assert_ne!(a, identity_hash(b"k1", "credit", "11010519491231002X"));
        let dbg = format!(
            "{:?}",
            ResidentId::parse("x", "11010519491231002X", today()).unwrap()
        );
        assert!(!dbg.contains("19491231"));
    }
}
