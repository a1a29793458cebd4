//! Payment channels behind one small trait, so a real Alipay or WeChat Pay
//! adapter can be added without touching the ledger (FND-2).
//!
//! The built-in adapter speaks the signed-callback protocol the issue fixes:
//! `X-Timestamp` (unix seconds) and `X-Signature` = hex HMAC-SHA256 with the
//! channel's secret over `"{timestamp}.{raw body}"`, the timestamp within a
//! tolerance window. The sandbox channel uses the same adapter with a secret
//! generated at start, and `POST /payments/sandbox/{id}/complete` signs a
//! callback and feeds it through the same code path.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// A channel's notification, after its signature was checked.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackEvent {
    /// The payment id the platform gave the channel.
    #[schema(example = "0f8a3c1e-2b7d-4a51-9b1e-3c2d4e5f6a7b")]
    pub payment_id: String,
    pub event: CallbackKind,
    /// The amount the channel moved, as a decimal string.
    #[schema(example = "100.00")]
    pub amount: String,
    /// The channel's own transaction number.
    #[schema(example = "2026112122001400001")]
    pub channel_reference: String,
}

/// What happened at the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackKind {
    /// A top-up or deposit payment was paid.
    PaymentSucceeded,
    PaymentFailed,
    /// A withdrawal was paid out.
    PayoutSucceeded,
    PayoutFailed,
}

/// Why a callback was refused before reaching the ledger.
#[derive(Debug, PartialEq, Eq)]
pub enum CallbackError {
    BadSignature,
    Stale,
    Malformed,
}

/// One payment channel.
pub trait PaymentChannel: Send + Sync {
    fn name(&self) -> &'static str;
    /// What the app needs to pay a pending payment (order string, QR…).
    fn pay_params(&self, payment_id: &str, amount: &str) -> serde_json::Value;
    /// Checks a callback's signature and freshness and reads its event.
    fn verify_callback(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<CallbackEvent, CallbackError>;
}

/// The HMAC-signed callback protocol (Alipay, WeChat Pay gateways, sandbox).
pub struct SignedChannel {
    name: &'static str,
    secret: Vec<u8>,
    tolerance_secs: i64,
}

impl SignedChannel {
    pub fn new(name: &'static str, secret: Vec<u8>, tolerance_secs: i64) -> Self {
        SignedChannel {
            name,
            secret,
            tolerance_secs,
        }
    }

    /// The signature of a body at a time (what the channel sends).
    pub fn sign(&self, timestamp: i64, raw_body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(raw_body);
        hex(&mac.finalize().into_bytes())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl PaymentChannel for SignedChannel {
    fn name(&self) -> &'static str {
        self.name
    }

    fn pay_params(&self, payment_id: &str, amount: &str) -> serde_json::Value {
        if self.name == "sandbox" {
            serde_json::json!({
                "channel": "sandbox",
                "complete_url": format!("/api/v1/payments/sandbox/{payment_id}/complete"),
            })
        } else {
            serde_json::json!({
                "channel": self.name,
                "out_trade_no": payment_id,
                "total_amount": amount,
                "subject": "微工宝账户充值",
            })
        }
    }

    fn verify_callback(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<CallbackEvent, CallbackError> {
        let ts: i64 = timestamp
            .and_then(|t| t.trim().parse().ok())
            .ok_or(CallbackError::BadSignature)?;
        let given = signature
            .and_then(|s| unhex(s.trim()))
            .ok_or(CallbackError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|_| CallbackError::BadSignature)?;
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(raw_body);
        // Constant-time comparison.
        mac.verify_slice(&given)
            .map_err(|_| CallbackError::BadSignature)?;
        if (now_unix - ts).abs() > self.tolerance_secs {
            return Err(CallbackError::Stale);
        }
        serde_json::from_slice(raw_body).map_err(|_| CallbackError::Malformed)
    }
}

/// The channels this server accepts, by name.
#[derive(Default)]
pub struct Channels {
    by_name: HashMap<&'static str, SignedChannel>,
}

impl Channels {
    pub fn insert(&mut self, channel: SignedChannel) {
        self.by_name.insert(channel.name(), channel);
    }

    pub fn get(&self, name: &str) -> Option<&SignedChannel> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> SignedChannel {
        SignedChannel::new("alipay", b"secret-secret-secret-secret-1234".to_vec(), 300)
    }

    #[test]
    fn fnd2_signature_and_window_are_checked() {
        let ch = channel();
        let body = br#"{"payment_id":"p1","event":"payment_succeeded","amount":"10.00","channel_reference":"x"}"#;
        let sig = ch.sign(1_000, body);
        assert!(
            ch.verify_callback(Some("1000"), Some(&sig), body, 1_100)
                .is_ok()
        );
        assert_eq!(
            ch.verify_callback(Some("1000"), Some(&sig), body, 1_400)
                .unwrap_err(),
            CallbackError::Stale
        );
        let tampered = br#"{"payment_id":"p1","event":"payment_succeeded","amount":"99.00","channel_reference":"x"}"#;
        assert_eq!(
            ch.verify_callback(Some("1000"), Some(&sig), tampered, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        assert_eq!(
            ch.verify_callback(Some("1001"), Some(&sig), body, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        assert_eq!(
            ch.verify_callback(None, Some(&sig), body, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        let other = SignedChannel::new("alipay", b"another-secret-another-secret-00".to_vec(), 300);
        assert_eq!(
            other
                .verify_callback(Some("1000"), Some(&sig), body, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
    }
}
