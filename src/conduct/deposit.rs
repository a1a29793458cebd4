//! The security deposit (保证金, DEP-1..DEP-8): the requirement and its
//! deadlines, payments through the channel into the deposit account,
//! deductions (see `violations`), staff changes of the required amount,
//! and the refund with its observation period and payout.
//!
//! The balance is the ledger account `user:{id}:deposit` (paid − deducted,
//! DEP-3); no interest is ever added (DEP-6). The `deposits` row holds the
//! required amount and the state:
//!
//! - `not_required` — nothing required (DEP-1);
//! - `payment_due` — required and not yet paid: orders shielded (DEP-2);
//! - `active` — paid in full;
//! - `top_up_due` — fell below the requirement: top up by `due_at` (DEP-3);
//! - `overdue` — a deadline was missed: order-taking closed, flagged for
//!   staff; paying late does not reopen it, staff reinstate (VIO-4);
//! - `refunding` / `refunded` — the refund's observation and payout (DEP-7).

use super::model::{AppealStatus, Blocker, ComplaintStatus, DepositStatus, RefundStatus};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::funds::ledger::{self, Reference, code};
use crate::funds::payments::{ChannelName, PaymentView, Purpose, Settled};
use crate::notifications::{Notice, notify};
use crate::platform::clock::{china_days_deadline, china_deadline};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{appeals, complaints, deposit_refunds, deposits};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{SignedFen, format_fen};
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;

fn payout_code(user_id: i64) -> String {
    format!("user:{user_id}:deposit_payout")
}

/// The user's deposit ledger account.
pub fn account(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<i64> {
    ledger::account(
        conn,
        st,
        &code::deposit(user_id),
        Some(user_id),
        "user_deposit",
    )
}

/// Where a refund waits while the channel pays it out.
fn payout_account(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<i64> {
    ledger::account(
        conn,
        st,
        &payout_code(user_id),
        Some(user_id),
        "user_deposit_payout",
    )
}

/// DEP-3: the deposit balance (paid − deducted).
pub fn balance(conn: &mut DbConnection, user_id: i64) -> AppResult<i64> {
    crate::funds::reading::balance_of(conn, &code::deposit(user_id))
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = deposits)]
struct Row {
    user_id: i64,
    required: i64,
    status: DepositStatus,
    due_at: Option<NaiveDateTime>,
    reason: Option<String>,
}

fn load(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<Row>> {
    Ok(deposits::table
        .find(user_id)
        .select(Row::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the row (MultiConnection has no upsert: update, else insert).
fn save(conn: &mut DbConnection, st: &AppState, row: &Row) -> AppResult<()> {
    let now = st.clock.now_naive();
    let n = diesel::update(deposits::table.find(row.user_id))
        .set((
            deposits::required.eq(row.required),
            deposits::status.eq(row.status),
            deposits::due_at.eq(row.due_at),
            deposits::reason.eq(&row.reason),
            deposits::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(deposits::table)
            .values((
                deposits::user_id.eq(row.user_id),
                deposits::required.eq(row.required),
                deposits::status.eq(row.status),
                deposits::due_at.eq(row.due_at),
                deposits::reason.eq(&row.reason),
                deposits::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// What changed the deposit, for [`reassess`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The requirement was set or raised (VIO-4, DEP-4).
    Required,
    /// Money arrived (a deposit payment).
    Paid,
    /// Money was deducted (DEP-5) or paid out for a claim (DSP-1).
    Deducted,
    /// A requirement was lifted or lowered, or a deduction returned (VIO-6).
    Relieved,
    /// Staff reopened order-taking after an overdue deadline.
    Reinstated,
}

/// DEP-2, DEP-3, DEP-6: the state the deposit moves to after `event`,
/// with its deadline. Overdue sticks until staff reinstate or the
/// requirement is relieved; a refund in progress is left alone.
fn next_state(
    st: &AppState,
    was: DepositStatus,
    row: &Row,
    balance: i64,
    event: Event,
) -> (DepositStatus, Option<NaiveDateTime>) {
    let now = st.clock.now_naive();
    let lifts_overdue = matches!(event, Event::Reinstated | Event::Relieved);
    let refund_flow = was == DepositStatus::Refunding || was == DepositStatus::Refunded;
    if refund_flow {
        (was, row.due_at)
    } else if was == DepositStatus::Overdue && !lifts_overdue {
        (DepositStatus::Overdue, row.due_at)
    } else if balance >= row.required {
        if row.required == 0 {
            (DepositStatus::NotRequired, None)
        } else {
            (DepositStatus::Active, None)
        }
    } else if was == DepositStatus::Overdue {
        // Relieved but still short: the overdue flag stays.
        (DepositStatus::Overdue, row.due_at)
    } else if [DepositStatus::NotRequired, DepositStatus::PaymentDue].contains(&was) {
        let due = match (was, row.due_at) {
            (DepositStatus::PaymentDue, Some(due)) => due,
            _ => china_days_deadline(now, st.settings.conduct.deposit_due_days),
        };
        (DepositStatus::PaymentDue, Some(due))
    } else {
        let due = match (was, row.due_at) {
            (DepositStatus::TopUpDue, Some(due)) => due,
            _ => china_days_deadline(now, st.settings.conduct.top_up_days),
        };
        (DepositStatus::TopUpDue, Some(due))
    }
}

/// The notice for a change of state, if the user needs one.
fn change_notice(
    was: DepositStatus,
    new_status: DepositStatus,
    event: Event,
    row: &Row,
    balance: i64,
) -> Option<Notice<'static>> {
    let due_at = row.due_at;
    let shortfall = format_fen((row.required - balance).max(0));
    let link = Some("/api/v1/me/deposit".to_string());
    match (was, new_status, event) {
        (w, DepositStatus::PaymentDue, _) if w != DepositStatus::PaymentDue => Some(Notice {
            kind: "deposit.required",
            title: "须缴纳保证金",
            body: format!(
                "原因：{}。须缴纳保证金 {} 元，请于 {} 前一次性缴清；缴清前您的订单已屏蔽，不能接单。",
                row.reason.as_deref().unwrap_or("平台风控要求"),
                format_fen(row.required),
                due_at.map(china_deadline).unwrap_or_default()
            ),
            link,
        }),
        (w, DepositStatus::TopUpDue, _) if w != DepositStatus::TopUpDue => Some(Notice {
            kind: "deposit.top_up_required",
            title: "请补足保证金",
            body: format!(
                "保证金余额 {} 元低于应缴金额 {} 元，请于 {} 前补足 {} 元，逾期将暂停接单并在搜索中隐藏。",
                format_fen(balance),
                format_fen(row.required),
                due_at.map(china_deadline).unwrap_or_default(),
                shortfall
            ),
            link,
        }),
        (DepositStatus::PaymentDue | DepositStatus::TopUpDue, DepositStatus::Active, _) => {
            Some(Notice {
                kind: "deposit.paid",
                title: "保证金已缴足",
                body: format!("保证金余额 {} 元，已恢复接单。", format_fen(balance)),
                link,
            })
        }
        (DepositStatus::Overdue, DepositStatus::Overdue, Event::Paid) => Some(Notice {
            kind: "deposit.paid_late",
            title: "保证金已到账",
            body: format!(
                "保证金余额 {} 元。因逾期缴纳，接单需平台审核后恢复。",
                format_fen(balance)
            ),
            link,
        }),
        (DepositStatus::Overdue, DepositStatus::Active | DepositStatus::NotRequired, _) => {
            Some(Notice {
                kind: "deposit.reinstated",
                title: "已恢复接单",
                body: "平台已恢复您的接单权限。".into(),
                link,
            })
        }
        _ => None,
    }
}

/// Sets the state from the required amount and the balance after `event`,
/// and tells the user what changed. `required` replaces the stored amount
/// when given.
pub fn reassess(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    required: Option<i64>,
    reason: Option<&str>,
    event: Event,
) -> AppResult<()> {
    let before = load(conn, user_id)?;
    let was = before
        .as_ref()
        .map_or(DepositStatus::NotRequired, |r| r.status);
    let mut row = before.clone().unwrap_or(Row {
        user_id,
        required: 0,
        status: DepositStatus::NotRequired,
        due_at: None,
        reason: None,
    });
    if let Some(r) = required {
        row.required = r;
    }
    if let Some(r) = reason {
        row.reason = Some(r.to_string());
    }
    account(conn, st, user_id)?;
    let balance = balance(conn, user_id)?;
    let (new_status, due_at) = next_state(st, was, &row, balance, event);
    row.status = new_status;
    row.due_at = due_at;
    save(conn, st, &row)?;

    let notice = change_notice(was, new_status, event, &row, balance);
    if let Some(notice) = notice {
        notify(conn, st, user_id, notice)?;
    }
    Ok(())
}

/// VIO-4: a code-of-conduct breach requires the deposit (at least the
/// configured amount). Returns the required amount before, so an upheld
/// appeal can restore it.
pub fn require_for_breach(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    reason: &str,
) -> AppResult<(i64, i64)> {
    let previous = load(conn, user_id)?.map_or(0, |r| r.required);
    let required = previous.max(st.settings.conduct.deposit_fen);
    reassess(
        conn,
        st,
        user_id,
        Some(required),
        Some(reason),
        Event::Required,
    )?;
    Ok((previous, required))
}

/// VIO-6: an upheld appeal lifts the requirement a breach set, if nothing
/// changed it since.
pub fn lift_breach_requirement(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    set_to: i64,
    previous: i64,
) -> AppResult<()> {
    let current = load(conn, user_id)?.map_or(0, |r| r.required);
    let required = (current == set_to).then_some(previous);
    reassess(conn, st, user_id, required, None, Event::Relieved)
}

/// DEP-4: staff set one user's required amount.
pub fn set_required(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    amount: i64,
    reason: &str,
) -> AppResult<DepositView> {
    let previous = load(conn, user_id)?.map_or(0, |r| r.required);
    let event = if amount > previous {
        Event::Required
    } else {
        Event::Relieved
    };
    // Lowering never lifts an overdue flag by itself (staff reinstate).
    let event = if event == Event::Relieved
        && load(conn, user_id)?.is_some_and(|r| r.status == DepositStatus::Overdue)
    {
        Event::Deducted
    } else {
        event
    };
    reassess(conn, st, user_id, Some(amount), Some(reason), event)?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "deposit.required_amount_changed",
            title: "保证金应缴金额调整",
            body: format!(
                "您的保证金应缴金额由 {} 元调整为 {} 元，原因：{reason}。",
                format_fen(previous),
                format_fen(amount)
            ),
            link: Some("/api/v1/me/deposit".into()),
        },
    )?;
    view(conn, st, user_id)
}

/// Staff reopen order-taking of an overdue account whose deposit is paid.
pub fn reinstate(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<DepositView> {
    let row = load(conn, user_id)?;
    if row.as_ref().map(|r| r.status) != Some(DepositStatus::Overdue) {
        return Err(AppError::conflict(
            "deposit.not_overdue",
            "该账户保证金未逾期",
            "The deposit is not overdue",
        ));
    }
    let required = row.map_or(0, |r| r.required);
    if balance(conn, user_id)? < required {
        return Err(AppError::conflict(
            "deposit.insufficient_balance",
            "保证金余额不足应缴金额，不能恢复接单",
            "The deposit balance is below the required amount",
        ));
    }
    reassess(conn, st, user_id, None, None, Event::Reinstated)?;
    view(conn, st, user_id)
}

/// Scheduler (DEP-2, DEP-3): deadlines passed without full payment close
/// order-taking and flag the account `deposit_overdue`. Each row is claimed
/// by a conditional update.
pub fn expire_due(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let now = st.clock.now_naive();
    let due: Vec<(i64, String)> = deposits::table
        .filter(deposits::status.eq_any([DepositStatus::PaymentDue, DepositStatus::TopUpDue]))
        .filter(deposits::due_at.le(now))
        .select((deposits::user_id, deposits::status))
        .limit(500)
        .load(conn)?;
    let mut done = 0;
    for (user_id, was) in due {
        let outcome: AppResult<usize> = crate::platform::db::write_tx(conn, |c| {
            let n = diesel::update(
                deposits::table
                    .filter(deposits::user_id.eq(user_id))
                    .filter(deposits::status.eq(&was))
                    .filter(deposits::due_at.le(now)),
            )
            .set((
                deposits::status.eq(DepositStatus::Overdue),
                deposits::updated_at.eq(now),
            ))
            .execute(c)?;
            if n == 1 {
                notify(
                    c,
                    st,
                    user_id,
                    Notice {
                        kind: "deposit.overdue",
                        title: "保证金逾期未缴足",
                        body: "保证金未在期限内缴足，接单已暂停，您的竞标和主页已从搜索中隐藏。补缴后需平台审核恢复。".into(),
                        link: Some("/api/v1/me/deposit".into()),
                    },
                )?;
            }
            Ok(n)
        });
        match outcome {
            Ok(n) => done += n,
            Err(e) => log::error!(
                "job deposit deadline user={user_id}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(done)
}

// ---- Views

/// A refund request and where it stands (DEP-7).
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub id: i64,
    pub user_id: i64,
    pub status: RefundStatus,
    #[schema(example = "alipay")]
    pub channel: String,
    /// When the observation period ends (extended by 30 days from any new
    /// complaint, penalty or dispute).
    pub observation_ends_at: DateTime<Utc>,
    /// The amount paid out (set when the payout starts).
    pub amount: Option<SignedFen>,
    /// The payout is due by the end of the third working day after the
    /// observation (China time, weekends and listed holidays skipped).
    pub payout_due_at: Option<DateTime<Utc>>,
    /// The payout's payment id.
    pub payment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = deposit_refunds)]
struct RefundRow {
    id: i64,
    user_id: i64,
    channel: String,
    status: RefundStatus,
    observation_ends_at: NaiveDateTime,
    amount: Option<i64>,
    payout_due_at: Option<NaiveDateTime>,
    payment_id: Option<String>,
    created_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
}

impl RefundRow {
    fn view(self) -> RefundView {
        RefundView {
            id: self.id,
            user_id: self.user_id,
            status: self.status,
            channel: self.channel,
            observation_ends_at: self.observation_ends_at.and_utc(),
            amount: self.amount.map(SignedFen),
            payout_due_at: self.payout_due_at.map(|t| t.and_utc()),
            payment_id: self.payment_id,
            created_at: self.created_at.and_utc(),
            completed_at: self.completed_at.map(|t| t.and_utc()),
        }
    }
}

/// The caller's deposit (DEP-3). No interest is ever paid (DEP-6).
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    /// What must be kept in the deposit account.
    #[schema(example = "1000.00")]
    pub required: SignedFen,
    /// Paid − deducted. Never earns interest.
    #[schema(example = "1000.00")]
    pub balance: SignedFen,
    /// What is still to pay (`required − balance`, at least 0).
    #[schema(example = "0.00")]
    pub shortfall: SignedFen,
    pub status: DepositStatus,
    /// Deadline to pay or top up (`payment_due`, `top_up_due`).
    pub due_at: Option<DateTime<Utc>>,
    /// A deadline was missed; only staff reopen order-taking.
    pub deposit_overdue: bool,
    /// Whether the deposit lets the user take orders now.
    pub accepting_orders: bool,
    /// Why the deposit was last required or changed.
    pub reason: Option<String>,
    /// The latest refund request, if any.
    pub refund: Option<RefundView>,
    #[schema(example = "CNY")]
    pub currency: &'static str,
}

fn latest_refund(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<RefundRow>> {
    Ok(deposit_refunds::table
        .filter(deposit_refunds::user_id.eq(user_id))
        .order(deposit_refunds::id.desc())
        .select(RefundRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn view(conn: &mut DbConnection, _st: &AppState, user_id: i64) -> AppResult<DepositView> {
    let row = load(conn, user_id)?;
    let balance = balance(conn, user_id)?;
    let (required, status, due_at, reason) = match row {
        Some(r) => (r.required, r.status, r.due_at, r.reason),
        None => (0, DepositStatus::NotRequired, None, None),
    };
    let shielded = DepositStatus::SHIELDED.contains(&status);
    Ok(DepositView {
        required: SignedFen(required),
        balance: SignedFen(balance),
        shortfall: SignedFen((required - balance).max(0)),
        deposit_overdue: status == DepositStatus::Overdue,
        accepting_orders: !shielded,
        status,
        due_at: due_at.map(|t| t.and_utc()),
        reason,
        refund: latest_refund(conn, user_id)?.map(RefundRow::view),
        currency: "CNY",
    })
}

// ---- Payments into the deposit account

/// `POST /api/v1/me/deposit/payments`: the amount is always what is due.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "alipay"}))]
pub struct DepositPaymentRequest {
    pub channel: ChannelName,
}

/// Starts a payment of the whole shortfall in one sum (DEP-2); the deposit
/// is credited when the channel's signed callback confirms it.
pub fn create_payment(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &DepositPaymentRequest,
) -> AppResult<PaymentView> {
    let row = load(conn, user_id)?;
    let shortfall = match &row {
        Some(r) if DepositStatus::ARREARS.contains(&r.status) => {
            r.required - balance(conn, user_id)?
        }
        _ => 0,
    };
    if shortfall <= 0 {
        return Err(AppError::conflict(
            "deposit.nothing_due",
            "当前无需缴纳保证金",
            "No deposit payment is due",
        ));
    }
    account(conn, st, user_id)?;
    crate::funds::payments::create_purposed(
        conn,
        st,
        user_id,
        crate::funds::payments::Direction::TopUp,
        Purpose::Deposit,
        req.channel,
        shortfall,
        None,
    )
}

/// DEP-2: a deposit payment arrived (or failed).
fn apply_deposit_payment(conn: &mut DbConnection, st: &AppState, p: &Settled) -> AppResult<()> {
    let reference = |kind, memo: String| Reference::payment(kind, &p.public_id, memo);
    let shown = format_fen(p.amount);
    let deposit = account(conn, st, p.user_id)?;
    let clearing = ledger::clearing(conn, st, &p.channel)?;
    match p.succeeded {
        true => {
            ledger::post(
                conn,
                st,
                &reference("deposit_payment", format!("缴纳保证金 {shown}")),
                &[(clearing, -p.amount), (deposit, p.amount)],
                None,
            )?;
            reassess(conn, st, p.user_id, None, None, Event::Paid)
        }
        false => notify(
            conn,
            st,
            p.user_id,
            Notice {
                kind: "deposit.payment_failed",
                title: "保证金缴纳失败",
                body: format!("保证金 {shown} 元未支付成功，未扣款。"),
                link: Some("/api/v1/me/deposit".into()),
            },
        ),
    }
}

/// DEP-7: a refund payout went out (or failed and came back).
fn apply_refund_payout(conn: &mut DbConnection, st: &AppState, p: &Settled) -> AppResult<()> {
    let reference = |kind, memo: String| Reference::payment(kind, &p.public_id, memo);
    let shown = format_fen(p.amount);
    let deposit = account(conn, st, p.user_id)?;
    let clearing = ledger::clearing(conn, st, &p.channel)?;
    match p.succeeded {
        true => {
            let payout = payout_account(conn, st, p.user_id)?;
            ledger::post(
                conn,
                st,
                &reference("deposit_refund", format!("保证金退还 {shown}")),
                &[(payout, -p.amount), (clearing, p.amount)],
                None,
            )?;
            finish_refund(conn, st, p.user_id, RefundStatus::Paid)?;
            notify(
                conn,
                st,
                p.user_id,
                Notice {
                    kind: "deposit.refunded",
                    title: "保证金已退还",
                    body: format!(
                        "保证金 {shown} 元已退至您的{}账户。您的服务商主页和竞标已从平台移除。",
                        channel_label(&p.channel)
                    ),
                    link: Some("/api/v1/me/deposit".into()),
                },
            )
        }
        false => {
            let payout = payout_account(conn, st, p.user_id)?;
            ledger::post(
                conn,
                st,
                &reference(
                    "deposit_refund_failed",
                    format!("保证金退还失败，退回 {shown}"),
                ),
                &[(payout, -p.amount), (deposit, p.amount)],
                None,
            )?;
            finish_refund(conn, st, p.user_id, RefundStatus::PayoutFailed)?;
            reassess(conn, st, p.user_id, None, None, Event::Relieved)?;
            notify(
                conn,
                st,
                p.user_id,
                Notice {
                    kind: "deposit.refund_failed",
                    title: "保证金退还失败",
                    body: format!(
                        "保证金 {shown} 元退还未成功，款项已退回保证金账户，请核对收款账户后重新申请。"
                    ),
                    link: Some("/api/v1/me/deposit".into()),
                },
            )
        }
    }
}

/// Moves the money of a settled deposit payment or refund payout and
/// updates the deposit. Called once per payment, inside the callback's
/// transaction, after the payment left `pending`.
pub fn apply_callback(conn: &mut DbConnection, st: &AppState, p: &Settled) -> AppResult<()> {
    match p.purpose {
        Purpose::Deposit => apply_deposit_payment(conn, st, p),
        Purpose::DepositRefund => apply_refund_payout(conn, st, p),
        Purpose::Funds => Err(AppError::internal("a funds payment routed to the deposit")),
    }
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "alipay" => "支付宝",
        "wechat" => "微信",
        _ => "测试渠道",
    }
}

fn finish_refund(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    to: RefundStatus,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    diesel::update(
        deposit_refunds::table
            .filter(deposit_refunds::user_id.eq(user_id))
            .filter(deposit_refunds::status.eq(RefundStatus::PayoutPending)),
    )
    .set((
        deposit_refunds::status.eq(to),
        deposit_refunds::completed_at.eq(now),
    ))
    .execute(conn)?;
    let deposit_status = if to == RefundStatus::Paid {
        DepositStatus::Refunded
    } else {
        // A failed payout returns the account to its normal state; the
        // user applies again once the receiving account is fixed.
        DepositStatus::Active
    };
    diesel::update(deposits::table.find(user_id))
        .set((
            deposits::status.eq(deposit_status),
            deposits::due_at.eq(None::<NaiveDateTime>),
            deposits::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- Refund (DEP-7)

/// `POST /api/v1/me/deposit/refund-request`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "alipay", "payee_account_id": 1}))]
pub struct RefundRequest {
    /// The channel that pays the balance out.
    pub channel: ChannelName,
    /// The bound payee account it goes to (FND-4; one of
    /// `GET /me/payee-accounts`, of the channel's kind).
    pub payee_account_id: i64,
}

/// What conduct itself knows keeps a deposit from being refunded or an
/// account from closing (DEP-7): money owed, open complaints about the
/// user, penalties under appeal. Disputes and awards are added by the
/// callers that can see them (`flows::refunds`, `lifecycle::closure`).
pub fn own_blockers(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<Blocker>> {
    let mut out = Vec::new();
    let arrears: i64 = deposits::table
        .filter(deposits::user_id.eq(user_id))
        .filter(deposits::status.eq_any(DepositStatus::ARREARS))
        .count()
        .get_result(conn)?;
    Blocker::push_if(&mut out, "deposit_arrears", arrears);
    let open_complaints: i64 = complaints::table
        .filter(complaints::subject_id.eq(user_id))
        .filter(complaints::status.eq(ComplaintStatus::Open))
        .count()
        .get_result(conn)?;
    Blocker::push_if(&mut out, "complaint_open", open_complaints);
    let appeals_pending: i64 = appeals::table
        .filter(appeals::user_id.eq(user_id))
        .filter(appeals::status.eq(AppealStatus::Pending))
        .count()
        .get_result(conn)?;
    Blocker::push_if(&mut out, "penalty_under_appeal", appeals_pending);
    Ok(out)
}

fn refund_blocked(blocking: Vec<Blocker>) -> AppError {
    let codes: Vec<&str> = blocking.iter().map(|b| b.code.as_str()).collect();
    AppError::conflict(
        "deposit.refund_blocked",
        format!("暂不能申请退还保证金：{}", codes.join("、")),
        format!("The deposit cannot be refunded yet: {}", codes.join(", ")),
    )
    .with_extension(
        "blocking",
        serde_json::to_value(&blocking).unwrap_or_default(),
    )
}

/// The refund's payee (FND-4): one of the user's bound payees that the
/// chosen (available) channel pays.
fn refund_payee(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &RefundRequest,
) -> AppResult<crate::funds::payees::Payee> {
    crate::funds::payments::channel_available(st, req.channel)?;
    let payee =
        crate::funds::payees::usable(conn, user_id, req.payee_account_id, "payee_account_id")?;
    crate::funds::payments::check_payee_channel(&payee, req.channel, "payee_account_id")?;
    Ok(payee)
}

/// The user applies for the refund; the observation period starts and
/// order-taking closes (the provider is leaving).
pub fn request_refund(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &RefundRequest,
    blocking: Vec<Blocker>,
) -> AppResult<DepositView> {
    let payee = refund_payee(conn, st, user_id, req)?;
    let row = load(conn, user_id)?;
    if let Some(r) = &row
        && (r.status == DepositStatus::Refunding || r.status == DepositStatus::Refunded)
    {
        return Err(AppError::conflict(
            "deposit.refund_in_progress",
            "保证金退还已在处理中或已完成",
            "A refund is already in progress or done",
        ));
    }
    let left = balance(conn, user_id)?;
    crate::funds::payments::check_wechat_limit(req.channel, left)?;
    if left <= 0 {
        return Err(AppError::conflict(
            "deposit.nothing_to_refund",
            "保证金余额为零，无需退还",
            "There is no deposit balance to refund",
        ));
    }
    if !blocking.is_empty() {
        return Err(refund_blocked(blocking));
    }
    let now = st.clock.now_naive();
    let ends = now + Duration::days(st.settings.conduct.observation_days);
    diesel::insert_into(deposit_refunds::table)
        .values((
            deposit_refunds::user_id.eq(user_id),
            deposit_refunds::channel.eq(req.channel.as_str()),
            deposit_refunds::payee_account_id.eq(payee.id),
            deposit_refunds::status.eq(RefundStatus::Observation),
            deposit_refunds::observation_ends_at.eq(ends),
            deposit_refunds::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            crate::platform::db::unique_or(e, |_| {
                AppError::conflict(
                    "deposit.refund_in_progress",
                    "保证金退还已在处理中",
                    "A refund is already in progress",
                )
            })
        })?;
    let mut row = row.unwrap_or(Row {
        user_id,
        required: 0,
        status: DepositStatus::NotRequired,
        due_at: None,
        reason: None,
    });
    row.status = DepositStatus::Refunding;
    row.due_at = None;
    save(conn, st, &row)?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "deposit.refund_requested",
            title: "保证金退还申请已受理",
            body: format!(
                "观察期至 {}。期间如有新的投诉、处罚或争议，观察期将延长 {} 天。观察期间不能接单。",
                crate::platform::clock::china_time(ends),
                st.settings.conduct.observation_days
            ),
            link: Some("/api/v1/me/deposit".into()),
        },
    )?;
    view(conn, st, user_id)
}

/// DEP-7: a new complaint, penalty or dispute extends a running
/// observation to `observation_days` from now.
pub fn extend_observation(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    cause: &str,
) -> AppResult<()> {
    let ends = st.clock.now_naive() + Duration::days(st.settings.conduct.observation_days);
    let n = diesel::update(
        deposit_refunds::table
            .filter(deposit_refunds::user_id.eq(user_id))
            .filter(deposit_refunds::status.eq(RefundStatus::Observation))
            .filter(deposit_refunds::observation_ends_at.lt(ends)),
    )
    .set(deposit_refunds::observation_ends_at.eq(ends))
    .execute(conn)?;
    if n > 0 {
        notify(
            conn,
            st,
            user_id,
            Notice {
                kind: "deposit.observation_extended",
                title: "保证金观察期延长",
                body: format!(
                    "因{cause}，保证金退还观察期延长至 {}。",
                    crate::platform::clock::china_time(ends)
                ),
                link: Some("/api/v1/me/deposit".into()),
            },
        )?;
    }
    Ok(())
}

/// Scheduler (DEP-7): refunds whose observation ended, as (refund id, user id).
pub fn observations_ended(conn: &mut DbConnection, st: &AppState) -> AppResult<Vec<(i64, i64)>> {
    Ok(deposit_refunds::table
        .filter(deposit_refunds::status.eq(RefundStatus::Observation))
        .filter(deposit_refunds::observation_ends_at.le(st.clock.now_naive()))
        .select((deposit_refunds::id, deposit_refunds::user_id))
        .limit(200)
        .load(conn)?)
}

/// DEP-7: the refund amount moves to the payout account while the channel
/// pays it out; the user is told when it is due.
fn hold_payout(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    public_id: &str,
    amount: i64,
    due_by: NaiveDateTime,
    channel: &str,
) -> AppResult<()> {
    let deposit = account(conn, st, user_id)?;
    let payout = payout_account(conn, st, user_id)?;
    ledger::post(
        conn,
        st,
        &Reference::payment(
            "deposit_refund_hold",
            public_id,
            format!("保证金退还付款中 {}", format_fen(amount)),
        ),
        &[(deposit, -amount), (payout, amount)],
        None,
    )?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "deposit.refund_due",
            title: "保证金观察期结束",
            body: format!(
                "观察期已结束，保证金 {} 元将于 {} 前退至您的{}账户。",
                format_fen(amount),
                china_deadline(due_by),
                channel_label(channel)
            ),
            link: Some("/api/v1/me/deposit".into()),
        },
    )?;
    Ok(())
}

/// An observation that ended: with nothing in `blocking` the balance goes
/// out through the channel, due within the working-day window; otherwise
/// the observation runs on. Returns whether the payout started.
pub fn start_payout(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    user_id: i64,
    blocking: &[Blocker],
) -> AppResult<bool> {
    let now = st.clock.now_naive();
    let conduct = &st.settings.conduct;
    if !blocking.is_empty() {
        // Not clean: the observation continues.
        let ends = now + Duration::days(conduct.observation_days);
        diesel::update(
            deposit_refunds::table
                .filter(deposit_refunds::id.eq(id))
                .filter(deposit_refunds::status.eq(RefundStatus::Observation))
                .filter(deposit_refunds::observation_ends_at.le(now)),
        )
        .set(deposit_refunds::observation_ends_at.eq(ends))
        .execute(conn)?;
        return Ok(false);
    }
    let amount = balance(conn, user_id)?;
    let due_by = conduct.calendar.deadline(now, conduct.payout_working_days);
    let (channel, payee_account_id): (String, Option<i64>) = deposit_refunds::table
        .find(id)
        .select((deposit_refunds::channel, deposit_refunds::payee_account_id))
        .first(conn)?;
    let (payment_id, new_status) = if amount > 0 {
        let payment = crate::funds::payments::create_purposed(
            conn,
            st,
            user_id,
            crate::funds::payments::Direction::Withdrawal,
            Purpose::DepositRefund,
            ChannelName::parse(&channel).unwrap_or(ChannelName::Sandbox),
            amount,
            payee_account_id,
        )?;
        (Some(payment.id), RefundStatus::PayoutPending)
    } else {
        (None, RefundStatus::Paid)
    };
    let n = diesel::update(
        deposit_refunds::table
            .filter(deposit_refunds::id.eq(id))
            .filter(deposit_refunds::status.eq(RefundStatus::Observation))
            .filter(deposit_refunds::observation_ends_at.le(now)),
    )
    .set((
        deposit_refunds::status.eq(new_status),
        deposit_refunds::amount.eq(amount),
        deposit_refunds::payout_due_at.eq(due_by),
        deposit_refunds::payment_id.eq(&payment_id),
    ))
    .execute(conn)?;
    if n == 0 {
        // Claimed by another runner: roll this attempt back.
        return Err(AppError::conflict(
            "deposit.refund_claimed",
            "退还已由其他任务处理",
            "Another run handled this refund",
        ));
    }
    if let Some(public_id) = &payment_id {
        hold_payout(conn, st, user_id, public_id, amount, due_by, &channel)?;
    } else {
        diesel::update(deposits::table.find(user_id))
            .set(deposits::status.eq(DepositStatus::Refunded))
            .execute(conn)?;
    }
    Ok(true)
}

/// The user a deposit refund belongs to (none: no such refund; FND-6).
pub fn refund_owner(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(deposit_refunds::table
        .find(id)
        .select(deposit_refunds::user_id)
        .first(conn)
        .optional()?)
}

/// Finance: refunds in a state, oldest first (`payout_pending` shows what
/// is due and by when).
pub fn refunds(
    conn: &mut DbConnection,
    wanted: RefundStatus,
    page: &PageQuery,
) -> AppResult<Page<RefundView>> {
    let limit = page.limit()?;
    let mut q = deposit_refunds::table
        .filter(deposit_refunds::status.eq(wanted))
        .select(RefundRow::as_select())
        .order(deposit_refunds::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = page.after_id()? {
        q = q.filter(deposit_refunds::id.gt(after));
    }
    let rows: Vec<RefundRow> = q.load(conn)?;
    Ok(page_of(
        rows.into_iter().map(RefundRow::view).collect(),
        limit,
        |v| v.id,
    ))
}
