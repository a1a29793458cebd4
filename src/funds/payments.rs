//! Top-ups and withdrawals through a payment channel, settled by the
//! channel's signed callback exactly once (FND-2).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ledger::{self, Reference};
use super::payees::{self, Payee, PayeeKind};
use crate::notifications::{Notice, notify};
use crate::platform::channels::{
    CallbackError, CallbackEvent, CallbackKind, Order, PaymentChannel, Remote,
};
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

/// `POST /api/v1/me/account/withdrawals`: the amount goes to one of the
/// caller's bound payee accounts (FND-4) through its channel (an Alipay
/// payee through `alipay`, a WeChat payee through `wechat`; the sandbox
/// takes either).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "100.00", "channel": "sandbox", "payee_account_id": 1}))]
pub struct WithdrawalRequest {
    pub amount: Money,
    pub channel: ChannelName,
    /// One of `GET /me/payee-accounts`.
    pub payee_account_id: i64,
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
    /// For a pending top-up: what the app hands to the channel SDK (Alipay:
    /// `order_string`; WeChat: `appid`, `partnerid`, `prepayid`, `package`,
    /// `noncestr`, `timestamp`, `sign`; sandbox: `complete_url`). For a
    /// WeChat payout waiting for the user's confirmation: `package_info`.
    pub pay_params: Option<serde_json::Value>,
    /// For a payout: the payee account it goes to (FND-4).
    pub payee_account_id: Option<i64>,
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
    payee_account_id: Option<i64>,
    channel_order: Option<String>,
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

/// What the channel shows the payer.
fn subject(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Funds => "微工宝账户充值",
        Purpose::Deposit => "微工宝保证金",
        Purpose::DepositRefund => "微工宝保证金退还",
    }
}

/// How long a channel takes payment for a top-up order; the order carries
/// this as its absolute expiry (`time_expire`), and the app is offered no
/// pay parameters after it.
pub const ORDER_LIFE_SECS: i64 = 2 * 3600;

fn expires_at(created_at: NaiveDateTime) -> i64 {
    created_at.and_utc().timestamp() + ORDER_LIFE_SECS
}

fn view(st: &AppState, r: Row) -> AppResult<PaymentView> {
    let amount = Money::from_stored(r.amount)?;
    let now = st.clock.now().timestamp();
    let pay_params = match (r.status, r.direction) {
        (PaymentStatus::Pending, Direction::TopUp) if now < expires_at(r.created_at) => {
            st.channels.get(&r.channel).map(|c| {
                let order = Order {
                    payment_id: &r.public_id,
                    amount_fen: r.amount,
                    subject: subject(r.purpose),
                    expires_at_unix: expires_at(r.created_at),
                };
                c.pay_params(
                    &order,
                    r.channel_order.as_deref(),
                    st.clock.now().timestamp(),
                )
            })
        }
        (PaymentStatus::Pending, Direction::Withdrawal) => r
            .channel_order
            .as_ref()
            .map(|p| serde_json::json!({"channel": r.channel, "package_info": p})),
        _ => None,
    };
    Ok(PaymentView {
        id: r.public_id,
        direction: r.direction,
        channel: r.channel,
        amount,
        status: r.status,
        pay_params,
        payee_account_id: r.payee_account_id,
        created_at: r.created_at.and_utc(),
        completed_at: r.completed_at.map(|t| t.and_utc()),
    })
}

/// A payment about to be created.
struct NewPayment {
    user_id: i64,
    direction: Direction,
    purpose: Purpose,
    channel: ChannelName,
    fen: i64,
    payee_account_id: Option<i64>,
}

fn channel_failed(e: crate::platform::channels::ChannelError) -> AppError {
    log::warn!("payment channel call failed: {e}");
    AppError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "payment.channel_unreachable",
        "支付渠道暂时无法下单，请稍后重试",
        "The payment channel cannot take the order now; try again later",
    )
}

/// Inserts a pending payment; a top-up through a channel that needs its
/// own order first (WeChat's prepay) gets it now.
fn insert_for(conn: &mut DbConnection, st: &AppState, new: &NewPayment) -> AppResult<Row> {
    let public_id = uuid::Uuid::new_v4().to_string();
    let created_at = st.clock.now_naive();
    let channel_order = if new.direction == Direction::TopUp {
        let order = Order {
            payment_id: &public_id,
            amount_fen: new.fen,
            subject: subject(new.purpose),
            expires_at_unix: expires_at(created_at),
        };
        channel(st, new.channel)?
            .open_order(&order, st.clock.now().timestamp())
            .map_err(channel_failed)?
    } else {
        None
    };
    let id: i64 = diesel::insert_into(payments::table)
        .values((
            payments::public_id.eq(&public_id),
            payments::user_id.eq(new.user_id),
            payments::direction.eq(new.direction),
            payments::channel.eq(new.channel.as_str()),
            payments::amount.eq(new.fen),
            payments::status.eq(PaymentStatus::Pending),
            payments::purpose.eq(new.purpose),
            payments::payee_account_id.eq(new.payee_account_id),
            payments::channel_order.eq(&channel_order),
            payments::created_at.eq(created_at),
        ))
        .returning(payments::id)
        .get_result(conn)?;
    Ok(payments::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?)
}

/// Refuses a payee that the channel cannot pay (an Alipay account through
/// WeChat Pay, say); the sandbox pays any.
pub fn check_payee_channel(payee: &Payee, channel: ChannelName, field: &str) -> AppResult<()> {
    let fits = match channel {
        ChannelName::Sandbox => true,
        ChannelName::Alipay => payee.kind == PayeeKind::Alipay,
        ChannelName::Wechat => payee.kind == PayeeKind::Wechat,
    };
    if fits {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            field,
            "payee.channel_mismatch",
            "该收款账户不属于所选支付渠道",
            "This payee account is not one of the chosen channel's",
        ))
    }
}

/// The channel a staff payout to `payee` goes through: the payee's own
/// channel, or the sandbox where that channel is not configured but the
/// sandbox is (development, QA).
pub fn channel_for_payee(st: &AppState, payee: &Payee) -> AppResult<ChannelName> {
    let own = match payee.kind {
        PayeeKind::Alipay => ChannelName::Alipay,
        PayeeKind::Wechat => ChannelName::Wechat,
    };
    if channel(st, own).is_ok() {
        return Ok(own);
    }
    channel(st, ChannelName::Sandbox)?;
    Ok(ChannelName::Sandbox)
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
    let row = insert_for(
        conn,
        st,
        &NewPayment {
            user_id,
            direction: Direction::TopUp,
            purpose: Purpose::Funds,
            channel: req.channel,
            fen: req.amount.fen(),
            payee_account_id: None,
        },
    )?;
    view(st, row)
}

/// Creates a pending payment for another ledger purpose (a deposit
/// payment or a deposit refund payout); the purpose's owner moves the money
/// when the callback settles it.
#[allow(clippy::too_many_arguments)]
pub fn create_purposed(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    dir: Direction,
    purpose: Purpose,
    channel_name: ChannelName,
    fen: i64,
    payee_account_id: Option<i64>,
) -> AppResult<PaymentView> {
    channel(st, channel_name)?;
    Money::from_fen(fen).ok_or_else(|| AppError::internal("payment amount out of range"))?;
    if dir == Direction::Withdrawal {
        check_wechat_limit(channel_name, fen)?;
    }
    let row = insert_for(
        conn,
        st,
        &NewPayment {
            user_id,
            direction: dir,
            purpose,
            channel: channel_name,
            fen,
            payee_account_id,
        },
    )?;
    view(st, row)
}

/// Holds the amount and asks the channel to pay it out to the payee; the
/// hold is captured when the payout is confirmed and released if it fails.
pub fn create_withdrawal(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &WithdrawalRequest,
) -> AppResult<PaymentView> {
    channel(st, req.channel)?;
    let payee = payees::usable(conn, user_id, req.payee_account_id, "payee_account_id")?;
    check_payee_channel(&payee, req.channel, "payee_account_id")?;
    payout(
        conn,
        st,
        &payee,
        req.channel,
        req.amount.fen(),
        "withdrawal_hold",
        "提现冻结",
    )
    .map(|(view, _)| view)
}

/// WeChat transfers from this amount need the payee's name (fen).
pub const WECHAT_NAMELESS_LIMIT_FEN: i64 = 200_000;

/// Refuses a WeChat payout WeChat Pay would refuse: from 2,000 yuan it asks
/// for the payee's encrypted name, which this server does not send yet.
pub fn check_wechat_limit(channel_name: ChannelName, fen: i64) -> AppResult<()> {
    if channel_name == ChannelName::Wechat && fen >= WECHAT_NAMELESS_LIMIT_FEN {
        return Err(AppError::invalid_field(
            "amount",
            "payment.wechat_transfer_limit",
            "微信单笔转账须低于 2000 元，请分笔或改用支付宝",
            "A WeChat transfer must be below 2,000 yuan; split it or use Alipay",
        ));
    }
    Ok(())
}

/// Holds `fen` of the payee's owner and creates the payout (a user's
/// withdrawal or a staff payout, FND-6); returns it with the hold's ledger
/// transaction.
pub fn payout(
    conn: &mut DbConnection,
    st: &AppState,
    payee: &Payee,
    channel_name: ChannelName,
    fen: i64,
    kind: &'static str,
    memo: &str,
) -> AppResult<(PaymentView, i64)> {
    check_wechat_limit(channel_name, fen)?;
    let row = insert_for(
        conn,
        st,
        &NewPayment {
            user_id: payee.user_id,
            direction: Direction::Withdrawal,
            purpose: Purpose::Funds,
            channel: channel_name,
            fen,
            payee_account_id: Some(payee.id),
        },
    )?;
    let reference = Reference::payment(kind, &row.public_id, format!("{memo} {}", format_fen(fen)));
    let tx = ledger::hold(conn, st, payee.user_id, fen, &reference)?;
    Ok((view(st, row)?, tx))
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
    // A top-up closed on our side that the channel says was paid after all
    // is credited: the channel holds the payer's money.
    let settleable: &[PaymentStatus] =
        if row.direction == Direction::TopUp && new_status == PaymentStatus::Succeeded {
            &[PaymentStatus::Pending, PaymentStatus::Failed]
        } else {
            &[PaymentStatus::Pending]
        };
    let changed = diesel::update(
        payments::table
            .filter(payments::id.eq(row.id))
            .filter(payments::status.eq_any(settleable)),
    )
    .set((
        payments::status.eq(new_status),
        payments::channel_reference.eq(Some(&event.channel_reference).filter(|r| !r.is_empty())),
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

/// The payment with a public id, if `user_id` owns it (`None`: anyone's).
pub fn owned(
    conn: &mut DbConnection,
    user_id: Option<i64>,
    public_id: &str,
) -> AppResult<(String, i64, Direction)> {
    let mut q = payments::table
        .filter(payments::public_id.eq(public_id))
        .into_boxed();
    if let Some(user_id) = user_id {
        q = q.filter(payments::user_id.eq(user_id));
    }
    q.select((payments::channel, payments::amount, payments::direction))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("payment.not_found", "支付单不存在", "No such payment"))
}

/// A payout the channel has to be asked for, or a payment whose callback
/// is overdue.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payments)]
pub struct Outstanding {
    pub id: i64,
    pub public_id: String,
    pub channel: String,
    pub direction: Direction,
    pub amount: i64,
    pub payee_account_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// Seconds before a payout the channel refused (or did not answer) is sent
/// again; meanwhile the payouts after it go first.
pub const PAYOUT_RETRY_SECS: i64 = 600;

/// FND-5: pending payouts of real channels not yet sent to the channel's
/// transfer API (the sandbox's wait for its completion endpoint), leaving
/// out those tried in the last [`PAYOUT_RETRY_SECS`] (`queried_at` holds a
/// failed try's time), so a payout the channel keeps refusing does not hold
/// up the others.
pub fn payouts_to_submit(
    conn: &mut DbConnection,
    st: &AppState,
    limit: i64,
) -> AppResult<Vec<Outstanding>> {
    let retry_from = st.clock.now_naive() - chrono::Duration::seconds(PAYOUT_RETRY_SECS);
    let rows = payments::table
        .filter(payments::status.eq(PaymentStatus::Pending))
        .filter(payments::direction.eq(Direction::Withdrawal))
        .filter(payments::submitted_at.is_null())
        .filter(payments::channel.ne("sandbox"))
        .filter(
            payments::queried_at
                .is_null()
                .or(payments::queried_at.le(retry_from)),
        )
        .order(payments::id.asc())
        .limit(limit)
        .select(Outstanding::as_select())
        .load(conn)?;
    Ok(rows)
}

/// Records that the channel was asked to pay out (and what it wants shown
/// to the user, if anything). False: another runner did it first.
pub fn mark_submitted(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    detail: Option<&str>,
) -> AppResult<bool> {
    let n = diesel::update(
        payments::table
            .filter(payments::id.eq(id))
            .filter(payments::submitted_at.is_null()),
    )
    .set((
        payments::submitted_at.eq(st.clock.now_naive()),
        payments::channel_order.eq(detail),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// FND-5: pending payments of real channels whose callback is overdue
/// (`after_secs` since creation and since the last query); payouts only
/// once submitted.
pub fn overdue(
    conn: &mut DbConnection,
    st: &AppState,
    after_secs: i64,
    limit: i64,
) -> AppResult<Vec<Outstanding>> {
    let before = st.clock.now_naive() - chrono::Duration::seconds(after_secs);
    let rows = payments::table
        .filter(payments::status.eq(PaymentStatus::Pending))
        .filter(payments::channel.ne("sandbox"))
        .filter(payments::created_at.le(before))
        .filter(
            payments::queried_at
                .is_null()
                .or(payments::queried_at.le(before)),
        )
        .filter(
            payments::direction
                .eq(Direction::TopUp)
                .or(payments::submitted_at.is_not_null()),
        )
        .order(payments::id.asc())
        .limit(limit)
        .select(Outstanding::as_select())
        .load(conn)?;
    Ok(rows)
}

/// Records a query that settled nothing; `detail` replaces what the user
/// is shown when the channel gave something new.
pub fn mark_queried(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    detail: Option<&str>,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    match detail {
        Some(detail) => diesel::update(payments::table.find(id))
            .set((
                payments::queried_at.eq(now),
                payments::channel_order.eq(detail),
            ))
            .execute(conn)?,
        None => diesel::update(payments::table.find(id))
            .set(payments::queried_at.eq(now))
            .execute(conn)?,
    };
    Ok(())
}

/// Hours after which a top-up the channel still reports unpaid (or does
/// not know) is closed as failed: the channels' own orders expire well
/// before (Alipay's in 30 minutes, WeChat's prepay in two hours).
pub const TOP_UP_GIVE_UP_HOURS: i64 = 24;

/// The callback a channel's answer amounts to, if it settles the payment.
pub fn event_from_remote(st: &AppState, p: &Outstanding, remote: &Remote) -> Option<CallbackEvent> {
    let payout = p.direction == Direction::Withdrawal;
    let (event, reference, amount) = match remote {
        Remote::Succeeded {
            reference,
            amount_fen,
        } => (
            if payout {
                CallbackKind::PayoutSucceeded
            } else {
                CallbackKind::PaymentSucceeded
            },
            reference.clone(),
            *amount_fen,
        ),
        Remote::Failed { reference } => (
            if payout {
                CallbackKind::PayoutFailed
            } else {
                CallbackKind::PaymentFailed
            },
            reference.clone().unwrap_or_default(),
            p.amount,
        ),
        Remote::Pending { .. } | Remote::Unknown => {
            let given_up =
                st.clock.now_naive() - p.created_at > chrono::Duration::hours(TOP_UP_GIVE_UP_HOURS);
            if payout || !given_up {
                return None;
            }
            (CallbackKind::PaymentFailed, String::new(), p.amount)
        }
    };
    Some(CallbackEvent {
        payment_id: p.public_id.clone(),
        event,
        amount: format_fen(amount),
        channel_reference: reference,
    })
}

/// The user's payments (top-ups, deposit payments, withdrawals, payouts),
/// newest first.
pub fn mine(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    page: &crate::platform::paging::PageQuery,
) -> AppResult<crate::platform::paging::Page<PaymentView>> {
    let limit = page.limit()?;
    let mut q = payments::table
        .filter(payments::user_id.eq(user_id))
        .order(payments::id.desc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(payments::id.lt(before));
    }
    crate::platform::paging::try_page_by_id(q.load(conn)?, limit, |r| r.id, |r| view(st, r))
}

/// One of the user's payments.
pub fn one(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    public_id: &str,
) -> AppResult<PaymentView> {
    let row = payments::table
        .filter(payments::public_id.eq(public_id))
        .filter(payments::user_id.eq(user_id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::not_found("payment.not_found", "支付单不存在", "No such payment")
        })?;
    view(st, row)
}
