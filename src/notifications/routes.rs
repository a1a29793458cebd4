//! Notice delivery over HTTP: preferences and consent (NTF-2), push devices
//! (NTF-3), the outbox's dead letters for admins and the development
//! senders' record (NTF-1).

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::channels::{
    KINDS, MarketingConsent, consent, default_on, is_mandatory, marketing_consented,
    record_consent, unsubscribe_token,
};
use crate::auth::devices::{self, DevicePlatform};
use crate::auth::{Admins, AuthUser, Staff};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::notification_preferences as prefs;
use crate::platform::delivery::{self, OutboxRow};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

text_enum! {
    /// A channel a notice can leave the app by (in-app is always on).
    pub enum NoticeChannel {
        Sms = "sms",
        Email = "email",
        Push = "push",
    }
}

/// One kind's channels for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct KindPreference {
    #[schema(example = "dispute.opened")]
    pub kind: String,
    #[schema(example = "纠纷已发起")]
    pub label: String,
    /// Required by the rules: SMS and in-app cannot be turned off.
    pub mandatory: bool,
    /// Always true: every notice is kept in-app.
    pub in_app: bool,
    pub sms: bool,
    /// Sent only to a verified email.
    pub email: bool,
    /// Sent to the devices of live sessions.
    pub push: bool,
}

/// `GET /api/v1/me/notification-preferences`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPreferences {
    pub kinds: Vec<KindPreference>,
    pub marketing: MarketingConsent,
}

fn preferences(conn: &mut DbConnection, user_id: i64) -> AppResult<NotificationPreferences> {
    let chosen: Vec<(String, String, bool)> = prefs::table
        .filter(prefs::user_id.eq(user_id))
        .select((prefs::kind, prefs::channel, prefs::enabled))
        .load(conn)?;
    let on = |kind: &str, channel: &str| {
        if channel == "sms" && is_mandatory(kind) {
            return true;
        }
        chosen
            .iter()
            .find(|(k, c, _)| k == kind && c == channel)
            .map_or_else(|| default_on(kind, channel), |(_, _, e)| *e)
    };
    let kinds = KINDS
        .iter()
        .map(|(kind, label)| KindPreference {
            kind: kind.to_string(),
            label: label.to_string(),
            mandatory: is_mandatory(kind),
            in_app: true,
            sms: on(kind, "sms"),
            email: on(kind, "email"),
            push: on(kind, "push"),
        })
        .collect();
    Ok(NotificationPreferences {
        kinds,
        marketing: consent(conn, user_id)?,
    })
}

/// The caller's notice channels per kind, and marketing consent (NTF-2).
#[utoipa::path(
    operation_id = "me_notification_preferences_get",
    tag = "me",
    responses((status = 200, description = "Channels per kind", body = NotificationPreferences)),
    security(("bearer" = []))
)]
#[get("/me/notification-preferences")]
pub async fn get_preferences(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<NotificationPreferences>> {
    let user_id = user.user_id;
    Ok(web::Json(
        state.run(move |conn, _| preferences(conn, user_id)).await?,
    ))
}

/// One change of `PUT /api/v1/me/notification-preferences`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChange {
    /// A kind of `GET /api/v1/me/notification-preferences`.
    #[schema(example = "dispute.opened", min_length = 1, max_length = 64)]
    pub kind: String,
    pub channel: NoticeChannel,
    pub enabled: bool,
}

/// `PUT /api/v1/me/notification-preferences`: only what is named changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"preferences": [{"kind": "dispute.opened", "channel": "email", "enabled": true}], "marketing_consent": false}))]
pub struct PreferencesUpdate {
    #[serde(default)]
    #[schema(max_items = 200)]
    pub preferences: Vec<PreferenceChange>,
    /// Give (`true`) or withdraw (`false`) marketing consent; recorded with
    /// its time.
    pub marketing_consent: Option<bool>,
}

fn check_changes(req: &PreferencesUpdate, consented: bool) -> AppResult<()> {
    if req.preferences.len() > 200 {
        return Err(AppError::invalid_field(
            "preferences",
            "notification.too_many",
            "一次最多修改 200 项",
            "At most 200 changes at once",
        ));
    }
    if let Some(unknown) = req
        .preferences
        .iter()
        .find(|p| !KINDS.iter().any(|(k, _)| *k == p.kind))
    {
        return Err(AppError::invalid_field(
            "preferences.kind",
            "notification.kind_unknown",
            "未知的通知类型",
            "Unknown notice kind",
        )
        .with_extension("kind", unknown.kind.chars().take(64).collect::<String>()));
    }
    let mut locked: Vec<&str> = req
        .preferences
        .iter()
        .filter(|p| is_mandatory(&p.kind) && p.channel == NoticeChannel::Sms && !p.enabled)
        .map(|p| p.kind.as_str())
        .collect();
    locked.dedup();
    if !locked.is_empty() {
        return Err(AppError::invalid_field(
            "preferences",
            "notification.mandatory",
            format!("规则要求的通知不能关闭短信：{}", locked.join("、")),
            format!(
                "Notices the rules require cannot turn SMS off: {}",
                locked.join(", ")
            ),
        )
        .with_extension("mandatory_kinds", locked));
    }
    let wants_marketing = req
        .preferences
        .iter()
        .any(|p| p.kind == "marketing" && p.enabled);
    if wants_marketing && !req.marketing_consent.unwrap_or(consented) {
        return Err(AppError::invalid_field(
            "marketing_consent",
            "notification.consent_required",
            "接收推广信息须先明确同意（marketing_consent: true）",
            "Marketing needs explicit consent first (marketing_consent: true)",
        ));
    }
    Ok(())
}

/// Change the caller's channels per kind and marketing consent (NTF-2).
/// A kind the rules require cannot turn SMS off (422 naming the kinds);
/// marketing goes out only with consent, which is recorded with its time.
#[utoipa::path(
    operation_id = "me_notification_preferences_put",
    tag = "me",
    request_body = PreferencesUpdate,
    responses(
        (status = 200, description = "The preferences now", body = NotificationPreferences),
        (status = 422, description = "Unknown kind (`notification.kind_unknown`), a mandatory kind's SMS turned off (`notification.mandatory`, with `mandatory_kinds`), or marketing without consent (`notification.consent_required`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/me/notification-preferences")]
pub async fn put_preferences(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: ClientMeta,
    body: crate::platform::http::Json<PreferencesUpdate>,
) -> AppResult<web::Json<NotificationPreferences>> {
    let user_id = user.user_id;
    let req = body.into_inner();
    let view = state
        .tx(move |conn, st| {
            let consented = marketing_consented(conn, user_id)?;
            check_changes(&req, consented)?;
            let now = st.clock.now_naive();
            if let Some(granted) = req.marketing_consent.filter(|g| *g != consented) {
                record_consent(conn, user_id, granted, "api", Some(&meta.ip), now)?;
            }
            for p in &req.preferences {
                let key = prefs::table.find((user_id, p.kind.as_str(), p.channel.text()));
                diesel::delete(key).execute(conn)?;
                diesel::insert_into(prefs::table)
                    .values((
                        prefs::user_id.eq(user_id),
                        prefs::kind.eq(&p.kind),
                        prefs::channel.eq(p.channel.text()),
                        prefs::enabled.eq(p.enabled),
                        prefs::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(|e| {
                        crate::platform::db::unique_or(e, |_| {
                            AppError::conflict(
                                "notification.concurrent_change",
                                "通知偏好正被同时修改，请重试",
                                "The preferences are being changed at the same time; retry",
                            )
                        })
                    })?;
            }
            preferences(conn, user_id)
        })
        .await?;
    Ok(web::Json(view))
}

use crate::platform::enums::TextEnum;

/// `?token=` of the unsubscribe link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// From the link in a marketing email.
    #[param(min_length = 3, max_length = 100)]
    pub token: String,
}

/// One-click unsubscribe from marketing (NTF-2, RFC 8058): the link in
/// every marketing email; no login needed. Withdrawal is recorded with its
/// time.
#[utoipa::path(
    operation_id = "notifications_unsubscribe",
    tag = "me",
    params(UnsubscribeQuery),
    responses(
        (status = 204, description = "Unsubscribed (also when already)"),
        (status = 404, description = "Not a valid link (`unsubscribe.invalid`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/unsubscribe")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    meta: ClientMeta,
    query: web::Query<UnsubscribeQuery>,
) -> AppResult<HttpResponse> {
    let invalid = || {
        AppError::not_found(
            "unsubscribe.invalid",
            "退订链接无效",
            "Not a valid unsubscribe link",
        )
    };
    let token = query.into_inner().token;
    let user_id: i64 = token
        .split_once('.')
        .and_then(|(id, _)| id.parse().ok())
        .ok_or_else(invalid)?;
    let expected = unsubscribe_token(&state, user_id);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        token.as_bytes(),
    )) {
        return Err(invalid());
    }
    state
        .tx(move |conn, st| {
            if marketing_consented(conn, user_id)? {
                let now = st.clock.now_naive();
                record_consent(
                    conn,
                    user_id,
                    false,
                    "unsubscribe_link",
                    Some(&meta.ip),
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/devices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"platform": "android", "token": "1a0018970a9b1c2d3e4"}))]
pub struct DeviceRequest {
    pub platform: DevicePlatform,
    /// The push registration id (JPush) or device token.
    #[schema(min_length = 8, max_length = 256, pattern = r"^[\x21-\x7e]+$")]
    pub token: String,
}

/// A registered push device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub platform: DevicePlatform,
    /// The session it belongs to: its end removes the device.
    pub session_id: i64,
    pub created_at: DateTime<Utc>,
}

/// Register this session's push token (NTF-3). Logout, the session's end
/// and sealing remove it. Registering the same token again returns the same
/// device.
#[utoipa::path(
    operation_id = "me_devices_create",
    tag = "me",
    request_body = DeviceRequest,
    responses(
        (status = 201, description = "Registered", body = DeviceView),
        (status = 200, description = "Already registered for this session", body = DeviceView),
        (status = 422, description = "Malformed token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/devices")]
pub async fn register_device(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<DeviceRequest>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let token = req.token.trim().to_string();
    if !(8..=256).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid_field(
            "token",
            "device.token_invalid",
            "推送令牌须为 8–256 个可见 ASCII 字符",
            "The push token must be 8–256 visible ASCII characters",
        ));
    }
    let (user_id, session_id) = (user.user_id, user.session_id);
    let (device, created) = state
        .tx(move |conn, st| {
            let now = st.clock.now_naive();
            devices::register(conn, user_id, session_id, req.platform, &token, now)
        })
        .await?;
    let view = DeviceView {
        id: device.id,
        platform: device.platform,
        session_id: device.session_id,
        created_at: device.created_at.and_utc(),
    };
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Remove one of the caller's push devices (NTF-3).
#[utoipa::path(
    operation_id = "me_devices_delete",
    tag = "me",
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such device of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/me/devices/{id}")]
pub async fn delete_device(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (user_id, id) = (user.user_id, id.into_inner());
    state
        .tx(move |conn, _| devices::remove(conn, user_id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A message the development senders recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMessage {
    pub id: i64,
    /// `sms`, `email` or `push`.
    pub channel: String,
    #[schema(example = "code.register")]
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// `?recipient=` of the sandbox outbox.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SandboxQuery {
    /// A phone number, email address or push token.
    #[param(min_length = 1, max_length = 256)]
    pub recipient: String,
}

/// Sandbox only: what the development SMS, email and push senders "sent"
/// to `recipient`, newest first (at most 50). Read a registration code
/// here when trying the API locally. Answers 404 where the sandbox is
/// disabled (production by default).
#[utoipa::path(
    operation_id = "sandbox_outbox",
    tag = "sandbox",
    params(SandboxQuery),
    responses(
        (status = 200, description = "Messages, newest first", body = [SandboxMessage]),
        (status = 404, description = "Sandbox disabled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sandbox/outbox")]
pub async fn sandbox_outbox(
    state: web::Data<AppState>,
    query: web::Query<SandboxQuery>,
) -> AppResult<HttpResponse> {
    if !state.settings.delivery.sandbox_enabled {
        return Err(crate::platform::http::route_not_found());
    }
    let raw = query.into_inner().recipient;
    crate::platform::text::check_len("recipient", &raw, 1, 256)?;
    let recipient = if raw.contains('@') {
        raw.trim().to_lowercase()
    } else if let Ok(phone) = crate::platform::contact::Phone::parse(&raw) {
        phone.as_str().to_string()
    } else {
        raw.trim().to_string()
    };
    let rows = state
        .run(move |conn, _| delivery::sent_by_development(conn, &recipient, 50))
        .await?;
    let items: Vec<SandboxMessage> = rows
        .into_iter()
        .map(|r| SandboxMessage {
            id: r.id,
            channel: r.channel,
            kind: r.kind,
            recipient: r.recipient,
            subject: r.subject,
            body: r.body,
            sent_at: r.sent_at.map(|t| t.and_utc()),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(items))
}

text_enum! {
    /// Where an outbox message stands.
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        /// Out of tries: waits for an admin's retry.
        Dead = "dead",
    }
}

/// An outbox message as staff see it: recipient masked, codes never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxView {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub user_id: Option<i64>,
    /// Masked (`138****0000`, `l***@example.com`).
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub provider: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

fn mask_recipient(r: &str) -> String {
    if let Some((local, domain)) = r.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = r.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..chars.len() - 8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn outbox_view(r: OutboxRow) -> OutboxView {
    OutboxView {
        id: r.id,
        channel: r.channel,
        kind: r.kind,
        user_id: r.user_id,
        recipient: mask_recipient(&r.recipient),
        subject: r.subject,
        status: r.status,
        attempts: r.attempts,
        last_error: r.last_error,
        provider: r.provider,
        next_attempt_at: r.next_attempt_at.and_utc(),
        created_at: r.created_at.and_utc(),
        sent_at: r.sent_at.map(|t| t.and_utc()),
    }
}

/// `?status=` of the outbox list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `dead` (default), `pending` or `sent`.
    pub status: Option<OutboxStatus>,
}

/// Admins: outbox messages by status, newest first: dead letters (out of
/// tries) by default (NTF-1).
#[utoipa::path(
    operation_id = "admin_outbox_list",
    tag = "admin",
    params(PageQuery, OutboxQuery),
    responses(
        (status = 200, description = "Messages, newest first", body = Page<OutboxView>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/outbox")]
pub async fn admin_outbox(
    state: web::Data<AppState>,
    _staff: Staff<Admins>,
    page: web::Query<PageQuery>,
    filter: web::Query<OutboxQuery>,
) -> AppResult<web::Json<Page<OutboxView>>> {
    let limit = page.limit()?;
    let before = page.before_id()?;
    let status = filter.status.unwrap_or(OutboxStatus::Dead);
    let rows = state
        .run(move |conn, _| delivery::list(conn, status.text(), before, limit + 1))
        .await?;
    Ok(web::Json(page_by_id(rows, limit, |r| r.id, outbox_view)))
}

/// Admins: send a dead letter again (its tries start over). A code is never
/// sent again (it has run out; the user asks for a new one).
#[utoipa::path(
    operation_id = "admin_outbox_retry",
    tag = "admin",
    params(("id" = i64, Path, description = "Outbox message id")),
    responses(
        (status = 204, description = "Queued again"),
        (status = 404, description = "No such message", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a dead letter, or a code (`outbox.not_retryable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/outbox/{id}/retry")]
pub async fn admin_outbox_retry(
    state: web::Data<AppState>,
    staff: Staff<Admins>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let staff_id = staff.user_id;
    state
        .tx(move |conn, st| {
            if delivery::row(conn, id)?.is_none() {
                return Err(AppError::not_found(
                    "outbox.not_found",
                    "消息不存在",
                    "No such message",
                ));
            }
            if !delivery::retry(conn, id, st.clock.now_naive())? {
                return Err(AppError::conflict(
                    "outbox.not_retryable",
                    "只有未发出的失败消息（非验证码）可以重发",
                    "Only dead letters that are not codes can be retried",
                ));
            }
            crate::audit::record(
                conn,
                st,
                crate::audit::Entry::staff(staff_id, "outbox.retry", "outbox", id),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// PREF_CHANNELS and NoticeChannel name the same channels.
#[cfg(test)]
mod tests {
    use super::super::channels::PREF_CHANNELS;
    use super::*;

    #[test]
    fn channels_agree() {
        let names: Vec<&str> = NoticeChannel::all().iter().map(|c| c.text()).collect();
        assert_eq!(names, PREF_CHANNELS);
        assert_eq!(mask_recipient("+8613912345678"), "+86139****5678");
        assert_eq!(mask_recipient("li.ming@example.com"), "l***@example.com");
    }
}
