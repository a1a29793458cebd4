//! Payment channels behind one trait, so the ledger never sees a channel's
//! wire format (FND-2, FND-5).
//!
//! - [`alipay::Alipay`]: Alipay OpenAPI — the APP pay order string signed
//!   RSA2, asynchronous notifications verified with Alipay's public key,
//!   payouts through the fund transfer API, order and transfer queries.
//! - [`wechatpay::Wechatpay`]: WeChat Pay API v3 — APP prepay and the signed
//!   app parameters, `WECHATPAY2-SHA256-RSA2048` request signing, callbacks
//!   verified from the `Wechatpay-*` headers and decrypted (AES-256-GCM),
//!   merchant transfers to the user's balance, order and transfer queries.
//! - [`sandbox::SignedChannel`]: the development channel, an HMAC-signed
//!   callback that `POST /payments/sandbox/{id}/complete` produces.

pub mod alipay;
pub mod keys;
pub mod registry;
pub mod sandbox;
pub mod wechatpay;

use serde::{Deserialize, Serialize};
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

/// A top-up order as the channel sees it.
#[derive(Debug, Clone, Copy)]
pub struct Order<'a> {
    /// Our payment id (`out_trade_no`).
    pub payment_id: &'a str,
    pub amount_fen: i64,
    pub subject: &'a str,
    /// When the channel stops taking payment for it (unix seconds).
    pub expires_at_unix: i64,
}

/// Where a payout goes: the Alipay login id (with the account's real name)
/// or the WeChat openid.
#[derive(Debug, Clone, Copy)]
pub struct Payout<'a> {
    /// Our payment id (`out_biz_no` / `out_bill_no`).
    pub payment_id: &'a str,
    pub amount_fen: i64,
    pub identifier: &'a str,
    pub real_name: Option<&'a str>,
    pub remark: &'a str,
}

/// What a channel says of one of our orders or transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// Paid (or paid out), with the channel's transaction number and amount.
    Succeeded { reference: String, amount_fen: i64 },
    /// Closed or refused for good.
    Failed { reference: Option<String> },
    /// Still under way at the channel; `detail` is what the channel wants
    /// shown to the user (a WeChat transfer's `package_info`), if anything.
    Pending { detail: Option<String> },
    /// The channel does not know it (never paid, or never reached it).
    Unknown,
}

/// A channel call that did not get an answer we can trust. The text names
/// the channel's error code, never keys or account identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError(pub String);

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a channel wants a callback acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// `200 text/plain` with this body (Alipay: `success`).
    Text(&'static str),
    /// `204 No Content` (WeChat Pay v3).
    NoContent,
    /// Our own JSON answer (sandbox).
    Json,
}

/// A request header by name (case-insensitive).
pub type HeaderLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One payment channel.
pub trait PaymentChannel: Send + Sync {
    fn name(&self) -> &'static str;
    /// Opens the channel's order for a top-up where the channel needs one
    /// before the app can pay (WeChat: the prepay id); the text returned is
    /// kept with the payment and handed back to [`Self::pay_params`].
    fn open_order(
        &self,
        _order: &Order<'_>,
        _now_unix: i64,
    ) -> Result<Option<String>, ChannelError> {
        Ok(None)
    }
    /// What the app hands to the channel's SDK to pay a pending top-up.
    fn pay_params(
        &self,
        order: &Order<'_>,
        channel_order: Option<&str>,
        now_unix: i64,
    ) -> serde_json::Value;
    /// Checks a callback's signature (and freshness, where the channel
    /// dates it) and reads its event; `Ok(None)`: genuine, but nothing to
    /// settle (a Alipay `WAIT_BUYER_PAY`, say).
    fn verify_callback(
        &self,
        header: HeaderLookup<'_>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Option<CallbackEvent>, CallbackError>;
    /// How a callback is acknowledged.
    fn ack(&self) -> Ack;
    /// Asks the channel to pay out (idempotent at the channel: the payment
    /// id is the transfer's own number, so a resubmission pays once).
    fn submit_payout(&self, payout: &Payout<'_>, now_unix: i64) -> Result<Remote, ChannelError>;
    /// Asks the channel where a top-up (`payout: false`) or a payout stands.
    fn query(&self, payment_id: &str, payout: bool, now_unix: i64) -> Result<Remote, ChannelError>;
}

/// A random hex nonce for the channels' signed requests.
pub fn nonce() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fen as the channels' decimal yuan text (`12.30`).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
}

/// The channels' decimal yuan text as fen; `None` unless it is a plain
/// amount with at most two decimals.
pub fn fen_of(yuan: &str) -> Option<i64> {
    let yuan = yuan.trim();
    let (whole, frac) = yuan.split_once('.').unwrap_or((yuan, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    whole.checked_mul(100)?.checked_add(frac)
}

/// A blocking HTTP agent for the channels' APIs (15 s, statuses read by
/// the caller).
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use crate::platform::channels::{fen_of, yuan};

    #[test]
    fn fnd5_yuan_text_round_trips_and_refuses_odd_amounts() {
        assert_eq!(yuan(12_30), "12.30");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(fen_of("12.3"), Some(1230));
        assert_eq!(fen_of("0.01"), Some(1));
        assert_eq!(fen_of("100"), Some(10000));
        for bad in ["", "1.234", "-1.00", "1e3", "1,00", ".5", "abc"] {
            assert_eq!(fen_of(bad), None, "{bad}");
        }
    }
}
