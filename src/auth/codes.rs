//! One-time codes sent by SMS or email (ACC-12, ACC-13).
//!
//! Six digits, kept only as an HMAC, valid 5 minutes, refused after 5 wrong
//! tries (even when then right), sent again no sooner than 60 s and at most
//! 10 times a day per number or address. The target itself is kept only as
//! an HMAC too. Asking looks the same whether or not the target is
//! registered: a reset code for an unknown target is recorded (so the
//! limits and the answer are the same) but nothing is sent.
//!
//! Checking is two steps so that a wrong try counts even though the request
//! fails: [`attempt`] runs in a transaction of its own and commits the count;
//! [`spend`] marks the code used inside the transaction of the change it
//! allows, so a change that fails (a name taken) leaves the code usable.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::verification_codes as codes;
use crate::platform::delivery::{self, Outgoing};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

text_enum! {
    /// What a code is for.
    pub enum CodePurpose {
        /// Creating an account: the phone's code (SMS).
        Register = "register",
        /// Forgotten password: a code to the verified phone or email.
        ResetPassword = "reset_password",
        /// A new phone number (SMS to the new number).
        ChangePhone = "change_phone",
        /// Proving the account's email (email).
        VerifyEmail = "verify_email",
    }
}

text_enum! {
    /// How a code is sent.
    pub enum CodeChannel {
        Sms = "sms",
        Email = "email",
    }
}

impl CodePurpose {
    /// The channels this purpose may use.
    pub fn allows(self, channel: CodeChannel) -> bool {
        match self {
            CodePurpose::Register | CodePurpose::ChangePhone => channel == CodeChannel::Sms,
            CodePurpose::VerifyEmail => channel == CodeChannel::Email,
            CodePurpose::ResetPassword => true,
        }
    }

    fn label(self) -> &'static str {
        match self {
            CodePurpose::Register => "注册账户",
            CodePurpose::ResetPassword => "重置密码",
            CodePurpose::ChangePhone => "更换手机号",
            CodePurpose::VerifyEmail => "验证邮箱",
        }
    }
}

pub const CODE_TTL_SECS: i64 = 300;
pub const MAX_TRIES: i32 = 5;
pub const RESEND_AFTER_SECS: i64 = 60;
pub const MAX_PER_DAY: i64 = 10;

fn mac(secret: &[u8], parts: &[&str]) -> String {
    use base64::Engine;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(b"\x1f");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The advisory lock of a target ("code" in the high bytes).
fn lock_key(key: &str) -> i64 {
    let folded = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    i64::from_be_bytes((0x636f_6465_0000_0000 | (folded & 0xffff_ffff)).to_be_bytes())
}

/// The stored key of a normalised phone number or email address.
pub fn target_key(st: &AppState, channel: CodeChannel, target: &str) -> String {
    mac(
        &st.settings.identity_hash_secret,
        &["code-target", channel.text(), target],
    )
}

fn code_hash(st: &AppState, key: &str, purpose: CodePurpose, code: &str) -> String {
    mac(
        &st.settings.identity_hash_secret,
        &["code", key, purpose.text(), code],
    )
}

use crate::platform::enums::TextEnum;

/// A code request: where to, for what, and whether to actually send it
/// (`false`: a reset for a target no account has, recorded but not sent).
pub struct Request<'a> {
    pub channel: CodeChannel,
    pub purpose: CodePurpose,
    /// The normalised phone (E.164) or email.
    pub target: &'a str,
    pub send: bool,
    pub ip: Option<&'a str>,
}

fn too_soon(wait: i64) -> AppError {
    AppError::too_many(
        "code.too_soon",
        "验证码发送过于频繁，请稍后再试",
        "A code was sent less than a minute ago; try again later",
        u64::try_from(wait).unwrap_or(1),
    )
}

/// Issues a code (ACC-12) and writes its message to the outbox in the
/// caller's transaction. Earlier unused codes of the target and purpose
/// stop working.
pub fn issue(conn: &mut DbConnection, st: &AppState, req: Request<'_>) -> AppResult<()> {
    let now = st.clock.now_naive();
    let key = target_key(st, req.channel, req.target);
    // One request per target at a time across processes (PostgreSQL; the
    // SQLite writer queue already serialises): the 60 s and daily limits
    // are read and written under it.
    crate::platform::db::xact_lock(conn, lock_key(&key))?;
    let last: Option<NaiveDateTime> = codes::table
        .filter(codes::target_key.eq(&key))
        .select(diesel::dsl::max(codes::created_at))
        .first(conn)?;
    if let Some(last) = last {
        let since = (now - last).num_seconds();
        if since < RESEND_AFTER_SECS {
            return Err(too_soon(RESEND_AFTER_SECS - since));
        }
    }
    let today: i64 = codes::table
        .filter(codes::target_key.eq(&key))
        .filter(codes::created_at.gt(now - Duration::hours(24)))
        .count()
        .get_result(conn)?;
    if today >= MAX_PER_DAY {
        return Err(AppError::too_many(
            "code.daily_limit",
            "今日验证码发送次数已达上限",
            "The day's limit of codes for this target is reached",
            3_600,
        ));
    }
    diesel::update(
        codes::table
            .filter(codes::target_key.eq(&key))
            .filter(codes::purpose.eq(req.purpose.text()))
            .filter(codes::used_at.is_null()),
    )
    .set(codes::used_at.eq(now))
    .execute(conn)?;
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let id: i64 = diesel::insert_into(codes::table)
        .values((
            codes::channel.eq(req.channel.text()),
            codes::purpose.eq(req.purpose.text()),
            codes::target_key.eq(&key),
            codes::code_hash.eq(code_hash(st, &key, req.purpose, &code)),
            codes::ip.eq(req.ip),
            codes::created_at.eq(now),
            codes::expires_at.eq(now + Duration::seconds(CODE_TTL_SECS)),
        ))
        .returning(codes::id)
        .get_result(conn)?;
    if !req.send {
        return Ok(());
    }
    delivery::enqueue(
        conn,
        now,
        Outgoing {
            dedupe_key: format!("code:{id}:{}", req.channel.text()),
            channel: req.channel.text(),
            kind: match req.purpose {
                CodePurpose::Register => "code.register",
                CodePurpose::ResetPassword => "code.reset_password",
                CodePurpose::ChangePhone => "code.change_phone",
                CodePurpose::VerifyEmail => "code.verify_email",
            },
            user_id: None,
            notification_id: None,
            recipient: req.target.to_string(),
            subject: "微工宝验证码".into(),
            body: format!(
                "【微工宝】验证码 {code}，用于{}，五分钟内有效。请勿告诉他人，平台工作人员不会向您索取验证码。",
                req.purpose.label()
            ),
            secret: true,
        },
    )?;
    Ok(())
}

/// What a try came to. A wrong try is counted even though the request
/// fails, so the caller commits before turning this into an error.
#[derive(Debug)]
pub enum Attempt {
    /// Right; spend it with [`spend`] in the change's transaction.
    Right(i64),
    Wrong,
    /// Five wrong tries: refused even when right.
    Exhausted,
    /// No live code for this target and purpose.
    Missing,
}

impl Attempt {
    pub fn into_result(self) -> AppResult<i64> {
        match self {
            Attempt::Right(id) => Ok(id),
            Attempt::Wrong | Attempt::Missing => Err(invalid_code()),
            Attempt::Exhausted => Err(AppError::invalid_field(
                "code",
                "code.exhausted",
                "验证码错误次数过多，请重新获取",
                "Too many wrong tries; request a new code",
            )),
        }
    }
}

pub fn invalid_code() -> AppError {
    AppError::invalid_field(
        "code",
        "code.invalid",
        "验证码错误或已过期",
        "The code is wrong or expired",
    )
}

/// Checks `code` against the live code of the target and purpose, counting
/// a wrong try. Call in a transaction of its own and commit on every
/// outcome.
pub fn attempt(
    conn: &mut DbConnection,
    st: &AppState,
    purpose: CodePurpose,
    key: &str,
    code: &str,
) -> AppResult<Attempt> {
    let now = st.clock.now_naive();
    let live: Option<(i64, String, i32)> = codes::table
        .filter(codes::target_key.eq(key))
        .filter(codes::purpose.eq(purpose.text()))
        .filter(codes::used_at.is_null())
        .filter(codes::expires_at.gt(now))
        .order(codes::id.desc())
        .select((codes::id, codes::code_hash, codes::attempts))
        .first(conn)
        .optional()?;
    let Some((id, hash, _)) = live else {
        return Ok(Attempt::Missing);
    };
    // Every try is counted before the comparison, by a conditional update:
    // concurrent tries cannot all see fewer than five.
    let counted = diesel::update(codes::table.find(id).filter(codes::attempts.lt(MAX_TRIES)))
        .set(codes::attempts.eq(codes::attempts + 1))
        .execute(conn)?;
    if counted == 0 {
        return Ok(Attempt::Exhausted);
    }
    let given = code_hash(st, key, purpose, code.trim());
    if subtle::ConstantTimeEq::ct_eq(given.as_bytes(), hash.as_bytes()).into() {
        return Ok(Attempt::Right(id));
    }
    Ok(Attempt::Wrong)
}

/// Marks a code found right by [`attempt`] used, in the transaction of the
/// change it allows; refused if it was used or ran out meanwhile.
pub fn spend(conn: &mut DbConnection, st: &AppState, id: i64) -> AppResult<()> {
    let now = st.clock.now_naive();
    let n = diesel::update(
        codes::table
            .find(id)
            .filter(codes::used_at.is_null())
            .filter(codes::expires_at.gt(now)),
    )
    .set(codes::used_at.eq(now))
    .execute(conn)?;
    if n == 0 {
        return Err(invalid_code());
    }
    Ok(())
}

/// Codes older than a day are of no use, not even for the daily count.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::delete(codes::table.filter(codes::created_at.lt(now - Duration::hours(25))))
            .execute(conn)?,
    )
}
