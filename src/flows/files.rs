//! Reading a file (FIL-2): who may is decided by what cites it, and the
//! features that own those rows answer (an award's parties for its
//! delivery). Its owner may always; staff may through an audited read;
//! anyone else gets 404, as if it did not exist.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::audit::{self, Actor};
use crate::auth::{Caller, MaybeUser};
use crate::files::{self, FileView, UseKind};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppResult, Problem};
use crate::platform::state::AppState;

/// May `caller` (or an anonymous visitor) read `row`? Staff reads are
/// written to the audit log.
fn readable(
    conn: &mut DbConnection,
    st: &AppState,
    caller: Option<&Caller>,
    row: &files::Row,
) -> AppResult<()> {
    let uses = files::uses(conn, row.id)?;
    let Some(caller) = caller else {
        // Anonymous: only what is public, a shown work's images.
        for (kind, use_id) in uses {
            if kind == UseKind::Work && crate::works::is_shown(conn, use_id)? {
                return Ok(());
            }
        }
        return Err(files::not_found());
    };
    if row.owner_id == caller.user_id {
        return Ok(());
    }
    for (kind, use_id) in uses {
        let allowed = match kind {
            // The award's parties see its delivery and check-ins.
            UseKind::Delivery | UseKind::CheckIn => {
                crate::marketplace::awards::load_for(conn, use_id, Some(caller.user_id)).is_ok()
            }
            // Works are shown on the public profile while not removed.
            UseKind::Work => crate::works::is_shown(conn, use_id)?,
            // Complaint evidence: the reporter (and staff, below).
            UseKind::Complaint => {
                crate::conduct::complaints::reporter_of(conn, use_id)? == Some(caller.user_id)
            }
            // Appeal evidence: the appellant (and staff, below).
            UseKind::Appeal => {
                crate::conduct::violations::appellant_of(conn, use_id)? == Some(caller.user_id)
            }
            // Dispute evidence: the dispute's parties (and staff, below).
            UseKind::DisputeEvent => crate::disputes::event_parties(conn, use_id)?
                .is_some_and(|(e, p)| caller.user_id == e || caller.user_id == p),
            // A message's files: the conversation's parties.
            UseKind::Message => crate::conversations::message_parties(conn, use_id)?
                .is_some_and(|(e, p)| caller.user_id == e || caller.user_id == p),
        };
        if allowed {
            return Ok(());
        }
    }
    if caller.role.is_staff() {
        return audit::record(
            conn,
            st,
            audit::Entry {
                actor: Actor::Staff(caller.user_id),
                action: "file.read",
                target_type: "file",
                target_id: Some(row.id.to_string()),
                reason: None,
                details: None,
                ip: None,
            },
        );
    }
    Err(files::not_found())
}

/// A file's description (FIL-2): its owner, the parties of what cites it,
/// staff (audited); anyone, without a token, for a shown work's images.
#[utoipa::path(
    operation_id = "files_get",
    tag = "files",
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 200, description = "The file", body = FileView),
        (status = 404, description = "No such file the caller may read (`file.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = []))
)]
#[get("/files/{id}")]
pub async fn get_file(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<FileView>> {
    let (caller, id) = (user.0, id.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| {
                let row = files::load(conn, id)?;
                readable(conn, st, caller.as_ref(), &row)?;
                Ok(row.view())
            })
            .await?,
    ))
}

/// A file's bytes, as documented.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBytes(Vec<u8>);

/// `inline; filename="…"; filename*=UTF-8''…` (RFC 6266).
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A file's bytes (FIL-2), to whoever may read it: from the server with
/// the local store, or a `307` to a link valid `FILE_LINK_TTL_SECS` with
/// an object store. What others receive has no image metadata.
#[utoipa::path(
    operation_id = "files_content",
    tag = "files",
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 200, description = "The bytes (local store)",
            content((FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
        (status = 307, description = "A short-lived link to the bytes (object store)",
            headers(("Location" = String, description = "The signed link"))),
        (status = 404, description = "No such file the caller may read (`file.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = []))
)]
#[get("/files/{id}/content")]
pub async fn file_content(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (caller, id) = (user.0, id.into_inner());
    let row = state
        .tx(move |conn, st| {
            let row = files::load(conn, id)?;
            readable(conn, st, caller.as_ref(), &row)?;
            Ok(row)
        })
        .await?;
    let ttl = std::time::Duration::from_secs(state.settings.files.link_ttl_secs);
    if let Some(link) = state.storage.signed_url(
        &row.storage_key,
        ttl,
        &row.content_type,
        &disposition_name(&row),
    ) {
        return Ok(HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, link))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let st = state.get_ref().clone();
    let key = row.storage_key.clone();
    let bytes = web::block(move || st.storage.get(&key)).await??;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition(&row.file_name)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// The file name for the object store's `response-content-disposition`
/// (ASCII only: it travels in a signed query).
fn disposition_name(row: &files::Row) -> String {
    row.file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
