//! Contact details every account carries: an email address and a
//! mainland China mobile number, each parsed once at the edge.

use crate::platform::error::{AppError, AppResult};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
