//! Alipay OpenAPI (支付宝开放平台), RSA2 (FND-5).
//!
//! - Every request is a set of common parameters plus a JSON `biz_content`,
//!   signed over the parameters sorted by name as `k=v&k=v` (empty values
//!   and `sign` left out) with the app's private key.
//! - The APP pay order string (`alipay.trade.app.pay`) is that set, each
//!   value URL-encoded, with the signature appended; the app passes it to
//!   the Alipay SDK unchanged.
//! - Asynchronous notifications are form-encoded; the signature covers the
//!   decoded parameters without `sign` and `sign_type` and is checked with
//!   Alipay's public key; the answer is the text `success`.
//! - Gateway answers `{"<method>_response": {...}, "sign": "..."}`; the
//!   signature covers the response object's raw JSON text.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::platform::channels::{
    Ack, CallbackError, CallbackEvent, CallbackKind, ChannelError, HeaderLookup, Order,
    PaymentChannel, Payout, Remote, fen_of, keys, yuan,
};

/// Alipay settings (`ALIPAY_*`). Its `Debug` leaves the private key out.
#[derive(Clone)]
pub struct AlipayConfig {
    pub app_id: String,
    /// The app's private key (PEM or base64 DER).
    pub private_key: String,
    /// Alipay's public key (PEM or base64 DER), from the open platform console.
    pub alipay_public_key: String,
    /// `https://openapi.alipay.com/gateway.do` (sandbox:
    /// `https://openapi-sandbox.dl.alipaydev.com/gateway.do`).
    pub gateway_url: String,
    /// Where Alipay posts notifications (`…/api/v1/payments/callbacks/alipay`).
    pub notify_url: String,
    /// Public-key-certificate mode: the app certificate's and Alipay root
    /// certificate's serial numbers (`app_cert_sn`, `alipay_root_cert_sn`),
    /// which the fund transfer API requires.
    pub app_cert_sn: Option<String>,
    pub root_cert_sn: Option<String>,
}

impl std::fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("app_id", &self.app_id)
            .field("private_key", &"<redacted>")
            .field("gateway_url", &self.gateway_url)
            .field("notify_url", &self.notify_url)
            .finish_non_exhaustive()
    }
}

/// The Alipay channel.
pub struct Alipay {
    config: AlipayConfig,
    key: RsaPrivateKey,
    alipay_key: RsaPublicKey,
    agent: ureq::Agent,
}

/// Alipay's time zone (all its timestamps are Beijing time).
fn beijing(now_unix: i64) -> String {
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    DateTime::from_timestamp(now_unix, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The text Alipay signs: parameters sorted by name, `k=v` joined by `&`,
/// without empty values and without the names in `skip`.
pub fn sign_content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    skip: &[&str],
) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !skip.contains(k))
        .collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What Java's `URLEncoder` (Alipay's SDKs) leaves as is: letters, digits
/// and `-._*`.
const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, FORM).to_string()
}

impl Alipay {
    pub fn new(config: AlipayConfig) -> Result<Alipay, String> {
        let key = keys::private_key(&config.private_key)
            .map_err(|e| format!("ALIPAY_PRIVATE_KEY: {e}"))?;
        let alipay_key = keys::public_key(&config.alipay_public_key)
            .map_err(|e| format!("ALIPAY_PUBLIC_KEY: {e}"))?;
        Ok(Alipay {
            config,
            key,
            alipay_key,
            agent: crate::platform::channels::http_agent(),
        })
    }

    /// The signed parameters of a request for `method`.
    pub fn signed_params(
        &self,
        method: &str,
        biz_content: &Value,
        with_notify: bool,
        now_unix: i64,
    ) -> BTreeMap<String, String> {
        let mut params: BTreeMap<String, String> = [
            ("app_id", self.config.app_id.clone()),
            ("method", method.to_string()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", beijing(now_unix)),
            ("version", "1.0".into()),
            ("biz_content", biz_content.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if with_notify {
            params.insert("notify_url".into(), self.config.notify_url.clone());
        }
        if let (Some(app), Some(root)) = (&self.config.app_cert_sn, &self.config.root_cert_sn) {
            params.insert("app_cert_sn".into(), app.clone());
            params.insert("alipay_root_cert_sn".into(), root.clone());
        }
        let content = sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign"],
        );
        params.insert("sign".into(), keys::sign(&self.key, content.as_bytes()));
        params
    }

    /// The APP pay order string for the Alipay SDK.
    pub fn order_string(&self, order: &Order<'_>, now_unix: i64) -> String {
        let biz = serde_json::json!({
            "out_trade_no": order.payment_id,
            "total_amount": yuan(order.amount_fen),
            "subject": order.subject,
            "product_code": "QUICK_MSECURITY_PAY",
            // Absolute: an order string fetched again later cannot be paid
            // after the order's life (the payment is then closed).
            "time_expire": beijing(order.expires_at_unix),
        });
        self.signed_params("alipay.trade.app.pay", &biz, true, now_unix)
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Calls a gateway method and returns its `*_response` object and
    /// whether Alipay signed it (only an error answer may come unsigned).
    fn call(
        &self,
        method: &str,
        biz: &Value,
        now_unix: i64,
    ) -> Result<(Value, bool), ChannelError> {
        let params = self.signed_params(method, biz, false, now_unix);
        let form = serde_urlencoded::to_string(&params)
            .map_err(|_| ChannelError("alipay: request not encodable".into()))?;
        let res = self
            .agent
            .post(&self.config.gateway_url)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .send(form.as_bytes())
            .map_err(|e| ChannelError(format!("alipay unreachable: {e}")))?;
        let status = res.status().as_u16();
        let text = res
            .into_body()
            .read_to_string()
            .map_err(|_| ChannelError(format!("alipay answered {status} unreadably")))?;
        self.verified_response(method, &text)
    }

    /// The `*_response` object of a gateway answer and whether Alipay
    /// signed it: a result only if signed; an unsigned answer is read only
    /// as an error of the request itself.
    pub fn verified_response(
        &self,
        method: &str,
        text: &str,
    ) -> Result<(Value, bool), ChannelError> {
        let name = format!("{}_response", method.replace('.', "_"));
        let parts: BTreeMap<String, &RawValue> = serde_json::from_str(text)
            .map_err(|_| ChannelError("alipay: answer is not JSON".into()))?;
        let raw = parts
            .get(&name)
            .ok_or_else(|| ChannelError(format!("alipay: answer without {name}")))?;
        let body: Value = serde_json::from_str(raw.get())
            .map_err(|_| ChannelError("alipay: malformed response".into()))?;
        let sign = parts
            .get("sign")
            .and_then(|s| serde_json::from_str::<String>(s.get()).ok());
        match sign {
            Some(sign) if keys::verify(&self.alipay_key, raw.get().as_bytes(), &sign) => {
                Ok((body, true))
            }
            // Alipay leaves errors of the request itself (a bad app id or
            // signature: code 40001/40002) unsigned.
            None if body["code"].as_str().is_some_and(|c| c != "10000") => Ok((body, false)),
            _ => Err(ChannelError("alipay: answer signature invalid".into())),
        }
    }

    /// Reads a verified notification's parameters.
    pub fn verify_notification(
        &self,
        raw_body: &[u8],
    ) -> Result<BTreeMap<String, String>, CallbackError> {
        let params: Vec<(String, String)> =
            serde_urlencoded::from_bytes(raw_body).map_err(|_| CallbackError::Malformed)?;
        let mut map = BTreeMap::new();
        for (k, v) in params {
            if map.insert(k, v).is_some() {
                return Err(CallbackError::Malformed);
            }
        }
        let sign = map.get("sign").ok_or(CallbackError::BadSignature)?;
        let content = sign_content(
            map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign", "sign_type"],
        );
        if !keys::verify(&self.alipay_key, content.as_bytes(), sign) {
            return Err(CallbackError::BadSignature);
        }
        if map.get("app_id") != Some(&self.config.app_id) {
            // Signed by Alipay, but for another app of ours or someone else's.
            return Err(CallbackError::BadSignature);
        }
        Ok(map)
    }
}

fn code_of(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

fn failure(body: &Value) -> ChannelError {
    ChannelError(format!(
        "alipay error {} {}",
        code_of(body),
        body["sub_code"].as_str().unwrap_or("")
    ))
}

impl PaymentChannel for Alipay {
    fn name(&self) -> &'static str {
        "alipay"
    }

    fn pay_params(&self, order: &Order<'_>, _: Option<&str>, now_unix: i64) -> Value {
        serde_json::json!({
            "channel": "alipay",
            "order_string": self.order_string(order, now_unix),
        })
    }

    fn verify_callback(
        &self,
        _: HeaderLookup<'_>,
        raw_body: &[u8],
        _: i64,
    ) -> Result<Option<CallbackEvent>, CallbackError> {
        let map = self.verify_notification(raw_body)?;
        let field = |k: &str| map.get(k).cloned().ok_or(CallbackError::Malformed);
        let event = match field("trade_status")?.as_str() {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => CallbackKind::PaymentSucceeded,
            "TRADE_CLOSED" => CallbackKind::PaymentFailed,
            // WAIT_BUYER_PAY and anything new: genuine, nothing to settle.
            _ => return Ok(None),
        };
        Ok(Some(CallbackEvent {
            payment_id: field("out_trade_no")?,
            event,
            amount: field("total_amount")?,
            channel_reference: field("trade_no")?,
        }))
    }

    fn ack(&self) -> Ack {
        Ack::Text("success")
    }

    fn submit_payout(&self, payout: &Payout<'_>, now_unix: i64) -> Result<Remote, ChannelError> {
        let mut payee = serde_json::json!({
            "identity": payout.identifier,
            "identity_type": "ALIPAY_LOGON_ID",
        });
        if let Some(name) = payout.real_name {
            payee["name"] = Value::from(name);
        }
        let biz = serde_json::json!({
            "out_biz_no": payout.payment_id,
            "trans_amount": yuan(payout.amount_fen),
            "product_code": "TRANS_ACCOUNT_NO_PWD",
            "biz_scene": "DIRECT_TRANSFER",
            "order_title": payout.remark,
            "payee_info": payee,
        });
        let (body, signed) = self.call("alipay.fund.trans.uni.transfer", &biz, now_unix)?;
        if code_of(&body) == "10000" && signed {
            return Ok(transfer_state(&body, payout.amount_fen));
        }
        // Only a signed refusal about the payee (no such account, name
        // mismatch, account frozen: `PAYEE_…`) is final. Anything else
        // (SYSTEM_ERROR, the merchant's balance, a timeout) leaves the
        // outcome unknown: the payout is sent again with the same
        // out_biz_no, which Alipay pays at most once.
        let sub_code = body["sub_code"].as_str().unwrap_or("");
        if signed && code_of(&body) == "40004" && sub_code.starts_with("PAYEE_") {
            return Ok(Remote::Failed { reference: None });
        }
        Err(failure(&body))
    }

    fn query(&self, payment_id: &str, payout: bool, now_unix: i64) -> Result<Remote, ChannelError> {
        if payout {
            let biz = serde_json::json!({
                "out_biz_no": payment_id,
                "product_code": "TRANS_ACCOUNT_NO_PWD",
                "biz_scene": "DIRECT_TRANSFER",
            });
            let (body, signed) = self.call("alipay.fund.trans.common.query", &biz, now_unix)?;
            return match code_of(&body) {
                "10000" if signed => {
                    let amount = body["trans_amount"].as_str().and_then(fen_of).unwrap_or(-1);
                    Ok(transfer_state(&body, amount))
                }
                "40004" if signed && body["sub_code"] == "ORDER_NOT_EXIST" => Ok(Remote::Unknown),
                _ => Err(failure(&body)),
            };
        }
        let biz = serde_json::json!({ "out_trade_no": payment_id });
        let (body, signed) = self.call("alipay.trade.query", &biz, now_unix)?;
        match code_of(&body) {
            "10000" if signed => {}
            "40004" if signed && body["sub_code"] == "ACQ.TRADE_NOT_EXIST" => {
                return Ok(Remote::Unknown);
            }
            _ => return Err(failure(&body)),
        }
        let reference = body["trade_no"].as_str().map(str::to_string);
        Ok(match body["trade_status"].as_str().unwrap_or("") {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => Remote::Succeeded {
                reference: reference.unwrap_or_default(),
                amount_fen: body["total_amount"].as_str().and_then(fen_of).unwrap_or(-1),
            },
            "TRADE_CLOSED" => Remote::Failed { reference },
            _ => Remote::Pending { detail: None },
        })
    }
}

/// A transfer's state in an answer of the transfer or its query.
fn transfer_state(body: &Value, amount_fen: i64) -> Remote {
    let reference = body["order_id"].as_str().map(str::to_string);
    match body["status"].as_str().unwrap_or("") {
        "SUCCESS" => Remote::Succeeded {
            reference: reference.unwrap_or_default(),
            amount_fen,
        },
        "FAIL" | "CLOSED" | "REFUND" => Remote::Failed { reference },
        _ => Remote::Pending { detail: None },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rsa::RsaPublicKey;
    use rsa::pkcs8::EncodePublicKey;

    use crate::platform::channels::alipay::{Alipay, AlipayConfig, sign_content};
    use crate::platform::channels::{CallbackError, CallbackKind, Order, PaymentChannel, keys};

    /// A published test key (see `testdata/README.md`) as both ours and
    /// "Alipay's", so both directions can be checked here.
    const KEY: &str = include_str!("testdata/wechatpay-go-test-key.pem");

    fn channel() -> Alipay {
        let public = RsaPublicKey::from(&keys::private_key(KEY).unwrap())
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        Alipay::new(AlipayConfig {
            app_id: "2015102700040153".into(),
            private_key: KEY.into(),
            alipay_public_key: public,
            gateway_url: "http://127.0.0.1:9/gateway.do".into(),
            notify_url: "https://example.com/notify".into(),
            app_cert_sn: None,
            root_cert_sn: None,
        })
        .unwrap()
    }

    #[test]
    fn fnd5_the_notification_sign_content_leaves_out_sign_sign_type_and_empty_values() {
        // The documented sample notification's parameters.
        let params = [
            ("total_amount", "2.00"),
            ("buyer_id", "2088102116773037"),
            ("body", "大乐透2.1"),
            ("trade_no", "2016071921001003030200089909"),
            ("refund_fee", "0.00"),
            ("notify_time", "2016-07-19 14:10:49"),
            ("subject", "大乐透2.1"),
            ("sign_type", "RSA2"),
            ("charset", "utf-8"),
            ("notify_type", "trade_status_sync"),
            ("out_trade_no", "0719141034-6418"),
            ("gmt_close", "2016-07-19 14:10:46"),
            ("gmt_payment", "2016-07-19 14:10:47"),
            ("trade_status", "TRADE_SUCCESS"),
            ("version", "1.0"),
            ("sign", "kPbQIjX+xQc8F0/A6/..."),
            ("gmt_create", "2016-07-19 14:10:44"),
            ("app_id", "2015102700040153"),
            ("seller_id", "2088102119685838"),
            ("notify_id", "4a91b7a78a503640467525113fb7d8bg8e"),
            ("passback_params", ""),
        ];
        assert_eq!(
            sign_content(params, &["sign", "sign_type"]),
            "app_id=2015102700040153&body=大乐透2.1&buyer_id=2088102116773037&charset=utf-8&gmt_close=2016-07-19 14:10:46&gmt_create=2016-07-19 14:10:44&gmt_payment=2016-07-19 14:10:47&notify_id=4a91b7a78a503640467525113fb7d8bg8e&notify_time=2016-07-19 14:10:49&notify_type=trade_status_sync&out_trade_no=0719141034-6418&refund_fee=0.00&seller_id=2088102119685838&subject=大乐透2.1&total_amount=2.00&trade_no=2016071921001003030200089909&trade_status=TRADE_SUCCESS&version=1.0"
        );
    }

    fn notification(params: &[(&str, &str)]) -> Vec<u8> {
        let key = keys::private_key(KEY).unwrap();
        let sign = keys::sign(
            &key,
            sign_content(params.iter().copied(), &["sign", "sign_type"]).as_bytes(),
        );
        let mut all = params.to_vec();
        all.push(("sign", &sign));
        serde_urlencoded::to_string(&all).unwrap().into_bytes()
    }

    #[test]
    fn fnd5_a_signed_notification_is_read_and_a_tampered_one_refused() {
        let ch = channel();
        let params = [
            ("app_id", "2015102700040153"),
            ("trade_status", "TRADE_SUCCESS"),
            ("out_trade_no", "0719141034-6418"),
            ("total_amount", "2.00"),
            ("trade_no", "2016071921001003030200089909"),
            ("sign_type", "RSA2"),
            ("subject", "大乐透2.1"),
        ];
        let none = |_: &str| None;
        let event = ch
            .verify_callback(&none, &notification(&params), 0)
            .unwrap()
            .unwrap();
        assert_eq!(event.event, CallbackKind::PaymentSucceeded);
        assert_eq!(event.payment_id, "0719141034-6418");
        assert_eq!(event.amount, "2.00");
        let tampered = String::from_utf8(notification(&params))
            .unwrap()
            .replace("total_amount=2.00", "total_amount=200.00");
        assert_eq!(
            ch.verify_callback(&none, tampered.as_bytes(), 0)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        // Signed, but for another app id.
        let mut other = params;
        other[0].1 = "2099000000000000";
        assert_eq!(
            ch.verify_callback(&none, &notification(&other), 0)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        // WAIT_BUYER_PAY: genuine, nothing to settle.
        let mut waiting = params;
        waiting[1].1 = "WAIT_BUYER_PAY";
        assert!(
            ch.verify_callback(&none, &notification(&waiting), 0)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn fnd5_the_app_order_string_carries_a_verifiable_rsa2_signature() {
        let ch = channel();
        let order = Order {
            payment_id: "0f8a3c1e-2b7d-4a51-9b1e-3c2d4e5f6a7b",
            amount_fen: 1_00,
            subject: "微工宝 账户充值",
            expires_at_unix: 1_472_127_991 + 7_200,
        };
        let text = ch.order_string(&order, 1_472_127_991);
        assert!(text.contains("method=alipay.trade.app.pay"));
        assert!(
            text.contains("timestamp=2016-08-25%2020%3A26%3A31"),
            "{text}"
        );
        let params: BTreeMap<String, String> = serde_urlencoded::from_str(&text).unwrap();
        let biz: serde_json::Value = serde_json::from_str(&params["biz_content"]).unwrap();
        assert_eq!(biz["out_trade_no"], order.payment_id);
        assert_eq!(biz["total_amount"], "1.00");
        assert_eq!(biz["product_code"], "QUICK_MSECURITY_PAY");
        assert_eq!(biz["time_expire"], "2016-08-25 22:26:31");
        assert_eq!(params["sign_type"], "RSA2");
        let content = sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign"],
        );
        let public = RsaPublicKey::from(&keys::private_key(KEY).unwrap());
        assert!(keys::verify(&public, content.as_bytes(), &params["sign"]));
    }

    #[test]
    fn fnd5_gateway_answers_are_verified_over_the_raw_response_text() {
        let ch = channel();
        let key = keys::private_key(KEY).unwrap();
        // The shape of the documented query answer, signature first.
        let raw = r#"{"code":"10000","msg":"Success","buyer_logon_id":"159****4027","out_trade_no":"020910312752381","total_amount":"0.01","trade_no":"2018020921001004160275738069","trade_status":"TRADE_SUCCESS"}"#;
        let sign = keys::sign(&key, raw.as_bytes());
        let text = format!(r#"{{"sign":"{sign}","alipay_trade_query_response":{raw}}}"#);
        let (body, signed) = ch.verified_response("alipay.trade.query", &text).unwrap();
        assert!(signed);
        assert_eq!(body["trade_status"], "TRADE_SUCCESS");
        let forged = text.replace("0.01", "9.99");
        assert!(ch.verified_response("alipay.trade.query", &forged).is_err());
        // A gateway-level refusal comes unsigned and is read as an error.
        let refused = r#"{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}"#;
        let (refusal, signed) = ch.verified_response("alipay.trade.query", refused).unwrap();
        assert_eq!((refusal["code"].as_str(), signed), (Some("40002"), false));
        // But an unsigned "success" is not believed.
        let unsigned = format!(r#"{{"alipay_trade_query_response":{raw}}}"#);
        assert!(
            ch.verified_response("alipay.trade.query", &unsigned)
                .is_err()
        );
    }
}
