//! Domain types for what a user types in, each built only through its parser.

use crate::platform::error::{AppError, AppResult};
use crate::platform::text::fold;

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
}
