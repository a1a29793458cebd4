//! Top-ups and withdrawals through a payment channel, settled by the
//! channel's signed callback exactly once (FND-2).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ledger::{self, Reference};
use crate::notifications::{Notice, notify};
use crate::platform::channels::{CallbackError, CallbackEvent, CallbackKind, PaymentChannel};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::payments;
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{Money, format_fen};
use crate::platform::state::AppState;

text_enum! {
    /// A payment channel a user can choose.
    pub enum ChannelName {
        Alipay = "alipay",
        Wechat = "wechat",
        /// Only where the sandbox is enabled (development, QA).
        Sandbox = "sandbox",
    }
}

/// `POST /api/v1/me/account/top-ups` and `/withdrawals`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "100.00", "channel": "sandbox"}))]
pub struct PaymentRequest {
    pub amount: Money,
    pub channel: ChannelName,
}

/// A payment and what the app needs to complete it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// The id the channel sees (`out_trade_no`).
    #[schema(example = "0f8a3c1e-2b7d-4a51-9b1e-3c2d4e5f6a7b")]
    pub id: String,
    pub direction: Direction,
    #[schema(example = "alipay")]
    pub channel: String,
    pub amount: Money,
    pub status: PaymentStatus,
    /// For a pending top-up: the parameters the app hands to the channel SDK.
    pub pay_params: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

text_enum! {
    /// Where a payment stands: pending until the channel's callback settles it.
    pub enum PaymentStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

text_enum! {
    /// Money coming in through a channel, or going out to one.
    pub enum Direction {
        TopUp = "top_up",
        Withdrawal = "withdrawal",
    }
}

text_enum! {
    /// What a payment is for, which decides who moves its money when the
    /// callback settles it (the routing lives in `flows::payments`).
    pub enum Purpose {
        /// A top-up or withdrawal of the user's funds (FND-2).
        Funds = "funds",
        /// A security-deposit payment (DEP-2).
        Deposit = "deposit",
        /// A security-deposit refund payout (DEP-7).
        DepositRefund = "deposit_refund",
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
struct Row {
    id: i64,
    public_id: String,
    user_id: i64,
    direction: Direction,
    channel: String,
    amount: i64,
    status: PaymentStatus,
    created_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
    purpose: Purpose,
}

/// Refuses a channel that is not configured here (422).
pub fn channel_available(st: &AppState, name: ChannelName) -> AppResult<()> {
    channel(st, name).map(|_| ())
}

fn channel(st: &AppState, name: ChannelName) -> AppResult<&dyn PaymentChannel> {
    st.channels
        .get(name.as_str())
        .map(|c| c as &dyn PaymentChannel)
        .ok_or_else(|| {
            AppError::invalid_field(
                "channel",
                "payment.channel_unavailable",
                "该支付渠道当前不可用",
                "This payment channel is not available",
            )
        })
}

fn view(st: &AppState, r: Row) -> AppResult<PaymentView> {
    let amount = Money::from_stored(r.amount)?;
    let pay_params = (r.status == PaymentStatus::Pending && r.direction == Direction::TopUp)
        .then(|| {
            st.channels
                .get(&r.channel)
                .map(|c| c.pay_params(&r.public_id, &amount.to_string()))
        })
        .flatten();
    Ok(PaymentView {
        id: r.public_id,
        direction: r.direction,
        channel: r.channel,
        amount,
        status: r.status,
        pay_params,
        created_at: r.created_at.and_utc(),
        completed_at: r.completed_at.map(|t| t.and_utc()),
    })
}

fn insert(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    dir: Direction,
    req: &PaymentRequest,
) -> AppResult<Row> {
    insert_for(conn, st, user_id, dir, Purpose::Funds, req)
}

fn insert_for(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    dir: Direction,
    purpose: Purpose,
    req: &PaymentRequest,
) -> AppResult<Row> {
    let public_id = uuid::Uuid::new_v4().to_string();
    let id: i64 = diesel::insert_into(payments::table)
        .values((
            payments::public_id.eq(&public_id),
            payments::user_id.eq(user_id),
            payments::direction.eq(dir),
            payments::channel.eq(req.channel.as_str()),
            payments::amount.eq(req.amount.fen()),
            payments::status.eq(PaymentStatus::Pending),
            payments::purpose.eq(purpose),
            payments::created_at.eq(st.clock.now_naive()),
        ))
        .returning(payments::id)
        .get_result(conn)?;
    Ok(payments::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?)
}

/// Creates a pending top-up; the account is credited when the channel's
/// callback confirms it.
pub fn create_top_up(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &PaymentRequest,
) -> AppResult<PaymentView> {
    channel(st, req.channel)?;
    ledger::user_accounts(conn, st, user_id)?;
    let row = insert(conn, st, user_id, Direction::TopUp, req)?;
    view(st, row)
}

/// Creates a pending payment for another ledger purpose (a deposit
/// payment or a deposit refund payout); the purpose's owner moves the money
/// when the callback settles it.
pub fn create_purposed(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    dir: Direction,
    purpose: Purpose,
    channel_name: ChannelName,
    fen: i64,
) -> AppResult<PaymentView> {
    channel(st, channel_name)?;
    let amount =
        Money::from_fen(fen).ok_or_else(|| AppError::internal("payment amount out of range"))?;
    let req = PaymentRequest {
        amount,
        channel: channel_name,
    };
    let row = insert_for(conn, st, user_id, dir, purpose, &req)?;
    view(st, row)
}

/// Holds the amount and asks the channel to pay it out; the hold is
/// captured when the payout is confirmed and released if it fails.
pub fn create_withdrawal(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &PaymentRequest,
) -> AppResult<PaymentView> {
    channel(st, req.channel)?;
    let row = insert(conn, st, user_id, Direction::Withdrawal, req)?;
    let reference = Reference::payment(
        "withdrawal_hold",
        &row.public_id,
        format!("提现冻结 {}", req.amount),
    );
    ledger::hold(conn, st, user_id, req.amount.fen(), &reference)?;
    view(st, row)
}

/// Turns a channel's refusal into the API's answer.
pub fn callback_error(err: CallbackError) -> AppError {
    match err {
        CallbackError::BadSignature => AppError::unauthorized(
            "payment.bad_signature",
            "回调签名无效",
            "The callback signature is invalid",
        ),
        CallbackError::Stale => AppError::unauthorized(
            "payment.stale_callback",
            "回调时间戳超出允许范围",
            "The callback timestamp is outside the allowed window",
        ),
        CallbackError::Malformed => AppError::bad_request(
            "payment.malformed_callback",
            "回调内容格式错误",
            "The callback body is malformed",
        ),
    }
}

/// A payment the callback just moved out of `pending`: the purpose's owner
/// moves its money next, in the same transaction.
#[derive(Debug, Clone)]
pub struct Settled {
    pub id: i64,
    pub public_id: String,
    pub user_id: i64,
    pub channel: String,
    pub amount: i64,
    pub purpose: Purpose,
    pub direction: Direction,
    pub succeeded: bool,
}

/// What a verified callback did to its payment.
pub enum Settlement {
    /// A replay of the outcome already applied: nothing moves again.
    Replayed(PaymentView),
    /// The payment left `pending` now.
    Settled(Settled),
}

fn find_for_callback(
    conn: &mut DbConnection,
    channel_name: &str,
    event: &CallbackEvent,
) -> AppResult<Row> {
    payments::table
        .filter(payments::public_id.eq(&event.payment_id))
        .filter(payments::channel.eq(channel_name))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("payment.not_found", "支付单不存在", "No such payment"))
}

/// The outcome a callback reports, refused when its amount or kind does
/// not fit the payment.
fn outcome_of(row: &Row, channel_name: &str, event: &CallbackEvent) -> AppResult<PaymentStatus> {
    let amount = Money::parse(&event.amount).map(Money::fen).unwrap_or(-1);
    if amount != row.amount {
        log::warn!(
            "payment callback refused: amount mismatch payment={} channel={channel_name} expected={} got={}",
            row.public_id,
            format_fen(row.amount),
            event.amount.chars().take(20).collect::<String>()
        );
        return Err(AppError::invalid_field(
            "amount",
            "payment.amount_mismatch",
            "回调金额与支付单金额不符",
            "The callback amount does not match the payment",
        ));
    }
    let (direction, status) = match event.event {
        CallbackKind::PaymentSucceeded => (Direction::TopUp, PaymentStatus::Succeeded),
        CallbackKind::PaymentFailed => (Direction::TopUp, PaymentStatus::Failed),
        CallbackKind::PayoutSucceeded => (Direction::Withdrawal, PaymentStatus::Succeeded),
        CallbackKind::PayoutFailed => (Direction::Withdrawal, PaymentStatus::Failed),
    };
    if direction != row.direction {
        return Err(AppError::invalid_field(
            "event",
            "payment.event_mismatch",
            "回调事件与支付单类型不符",
            "The callback event does not fit this payment",
        ));
    }
    Ok(status)
}

/// Applies a verified callback to its payment. The payment moves from
/// pending exactly once (a conditional update); a replay of the same
/// outcome answers [`Settlement::Replayed`], another outcome 409.
pub fn settle(
    conn: &mut DbConnection,
    st: &AppState,
    channel_name: &str,
    event: &CallbackEvent,
) -> AppResult<Settlement> {
    let row = find_for_callback(conn, channel_name, event)?;
    let new_status = outcome_of(&row, channel_name, event)?;
    let changed = diesel::update(
        payments::table
            .filter(payments::id.eq(row.id))
            .filter(payments::status.eq(PaymentStatus::Pending)),
    )
    .set((
        payments::status.eq(new_status),
        payments::channel_reference.eq(&event.channel_reference),
        payments::completed_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if changed == 0 {
        let current = view_of(conn, st, row.id)?;
        if current.status != new_status {
            return Err(AppError::conflict(
                "payment.already_completed",
                "支付单已以另一结果完成",
                "The payment was already completed with another outcome",
            ));
        }
        return Ok(Settlement::Replayed(current));
    }
    Ok(Settlement::Settled(Settled {
        id: row.id,
        public_id: row.public_id,
        user_id: row.user_id,
        channel: row.channel,
        amount: row.amount,
        purpose: row.purpose,
        direction: row.direction,
        succeeded: new_status == PaymentStatus::Succeeded,
    }))
}

/// The payment's current view.
pub fn view_of(conn: &mut DbConnection, st: &AppState, id: i64) -> AppResult<PaymentView> {
    let row = payments::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?;
    view(st, row)
}

/// Moves the money of a settled top-up or withdrawal (FND-2) and tells the
/// user.
pub fn apply_funds(conn: &mut DbConnection, st: &AppState, p: &Settled) -> AppResult<()> {
    let reference = |kind, memo: String| Reference::payment(kind, &p.public_id, memo);
    let shown = format_fen(p.amount);
    let (available, held) = ledger::user_accounts(conn, st, p.user_id)?;
    let clearing = ledger::clearing(conn, st, &p.channel)?;
    let (kind, title, body) = match (p.direction, p.succeeded) {
        (Direction::TopUp, true) => {
            ledger::post(
                conn,
                st,
                &reference("top_up", format!("充值 {shown}")),
                &[(clearing, -p.amount), (available, p.amount)],
                None,
            )?;
            (
                "payment.top_up_succeeded",
                "充值成功",
                format!("充值 {shown} 元已到账。"),
            )
        }
        (Direction::TopUp, false) => (
            "payment.top_up_failed",
            "充值失败",
            format!("充值 {shown} 元未成功，未扣款。"),
        ),
        (Direction::Withdrawal, true) => {
            ledger::post(
                conn,
                st,
                &reference("withdrawal", format!("提现 {shown}")),
                &[(held, -p.amount), (clearing, p.amount)],
                None,
            )?;
            (
                "payment.withdrawal_succeeded",
                "提现成功",
                format!("提现 {shown} 元已转出。"),
            )
        }
        (Direction::Withdrawal, false) => {
            ledger::release(
                conn,
                st,
                p.user_id,
                p.amount,
                &reference("withdrawal_release", format!("提现失败退回 {shown}")),
            )?;
            (
                "payment.withdrawal_failed",
                "提现失败",
                format!("提现 {shown} 元未成功，款项已退回可用余额。"),
            )
        }
    };
    notify(
        conn,
        st,
        p.user_id,
        Notice {
            kind,
            title,
            body,
            link: Some("/api/v1/me/account".into()),
        },
    )
}

/// The payment with a public id, if `user_id` owns it.
pub fn owned(
    conn: &mut DbConnection,
    user_id: i64,
    public_id: &str,
) -> AppResult<(String, i64, Direction)> {
    payments::table
        .filter(payments::public_id.eq(public_id))
        .filter(payments::user_id.eq(user_id))
        .select((payments::channel, payments::amount, payments::direction))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("payment.not_found", "支付单不存在", "No such payment"))
}
