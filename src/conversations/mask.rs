//! MSG-8 (SA §4.9): before an award, contact details in a message are
//! masked to the other party, so the two sides cannot take the deal off
//! the platform to evade its fee. Masked: mainland mobile numbers (with
//! spaces or dashes inside, full-width digits too), email addresses, and
//! WeChat / QQ handles named as such (微信 wxid_abc, QQ：12345678).

use std::sync::LazyLock;

use regex_lite::Regex;
use unicode_normalization::UnicodeNormalization;

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\+?86[\s-]?)?1[3-9](?:[\s-]?\d){9}").expect("phone pattern"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
        .expect("email pattern")
});
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(微信号?|威信|薇信|v信|vx|wx|wechat|weixin|qq号?|扣扣|企鹅)\s*(?:号|id)?\s*[:：是为]?\s*[A-Za-z0-9_-]{5,30}",
    )
    .expect("handle pattern")
});

const MASK: &str = "[联系方式已隐藏]";

/// `text` with contact details replaced, and whether anything was. Text
/// is read after NFKC (full-width digits and letters count).
pub fn mask(text: &str) -> (String, bool) {
    let folded: String = text.nfkc().collect();
    let mut out = folded.clone();
    for re in [&*HANDLE, &*EMAIL, &*PHONE] {
        out = re.replace_all(&out, MASK).into_owned();
    }
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
            "手机：１３８１２３４５６７８",
            "+86 13812345678",
            "邮箱 someone@example.com",
            "加我微信 wxid_abc123",
            "vx：zhangsan88",
            "QQ 12345678",
            "扣扣是987654321",
        ] {
            let (masked, changed) = mask(text);
            assert!(changed, "{text}");
            assert!(!masked.contains("1234"), "{masked}");
            assert!(!masked.contains("example.com"), "{masked}");
            assert!(!masked.contains("wxid"), "{masked}");
            assert!(!masked.contains("zhangsan"), "{masked}");
            assert!(!masked.contains("987654321"), "{masked}");
        }
        // Ordinary numbers stay: a price, a headcount, a date.
        for text in [
            "报价 500 元，需要 12 人",
            "12月3日上午9点到场",
            "订单 20261128",
        ] {
            assert_eq!(mask(text), (text.to_string(), false));
        }
    }
}
