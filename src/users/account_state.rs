//! The account's state on its `users` row. Users is the only writer of
//! that row: closure, inactivity, sealing and anonymisation move it through
//! these functions, each a conditional update that says whether it moved.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::UserStatus;
use crate::platform::db::DbConnection;
use crate::platform::db::schema::users;
use crate::platform::error::AppResult;

/// Moves the account to `to`, from `from` when given (any state when not);
/// returns whether it moved.
pub fn change_status(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    from: Option<UserStatus>,
    to: UserStatus,
) -> AppResult<bool> {
    let mut query = diesel::update(users::table).into_boxed();
    query = query.filter(users::id.eq(user_id));
    if let Some(from) = from {
        query = query.filter(users::status.eq(from));
    }
    let n = query
        .set((
            users::status.eq(to),
            users::status_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// The account's state (none: no such user).
pub fn status_of(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<UserStatus>> {
    Ok(users::table
        .find(user_id)
        .select(users::status)
        .first(conn)
        .optional()?)
}

/// Sealed accounts (VIO-3), oldest first; FND-6 settles their funds.
pub fn sealed_ids(conn: &mut DbConnection) -> AppResult<Vec<i64>> {
    Ok(users::table
        .filter(users::status.eq(UserStatus::Sealed))
        .order(users::id.asc())
        .select(users::id)
        .limit(1_000)
        .load(conn)?)
}

type ById = diesel::dsl::Filter<users::table, diesel::dsl::Eq<users::id, i64>>;
type Active = diesel::dsl::Filter<ById, diesel::dsl::Eq<users::status, UserStatus>>;
type SameLogin = diesel::dsl::Filter<Active, diesel::dsl::Eq<users::last_login_at, NaiveDateTime>>;
type UnchangedSince =
    diesel::dsl::Filter<SameLogin, diesel::dsl::Eq<users::inactivity_warned, i32>>;

/// The active account as an inactivity run saw it: same last login and
/// warning level.
fn unchanged_since(user_id: i64, last_login: NaiveDateTime, warned: i32) -> UnchangedSince {
    users::table
        .filter(users::id.eq(user_id))
        .filter(users::status.eq(UserStatus::Active))
        .filter(users::last_login_at.eq(last_login))
        .filter(users::inactivity_warned.eq(warned))
}

/// ACC-9: records that warning `level` was sent, unless the user logged in
/// (or another run warned) meanwhile.
pub fn mark_warned(
    conn: &mut DbConnection,
    user_id: i64,
    last_login: NaiveDateTime,
    warned: i32,
    level: i32,
) -> AppResult<bool> {
    let n = diesel::update(unchanged_since(user_id, last_login, warned))
        .set(users::inactivity_warned.eq(level))
        .execute(conn)?;
    Ok(n > 0)
}

/// ACC-9: reclaims the account, unless the user logged in meanwhile.
pub fn reclaim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    last_login: NaiveDateTime,
    warned: i32,
) -> AppResult<bool> {
    let n = diesel::update(unchanged_since(user_id, last_login, warned))
        .set((
            users::status.eq(UserStatus::Reclaimed),
            users::status_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// ACC-10: removes the personal data of a closed account once; the row
/// stays for the records money and rules need.
pub fn anonymise(conn: &mut DbConnection, now: NaiveDateTime, user_id: i64) -> AppResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::status.eq(UserStatus::Closed))
            .filter(users::anonymized_at.is_null()),
    )
    .set((
        users::member_name.eq(None::<String>),
        users::member_name_key.eq(None::<String>),
        users::email.eq(None::<String>),
        users::email_key.eq(None::<String>),
        users::phone.eq(None::<String>),
        users::contact_name.eq("已注销用户"),
        users::address.eq("-"),
        users::password_hash.eq("!"),
        users::anonymized_at.eq(now),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Takes the account row's lock without changing it (a conditional edit of
/// the account reads, compares and writes under it).
pub fn lock_row(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::updated_at.eq(users::updated_at))
        .execute(conn)?;
    Ok(())
}
