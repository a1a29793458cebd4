//! Push devices (NTF-3): the app registers its push token per session; the
//! session's end (logout, revocation, password reset, sealing) removes it,
//! and push goes only to devices of live sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::{devices, sessions};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};

text_enum! {
    /// The app's platform.
    pub enum DevicePlatform {
        Ios = "ios",
        Android = "android",
    }
}

/// A registered device.
#[derive(Debug, Clone, Queryable)]
pub struct Device {
    pub id: i64,
    pub platform: DevicePlatform,
    pub token: String,
    pub session_id: i64,
    pub created_at: NaiveDateTime,
}

/// Registers `token` for the caller's session. A token is one device: if
/// another session (or account) had it, it moves here; registering it again
/// returns the same row (retries create nothing twice).
pub fn register(
    conn: &mut DbConnection,
    user_id: i64,
    session_id: i64,
    platform: DevicePlatform,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<(Device, bool)> {
    let existing: Option<Device> = devices::table
        .filter(devices::platform.eq(platform))
        .filter(devices::token.eq(token))
        .select(columns())
        .first(conn)
        .optional()?;
    if let Some(device) = existing {
        if device.session_id == session_id {
            return Ok((device, false));
        }
        diesel::delete(devices::table.find(device.id)).execute(conn)?;
    }
    let id: i64 = diesel::insert_into(devices::table)
        .values((
            devices::user_id.eq(user_id),
            devices::session_id.eq(session_id),
            devices::platform.eq(platform),
            devices::token.eq(token),
            devices::created_at.eq(now),
        ))
        .returning(devices::id)
        .get_result(conn)
        .map_err(|e| {
            crate::platform::db::unique_or(e, |_| {
                AppError::conflict(
                    "device.busy",
                    "该推送令牌正在注册，请重试",
                    "This push token is being registered at the same time; retry",
                )
            })
        })?;
    Ok((
        Device {
            id,
            platform,
            token: token.to_string(),
            session_id,
            created_at: now,
        },
        true,
    ))
}

type Columns = (
    devices::id,
    devices::platform,
    devices::token,
    devices::session_id,
    devices::created_at,
);

fn columns() -> Columns {
    (
        devices::id,
        devices::platform,
        devices::token,
        devices::session_id,
        devices::created_at,
    )
}

/// Removes one of the user's devices.
pub fn remove(conn: &mut DbConnection, user_id: i64, id: i64) -> AppResult<()> {
    let n = diesel::delete(
        devices::table
            .filter(devices::id.eq(id))
            .filter(devices::user_id.eq(user_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::not_found(
            "device.not_found",
            "设备不存在",
            "No such device",
        ));
    }
    Ok(())
}

/// The user's devices on live sessions: where push goes.
pub fn live(conn: &mut DbConnection, user_id: i64, now: NaiveDateTime) -> AppResult<Vec<Device>> {
    Ok(devices::table
        .inner_join(sessions::table)
        .filter(devices::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(columns())
        .order(devices::id)
        .load(conn)?)
}

/// NTF-3: a session ended; its devices go with it.
pub fn forget_session(conn: &mut DbConnection, session_id: i64) -> AppResult<()> {
    diesel::delete(devices::table.filter(devices::session_id.eq(session_id))).execute(conn)?;
    Ok(())
}

/// NTF-3: every session of the user ended (except `keep`).
pub fn forget_user(conn: &mut DbConnection, user_id: i64, keep: Option<i64>) -> AppResult<()> {
    diesel::delete(
        devices::table
            .filter(devices::user_id.eq(user_id))
            .filter(devices::session_id.ne(keep.unwrap_or(-1))),
    )
    .execute(conn)?;
    Ok(())
}

/// Devices of sessions that ran out on their own.
pub fn purge_expired(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    let dead = sessions::table
        .filter(
            sessions::revoked_at
                .is_not_null()
                .or(sessions::expires_at.le(now)),
        )
        .select(sessions::id);
    Ok(diesel::delete(devices::table.filter(devices::session_id.eq_any(dead))).execute(conn)?)
}
