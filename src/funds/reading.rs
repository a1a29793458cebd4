//! Reading balances and entries, and the reconciliation check.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde::Serialize;
use utoipa::ToSchema;

use super::ledger::code;
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{ledger_accounts, ledger_entries, ledger_transactions};
use crate::platform::error::AppResult;
use crate::platform::money::SignedFen;
use crate::platform::paging::{Page, PageQuery, page_by_id};

/// A user's funds account (FND-1).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Spendable and withdrawable.
    pub available: SignedFen,
    /// Held for awards in progress and withdrawals under way.
    pub held: SignedFen,
    #[schema(example = "CNY")]
    pub currency: &'static str,
}

/// One ledger entry on a user's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub transaction_id: i64,
    /// `available` or `held` (funds); `deposit` or `deposit_payout` (deposit).
    #[schema(example = "available")]
    pub account: String,
    /// Signed change, e.g. `"100.00"` or `"-50.00"`.
    pub amount: SignedFen,
    pub balance_after: SignedFen,
    /// What moved the money: `top_up`, `withdrawal_hold`, `withdrawal`,
    /// `withdrawal_release`, `award_hold`, `award_capture`, `reversal` …
    #[schema(example = "top_up")]
    pub kind: String,
    pub memo: String,
    /// The object the movement is about, e.g. `payment`.
    pub reference_type: Option<String>,
    pub reference_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn balance_of(conn: &mut DbConnection, account_code: &str) -> AppResult<i64> {
    Ok(ledger_accounts::table
        .filter(ledger_accounts::code.eq(account_code))
        .select(ledger_accounts::balance)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

pub fn account(conn: &mut DbConnection, user_id: i64) -> AppResult<AccountView> {
    Ok(AccountView {
        available: SignedFen(balance_of(conn, &code::available(user_id))?),
        held: SignedFen(balance_of(conn, &code::held(user_id))?),
        currency: "CNY",
    })
}

type EntryRow = (
    i64,
    i64,
    String,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// Entries of a user's available and held accounts, newest first.
pub fn entries(
    conn: &mut DbConnection,
    user_id: i64,
    page: &PageQuery,
) -> AppResult<Page<EntryView>> {
    entries_of(
        conn,
        vec![code::available(user_id), code::held(user_id)],
        page,
    )
}

/// Entries of the accounts with `codes`, newest first.
pub fn entries_of(
    conn: &mut DbConnection,
    codes: Vec<String>,
    page: &PageQuery,
) -> AppResult<Page<EntryView>> {
    let limit = page.limit()?;
    let mut q = ledger_entries::table
        .inner_join(ledger_accounts::table)
        .inner_join(ledger_transactions::table)
        .filter(ledger_accounts::code.eq_any(codes))
        .select((
            ledger_entries::id,
            ledger_entries::transaction_id,
            ledger_accounts::kind,
            ledger_entries::amount,
            ledger_entries::balance_after,
            ledger_transactions::kind,
            ledger_transactions::memo,
            ledger_transactions::reference_type,
            ledger_transactions::reference_id,
            ledger_entries::created_at,
        ))
        .order(ledger_entries::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(ledger_entries::id.lt(before));
    }
    let rows: Vec<EntryRow> = q.load(conn)?;
    Ok(page_by_id(
        rows,
        limit,
        |r| r.0,
        |r| EntryView {
            id: r.0,
            transaction_id: r.1,
            account: match r.2.as_str() {
                "user_held" => "held".into(),
                "user_deposit" => "deposit".into(),
                "user_deposit_payout" => "deposit_payout".into(),
                _ => "available".into(),
            },
            amount: SignedFen(r.3),
            balance_after: SignedFen(r.4),
            kind: r.5,
            memo: r.6,
            reference_type: r.7,
            reference_id: r.8,
            created_at: r.9.and_utc(),
        },
    ))
}

/// An account whose stored balance differs from its entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mismatch {
    pub account_id: i64,
    pub code: String,
    pub balance: SignedFen,
    pub entries_sum: SignedFen,
}

/// The reconciliation report.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerCheck {
    /// True when every balance equals its entries, every transaction sums
    /// to zero, and no account that may not be negative is.
    pub ok: bool,
    pub accounts_checked: usize,
    pub transactions_checked: usize,
    pub mismatched_accounts: Vec<Mismatch>,
    /// Transactions whose entries do not sum to zero.
    pub unbalanced_transactions: Vec<i64>,
    /// Accounts below zero that may not be.
    pub negative_accounts: Vec<i64>,
    /// The sum of all entries (always `"0.00"` in a sound ledger).
    pub entries_total: SignedFen,
}

/// Verifies every balance against its entries and that all entries sum to zero.
pub fn check(conn: &mut DbConnection) -> AppResult<LedgerCheck> {
    let sums: HashMap<i64, i64> = ledger_entries::table
        .group_by(ledger_entries::account_id)
        .select((
            ledger_entries::account_id,
            sql::<Nullable<BigInt>>("CAST(SUM(amount) AS BIGINT)"),
        ))
        .load::<(i64, Option<i64>)>(conn)?
        .into_iter()
        .map(|(a, s)| (a, s.unwrap_or(0)))
        .collect();
    let accounts: Vec<(i64, String, i64, bool)> = ledger_accounts::table
        .select((
            ledger_accounts::id,
            ledger_accounts::code,
            ledger_accounts::balance,
            ledger_accounts::allow_negative,
        ))
        .load(conn)?;
    let mut mismatched = Vec::new();
    let mut negative = Vec::new();
    for (id, account_code, balance, allow_negative) in &accounts {
        let sum = sums.get(id).copied().unwrap_or(0);
        if sum != *balance {
            mismatched.push(Mismatch {
                account_id: *id,
                code: account_code.clone(),
                balance: SignedFen(*balance),
                entries_sum: SignedFen(sum),
            });
        }
        if *balance < 0 && !allow_negative {
            negative.push(*id);
        }
    }
    let per_tx: Vec<(i64, Option<i64>)> = ledger_entries::table
        .group_by(ledger_entries::transaction_id)
        .select((
            ledger_entries::transaction_id,
            sql::<Nullable<BigInt>>("CAST(SUM(amount) AS BIGINT)"),
        ))
        .load(conn)?;
    let unbalanced: Vec<i64> = per_tx
        .iter()
        .filter(|(_, s)| s.unwrap_or(0) != 0)
        .map(|(t, _)| *t)
        .collect();
    let total: i64 = sums.values().sum();
    Ok(LedgerCheck {
        ok: mismatched.is_empty() && unbalanced.is_empty() && negative.is_empty() && total == 0,
        accounts_checked: accounts.len(),
        transactions_checked: per_tx.len(),
        mismatched_accounts: mismatched,
        unbalanced_transactions: unbalanced,
        negative_accounts: negative,
        entries_total: SignedFen(total),
    })
}
