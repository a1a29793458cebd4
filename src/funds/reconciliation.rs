//! Reconciliation with the channels (FND-7): a day's statement is matched
//! against our payments by the channel's transaction number (or, where our
//! side never heard of it, our payment id); every difference — missing on
//! our side, missing on theirs, amount or status differs — stays listed
//! until finance resolves it with a reason.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::bills::{self, BillRow};
use super::payments::{Direction, PaymentStatus};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{payments, reconciliation_differences, statement_imports};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::SignedFen;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

text_enum! {
    /// A channel whose statements are reconciled.
    pub enum StatementChannel {
        Alipay = "alipay",
        Wechat = "wechat",
    }
}

text_enum! {
    /// How our payment and the channel's record differ.
    pub enum DifferenceKind {
        /// The channel moved money we have no payment for.
        MissingOnOurSide = "missing_on_our_side",
        /// We counted a payment the channel's statement does not have.
        MissingOnTheirSide = "missing_on_their_side",
        AmountDiffers = "amount_differs",
        /// Paid at the channel but not on our side (or refunded there).
        StatusDiffers = "status_differs",
    }
}

text_enum! {
    /// Which differences to list.
    pub enum DifferenceState {
        Open = "open",
        Resolved = "resolved",
        All = "all",
    }
}

/// Query of `POST /api/v1/admin/reconciliation/statements`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    pub channel: StatementChannel,
    /// The statement's day (Beijing time), `YYYY-MM-DD`.
    pub statement_date: NaiveDate,
}

/// An imported statement and what it showed.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    pub id: i64,
    pub channel: StatementChannel,
    pub statement_date: NaiveDate,
    /// Payment rows read from the statement.
    pub rows_read: i32,
    /// Rows that matched one of our payments exactly.
    pub matched: i32,
    pub differences: Vec<DifferenceView>,
    pub imported_at: DateTime<Utc>,
}

/// One difference between a statement and our payments.
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceView {
    pub id: i64,
    pub statement_id: i64,
    pub channel: StatementChannel,
    pub kind: DifferenceKind,
    /// The channel's transaction number.
    pub channel_reference: Option<String>,
    /// Our payment id, where we have the payment.
    pub payment_id: Option<String>,
    pub our_amount: Option<SignedFen>,
    pub their_amount: Option<SignedFen>,
    pub our_status: Option<String>,
    pub their_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
}

/// `POST /api/v1/admin/reconciliation/differences/{id}/resolve`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// What finance did about it (a correction, the channel's answer…).
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

/// Filters of `GET /api/v1/admin/reconciliation/differences`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DifferenceQuery {
    /// `open` (default), `resolved` or `all`.
    pub state: Option<DifferenceState>,
    pub channel: Option<StatementChannel>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = reconciliation_differences)]
struct DifferenceRow {
    id: i64,
    import_id: i64,
    channel: StatementChannel,
    kind: DifferenceKind,
    channel_reference: Option<String>,
    payment_id: Option<String>,
    our_amount: Option<i64>,
    their_amount: Option<i64>,
    our_status: Option<String>,
    their_status: Option<String>,
    created_at: NaiveDateTime,
    resolved_at: Option<NaiveDateTime>,
    resolved_by: Option<i64>,
    resolution: Option<String>,
}

fn difference_view(r: DifferenceRow) -> DifferenceView {
    DifferenceView {
        id: r.id,
        statement_id: r.import_id,
        channel: r.channel,
        kind: r.kind,
        channel_reference: r.channel_reference,
        payment_id: r.payment_id,
        our_amount: r.our_amount.map(SignedFen),
        their_amount: r.their_amount.map(SignedFen),
        our_status: r.our_status,
        their_status: r.their_status,
        created_at: r.created_at.and_utc(),
        resolved_at: r.resolved_at.map(|t| t.and_utc()),
        resolved_by: r.resolved_by,
        resolution: r.resolution,
    }
}

/// A difference about to be recorded.
struct Found {
    kind: DifferenceKind,
    channel_reference: Option<String>,
    payment_id: Option<String>,
    our_amount: Option<i64>,
    their_amount: Option<i64>,
    our_status: Option<String>,
    their_status: Option<String>,
}

/// Our side of a channel payment.
#[derive(Queryable)]
struct Ours {
    public_id: String,
    amount: i64,
    status: PaymentStatus,
    channel_reference: Option<String>,
}

/// Our payments of the channel that the rows name: by the channel's
/// transaction number, and by our payment id (for those our side never
/// heard back about). A few queries per 500 rows, not one per row.
struct Named {
    by_reference: HashMap<String, Ours>,
    by_id: HashMap<String, Ours>,
}

impl Named {
    fn load(conn: &mut DbConnection, channel: &str, rows: &[BillRow]) -> AppResult<Named> {
        let select = (
            payments::public_id,
            payments::amount,
            payments::status,
            payments::channel_reference,
        );
        let mut named = Named {
            by_reference: HashMap::new(),
            by_id: HashMap::new(),
        };
        for chunk in rows.chunks(500) {
            let references: Vec<&str> =
                chunk.iter().map(|r| r.channel_reference.as_str()).collect();
            let found: Vec<Ours> = payments::table
                .filter(payments::channel.eq(channel))
                .filter(payments::channel_reference.eq_any(&references))
                .select(select)
                .load(conn)?;
            for o in found {
                if let Some(reference) = o.channel_reference.clone() {
                    named.by_reference.insert(reference, o);
                }
            }
            let ids: Vec<&str> = chunk
                .iter()
                .map(|r| r.out_trade_no.as_str())
                .filter(|id| !id.is_empty())
                .collect();
            let found: Vec<Ours> = payments::table
                .filter(payments::channel.eq(channel))
                .filter(payments::public_id.eq_any(&ids))
                .select(select)
                .load(conn)?;
            for o in found {
                named.by_id.insert(o.public_id.clone(), o);
            }
        }
        Ok(named)
    }

    /// Our payment a row names, if any.
    fn of(&self, row: &BillRow) -> Option<&Ours> {
        self.by_reference
            .get(&row.channel_reference)
            .or_else(|| self.by_id.get(&row.out_trade_no))
    }
}

/// Compares one statement row with our payment.
fn compare(row: &BillRow, ours: Option<&Ours>) -> Option<Found> {
    let found = |kind, ours: Option<&Ours>| Found {
        kind,
        channel_reference: Some(row.channel_reference.clone()),
        payment_id: ours.map(|o| o.public_id.clone()),
        our_amount: ours.map(|o| o.amount),
        their_amount: Some(row.amount_fen),
        our_status: ours.map(|o| o.status.as_str().to_string()),
        their_status: Some(row.status.clone()),
    };
    let Some(o) = ours else {
        return Some(found(DifferenceKind::MissingOnOurSide, None));
    };
    if row.status != "succeeded" || o.status != PaymentStatus::Succeeded {
        return Some(found(DifferenceKind::StatusDiffers, Some(o)));
    }
    if row.amount_fen != o.amount {
        return Some(found(DifferenceKind::AmountDiffers, Some(o)));
    }
    None
}

/// The Beijing day as a UTC range of naive timestamps; statements are of
/// days from 2000 to 2099.
fn day_range(date: NaiveDate) -> AppResult<(NaiveDateTime, NaiveDateTime)> {
    use chrono::Datelike;
    if !(2000..=2099).contains(&date.year()) {
        return Err(AppError::invalid_field(
            "statement_date",
            "reconciliation.date_out_of_range",
            "对账日期须在 2000 至 2099 年之间",
            "The statement date must be within 2000 to 2099",
        ));
    }
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default() - chrono::Duration::hours(8);
    Ok((start, start + chrono::Duration::days(1)))
}

/// Reads a statement's payment rows.
fn read(channel: StatementChannel, bytes: &[u8]) -> AppResult<Vec<BillRow>> {
    let text = bills::decode(bytes);
    match channel {
        StatementChannel::Alipay => bills::alipay(&text),
        StatementChannel::Wechat => bills::wechat(&text),
    }
    .map_err(|e| {
        AppError::invalid_field(
            "body",
            "reconciliation.unreadable_statement",
            format!("对账单无法读取：{}", e.0),
            format!("The statement cannot be read: {}", e.0),
        )
    })
}

/// Matches the rows against our payments of the channel and day: the
/// differences, and how many rows matched exactly.
fn differences_of(
    conn: &mut DbConnection,
    query: &StatementQuery,
    rows: &[BillRow],
) -> AppResult<(Vec<Found>, i32)> {
    let channel = query.channel.as_str();
    let mut found = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut matched = 0;
    let named = Named::load(conn, channel, rows)?;
    for row in rows {
        let ours = named.of(row);
        if let Some(o) = ours
            && row.status == "succeeded"
        {
            seen.insert(o.public_id.clone());
        }
        match compare(row, ours) {
            Some(difference) => found.push(difference),
            None => matched += 1,
        }
    }
    let (from, to) = day_range(query.statement_date)?;
    let counted: Vec<Ours> = payments::table
        .filter(payments::channel.eq(channel))
        .filter(payments::direction.eq(Direction::TopUp))
        .filter(payments::status.eq(PaymentStatus::Succeeded))
        .filter(payments::completed_at.ge(from))
        .filter(payments::completed_at.lt(to))
        .select((
            payments::public_id,
            payments::amount,
            payments::status,
            payments::channel_reference,
        ))
        .load(conn)?;
    for o in counted.into_iter().filter(|o| !seen.contains(&o.public_id)) {
        found.push(Found {
            kind: DifferenceKind::MissingOnTheirSide,
            channel_reference: o.channel_reference.clone(),
            payment_id: Some(o.public_id.clone()),
            our_amount: Some(o.amount),
            their_amount: None,
            our_status: Some(o.status.as_str().to_string()),
            their_status: None,
        });
    }
    Ok((found, matched))
}

fn record_difference(
    conn: &mut DbConnection,
    import_id: i64,
    channel: StatementChannel,
    d: &Found,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(reconciliation_differences::table)
        .values((
            reconciliation_differences::import_id.eq(import_id),
            reconciliation_differences::channel.eq(channel),
            reconciliation_differences::kind.eq(d.kind),
            reconciliation_differences::channel_reference.eq(&d.channel_reference),
            reconciliation_differences::payment_id.eq(&d.payment_id),
            reconciliation_differences::our_amount.eq(d.our_amount),
            reconciliation_differences::their_amount.eq(d.their_amount),
            reconciliation_differences::our_status.eq(&d.our_status),
            reconciliation_differences::their_status.eq(&d.their_status),
            reconciliation_differences::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Imports a statement: reads it, matches it, records the differences.
pub fn import(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    query: &StatementQuery,
    bytes: &[u8],
) -> AppResult<StatementView> {
    day_range(query.statement_date)?;
    let rows = read(query.channel, bytes)?;
    let (differences, matched) = differences_of(conn, query, &rows)?;
    let now = st.clock.now_naive();
    let rows_read = i32::try_from(rows.len()).unwrap_or(i32::MAX);
    let import_id: i64 = diesel::insert_into(statement_imports::table)
        .values((
            statement_imports::channel.eq(query.channel),
            statement_imports::statement_date.eq(query.statement_date),
            statement_imports::rows_read.eq(rows_read),
            statement_imports::matched.eq(matched),
            statement_imports::imported_by.eq(staff_id),
            statement_imports::created_at.eq(now),
        ))
        .returning(statement_imports::id)
        .get_result(conn)
        .map_err(|e| {
            crate::platform::db::unique_or(e, |_| {
                AppError::conflict(
                    "reconciliation.already_imported",
                    "该渠道当日对账单已导入",
                    "This channel's statement for that day was already imported",
                )
            })
        })?;
    for d in &differences {
        record_difference(conn, import_id, query.channel, d, now)?;
    }
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            details: Some(serde_json::json!({
                "channel": query.channel.as_str(),
                "statement_date": query.statement_date,
                "rows_read": rows_read,
                "differences": differences.len(),
            })),
            ..crate::audit::Entry::staff(staff_id, "reconciliation.import", "statement", import_id)
        },
    )?;
    let differences = reconciliation_differences::table
        .filter(reconciliation_differences::import_id.eq(import_id))
        .order(reconciliation_differences::id.asc())
        .select(DifferenceRow::as_select())
        .load(conn)?
        .into_iter()
        .map(difference_view)
        .collect();
    Ok(StatementView {
        id: import_id,
        channel: query.channel,
        statement_date: query.statement_date,
        rows_read,
        matched,
        differences,
        imported_at: now.and_utc(),
    })
}

/// Differences, newest first (open ones by default).
pub fn differences(
    conn: &mut DbConnection,
    filter: &DifferenceQuery,
    page: &PageQuery,
) -> AppResult<Page<DifferenceView>> {
    let limit = page.limit()?;
    let mut q = reconciliation_differences::table
        .order(reconciliation_differences::id.desc())
        .limit(limit + 1)
        .select(DifferenceRow::as_select())
        .into_boxed();
    match filter.state.unwrap_or(DifferenceState::Open) {
        DifferenceState::Open => q = q.filter(reconciliation_differences::resolved_at.is_null()),
        DifferenceState::Resolved => {
            q = q.filter(reconciliation_differences::resolved_at.is_not_null());
        }
        DifferenceState::All => {}
    }
    if let Some(channel) = filter.channel {
        q = q.filter(reconciliation_differences::channel.eq(channel));
    }
    if let Some(before) = page.before_id()? {
        q = q.filter(reconciliation_differences::id.lt(before));
    }
    Ok(page_by_id(q.load(conn)?, limit, |r| r.id, difference_view))
}

/// Finance resolves a difference with a reason (audited); once only.
pub fn resolve(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
    reason: &str,
) -> AppResult<DifferenceView> {
    let reason = reason.trim();
    if !(2..=500).contains(&reason.chars().count()) {
        return Err(AppError::invalid_field(
            "reason",
            "reconciliation.reason_required",
            "请填写 2 至 500 字的处理说明",
            "Give a reason of 2 to 500 characters",
        ));
    }
    let load = |conn: &mut DbConnection| -> AppResult<DifferenceRow> {
        reconciliation_differences::table
            .find(id)
            .select(DifferenceRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                AppError::not_found(
                    "reconciliation.difference_not_found",
                    "差异不存在",
                    "No such difference",
                )
            })
    };
    load(conn)?;
    let n = diesel::update(
        reconciliation_differences::table
            .filter(reconciliation_differences::id.eq(id))
            .filter(reconciliation_differences::resolved_at.is_null()),
    )
    .set((
        reconciliation_differences::resolved_at.eq(st.clock.now_naive()),
        reconciliation_differences::resolved_by.eq(staff_id),
        reconciliation_differences::resolution.eq(reason),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "reconciliation.already_resolved",
            "该差异已处理",
            "This difference was already resolved",
        ));
    }
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            reason: Some(reason),
            ..crate::audit::Entry::staff(
                staff_id,
                "reconciliation.resolve",
                "reconciliation_difference",
                id,
            )
        },
    )?;
    Ok(difference_view(load(conn)?))
}
