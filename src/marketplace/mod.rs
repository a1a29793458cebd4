//! The marketplace (MKT-1..MKT-7): demands, bids, awards with held funds,
//! completion with the platform fee, reviews, and discovery.

pub mod awards;
pub mod bids;
pub mod check_ins;
pub mod demands;
pub mod dto;
pub mod model;
pub mod routes;

use diesel::prelude::*;

use crate::notifications::{Notice, Recipients, notify_many};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

/// MKT-1/MKT-2: a verified user in good standing (no open information
/// request, ACC-6).
pub fn require_good_standing(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    if !crate::verification::service::is_verified(conn, user_id)? {
        return Err(AppError::forbidden(
            "account.not_verified",
            "请先完成实名认证",
            "Real-name verification is required first",
        ));
    }
    crate::verification::info_requests::require_no_info_request(conn, user_id)
}

/// Notifies every user in `ids` with the same notice.
pub fn notify_each(
    conn: &mut DbConnection,
    st: &AppState,
    ids: &[i64],
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
) -> AppResult<()> {
    notify_many(
        conn,
        st,
        Recipients::Users(ids),
        Notice {
            kind,
            title,
            body: body.to_string(),
            link: Some(link.to_string()),
        },
    )
}

/// Sets every active bid of a demand to `not_selected`; returns the bidders.
pub fn close_bids(conn: &mut DbConnection, st: &AppState, demand_id: i64) -> AppResult<Vec<i64>> {
    use crate::platform::db::schema::bids;
    let bidders: Vec<i64> = bids::table
        .filter(bids::demand_id.eq(demand_id))
        .filter(bids::status.eq(model::BidStatus::Active))
        .select(bids::provider_id)
        .load(conn)?;
    diesel::update(
        bids::table
            .filter(bids::demand_id.eq(demand_id))
            .filter(bids::status.eq(model::BidStatus::Active)),
    )
    .set((
        bids::status.eq(model::BidStatus::NotSelected),
        bids::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    Ok(bidders)
}

/// Demands of `owner` still open or awarded (ACC-10 closure blocker).
pub fn live_demand_count(conn: &mut DbConnection, owner: i64) -> AppResult<i64> {
    use crate::platform::db::schema::demands;
    Ok(demands::table
        .filter(demands::owner_id.eq(owner))
        .filter(demands::status.eq_any(model::DemandStatus::LIVE))
        .count()
        .get_result(conn)?)
}

/// Awards under way in which `user_id` is a party (DEP-7, ACC-10 blockers).
pub fn awards_under_way_count(conn: &mut DbConnection, user_id: i64) -> AppResult<i64> {
    use crate::platform::db::schema::awards;
    Ok(awards::table
        .filter(
            awards::provider_id
                .eq(user_id)
                .or(awards::employer_id.eq(user_id)),
        )
        .filter(awards::status.eq_any(model::AwardStatus::UNDER_WAY))
        .count()
        .get_result(conn)?)
}
