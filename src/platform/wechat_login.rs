//! WeChat sign-in for payees (FND-4): the app's WeChat login gives a code,
//! exchanged here for the user's openid under our app, which WeChat Pay
//! transfers pay to.

use sha2::{Digest, Sha256};

use crate::platform::config::WechatLoginSettings;

/// Why a code gave no openid.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    /// WeChat refused the code (used, expired or not ours: 40029, 40163…).
    InvalidCode,
    /// WeChat could not be asked, or answered nonsense.
    Unavailable(String),
}

/// The code exchange.
pub enum WechatLogin {
    /// Development: a stable openid derived from the code, no network.
    Development,
    Open {
        app_id: String,
        secret: String,
        base_url: String,
        agent: ureq::Agent,
    },
}

fn plausible(code: &str) -> bool {
    (1..=128).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl WechatLogin {
    pub fn new(settings: &WechatLoginSettings) -> WechatLogin {
        match settings {
            WechatLoginSettings::Development => WechatLogin::Development,
            WechatLoginSettings::Open {
                app_id,
                secret,
                base_url,
            } => WechatLogin::Open {
                app_id: app_id.clone(),
                secret: secret.clone(),
                base_url: base_url.trim_end_matches('/').to_string(),
                agent: crate::platform::channels::http_agent(),
            },
        }
    }

    /// The openid of the WeChat user who produced `code`.
    pub fn openid(&self, code: &str) -> Result<String, LoginError> {
        if !plausible(code) {
            return Err(LoginError::InvalidCode);
        }
        match self {
            WechatLogin::Development => {
                let digest = Sha256::digest(format!("wgb-dev-openid:{code}").as_bytes());
                let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
                Ok(format!("dev_{hex}"))
            }
            WechatLogin::Open {
                app_id,
                secret,
                base_url,
                agent,
            } => exchange(agent, base_url, app_id, secret, code),
        }
    }
}

fn exchange(
    agent: &ureq::Agent,
    base_url: &str,
    app_id: &str,
    secret: &str,
    code: &str,
) -> Result<String, LoginError> {
    let res = agent
        .get(format!("{base_url}/sns/oauth2/access_token"))
        .query("appid", app_id)
        .query("secret", secret)
        .query("code", code)
        .query("grant_type", "authorization_code")
        .call()
        // The URL holds the secret: only the kind of failure is told.
        .map_err(|_| LoginError::Unavailable("wechat login unreachable".into()))?;
    let body: serde_json::Value = res
        .into_body()
        .read_to_string()
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| LoginError::Unavailable("wechat login answered without JSON".into()))?;
    if let Some(openid) = body["openid"].as_str().filter(|o| !o.is_empty()) {
        return Ok(openid.to_string());
    }
    match body["errcode"].as_i64() {
        Some(40029 | 40163 | 41008 | 40030) => Err(LoginError::InvalidCode),
        Some(code) => Err(LoginError::Unavailable(format!(
            "wechat login error {code}"
        ))),
        None => Err(LoginError::Unavailable(
            "wechat login answered without openid".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::platform::wechat_login::{LoginError, WechatLogin};

    #[test]
    fn fnd4_development_openids_are_stable_and_odd_codes_refused() {
        let login = WechatLogin::Development;
        let a = login.openid("081abc").unwrap();
        assert_eq!(a, login.openid("081abc").unwrap());
        assert_ne!(a, login.openid("081abd").unwrap());
        assert_eq!(login.openid(""), Err(LoginError::InvalidCode));
        assert_eq!(login.openid("a b"), Err(LoginError::InvalidCode));
    }
}
