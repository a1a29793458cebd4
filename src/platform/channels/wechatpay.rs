//! WeChat Pay API v3 (微信支付 APIv3), FND-5.
//!
//! - Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",
//!   nonce_str="…",signature="…",timestamp="…",serial_no="…"`, the signature
//!   SHA256withRSA over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` with
//!   the merchant's private key.
//! - Answers and callbacks are signed by WeChat Pay over
//!   `TIMESTAMP\nNONCE\nBODY\n` (headers `Wechatpay-Timestamp`, `-Nonce`,
//!   `-Signature`, `-Serial`), checked with the platform public key.
//! - A callback's `resource` is AES-256-GCM encrypted with the APIv3 key
//!   (the nonce and `associated_data` as given, the tag the ciphertext's
//!   last 16 bytes).
//! - APP payments: `POST /v3/pay/transactions/app` gives a `prepay_id`; the
//!   app gets `appid`, `partnerid`, `prepayid`, `package=Sign=WXPay`,
//!   `noncestr`, `timestamp` and `sign` over
//!   `APPID\nTIMESTAMP\nNONCESTR\nPREPAYID\n`.
//! - Payouts: the merchant transfer to the user's balance
//!   (`/v3/fund-app/mch-transfer/transfer-bills`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;

use crate::platform::channels::{
    Ack, CallbackError, CallbackEvent, CallbackKind, ChannelError, HeaderLookup, Order,
    PaymentChannel, Payout, Remote, keys, nonce, yuan,
};

/// WeChat Pay settings (`WECHATPAY_*`). Its `Debug` leaves the keys out.
#[derive(Clone)]
pub struct WechatpayConfig {
    /// The mobile app's AppID on the WeChat Open Platform.
    pub app_id: String,
    pub mch_id: String,
    /// The merchant API certificate's serial number.
    pub mch_serial: String,
    /// The merchant API private key (`apiclient_key.pem`).
    pub private_key: String,
    /// WeChat Pay's public key (or platform certificate key) and its id
    /// (`PUB_KEY_ID_…` or the platform certificate serial).
    pub platform_public_key: String,
    pub platform_serial: String,
    /// The 32-byte APIv3 key.
    pub api_v3_key: Vec<u8>,
    /// `https://api.mch.weixin.qq.com`.
    pub base_url: String,
    /// Where WeChat Pay posts callbacks (`…/api/v1/payments/callbacks/wechat`).
    pub notify_url: String,
    /// The transfer scene the merchant registered (`1005`: 佣金报酬).
    pub transfer_scene_id: String,
}

impl std::fmt::Debug for WechatpayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatpayConfig")
            .field("app_id", &self.app_id)
            .field("mch_id", &self.mch_id)
            .field("private_key", &"<redacted>")
            .field("api_v3_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The WeChat Pay channel.
pub struct Wechatpay {
    config: WechatpayConfig,
    key: RsaPrivateKey,
    platform_key: RsaPublicKey,
    cipher: Aes256Gcm,
    tolerance_secs: i64,
    agent: ureq::Agent,
}

/// A signed answer or callback: its headers and body.
pub struct Signed<'a> {
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
    pub serial: Option<String>,
    pub body: &'a [u8],
}

impl Wechatpay {
    pub fn new(config: WechatpayConfig, tolerance_secs: i64) -> Result<Wechatpay, String> {
        let key = keys::private_key(&config.private_key)
            .map_err(|e| format!("WECHATPAY_PRIVATE_KEY: {e}"))?;
        let platform_key = keys::public_key(&config.platform_public_key)
            .map_err(|e| format!("WECHATPAY_PLATFORM_PUBLIC_KEY: {e}"))?;
        let cipher = Aes256Gcm::new_from_slice(&config.api_v3_key)
            .map_err(|_| "WECHATPAY_API_V3_KEY must be 32 bytes".to_string())?;
        Ok(Wechatpay {
            config,
            key,
            platform_key,
            cipher,
            tolerance_secs,
            agent: crate::platform::channels::http_agent(),
        })
    }

    /// The `Authorization` header of a request.
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
    ) -> String {
        let message = format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n");
        let signature = keys::sign(&self.key, message.as_bytes());
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.config.mch_id, self.config.mch_serial
        )
    }

    /// Checks WeChat Pay's signature over an answer or a callback.
    pub fn verify_signed(&self, signed: &Signed<'_>, now_unix: i64) -> Result<(), CallbackError> {
        let (Some(ts), Some(nonce), Some(signature)) =
            (&signed.timestamp, &signed.nonce, &signed.signature)
        else {
            return Err(CallbackError::BadSignature);
        };
        if signed.serial.as_deref() != Some(self.config.platform_serial.as_str()) {
            // Signed with a key we do not hold (a rotated certificate).
            return Err(CallbackError::BadSignature);
        }
        let mut message = Vec::with_capacity(signed.body.len() + 64);
        message.extend_from_slice(format!("{ts}\n{nonce}\n").as_bytes());
        message.extend_from_slice(signed.body);
        message.push(b'\n');
        if !keys::verify(&self.platform_key, &message, signature) {
            return Err(CallbackError::BadSignature);
        }
        let ts: i64 = ts.trim().parse().map_err(|_| CallbackError::BadSignature)?;
        if (now_unix - ts).abs() > self.tolerance_secs {
            return Err(CallbackError::Stale);
        }
        Ok(())
    }

    /// Decrypts a callback's `resource` (AEAD_AES_256_GCM).
    pub fn decrypt(&self, resource: &Value) -> Result<Value, CallbackError> {
        if resource["algorithm"] != "AEAD_AES_256_GCM" {
            return Err(CallbackError::Malformed);
        }
        let text = |k: &str| resource[k].as_str().ok_or(CallbackError::Malformed);
        let nonce: [u8; 12] = text("nonce")?
            .as_bytes()
            .try_into()
            .map_err(|_| CallbackError::Malformed)?;
        let ciphertext = STANDARD
            .decode(text("ciphertext")?)
            .map_err(|_| CallbackError::Malformed)?;
        let aad = resource["associated_data"]
            .as_str()
            .unwrap_or("")
            .as_bytes();
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad,
                },
            )
            // A wrong key or a changed byte: not from WeChat Pay.
            .map_err(|_| CallbackError::BadSignature)?;
        serde_json::from_slice(&plain).map_err(|_| CallbackError::Malformed)
    }

    /// Sends a signed request and returns the verified answer (status, JSON).
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        now_unix: i64,
    ) -> Result<(u16, Value), ChannelError> {
        let text = body.map(Value::to_string).unwrap_or_default();
        let nonce = nonce();
        let authorization = self.authorization(method, path, &text, now_unix, &nonce);
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let request = |b: ureq::RequestBuilder<ureq::typestate::WithoutBody>| {
            b.header("Authorization", &authorization)
                .header("Accept", "application/json")
        };
        let res = if method == "GET" {
            request(self.agent.get(&url)).call()
        } else {
            self.agent
                .post(&url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .send(text.as_bytes())
        }
        .map_err(|e| ChannelError(format!("wechatpay unreachable: {e}")))?;
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (timestamp, nonce, signature, serial) = (
            header("Wechatpay-Timestamp"),
            header("Wechatpay-Nonce"),
            header("Wechatpay-Signature"),
            header("Wechatpay-Serial"),
        );
        let raw = res
            .into_body()
            .read_to_string()
            .map_err(|_| ChannelError(format!("wechatpay answered {status} unreadably")))?;
        self.verify_signed(
            &Signed {
                timestamp,
                nonce,
                signature,
                serial,
                body: raw.as_bytes(),
            },
            now_unix,
        )
        .map_err(|_| ChannelError(format!("wechatpay answer {status}: signature invalid")))?;
        let json = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw)
                .map_err(|_| ChannelError(format!("wechatpay answer {status}: not JSON")))?
        };
        Ok((status, json))
    }

    /// The app's invoke parameters for a prepay id.
    pub fn app_params(&self, prepay_id: &str, now_unix: i64, noncestr: &str) -> Value {
        let message = format!(
            "{}\n{now_unix}\n{noncestr}\n{prepay_id}\n",
            self.config.app_id
        );
        serde_json::json!({
            "channel": "wechat",
            "appid": self.config.app_id,
            "partnerid": self.config.mch_id,
            "prepayid": prepay_id,
            "package": "Sign=WXPay",
            "noncestr": noncestr,
            "timestamp": now_unix.to_string(),
            "sign": keys::sign(&self.key, message.as_bytes()),
        })
    }
}

/// A time as WeChat Pay writes it (`2018-06-08T10:34:56+08:00`).
fn rfc3339_beijing(unix: i64) -> String {
    let tz = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn error_of(status: u16, body: &Value) -> ChannelError {
    ChannelError(format!(
        "wechatpay {status} {}",
        body["code"].as_str().unwrap_or("")
    ))
}

fn transfer_state(body: &Value) -> Remote {
    let reference = body["transfer_bill_no"].as_str().map(str::to_string);
    match body["state"].as_str().unwrap_or("") {
        "SUCCESS" => Remote::Succeeded {
            reference: reference.unwrap_or_default(),
            amount_fen: body["transfer_amount"].as_i64().unwrap_or(-1),
        },
        "FAIL" | "CANCELLED" => Remote::Failed { reference },
        _ => Remote::Pending {
            detail: body["package_info"].as_str().map(str::to_string),
        },
    }
}

impl PaymentChannel for Wechatpay {
    fn name(&self) -> &'static str {
        "wechat"
    }

    fn open_order(&self, order: &Order<'_>, now_unix: i64) -> Result<Option<String>, ChannelError> {
        let body = serde_json::json!({
            "appid": self.config.app_id,
            "mchid": self.config.mch_id,
            "description": order.subject,
            "out_trade_no": order.payment_id,
            "notify_url": self.config.notify_url,
            "time_expire": rfc3339_beijing(order.expires_at_unix),
            "amount": { "total": order.amount_fen, "currency": "CNY" },
        });
        let (status, answer) =
            self.send("POST", "/v3/pay/transactions/app", Some(&body), now_unix)?;
        match answer["prepay_id"].as_str() {
            Some(id) if status == 200 => Ok(Some(id.to_string())),
            _ => Err(error_of(status, &answer)),
        }
    }

    fn pay_params(&self, _: &Order<'_>, channel_order: Option<&str>, now_unix: i64) -> Value {
        match channel_order {
            Some(prepay_id) => self.app_params(prepay_id, now_unix, &nonce()),
            None => Value::Null,
        }
    }

    fn verify_callback(
        &self,
        header: HeaderLookup<'_>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Option<CallbackEvent>, CallbackError> {
        self.verify_signed(
            &Signed {
                timestamp: header("Wechatpay-Timestamp"),
                nonce: header("Wechatpay-Nonce"),
                signature: header("Wechatpay-Signature"),
                serial: header("Wechatpay-Serial"),
                body: raw_body,
            },
            now_unix,
        )?;
        let notice: Value =
            serde_json::from_slice(raw_body).map_err(|_| CallbackError::Malformed)?;
        let resource = self.decrypt(&notice["resource"])?;
        let text = |k: &str| {
            resource[k]
                .as_str()
                .map(str::to_string)
                .ok_or(CallbackError::Malformed)
        };
        match notice["event_type"].as_str().unwrap_or("") {
            t if t.starts_with("TRANSACTION.") => {
                if resource["mchid"] != self.config.mch_id.as_str()
                    || resource["appid"] != self.config.app_id.as_str()
                {
                    return Err(CallbackError::BadSignature);
                }
                let event = match text("trade_state")?.as_str() {
                    "SUCCESS" => CallbackKind::PaymentSucceeded,
                    "CLOSED" | "PAYERROR" | "REVOKED" => CallbackKind::PaymentFailed,
                    _ => return Ok(None),
                };
                let total = resource["amount"]["total"]
                    .as_i64()
                    .ok_or(CallbackError::Malformed)?;
                Ok(Some(CallbackEvent {
                    payment_id: text("out_trade_no")?,
                    event,
                    amount: yuan(total),
                    channel_reference: text("transaction_id")?,
                }))
            }
            "MCHTRANSFER.BILL.FINISHED" => {
                if resource["mch_id"] != self.config.mch_id.as_str() {
                    return Err(CallbackError::BadSignature);
                }
                let event = match text("state")?.as_str() {
                    "SUCCESS" => CallbackKind::PayoutSucceeded,
                    "FAIL" | "CANCELLED" => CallbackKind::PayoutFailed,
                    _ => return Ok(None),
                };
                let amount = resource["transfer_amount"]
                    .as_i64()
                    .ok_or(CallbackError::Malformed)?;
                Ok(Some(CallbackEvent {
                    payment_id: text("out_bill_no")?,
                    event,
                    amount: yuan(amount),
                    channel_reference: text("transfer_bill_no")?,
                }))
            }
            _ => Ok(None),
        }
    }

    fn ack(&self) -> Ack {
        Ack::NoContent
    }

    fn submit_payout(&self, payout: &Payout<'_>, now_unix: i64) -> Result<Remote, ChannelError> {
        let body = serde_json::json!({
            "appid": self.config.app_id,
            "out_bill_no": payout.payment_id,
            "transfer_scene_id": self.config.transfer_scene_id,
            "openid": payout.identifier,
            "transfer_amount": payout.amount_fen,
            "transfer_remark": payout.remark,
            "notify_url": self.config.notify_url,
            "transfer_scene_report_infos": [
                { "info_type": "岗位类型", "info_content": "地推" },
                { "info_type": "报酬说明", "info_content": "微工宝提现" },
            ],
        });
        let (status, answer) = self.send(
            "POST",
            "/v3/fund-app/mch-transfer/transfer-bills",
            Some(&body),
            now_unix,
        )?;
        match status {
            200 => {
                let mut answer = answer;
                answer["transfer_amount"] = Value::from(payout.amount_fen);
                Ok(transfer_state(&answer))
            }
            // Any refusal leaves the outcome to a later try: the transfer is
            // sent again with the same out_bill_no, which WeChat Pay pays at
            // most once (a bad openid ends as a FAIL state, not here).
            _ => Err(error_of(status, &answer)),
        }
    }

    fn query(&self, payment_id: &str, payout: bool, now_unix: i64) -> Result<Remote, ChannelError> {
        // Our ids are UUIDs; anything else is escaped (RFC 3986 unreserved
        // characters stay).
        const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let id = percent_encoding::utf8_percent_encode(payment_id, PATH);
        if payout {
            let path = format!("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{id}");
            let (status, answer) = self.send("GET", &path, None, now_unix)?;
            return match status {
                200 => Ok(transfer_state(&answer)),
                404 => Ok(Remote::Unknown),
                _ => Err(error_of(status, &answer)),
            };
        }
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{id}?mchid={}",
            self.config.mch_id
        );
        let (status, answer) = self.send("GET", &path, None, now_unix)?;
        match status {
            200 => {}
            404 => return Ok(Remote::Unknown),
            _ => return Err(error_of(status, &answer)),
        }
        let reference = answer["transaction_id"].as_str().map(str::to_string);
        Ok(match answer["trade_state"].as_str().unwrap_or("") {
            "SUCCESS" => Remote::Succeeded {
                reference: reference.unwrap_or_default(),
                amount_fen: answer["amount"]["total"].as_i64().unwrap_or(-1),
            },
            "CLOSED" | "PAYERROR" | "REVOKED" => Remote::Failed { reference },
            _ => Remote::Pending { detail: None },
        })
    }
}

#[cfg(test)]
mod tests {
    use rsa::RsaPublicKey;
    use rsa::pkcs8::EncodePublicKey;

    use crate::platform::channels::wechatpay::{Signed, Wechatpay, WechatpayConfig};
    use crate::platform::channels::{CallbackError, CallbackKind, PaymentChannel, keys};

    const SDK_KEY: &str = include_str!("testdata/wechatpay-go-test-key.pem");
    const SDK_BODY: &str = include_str!("testdata/wechatpay-go-notify-body.json");
    const SDK_SIGNATURE: &str = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q==";

    /// A channel whose platform key is the SDK's test certificate's key.
    fn channel() -> Wechatpay {
        let key = keys::private_key(SDK_KEY).unwrap();
        let public = RsaPublicKey::from(&key)
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        Wechatpay::new(
            WechatpayConfig {
                app_id: "wxd678efh567hg6787".into(),
                mch_id: "1230000109".into(),
                mch_serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
                private_key: SDK_KEY.into(),
                platform_public_key: public,
                platform_serial: "D7CE59D1F522D701".into(),
                api_v3_key: b"0123456789abcdef0123456789abcdef".to_vec(),
                base_url: "http://127.0.0.1:9".into(),
                notify_url: "https://example.com/notify".into(),
                transfer_scene_id: "1005".into(),
            },
            300,
        )
        .unwrap()
    }

    fn sdk_notice(body: &str) -> Signed<'_> {
        Signed {
            timestamp: Some("1624523846".into()),
            nonce: Some("EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz".into()),
            signature: Some(SDK_SIGNATURE.into()),
            serial: Some("D7CE59D1F522D701".into()),
            body: body.as_bytes(),
        }
    }

    #[test]
    fn fnd5_the_wechat_pay_sdk_notification_vector_verifies_and_tampering_does_not() {
        let ch = channel();
        assert_eq!(
            ch.verify_signed(&sdk_notice(SDK_BODY), 1_624_523_846 + 60),
            Ok(())
        );
        let tampered = SDK_BODY.replace("签约成功", "签约失败");
        assert_eq!(
            ch.verify_signed(&sdk_notice(&tampered), 1_624_523_846),
            Err(CallbackError::BadSignature)
        );
        // Five minutes later it is stale (WeChat Pay's own SDKs refuse it too).
        assert_eq!(
            ch.verify_signed(&sdk_notice(SDK_BODY), 1_624_523_846 + 3_600),
            Err(CallbackError::Stale)
        );
        let mut other_serial = sdk_notice(SDK_BODY);
        other_serial.serial = Some("OTHER".into());
        assert_eq!(
            ch.verify_signed(&other_serial, 1_624_523_846),
            Err(CallbackError::BadSignature)
        );
    }

    /// The documented transaction of a paid order, encrypted
    /// AEAD_AES_256_GCM (APIv3 key `0123…cdef`, nonce `abcdef012345`,
    /// associated data `transaction`) by an independent implementation
    /// (Python `cryptography`).
    const RESOURCE_CIPHERTEXT: &str = "+tSDftzuImKCesK0rpWhmWzC10iWzNC8LPx9h9BPL0Sjz6nIgIE848FD/xvT24awdcmO9rjgfFQFJkgsvyC/jLUkkSt0kVYi9awek7EZBJiOWg/DDiFl2K7ZDIx8WaTC5JMxFs1X7nAftVoCdtAvNTgogKHp/TLrGivru9bKNs77B/UKseNgsKrW1vMNGxnOHz8pnzQ9R2O3YQr7MWrconCqoysflEB6NLsdMiG3DN9Uvpfvj6Vf6aZFgj/Gj5eg6H5Il/AC4Lfry4/UZGl3q9DgXXzh3y5C/lFnSaDoovz+SVpOB3YIAYpoqnj6ffRtY7W5zJ/uKvqcO/wLwcyFBtd0wfb+86yDGgKHkUgyW2vJ5+vVEBojLmNLZaD4QOhdi8/pmI2+rpLNDLLl+HnPj4PQ4d51OQA1nkotAptDLGUbL+UuzSIjmKJR51xjPOpfxUwwhoJiayVedX9vmil9R6BA/jVPl2Bgqod3iYrbup9ybg+vcx9/UIM5GXPLm7vSNRwp6GJe1rzCRrb7Em9SHSEGeM/JMuXevZaR+MON0cvTNj7KX2gZajBlAeg74cFIIr3hpjPCK+52jg==";

    fn documented_notice() -> String {
        serde_json::json!({
            "id": "EV-2018022511223320873",
            "create_time": "2015-05-20T13:29:35+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": RESOURCE_CIPHERTEXT,
                "associated_data": "transaction",
                "nonce": "abcdef012345"
            }
        })
        .to_string()
    }

    #[test]
    fn fnd5_the_documented_transaction_notice_is_decrypted_into_a_payment_event() {
        let ch = channel();
        let body = documented_notice();
        let key = keys::private_key(SDK_KEY).unwrap();
        let ts = 1_528_425_296_i64;
        let message = format!("{ts}\nnonce-1\n{body}\n");
        let signature = keys::sign(&key, message.as_bytes());
        let header = |name: &str| match name {
            "Wechatpay-Timestamp" => Some(ts.to_string()),
            "Wechatpay-Nonce" => Some("nonce-1".to_string()),
            "Wechatpay-Signature" => Some(signature.clone()),
            "Wechatpay-Serial" => Some("D7CE59D1F522D701".to_string()),
            _ => None,
        };
        let event = ch
            .verify_callback(&header, body.as_bytes(), ts)
            .unwrap()
            .unwrap();
        assert_eq!(event.payment_id, "1217752501201407033233368018");
        assert_eq!(event.event, CallbackKind::PaymentSucceeded);
        assert_eq!(event.amount, "1.00");
        assert_eq!(event.channel_reference, "1217752501201407033233368018");
        // One changed character of the ciphertext: the tag fails.
        let resource = serde_json::json!({
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": RESOURCE_CIPHERTEXT.replacen('+', "/", 1),
            "associated_data": "transaction",
            "nonce": "abcdef012345",
        });
        assert_eq!(ch.decrypt(&resource), Err(CallbackError::BadSignature));
        let wrong_aad = serde_json::json!({
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": RESOURCE_CIPHERTEXT,
            "associated_data": "payscore",
            "nonce": "abcdef012345",
        });
        assert_eq!(ch.decrypt(&wrong_aad), Err(CallbackError::BadSignature));
    }

    #[test]
    fn fnd5_request_authorization_is_signed_over_the_documented_message() {
        let ch = channel();
        let auth = ch.authorization(
            "GET",
            "/v3/certificates",
            "",
            1_554_208_460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
        );
        assert!(auth.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1230000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\","));
        let signature = auth
            .split("signature=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap();
        let public = RsaPublicKey::from(&keys::private_key(SDK_KEY).unwrap());
        assert!(keys::verify(
            &public,
            b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
            signature
        ));
    }
}
