//! MSG-8 (SA §4.9): before an award, contact details in a message are
//! masked to the other party, so the two sides cannot take the deal off
//! the platform to evade its fee. Masked: mainland mobile numbers (spaces,
//! dots, dashes or slashes between any digits, a +86 in front, full-width
//! digits too — but not 11 digits inside a longer number), email
//! addresses, and WeChat / QQ handles named as such (微信 wxid_abc,
//! QQ号码：12345678, V：abc123).

use std::sync::LazyLock;

use regex_lite::Regex;
use unicode_normalization::UnicodeNormalization;

/// A run of digits with separators inside (the candidates for a phone
/// number; checked by [`is_mobile`]).
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?[0-9](?:[\s.\-/_·]*[0-9])*").expect("digits pattern"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
        .expect("email pattern")
});
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:微信号?|威信|薇信|v信|vx|wx|wechat|weixin|qq|扣扣|企鹅|\bv\b|\bq\b)\s*(?:号码|号|id)?\s*[:：是为]?\s*[A-Za-z0-9_-]{5,30}",
    )
    .expect("handle pattern")
});

const MASK: &str = "[联系方式已隐藏]";

/// Whether a digit run is a mainland mobile number: 11 digits `1[3-9]…`,
/// optionally after 86.
fn is_mobile(run: &str) -> bool {
    let digits: String = run.chars().filter(char::is_ascii_digit).collect();
    let national = digits
        .strip_prefix("86")
        .filter(|d| d.len() == 11)
        .unwrap_or(&digits);
    national.len() == 11
        && national.starts_with('1')
        && national
            .as_bytes()
            .get(1)
            .is_some_and(|d| (b'3'..=b'9').contains(d))
}

/// `text` with contact details replaced, and whether anything was. Text
/// is read after NFKC (full-width digits and letters count).
pub fn mask(text: &str) -> (String, bool) {
    let folded: String = text.nfkc().collect();
    let mut out = HANDLE.replace_all(&folded, MASK).into_owned();
    out = EMAIL.replace_all(&out, MASK).into_owned();
    out = DIGITS
        .replace_all(&out, |c: &regex_lite::Captures<'_>| {
            let run = &c[0];
            if is_mobile(run) {
                MASK.to_string()
            } else {
                run.to_string()
            }
        })
        .into_owned();
    if out == folded {
        (text.to_string(), false)
    } else {
        (out, true)
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn msg8_contact_details_are_masked() {
        for text in [
            "电话 13812345678 联系我",
            "打我电话138-1234-5678",
            "1 3 8 1 2 3 4 5 6 7 8",
            "138.1234.5678",
            "138/1234/5678",
            "138 - 1234 - 5678",
            "手机：１３８１２３４５６７８",
            "+86 13812345678",
            "邮箱 someone@example.com",
            "加我微信 wxid_abc123",
            "vx：zhangsan88",
            "加V：zhangsan88",
            "QQ 12345678",
            "QQ号码：12345678",
            "Q:12345678",
            "扣扣是987654321",
        ] {
            let (masked, changed) = mask(text);
            assert!(changed, "{text}");
            assert!(!masked.contains("5678"), "{masked}");
            assert!(!masked.contains("example.com"), "{masked}");
            assert!(!masked.contains("wxid"), "{masked}");
            assert!(!masked.contains("zhangsan"), "{masked}");
            assert!(!masked.contains("987654321"), "{masked}");
        }
        // Ordinary numbers stay: a price, a headcount, a date, an order
        // number that merely contains 11 phone-like digits.
        for text in [
            "报价 500 元，需要 12 人",
            "12月3日上午9点到场",
            "订单 20261128",
            "订单 2026113812345678",
            "vivo 手机拍照",
        ] {
            assert_eq!(mask(text), (text.to_string(), false), "{text}");
        }
    }
}
