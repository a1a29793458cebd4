//! The black-box harness: the real `App` over a fresh database per test
//! (a temp-file SQLite, or a fresh PostgreSQL database when
//! `TEST_POSTGRES_URL` is set), with one helper per endpoint.
#![allow(dead_code)]

pub mod channels;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_http::Request;
use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header::HeaderMap};
use actix_web::test;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use weigongbao::platform::clock::ShiftedClock;
use weigongbao::platform::config::Settings;
use weigongbao::platform::db::{self, Backend};
use weigongbao::users::models::Role;
use weigongbao::{AppState, api_doc, build_app};

pub const PASSWORD: &str = "tr0ub4dor&3";

type Call = Rc<
    dyn Fn(
        Request,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>,
    >,
>;

/// A database that exists for one test.
pub enum TestDb {
    Sqlite(tempfile::TempDir, String),
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub fn create() -> TestDb {
        match std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("wgb_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url)
                    .expect("TEST_POSTGRES_URL must reach a PostgreSQL server");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin_url.split('?').next().unwrap_or(&admin_url);
                let cut = base
                    .rfind('/')
                    .expect("TEST_POSTGRES_URL needs a database path");
                let url = format!("{}/{name}", &base[..cut]);
                TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb::Sqlite(dir, url)
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite(_, url) => url,
            TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

pub fn test_settings(db_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = [
        ("DATABASE_URL", db_url),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123"),
        ("RATE_LIMIT_REGISTER_PER_MINUTE", "100000"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "100000"),
        ("RATE_LIMIT_REFRESH_PER_MINUTE", "100000"),
        ("RATE_LIMIT_BIDS_PER_MINUTE", "100000"),
        ("RATE_LIMIT_DEMANDS_PER_MINUTE", "100000"),
        ("DB_POOL_SIZE", "8"),
        ("RATE_LIMIT_CODES_PER_MINUTE", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // FIL-2: each test's uploads in a directory of its own.
    let files =
        std::env::temp_dir().join(format!("wgb-test-files-{}", uuid::Uuid::new_v4().simple()));
    map.insert("STORAGE_DIR".into(), files.display().to_string());
    for (k, v) in overrides {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| map.get(k).cloned()).expect("test settings")
}

/// The application under test.
pub struct TestApp {
    pub call: Call,
    pub state: AppState,
    pub clock: Arc<ShiftedClock>,
    pub db: TestDb,
}

/// A response, read whole.
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Res {
    /// Whether a list answer (`{items: [...]}`) holds the item with `id`.
    pub fn lists(&self, id: &Value) -> bool {
        self.json["items"]
            .as_array()
            .expect("a list answer with items")
            .iter()
            .any(|i| &i["id"] == id)
    }

    /// The ids of a list answer's items, in order.
    #[allow(dead_code)]
    pub fn ids(&self) -> Vec<i64> {
        self.json["items"]
            .as_array()
            .expect("a list answer with items")
            .iter()
            .map(|i| i["id"].as_i64().expect("an id"))
            .collect()
    }

    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    #[track_caller]
    pub fn assert(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        self.assert(status);
        assert_eq!(self.code(), code, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type"
        );
        assert_eq!(self.json["status"], status);
        assert!(self.json["request_id"].is_string());
        self
    }
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub member_name: String,
    pub access: String,
    pub refresh: String,
    pub session_id: i64,
    /// Staff: the TOTP secret enrolled at creation (ACC-14).
    pub totp_secret: Option<String>,
}

impl Account {
    pub fn from_auth(v: &Value) -> Account {
        Account {
            id: v["user"]["id"].as_i64().expect("user id"),
            member_name: v["user"]["member_name"].as_str().unwrap_or("").to_string(),
            access: v["tokens"]["access_token"]
                .as_str()
                .expect("access")
                .to_string(),
            refresh: v["tokens"]["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_string(),
            session_id: v["tokens"]["session_id"].as_i64().expect("sid"),
            totp_secret: None,
        }
    }
}

/// A request being built.
pub struct Req<'a> {
    app: &'a TestApp,
    inner: test::TestRequest,
}

impl Req<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.inner = self
            .inner
            .insert_header(("authorization", format!("Bearer {token}")));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self
            .inner
            .insert_header((name.to_string(), value.to_string()));
        self
    }
    /// A header whose value is raw bytes (what a client sends for
    /// non-ASCII text: ISO-8859-1, or anything at all).
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let value = actix_web::http::header::HeaderValue::from_bytes(value).expect("header bytes");
        self.inner = self.inner.insert_header((name.to_string(), value));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.inner = self.inner.set_json(body);
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.inner = self
            .inner
            .insert_header(("content-type", content_type.to_string()))
            .set_payload(body.into());
        self
    }
    pub fn peer(mut self, ip: &str) -> Self {
        self.inner = self
            .inner
            .peer_addr(format!("{ip}:40000").parse().expect("ip"));
        self
    }
    pub async fn send(self) -> Res {
        let res = (self.app.call)(self.inner.to_request())
            .await
            .expect("service error");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res {
            status,
            headers,
            text,
            json,
            bytes: bytes.to_vec(),
        }
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A fresh unique number for names, emails and phones.
pub fn unique() -> u64 {
    COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_settings(&[]).await
    }

    pub async fn with_settings(overrides: &[(&str, &str)]) -> TestApp {
        Self::with_clock(overrides, Arc::new(ShiftedClock::default())).await
    }

    /// The app with Alipay and WeChat Pay configured against a fake
    /// channel server (FND-5), plus `overrides`.
    pub async fn with_channels(overrides: &[(&str, &str)]) -> (TestApp, channels::FakeChannel) {
        let clock = Arc::new(ShiftedClock::default());
        let fake = channels::FakeChannel::start(clock.clone());
        let mut settings = channels::channel_settings(&fake.url);
        settings.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let pairs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        (Self::with_clock(&pairs, clock).await, fake)
    }

    pub async fn with_clock(overrides: &[(&str, &str)], clock: Arc<ShiftedClock>) -> TestApp {
        let db = TestDb::create();
        let settings = test_settings(db.url(), overrides);
        let backend = Backend::from_url(db.url()).expect("backend");
        let pool = db::build_pool(backend.clone(), 8, Duration::from_secs(10)).expect("pool");
        db::run_migrations(&mut pool.get().expect("conn")).expect("migrations");
        let state = AppState::with_clock(settings, pool, &backend, clock.clone());
        Self::from_state(state, clock, db).await
    }

    pub async fn from_state(state: AppState, clock: Arc<ShiftedClock>, db: TestDb) -> TestApp {
        let svc = Rc::new(test::init_service(build_app(state.clone(), api_doc())).await);
        let call: Call = Rc::new(move |req| {
            let svc = svc.clone();
            Box::pin(async move { svc.call(req).await.map(|r| r.map_into_boxed_body()) })
        });
        TestApp {
            call,
            state,
            clock,
            db,
        }
    }

    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            inner: test::TestRequest::default().method(method).uri(path),
        }
    }
    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }

    /// A valid registration body with unique name, email and phone.
    pub fn registration(&self) -> Value {
        let n = unique();
        json!({
            "member_name": format!("worker_{n}"),
            "password": PASSWORD,
            "email": format!("worker{n}@example.com"),
            "phone": format!("+86139{:08}", n),
            "contact_name": "李明",
            "address": "上海市浦东新区世纪大道 100 号",
            "account_kind": "individual",
            "agreement_version": 1
        })
    }

    /// Registers with `body`, adding the phone's code from the sandbox
    /// outbox when the body has none (ACC-12).
    pub async fn register_with(&self, body: Value) -> Res {
        let body = self.with_code(body).await;
        self.post("/api/v1/auth/register").json(body).send().await
    }

    /// A registration body with the phone's code from the sandbox outbox
    /// (unless it has one).
    pub async fn with_code(&self, mut body: Value) -> Value {
        if body.get("phone_code").is_none()
            && let Some(phone) = body["phone"].as_str().map(str::to_string)
        {
            let code = self.code("sms", "register", &phone).await;
            body["phone_code"] = json!(code.unwrap_or_else(|| "000000".into()));
        }
        body
    }

    /// Runs the outbox dispatcher once, as the server's dispatcher does.
    pub async fn dispatch(&self) -> weigongbao::platform::delivery::DispatchReport {
        let state = self.state.clone();
        actix_web::web::block(move || weigongbao::platform::delivery::dispatch_once(&state))
            .await
            .expect("blocking")
            .expect("dispatch")
    }

    /// What the development senders sent to `recipient`, newest first.
    pub async fn sandbox_outbox(&self, recipient: &str) -> Vec<Value> {
        self.dispatch().await;
        let res = self
            .get(&format!(
                "/api/v1/sandbox/outbox?recipient={}",
                percent_encode(recipient)
            ))
            .send()
            .await;
        res.assert(200);
        res.json.as_array().cloned().unwrap_or_default()
    }

    /// Requests a code and reads it from the sandbox outbox; `None` when
    /// the request was refused or nothing was sent. Waits out the 60 s
    /// between codes (by moving the clock) when it must.
    pub async fn code(&self, channel: &str, purpose: &str, target: &str) -> Option<String> {
        self.code_as(None, channel, purpose, target).await
    }

    /// [`TestApp::code`] asked by a logged-in account (`change_phone` and
    /// `verify_email` need one).
    pub async fn code_as(
        &self,
        token: Option<&str>,
        channel: &str,
        purpose: &str,
        target: &str,
    ) -> Option<String> {
        let body = json!({"channel": channel, "purpose": purpose, "target": target});
        let ask = || {
            let req = self
                .post("/api/v1/auth/verification-codes")
                .json(body.clone());
            match token {
                Some(t) => req.bearer(t),
                None => req,
            }
            .send()
        };
        let mut res = ask().await;
        if res.status.as_u16() == 429 && res.json["code"] == "code.too_soon" {
            self.clock.advance(chrono::Duration::seconds(61));
            res = ask().await;
        }
        if res.status.as_u16() != 202 {
            return None;
        }
        let kind = format!("code.{purpose}");
        let sent = self.sandbox_outbox(target).await;
        let message = sent.iter().find(|m| m["kind"] == kind.as_str())?;
        let body = message["body"].as_str()?;
        let digits: String = body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6)?
            .to_string();
        Some(digits)
    }

    /// Registers a fresh user and returns it logged in.
    pub async fn user(&self) -> Account {
        let res = self.register_with(self.registration()).await;
        res.assert(201);
        Account::from_auth(&res.json)
    }

    pub async fn login(&self, login: &str, password: &str) -> Res {
        self.post("/api/v1/auth/login")
            .json(json!({"login": login, "password": password}))
            .send()
            .await
    }

    /// Creates a staff account with `role` and logs it in.
    pub async fn staff(&self, role: Role) -> Account {
        let name = format!("staff_{}", unique());
        let staff = weigongbao::users::service::NewStaff::prepare(&name, PASSWORD, role)
            .expect("a staff account");
        self.state
            .tx(move |conn, st| weigongbao::users::service::create_staff(conn, st, &staff))
            .await
            .expect("create staff");
        let res = self.login(&name, PASSWORD).await;
        res.assert(200);
        let mut account = Account::from_auth(&res.json);
        // ACC-14: the first login may only enrol; enrol and confirm.
        account.totp_secret = Some(self.enrol_totp(&account.access).await);
        account
    }

    /// Enrols TOTP for a staff session and confirms it with the current
    /// code; the secret.
    pub async fn enrol_totp(&self, access: &str) -> String {
        let res = self
            .post("/api/v1/admin/me/totp")
            .bearer(access)
            .send()
            .await;
        res.assert(201);
        let secret = res.json["secret"].as_str().unwrap().to_string();
        let code = self.totp_code(&secret);
        self.post("/api/v1/admin/me/totp/confirm")
            .bearer(access)
            .json(json!({"code": code}))
            .send()
            .await
            .assert(200);
        secret
    }

    /// The authenticator's code for `secret` at the application's time.
    pub fn totp_code(&self, secret: &str) -> String {
        weigongbao::auth::totp::code_at(secret, self.clock_now().naive_utc()).unwrap()
    }

    /// On PostgreSQL, starts the change listener of this state and waits
    /// until it listens (caches are not trusted before).
    pub async fn listening(&self) {
        if let Backend::Postgres(url) = Backend::from_url(self.db.url()).unwrap() {
            assert!(
                !self.state.watch.complete(),
                "no cache is trusted on PostgreSQL before the listener runs"
            );
            weigongbao::platform::changes::listen(&self.state.watch, url);
        }
        for _ in 0..100 {
            if self.state.watch.complete() {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the change listener did not connect");
    }

    pub async fn me(&self, token: &str) -> Res {
        self.get("/api/v1/me").bearer(token).send().await
    }
}

/// A valid resident ID number for someone `age` years old today (China
/// date), unique per call.
pub fn resident_id(age: i32) -> String {
    use chrono::Datelike;
    let n = unique();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let anniversary = today
        .with_year(today.year() - age)
        .or_else(|| (today - chrono::Duration::days(1)).with_year(today.year() - age))
        .expect("date");
    // 1–300 days before the `age`-th birthday anniversary: exactly `age` today.
    let birth = anniversary - chrono::Duration::days(1 + (n % 300) as i64);
    let first17 = format!("110105{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let check = weigongbao::verification::ids::resident_id_check(&first17).expect("check digit");
    format!("{first17}{check}")
}

/// A valid Unified Social Credit Code, unique per call.
pub fn credit_code() -> String {
    let first17 = format!("91350100M{:08}", unique());
    let check = weigongbao::verification::ids::credit_code_check(&first17).expect("check");
    format!("{first17}{check}")
}

impl TestApp {
    /// Submits a verification for `user` and has a moderator approve it.
    pub async fn verify(&self, user: &Account) -> String {
        let id = resident_id(30);
        let res = self
            .post("/api/v1/me/verification")
            .bearer(&user.access)
            .json(json!({"kind": "individual", "legal_name": "张三", "id_number": id}))
            .send()
            .await;
        res.assert(201);
        let vid = res.json["id"].as_i64().unwrap();
        let moderator = self.staff(Role::Moderator).await;
        self.post(&format!("/api/v1/admin/verifications/{vid}/approve"))
            .bearer(&moderator.access)
            .send()
            .await
            .assert(200);
        id
    }

    /// The kinds of the user's notifications, newest first.
    pub async fn notification_kinds(&self, token: &str) -> Vec<String> {
        let res = self
            .get("/api/v1/me/notifications?limit=100")
            .bearer(token)
            .send()
            .await;
        res.assert(200);
        res.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect()
    }

    /// The audit actions recorded against a target, newest first.
    pub async fn audit_actions(&self, target_type: &str, target_id: &str) -> Vec<String> {
        let admin = self.staff(Role::Admin).await;
        let res = self
            .get("/api/v1/admin/audit-log?limit=100")
            .bearer(&admin.access)
            .send()
            .await;
        res.assert(200);
        res.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target_type"] == target_type && e["target_id"] == target_id)
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    /// Runs the scheduled jobs once, as the scheduler would.
    pub async fn run_jobs(&self) -> weigongbao::flows::jobs::Report {
        let state = self.state.clone();
        actix_web::web::block(move || weigongbao::flows::jobs::run_once(&state))
            .await
            .expect("blocking")
            .expect("jobs")
    }
}

impl TestApp {
    /// The application's current time.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use weigongbao::platform::clock::Clock;
        self.clock.now()
    }
}

impl TestApp {
    /// Binds a WeChat payee for `user` (FND-4; the development sign-in
    /// exchange) and returns its id. The sandbox pays out to any payee.
    pub async fn payee(&self, user: &Account) -> i64 {
        let res = self
            .post("/api/v1/me/payee-accounts")
            .bearer(&user.access)
            .json(json!({"kind": "wechat", "code": format!("code-{}", unique())}))
            .send()
            .await;
        res.assert(201);
        res.json["id"].as_i64().unwrap()
    }

    /// A sandbox withdrawal body for `user`, to their payee (bound now if
    /// they have none).
    pub async fn withdraw_body(&self, user: &Account, amount: &str) -> Value {
        let list = self
            .get("/api/v1/me/payee-accounts")
            .bearer(&user.access)
            .send()
            .await;
        list.assert(200);
        let payee = match list.json[0]["id"].as_i64() {
            Some(id) => id,
            None => self.payee(user).await,
        };
        json!({"amount": amount, "channel": "sandbox", "payee_account_id": payee})
    }

    /// A sandbox deposit refund request body for `user`, to their payee.
    pub async fn refund_body(&self, user: &Account) -> Value {
        let mut body = self.withdraw_body(user, "0.01").await;
        body.as_object_mut().unwrap().remove("amount");
        body
    }

    /// Binds an Alipay payee in the verified name 张三 (`user` verified).
    pub async fn alipay_payee(&self, user: &Account, login: &str) -> i64 {
        let res = self
            .post("/api/v1/me/payee-accounts")
            .bearer(&user.access)
            .json(json!({"kind": "alipay", "account": login, "real_name": "张三"}))
            .send()
            .await;
        res.assert(201);
        res.json["id"].as_i64().unwrap()
    }

    /// A pending top-up (or withdrawal) request with an idempotency key.
    pub async fn money_post(&self, user: &Account, path: &str, key: &str, body: Value) -> Res {
        self.post(path)
            .bearer(&user.access)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
    }

    /// Completes a sandbox payment of `user`.
    pub async fn sandbox_complete(&self, user: &Account, payment_id: &str, succeed: bool) -> Res {
        self.post(&format!("/api/v1/payments/sandbox/{payment_id}/complete"))
            .bearer(&user.access)
            .json(json!({"succeed": succeed}))
            .send()
            .await
    }

    /// Tops `user` up by `amount` through the sandbox.
    pub async fn fund(&self, user: &Account, amount: &str) {
        let key = format!("fund-{}", unique());
        let res = self
            .money_post(
                user,
                "/api/v1/me/account/top-ups",
                &key,
                json!({"amount": amount, "channel": "sandbox"}),
            )
            .await;
        res.assert(201);
        let id = res.json["id"].as_str().unwrap().to_string();
        self.sandbox_complete(user, &id, true).await.assert(200);
    }

    /// The user's (available, held) as strings.
    pub async fn balances(&self, user: &Account) -> (String, String) {
        let res = self
            .get("/api/v1/me/account")
            .bearer(&user.access)
            .send()
            .await;
        res.assert(200);
        (
            res.json["available"].as_str().unwrap().to_string(),
            res.json["held"].as_str().unwrap().to_string(),
        )
    }

    /// The reconciliation report, read as finance staff.
    pub async fn ledger_check(&self) -> Value {
        let finance = self.staff(Role::Finance).await;
        let res = self
            .get("/api/v1/admin/ledger/check")
            .bearer(&finance.access)
            .send()
            .await;
        res.assert(200);
        res.json
    }
}

impl TestApp {
    /// A registered, verified user.
    pub async fn verified_user(&self) -> Account {
        let user = self.user().await;
        self.verify(&user).await;
        user
    }

    /// A valid demand body.
    pub fn demand_body(&self, title: &str, budget: &str, workers: i32) -> Value {
        json!({
            "title": title,
            "description": "商场门口派发传单并引导扫码注册，每天 6 小时，需拍照打卡。",
            "category": "ground_promotion",
            "region_code": "310104",
            "region_name": "上海市徐汇区",
            "budget": budget,
            "workers_wanted": workers,
            "bid_deadline": (self.clock_now() + chrono::Duration::days(3)).to_rfc3339(),
            // WRK-1: after any bidding deadline a test may set (90 days at most).
            "work": self.work_plan(31.1955, 121.4374),
        })
    }

    /// A work plan at (`lat`, `lng`): two days of 8 hours, 91 days ahead.
    pub fn work_plan(&self, lat: f64, lng: f64) -> Value {
        let start = (self.clock_now() + chrono::Duration::days(91)).date_naive();
        json!({
            "address": "徐家汇商场东门",
            "location": {"lat": lat, "lng": lng},
            "start_date": start.to_string(),
            "end_date": (start + chrono::Duration::days(1)).to_string(),
            "daily_start": "10:00",
            "daily_end": "18:00",
            "pay_unit": "per_day",
        })
    }

    /// Publishes a demand and returns its id.
    pub async fn demand(&self, owner: &Account, body: Value) -> i64 {
        let res = self
            .post("/api/v1/demands")
            .bearer(&owner.access)
            .json(body)
            .send()
            .await;
        res.assert(201);
        res.json["id"].as_i64().unwrap()
    }

    /// Places a bid and returns its id.
    pub async fn bid(&self, provider: &Account, demand: i64, price: &str) -> i64 {
        let res = self
            .post(&format!("/api/v1/demands/{demand}/bids"))
            .bearer(&provider.access)
            .json(json!({"price": price, "proposal": "三年地推经验，周末全天。"}))
            .send()
            .await;
        res.assert(201);
        res.json["id"].as_i64().unwrap()
    }
}

/// An employer and a provider with an award of 500.00 in progress between
/// them; the employer topped up 1000.00.
pub struct Deal {
    pub employer: Account,
    pub provider: Account,
    pub demand: i64,
    pub award: i64,
}

impl TestApp {
    /// Uploads `bytes` as `name` for `purpose` (FIL-1); the file's id.
    pub async fn upload_file(&self, token: &str, name: &str, bytes: &[u8], purpose: &str) -> i64 {
        let boundary = "wgb-common-upload";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--{boundary}--\r\n")
                .as_bytes(),
        );
        let res = self
            .post("/api/v1/files")
            .bearer(token)
            .raw(&format!("multipart/form-data; boundary={boundary}"), body)
            .send()
            .await;
        res.assert(201);
        res.json["id"].as_i64().expect("file id")
    }

    /// `employer` awards `provider`'s bid on `demand` (with confidentiality
    /// terms when given); the award's id.
    pub async fn award_bid(
        &self,
        employer: &Account,
        demand: i64,
        bid: i64,
        terms: Option<&str>,
    ) -> i64 {
        let mut body = json!({"bid_ids": [bid]});
        if let Some(terms) = terms {
            body["confidentiality_terms"] = json!(terms);
        }
        let res = self
            .post(&format!("/api/v1/demands/{demand}/awards"))
            .bearer(&employer.access)
            .json(body)
            .send()
            .await;
        res.assert(201);
        res.json["items"][0]["id"]
            .as_i64()
            .or_else(|| res.json[0]["id"].as_i64())
            .expect("award id")
    }

    pub async fn deal(&self) -> Deal {
        let employer = self.verified_user().await;
        let provider = self.verified_user().await;
        self.fund(&employer, "1000.00").await;
        let mut body = self.demand_body("周末地推", "800.00", 1);
        body["bid_deadline"] = json!((self.clock_now() + chrono::Duration::days(30)).to_rfc3339());
        let demand = self.demand(&employer, body).await;
        let bid = self.bid(&provider, demand, "500.00").await;
        let award = self.award_bid(&employer, demand, bid, None).await;
        Deal {
            employer,
            provider,
            demand,
            award,
        }
    }

    /// Logs the account in again (after the clock moved past its tokens).
    pub async fn relog(&self, a: &Account) -> Account {
        let mut body = json!({"login": a.member_name, "password": PASSWORD});
        if let Some(secret) = &a.totp_secret {
            body["totp_code"] = json!(self.totp_code(secret));
        }
        let res = self.post("/api/v1/auth/login").json(body).send().await;
        res.assert(200);
        let mut again = Account::from_auth(&res.json);
        again.totp_secret = a.totp_secret.clone();
        again
    }
}

impl TestApp {
    /// `PUT /admin/users/{id}/deposit/required-amount` as `staff` (DEP-4).
    pub async fn set_required(
        &self,
        staff: &Account,
        user: &Account,
        amount: &str,
        reason: &str,
    ) -> Res {
        self.req(
            Method::PUT,
            &format!("/api/v1/admin/users/{}/deposit/required-amount", user.id),
        )
        .bearer(&staff.access)
        .json(json!({"amount": amount, "reason": reason}))
        .send()
        .await
    }
}

/// Percent-encodes a query value.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
