//! The double-entry ledger (FND-1). Every movement is one transaction of
//! entries summing to zero, written in the caller's database transaction,
//! each entry carrying the balance after it. Balances change only through
//! conditional updates (`… WHERE balance + delta >= 0`), so concurrent
//! requests cannot overdraw on either database, and a failed leg fails the
//! whole movement. Corrections are reversing transactions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::{ledger_accounts, ledger_entries, ledger_transactions};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

/// Account codes.
pub mod code {
    pub fn available(user_id: i64) -> String {
        format!("user:{user_id}:available")
    }
    pub fn held(user_id: i64) -> String {
        format!("user:{user_id}:held")
    }
    pub fn deposit(user_id: i64) -> String {
        format!("user:{user_id}:deposit")
    }
    pub fn clearing(channel: &str) -> String {
        format!("clearing:{channel}")
    }
    pub const PLATFORM_FEES: &str = "platform:fees";
    /// What the platform pays users out of its own pocket (FND-6).
    pub const PLATFORM_COMPENSATION: &str = "platform:compensation";
}

/// What a movement is about.
#[derive(Debug, Clone)]
pub struct Reference {
    pub kind: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub memo: String,
}

impl Reference {
    /// A movement that settles a channel payment.
    pub fn payment(kind: &'static str, public_id: &str, memo: String) -> Reference {
        Reference {
            kind,
            object_type: "payment",
            object_id: public_id.to_string(),
            memo,
        }
    }
}

/// The clearing account of a payment channel (money in flight with it).
pub fn clearing(conn: &mut DbConnection, st: &AppState, channel: &str) -> AppResult<i64> {
    account(conn, st, &code::clearing(channel), None, "channel_clearing")
}

/// The account with `code`, created (with its owner and kind) on first use.
pub fn account(
    conn: &mut DbConnection,
    st: &AppState,
    code: &str,
    owner_id: Option<i64>,
    kind: &str,
) -> AppResult<i64> {
    let find = |conn: &mut DbConnection| -> AppResult<Option<i64>> {
        Ok(ledger_accounts::table
            .filter(ledger_accounts::code.eq(code))
            .select(ledger_accounts::id)
            .first(conn)
            .optional()?)
    };
    if let Some(id) = find(conn)? {
        return Ok(id);
    }
    // A savepoint, so a concurrent creator's unique violation does not
    // abort the surrounding PostgreSQL transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(ledger_accounts::table)
            .values((
                ledger_accounts::code.eq(code),
                ledger_accounts::owner_id.eq(owner_id),
                ledger_accounts::kind.eq(kind),
                ledger_accounts::balance.eq(0_i64),
                ledger_accounts::allow_negative.eq(false),
                ledger_accounts::created_at.eq(st.clock.now_naive()),
            ))
            .returning(ledger_accounts::id)
            .get_result::<i64>(c)
    });
    match inserted {
        Ok(id) => Ok(id),
        Err(_) => find(conn)?.ok_or_else(|| AppError::internal("ledger account vanished")),
    }
}

/// A user's available and held accounts.
pub fn user_accounts(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
) -> AppResult<(i64, i64)> {
    Ok((
        account(
            conn,
            st,
            &code::available(user_id),
            Some(user_id),
            "user_available",
        )?,
        account(conn, st, &code::held(user_id), Some(user_id), "user_held")?,
    ))
}

/// The error when a leg would take an account below zero.
pub fn insufficient() -> AppError {
    AppError::conflict("funds.insufficient", "余额不足", "Insufficient funds")
}

/// Posts one balanced movement. `legs` are (account, signed fen); they must
/// sum to zero. Fails with 409 `funds.insufficient` (and the caller's
/// transaction rolls back) if any account would go negative.
pub fn post(
    conn: &mut DbConnection,
    st: &AppState,
    reference: &Reference,
    legs: &[(i64, i64)],
    reverses: Option<i64>,
) -> AppResult<i64> {
    if legs.iter().map(|(_, d)| *d).sum::<i64>() != 0 || legs.iter().any(|(_, d)| *d == 0) {
        return Err(AppError::internal(format!(
            "unbalanced ledger movement {legs:?}"
        )));
    }
    let now: NaiveDateTime = st.clock.now_naive();
    let tx_id: i64 = diesel::insert_into(ledger_transactions::table)
        .values((
            ledger_transactions::kind.eq(reference.kind),
            ledger_transactions::reference_type.eq(reference.object_type),
            ledger_transactions::reference_id.eq(&reference.object_id),
            ledger_transactions::memo.eq(&reference.memo),
            ledger_transactions::reverses_id.eq(reverses),
            ledger_transactions::created_at.eq(now),
        ))
        .returning(ledger_transactions::id)
        .get_result(conn)?;
    // A fixed order of row locks: two movements over the same accounts
    // cannot deadlock on PostgreSQL.
    let mut legs = legs.to_vec();
    legs.sort_by_key(|(account, _)| *account);
    for (account_id, delta) in legs {
        let balance: Option<i64> = diesel::update(
            ledger_accounts::table
                .filter(ledger_accounts::id.eq(account_id))
                .filter(
                    ledger_accounts::allow_negative
                        .eq(true)
                        .or((ledger_accounts::balance + delta).ge(0_i64)),
                ),
        )
        .set(ledger_accounts::balance.eq(ledger_accounts::balance + delta))
        .returning(ledger_accounts::balance)
        .get_result(conn)
        .optional()?;
        let Some(balance_after) = balance else {
            return Err(insufficient());
        };
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::transaction_id.eq(tx_id),
                ledger_entries::account_id.eq(account_id),
                ledger_entries::amount.eq(delta),
                ledger_entries::balance_after.eq(balance_after),
                ledger_entries::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(tx_id)
}

/// Posts the exact opposite of transaction `tx_id` (a correction, VIO-6).
pub fn reverse(conn: &mut DbConnection, st: &AppState, tx_id: i64, memo: &str) -> AppResult<i64> {
    let already: bool = diesel::select(diesel::dsl::exists(
        ledger_transactions::table.filter(ledger_transactions::reverses_id.eq(tx_id)),
    ))
    .get_result(conn)?;
    if already {
        return Err(AppError::conflict(
            "ledger.already_reversed",
            "该笔账务已冲正",
            "This movement was already reversed",
        ));
    }
    let legs: Vec<(i64, i64)> = ledger_entries::table
        .filter(ledger_entries::transaction_id.eq(tx_id))
        .select((ledger_entries::account_id, ledger_entries::amount))
        .load(conn)?;
    let negated: Vec<(i64, i64)> = legs.into_iter().map(|(a, d)| (a, -d)).collect();
    let reference = Reference {
        kind: "reversal",
        object_type: "ledger_transaction",
        object_id: tx_id.to_string(),
        memo: memo.to_string(),
    };
    post(conn, st, &reference, &negated, Some(tx_id))
}

/// Balance of one account.
pub fn balance(conn: &mut DbConnection, account_id: i64) -> AppResult<i64> {
    Ok(ledger_accounts::table
        .find(account_id)
        .select(ledger_accounts::balance)
        .first(conn)?)
}

// ---- Internal operations other features call (each inside the caller's
// transaction, so together with the caller's own writes they are one unit).

/// Holds `fen` of a user's available funds (e.g. an award, MKT-3).
pub fn hold(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    fen: i64,
    r: &Reference,
) -> AppResult<i64> {
    let (available, held) = user_accounts(conn, st, user_id)?;
    post(conn, st, r, &[(available, -fen), (held, fen)], None)
}

/// Returns held funds to available (a cancelled award, a failed payout).
pub fn release(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    fen: i64,
    r: &Reference,
) -> AppResult<i64> {
    let (available, held) = user_accounts(conn, st, user_id)?;
    post(conn, st, r, &[(held, -fen), (available, fen)], None)
}

/// Pays `fen` held from `payer` to `payee`'s available funds, less `fee`
/// to the platform (MKT-4).
pub fn capture(
    conn: &mut DbConnection,
    st: &AppState,
    payer: i64,
    payee: i64,
    fen: i64,
    fee: i64,
    r: &Reference,
) -> AppResult<i64> {
    if !(0..fen).contains(&fee) {
        return Err(AppError::internal("fee outside 0..amount"));
    }
    let (_, held) = user_accounts(conn, st, payer)?;
    let (payee_available, _) = user_accounts(conn, st, payee)?;
    let mut legs = vec![(held, -fen), (payee_available, fen - fee)];
    if fee > 0 {
        let platform = account(conn, st, code::PLATFORM_FEES, None, "platform_fees")?;
        legs.push((platform, fee));
    }
    post(conn, st, r, &legs, None)
}

/// Splits `price` held from `payer`: `to_payee` to the payee's available
/// funds less `fee` to the platform, the rest back to the payer's
/// available funds (DSP-1 split decisions; release and refund are the two
/// ends of it).
#[allow(clippy::too_many_arguments)]
pub fn settle_split(
    conn: &mut DbConnection,
    st: &AppState,
    payer: i64,
    payee: i64,
    price: i64,
    to_payee: i64,
    fee: i64,
    r: &Reference,
) -> AppResult<i64> {
    if !(0..=price).contains(&to_payee) || !(0..=to_payee).contains(&fee) {
        return Err(AppError::internal("split outside 0..=price"));
    }
    let (payer_available, held) = user_accounts(conn, st, payer)?;
    let (payee_available, _) = user_accounts(conn, st, payee)?;
    let mut legs = vec![(held, -price)];
    if to_payee > 0 {
        legs.push((payee_available, to_payee - fee));
    }
    if fee > 0 {
        let platform = account(conn, st, code::PLATFORM_FEES, None, "platform_fees")?;
        legs.push((platform, fee));
    }
    if price - to_payee > 0 {
        legs.push((payer_available, price - to_payee));
    }
    post(conn, st, r, &legs, None)
}

/// Moves available funds between two users (refunds, compensation, FND-3).
pub fn transfer(
    conn: &mut DbConnection,
    st: &AppState,
    from_user: i64,
    to_user: i64,
    fen: i64,
    r: &Reference,
) -> AppResult<i64> {
    let (from, _) = user_accounts(conn, st, from_user)?;
    let (to, _) = user_accounts(conn, st, to_user)?;
    post(conn, st, r, &[(from, -fen), (to, fen)], None)
}

/// Refunds `fen` of the platform's fee revenue to a user (FND-3).
pub fn refund_fee(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    fen: i64,
    r: &Reference,
) -> AppResult<i64> {
    let platform = account(conn, st, code::PLATFORM_FEES, None, "platform_fees")?;
    let (available, _) = user_accounts(conn, st, user_id)?;
    post(conn, st, r, &[(platform, -fen), (available, fen)], None)
}
