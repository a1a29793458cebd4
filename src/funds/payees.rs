//! Payee accounts (FND-4): where a user's money goes out. An Alipay
//! account's real name must equal the verified legal (or organisation)
//! name; a WeChat payee is the openid the app's WeChat sign-in gives.
//! Identifiers are shown only masked.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::payee_accounts;
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

text_enum! {
    /// Where a payee account is.
    pub enum PayeeKind {
        Alipay = "alipay",
        Wechat = "wechat",
    }
}

/// A user binds at most this many payee accounts at once.
pub const MAX_PAYEES: i64 = 5;

/// `POST /api/v1/me/payee-accounts`: an Alipay account (`account`: the
/// login id, a mainland mobile number or an email, and `real_name`), or
/// WeChat (`code`: the code of the app's WeChat sign-in).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "alipay", "account": "13800138000", "real_name": "张三"}))]
pub struct NewPayee {
    pub kind: PayeeKind,
    /// Alipay: the account's login id (mobile number or email).
    #[schema(max_length = 100)]
    pub account: Option<String>,
    /// Alipay: the account's real name; must equal the verified name.
    #[schema(max_length = 100)]
    pub real_name: Option<String>,
    /// WeChat: the authorization code from the app's WeChat sign-in.
    #[schema(max_length = 128)]
    pub code: Option<String>,
}

/// A bound payee account, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayeeView {
    pub id: i64,
    pub kind: PayeeKind,
    /// The login id or openid, masked (`138****8000`, `z***@example.com`).
    #[schema(example = "138****8000")]
    pub account_masked: String,
    /// The account's real name, masked (`*三`); Alipay only.
    #[schema(example = "*三")]
    pub real_name_masked: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A payee's unmasked details, for a payout only.
#[derive(Debug, Clone)]
pub struct Payee {
    pub id: i64,
    pub user_id: i64,
    pub kind: PayeeKind,
    pub identifier: String,
    pub real_name: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payee_accounts)]
struct Row {
    id: i64,
    user_id: i64,
    kind: PayeeKind,
    identifier: String,
    real_name: Option<String>,
    created_at: NaiveDateTime,
}

/// An identifier with its middle hidden.
pub fn mask_identifier(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if let Some(at) = id.find('@') {
        let (local, domain) = id.split_at(at);
        let first: String = local.chars().take(1).collect();
        return format!("{first}***{domain}");
    }
    if chars.len() <= 6 {
        return "****".into();
    }
    let keep = if chars.len() == 11 { (3, 4) } else { (4, 4) };
    let head: String = chars[..keep.0].iter().collect();
    let tail: String = chars[chars.len() - keep.1..].iter().collect();
    format!("{head}****{tail}")
}

/// A name with all but its last character hidden (`*三`).
pub fn mask_name(name: &str) -> String {
    let count = name.chars().count();
    let last: String = name.chars().skip(count.saturating_sub(1)).collect();
    format!("{}{last}", "*".repeat(count.saturating_sub(1).max(1)))
}

fn view(r: Row) -> PayeeView {
    PayeeView {
        id: r.id,
        kind: r.kind,
        account_masked: mask_identifier(&r.identifier),
        real_name_masked: r.real_name.as_deref().map(mask_name),
        created_at: r.created_at.and_utc(),
    }
}

fn invalid(field: &str, code: &'static str, zh: &'static str, en: &'static str) -> AppError {
    AppError::invalid_field(field, code, zh, en)
}

/// An Alipay login id: a mainland mobile number or an email.
fn alipay_login_id(raw: Option<&str>) -> AppResult<String> {
    let id = raw.map(str::trim).unwrap_or("");
    let phone = id.len() == 11 && id.starts_with('1') && id.bytes().all(|b| b.is_ascii_digit());
    let email = id.len() <= 100
        && id.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if phone || email {
        Ok(id.to_string())
    } else {
        Err(invalid(
            "account",
            "payee.account_invalid",
            "支付宝账号应为手机号或邮箱",
            "The Alipay account must be a mobile number or an email",
        ))
    }
}

/// Checks an Alipay payee's name against the verified name (FND-4).
pub fn check_alipay(
    conn: &mut DbConnection,
    user_id: i64,
    body: &NewPayee,
) -> AppResult<(String, String)> {
    if body.code.is_some() {
        return Err(invalid(
            "code",
            "payee.field_not_allowed",
            "支付宝账户不需要 code",
            "code is for WeChat payees only",
        ));
    }
    let account = alipay_login_id(body.account.as_deref())?;
    let name = body.real_name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(
            "real_name",
            "payee.real_name_required",
            "请填写支付宝账户的真实姓名",
            "real_name is required for an Alipay account",
        ));
    }
    let Some(verified) = crate::verification::service::verified_name(conn, user_id)? else {
        return Err(AppError::conflict(
            "payee.verification_required",
            "绑定收款账户前请先完成实名认证",
            "Complete real-name verification before binding a payee account",
        ));
    };
    if verified.trim() != name {
        return Err(invalid(
            "real_name",
            "payee.name_mismatch",
            "支付宝账户姓名与实名认证姓名不一致",
            "The Alipay account's name does not match the verified name",
        ));
    }
    Ok((account, name.to_string()))
}

/// Binds a payee whose identifier was checked (and, for WeChat, exchanged).
pub fn bind(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    kind: PayeeKind,
    identifier: &str,
    real_name: Option<&str>,
) -> AppResult<PayeeView> {
    // Concurrent binds of one user take turns (the count and the duplicate
    // check below hold).
    crate::platform::db::xact_lock(conn, 0x7061_7965_0000_0000 ^ user_id)?;
    let live = payee_accounts::table
        .filter(payee_accounts::user_id.eq(user_id))
        .filter(payee_accounts::removed_at.is_null());
    let duplicate: i64 = live
        .filter(payee_accounts::kind.eq(kind))
        .filter(payee_accounts::identifier.eq(identifier))
        .count()
        .get_result(conn)?;
    if duplicate > 0 {
        return Err(AppError::conflict(
            "payee.duplicate",
            "该收款账户已绑定",
            "This payee account is already bound",
        ));
    }
    let count: i64 = live.count().get_result(conn)?;
    if count >= MAX_PAYEES {
        return Err(AppError::conflict(
            "payee.limit",
            "收款账户最多绑定 5 个",
            "At most 5 payee accounts can be bound",
        ));
    }
    let id: i64 = diesel::insert_into(payee_accounts::table)
        .values((
            payee_accounts::user_id.eq(user_id),
            payee_accounts::kind.eq(kind),
            payee_accounts::identifier.eq(identifier),
            payee_accounts::real_name.eq(real_name),
            payee_accounts::created_at.eq(st.clock.now_naive()),
        ))
        .returning(payee_accounts::id)
        .get_result(conn)?;
    let row = payee_accounts::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?;
    Ok(view(row))
}

/// The caller's bound payees, newest first.
pub fn mine(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<PayeeView>> {
    Ok(payee_accounts::table
        .filter(payee_accounts::user_id.eq(user_id))
        .filter(payee_accounts::removed_at.is_null())
        .order(payee_accounts::id.desc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(view)
        .collect())
}

fn not_found() -> AppError {
    AppError::not_found("payee.not_found", "收款账户不存在", "No such payee account")
}

/// Unbinds one of the caller's payees. Payouts already under way still go
/// to it.
pub fn remove(conn: &mut DbConnection, st: &AppState, user_id: i64, id: i64) -> AppResult<()> {
    let n = diesel::update(
        payee_accounts::table
            .filter(payee_accounts::id.eq(id))
            .filter(payee_accounts::user_id.eq(user_id))
            .filter(payee_accounts::removed_at.is_null()),
    )
    .set(payee_accounts::removed_at.eq(st.clock.now_naive()))
    .execute(conn)?;
    if n == 0 {
        return Err(not_found());
    }
    Ok(())
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<Option<Payee>> {
    Ok(payee_accounts::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(|r| Payee {
            id: r.id,
            user_id: r.user_id,
            kind: r.kind,
            identifier: r.identifier,
            real_name: r.real_name,
        }))
}

/// A payee as a payout saw it (bound then, even if unbound since).
pub fn for_payout(conn: &mut DbConnection, id: i64) -> AppResult<Payee> {
    load(conn, id)?.ok_or_else(not_found)
}

/// The user's live payee `id` (FND-4: money goes out only to a bound payee).
pub fn usable(conn: &mut DbConnection, user_id: i64, id: i64, field: &str) -> AppResult<Payee> {
    let live: Option<i64> = payee_accounts::table
        .filter(payee_accounts::id.eq(id))
        .filter(payee_accounts::user_id.eq(user_id))
        .filter(payee_accounts::removed_at.is_null())
        .select(payee_accounts::id)
        .first(conn)
        .optional()?;
    match live {
        Some(id) => load(conn, id)?.ok_or_else(not_found),
        None => Err(invalid(
            field,
            "payee.not_bound",
            "请先绑定收款账户，并选择其中之一",
            "Name one of your bound payee accounts",
        )),
    }
}

/// The user's newest live payee, if any (staff payouts default to it).
pub fn newest(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<Payee>> {
    let id: Option<i64> = payee_accounts::table
        .filter(payee_accounts::user_id.eq(user_id))
        .filter(payee_accounts::removed_at.is_null())
        .order(payee_accounts::id.desc())
        .select(payee_accounts::id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => load(conn, id),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use crate::funds::payees::{mask_identifier, mask_name};

    #[test]
    fn fnd4_identifiers_and_names_are_masked() {
        assert_eq!(mask_identifier("13800138000"), "138****8000");
        assert_eq!(mask_identifier("zhang@example.com"), "z***@example.com");
        assert_eq!(
            mask_identifier("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
            "oUpF****eS6o"
        );
        assert_eq!(mask_name("张三"), "*三");
        assert_eq!(mask_name("欧阳娜娜"), "***娜");
    }
}
