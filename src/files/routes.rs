//! `POST /files` (FIL-1): a multipart upload, checked from its bytes.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use diesel::prelude::*;
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::content::{Kind, strip_metadata};
use super::{FileView, Purpose};
use crate::auth::AuthUser;
use crate::funds::idempotency;
use crate::platform::db::schema::files;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;

/// The form of `POST /api/v1/files`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file: JPEG, PNG, WebP or PDF (read from the bytes), at most
    /// `FILE_MAX_BYTES` (10 MiB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What it is for: `evidence`, `check_in`, `work` or `message`.
    purpose: Purpose,
}

/// What an upload left on the form.
struct Upload {
    file_name: String,
    bytes: Vec<u8>,
    purpose: Purpose,
}

fn form_error(field: &str, code: &'static str, zh: &'static str, en: &'static str) -> AppError {
    AppError::invalid_field(field, code, zh, en)
}

fn too_large(max: usize) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file.too_large",
        format!("文件不能超过 {} 字节", max),
        format!("The file must be at most {max} bytes"),
    )
}

/// A name to show: its last path segment, printable, at most 100
/// characters (the stored key never comes from it).
fn clean_name(name: Option<&str>, kind: Kind) -> String {
    let base = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '\u{202a}'..='\u{202e}'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("file.{}", kind.extension())
    } else {
        cleaned.to_string()
    }
}

fn malformed() -> AppError {
    form_error(
        "file",
        "file.form_invalid",
        "表单格式不正确",
        "The multipart form is malformed",
    )
}

/// A part's bytes: the `file` up to `max`, anything else up to 64 bytes.
async fn read_part(
    part: &mut actix_multipart::Field,
    name: &str,
    max: usize,
) -> AppResult<Vec<u8>> {
    let limit = if name == "file" { max } else { 64 };
    let mut bytes = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(|_| malformed())?;
        if bytes.len() + chunk.len() > limit {
            return Err(match name {
                "file" => too_large(max),
                "purpose" => form_error(
                    "purpose",
                    "text.length",
                    "字段过长",
                    "The field is too long",
                ),
                _ => form_error(
                    "form",
                    "file.form_invalid",
                    "表单只接受一个 file 和一个 purpose",
                    "The form takes one `file` and one `purpose`",
                ),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads the form: the `file` part (bounded by `max` bytes) and `purpose`.
async fn read_form(
    mut form: Multipart,
    max: usize,
) -> AppResult<(Option<String>, Vec<u8>, Purpose)> {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut purpose: Option<String> = None;
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|_| malformed())?;
        let name = part.name().unwrap_or_default().to_string();
        let file_name = part
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let bytes = read_part(&mut part, &name, max).await?;
        match name.as_str() {
            "file" if file.is_none() => file = Some((file_name, bytes)),
            "purpose" if purpose.is_none() => {
                purpose = Some(String::from_utf8_lossy(&bytes).trim().to_string())
            }
            _ => {
                // The part's name is not echoed: it is the client's text.
                return Err(form_error(
                    "form",
                    "file.form_invalid",
                    "表单只接受一个 file 和一个 purpose",
                    "The form takes one `file` and one `purpose`",
                ));
            }
        }
    }
    let (file_name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        form_error(
            "file",
            "file.required",
            "请选择文件",
            "A non-empty `file` part is required",
        )
    })?;
    let purpose = purpose.as_deref().and_then(Purpose::parse).ok_or_else(|| {
        form_error(
            "purpose",
            "file.purpose_invalid",
            "purpose 须为 evidence、check_in、work 或 message",
            "`purpose` must be evidence, check_in, work or message",
        )
    })?;
    Ok((file_name, bytes, purpose))
}

/// The stored copies of an upload: what others get and, for check-in
/// evidence, the untouched original.
struct Stored {
    kind: Kind,
    key: String,
    original_key: Option<String>,
    size: i64,
    sha256: String,
    stripped: bool,
}

fn store(st: &AppState, up: &Upload) -> AppResult<Stored> {
    use sha2::{Digest, Sha256};
    let kind = Kind::sniff(&up.bytes).ok_or_else(|| {
        form_error(
            "file",
            "file.type_not_allowed",
            "只接受 JPEG、PNG、WebP 图片和 PDF 文件",
            "Only JPEG, PNG and WebP images and PDF files are accepted",
        )
    })?;
    let shown = if kind.is_image() {
        strip_metadata(kind, &up.bytes).ok_or_else(|| {
            form_error(
                "file",
                "file.unreadable",
                "图片无法读取",
                "The image cannot be read",
            )
        })?
    } else {
        up.bytes.clone()
    };
    let stripped = kind.is_image() && shown.len() != up.bytes.len();
    let sha256: String = Sha256::digest(&up.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = uuid::Uuid::now_v7().simple().to_string();
    let key = format!("files/{id}.{}", kind.extension());
    st.storage.put(&key, &shown, kind.content_type())?;
    // WRK-3: the check-in photo's own location stays with the platform.
    let original_key = if up.purpose == Purpose::CheckIn && stripped {
        let original = format!("originals/{id}.{}", kind.extension());
        if let Err(e) = st.storage.put(&original, &up.bytes, kind.content_type()) {
            let _ = st.storage.delete(&key);
            return Err(e);
        }
        Some(original)
    } else {
        None
    };
    Ok(Stored {
        kind,
        key,
        original_key,
        size: i64::try_from(up.bytes.len()).unwrap_or(i64::MAX),
        sha256,
        stripped,
    })
}

fn forget(st: &AppState, stored: &Stored) {
    for key in std::iter::once(&stored.key).chain(stored.original_key.as_ref()) {
        if let Err(e) = st.storage.delete(key) {
            log::warn!("could not remove an unused stored file: {}", e.code);
        }
    }
}

/// What an idempotent upload is compared by.
#[derive(Serialize)]
struct Fingerprint<'a> {
    purpose: Purpose,
    sha256: &'a str,
    size_bytes: i64,
    file_name: &'a str,
}

/// Upload a file (FIL-1): any signed-in user. The type is read from the
/// bytes; image metadata (location included) is removed from what others
/// receive; each user has a storage quota. A file nothing cites is removed
/// a day after its upload.
#[utoipa::path(
    operation_id = "files_upload",
    tag = "files",
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and file returns the first result (`Idempotent-Replayed: true`) instead of storing again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = FileView),
        (status = 413, description = "Larger than `FILE_MAX_BYTES` (`file.too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, a type not accepted (`file.type_not_allowed`), an unreadable image, a bad `purpose`, or over the quota (`file.quota_exceeded`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/files")]
pub async fn upload(
    state: web::Data<AppState>,
    user: AuthUser,
    http: HttpRequest,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let owner = user.user_id;
    let max = state.settings.files.max_bytes;
    let (file_name, bytes, purpose) = read_form(form, max).await?;
    let kind_hint = Kind::sniff(&bytes).unwrap_or(Kind::Pdf);
    let upload = Upload {
        file_name: clean_name(file_name.as_deref(), kind_hint),
        bytes,
        purpose,
    };
    let st = state.get_ref().clone();
    let (stored, upload) = web::block(move || store(&st, &upload).map(|s| (s, upload))).await??;
    let print = serde_json::to_value(Fingerprint {
        purpose: upload.purpose,
        sha256: &stored.sha256,
        size_bytes: stored.size,
        file_name: &upload.file_name,
    })
    .map_err(AppError::internal)?;
    let row = (
        stored.kind.content_type(),
        stored.key.clone(),
        stored.original_key.clone(),
        stored.size,
        stored.sha256.clone(),
        stored.stripped,
    );
    let name = upload.file_name.clone();
    let res = idempotency::run_optional(
        &state,
        owner,
        http.headers(),
        "POST /files",
        &print,
        StatusCode::CREATED,
        move |conn, st| record(conn, st, owner, purpose, &name, row),
    )
    .await;
    let replayed = res
        .as_ref()
        .is_ok_and(|r| r.headers().contains_key("idempotent-replayed"));
    if res.is_err() || replayed {
        let st = state.get_ref().clone();
        let _ = web::block(move || forget(&st, &stored)).await;
    }
    res
}

/// The advisory-lock space of per-owner quota checks ("quot" << 32).
const QUOTA_LOCK: i64 = 0x7175_6f74 << 32;

type NewRow = (&'static str, String, Option<String>, i64, String, bool);

/// The row of a stored upload, within the owner's quota.
fn record(
    conn: &mut crate::platform::db::DbConnection,
    st: &AppState,
    owner: i64,
    purpose: Purpose,
    file_name: &str,
    (content_type, key, original_key, size, sha256, stripped): NewRow,
) -> AppResult<FileView> {
    let quota = st.settings.files.quota_bytes;
    // FIL-1: two uploads at once must not both fit in the last space:
    // the owner's uploads take turns from here to the commit.
    crate::platform::db::xact_lock(conn, QUOTA_LOCK ^ owner)?;
    let used = super::stored_bytes(conn, owner)?;
    if used.saturating_add(size) > quota {
        return Err(form_error(
            "file",
            "file.quota_exceeded",
            "存储空间已满，请删除不用的文件",
            "Your storage quota is used up",
        )
        .with_extension("quota_bytes", quota)
        .with_extension("used_bytes", used));
    }
    let id: i64 = diesel::insert_into(files::table)
        .values((
            files::owner_id.eq(owner),
            files::purpose.eq(purpose),
            files::content_type.eq(content_type),
            files::size_bytes.eq(size),
            files::sha256.eq(&sha256),
            files::file_name.eq(file_name),
            files::storage_key.eq(&key),
            files::original_key.eq(&original_key),
            files::metadata_stripped.eq(stripped),
            files::created_at.eq(st.clock.now_naive()),
        ))
        .returning(files::id)
        .get_result(conn)?;
    Ok(super::load(conn, id)?.view())
}
