//! The sandbox channel (development and QA): its callbacks carry
//! `X-Timestamp` (unix seconds) and `X-Signature` = hex HMAC-SHA256 with the
//! channel's secret over `"{timestamp}.{raw body}"`, the timestamp within a
//! tolerance window. The secret is generated at start, and `POST /payments/sandbox/{id}/complete` signs a
//! callback and feeds it through the same code path.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::platform::channels::{
    Ack, CallbackError, CallbackEvent, ChannelError, HeaderLookup, Order, PaymentChannel, Payout,
    Remote,
};

/// The sandbox's HMAC-signed callback protocol.
#[derive(Clone)]
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

impl SignedChannel {
    /// Checks the HMAC signature and freshness and reads the event.
    pub fn verify(
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

impl PaymentChannel for SignedChannel {
    fn name(&self) -> &'static str {
        self.name
    }

    fn pay_params(&self, order: &Order<'_>, _: Option<&str>, _: i64) -> serde_json::Value {
        serde_json::json!({
            "channel": self.name,
            "complete_url": format!("/api/v1/payments/sandbox/{}/complete", order.payment_id),
        })
    }

    fn verify_callback(
        &self,
        header: HeaderLookup<'_>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Option<CallbackEvent>, CallbackError> {
        self.verify(
            header("X-Timestamp").as_deref(),
            header("X-Signature").as_deref(),
            raw_body,
            now_unix,
        )
        .map(Some)
    }

    fn ack(&self) -> Ack {
        Ack::Json
    }

    /// Sandbox payouts wait for `POST /payments/sandbox/{id}/complete`.
    fn submit_payout(&self, _: &Payout<'_>, _: i64) -> Result<Remote, ChannelError> {
        Ok(Remote::Pending { detail: None })
    }

    fn query(&self, _: &str, _: bool, _: i64) -> Result<Remote, ChannelError> {
        Ok(Remote::Pending { detail: None })
    }
}

#[cfg(test)]
mod tests {
    use crate::platform::channels::CallbackError;
    use crate::platform::channels::sandbox::SignedChannel;

    fn channel() -> SignedChannel {
        SignedChannel::new("alipay", b"secret-secret-secret-secret-1234".to_vec(), 300)
    }

    #[test]
    fn fnd2_signature_and_window_are_checked() {
        let ch = channel();
        let body = br#"{"payment_id":"p1","event":"payment_succeeded","amount":"10.00","channel_reference":"x"}"#;
        let sig = ch.sign(1_000, body);
        assert!(ch.verify(Some("1000"), Some(&sig), body, 1_100).is_ok());
        assert_eq!(
            ch.verify(Some("1000"), Some(&sig), body, 1_400)
                .unwrap_err(),
            CallbackError::Stale
        );
        let tampered = br#"{"payment_id":"p1","event":"payment_succeeded","amount":"99.00","channel_reference":"x"}"#;
        assert_eq!(
            ch.verify(Some("1000"), Some(&sig), tampered, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        assert_eq!(
            ch.verify(Some("1001"), Some(&sig), body, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        assert_eq!(
            ch.verify(None, Some(&sig), body, 1_100).unwrap_err(),
            CallbackError::BadSignature
        );
        let other = SignedChannel::new("alipay", b"another-secret-another-secret-00".to_vec(), 300);
        assert_eq!(
            other
                .verify(Some("1000"), Some(&sig), body, 1_100)
                .unwrap_err(),
            CallbackError::BadSignature
        );
    }
}
