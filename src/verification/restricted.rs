//! The restricted-identity list (ACC-3): sanctioned or trade-restricted
//! parties and the identities of sealed accounts. Entries are kept as keyed
//! hashes with a mask; registration and verification that match are refused.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{CreditCode, ResidentId, identity_hash, mask};
use super::model::VerificationStatus;
use crate::audit::{self, Actor};
use crate::auth::accounts::AccountKind;
use crate::auth::{Moderators, Staff};
use crate::platform::clock::china_today;
use crate::platform::contact::{Email, Phone};
use crate::platform::db::schema::{restricted_identities, users, verifications};
use crate::platform::db::{DbConnection, unique_or};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;
use crate::platform::text::plain_text;

/// What kind of identifier an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    IdNumber,
    CreditCode,
    Phone,
    Email,
}

impl IdentifierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::IdNumber => "id_number",
            IdentifierKind::CreditCode => "credit_code",
            IdentifierKind::Phone => "phone",
            IdentifierKind::Email => "email",
        }
    }
}

/// Why an identity is restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionSource {
    /// Sanctions or trade restrictions (SA §1.4).
    Sanctions,
    /// The identity of a sealed account (SA §5.3.A).
    SealedAccount,
    Other,
}

impl RestrictionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionSource::Sanctions => "sanctions",
            RestrictionSource::SealedAccount => "sealed_account",
            RestrictionSource::Other => "other",
        }
    }
}

/// Refuses with 403 `identity.restricted` when the hash is listed.
pub fn refuse_if_listed(conn: &mut DbConnection, kind: &str, hash: &str) -> AppResult<()> {
    let listed: bool = diesel::select(diesel::dsl::exists(
        restricted_identities::table
            .filter(restricted_identities::kind.eq(kind))
            .filter(restricted_identities::value_hash.eq(hash)),
    ))
    .get_result(conn)?;
    if listed {
        return Err(AppError::forbidden(
            "identity.restricted",
            "该身份受限，无法注册或认证",
            "This identity is restricted and cannot register or be verified",
        ));
    }
    Ok(())
}

/// The identifiers of a user as the restricted list stores them:
/// (kind, hash, mask).
/// A user's identifiers as restricted-list entries: (kind, hash, mask)
/// of the verified identity, the phone and the email.
fn identifiers(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
) -> AppResult<Vec<(&'static str, String, String)>> {
    let mut out = Vec::new();
    let verified: Option<(String, String, String)> = verifications::table
        .filter(verifications::user_id.eq(user_id))
        .filter(verifications::status.eq(VerificationStatus::Approved))
        .select((
            verifications::kind,
            verifications::identity_hash,
            verifications::identity_masked,
        ))
        .first(conn)
        .optional()?;
    if let Some((kind, hash, masked)) = verified {
        let kind = if kind == AccountKind::Individual.as_str() {
            IdentifierKind::IdNumber.as_str()
        } else {
            IdentifierKind::CreditCode.as_str()
        };
        out.push((kind, hash, masked));
    }
    let (phone, email_key): (Option<String>, Option<String>) = users::table
        .find(user_id)
        .select((users::phone, users::email_key))
        .first(conn)?;
    let secret = &st.settings.identity_hash_secret;
    if let Some(p) = phone {
        out.push((
            IdentifierKind::Phone.as_str(),
            identity_hash(secret, "phone", &p),
            mask(&p),
        ));
    }
    if let Some(e) = email_key {
        out.push((
            IdentifierKind::Email.as_str(),
            identity_hash(secret, "email", &e),
            mask(&e),
        ));
    }
    Ok(out)
}

/// VIO-3: a seal lists the account's identifiers, each entry naming the
/// violation that sealed it (ACC-3); an identifier already listed stays as
/// it was.
pub fn list_sealed(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    violation_id: i64,
    staff: i64,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    for (kind, hash, masked) in identifiers(conn, st, user_id)? {
        let listed: bool = diesel::select(diesel::dsl::exists(
            restricted_identities::table
                .filter(restricted_identities::kind.eq(kind))
                .filter(restricted_identities::value_hash.eq(&hash)),
        ))
        .get_result(conn)?;
        if !listed {
            diesel::insert_into(restricted_identities::table)
                .values((
                    restricted_identities::kind.eq(kind),
                    restricted_identities::value_hash.eq(&hash),
                    restricted_identities::masked.eq(&masked),
                    restricted_identities::reason.eq(format!("账号封禁（违规 #{violation_id}）")),
                    restricted_identities::source.eq(RestrictionSource::SealedAccount.as_str()),
                    restricted_identities::violation_id.eq(violation_id),
                    restricted_identities::created_at.eq(now),
                    restricted_identities::created_by.eq(staff),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// VIO-6: an upheld appeal against a seal lifts the entries that seal made.
pub fn lift_sealed(conn: &mut DbConnection, violation_id: i64) -> AppResult<()> {
    diesel::delete(
        restricted_identities::table
            .filter(restricted_identities::violation_id.eq(violation_id))
            .filter(restricted_identities::source.eq(RestrictionSource::SealedAccount.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Normalises and hashes an identifier the way look-ups see it.
pub fn hash_identifier(
    st: &AppState,
    kind: IdentifierKind,
    value: &str,
) -> AppResult<(String, String)> {
    let today = china_today(st.clock.now_naive());
    let normalized = match kind {
        IdentifierKind::IdNumber => ResidentId::parse("value", value, today)?
            .as_str()
            .to_string(),
        IdentifierKind::CreditCode => CreditCode::parse("value", value)?.as_str().to_string(),
        IdentifierKind::Phone => Phone::parse(value)?.as_str().to_string(),
        IdentifierKind::Email => Email::parse(value)?.key().to_string(),
    };
    let hash = identity_hash(
        &st.settings.identity_hash_secret,
        kind.as_str(),
        &normalized,
    );
    Ok((hash, mask(&normalized)))
}

/// A listed identity, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictedView {
    pub id: i64,
    pub kind: IdentifierKind,
    #[schema(example = "1101**********002X")]
    pub masked: String,
    pub reason: String,
    #[schema(example = "sanctions")]
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// An identity to list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "id_number", "value": "11010519491231002X", "reason": "制裁名单", "source": "sanctions"}))]
pub struct NewRestricted {
    pub kind: IdentifierKind,
    /// The ID number, credit code, phone or email (stored only hashed).
    #[schema(min_length = 1, max_length = 254)]
    pub value: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
    pub source: RestrictionSource,
}

fn kind_of(s: &str) -> IdentifierKind {
    match s {
        "credit_code" => IdentifierKind::CreditCode,
        "phone" => IdentifierKind::Phone,
        "email" => IdentifierKind::Email,
        _ => IdentifierKind::IdNumber,
    }
}

/// List restricted identities (masked), newest first.
#[utoipa::path(
    operation_id = "admin_restricted_identities_list",
    tag = "admin",
    params(PageQuery),
    responses((status = 200, description = "The list", body = Page<RestrictedView>)),
    security(("bearer" = []))
)]
#[get("/admin/restricted-identities")]
pub async fn list_restricted(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<RestrictedView>>> {
    let limit = page.limit()?;
    let before = page.before_id()?;
    let rows: Vec<(i64, String, String, String, String, NaiveDateTime)> = state
        .run(move |conn, _| {
            let mut q = restricted_identities::table
                .select((
                    restricted_identities::id,
                    restricted_identities::kind,
                    restricted_identities::masked,
                    restricted_identities::reason,
                    restricted_identities::source,
                    restricted_identities::created_at,
                ))
                .order(restricted_identities::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(before) = before {
                q = q.filter(restricted_identities::id.lt(before));
            }
            Ok(q.load(conn)?)
        })
        .await?;
    Ok(web::Json(page_by_id(
        rows,
        limit,
        |r| r.0,
        |r| RestrictedView {
            id: r.0,
            kind: kind_of(&r.1),
            masked: r.2,
            reason: r.3,
            source: r.4,
            created_at: r.5.and_utc(),
        },
    )))
}

/// List an identity as restricted (ACC-3).
#[utoipa::path(
    operation_id = "admin_restricted_identities_add",
    tag = "admin",
    request_body = NewRestricted,
    responses(
        (status = 201, description = "Listed", body = RestrictedView),
        (status = 409, description = "Already listed (`restricted_identity.exists`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/restricted-identities")]
pub async fn add_restricted(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    body: crate::platform::http::Json<NewRestricted>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let actor = staff.user_id;
    let view = state
        .tx(move |conn, st| {
            let reason = plain_text("reason", &req.reason, 500)?;
            let (hash, masked) = hash_identifier(st, req.kind, &req.value)?;
            let now = st.clock.now_naive();
            let id: i64 = diesel::insert_into(restricted_identities::table)
                .values((
                    restricted_identities::kind.eq(req.kind.as_str()),
                    restricted_identities::value_hash.eq(&hash),
                    restricted_identities::masked.eq(&masked),
                    restricted_identities::reason.eq(&reason),
                    restricted_identities::source.eq(req.source.as_str()),
                    restricted_identities::created_at.eq(now),
                    restricted_identities::created_by.eq(actor),
                ))
                .returning(restricted_identities::id)
                .get_result(conn)
                .map_err(|e| {
                    unique_or(e, |_| {
                        AppError::conflict(
                            "restricted_identity.exists",
                            "该身份已在受限名单中",
                            "This identity is already listed",
                        )
                    })
                })?;
            audit::record(
                conn,
                st,
                audit::Entry {
                    actor: Actor::Staff(actor),
                    action: "restricted_identity.create",
                    target_type: "restricted_identity",
                    target_id: Some(id.to_string()),
                    reason: Some(&reason),
                    details: Some(
                        serde_json::json!({ "kind": req.kind.as_str(), "masked": masked }),
                    ),
                    ip: Some(&meta.ip),
                },
            )?;
            Ok(RestrictedView {
                id,
                kind: req.kind,
                masked,
                reason,
                source: req.source.as_str().to_string(),
                created_at: now.and_utc(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Remove an identity from the restricted list.
#[utoipa::path(
    operation_id = "admin_restricted_identities_delete",
    tag = "admin",
    params(("id" = i64, Path, description = "Entry id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/admin/restricted-identities/{id}")]
pub async fn delete_restricted(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let actor = staff.user_id;
    state
        .tx(move |conn, st| {
            let n = diesel::delete(restricted_identities::table.find(id)).execute(conn)?;
            if n == 0 {
                return Err(AppError::not_found(
                    "restricted_identity.not_found",
                    "受限名单中无此条目",
                    "No such entry",
                ));
            }
            audit::record(
                conn,
                st,
                audit::Entry {
                    actor: Actor::Staff(actor),
                    action: "restricted_identity.delete",
                    target_type: "restricted_identity",
                    target_id: Some(id.to_string()),
                    reason: None,
                    details: None,
                    ip: Some(&meta.ip),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
