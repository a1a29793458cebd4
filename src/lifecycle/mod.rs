//! An account's life after registration: member-name reclamation (ACC-5),
//! staff information requests (ACC-6), inactivity reclamation (ACC-9),
//! closure and anonymisation (ACC-10), and staff reads of a full record
//! (ACC-11).

pub mod closure;
pub mod inactivity;
pub mod info_requests;
pub mod routes;

use diesel::prelude::*;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::info_requests as info_t;
use crate::platform::error::{AppError, AppResult};

/// Restrictions in force on an account, as stable codes.
pub fn restrictions(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    let open_info: bool = diesel::select(diesel::dsl::exists(
        info_t::table
            .filter(info_t::user_id.eq(user_id))
            .filter(info_t::status.ne(info_requests::status::CLEARED)),
    ))
    .get_result(conn)?;
    if open_info {
        out.push("info_request_pending".to_string());
    }
    Ok(out)
}

/// ACC-6: publishing and bidding are refused while a staff information
/// request is not cleared (MKT-1, MKT-2 call this).
pub fn require_no_info_request(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    if restrictions(conn, user_id)?
        .iter()
        .any(|r| r == "info_request_pending")
    {
        return Err(AppError::forbidden(
            "account.info_request_pending",
            "平台要求您说明或更正信息，处理完成前无法发布需求或竞标",
            "Staff asked you to explain or correct your information; publishing and bidding are closed until it is cleared",
        ));
    }
    Ok(())
}
