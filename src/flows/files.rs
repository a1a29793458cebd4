//! Reading a file (FIL-2): who may is decided by what cites it, and the
//! features that own those rows answer (an award's parties for its
//! delivery). Its owner may always; staff may through an audited read;
//! anyone else gets 404, as if it did not exist.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::audit::{self, Actor};
use crate::auth::accounts::Role;
use crate::auth::{Caller, MaybeUser};
use crate::conversations;
use crate::files::{self, FileView, UseKind};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;

/// A staff read of a message's file names its ground (MSG-7).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileVia {
    /// Staff only, for a file a message cites: `complaint:ID`,
    /// `dispute:ID` or `violation:ID` concerning its conversation.
    #[param(pattern = r"^(complaint|dispute|violation):[1-9][0-9]{0,17}$")]
    pub via: Option<String>,
}

/// How a caller may read a file: plainly, or as a confidential file of a
/// message (MSG-6: a download is recorded as evidence).
enum Access {
    Plain,
    Confidential(conversations::MessageAccess, i64),
}

/// May `caller` (or an anonymous visitor) read `row`? Staff reads are
/// written to the audit log; a file a message cites is read by staff only
/// through a case that concerns its conversation (`via`, MSG-7).
fn readable(
    conn: &mut DbConnection,
    st: &AppState,
    caller: Option<&Caller>,
    row: &files::Row,
    via: Option<&str>,
) -> AppResult<Access> {
    let uses = files::uses(conn, row.id)?;
    let Some(caller) = caller else {
        // Anonymous: only what is public, a shown work's images.
        for (kind, use_id) in uses {
            if kind == UseKind::Work && crate::works::is_shown(conn, use_id)? {
                return Ok(Access::Plain);
            }
        }
        return Err(files::not_found());
    };
    if row.owner_id == caller.user_id {
        return Ok(Access::Plain);
    }
    let me = caller.user_id;
    // MSG-6 first: a file a confidential message cites stays confidential
    // to its provider whatever else cites it.
    let mut messages = Vec::new();
    for (kind, use_id) in &uses {
        if *kind == UseKind::Message
            && let Some(m) = conversations::message_access(conn, *use_id)?
        {
            messages.push((m, *use_id));
        }
    }
    let mine = |m: &conversations::MessageAccess| m.employer_id == me || m.provider_id == me;
    if let Some(i) = messages.iter().position(|(m, _)| m.confidential && mine(m)) {
        let (m, message_id) = messages.swap_remove(i);
        confidential_open(conn, &m)?;
        return Ok(Access::Confidential(m, message_id));
    }
    if messages.iter().any(|(m, _)| mine(m)) {
        return Ok(Access::Plain);
    }
    for (kind, use_id) in &uses {
        let use_id = *use_id;
        let allowed = match kind {
            // The award's parties see its delivery and check-ins.
            UseKind::Delivery | UseKind::CheckIn => {
                crate::marketplace::awards::load_for(conn, use_id, Some(me)).is_ok()
            }
            // Works are shown on the public profile while not removed.
            UseKind::Work => crate::works::is_shown(conn, use_id)?,
            // Complaint evidence: the reporter (and staff, below).
            UseKind::Complaint => {
                crate::conduct::complaints::reporter_of(conn, use_id)? == Some(me)
            }
            // Appeal evidence: the appellant (and staff, below).
            UseKind::Appeal => crate::conduct::violations::appellant_of(conn, use_id)? == Some(me),
            // Dispute evidence: the dispute's parties (and staff, below).
            UseKind::DisputeEvent => crate::disputes::event_parties(conn, use_id)?
                .is_some_and(|(e, p)| me == e || me == p),
            // Messages were decided above.
            UseKind::Message => false,
        };
        if allowed {
            return Ok(Access::Plain);
        }
    }
    staff_read(conn, st, caller, row, &uses, &messages, via)
}

/// A staff read of a file (audited): through any use but a message; a
/// file only messages cite needs a moderator and a case that concerns one
/// of their conversations (MSG-7).
fn staff_read(
    conn: &mut DbConnection,
    st: &AppState,
    caller: &Caller,
    row: &files::Row,
    uses: &[(UseKind, i64)],
    messages: &[(conversations::MessageAccess, i64)],
    via: Option<&str>,
) -> AppResult<Access> {
    if !caller.role.is_staff() {
        return Err(files::not_found());
    }
    let only_messages = !uses.is_empty() && uses.iter().all(|(k, _)| *k == UseKind::Message);
    if only_messages {
        let moderator = matches!(caller.role, Role::Admin | Role::Moderator);
        let mut grounded = false;
        if let (true, Some(via)) = (moderator, via) {
            for (m, _) in messages {
                if super::conversations::concerns(conn, m.conversation_id, via)? {
                    grounded = true;
                    break;
                }
            }
        }
        if !grounded {
            return Err(files::not_found());
        }
    }
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(caller.user_id),
            action: "file.read",
            target_type: "file",
            target_id: Some(row.id.to_string()),
            reason: via,
            details: None,
            ip: None,
        },
    )?;
    Ok(Access::Plain)
}

/// MSG-6: a confidential file is served once the award's terms are
/// accepted (403 before).
fn confidential_open(conn: &mut DbConnection, m: &conversations::MessageAccess) -> AppResult<()> {
    let accepted = match m.award_id {
        Some(award) => crate::marketplace::awards::confidentiality_accepted(conn, award)?,
        None => None,
    };
    if accepted == Some(true) {
        return Ok(());
    }
    Err(AppError::forbidden(
        "file.confidentiality_not_accepted",
        "请先接受该订单的保密条款再查看保密文件",
        "Accept the award's confidentiality terms before reading confidential files",
    ))
}

/// MSG-6: every download of a confidential file by the other party is
/// evidence (who, when).
fn record_download(
    conn: &mut DbConnection,
    st: &AppState,
    reader: i64,
    file_id: i64,
    access: &Access,
) -> AppResult<()> {
    let Access::Confidential(m, message_id) = access else {
        return Ok(());
    };
    let about = (m.award_id, Some(m.conversation_id), Some(*message_id));
    let summary = format!("下载了保密文件 #{file_id}");
    conversations::evidence::record(
        conn,
        st,
        conversations::evidence::EvidenceKind::ConfidentialDownload,
        reader,
        about,
        &summary,
    )?;
    Ok(())
}

/// A file's description (FIL-2): its owner, the parties of what cites it,
/// staff (audited); anyone, without a token, for a shown work's images.
#[utoipa::path(
    operation_id = "files_get",
    tag = "files",
    params(("id" = i64, Path, description = "File id"), FileVia),
    responses(
        (status = 200, description = "The file", body = FileView),
        (status = 403, description = "A confidential file before the award's terms are accepted (`file.confidentiality_not_accepted`, MSG-6)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `via` not of the documented shape (`conversation.via_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file the caller may read (`file.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = []))
)]
#[get("/files/{id}")]
pub async fn get_file(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<i64>,
    query: web::Query<FileVia>,
) -> AppResult<web::Json<FileView>> {
    let (caller, id, via) = (user.0, id.into_inner(), query.into_inner().via);
    if let Some(via) = &via {
        super::conversations::parse_via(via)?;
    }
    Ok(web::Json(
        state
            .tx(move |conn, st| {
                let row = files::load(conn, id)?;
                readable(conn, st, caller.as_ref(), &row, via.as_deref())?;
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
    params(("id" = i64, Path, description = "File id"), FileVia),
    responses(
        (status = 200, description = "The bytes (local store)",
            content((FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
        (status = 307, description = "A short-lived link to the bytes (object store)",
            headers(("Location" = String, description = "The signed link"))),
        (status = 403, description = "A confidential file before the award's terms are accepted (`file.confidentiality_not_accepted`, MSG-6)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `via` not of the documented shape (`conversation.via_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file the caller may read (`file.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = []))
)]
#[get("/files/{id}/content")]
pub async fn file_content(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<i64>,
    query: web::Query<FileVia>,
) -> AppResult<HttpResponse> {
    let (caller, id, via) = (user.0, id.into_inner(), query.into_inner().via);
    if let Some(via) = &via {
        super::conversations::parse_via(via)?;
    }
    let row = state
        .tx(move |conn, st| {
            let row = files::load(conn, id)?;
            let access = readable(conn, st, caller.as_ref(), &row, via.as_deref())?;
            if let Some(reader) = &caller {
                record_download(conn, st, reader.user_id, row.id, &access)?;
            }
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
