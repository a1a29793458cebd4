//! Staff money operations (FND-3, FND-6): finance holds, releases, pays
//! out, compensates or refunds, each with a reason and the item it serves.
//! Up to the approval threshold (`MONEY_OPERATION_APPROVAL_ABOVE`) an
//! operation takes effect at once; above it, it waits for a second finance
//! person (maker–checker) and moves money only on approval. Every step is
//! audited; every movement is one ledger transaction referencing the
//! operation.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ledger::{self, Reference};
use super::payees::{self, Payee};
use super::payments;
use crate::notifications::{Notice, notify};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::money_operations;
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{Money, format_fen};
use crate::platform::paging::{Page, PageQuery, try_page_by_id};
use crate::platform::state::AppState;

text_enum! {
    /// What a money operation does to the user's funds.
    pub enum OperationKind {
        /// Available → held (a suspected violation, a dispute under way).
        Hold = "hold",
        /// Held → available.
        Release = "release",
        /// Available → the user's bound payee, through its channel.
        PayOut = "pay_out",
        /// The platform pays the user (its own expense).
        Compensate = "compensate",
        /// The platform returns fee revenue to the user.
        Refund = "refund",
    }
}

text_enum! {
    /// Where a money operation stands.
    pub enum OperationStatus {
        /// Above the threshold: waiting for a second finance person.
        AwaitingApproval = "awaiting_approval",
        /// The money moved.
        Executed = "executed",
        /// The second finance person refused it; nothing moved.
        Rejected = "rejected",
    }
}

text_enum! {
    /// What an operation serves (FND-6): a violation, a dispute, or a
    /// request (a deposit refund, an account closure, or the payout of a
    /// reclaimed or sealed account's remaining funds).
    pub enum ServesType {
        Violation = "violation",
        Dispute = "dispute",
        RefundRequest = "refund_request",
        ClosureRequest = "closure_request",
        /// ACC-9 / VIO: the account itself (its remaining funds paid out);
        /// `serves_id` is the user id.
        AccountSettlement = "account_settlement",
    }
}

/// `POST /api/v1/admin/money-operations`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "pay_out", "user_id": 42, "amount": "120.00",
    "reason": "封号后结清余额", "serves_type": "account_settlement", "serves_id": 42}))]
pub struct NewOperation {
    pub kind: OperationKind,
    /// Whose funds.
    pub user_id: i64,
    pub amount: Money,
    /// Why (shown to the user for payouts, compensation and refunds).
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
    pub serves_type: ServesType,
    /// The violation, dispute, request or user id it serves.
    pub serves_id: i64,
    /// `pay_out` only: one of the user's bound payees (default: the newest).
    pub payee_account_id: Option<i64>,
}

/// `POST /api/v1/admin/money-operations/{id}/reject`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    #[schema(min_length = 2, max_length = 500)]
    pub note: String,
}

/// A money operation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationView {
    pub id: i64,
    pub kind: OperationKind,
    pub user_id: i64,
    pub amount: Money,
    pub reason: String,
    pub serves_type: ServesType,
    pub serves_id: i64,
    pub payee_account_id: Option<i64>,
    pub status: OperationStatus,
    /// The finance person who made it (none: opened by the platform, ACC-9).
    pub created_by: Option<i64>,
    /// The second finance person who approved (or rejected) it.
    pub approved_by: Option<i64>,
    pub decision_note: Option<String>,
    /// `pay_out`: the payout's payment id.
    pub payment_id: Option<String>,
    /// The ledger transaction that moved the money.
    pub ledger_transaction_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Filters of `GET /api/v1/admin/money-operations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationQuery {
    pub status: Option<OperationStatus>,
    #[serde(default, deserialize_with = "crate::platform::http::int_query")]
    pub user_id: Option<i64>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = money_operations)]
struct Row {
    id: i64,
    kind: OperationKind,
    user_id: i64,
    amount: i64,
    reason: String,
    serves_type: ServesType,
    serves_id: String,
    payee_account_id: Option<i64>,
    status: OperationStatus,
    created_by: Option<i64>,
    approved_by: Option<i64>,
    decision_note: Option<String>,
    payment_id: Option<String>,
    ledger_tx_id: Option<i64>,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

fn view(r: Row) -> AppResult<OperationView> {
    Ok(OperationView {
        id: r.id,
        kind: r.kind,
        user_id: r.user_id,
        amount: Money::from_stored(r.amount)?,
        reason: r.reason,
        serves_type: r.serves_type,
        serves_id: r.serves_id.parse().unwrap_or_default(),
        payee_account_id: r.payee_account_id,
        status: r.status,
        created_by: r.created_by,
        approved_by: r.approved_by,
        decision_note: r.decision_note,
        payment_id: r.payment_id,
        ledger_transaction_id: r.ledger_tx_id,
        created_at: r.created_at.and_utc(),
        decided_at: r.decided_at.map(|t| t.and_utc()),
    })
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    money_operations::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::not_found(
                "money_operation.not_found",
                "资金操作不存在",
                "No such money operation",
            )
        })
}

/// Checks an operation's own fields (the item it serves is the caller's
/// to check) and picks the payee of a payout.
fn checked(conn: &mut DbConnection, req: &NewOperation) -> AppResult<(String, Option<Payee>)> {
    let reason = req.reason.trim().to_string();
    if !(2..=500).contains(&reason.chars().count()) {
        return Err(AppError::invalid_field(
            "reason",
            "money_operation.reason_required",
            "请填写 2 至 500 字的理由",
            "Give a reason of 2 to 500 characters",
        ));
    }
    if req.amount.fen() <= 0 {
        return Err(AppError::invalid_field(
            "amount",
            "money_operation.amount_positive",
            "金额须大于零",
            "The amount must be above zero",
        ));
    }
    if req.kind != OperationKind::PayOut {
        if req.payee_account_id.is_some() {
            return Err(AppError::invalid_field(
                "payee_account_id",
                "money_operation.payee_not_allowed",
                "只有付款操作指定收款账户",
                "Only a pay_out names a payee account",
            ));
        }
        return Ok((reason, None));
    }
    let payee = match req.payee_account_id {
        Some(id) => payees::usable(conn, req.user_id, id, "payee_account_id")?,
        None => payees::newest(conn, req.user_id)?.ok_or_else(|| {
            AppError::conflict(
                "payee.none_bound",
                "该用户未绑定收款账户，无法付款",
                "The user has no bound payee account to pay out to",
            )
        })?,
    };
    Ok((reason, Some(payee)))
}

/// Records an operation; at or below the threshold it is executed at once.
/// `staff_id` none: the platform opened it (it then always waits for a
/// finance person).
pub fn create(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: Option<i64>,
    req: &NewOperation,
) -> AppResult<OperationView> {
    let (reason, payee) = checked(conn, req)?;
    if let Some(payee) = &payee {
        payments::channel_for_payee(st, payee)?;
    }
    let now = st.clock.now_naive();
    let id: i64 = diesel::insert_into(money_operations::table)
        .values((
            money_operations::kind.eq(req.kind),
            money_operations::user_id.eq(req.user_id),
            money_operations::amount.eq(req.amount.fen()),
            money_operations::reason.eq(&reason),
            money_operations::serves_type.eq(req.serves_type),
            money_operations::serves_id.eq(req.serves_id.to_string()),
            money_operations::payee_account_id.eq(payee.as_ref().map(|p| p.id)),
            money_operations::status.eq(OperationStatus::AwaitingApproval),
            money_operations::created_by.eq(staff_id),
            money_operations::created_at.eq(now),
        ))
        .returning(money_operations::id)
        .get_result(conn)?;
    audit(
        conn,
        st,
        staff_id,
        "money_operation.create",
        id,
        Some(&reason),
    )?;
    let needs_second =
        staff_id.is_none() || req.amount.fen() > st.settings.payments.approval_above_fen;
    if !needs_second {
        execute(conn, st, id, None)?;
    }
    view(load(conn, id)?)
}

fn audit(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: Option<i64>,
    action: &str,
    id: i64,
    reason: Option<&str>,
) -> AppResult<()> {
    let mut entry = match staff_id {
        Some(staff) => crate::audit::Entry::staff(staff, action, "money_operation", id),
        None => crate::audit::Entry {
            actor: crate::audit::Actor::System,
            action,
            target_type: "money_operation",
            target_id: Some(id.to_string()),
            reason: None,
            details: None,
            ip: None,
        },
    };
    entry.reason = reason;
    crate::audit::record(conn, st, entry)
}

fn decided(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    status: OperationStatus,
    approver: Option<i64>,
    note: Option<&str>,
) -> AppResult<()> {
    let n = diesel::update(
        money_operations::table
            .filter(money_operations::id.eq(id))
            .filter(money_operations::status.eq(OperationStatus::AwaitingApproval)),
    )
    .set((
        money_operations::status.eq(status),
        money_operations::approved_by.eq(approver),
        money_operations::decision_note.eq(note),
        money_operations::decided_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(already_decided());
    }
    Ok(())
}

fn already_decided() -> AppError {
    AppError::conflict(
        "money_operation.already_decided",
        "该资金操作已处理",
        "This money operation was already decided",
    )
}

/// What an executed operation moved: its ledger transaction, the payout's
/// payment id, and what the user is told.
type Moved = (i64, Option<String>, Option<(&'static str, String)>);

/// Moves an operation's money in one ledger transaction.
fn movement(conn: &mut DbConnection, st: &AppState, op: &Row) -> AppResult<Moved> {
    let reference = |kind: &'static str, memo: String| Reference {
        kind,
        object_type: "money_operation",
        object_id: op.id.to_string(),
        memo,
    };
    let shown = format_fen(op.amount);
    Ok(match op.kind {
        OperationKind::Hold => {
            let r = reference("staff_hold", format!("平台冻结 {shown}：{}", op.reason));
            (
                ledger::hold(conn, st, op.user_id, op.amount, &r)?,
                None,
                None,
            )
        }
        OperationKind::Release => {
            // Releases for the user take turns (on PostgreSQL two at once
            // would each miss the other's executed row).
            crate::platform::db::xact_lock(conn, 0x6d6f_7065_0000_0000 ^ op.user_id)?;
            if staff_held(conn, op)? < op.amount {
                return Err(release_exceeds_hold());
            }
            let r = reference("staff_release", format!("平台解冻 {shown}"));
            (
                ledger::release(conn, st, op.user_id, op.amount, &r)?,
                None,
                None,
            )
        }
        OperationKind::Compensate => {
            let platform = ledger::account(
                conn,
                st,
                ledger::code::PLATFORM_COMPENSATION,
                None,
                "platform_compensation",
            )?;
            let (available, _) = ledger::user_accounts(conn, st, op.user_id)?;
            let r = reference("staff_compensation", format!("平台补偿 {shown}"));
            let legs = [(platform, -op.amount), (available, op.amount)];
            let tx = ledger::post(conn, st, &r, &legs, None)?;
            let body = format!("平台向您补偿 {shown} 元：{}", op.reason);
            (tx, None, Some(("平台补偿到账", body)))
        }
        OperationKind::Refund => {
            let r = reference("staff_refund", format!("平台退款 {shown}"));
            let tx = ledger::refund_fee(conn, st, op.user_id, op.amount, &r)?;
            let body = format!("平台向您退款 {shown} 元：{}", op.reason);
            (tx, None, Some(("平台退款到账", body)))
        }
        OperationKind::PayOut => {
            let payee_id = op
                .payee_account_id
                .ok_or_else(|| AppError::internal("pay_out without a payee"))?;
            // Still one of the user's bound payees when the money moves.
            let payee = payees::usable(conn, op.user_id, payee_id, "payee_account_id")?;
            let channel = payments::channel_for_payee(st, &payee)?;
            let (payment, tx) = payments::payout(
                conn,
                st,
                &payee,
                channel,
                op.amount,
                "staff_payout_hold",
                "平台付款冻结",
            )?;
            let body = format!("平台正将 {shown} 元付至您绑定的收款账户：{}", op.reason);
            (tx, Some(payment.id), Some(("平台付款", body)))
        }
    })
}

/// What staff holds for the item an operation serves still keep: executed
/// holds less executed releases. A release frees no more than that, so it
/// never frees money a withdrawal or an award holds.
fn staff_held(conn: &mut DbConnection, op: &Row) -> AppResult<i64> {
    let sum = |conn: &mut DbConnection, kind: OperationKind| -> AppResult<i64> {
        let amounts: Vec<i64> = money_operations::table
            .filter(money_operations::user_id.eq(op.user_id))
            .filter(money_operations::serves_type.eq(op.serves_type))
            .filter(money_operations::serves_id.eq(&op.serves_id))
            .filter(money_operations::kind.eq(kind))
            .filter(money_operations::status.eq(OperationStatus::Executed))
            .filter(money_operations::id.ne(op.id))
            .select(money_operations::amount)
            .load(conn)?;
        Ok(amounts.iter().sum())
    };
    Ok(sum(conn, OperationKind::Hold)? - sum(conn, OperationKind::Release)?)
}

fn release_exceeds_hold() -> AppError {
    AppError::conflict(
        "money_operation.release_exceeds_hold",
        "解冻金额超过为该事项冻结的金额",
        "The release is more than staff holds keep for this item",
    )
}

/// Moves the operation's money, once: the status moves from
/// `awaiting_approval` first (a conditional update), so a second approval
/// or a concurrent one moves nothing.
fn execute(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    approver: Option<i64>,
) -> AppResult<()> {
    decided(conn, st, id, OperationStatus::Executed, approver, None)?;
    let op = load(conn, id)?;
    let (tx_id, payment_id, notice) = movement(conn, st, &op)?;
    diesel::update(money_operations::table.find(id))
        .set((
            money_operations::ledger_tx_id.eq(tx_id),
            money_operations::payment_id.eq(&payment_id),
        ))
        .execute(conn)?;
    if let Some((title, body)) = notice {
        notify(
            conn,
            st,
            op.user_id,
            Notice {
                kind: "funds.staff_operation",
                title,
                body,
                link: Some("/api/v1/me/account".into()),
            },
        )?;
    }
    Ok(())
}

/// The second finance person approves: the money moves now. The maker
/// cannot approve their own operation.
pub fn approve(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
) -> AppResult<OperationView> {
    let op = load(conn, id)?;
    if op.status != OperationStatus::AwaitingApproval {
        return Err(already_decided());
    }
    if op.created_by == Some(staff_id) {
        return Err(AppError::forbidden(
            "money_operation.same_person",
            "发起人不能审批自己的资金操作，须另一位财务人员审批",
            "A second finance person must approve; the maker cannot",
        ));
    }
    audit(
        conn,
        st,
        Some(staff_id),
        "money_operation.approve",
        id,
        None,
    )?;
    execute(conn, st, id, Some(staff_id))?;
    view(load(conn, id)?)
}

/// A finance person refuses an operation waiting for approval; nothing
/// moves. (The maker may withdraw their own this way.)
pub fn reject(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
    note: &str,
) -> AppResult<OperationView> {
    let note = note.trim();
    if !(2..=500).contains(&note.chars().count()) {
        return Err(AppError::invalid_field(
            "note",
            "money_operation.note_required",
            "请填写 2 至 500 字的说明",
            "Give a note of 2 to 500 characters",
        ));
    }
    load(conn, id)?;
    decided(
        conn,
        st,
        id,
        OperationStatus::Rejected,
        Some(staff_id),
        Some(note),
    )?;
    audit(
        conn,
        st,
        Some(staff_id),
        "money_operation.reject",
        id,
        Some(note),
    )?;
    view(load(conn, id)?)
}

/// The operation as a request, to check again what it serves before it is
/// approved (the item may have changed since).
pub fn as_request(conn: &mut DbConnection, id: i64) -> AppResult<NewOperation> {
    let op = load(conn, id)?;
    Ok(NewOperation {
        kind: op.kind,
        user_id: op.user_id,
        amount: Money::from_stored(op.amount)?,
        reason: op.reason,
        serves_type: op.serves_type,
        serves_id: op.serves_id.parse().unwrap_or_default(),
        payee_account_id: op.payee_account_id,
    })
}

/// Operations, newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &OperationQuery,
    page: &PageQuery,
) -> AppResult<Page<OperationView>> {
    let limit = page.limit()?;
    let mut q = money_operations::table
        .order(money_operations::id.desc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(money_operations::status.eq(status));
    }
    if let Some(user_id) = filter.user_id {
        q = q.filter(money_operations::user_id.eq(user_id));
    }
    if let Some(before) = page.before_id()? {
        q = q.filter(money_operations::id.lt(before));
    }
    try_page_by_id(q.load(conn)?, limit, |r| r.id, view)
}

/// One operation.
pub fn get(conn: &mut DbConnection, id: i64) -> AppResult<OperationView> {
    view(load(conn, id)?)
}

/// Whether a platform-opened settlement of the user's funds is already
/// waiting (ACC-9: one per reclamation).
pub fn settlement_open(conn: &mut DbConnection, user_id: i64) -> AppResult<bool> {
    let n: i64 = money_operations::table
        .filter(money_operations::user_id.eq(user_id))
        .filter(money_operations::serves_type.eq(ServesType::AccountSettlement))
        .filter(money_operations::status.eq(OperationStatus::AwaitingApproval))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
