//! Disputes (DSP-1): platform mediation of awards.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::disputes;
use crate::error::AppResult;

pub mod status {
    pub const OPEN: &str = "open";
    pub const DECIDED: &str = "decided";
}

/// Open disputes the user is a party of (they block deposit refund and
/// account closure, DEP-7, ACC-10).
pub fn open_count(conn: &mut DbConnection, user_id: i64) -> AppResult<i64> {
    Ok(disputes::table
        .filter(
            disputes::employer_id
                .eq(user_id)
                .or(disputes::provider_id.eq(user_id)),
        )
        .filter(disputes::status.eq(status::OPEN))
        .count()
        .get_result(conn)?)
}
