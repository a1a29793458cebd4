//! Alipay and WeChat Pay as the tests see them (FND-5): keys generated per
//! test run, the channels' own signatures and encryption for the
//! notifications they send, and a fake channel server on loopback that
//! checks our requests' signatures with our public key and answers signed
//! with its own, as the real gateways do. No network is needed.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use weigongbao::platform::channels::alipay::sign_content;
use weigongbao::platform::channels::keys;
use weigongbao::platform::clock::{Clock, ShiftedClock};

pub const ALIPAY_APP_ID: &str = "2021000000000001";
pub const WECHAT_APP_ID: &str = "wxd678efh567hg6787";
pub const WECHAT_MCH_ID: &str = "1230000109";
pub const WECHAT_MCH_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const WECHAT_PLATFORM_SERIAL: &str = "PUB_KEY_ID_0112345678202411260000000000";
pub const API_V3_KEY: &str = "0123456789abcdef0123456789abcdef";

/// The keys of one test run: ours (the app's / merchant's) and the
/// channel's (Alipay's / WeChat Pay's platform key).
pub struct Keys {
    pub ours: RsaPrivateKey,
    pub channel: RsaPrivateKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        Keys {
            ours: RsaPrivateKey::new(&mut rng, 2048).expect("key"),
            channel: RsaPrivateKey::new(&mut rng, 2048).expect("key"),
        }
    })
}

fn private_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
}

fn public_pem(key: &RsaPrivateKey) -> String {
    RsaPublicKey::from(key)
        .to_public_key_pem(LineEnding::LF)
        .expect("pem")
}

/// Settings that configure both channels against `base` (a fake server's
/// URL), with the keys of this run; Alipay's public key is given as the
/// bare base64 its console shows.
pub fn channel_settings(base: &str) -> Vec<(String, String)> {
    let k = keys();
    let alipay_public: String = public_pem(&k.channel)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    vec![
        ("ALIPAY_APP_ID".into(), ALIPAY_APP_ID.into()),
        ("ALIPAY_PRIVATE_KEY".into(), private_pem(&k.ours)),
        ("ALIPAY_PUBLIC_KEY".into(), alipay_public),
        ("ALIPAY_GATEWAY_URL".into(), format!("{base}/gateway.do")),
        ("WECHATPAY_APP_ID".into(), WECHAT_APP_ID.into()),
        ("WECHATPAY_MCH_ID".into(), WECHAT_MCH_ID.into()),
        ("WECHATPAY_MCH_SERIAL".into(), WECHAT_MCH_SERIAL.into()),
        ("WECHATPAY_PRIVATE_KEY".into(), private_pem(&k.ours)),
        (
            "WECHATPAY_PLATFORM_PUBLIC_KEY".into(),
            public_pem(&k.channel),
        ),
        (
            "WECHATPAY_PLATFORM_SERIAL".into(),
            WECHAT_PLATFORM_SERIAL.into(),
        ),
        ("WECHATPAY_API_V3_KEY".into(), API_V3_KEY.into()),
        ("WECHATPAY_BASE_URL".into(), base.into()),
    ]
}

/// An Alipay asynchronous notification, form-encoded and signed RSA2 by
/// "Alipay" over the sorted parameters without `sign` and `sign_type`.
pub fn alipay_notification(params: &[(&str, &str)]) -> Vec<u8> {
    let content = sign_content(params.iter().copied(), &["sign", "sign_type"]);
    let sign = keys::sign(&keys().channel, content.as_bytes());
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("sign", &sign));
    serde_urlencoded::to_string(&all)
        .expect("form")
        .into_bytes()
}

/// The documented notification of a paid APP order (the fields and values
/// of Alipay's sample), for our payment `out_trade_no`.
pub fn alipay_paid(out_trade_no: &str, amount: &str, trade_no: &str) -> Vec<u8> {
    alipay_notification(&[
        ("gmt_create", "2016-07-19 14:10:44"),
        ("charset", "utf-8"),
        ("seller_email", "zhuzhanghu@alitest.com"),
        ("subject", "微工宝账户充值"),
        ("buyer_id", "2088102116773037"),
        ("invoice_amount", amount),
        ("notify_id", "4a91b7a78a503640467525113fb7d8bg8e"),
        (
            "fund_bill_list",
            "[{\"amount\":\"2.00\",\"fundChannel\":\"ALIPAYACCOUNT\"}]",
        ),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", amount),
        ("app_id", ALIPAY_APP_ID),
        ("buyer_pay_amount", amount),
        ("sign_type", "RSA2"),
        ("seller_id", "2088102119685838"),
        ("gmt_payment", "2016-07-19 14:10:47"),
        ("notify_time", "2016-07-19 14:10:49"),
        ("version", "1.0"),
        ("out_trade_no", out_trade_no),
        ("total_amount", amount),
        ("trade_no", trade_no),
        ("auth_app_id", ALIPAY_APP_ID),
        ("buyer_logon_id", "csq***@sandbox.com"),
        ("point_amount", "0.00"),
    ])
}

/// The documented `resource` of a WeChat Pay notification, encrypted
/// AEAD_AES_256_GCM with the APIv3 key.
pub fn wechat_resource(original_type: &str, plain: &Value) -> Value {
    let cipher = Aes256Gcm::new_from_slice(API_V3_KEY.as_bytes()).expect("key");
    let nonce = format!("{:012}", common_unique() % 1_000_000_000_000);
    let aad = original_type;
    let nonce_bytes: [u8; 12] = nonce.as_bytes().try_into().expect("12 bytes");
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: plain.to_string().as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .expect("encrypt");
    json!({
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": STANDARD.encode(ct),
        "associated_data": aad,
        "nonce": nonce,
    })
}

fn common_unique() -> u64 {
    super::unique()
}

/// A WeChat Pay v3 notification (the documented envelope) and the headers
/// that sign it at `timestamp`.
pub fn wechat_notification(
    event_type: &str,
    resource: Value,
    timestamp: i64,
) -> (Vec<(String, String)>, Vec<u8>) {
    let body = json!({
        "id": "EV-2018022511223320873",
        "create_time": "2015-05-20T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": resource,
    })
    .to_string()
    .into_bytes();
    let headers = wechat_signature(&body, timestamp);
    (headers, body)
}

/// The `Wechatpay-*` headers signing `body` at `timestamp`.
pub fn wechat_signature(body: &[u8], timestamp: i64) -> Vec<(String, String)> {
    let nonce = format!("nonce{}", common_unique());
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    vec![
        ("Wechatpay-Timestamp".into(), timestamp.to_string()),
        ("Wechatpay-Nonce".into(), nonce),
        (
            "Wechatpay-Signature".into(),
            keys::sign(&keys().channel, &message),
        ),
        ("Wechatpay-Serial".into(), WECHAT_PLATFORM_SERIAL.into()),
    ]
}

/// The documented transaction of a paid order (WeChat Pay's sample), for
/// our payment.
pub fn wechat_transaction(out_trade_no: &str, total: i64, transaction_id: &str) -> Value {
    json!({
        "appid": WECHAT_APP_ID,
        "mchid": WECHAT_MCH_ID,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "trade_type": "APP",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "",
        "success_time": "2018-06-08T10:34:56+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
    })
}

/// What the fake channel server saw and what it will answer.
#[derive(Default)]
pub struct FakeState {
    /// Orders paid at the channel: our payment id → (their number, fen).
    pub paid: HashMap<String, (String, i64)>,
    /// WeChat prepay orders opened: our payment id → fen.
    pub prepaid: HashMap<String, i64>,
    /// Transfer requests received (Alipay biz_content / WeChat body).
    pub transfers: Vec<Value>,
    /// The state a WeChat transfer answers and is queried in.
    pub wechat_transfer_state: HashMap<String, String>,
    /// Requests whose signature did not verify with our public key.
    pub bad_signatures: usize,
    /// What Alipay's transfer API answers instead of SUCCESS (signed).
    pub alipay_transfer_error: Option<Value>,
    /// Every request: "METHOD path" (Alipay: the method name).
    pub log: Vec<String>,
}

/// A fake Alipay gateway and WeChat Pay API on loopback.
pub struct FakeChannel {
    pub url: String,
    pub state: Arc<Mutex<FakeState>>,
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(
    stream: &mut std::net::TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

impl FakeChannel {
    /// Starts the server; it signs its answers at `clock`'s time.
    pub fn start(clock: Arc<ShiftedClock>) -> FakeChannel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let now = clock.now().timestamp();
                let (status, headers, body) = if req.path.starts_with("/gateway.do") {
                    alipay_answer(&shared, &req)
                } else {
                    wechat_answer(&shared, &req, now)
                };
                respond(&mut stream, status, &headers, &body);
            }
        });
        FakeChannel { url, state }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }
}

/// Alipay's gateway: checks our RSA2 signature, answers signed.
fn alipay_answer(state: &Mutex<FakeState>, req: &Request) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let params: BTreeMap<String, String> =
        serde_urlencoded::from_bytes(&req.body).unwrap_or_default();
    let content = sign_content(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign"],
    );
    let ours = RsaPublicKey::from(&keys().ours);
    let method = params.get("method").cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.log.push(method.clone());
    let valid = params
        .get("sign")
        .is_some_and(|sig| keys::verify(&ours, content.as_bytes(), sig))
        && params.get("app_id").map(String::as_str) == Some(ALIPAY_APP_ID);
    let biz: Value = params
        .get("biz_content")
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let response = if !valid {
        s.bad_signatures += 1;
        json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"})
    } else {
        match method.as_str() {
            "alipay.trade.query" => {
                let id = biz["out_trade_no"].as_str().unwrap_or_default();
                match s.paid.get(id) {
                    Some((trade_no, fen)) => {
                        json!({"code": "10000", "msg": "Success", "trade_no": trade_no,
                        "out_trade_no": id, "trade_status": "TRADE_SUCCESS",
                        "total_amount": format!("{}.{:02}", fen / 100, fen % 100)})
                    }
                    None => {
                        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"})
                    }
                }
            }
            "alipay.fund.trans.uni.transfer" if s.alipay_transfer_error.is_some() => {
                s.transfers.push(biz.clone());
                s.alipay_transfer_error.clone().unwrap_or_default()
            }
            "alipay.fund.trans.uni.transfer" => {
                s.transfers.push(biz.clone());
                json!({"code": "10000", "msg": "Success", "out_biz_no": biz["out_biz_no"],
                    "order_id": format!("20261128{}", s.transfers.len()), "pay_fund_order_id": "20261128110070001506",
                    "status": "SUCCESS", "trans_date": "2026-11-28 10:00:00"})
            }
            _ => json!({"code": "40004", "msg": "Business Failed", "sub_code": "unknown method"}),
        }
    };
    let name = format!("{}_response", method.replace('.', "_"));
    let text = response.to_string();
    let sign = keys::sign(&keys().channel, text.as_bytes());
    // The signature first, as Alipay sometimes sends it.
    let body = format!("{{\"sign\":\"{sign}\",\"{name}\":{text}}}");
    (200, Vec::new(), body.into_bytes())
}

/// WeChat Pay's API: checks our `Authorization` signature, answers signed.
fn wechat_answer(
    state: &Mutex<FakeState>,
    req: &Request,
    now: i64,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let auth = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    let field = |name: &str| {
        auth.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    let mut message = format!(
        "{}\n{}\n{}\n{}\n",
        req.method,
        req.path,
        field("timestamp"),
        field("nonce_str")
    )
    .into_bytes();
    message.extend_from_slice(&req.body);
    message.push(b'\n');
    let ours = RsaPublicKey::from(&keys().ours);
    let valid = auth.starts_with("WECHATPAY2-SHA256-RSA2048 ")
        && field("mchid") == WECHAT_MCH_ID
        && field("serial_no") == WECHAT_MCH_SERIAL
        && keys::verify(&ours, &message, &field("signature"));
    let mut s = state.lock().unwrap();
    s.log.push(format!("{} {}", req.method, req.path));
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let (status, answer) = if !valid {
        s.bad_signatures += 1;
        (401, json!({"code": "SIGN_ERROR", "message": "签名错误"}))
    } else if req.method == "POST" && req.path == "/v3/pay/transactions/app" {
        let id = body["out_trade_no"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        s.prepaid
            .insert(id.clone(), body["amount"]["total"].as_i64().unwrap_or(0));
        (
            200,
            json!({"prepay_id": format!("wx{}", id.replace('-', ""))}),
        )
    } else if let Some(rest) = req.path.strip_prefix("/v3/pay/transactions/out-trade-no/") {
        let id = rest.split('?').next().unwrap_or_default();
        match (s.paid.get(id), s.prepaid.get(id)) {
            (Some((tx, fen)), _) => (200, {
                let mut t = wechat_transaction(id, *fen, tx);
                t["trade_type"] = json!("APP");
                t
            }),
            (None, Some(fen)) => (
                200,
                json!({"appid": WECHAT_APP_ID, "mchid": WECHAT_MCH_ID, "out_trade_no": id,
                "trade_state": "NOTPAY", "trade_state_desc": "订单未支付", "amount": {"total": fen}}),
            ),
            _ => (
                404,
                json!({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}),
            ),
        }
    } else if req.method == "POST" && req.path == "/v3/fund-app/mch-transfer/transfer-bills" {
        s.transfers.push(body.clone());
        let id = body["out_bill_no"].as_str().unwrap_or_default().to_string();
        let state = s
            .wechat_transfer_state
            .entry(id.clone())
            .or_insert_with(|| "WAIT_USER_CONFIRM".into())
            .clone();
        (
            200,
            json!({"out_bill_no": id, "transfer_bill_no": format!("1330000071100999991182020050700019480{}", s.transfers.len()),
            "create_time": "2026-11-28T10:00:00.000+08:00", "state": state, "package_info": "affffddafdfafddffda=="}),
        )
    } else if let Some(id) = req
        .path
        .strip_prefix("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/")
    {
        let sent = s.transfers.iter().find(|t| t["out_bill_no"] == id).cloned();
        match (sent, s.wechat_transfer_state.get(id)) {
            (Some(t), Some(state)) => (
                200,
                json!({"mch_id": WECHAT_MCH_ID, "out_bill_no": id, "transfer_bill_no": "1330000071100999991182020050700019480001",
                "appid": WECHAT_APP_ID, "state": state, "transfer_amount": t["transfer_amount"], "transfer_remark": t["transfer_remark"],
                "create_time": "2026-11-28T10:00:00.000+08:00", "update_time": "2026-11-28T10:05:00.000+08:00"}),
            ),
            _ => (404, json!({"code": "NOT_FOUND", "message": "记录不存在"})),
        }
    } else {
        (404, json!({"code": "NOT_FOUND", "message": "no such API"}))
    };
    let body = answer.to_string().into_bytes();
    let headers = wechat_signature(&body, now);
    (status, headers, body)
}
