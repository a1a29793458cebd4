//! Submitting and reviewing real-name verifications (ACC-1, ACC-3, ACC-8).

pub use super::model::VerificationStatus;
use crate::auth::accounts::Role;
use chrono::{NaiveDate, NaiveDateTime};

use crate::platform::clock::china_today;
use diesel::prelude::*;

use super::dto::{GuardianConsent, VerificationRequest, VerificationView};
use super::ids::{CreditCode, ResidentId, identity_hash, mask};
use super::restricted;
use crate::audit::{self, Actor};
use crate::auth::Caller;
use crate::notifications::{Notice, notify};
use crate::platform::db::schema::{users, verifications};
use crate::platform::db::{DbConnection, MultiBackend, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;
use crate::platform::text::plain_text;

#[derive(Queryable, Selectable)]
#[diesel(table_name = verifications)]
struct Row {
    id: i64,
    user_id: i64,
    kind: String,
    legal_name: String,
    identity_masked: String,
    birth_date: Option<NaiveDate>,
    legal_representative: Option<String>,
    guardian_name: Option<String>,
    guardian_id_masked: Option<String>,
    guardian_relation: Option<String>,
    status: VerificationStatus,
    reject_reason: Option<String>,
    submitted_at: NaiveDateTime,
    reviewed_at: Option<NaiveDateTime>,
}

impl Row {
    fn view(self) -> VerificationView {
        let minor = match self.birth_date {
            Some(b) => {
                let at = china_today(self.submitted_at);
                crate::verification::ids::years_between(b, at) < 18
            }
            None => false,
        };
        VerificationView {
            id: self.id,
            user_id: self.user_id,
            kind: self.kind,
            legal_name: self.legal_name,
            identity_masked: self.identity_masked,
            legal_representative: self.legal_representative,
            minor,
            guardian_name: self.guardian_name,
            guardian_id_masked: self.guardian_id_masked,
            guardian_relation: self.guardian_relation,
            status: self.status,
            reject_reason: self.reject_reason,
            submitted_at: self.submitted_at.and_utc(),
            reviewed_at: self.reviewed_at.map(|t| t.and_utc()),
        }
    }
}

/// The latest verification of a user, if any.
pub fn latest(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<VerificationView>> {
    Ok(verifications::table
        .filter(verifications::user_id.eq(user_id))
        .order(verifications::id.desc())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::view))
}

/// Whether a user's identity is verified (the public badge; MKT-1 and MKT-2
/// require it).
pub fn is_verified(conn: &mut DbConnection, user_id: i64) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        verifications::table
            .filter(verifications::user_id.eq(user_id))
            .filter(verifications::status.eq(VerificationStatus::Approved)),
    ))
    .get_result(conn)?)
}

/// The hash of a user's approved identity, if verified (MKT-7 compares them).
pub fn verified_identity(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<String>> {
    Ok(approved_identity_query(user_id).first(conn).optional()?)
}

/// The approved legal name (an organisation's name), if verified: what an
/// Alipay payee's real name must equal (FND-4).
pub fn verified_name(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<String>> {
    Ok(verifications::table
        .filter(verifications::user_id.eq(user_id))
        .filter(verifications::status.eq(VerificationStatus::Approved))
        .select(verifications::legal_name)
        .first(conn)
        .optional()?)
}

/// The identity hash of `user_id`'s approved verification, as a subquery
/// other features can put in their own statement (none: not verified).
pub fn approved_identity_query(
    user_id: i64,
) -> verifications::BoxedQuery<'static, MultiBackend, diesel::sql_types::Text> {
    verifications::table
        .filter(verifications::user_id.eq(user_id))
        .filter(verifications::status.eq(VerificationStatus::Approved))
        .select(verifications::identity_hash)
        .limit(1)
        .into_boxed()
}

/// [`approved_identity_query`] of the user an expression names (a
/// subquery of the caller's: one statement for facts about two users).
pub fn approved_identity_query_of<U>(
    user_id: U,
) -> verifications::BoxedQuery<'static, MultiBackend, diesel::sql_types::Text>
where
    U: diesel::BoxableExpression<
            verifications::table,
            MultiBackend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        > + 'static,
{
    let user_id: Box<
        dyn diesel::BoxableExpression<
                verifications::table,
                MultiBackend,
                SqlType = diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
            >,
    > = Box::new(user_id);
    verifications::table
        .filter(verifications::user_id.nullable().eq(user_id))
        .filter(verifications::status.eq(VerificationStatus::Approved))
        .select(verifications::identity_hash)
        .limit(1)
        .into_boxed()
}

struct Identity {
    kind: &'static str,
    legal_name: String,
    hash: String,
    masked: String,
    birth_date: Option<NaiveDate>,
    legal_representative: Option<String>,
    guardian: Option<(String, String, String, String)>,
}

fn parse_guardian(
    st: &AppState,
    guardian: GuardianConsent,
    today: NaiveDate,
) -> AppResult<(String, String, String, String)> {
    let name = plain_text("guardian.name", &guardian.name, 50)?;
    let relation = plain_text("guardian.relation", &guardian.relation, 20)?;
    let id = ResidentId::parse("guardian.id_number", &guardian.id_number, today)?;
    if id.age_on(today) < 18 {
        return Err(AppError::invalid_field(
            "guardian.id_number",
            "verification.guardian_not_adult",
            "监护人须年满 18 周岁",
            "The guardian must be an adult",
        ));
    }
    let hash = identity_hash(&st.settings.identity_hash_secret, "id_number", id.as_str());
    Ok((name, hash, mask(id.as_str()), relation))
}

fn parse_identity(
    st: &AppState,
    account_kind: &str,
    req: VerificationRequest,
    today: NaiveDate,
) -> AppResult<Identity> {
    // The request is well-formed but does not fit this account: a state conflict.
    let mismatch = || {
        AppError::conflict(
            "verification.kind_mismatch",
            "认证类型须与账户类型一致",
            "The verification kind must match the account kind",
        )
    };
    let secret = &st.settings.identity_hash_secret;
    match req {
        VerificationRequest::Individual {
            legal_name,
            id_number,
            guardian,
        } => {
            if account_kind != "individual" {
                return Err(mismatch());
            }
            let legal_name = plain_text("legal_name", &legal_name, 50)?;
            let id = ResidentId::parse("id_number", &id_number, today)?;
            // ACC-1: under 18 needs a recorded guardian consent. A consent
            // sent for an adult is checked like any input but not kept.
            let guardian = guardian.map(|g| parse_guardian(st, g, today)).transpose()?;
            let guardian = if id.age_on(today) < 18 {
                if guardian.is_none() {
                    return Err(AppError::invalid_field(
                        "guardian",
                        "verification.guardian_required",
                        "未满 18 周岁须提供监护人同意（姓名、身份证号、关系）",
                        "Under 18: a guardian's consent (name, ID number, relation) is required",
                    ));
                }
                guardian
            } else {
                None
            };
            Ok(Identity {
                kind: "individual",
                legal_name,
                hash: identity_hash(secret, "id_number", id.as_str()),
                masked: mask(id.as_str()),
                birth_date: Some(id.birth_date()),
                legal_representative: None,
                guardian,
            })
        }
        VerificationRequest::Organization {
            organization_name,
            credit_code,
            legal_representative,
        } => {
            if account_kind != "organization" {
                return Err(mismatch());
            }
            let legal_name = plain_text("organization_name", &organization_name, 100)?;
            let rep = plain_text("legal_representative", &legal_representative, 50)?;
            let code = CreditCode::parse("credit_code", &credit_code)?;
            Ok(Identity {
                kind: "organization",
                legal_name,
                hash: identity_hash(secret, "credit_code", code.as_str()),
                masked: mask(code.as_str()),
                birth_date: None,
                legal_representative: Some(rep),
                guardian: None,
            })
        }
    }
}

fn identity_bound() -> AppError {
    AppError::conflict(
        "identity.already_bound",
        "该身份已绑定其他账户",
        "This identity is already bound to another account",
    )
}

/// Submits a verification for review (ACC-8).
pub fn submit(
    conn: &mut DbConnection,
    st: &AppState,
    caller: &Caller,
    req: VerificationRequest,
) -> AppResult<VerificationView> {
    let now = st.clock.now_naive();
    let today = china_today(now);
    let account_kind: String = users::table
        .find(caller.user_id)
        .select(users::account_kind)
        .first(conn)?;
    let identity = parse_identity(st, &account_kind, req, today)?;
    let reverifying = require_resubmission_allowed(conn, caller.user_id, &identity.hash)?;
    let waiting = [
        VerificationStatus::Pending,
        VerificationStatus::ReverificationPending,
    ];
    if latest(conn, caller.user_id)?.is_some_and(|v| waiting.contains(&v.status)) {
        return Err(AppError::conflict(
            "verification.pending",
            "已有待审核的实名认证",
            "A verification is already waiting for review",
        ));
    }
    // ACC-3: restricted identities cannot verify.
    let kind = if identity.kind == "individual" {
        "id_number"
    } else {
        "credit_code"
    };
    restricted::refuse_if_listed(conn, kind, &identity.hash)?;
    let bound: bool = diesel::select(diesel::dsl::exists(
        verifications::table
            .filter(verifications::identity_hash.eq(&identity.hash))
            .filter(
                verifications::status
                    .eq_any([VerificationStatus::Pending, VerificationStatus::Approved]),
            )
            .filter(verifications::user_id.ne(caller.user_id)),
    ))
    .get_result(conn)?;
    if bound {
        return Err(identity_bound());
    }
    let status = if reverifying {
        VerificationStatus::ReverificationPending
    } else {
        VerificationStatus::Pending
    };
    let id = insert(conn, caller.user_id, identity, status, now, None)?;
    load(conn, id)
}

/// ACC-6, ACC-8: a verified identity is locked; it may be submitted again
/// only while staff ask for re-verification, and only the same identity.
/// Returns whether this submission is such a re-verification.
fn require_resubmission_allowed(
    conn: &mut DbConnection,
    user_id: i64,
    hash: &str,
) -> AppResult<bool> {
    let Some(bound) = verified_identity(conn, user_id)? else {
        return Ok(false);
    };
    if !super::info_requests::reverify_open(conn, user_id)? {
        return Err(AppError::conflict(
            "verification.locked",
            "实名认证已通过，认证身份不可更改",
            "The verified identity cannot be changed",
        ));
    }
    if bound != hash {
        return Err(AppError::conflict(
            "verification.identity_mismatch",
            "重新认证须为已绑定的同一实名身份",
            "Re-verification must be of the identity already bound to the account",
        ));
    }
    Ok(true)
}

/// Stores a verification with its identity (hash and mask only).
fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    identity: Identity,
    new_status: VerificationStatus,
    now: NaiveDateTime,
    reviewed_by: Option<i64>,
) -> AppResult<i64> {
    let (g_name, g_hash, g_masked, g_relation) = match identity.guardian {
        Some((n, h, m, r)) => (Some(n), Some(h), Some(m), Some(r)),
        None => (None, None, None, None),
    };
    diesel::insert_into(verifications::table)
        .values((
            verifications::user_id.eq(user_id),
            verifications::kind.eq(identity.kind),
            verifications::legal_name.eq(&identity.legal_name),
            verifications::identity_hash.eq(&identity.hash),
            verifications::identity_masked.eq(&identity.masked),
            verifications::birth_date.eq(identity.birth_date),
            verifications::legal_representative.eq(&identity.legal_representative),
            verifications::guardian_name.eq(g_name),
            verifications::guardian_id_hash.eq(g_hash),
            verifications::guardian_id_masked.eq(g_masked),
            verifications::guardian_relation.eq(g_relation),
            verifications::status.eq(new_status),
            verifications::submitted_at.eq(now),
            verifications::reviewed_at.eq(reviewed_by.map(|_| now)),
            verifications::reviewed_by.eq(reviewed_by),
        ))
        .returning(verifications::id)
        .get_result(conn)
        .map_err(|e| unique_or(e, |_| identity_bound()))
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<VerificationView> {
    verifications::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::view)
        .ok_or_else(|| {
            AppError::not_found(
                "verification.not_found",
                "实名认证不存在",
                "No such verification",
            )
        })
}

/// Staff list verifications by status, oldest first (a review queue).
pub fn list(
    conn: &mut DbConnection,
    status_filter: VerificationStatus,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<VerificationView>> {
    let mut q = verifications::table
        .filter(verifications::status.eq(status_filter))
        .order(verifications::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(verifications::id.gt(after));
    }
    Ok(q.load(conn)?.into_iter().map(Row::view).collect())
}

/// Tells the user the outcome of the review.
fn announce_review(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    approve: bool,
    reason: Option<&str>,
) -> AppResult<()> {
    let (kind, title, body) = if approve {
        (
            "verification.approved",
            "实名认证已通过",
            "您的实名认证已通过审核。认证身份此后不可更改。".to_string(),
        )
    } else {
        (
            "verification.rejected",
            "实名认证未通过",
            format!(
                "您的实名认证未通过审核，原因：{}。您可以修改后重新提交。",
                reason.unwrap_or("")
            ),
        )
    };
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind,
            title,
            body,
            link: Some("/api/v1/me/verification".into()),
        },
    )
}

/// Approves or rejects a pending verification; the user is notified and the
/// action audited.
pub fn decide(
    conn: &mut DbConnection,
    st: &AppState,
    staff: &Caller,
    id: i64,
    approve: bool,
    reason: Option<String>,
    ip: &str,
) -> AppResult<VerificationView> {
    let now = st.clock.now_naive();
    let new_status = if approve {
        VerificationStatus::Approved
    } else {
        VerificationStatus::Rejected
    };
    let reverification: Option<(i64, VerificationStatus)> = verifications::table
        .find(id)
        .select((verifications::user_id, verifications::status))
        .first(conn)
        .optional()?;
    if let Some((user_id, VerificationStatus::ReverificationPending)) = reverification
        && approve
    {
        // ACC-6: the re-verified identity replaces the approved one (the
        // same identity, so the binding never lapses).
        diesel::update(
            verifications::table
                .filter(verifications::user_id.eq(user_id))
                .filter(verifications::status.eq(VerificationStatus::Approved)),
        )
        .set(verifications::status.eq(VerificationStatus::Superseded))
        .execute(conn)?;
    }
    let changed = diesel::update(
        verifications::table
            .filter(verifications::id.eq(id))
            .filter(verifications::status.eq_any([
                VerificationStatus::Pending,
                VerificationStatus::ReverificationPending,
            ])),
    )
    .set((
        verifications::status.eq(new_status),
        verifications::reject_reason.eq(&reason),
        verifications::reviewed_at.eq(now),
        verifications::reviewed_by.eq(staff.user_id),
    ))
    .execute(conn)?;
    let view = load(conn, id)?;
    if changed == 0 {
        return Err(AppError::conflict(
            "verification.not_pending",
            "该实名认证不在待审核状态",
            "This verification is not waiting for review",
        ));
    }
    announce_review(conn, st, view.user_id, approve, reason.as_deref())?;
    if approve {
        // ACC-6: an approved re-verification answers the request for it.
        super::info_requests::clear_reverified(conn, st, view.user_id, staff.user_id)?;
    }
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff.user_id),
            action: if approve {
                "verification.approve"
            } else {
                "verification.reject"
            },
            target_type: "verification",
            target_id: Some(id.to_string()),
            reason: reason.as_deref(),
            details: Some(serde_json::json!({ "user_id": view.user_id })),
            ip: Some(ip),
        },
    )?;
    Ok(view)
}

/// ACC-10: an anonymised account keeps its identity hash (the binding
/// rules need it) but not the names.
pub fn anonymise(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(verifications::table.filter(verifications::user_id.eq(user_id)))
        .set((
            verifications::legal_name.eq("***"),
            verifications::legal_representative.eq(None::<String>),
            verifications::guardian_name.eq(None::<String>),
            verifications::guardian_id_hash.eq(None::<String>),
            verifications::guardian_relation.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Frees a closed account's identity so it may verify another account.
pub fn release(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(
        verifications::table
            .filter(verifications::user_id.eq(user_id))
            .filter(
                verifications::status
                    .eq_any([VerificationStatus::Pending, VerificationStatus::Approved]),
            ),
    )
    .set(verifications::status.eq(VerificationStatus::Released))
    .execute(conn)?;
    Ok(())
}

/// The account kind of a marketplace user (staff and unknown ids: 404).
fn marketplace_account_kind(conn: &mut DbConnection, user_id: i64) -> AppResult<String> {
    let (account_kind, role): (String, Role) = users::table
        .find(user_id)
        .select((users::account_kind, users::role))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("user.not_found", "用户不存在", "No such user"))?;
    if role != Role::User {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    Ok(account_kind)
}

/// ACC-8: the approved verification a transfer replaces (409 without one).
fn approved(conn: &mut DbConnection, user_id: i64) -> AppResult<VerificationView> {
    match latest(conn, user_id)? {
        Some(v) if v.status == VerificationStatus::Approved => Ok(v),
        _ => Err(AppError::conflict(
            "verification.not_verified",
            "该账户尚无已通过的实名认证，无需过户",
            "The account has no approved identity to transfer",
        )),
    }
}

/// ACC-8: the only way an account changes hands. Staff record the legal
/// basis; the old identity is marked `transferred`, the new one is bound
/// as approved, every session ends and the action is audited.
pub fn transfer(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    user_id: i64,
    legal_basis: &str,
    req: VerificationRequest,
    ip: &str,
) -> AppResult<VerificationView> {
    let now = st.clock.now_naive();
    let legal_basis = plain_text("legal_basis", legal_basis, 500)?;
    let account_kind = marketplace_account_kind(conn, user_id)?;
    let current = approved(conn, user_id)?;
    let identity = parse_identity(st, &account_kind, req, china_today(now))?;
    let kind = if identity.kind == "individual" {
        "id_number"
    } else {
        "credit_code"
    };
    restricted::refuse_if_listed(conn, kind, &identity.hash)?;
    diesel::update(
        verifications::table
            .filter(verifications::user_id.eq(user_id))
            .filter(verifications::status.eq(VerificationStatus::Approved)),
    )
    .set(verifications::status.eq(VerificationStatus::Transferred))
    .execute(conn)?;
    let bound: bool = diesel::select(diesel::dsl::exists(
        verifications::table
            .filter(verifications::identity_hash.eq(&identity.hash))
            .filter(
                verifications::status
                    .eq_any([VerificationStatus::Pending, VerificationStatus::Approved]),
            ),
    ))
    .get_result(conn)?;
    if bound {
        return Err(identity_bound());
    }
    let new_masked = identity.masked.clone();
    let id = insert(
        conn,
        user_id,
        identity,
        VerificationStatus::Approved,
        now,
        Some(staff_id),
    )?;
    crate::auth::sessions::revoke_all(conn, user_id, None, now, "account_transferred")?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "account.transferred",
            title: "账户已过户",
            body: format!("平台已依据以下法律依据办理账户过户：{legal_basis}。"),
            link: Some("/api/v1/me/verification".into()),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: "account.transfer",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: Some(&legal_basis),
            details: Some(serde_json::json!({
                "previous_identity": current.identity_masked,
                "new_identity": new_masked,
                "verification_id": id,
            })),
            ip: Some(ip),
        },
    )?;
    load(conn, id)
}
