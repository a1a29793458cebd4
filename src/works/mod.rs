//! Works (作品, WRK-4): what a provider shows on the profile — a title, a
//! text and images. The owner adds and removes them; the DEP-7 refund
//! payout removes them all (DR §3.3: the provider leaves the platform).

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::files::{self, FileView, UseKind};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::works;
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;
use crate::platform::text::{long_text, plain_text};

text_enum! {
    /// Why a work is no longer shown.
    pub enum Removal {
        /// Its owner removed it.
        Owner = "owner",
        /// The deposit refund was paid out (DEP-7, DR §3.3).
        DepositRefunded = "deposit_refunded",
        /// Staff removed it as a violation measure (VIO-3).
        Moderation = "moderation",
    }
}

/// Whether work `id` is shown (not removed).
pub fn is_shown(conn: &mut DbConnection, id: i64) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        works::table.find(id).filter(works::removed_at.is_null()),
    ))
    .get_result(conn)?)
}

/// `POST /api/v1/me/works`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWork {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// Images uploaded with purpose `work` (the caller's own), at most 9.
    #[serde(deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 9)]
    pub file_ids: Vec<i64>,
}

/// A work as shown on the profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkView {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub text: String,
    pub images: Vec<FileView>,
    pub created_at: DateTime<Utc>,
}

fn not_found() -> AppError {
    AppError::not_found("work.not_found", "作品不存在", "No such work")
}

fn view(
    conn: &mut DbConnection,
    row: (i64, i64, String, String, NaiveDateTime),
) -> AppResult<WorkView> {
    let (id, owner_id, title, text, created_at) = row;
    Ok(WorkView {
        id,
        owner_id,
        title,
        text,
        images: files::cited_by(conn, UseKind::Work, id)?,
        created_at: created_at.and_utc(),
    })
}

/// The works `owner` shows, newest first.
pub fn shown(conn: &mut DbConnection, owner: i64) -> AppResult<Vec<WorkView>> {
    let rows: Vec<(i64, i64, String, String, NaiveDateTime)> = works::table
        .filter(works::owner_id.eq(owner))
        .filter(works::removed_at.is_null())
        .order(works::id.desc())
        .limit(100)
        .select((
            works::id,
            works::owner_id,
            works::title,
            works::body,
            works::created_at,
        ))
        .load(conn)?;
    // Every work's images in one query.
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut images = files::cited_by_each(conn, UseKind::Work, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, owner_id, title, text, created_at)| WorkView {
            images: images.remove(&id).unwrap_or_default(),
            id,
            owner_id,
            title,
            text,
            created_at: created_at.and_utc(),
        })
        .collect())
}

/// WRK-4, DEP-7: every work of `owner` is taken down (the refund payout).
pub fn remove_all_of(conn: &mut DbConnection, st: &AppState, owner: i64) -> AppResult<usize> {
    Ok(diesel::update(
        works::table
            .filter(works::owner_id.eq(owner))
            .filter(works::removed_at.is_null()),
    )
    .set((
        works::removed_at.eq(st.clock.now_naive()),
        works::removed_reason.eq(Removal::DepositRefunded),
    ))
    .execute(conn)?)
}

/// WRK-4, VIO-3: staff take down work `id` of `owner` (404 when it is not
/// a shown work of theirs).
pub fn take_down(conn: &mut DbConnection, st: &AppState, owner: i64, id: i64) -> AppResult<()> {
    remove(conn, st, owner, id, Removal::Moderation)
}

/// Work `id` of `owner` is no longer shown, for `why` (404 when it is not
/// a shown work of theirs).
fn remove(
    conn: &mut DbConnection,
    st: &AppState,
    owner: i64,
    id: i64,
    why: Removal,
) -> AppResult<()> {
    let n = diesel::update(
        works::table
            .find(id)
            .filter(works::owner_id.eq(owner))
            .filter(works::removed_at.is_null()),
    )
    .set((
        works::removed_at.eq(st.clock.now_naive()),
        works::removed_reason.eq(why),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// VIO-6: an upheld appeal shows again a work staff took down (not one its
/// owner or the refund payout removed since).
pub fn restore(conn: &mut DbConnection, id: i64) -> AppResult<()> {
    diesel::update(
        works::table
            .find(id)
            .filter(works::removed_reason.eq(Removal::Moderation)),
    )
    .set((
        works::removed_at.eq(None::<NaiveDateTime>),
        works::removed_reason.eq(None::<Removal>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Add a work to the caller's profile (WRK-4).
#[utoipa::path(
    operation_id = "me_works_create",
    tag = "users",
    request_body = NewWork,
    responses(
        (status = 201, description = "Shown on the profile", body = WorkView),
        (status = 422, description = "A field out of bounds, prohibited content, or a file not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/works")]
pub async fn add_work(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<NewWork>,
) -> AppResult<HttpResponse> {
    let (owner, req) = (user.user_id, body.into_inner());
    let work = state
        .tx(move |conn, st| {
            let title = plain_text("title", &req.title, 100)?;
            let text = long_text("text", &req.text, 2000)?;
            if req.file_ids.len() > 9 {
                return Err(AppError::invalid_field(
                    "file_ids",
                    "work.too_many_images",
                    "作品最多 9 张图片",
                    "At most 9 images",
                ));
            }
            let words = crate::content::filter(conn, st)?;
            for (field, value) in [("title", &title), ("text", &text)] {
                if let Some(category) = words.find(value) {
                    return Err(crate::content::prohibited(
                        field,
                        "work.prohibited",
                        category,
                    ));
                }
            }
            let now = st.clock.now_naive();
            let id: i64 = diesel::insert_into(works::table)
                .values((
                    works::owner_id.eq(owner),
                    works::title.eq(&title),
                    works::body.eq(&text),
                    works::created_at.eq(now),
                ))
                .returning(works::id)
                .get_result(conn)?;
            files::attach(
                conn,
                st,
                owner,
                "file_ids",
                &req.file_ids,
                (UseKind::Work, id),
            )?;
            view(conn, (id, owner, title, text, now))
        })
        .await?;
    Ok(crate::platform::http::created(&work))
}

/// Remove one of the caller's works (WRK-4).
#[utoipa::path(
    operation_id = "me_works_delete",
    tag = "users",
    params(("id" = i64, Path, description = "Work id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such work of the caller (`work.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/me/works/{id}")]
pub async fn remove_work(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (owner, id) = (user.user_id, id.into_inner());
    state
        .tx(move |conn, st| remove(conn, st, owner, id, Removal::Owner))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's works (WRK-4): anyone, newest first.
#[utoipa::path(
    operation_id = "user_works_list",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The works shown", body = Vec<WorkView>))
)]
#[get("/users/{id}/works")]
pub async fn user_works(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<WorkView>>> {
    let id = id.into_inner();
    Ok(web::Json(state.run(move |conn, _| shown(conn, id)).await?))
}
