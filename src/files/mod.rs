//! Uploaded files (FIL-1..3, issue 14): what a user uploads, what cites it,
//! and who may read it through what cites it.
//!
//! The rest of the platform cites files by id (`file_ids` in a delivery, a
//! check-in, a work…): [`attach`] checks they are the caller's and records
//! the use; the use decides who else may read the file (the feature that
//! owns the citing row answers that, in `flows::files`).

pub mod content;
pub mod routes;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::{file_uses, files};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

text_enum! {
    /// What a file is uploaded for (`purpose`).
    pub enum Purpose {
        /// Evidence for a delivery, complaint, appeal or dispute.
        Evidence = "evidence",
        /// A check-in photo: its original (with its location metadata) is
        /// kept privately, others receive it stripped (WRK-3).
        CheckIn = "check_in",
        /// An image of a work on the profile (WRK-4).
        Work = "work",
        /// An attachment to a message.
        Message = "message",
    }
}

text_enum! {
    /// What cites a file.
    pub enum UseKind {
        /// An award's delivery (`use_id`: the award).
        Delivery = "delivery",
        /// A check-in (`use_id`: the award).
        CheckIn = "check_in",
        /// A work (`use_id`: the work).
        Work = "work",
        /// A complaint or report (`use_id`: the complaint).
        Complaint = "complaint",
        /// An appeal (`use_id`: the appeal).
        Appeal = "appeal",
        /// A dispute's opening or statement (`use_id`: the dispute event).
        DisputeEvent = "dispute_event",
        /// A message (`use_id`: the message; MSG-1).
        Message = "message",
    }
}

/// A file as its readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileView {
    pub id: i64,
    pub owner_id: i64,
    pub purpose: Purpose,
    /// Read from the content, not the name: `image/jpeg`, `image/png`,
    /// `image/webp` or `application/pdf`.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the bytes as uploaded (hex).
    pub sha256: String,
    pub file_name: String,
    /// Whether image metadata (EXIF, XMP, text chunks: location included)
    /// was removed from what others receive.
    pub metadata_stripped: bool,
    /// When the platform received it (FIL-3: the platform vouches for it).
    pub uploaded_at: DateTime<Utc>,
    /// `GET` it for the bytes (or a redirect to a short-lived link).
    pub content_url: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = files)]
pub struct Row {
    pub id: i64,
    pub owner_id: i64,
    pub purpose: Purpose,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub file_name: String,
    pub storage_key: String,
    pub original_key: Option<String>,
    pub metadata_stripped: bool,
    pub created_at: NaiveDateTime,
    pub attached_at: Option<NaiveDateTime>,
}

impl Row {
    pub fn view(&self) -> FileView {
        FileView {
            id: self.id,
            owner_id: self.owner_id,
            purpose: self.purpose,
            content_type: self.content_type.clone(),
            size_bytes: self.size_bytes,
            sha256: self.sha256.clone(),
            file_name: self.file_name.clone(),
            metadata_stripped: self.metadata_stripped,
            uploaded_at: self.created_at.and_utc(),
            content_url: format!("/api/v1/files/{}/content", self.id),
        }
    }
}

pub fn not_found() -> AppError {
    AppError::not_found("file.not_found", "文件不存在", "No such file")
}

pub fn load(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    files::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// What cites `file_id`.
pub fn uses(conn: &mut DbConnection, file_id: i64) -> AppResult<Vec<(UseKind, i64)>> {
    Ok(file_uses::table
        .filter(file_uses::file_id.eq(file_id))
        .select((file_uses::use_kind, file_uses::use_id))
        .load(conn)?)
}

/// The most files one row may cite.
pub const MAX_CITED: usize = 20;

/// FIL-3: `owner` cites `file_ids` from `(kind, use_id)`: each must be
/// theirs (else 422 naming `field[i]`); the use is recorded (once) and the
/// file is kept from the clean-up of files nothing cites. Returns the
/// files in the order given.
pub fn attach(
    conn: &mut DbConnection,
    st: &AppState,
    owner: i64,
    field: &str,
    file_ids: &[i64],
    (kind, use_id): (UseKind, i64),
) -> AppResult<Vec<FileView>> {
    if file_ids.len() > MAX_CITED {
        return Err(AppError::invalid_field(
            field,
            "file.too_many",
            "最多引用 20 个文件",
            "At most 20 files",
        ));
    }
    let now = st.clock.now_naive();
    let mut out = Vec::with_capacity(file_ids.len());
    for (i, id) in file_ids.iter().enumerate() {
        let row = files::table
            .find(id)
            .filter(files::owner_id.eq(owner))
            .select(Row::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                AppError::invalid_field(
                    &format!("{field}[{i}]"),
                    "file.not_found",
                    "文件不存在或不属于您",
                    "No such file of yours",
                )
            })?;
        let cited: bool = diesel::select(diesel::dsl::exists(
            file_uses::table
                .filter(file_uses::file_id.eq(id))
                .filter(file_uses::use_kind.eq(kind))
                .filter(file_uses::use_id.eq(use_id)),
        ))
        .get_result(conn)?;
        if !cited {
            diesel::insert_into(file_uses::table)
                .values((
                    file_uses::file_id.eq(id),
                    file_uses::use_kind.eq(kind),
                    file_uses::use_id.eq(use_id),
                    file_uses::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        if row.attached_at.is_none() {
            diesel::update(files::table.find(id))
                .set(files::attached_at.eq(now))
                .execute(conn)?;
        }
        out.push(row.view());
    }
    Ok(out)
}

/// The files `(kind, use_id)` cites, in citing order.
pub fn cited_by(conn: &mut DbConnection, kind: UseKind, use_id: i64) -> AppResult<Vec<FileView>> {
    Ok(cited_by_each(conn, kind, &[use_id])?
        .remove(&use_id)
        .unwrap_or_default())
}

/// The files each of `use_ids` cites as `kind`, in citing order: one query
/// however many.
pub fn cited_by_each(
    conn: &mut DbConnection,
    kind: UseKind,
    use_ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<FileView>>> {
    let mut out: std::collections::HashMap<i64, Vec<FileView>> = Default::default();
    if use_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, Row)> = files::table
        .inner_join(file_uses::table)
        .filter(file_uses::use_kind.eq(kind))
        .filter(file_uses::use_id.eq_any(use_ids))
        .order((file_uses::created_at.asc(), files::id.asc()))
        .select((file_uses::use_id, Row::as_select()))
        .load(conn)?;
    for (use_id, row) in rows {
        out.entry(use_id).or_default().push(row.view());
    }
    Ok(out)
}

/// Views of files `ids` by id: one query however many.
pub fn views_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, FileView>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Row> = files::table
        .filter(files::id.eq_any(ids))
        .select(Row::as_select())
        .load(conn)?;
    Ok(rows.iter().map(|r| (r.id, r.view())).collect())
}

/// Bytes `owner` has stored (FIL-1 quota).
pub fn stored_bytes(conn: &mut DbConnection, owner: i64) -> AppResult<i64> {
    let used: Option<i64> = files::table
        .filter(files::owner_id.eq(owner))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(size_bytes) AS BIGINT)"))
        .first(conn)?;
    Ok(used.unwrap_or(0))
}

/// FIL-1: files nothing cites a day after their upload are removed (rows
/// here, bytes by the caller from the keys returned).
pub fn purge_unattached(conn: &mut DbConnection, st: &AppState) -> AppResult<Vec<String>> {
    let cutoff = st.clock.now_naive() - chrono::Duration::days(1);
    let stale: Vec<(i64, String, Option<String>)> = files::table
        .filter(files::attached_at.is_null())
        .filter(files::created_at.lt(cutoff))
        .select((files::id, files::storage_key, files::original_key))
        .limit(500)
        .load(conn)?;
    let mut keys = Vec::new();
    for (id, key, original) in stale {
        let n = diesel::delete(files::table.find(id).filter(files::attached_at.is_null()))
            .execute(conn)?;
        if n == 1 {
            keys.push(key);
            keys.extend(original);
        }
    }
    Ok(keys)
}
