//! Typed settings read once at start from the environment (and `.env`).
//!
//! Every key is documented in `.env.example` with its default. Settings are
//! validated here so a bad value stops the server at start, not at the first
//! request that needs it.

use std::net::SocketAddr;
use std::str::FromStr;

use base64::Engine;
use rand::RngCore;

/// Where the server runs; production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Where shared rate limits keep their counts (`RATE_LIMIT_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateStore {
    /// Each process counts alone (the one-process SQLite default).
    Memory,
    /// The `rate_limits` table: every process on the database counts
    /// together (SVC-3; the PostgreSQL default).
    Database,
    /// Redis at `REDIS_URL`: every process using it counts together (the
    /// default when `REDIS_URL` is set).
    Redis,
}

/// Requests allowed per client IP per minute for one group of endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub store: RateStore,
    /// `REDIS_URL`, for [`RateStore::Redis`].
    pub redis_url: Option<String>,
    pub register_per_minute: u32,
    pub login_per_minute: u32,
    pub refresh_per_minute: u32,
    /// Anonymous reads of public API resources (SA §3.9 scraping).
    pub anonymous_per_minute: u32,
}

/// All settings of one server process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub database_url: String,
    pub bind_addr: SocketAddr,
    /// HS256 key, at least 32 bytes.
    pub jwt_secret: Vec<u8>,
    /// True when the secret was generated at start (development only).
    pub jwt_secret_generated: bool,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub rate_limits: RateLimits,
    /// Read the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub db_pool_size: u32,
    pub db_pool_timeout_secs: u64,
    pub json_body_limit_bytes: usize,
    pub workers: usize,
    /// Password hashes computed at once (Argon2id takes ~50 ms of CPU and
    /// 19 MiB each); the rest wait without holding a connection.
    pub password_hash_concurrency: usize,
    /// How far hashing yields the CPU to requests (`PASSWORD_HASH_NICE`,
    /// the hashing threads' nice value on Linux, 0..=19; 15).
    pub password_hash_nice: i32,
    /// Live event streams (`GET /me/events`) one account may hold open at
    /// once (`EVENT_STREAMS_PER_USER`, 5; MSG-2).
    pub event_streams_per_user: usize,
    /// Anonymous discovery pages kept serialised (`PAGE_CACHE_ENTRIES`;
    /// 0 turns the cache off).
    pub page_cache_entries: usize,
    /// Optional first admin, created at start when no admin exists yet.
    pub bootstrap_admin: Option<(String, String)>,
    /// HMAC key for identity-number look-ups (ACC-8). Changing it orphans
    /// every stored identity hash, so it must stay fixed per database.
    pub identity_hash_secret: Vec<u8>,
    /// Seconds between scheduler runs inside the server; 0 turns it off.
    pub jobs_interval_secs: u64,
    /// The sandbox payment channel (default on in development, off in production).
    pub payment_sandbox_enabled: bool,
    /// The real channels, payees and staff money operations (FND-4..6).
    pub payments: PaymentSettings,
    /// How far a callback's timestamp may be from now, in seconds.
    pub callback_tolerance_secs: i64,
    /// Marketplace numbers (MKT-1, MKT-4, reviews).
    /// Origins browsers may call the API from (CORS); empty: none.
    pub cors_allowed_origins: Vec<String>,
    /// `GET /metrics` on the API address answers only this bearer token;
    /// unset, it is not served there.
    pub metrics_token: Option<String>,
    /// A separate address serving only `/metrics`, without a token (for a
    /// private network or loopback).
    pub metrics_bind_addr: Option<SocketAddr>,
    pub market: MarketSettings,
    pub conduct: ConductSettings,
    pub files: FileSettings,
    pub delivery: DeliverySettings,
}

/// Where notices and codes go out (NTF-1) and the account-security numbers
/// (ACC-12, ACC-14).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `SMS_PROVIDER=development|tencent`.
    pub sms: SmsSettings,
    /// `SMTP_URL` (e.g. `smtps://user:pass@smtp.example.com`); unset: the
    /// development sender.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`, the sender of every email.
    pub mail_from: String,
    /// `PUSH_PROVIDER=development|jpush`.
    pub push: PushSettings,
    /// `GET /sandbox/outbox` (`DELIVERY_SANDBOX_ENABLED`; default on in
    /// development, like the payment sandbox).
    pub sandbox_enabled: bool,
    /// Milliseconds between outbox dispatcher rounds (`OUTBOX_INTERVAL_MS`,
    /// 1000; 0 turns the in-server dispatcher off).
    pub outbox_interval_ms: u64,
    /// Tries before a message is a dead letter (`OUTBOX_MAX_ATTEMPTS`, 8).
    pub outbox_max_attempts: i32,
    /// First retry delay, doubled each try (`OUTBOX_RETRY_BASE_SECS`, 30).
    pub outbox_retry_base_secs: i64,
    /// Code requests per minute per IP (`RATE_LIMIT_CODES_PER_MINUTE`, 10).
    pub codes_per_minute: u32,
    /// Staff refresh-token life (`STAFF_SESSION_TTL_HOURS`, 12; ACC-14).
    pub staff_session_ttl_hours: i64,
    /// The public base URL written in emails' unsubscribe links
    /// (`PUBLIC_BASE_URL`, `http://127.0.0.1:8080`).
    pub public_base_url: String,
}

/// The SMS provider.
#[derive(Debug, Clone)]
pub enum SmsSettings {
    Development,
    /// Tencent Cloud SMS (API 3.0, TC3-HMAC-SHA256).
    Tencent {
        secret_id: String,
        secret_key: String,
        sdk_app_id: String,
        sign_name: String,
        /// Template of codes: one parameter, the code.
        code_template: String,
        /// Template of notices: one parameter, the text.
        notice_template: String,
        endpoint: String,
        region: String,
    },
}

/// The push provider.
#[derive(Debug, Clone)]
pub enum PushSettings {
    Development,
    /// JPush REST API v3.
    Jpush {
        app_key: String,
        master_secret: String,
        endpoint: String,
        apns_production: bool,
    },
}

impl DeliverySettings {
    fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        app_env: AppEnv,
    ) -> Result<Self, ConfigError> {
        let sms = sms_settings(lookup)?;
        let push = push_settings(lookup)?;
        let smtp_url = lookup("SMTP_URL");
        if let Some(url) = &smtp_url {
            lettre::SmtpTransport::from_url(url).map_err(|_| {
                ConfigError("SMTP_URL is not a valid smtp:// or smtps:// URL".into())
            })?;
        }
        // NTF-1: in production the notices the rules require must really go
        // out; the development senders only record (a staging deployment
        // opts in with DELIVERY_DEVELOPMENT_SENDERS=true).
        if app_env == AppEnv::Production
            && !parse(lookup, "DELIVERY_DEVELOPMENT_SENDERS", Some(false))?
        {
            if matches!(sms, SmsSettings::Development) {
                return Err(ConfigError(
                    "production needs SMS_PROVIDER (the development sender sends nothing)".into(),
                ));
            }
            if lookup("SMTP_URL").is_none() {
                return Err(ConfigError(
                    "production needs SMTP_URL (the development sender sends nothing)".into(),
                ));
            }
        }
        let mail_from =
            lookup("MAIL_FROM").unwrap_or_else(|| "微工宝 <no-reply@weigongbao.local>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError(
                "MAIL_FROM must be a mailbox (Name <addr@host>)".into(),
            ));
        }
        if let SmsSettings::Tencent { endpoint, .. } = &sms
            && !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        {
            return Err(ConfigError(
                "TENCENT_SMS_ENDPOINT must be an http(s) URL".into(),
            ));
        }
        Ok(DeliverySettings {
            sms,
            smtp_url,
            mail_from,
            push,
            sandbox_enabled: parse(
                lookup,
                "DELIVERY_SANDBOX_ENABLED",
                Some(app_env == AppEnv::Development),
            )?,
            outbox_interval_ms: parse_in(lookup, "OUTBOX_INTERVAL_MS", 1_000, 0..=600_000)?,
            outbox_max_attempts: parse_in(lookup, "OUTBOX_MAX_ATTEMPTS", 8, 1..=50)?,
            outbox_retry_base_secs: parse_in(lookup, "OUTBOX_RETRY_BASE_SECS", 30, 1..=86_400)?,
            codes_per_minute: parse_in(lookup, "RATE_LIMIT_CODES_PER_MINUTE", 10, 1..=10_000_000)?,
            staff_session_ttl_hours: parse_in(lookup, "STAFF_SESSION_TTL_HOURS", 12, 1..=720)?,
            public_base_url: lookup("PUBLIC_BASE_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".into())
                .trim_end_matches('/')
                .to_string(),
        })
    }
}

/// Uploads (FIL-1, FIL-2).
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// The largest file accepted (`FILE_MAX_BYTES`, 10 MiB).
    pub max_bytes: usize,
    /// Bytes one user may keep stored (`FILE_QUOTA_BYTES`, 500 MiB).
    pub quota_bytes: i64,
    /// How long a download link to the object store is valid
    /// (`FILE_LINK_TTL_SECS`, 300).
    pub link_ttl_secs: u64,
    /// Where the bytes live (`STORAGE=local|s3`).
    pub storage: crate::platform::storage::StorageSettings,
}

/// Conduct, deposit and dispute rules (VIO, DEP, DSP).
#[derive(Debug, Clone)]
pub struct ConductSettings {
    /// DEP-2: the deposit a code-of-conduct breach requires, in fen.
    pub deposit_fen: i64,
    /// DEP-2: calendar days (China time) to pay a required deposit.
    pub deposit_due_days: i64,
    /// DEP-3: calendar days (China time) to top up after the balance falls.
    pub top_up_days: i64,
    /// VIO-6: days to appeal a violation.
    pub appeal_days: i64,
    /// VIO-3: the credit score every account starts with.
    pub credit_start: i32,
    /// DEP-7: observation days after a refund request (and each extension).
    pub observation_days: i64,
    /// DEP-7: working days to pay a refund out after a clean observation.
    pub payout_working_days: i64,
    /// DEP-7: the working calendar: public holidays (`HOLIDAYS`) and
    /// make-up working days (`WORKDAYS`, 调休), China dates.
    pub calendar: crate::platform::clock::WorkCalendar,
    /// DSP-1: days the other party has to answer a dispute.
    pub dispute_response_days: i64,
    /// DSP-1: days after completion a dispute may still be opened.
    pub dispute_window_days: i64,
    /// DSP-1: days after which an undecided dispute is escalated.
    pub dispute_escalation_days: i64,
}

/// Settings of the marketplace rules.
#[derive(Debug, Clone)]
pub struct MarketSettings {
    /// Platform service fee in basis points of the award price (SA §4.10).
    pub fee_bps: i64,
    /// A delivered award not confirmed or disputed completes after this.
    pub auto_complete_days: i64,
    /// Reviews may be left this long after completion.
    pub review_window_days: i64,
    /// The latest bidding deadline a demand may set, from now.
    pub max_bid_deadline_days: i64,
    /// Per-user limits against automated flooding (MKT-7).
    pub bids_per_minute: u32,
    /// Messages one user sends per minute (`RATE_LIMIT_MESSAGES_PER_MINUTE`, 60).
    pub messages_per_minute: u32,
    pub demands_per_minute: u32,
    /// Index postings one search reads at most when every character pair
    /// of its phrase is common (`SEARCH_WINDOW`, issue 13).
    pub search_window: i64,
    /// WRK-3: a check-in farther than this from the work location is
    /// off-site (`CHECKIN_GEOFENCE_M`, metres).
    pub check_in_geofence_m: u32,
    /// MSG-5: an employer message unanswered this long during work warns
    /// the provider (`CONTACT_WARNING_HOURS`, 24) …
    pub contact_warning_hours: i64,
    /// … and this long records them unreachable (`CONTACT_UNREACHABLE_HOURS`,
    /// 48: DR's "more than two days").
    pub contact_unreachable_hours: i64,
}

fn need_for(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    what: &str,
) -> Result<String, ConfigError> {
    lookup(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError(format!("{what} needs {key}")))
}

/// `SMS_PROVIDER` and its keys (NTF-1).
fn sms_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<SmsSettings, ConfigError> {
    let need = |key: &str| need_for(lookup, key, "SMS_PROVIDER=tencent");
    Ok(match lookup("SMS_PROVIDER").as_deref() {
        None | Some("development") => SmsSettings::Development,
        Some("tencent") => SmsSettings::Tencent {
            secret_id: need("TENCENT_SMS_SECRET_ID")?,
            secret_key: need("TENCENT_SMS_SECRET_KEY")?,
            sdk_app_id: need("TENCENT_SMS_SDK_APP_ID")?,
            sign_name: need("TENCENT_SMS_SIGN_NAME")?,
            code_template: need("TENCENT_SMS_CODE_TEMPLATE_ID")?,
            notice_template: need("TENCENT_SMS_NOTICE_TEMPLATE_ID")?,
            endpoint: lookup("TENCENT_SMS_ENDPOINT")
                .unwrap_or_else(|| "https://sms.tencentcloudapi.com".into()),
            region: lookup("TENCENT_SMS_REGION").unwrap_or_else(|| "ap-guangzhou".into()),
        },
        Some(_) => {
            return Err(ConfigError(
                "SMS_PROVIDER must be development or tencent".into(),
            ));
        }
    })
}

/// `PUSH_PROVIDER` and its keys (NTF-3).
fn push_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<PushSettings, ConfigError> {
    let need = |key: &str| need_for(lookup, key, "PUSH_PROVIDER=jpush");
    Ok(match lookup("PUSH_PROVIDER").as_deref() {
        None | Some("development") => PushSettings::Development,
        Some("jpush") => PushSettings::Jpush {
            app_key: need("JPUSH_APP_KEY")?,
            master_secret: need("JPUSH_MASTER_SECRET")?,
            endpoint: lookup("JPUSH_ENDPOINT")
                .unwrap_or_else(|| "https://api.jpush.cn/v3/push".into()),
            apns_production: parse(lookup, "JPUSH_APNS_PRODUCTION", Some(true))?,
        },
        Some(_) => {
            return Err(ConfigError(
                "PUSH_PROVIDER must be development or jpush".into(),
            ));
        }
    })
}

/// A setting that cannot be used; the message names the key, never its value.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

pub const DEFAULT_DATABASE_URL: &str = "sqlite://weigongbao.db";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Used only in development when `IDENTITY_HASH_SECRET` is unset.
pub const DEV_IDENTITY_HASH_SECRET: &str = "weigongbao-development-identity-hash-key";

impl Settings {
    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `lookup` (the environment in production, a
    /// map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let app_env = app_env(&lookup)?;
        let (jwt_secret, jwt_secret_generated) = jwt_secret(&lookup, app_env)?;
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Settings {
            app_env,
            database_url: lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            bind_addr: parse(&lookup, "BIND_ADDR", DEFAULT_BIND_ADDR.parse().ok())?,
            jwt_secret,
            jwt_secret_generated,
            access_token_ttl_secs: parse_in(&lookup, "ACCESS_TOKEN_TTL_SECS", 900, 60..=86_400)?,
            refresh_token_ttl_days: parse_in(&lookup, "REFRESH_TOKEN_TTL_DAYS", 30, 1..=365)?,
            rate_limits: RateLimits::from_lookup(&lookup)?,
            trust_forwarded_for: parse(&lookup, "TRUST_FORWARDED_FOR", Some(false))?,
            db_pool_size: parse_in(&lookup, "DB_POOL_SIZE", 10, 1..=200)?,
            db_pool_timeout_secs: parse_in(&lookup, "DB_POOL_TIMEOUT_SECS", 5, 1..=120)?,
            json_body_limit_bytes: parse_in(
                &lookup,
                "JSON_BODY_LIMIT_BYTES",
                262_144,
                1_024..=10_485_760,
            )?,
            workers: parse_in(&lookup, "WORKERS", default_workers, 1..=64)?,
            password_hash_concurrency: parse_in(
                &lookup,
                "PASSWORD_HASH_CONCURRENCY",
                default_workers.saturating_sub(1).max(1),
                1..=64,
            )?,
            password_hash_nice: parse_in(&lookup, "PASSWORD_HASH_NICE", 15, 0..=19)?,
            page_cache_entries: parse_in(&lookup, "PAGE_CACHE_ENTRIES", 1_024, 0..=100_000)?,
            event_streams_per_user: parse_in(&lookup, "EVENT_STREAMS_PER_USER", 5, 1..=100)?,
            bootstrap_admin: bootstrap_admin(&lookup)?,
            identity_hash_secret: identity_hash_secret(&lookup, app_env)?,
            jobs_interval_secs: parse_in(&lookup, "JOBS_INTERVAL_SECS", 60, 0..=86_400)?,
            payment_sandbox_enabled: parse(
                &lookup,
                "PAYMENT_SANDBOX_ENABLED",
                Some(app_env == AppEnv::Development),
            )?,
            payments: PaymentSettings::from_lookup(&lookup)?,
            callback_tolerance_secs: parse_in(
                &lookup,
                "PAYMENT_CALLBACK_TOLERANCE_SECS",
                300,
                10..=3_600,
            )?,
            cors_allowed_origins: cors_origins(&lookup)?,
            metrics_token: metrics_token(&lookup)?,
            metrics_bind_addr: lookup("METRICS_BIND_ADDR")
                .map(|_| parse(&lookup, "METRICS_BIND_ADDR", None))
                .transpose()?,
            market: MarketSettings::from_lookup(&lookup)?,
            conduct: ConductSettings::from_lookup(&lookup)?,
            files: FileSettings::from_lookup(&lookup)?,
            delivery: DeliverySettings::from_lookup(&lookup, app_env)?,
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }
}

/// `METRICS_TOKEN`: at least 24 visible ASCII characters (it guards
/// operational data).
fn metrics_token(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    match lookup("METRICS_TOKEN") {
        None => Ok(None),
        Some(t) if t.len() >= 24 && t.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(t)),
        Some(_) => Err(ConfigError(
            "METRICS_TOKEN must be at least 24 visible ASCII characters".into(),
        )),
    }
}

/// How log lines are written: `text` (env_logger's default) or `json`
/// (one object per line), from `LOG_FORMAT`. Read before the other
/// settings, since the logger starts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_env() -> Result<LogFormat, ConfigError> {
        match std::env::var("LOG_FORMAT").ok().as_deref() {
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(_) => Err(ConfigError("LOG_FORMAT must be text or json".into())),
        }
    }
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated `http(s)://host[:port]` origins
/// browsers may call the API from; empty (the default) allows none.
fn cors_origins(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = lookup("CORS_ALLOWED_ORIGINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && o.is_ascii();
            ok.then(|| o.to_string()).ok_or_else(|| {
                ConfigError(
                    "CORS_ALLOWED_ORIGINS must list origins like https://app.example.com".into(),
                )
            })
        })
        .collect()
}

fn app_env(lookup: &impl Fn(&str) -> Option<String>) -> Result<AppEnv, ConfigError> {
    match lookup("APP_ENV").as_deref() {
        None | Some("development") => Ok(AppEnv::Development),
        Some("production") => Ok(AppEnv::Production),
        Some(_) => Err(ConfigError(
            "APP_ENV must be `development` or `production`".into(),
        )),
    }
}

/// The JWT key, and whether it was generated for this run (development).
fn jwt_secret(
    lookup: &impl Fn(&str) -> Option<String>,
    app_env: AppEnv,
) -> Result<(Vec<u8>, bool), ConfigError> {
    match lookup("JWT_SECRET") {
        Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => Ok((secret.into_bytes(), false)),
        Some(_) => Err(ConfigError(format!(
            "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes"
        ))),
        None if app_env == AppEnv::Production => Err(ConfigError(format!(
            "JWT_SECRET is required in production (at least {MIN_JWT_SECRET_BYTES} bytes)"
        ))),
        None => Ok((random_secret(), true)),
    }
}

fn bootstrap_admin(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, ConfigError> {
    match (
        lookup("ADMIN_BOOTSTRAP_MEMBER_NAME"),
        lookup("ADMIN_BOOTSTRAP_PASSWORD"),
    ) {
        (Some(name), Some(password)) => Ok(Some((name, password))),
        (None, None) => Ok(None),
        _ => Err(ConfigError(
            "ADMIN_BOOTSTRAP_MEMBER_NAME and ADMIN_BOOTSTRAP_PASSWORD go together".into(),
        )),
    }
}

fn identity_hash_secret(
    lookup: &impl Fn(&str) -> Option<String>,
    app_env: AppEnv,
) -> Result<Vec<u8>, ConfigError> {
    match lookup("IDENTITY_HASH_SECRET") {
        Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => Ok(secret.into_bytes()),
        Some(_) => Err(ConfigError(format!(
            "IDENTITY_HASH_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes"
        ))),
        None if app_env == AppEnv::Production => Err(ConfigError(format!(
            "IDENTITY_HASH_SECRET is required in production (at least {MIN_JWT_SECRET_BYTES} bytes)"
        ))),
        // A fixed development key: identity hashes must survive restarts.
        None => Ok(DEV_IDENTITY_HASH_SECRET.as_bytes().to_vec()),
    }
}

impl RateLimits {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let postgres = lookup("DATABASE_URL").is_some_and(|u| u.starts_with("postgres"));
        let redis_url = lookup("REDIS_URL").filter(|u| !u.trim().is_empty());
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError(
                "REDIS_URL must start with redis:// or rediss://".into(),
            ));
        }
        let store = match lookup("RATE_LIMIT_STORE").as_deref() {
            None if redis_url.is_some() => RateStore::Redis,
            None if postgres => RateStore::Database,
            None | Some("memory") => RateStore::Memory,
            Some("database") => RateStore::Database,
            Some("redis") if redis_url.is_some() => RateStore::Redis,
            Some("redis") => {
                return Err(ConfigError("RATE_LIMIT_STORE=redis needs REDIS_URL".into()));
            }
            Some(_) => {
                return Err(ConfigError(
                    "RATE_LIMIT_STORE must be memory, database or redis".into(),
                ));
            }
        };
        Ok(RateLimits {
            store,
            redis_url,
            register_per_minute: parse_in(
                lookup,
                "RATE_LIMIT_REGISTER_PER_MINUTE",
                5,
                1..=1_000_000,
            )?,
            login_per_minute: parse_in(lookup, "RATE_LIMIT_LOGIN_PER_MINUTE", 10, 1..=1_000_000)?,
            refresh_per_minute: parse_in(
                lookup,
                "RATE_LIMIT_REFRESH_PER_MINUTE",
                30,
                1..=1_000_000,
            )?,
            // Up to one a microsecond (the limiters count in microseconds):
            // behind a CDN, or in the bench (which reads cached pages at
            // ~50,000 a second from one address), as good as off.
            anonymous_per_minute: parse_in(
                lookup,
                "RATE_LIMIT_ANONYMOUS_PER_MINUTE",
                300,
                1..=60_000_000,
            )?,
        })
    }
}

impl FileSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use crate::platform::storage::{S3Settings, StorageSettings};
        let storage = match lookup("STORAGE").as_deref() {
            None | Some("local") => StorageSettings::Local(
                lookup("STORAGE_DIR")
                    .unwrap_or_else(|| "data/files".into())
                    .into(),
            ),
            Some("s3") => {
                let need = |key: &str| {
                    lookup(key)
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| ConfigError(format!("STORAGE=s3 needs {key}")))
                };
                StorageSettings::S3(S3Settings {
                    endpoint: need("S3_ENDPOINT")?,
                    bucket: need("S3_BUCKET")?,
                    region: lookup("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    access_key: need("S3_ACCESS_KEY_ID")?,
                    secret_key: need("S3_SECRET_ACCESS_KEY")?,
                    path_style: parse(lookup, "S3_PATH_STYLE", Some(true))?,
                })
            }
            Some(_) => return Err(ConfigError("STORAGE must be local or s3".into())),
        };
        crate::platform::storage::Storage::new(&storage).map_err(ConfigError)?;
        Ok(FileSettings {
            max_bytes: parse_in(
                lookup,
                "FILE_MAX_BYTES",
                10 * 1024 * 1024,
                1_024..=104_857_600,
            )?,
            quota_bytes: parse_in(
                lookup,
                "FILE_QUOTA_BYTES",
                500 * 1024 * 1024,
                1_024..=1_099_511_627_776,
            )?,
            link_ttl_secs: parse_in(lookup, "FILE_LINK_TTL_SECS", 300, 10..=86_400)?,
            storage,
        })
    }
}

impl MarketSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(MarketSettings {
            fee_bps: parse_in(lookup, "PLATFORM_FEE_BPS", 500, 0..=5_000)?,
            auto_complete_days: parse_in(lookup, "AUTO_COMPLETE_DAYS", 7, 1..=60)?,
            review_window_days: parse_in(lookup, "REVIEW_WINDOW_DAYS", 14, 1..=90)?,
            max_bid_deadline_days: parse_in(lookup, "MAX_BID_DEADLINE_DAYS", 90, 1..=365)?,
            bids_per_minute: parse_in(lookup, "RATE_LIMIT_BIDS_PER_MINUTE", 30, 1..=1_000_000)?,
            messages_per_minute: parse_in(
                lookup,
                "RATE_LIMIT_MESSAGES_PER_MINUTE",
                60,
                1..=1_000_000,
            )?,
            search_window: parse_in(lookup, "SEARCH_WINDOW", 20_000, 2..=1_000_000)?,
            check_in_geofence_m: parse_in(lookup, "CHECKIN_GEOFENCE_M", 500, 10..=50_000)?,
            contact_warning_hours: parse_in(lookup, "CONTACT_WARNING_HOURS", 24, 1..=720)?,
            contact_unreachable_hours: parse_in(lookup, "CONTACT_UNREACHABLE_HOURS", 48, 1..=720)?,
            demands_per_minute: parse_in(
                lookup,
                "RATE_LIMIT_DEMANDS_PER_MINUTE",
                10,
                1..=1_000_000,
            )?,
        })
    }
}

impl ConductSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(ConductSettings {
            deposit_fen: parse_money(lookup, "DEPOSIT_AMOUNT", 100_000)?,
            deposit_due_days: parse_in(lookup, "DEPOSIT_DUE_DAYS", 3, 1..=60)?,
            top_up_days: parse_in(lookup, "DEPOSIT_TOP_UP_DAYS", 3, 1..=60)?,
            appeal_days: parse_in(lookup, "APPEAL_WINDOW_DAYS", 7, 1..=60)?,
            credit_start: parse_in(lookup, "CREDIT_SCORE_START", 100, 1..=10_000)?,
            observation_days: parse_in(lookup, "DEPOSIT_OBSERVATION_DAYS", 30, 1..=365)?,
            payout_working_days: parse_in(lookup, "DEPOSIT_PAYOUT_WORKING_DAYS", 3, 1..=30)?,
            calendar: crate::platform::clock::WorkCalendar {
                holidays: parse_dates(lookup, "HOLIDAYS")?,
                workdays: parse_dates(lookup, "WORKDAYS")?,
            },
            dispute_response_days: parse_in(lookup, "DISPUTE_RESPONSE_DAYS", 4, 1..=60)?,
            dispute_window_days: parse_in(lookup, "DISPUTE_WINDOW_DAYS", 14, 0..=365)?,
            dispute_escalation_days: parse_in(lookup, "DISPUTE_ESCALATION_DAYS", 60, 1..=365)?,
        })
    }
}

/// The payment channels' settings (FND-4..6). A channel is offered when
/// its id is set; the rest of its settings are then required.
#[derive(Debug, Clone)]
pub struct PaymentSettings {
    /// `ALIPAY_APP_ID`, `ALIPAY_PRIVATE_KEY`, `ALIPAY_PUBLIC_KEY`,
    /// `ALIPAY_GATEWAY_URL`, `ALIPAY_NOTIFY_URL`, `ALIPAY_APP_CERT_SN`,
    /// `ALIPAY_ROOT_CERT_SN`.
    pub alipay: Option<crate::platform::channels::alipay::AlipayConfig>,
    /// `WECHATPAY_APP_ID`, `WECHATPAY_MCH_ID`, `WECHATPAY_MCH_SERIAL`,
    /// `WECHATPAY_PRIVATE_KEY`, `WECHATPAY_PLATFORM_PUBLIC_KEY`,
    /// `WECHATPAY_PLATFORM_SERIAL`, `WECHATPAY_API_V3_KEY`,
    /// `WECHATPAY_BASE_URL`, `WECHATPAY_NOTIFY_URL`,
    /// `WECHATPAY_TRANSFER_SCENE_ID`.
    pub wechatpay: Option<crate::platform::channels::wechatpay::WechatpayConfig>,
    /// `WECHAT_LOGIN_PROVIDER=development|open` (FND-4: the openid of a
    /// WeChat payee comes from the app's sign-in code); `open` needs
    /// `WECHAT_OPEN_APP_ID`, `WECHAT_OPEN_APP_SECRET` (`WECHAT_API_BASE_URL`).
    pub wechat_login: WechatLoginSettings,
    /// Seconds a payment may wait for its callback before the scheduler
    /// asks the channel (`PAYMENT_QUERY_AFTER_SECS`, 600).
    pub query_after_secs: i64,
    /// Staff money operations above this many fen wait for a second
    /// finance person (`MONEY_OPERATION_APPROVAL_ABOVE`, yuan, 1000.00).
    pub approval_above_fen: i64,
}

/// Where WeChat sign-in codes are exchanged for openids. Its `Debug`
/// leaves the app secret out.
#[derive(Clone)]
pub enum WechatLoginSettings {
    /// A stand-in that derives a stable openid from the code (development).
    Development,
    /// `GET {base}/sns/oauth2/access_token` of the WeChat Open Platform.
    Open {
        app_id: String,
        secret: String,
        base_url: String,
    },
}

impl std::fmt::Debug for WechatLoginSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WechatLoginSettings::Development => f.write_str("Development"),
            WechatLoginSettings::Open {
                app_id, base_url, ..
            } => f
                .debug_struct("Open")
                .field("app_id", app_id)
                .field("secret", &"<redacted>")
                .field("base_url", base_url)
                .finish(),
        }
    }
}

/// A key setting: PEM text (newlines may be written `\n`), a path to a PEM
/// file, or bare base64 DER.
fn key_text(lookup: &impl Fn(&str) -> Option<String>, key: &str) -> Result<String, ConfigError> {
    let raw = required(lookup, key)?;
    let raw = raw.trim();
    if raw.starts_with("-----BEGIN") {
        return Ok(raw.replace("\\n", "\n"));
    }
    if std::path::Path::new(raw).is_file() {
        return std::fs::read_to_string(raw)
            .map_err(|e| ConfigError(format!("{key}: cannot read the key file: {e}")));
    }
    Ok(raw.to_string())
}

fn required(lookup: &impl Fn(&str) -> Option<String>, key: &str) -> Result<String, ConfigError> {
    lookup(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError(format!("{key} is required when the channel is configured")))
}

impl PaymentSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        for old in ["PAYMENT_ALIPAY_SECRET", "PAYMENT_WECHAT_SECRET"] {
            if lookup(old).is_some() {
                return Err(ConfigError(format!(
                    "{old} (the generic HMAC callbacks) was replaced by the channels' own protocols: see ALIPAY_* and WECHATPAY_* in .env.example"
                )));
            }
        }
        let base = lookup("PUBLIC_BASE_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string();
        let tolerance = parse_in(lookup, "PAYMENT_CALLBACK_TOLERANCE_SECS", 300, 10..=3_600)?;
        let approval = lookup("MONEY_OPERATION_APPROVAL_ABOVE").unwrap_or_else(|| "1000.00".into());
        let approval_above_fen = crate::platform::channels::fen_of(&approval).ok_or_else(|| {
            ConfigError(
                "MONEY_OPERATION_APPROVAL_ABOVE must be an amount in yuan such as 1000.00".into(),
            )
        })?;
        let wechatpay = wechatpay_config(lookup, &base, tolerance)?;
        let production = lookup("APP_ENV").as_deref() == Some("production");
        if production
            && wechatpay.is_some()
            && matches!(
                lookup("WECHAT_LOGIN_PROVIDER").as_deref(),
                None | Some("development")
            )
        {
            return Err(ConfigError(
                "WeChat Pay is configured in production but WECHAT_LOGIN_PROVIDER is development: its openids cannot be paid; set WECHAT_LOGIN_PROVIDER=open".into(),
            ));
        }
        Ok(PaymentSettings {
            alipay: alipay_config(lookup, &base)?,
            wechatpay,
            wechat_login: match lookup("WECHAT_LOGIN_PROVIDER").as_deref() {
                None | Some("development") => WechatLoginSettings::Development,
                Some("open") => WechatLoginSettings::Open {
                    app_id: required(lookup, "WECHAT_OPEN_APP_ID")?,
                    secret: required(lookup, "WECHAT_OPEN_APP_SECRET")?,
                    base_url: lookup("WECHAT_API_BASE_URL")
                        .unwrap_or_else(|| "https://api.weixin.qq.com".into()),
                },
                Some(_) => {
                    return Err(ConfigError(
                        "WECHAT_LOGIN_PROVIDER must be development or open".into(),
                    ));
                }
            },
            query_after_secs: parse_in(lookup, "PAYMENT_QUERY_AFTER_SECS", 600, 10..=86_400)?,
            approval_above_fen,
        })
    }
}

fn alipay_config(
    lookup: &impl Fn(&str) -> Option<String>,
    base: &str,
) -> Result<Option<crate::platform::channels::alipay::AlipayConfig>, ConfigError> {
    let Some(app_id) = lookup("ALIPAY_APP_ID").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let config = crate::platform::channels::alipay::AlipayConfig {
        app_id,
        private_key: key_text(lookup, "ALIPAY_PRIVATE_KEY")?,
        alipay_public_key: key_text(lookup, "ALIPAY_PUBLIC_KEY")?,
        gateway_url: lookup("ALIPAY_GATEWAY_URL")
            .unwrap_or_else(|| "https://openapi.alipay.com/gateway.do".into()),
        notify_url: lookup("ALIPAY_NOTIFY_URL")
            .unwrap_or_else(|| format!("{base}/api/v1/payments/callbacks/alipay")),
        app_cert_sn: lookup("ALIPAY_APP_CERT_SN"),
        root_cert_sn: lookup("ALIPAY_ROOT_CERT_SN"),
    };
    crate::platform::channels::alipay::Alipay::new(config.clone()).map_err(ConfigError)?;
    Ok(Some(config))
}

fn wechatpay_config(
    lookup: &impl Fn(&str) -> Option<String>,
    base: &str,
    tolerance: i64,
) -> Result<Option<crate::platform::channels::wechatpay::WechatpayConfig>, ConfigError> {
    let Some(mch_id) = lookup("WECHATPAY_MCH_ID").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let config = crate::platform::channels::wechatpay::WechatpayConfig {
        app_id: required(lookup, "WECHATPAY_APP_ID")?,
        mch_id,
        mch_serial: required(lookup, "WECHATPAY_MCH_SERIAL")?,
        private_key: key_text(lookup, "WECHATPAY_PRIVATE_KEY")?,
        platform_public_key: key_text(lookup, "WECHATPAY_PLATFORM_PUBLIC_KEY")?,
        platform_serial: required(lookup, "WECHATPAY_PLATFORM_SERIAL")?,
        api_v3_key: required(lookup, "WECHATPAY_API_V3_KEY")?.into_bytes(),
        base_url: lookup("WECHATPAY_BASE_URL")
            .unwrap_or_else(|| "https://api.mch.weixin.qq.com".into()),
        notify_url: lookup("WECHATPAY_NOTIFY_URL")
            .unwrap_or_else(|| format!("{base}/api/v1/payments/callbacks/wechat")),
        transfer_scene_id: lookup("WECHATPAY_TRANSFER_SCENE_ID").unwrap_or_else(|| "1005".into()),
    };
    crate::platform::channels::wechatpay::Wechatpay::new(config.clone(), tolerance)
        .map_err(ConfigError)?;
    Ok(Some(config))
}

fn parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: Option<T>,
) -> Result<T, ConfigError> {
    match lookup(key) {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{key} has an invalid value"))),
        None => default.ok_or_else(|| ConfigError(format!("{key} is required"))),
    }
}

fn parse_in<T: FromStr + PartialOrd + std::fmt::Display + Copy>(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    let value = parse(lookup, key, Some(default))?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError(format!(
            "{key} must be between {} and {}",
            range.start(),
            range.end()
        )))
    }
}

/// An amount of money in yuan (`"1000.00"`), as fen.
fn parse_money(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: i64,
) -> Result<i64, ConfigError> {
    match lookup(key) {
        None => Ok(default),
        Some(raw) => crate::platform::money::Money::parse(raw.trim())
            .map(crate::platform::money::Money::fen)
            .map_err(|_| ConfigError(format!("{key} must be an amount like 1000.00"))),
    }
}

/// A comma-separated list of dates (`2026-10-01,2026-10-02`).
fn parse_dates(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Vec<chrono::NaiveDate>, ConfigError> {
    let Some(raw) = lookup(key) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ConfigError(format!("{key} must list dates like 2026-10-01")))
        })
        .collect()
}

fn random_secret() -> Vec<u8> {
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_generates_a_secret_when_missing() {
        let s = settings(&[]).unwrap();
        assert!(s.jwt_secret_generated);
        assert!(s.jwt_secret.len() >= MIN_JWT_SECRET_BYTES);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.bind_addr.to_string(), DEFAULT_BIND_ADDR);
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let err = settings(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.0.contains("JWT_SECRET"));
        let err = settings(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]).unwrap_err();
        assert!(err.0.contains("32 bytes"));
        let err = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap_err();
        assert!(err.0.contains("IDENTITY_HASH_SECRET"));
        // NTF-1: nothing real would be sent.
        let err = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("IDENTITY_HASH_SECRET", "fedcba9876543210fedcba9876543210"),
        ])
        .unwrap_err();
        assert!(err.0.contains("SMS_PROVIDER"));
        let ok = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("IDENTITY_HASH_SECRET", "fedcba9876543210fedcba9876543210"),
            ("DELIVERY_DEVELOPMENT_SENDERS", "true"),
        ])
        .unwrap();
        assert!(!ok.jwt_secret_generated);
        assert!(!ok.delivery.sandbox_enabled);
    }

    #[test]
    fn out_of_range_values_are_refused_by_key() {
        let err = settings(&[("DB_POOL_SIZE", "0")]).unwrap_err();
        assert!(err.0.contains("DB_POOL_SIZE"));
        let err = settings(&[("BIND_ADDR", "nowhere")]).unwrap_err();
        assert!(err.0.contains("BIND_ADDR"));
    }

    #[test]
    fn fnd5_channel_settings_are_checked_and_their_keys_never_printed() {
        let key = include_str!("channels/testdata/wechatpay-go-test-key.pem");
        let base = [("JWT_SECRET", "test-secret-test-secret-test-secret-0123")];
        // A channel's id without its keys: refused at start.
        let mut missing = base.to_vec();
        missing.push(("ALIPAY_APP_ID", "2021000000000001"));
        let err = settings(&missing).unwrap_err();
        assert!(err.0.contains("ALIPAY_PRIVATE_KEY"), "{}", err.0);
        let mut ok = base.to_vec();
        ok.extend([
            ("ALIPAY_APP_ID", "2021000000000001"),
            ("ALIPAY_PRIVATE_KEY", key),
            ("ALIPAY_PUBLIC_KEY", key),
        ]);
        // (a private key's PEM is not a public key)
        assert!(settings(&ok).is_err());
        let public = {
            use rsa::pkcs8::EncodePublicKey;
            rsa::RsaPublicKey::from(&crate::platform::channels::keys::private_key(key).unwrap())
                .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
                .unwrap()
        };
        ok[3] = ("ALIPAY_PUBLIC_KEY", &public);
        let s = settings(&ok).unwrap();
        let printed = format!("{:?}", s.payments);
        assert!(!printed.contains("MIIEvg"), "{printed}");
        // The retired HMAC secrets are named, not ignored.
        let mut old = base.to_vec();
        old.push(("PAYMENT_ALIPAY_SECRET", "x"));
        assert!(settings(&old).unwrap_err().0.contains("ALIPAY_"));
        assert_eq!(
            settings(&base).unwrap().payments.approval_above_fen,
            100_000
        );
    }
}
