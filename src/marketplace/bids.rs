//! Bids (MKT-2, MKT-7): who may bid, one live bid per provider, who sees them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::demands;
use super::dto::{BidView, NewBid};
use super::model::{BidStatus, DemandStatus};
use crate::platform::changes::{self, Topic};
use crate::platform::db::schema::{bids, demands as demands_t};
use crate::platform::db::{self, DbConnection, Reused, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::Money;
use crate::platform::ratelimit::RateNote;
use crate::platform::state::AppState;

#[derive(Queryable, Selectable)]
#[diesel(table_name = bids)]
pub struct Row {
    pub id: i64,
    pub demand_id: i64,
    pub provider_id: i64,
    pub price: i64,
    pub proposal: String,
    pub status: BidStatus,
    pub created_at: NaiveDateTime,
}

impl Row {
    pub fn view(self) -> AppResult<BidView> {
        Ok(BidView {
            id: self.id,
            demand_id: self.demand_id,
            provider_id: self.provider_id,
            price: Money::from_stored(self.price)?,
            proposal: self.proposal,
            status: self.status,
            created_at: self.created_at.and_utc(),
        })
    }
}

/// What a bid needs to know, in one statement (issue 13: a bid was 12
/// round trips): the demand, and the bidder's standing (verification,
/// information request, suspensions, deposit) with the publisher's
/// identity; the features that own those facts judge them.
struct BidFacts {
    owner_id: i64,
    status: DemandStatus,
    bid_deadline: NaiveDateTime,
    mine: Option<String>,
    publishers: Option<String>,
    info_open: Option<i64>,
    order_taking: crate::conduct::OrderTakingFacts,
}

/// The facts, or 404 when there is no such demand.
fn bid_facts(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    demand_id: i64,
) -> AppResult<BidFacts> {
    use crate::verification::{info_requests, service as verification};
    let owner = demands_t::table
        .find(demand_id)
        .select(demands_t::owner_id)
        .single_value();
    type Row = (
        i64,
        DemandStatus,
        NaiveDateTime,
        Option<String>,
        Option<String>,
        Option<i64>,
        crate::conduct::OrderTakingFacts,
    );
    let row: Option<Row> = demands_t::table
        .find(demand_id)
        .select((
            demands_t::owner_id,
            demands_t::status,
            demands_t::bid_deadline,
            verification::approved_identity_query(provider).single_value(),
            verification::approved_identity_query_of(owner).single_value(),
            info_requests::open_query(provider).single_value(),
            crate::conduct::order_taking_standing(provider, st.clock.now_naive()),
        ))
        .first(conn)
        .optional()?;
    let (owner_id, status, bid_deadline, mine, publishers, info_open, order_taking) =
        row.ok_or_else(demands::not_found)?;
    Ok(BidFacts {
        owner_id,
        status,
        bid_deadline,
        mine,
        publishers,
        info_open,
        order_taking,
    })
}

/// MKT-2, MKT-7: who may bid: verified, no open information request, not
/// suspended, orders not shielded, not the publisher's identity.
fn require_bidder(facts: BidFacts) -> AppResult<()> {
    use crate::verification::info_requests;
    // MKT-2: verified and in good standing.
    let Some(mine) = facts.mine else {
        return Err(AppError::forbidden(
            "account.not_verified",
            "请先完成实名认证",
            "Real-name verification is required first",
        ));
    };
    // ACC-6: no information request open.
    info_requests::judge_info_request(facts.info_open)?;
    // MKT-2, VIO-3, VIO-4, DEP-2: not suspended, orders not shielded.
    crate::conduct::judge_order_taking(facts.order_taking)?;
    // MKT-7: no bidding from an account sharing the publisher's identity.
    if Some(mine) == facts.publishers {
        return Err(AppError::forbidden(
            "bid.same_identity",
            "与发布者为同一实名身份，不能竞标",
            "Accounts sharing the publisher's identity cannot bid",
        ));
    }
    Ok(())
}

/// Places a bid (MKT-2, MKT-7).
pub fn place(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    demand_id: i64,
    req: NewBid,
    rate: &RateNote,
) -> AppResult<BidView> {
    let proposal = req.proposal.trim().to_string();
    if proposal.is_empty() || req.proposal.chars().count() > 2000 {
        return Err(AppError::invalid_field(
            "proposal",
            "text.invalid",
            "方案须为 1–2000 个字符",
            "The proposal must be 1–2000 characters",
        ));
    }
    let facts = bid_facts(conn, st, provider, demand_id)?;
    // A removed demand is not there but for its owner (as demands::load).
    if facts.status == DemandStatus::Removed && facts.owner_id != provider {
        return Err(demands::not_found());
    }
    if facts.owner_id == provider {
        return Err(AppError::forbidden(
            "bid.own_demand",
            "不能竞标自己发布的需求",
            "You cannot bid on your own demand",
        ));
    }
    let now = st.clock.now_naive();
    if facts.status != DemandStatus::Open || facts.bid_deadline <= now {
        return Err(not_open());
    }
    require_bidder(facts)?;
    // MKT-7: counted once the bid is acceptable (on PostgreSQL the bid
    // takes no transaction, so a refused one could not give it back).
    st.limit_in(conn, |l| &l.bids, &format!("user:{provider}"), rate)?;
    let Some(id) = insert_counted(conn, demand_id, provider, req.price.fen(), &proposal, now)?
    else {
        return Err(not_open());
    };
    Ok(BidView {
        id,
        demand_id,
        provider_id: provider,
        price: req.price,
        proposal,
        status: BidStatus::Active,
        created_at: now.and_utc(),
    })
}

#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn duplicate_bid(e: diesel::result::Error) -> AppError {
    unique_or(e, |_| {
        AppError::conflict(
            "bid.duplicate",
            "您已对该需求竞标",
            "You already have a live bid on this demand",
        )
    })
}

/// Inserts the bid and counts it on its demand, only while the demand is
/// open (a concurrent award or cancel makes the bid fail): the new bid's
/// id, or `None` when the demand is not open (any more). On PostgreSQL one
/// statement does both, atomic without a transaction around it (issue 13:
/// a bid in four round trips); on SQLite two, made atomic by `db::atomic`
/// (the caller's transaction, or one of their own), a demand no longer
/// open being an error there so the insert rolls back.
fn insert_counted(
    conn: &mut DbConnection,
    demand_id: i64,
    provider: i64,
    price: i64,
    proposal: &str,
    now: NaiveDateTime,
) -> AppResult<Option<i64>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    const COUNTED_INSERT: &str = "WITH counted AS (\
        UPDATE demands SET bid_count = bid_count + 1 WHERE id = $1 AND status = $2 RETURNING id) \
        INSERT INTO bids (demand_id, provider_id, price, proposal, status, created_at, updated_at) \
        SELECT id, $3, $4, $5, $6, $7, $7 FROM counted RETURNING id";
    match conn {
        DbConnection::Postgresql(c) => {
            let rows: Vec<NewId> = Reused(
                diesel::sql_query(COUNTED_INSERT)
                    .bind::<BigInt, _>(demand_id)
                    .bind::<Text, _>(DemandStatus::Open.as_str())
                    .bind::<BigInt, _>(provider)
                    .bind::<BigInt, _>(price)
                    .bind::<Text, _>(proposal)
                    .bind::<Text, _>(BidStatus::Active.as_str())
                    .bind::<Timestamp, _>(now),
            )
            .load(c)
            .map_err(duplicate_bid)?;
            let id = rows.first().map(|r| r.id);
            if id.is_some() {
                counts_changed();
            }
            Ok(id)
        }
        DbConnection::Sqlite(_) => db::atomic(conn, |conn| {
            let id: i64 = diesel::insert_into(bids::table)
                .values((
                    bids::demand_id.eq(demand_id),
                    bids::provider_id.eq(provider),
                    bids::price.eq(price),
                    bids::proposal.eq(proposal),
                    bids::status.eq(BidStatus::Active),
                    bids::created_at.eq(now),
                    bids::updated_at.eq(now),
                ))
                .returning(bids::id)
                .get_result(conn)
                .map_err(duplicate_bid)?;
            // Counted only while the demand is open: otherwise the bid is
            // rolled back with the rest.
            if count_on_open_demand(conn, demand_id, 1)? {
                Ok(Some(id))
            } else {
                Err(not_open())
            }
        }),
    }
}

/// Notes that this work moved demands' bid counts: no database trigger
/// tells other processes of a count (issue 13), so this one does once it
/// commits.
fn counts_changed() {
    changes::mark_shared(Topic::Demands);
}

/// Moves an open demand's bid count by `delta`; false when the demand is
/// not open (any more).
fn count_on_open_demand(conn: &mut DbConnection, demand_id: i64, delta: i32) -> AppResult<bool> {
    let n = Reused(
        diesel::update(
            demands_t::table
                .filter(demands_t::id.eq(demand_id))
                .filter(demands_t::status.eq(DemandStatus::Open)),
        )
        .set(demands_t::bid_count.eq(demands_t::bid_count + delta))
        .returning(demands_t::id),
    )
    .rows(conn)?;
    if n > 0 {
        counts_changed();
    }
    Ok(n > 0)
}

fn not_open() -> AppError {
    AppError::conflict(
        "demand.not_open",
        "该需求已停止竞标",
        "The demand is not open for bids",
    )
}

fn not_found() -> AppError {
    AppError::not_found("bid.not_found", "竞标不存在", "No such bid")
}

pub fn load(conn: &mut DbConnection, id: i64) -> AppResult<BidView> {
    bids::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?
        .view()
}

/// The bids on a demand the caller may see: all for its owner, their own
/// for a bidder, none for anyone else.
pub fn visible(
    conn: &mut DbConnection,
    viewer: i64,
    demand_id: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Row>> {
    let demand = demands::load(conn, demand_id, Some(viewer))?;
    let mut q = bids::table
        .filter(bids::demand_id.eq(demand_id))
        .select(Row::as_select())
        .order(bids::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if demand.owner_id != viewer {
        q = q.filter(bids::provider_id.eq(viewer));
    } else {
        // DEP-2, DEP-3: bids of providers whose orders are shielded are hidden.
        use crate::platform::db::schema::deposits;
        q = q.filter(diesel::dsl::not(
            bids::provider_id.eq_any(
                deposits::table
                    .filter(deposits::status.eq_any(crate::conduct::model::DepositStatus::SHIELDED))
                    .select(deposits::user_id),
            ),
        ));
    }
    if let Some(b) = before {
        q = q.filter(bids::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Withdraws an active bid while the demand is open.
pub fn withdraw(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    id: i64,
) -> AppResult<BidView> {
    let bid = load(conn, id)?;
    if bid.provider_id != provider {
        return Err(not_found());
    }
    let not_withdrawable = || {
        AppError::conflict(
            "bid.not_withdrawable",
            "竞标已中标、已撤回或需求已截止",
            "The bid is no longer active or the demand is closed",
        )
    };
    // The demand row first, the bid second: the same lock order as awarding,
    // so a withdrawal racing an award waits instead of deadlocking.
    if !count_on_open_demand(conn, bid.demand_id, -1)? {
        return Err(not_withdrawable());
    }
    let n = diesel::update(
        bids::table
            .filter(bids::id.eq(id))
            .filter(bids::status.eq(BidStatus::Active)),
    )
    .set((
        bids::status.eq(BidStatus::Withdrawn),
        bids::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(not_withdrawable());
    }
    load(conn, id)
}

/// Withdraws every live bid of a provider who left the platform (DEP-7
/// refund payout).
pub fn withdraw_all_of(conn: &mut DbConnection, st: &AppState, provider: i64) -> AppResult<()> {
    let live = bids::table
        .filter(bids::provider_id.eq(provider))
        .filter(bids::status.eq(BidStatus::Active));
    // Each open demand counts one bid fewer, as for a withdrawal by hand
    // (a provider has one live bid per demand at most).
    let counted = diesel::update(
        demands_t::table
            .filter(demands_t::status.eq(DemandStatus::Open))
            .filter(demands_t::id.eq_any(live.select(bids::demand_id))),
    )
    .set(demands_t::bid_count.eq(demands_t::bid_count - 1))
    .execute(conn)?;
    if counted > 0 {
        counts_changed();
    }
    diesel::update(live)
        .set((
            bids::status.eq(BidStatus::Withdrawn),
            bids::updated_at.eq(st.clock.now_naive()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The provider's own bids, newest first.
pub fn mine(
    conn: &mut DbConnection,
    provider: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Row>> {
    let mut q = bids::table
        .filter(bids::provider_id.eq(provider))
        .select(Row::as_select())
        .order(bids::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(bids::id.lt(b));
    }
    Ok(q.load(conn)?)
}
