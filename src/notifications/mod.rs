//! In-app notifications: every rule that says "notify" writes one here, in
//! the same transaction as the change it reports (`GET /me/notifications`).

pub mod channels;
pub mod events;
pub mod routes;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::platform::db::DbConnection;
use crate::platform::db::schema::notifications;
use crate::platform::error::{AppError, AppResult};
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

/// A message for a user about something that happened to their account.
pub struct Notice<'a> {
    /// Stable machine-readable kind, e.g. `verification.approved`.
    pub kind: &'a str,
    pub title: &'a str,
    pub body: String,
    /// The API path of the object it is about, when there is one.
    pub link: Option<String>,
}

/// Writes a notification for `user_id`, and its SMS, email and push
/// messages to the outbox by kind and the user's choices (NTF-1).
pub fn notify(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    notice: Notice<'_>,
) -> AppResult<()> {
    let id = keep(conn, st, user_id, &notice)?;
    channels::deliver(conn, st, user_id, id, &notice)?;
    publish_notice(conn, st, user_id, id, notice)
}

/// Writes a notification for `user_id` that goes out by exactly `via`
/// (`sms`, `email`, `push`) whatever the user's choices: security notices
/// told on a channel other than the one just used (ACC-13).
pub fn notify_via(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    notice: Notice<'_>,
    via: &[&str],
) -> AppResult<()> {
    let id = keep(conn, st, user_id, &notice)?;
    channels::enqueue(conn, st, user_id, id, &notice, via)?;
    publish_notice(conn, st, user_id, id, notice)
}

/// The in-app record.
fn keep(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    notice: &Notice<'_>,
) -> AppResult<i64> {
    let id: i64 = diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user_id),
            notifications::kind.eq(notice.kind),
            notifications::title.eq(notice.title),
            notifications::body.eq(&notice.body),
            notifications::link.eq(&notice.link),
            notifications::created_at.eq(st.clock.now_naive()),
        ))
        .returning(notifications::id)
        .get_result(conn)?;
    Ok(id)
}

fn publish_notice(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    id: i64,
    notice: Notice<'_>,
) -> AppResult<()> {
    // MSG-2: an app in the foreground hears of it at once.
    events::publish(
        conn,
        st,
        user_id,
        "notification",
        &serde_json::json!({
            "id": id, "kind": notice.kind, "title": notice.title,
            "body": notice.body, "link": notice.link,
        }),
    )
}

/// Who [`notify_many`] writes to.
pub enum Recipients<'a> {
    /// These users.
    Users(&'a [i64]),
    /// Every active marketplace user (e.g. a new agreement version).
    AllActiveUsers,
}

/// Writes the same notification to many users: a list of users one by one
/// with their channels; every active user with one INSERT … SELECT
/// (MultiConnection has no multi-row VALUES), in-app only.
pub fn notify_many(
    conn: &mut DbConnection,
    st: &AppState,
    to: Recipients<'_>,
    notice: Notice<'_>,
) -> AppResult<()> {
    use crate::platform::db::schema::users;
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Text, Timestamp};
    if let Recipients::Users(ids) = to {
        // A few users: each one's channels, as [`notify`] does; each once.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for user_id in ids {
            notify(
                conn,
                st,
                user_id,
                Notice {
                    kind: notice.kind,
                    title: notice.title,
                    body: notice.body.clone(),
                    link: notice.link.clone(),
                },
            )?;
        }
        return Ok(());
    }
    // Every active user: the in-app notice only (a broadcast such as a new
    // agreement version is not sent by SMS, email or push).
    let select = users::table
        .select((
            users::id,
            sql::<Text>("").bind::<Text, _>(notice.kind.to_string()),
            sql::<Text>("").bind::<Text, _>(notice.title.to_string()),
            sql::<Text>("").bind::<Text, _>(notice.body),
            sql::<Nullable<Text>>("").bind::<Nullable<Text>, _>(notice.link),
            sql::<Timestamp>("").bind::<Timestamp, _>(st.clock.now_naive()),
        ))
        .filter(users::role.eq(crate::auth::accounts::Role::User))
        .filter(users::status.eq(crate::auth::accounts::UserStatus::Active));
    diesel::insert_into(notifications::table)
        .values(select)
        .into_columns((
            notifications::user_id,
            notifications::kind,
            notifications::title,
            notifications::body,
            notifications::link,
            notifications::created_at,
        ))
        .execute(conn)?;
    Ok(())
}

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    #[schema(example = "verification.approved")]
    pub kind: String,
    #[schema(example = "实名认证已通过")]
    pub title: String,
    pub body: String,
    /// The API path of the object it is about.
    #[schema(example = "/api/v1/me/verification")]
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Filter for the notification list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread notifications.
    pub unread: Option<bool>,
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// The caller's notifications, newest first.
#[utoipa::path(
    operation_id = "me_notifications_list",
    tag = "me",
    params(PageQuery, NotificationQuery),
    responses((status = 200, description = "Notifications, newest first", body = Page<NotificationView>)),
    security(("bearer" = []))
)]
#[get("/me/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
    filter: web::Query<NotificationQuery>,
) -> AppResult<web::Json<Page<NotificationView>>> {
    let limit = page.limit()?;
    let before = page.before_id()?;
    let unread = filter.unread.unwrap_or(false);
    let user_id = user.user_id;
    let rows: Vec<Row> = state
        .run(move |conn, _| {
            let mut q = notifications::table
                .filter(notifications::user_id.eq(user_id))
                .select((
                    notifications::id,
                    notifications::kind,
                    notifications::title,
                    notifications::body,
                    notifications::link,
                    notifications::created_at,
                    notifications::read_at,
                ))
                .order(notifications::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(before) = before {
                q = q.filter(notifications::id.lt(before));
            }
            if unread {
                q = q.filter(notifications::read_at.is_null());
            }
            Ok(q.load(conn)?)
        })
        .await?;
    Ok(web::Json(page_by_id(
        rows,
        limit,
        |r| r.0,
        |r| NotificationView {
            id: r.0,
            kind: r.1,
            title: r.2,
            body: r.3,
            link: r.4,
            created_at: r.5.and_utc(),
            read_at: r.6.map(|t| t.and_utc()),
        },
    )))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(
    operation_id = "me_notifications_mark_read",
    tag = "me",
    params(("id" = i64, Path, description = "Notification id")),
    responses(
        (status = 204, description = "Marked read (also when it already was)"),
        (status = 404, description = "No such notification of the caller", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/notifications/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let user_id = user.user_id;
    state
        .tx(move |conn, st| {
            let mine = notifications::table
                .filter(notifications::id.eq(id))
                .filter(notifications::user_id.eq(user_id));
            diesel::update(mine.filter(notifications::read_at.is_null()))
                .set(notifications::read_at.eq(st.clock.now_naive()))
                .execute(conn)?;
            let found: bool = diesel::select(diesel::dsl::exists(mine)).get_result(conn)?;
            if !found {
                return Err(AppError::not_found(
                    "notification.not_found",
                    "通知不存在",
                    "No such notification",
                ));
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
