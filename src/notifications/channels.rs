//! Which notices leave the app, and by which channel (NTF-1, NTF-2).
//!
//! Every notice is kept in-app. Besides:
//! - the notices the rules require ([`MANDATORY`]: measures, deductions,
//!   deposit requirement and deadlines, top-up, reclamation warnings,
//!   closure, sealing, password reset) go by SMS to the account's phone,
//!   whatever its status: a sealed or reclaimed user cannot log in but is
//!   still told (SA §4.5, DR §3.2);
//! - every other kind goes by the user's choice per channel, defaulting to
//!   push on and SMS and email off ([`default_on`]);
//! - email goes only to a verified address, push only to devices of live
//!   sessions (NTF-3).
//!
//! The rows are written to the outbox in the caller's transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::Notice;
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{
    marketing_consents as consents, notification_preferences as prefs, users,
};
use crate::platform::delivery::{self, Outgoing};
use crate::platform::error::AppResult;
use crate::platform::state::AppState;

/// Kinds the rules require to reach the user (NTF-1): SMS and in-app
/// cannot be turned off.
pub const MANDATORY: &[&str] = &[
    "violation.measure",
    "violation.recorded",
    "deposit.required",
    "deposit.required_amount_changed",
    "deposit.top_up_required",
    "deposit.overdue",
    "account.inactivity_warning",
    "account.reclaimed",
    "closure.approved",
    "account.password_reset",
];

/// Every notice kind a user can set channels for, with a label.
pub const KINDS: &[(&str, &str)] = &[
    ("violation.measure", "处理措施（含封号、扣除保证金）"),
    ("violation.recorded", "违规记录"),
    ("deposit.required", "须缴纳保证金"),
    ("deposit.required_amount_changed", "保证金金额调整"),
    ("deposit.top_up_required", "须补足保证金"),
    ("deposit.overdue", "保证金逾期"),
    ("account.inactivity_warning", "账户回收预警"),
    ("account.reclaimed", "账户已回收"),
    ("closure.approved", "注销已批准"),
    ("account.password_reset", "密码已重置"),
    ("account.transferred", "账户转移"),
    ("agreement.published", "协议更新"),
    ("appeal.received", "申诉已受理"),
    ("appeal.upheld", "申诉成立"),
    ("appeal.rejected", "申诉驳回"),
    ("award.auto_completed", "订单自动完成"),
    ("award.completed", "订单完成"),
    ("award.delivered", "服务商已交付"),
    ("bid.awarded", "中标"),
    ("bid.not_selected", "未中标"),
    ("closure.rejected", "注销被驳回"),
    ("complaint.actioned", "投诉已处理"),
    ("complaint.dismissed", "投诉未成立"),
    ("complaint.received", "收到投诉"),
    ("contact.warning", "未回复雇主提醒"),
    ("conversation.blocked", "对方屏蔽"),
    ("demand.cancelled", "需求已取消"),
    ("demand.removed", "需求被下架"),
    ("deposit.observation_extended", "保证金观察期延长"),
    ("deposit.paid", "保证金已缴"),
    ("deposit.paid_late", "保证金逾期缴纳"),
    ("deposit.payment_failed", "保证金支付失败"),
    ("deposit.refund_due", "保证金待退还"),
    ("deposit.refund_failed", "保证金退还失败"),
    ("deposit.refund_requested", "保证金退还申请"),
    ("deposit.refunded", "保证金已退还"),
    ("deposit.reinstated", "保证金恢复"),
    ("dispute.decided", "纠纷已裁决"),
    ("dispute.escalated", "纠纷升级"),
    ("dispute.opened", "纠纷已发起"),
    ("dispute.silence", "纠纷未答复"),
    ("dispute.statement", "纠纷陈述"),
    ("info_request.cleared", "补充资料已通过"),
    ("info_request.created", "须补充资料"),
    ("member_name.reclaimed", "会员名回收"),
    ("message.received", "新消息"),
    ("conversation.left", "服务商退出会话"),
    ("payment.top_up_succeeded", "充值成功"),
    ("payment.top_up_failed", "充值失败"),
    ("payment.withdrawal_succeeded", "提现成功"),
    ("payment.withdrawal_failed", "提现失败"),
    ("funds.staff_operation", "平台资金处理（付款、补偿、退款）"),
    ("verification.approved", "实名认证通过"),
    ("verification.rejected", "实名认证未通过"),
    ("marketing", "活动与推广（须同意接收）"),
];

/// Channels a preference names (in-app is always on).
pub const PREF_CHANNELS: [&str; 3] = ["sms", "email", "push"];

pub fn is_mandatory(kind: &str) -> bool {
    MANDATORY.contains(&kind)
}

/// Whether `channel` is on for `kind` when the user has not chosen.
pub fn default_on(kind: &str, channel: &str) -> bool {
    if kind == "marketing" {
        return false;
    }
    match channel {
        "sms" => is_mandatory(kind),
        "push" => true,
        _ => false,
    }
}

/// What a notice needs to leave the app.
struct Contact {
    phone: Option<String>,
    email: Option<String>,
    email_verified: bool,
}

fn contact(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<Contact>> {
    let row: Option<(Option<String>, Option<String>, Option<NaiveDateTime>)> = users::table
        .find(user_id)
        .select((users::phone, users::email, users::email_verified_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(phone, email, verified)| Contact {
        phone,
        email,
        email_verified: verified.is_some(),
    }))
}

/// The user's choices for `kind`, as (channel, enabled).
fn choices(conn: &mut DbConnection, user_id: i64, kind: &str) -> AppResult<Vec<(String, bool)>> {
    Ok(prefs::table
        .filter(prefs::user_id.eq(user_id))
        .filter(prefs::kind.eq(kind))
        .select((prefs::channel, prefs::enabled))
        .load(conn)?)
}

/// Which channels a notice of `kind` takes for this user.
fn channels_for(conn: &mut DbConnection, user_id: i64, kind: &str) -> AppResult<Vec<&'static str>> {
    // NTF-2: marketing leaves the app only with consent.
    if kind == "marketing" && !marketing_consented(conn, user_id)? {
        return Ok(Vec::new());
    }
    let chosen = choices(conn, user_id, kind)?;
    Ok(PREF_CHANNELS
        .into_iter()
        .filter(|channel| {
            if *channel == "sms" && is_mandatory(kind) {
                return true;
            }
            chosen
                .iter()
                .find(|(c, _)| c == channel)
                .map_or_else(|| default_on(kind, channel), |(_, on)| *on)
        })
        .collect())
}

/// Writes the outbox rows of notice `notification_id` for `channels`.
pub(super) fn enqueue(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    notification_id: i64,
    notice: &Notice<'_>,
    channels: &[&str],
) -> AppResult<()> {
    if channels.is_empty() {
        return Ok(());
    }
    let Some(contact) = contact(conn, user_id)? else {
        return Ok(());
    };
    let now = st.clock.now_naive();
    let devices = if channels.contains(&"push") {
        crate::auth::devices::live(conn, user_id, now)?
    } else {
        Vec::new()
    };
    let mut out = |channel: &'static str, key: String, recipient: String, body: String| {
        delivery::enqueue(
            conn,
            now,
            Outgoing {
                dedupe_key: key,
                channel,
                kind: notice.kind,
                user_id: Some(user_id),
                notification_id: Some(notification_id),
                recipient,
                subject: notice.title.to_string(),
                body,
                secret: false,
            },
        )
    };
    let text = format!("【微工宝】{}：{}", notice.title, notice.body);
    if channels.contains(&"sms")
        && let Some(phone) = contact.phone.clone()
    {
        out(
            "sms",
            format!("notice:{notification_id}:sms"),
            phone,
            text.clone(),
        )?;
    }
    if channels.contains(&"email")
        && contact.email_verified
        && let Some(email) = contact.email.clone()
    {
        let body = email_body(st, user_id, notice);
        out(
            "email",
            format!("notice:{notification_id}:email"),
            email,
            body,
        )?;
    }
    for device in devices {
        let key = format!("notice:{notification_id}:push:{}", device.id);
        out("push", key, device.token, notice.body.clone())?;
    }
    Ok(())
}

/// A notice as an email: the text, the link, and for marketing the
/// one-click unsubscribe (NTF-2).
fn email_body(st: &AppState, user_id: i64, notice: &Notice<'_>) -> String {
    let base = &st.settings.delivery.public_base_url;
    let mut body = format!("{}\n\n{}", notice.title, notice.body);
    if let Some(link) = &notice.link {
        body.push_str(&format!("\n\n详情：{base}{link}"));
    }
    body.push_str("\n\n——微工宝。通知偏好可在 App「设置 › 通知」中调整。");
    if notice.kind == "marketing" {
        body.push_str(&format!(
            "\n退订推广邮件：POST {base}/api/v1/notifications/unsubscribe?token={}",
            unsubscribe_token(st, user_id)
        ));
    }
    body
}

/// The channels of a notice by its kind and the user's choices.
pub(super) fn deliver(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    notification_id: i64,
    notice: &Notice<'_>,
) -> AppResult<()> {
    let channels = channels_for(conn, user_id, notice.kind)?;
    enqueue(conn, st, user_id, notification_id, notice, &channels)
}

/// Marketing consent (NTF-2, SA §3.11).
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketingConsent {
    pub consent: bool,
    /// When it was last given or withdrawn; `null`: never asked.
    pub changed_at: Option<DateTime<Utc>>,
}

pub fn consent(conn: &mut DbConnection, user_id: i64) -> AppResult<MarketingConsent> {
    let last: Option<(bool, NaiveDateTime)> = consents::table
        .filter(consents::user_id.eq(user_id))
        .order(consents::id.desc())
        .select((consents::granted, consents::created_at))
        .first(conn)
        .optional()?;
    Ok(MarketingConsent {
        consent: last.is_some_and(|(g, _)| g),
        changed_at: last.map(|(_, at)| at.and_utc()),
    })
}

/// Whether the user consented to marketing (NTF-2).
pub fn marketing_consented(conn: &mut DbConnection, user_id: i64) -> AppResult<bool> {
    Ok(consent(conn, user_id)?.consent)
}

pub fn record_consent(
    conn: &mut DbConnection,
    user_id: i64,
    granted: bool,
    source: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(consents::table)
        .values((
            consents::user_id.eq(user_id),
            consents::granted.eq(granted),
            consents::source.eq(source),
            consents::ip.eq(ip),
            consents::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// ACC-10: an anonymised account's consent records forget the address.
pub fn anonymise(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(consents::table.filter(consents::user_id.eq(user_id)))
        .set(consents::ip.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// The token of a user's unsubscribe link: `{user id}.{HMAC}`.
pub fn unsubscribe_token(st: &AppState, user_id: i64) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&st.settings.identity_hash_secret)
    else {
        return String::new();
    };
    mac.update(format!("unsubscribe:{user_id}").as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{user_id}.{sig}")
}
