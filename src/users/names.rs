//! Domain types for what a user types in, each built only through its parser.

use crate::content::fold;
use crate::error::{AppError, AppResult};

/// A member name in the ACC-4 format: 2–20 characters of Chinese characters,
/// ASCII letters, digits, `_` or `-`, not all digits. (Prohibited content is
/// checked separately, against the database word list.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberName {
    display: String,
    key: String,
}

/// The JSON Schema pattern stating [`MemberName::parse`]'s format rule.
pub const MEMBER_NAME_PATTERN: &str = r"^(?![0-9]+$)[\u4e00-\u9fa5A-Za-z0-9_-]{2,20}$";

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

impl MemberName {
    pub fn parse(raw: &str) -> AppResult<MemberName> {
        let len = raw.chars().count();
        let allowed = raw
            .chars()
            .all(|c| is_cjk(c) || c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let invalid = |zh: &'static str, en: &'static str| {
            AppError::invalid_field("member_name", "member_name.invalid", zh, en)
        };
        if !(2..=20).contains(&len) {
            return Err(invalid(
                "会员名须为 2–20 个字符",
                "The member name must be 2–20 characters",
            ));
        }
        if !allowed {
            return Err(invalid(
                "会员名只能包含汉字、字母、数字、下划线或连字符",
                "The member name may contain only Chinese characters, letters, digits, `_` or `-`",
            ));
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "会员名不能全为数字",
                "The member name cannot be all digits",
            ));
        }
        Ok(MemberName {
            display: raw.to_string(),
            key: fold(raw),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The uniqueness key: case- and width-insensitive.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// An email address, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    key: String,
}

impl Email {
    pub fn parse(raw: &str) -> AppResult<Email> {
        use validator::ValidateEmail;
        if raw.len() > 254 || !raw.validate_email() || raw.trim() != raw {
            return Err(AppError::invalid_field(
                "email",
                "email.invalid",
                "邮箱格式不正确",
                "The email address is not valid",
            ));
        }
        Ok(Email {
            display: raw.to_string(),
            key: raw.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A mainland China mobile number, stored as its 11 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

/// The JSON Schema pattern matching [`Phone::parse`].
pub const PHONE_PATTERN: &str = r"^(\+86)?1[3-9][0-9]{9}$";

impl Phone {
    pub fn parse(raw: &str) -> AppResult<Phone> {
        let digits = raw.strip_prefix("+86").unwrap_or(raw);
        let valid = digits.len() == 11
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.as_bytes()[0] == b'1'
            && (b'3'..=b'9').contains(&digits.as_bytes()[1]);
        if !valid {
            return Err(AppError::invalid_field(
                "phone",
                "phone.invalid",
                "手机号须为中国大陆 11 位手机号（可带 +86）",
                "The phone must be a mainland China mobile number (11 digits, optional +86)",
            ));
        }
        Ok(Phone(digits.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks that a field has `min..=max` characters (as its schema says).
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> AppResult<()> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        return Ok(());
    }
    Err(AppError::invalid_field(
        field,
        "text.length",
        format!("{field} 须为 {min}–{max} 个字符"),
        format!("{field} must be {min}–{max} characters"),
    ))
}

/// The JSON Schema pattern stating [`plain_text`]'s rule: no control
/// characters and at least one character that is not white space.
pub const PLAIN_TEXT_PATTERN: &str = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$";

/// Checks a free-text field: at most `max` characters, no control
/// characters, not blank; returns it trimmed.
pub fn plain_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let trimmed = value.trim();
    let bad = value.chars().count() > max
        || trimmed.is_empty()
        || value.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}');
    if bad {
        return Err(AppError::invalid_field(
            field,
            "text.invalid",
            format!("{field} 须为 1–{max} 个字符、不能为空白且不含控制字符"),
            format!("{field} must be 1–{max} characters, not blank, without control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc4_member_name_format() {
        assert!(MemberName::parse("地推达人").is_ok());
        assert!(MemberName::parse("zhang_san-01").is_ok());
        assert!(MemberName::parse("张").is_err());
        assert!(MemberName::parse(&"a".repeat(21)).is_err());
        assert!(MemberName::parse("12345").is_err());
        assert!(MemberName::parse("has space").is_err());
        assert!(MemberName::parse("ＡＢＣ").is_err());
        assert!(MemberName::parse("a@b").is_err());
    }

    #[test]
    fn acc4_member_name_key_ignores_case() {
        let a = MemberName::parse("ZhangSan").unwrap();
        let b = MemberName::parse("zhangsan").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "ZhangSan");
    }

    #[test]
    fn acc2_phone_and_email() {
        assert_eq!(
            Phone::parse("+8613800138000").unwrap().as_str(),
            "13800138000"
        );
        assert_eq!(Phone::parse("13800138000").unwrap().as_str(), "13800138000");
        assert!(Phone::parse("12800138000").is_err());
        assert!(Phone::parse("1380013800").is_err());
        assert!(Phone::parse("+8513800138000").is_err());
        assert_eq!(
            Email::parse("Li.Ming@Example.com").unwrap().key(),
            "li.ming@example.com"
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse(" a@b.cn").is_err());
    }

    #[test]
    fn plain_text_rules() {
        assert_eq!(plain_text("address", "  北京市 ", 200).unwrap(), "北京市");
        assert!(plain_text("address", "   ", 200).is_err());
        assert!(plain_text("address", "a\u{0}b", 200).is_err());
        assert!(plain_text("contact_name", &"x".repeat(51), 50).is_err());
    }
}
