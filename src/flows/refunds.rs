//! The deposit refund (DEP-7), where conduct meets disputes and the
//! marketplace: a refund waits for every open complaint, appeal, dispute
//! and award, which only this layer can see together.

use actix_web::{HttpResponse, post, web};

use crate::auth::AuthUser;
use crate::conduct::deposit::{self, DepositView, RefundRequest};
use crate::conduct::model::Blocker;
use crate::platform::db::{DbConnection, write_tx};
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::created;
use crate::platform::state::AppState;

/// What keeps a deposit from being refunded (DEP-7): conduct's own items,
/// open disputes and awards in progress.
pub fn refund_blockers(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<Blocker>> {
    let mut out = deposit::own_blockers(conn, user_id)?;
    Blocker::push_if(
        &mut out,
        "dispute_open",
        crate::disputes::open_count(conn, user_id)?,
    );
    Blocker::push_if(
        &mut out,
        "award_in_progress",
        crate::marketplace::awards_under_way_count(conn, user_id)?,
    );
    Ok(out)
}

/// Scheduler (DEP-7): observations that ended. With nothing open the
/// balance goes out through the channel; otherwise the observation runs
/// on. Arrears do not hold a payout back: what is there is paid out.
pub fn observations_due(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let mut started = 0;
    for (id, user_id) in deposit::observations_ended(conn, st)? {
        let done = write_tx(conn, |c| {
            let blocking: Vec<Blocker> = refund_blockers(c, user_id)?
                .into_iter()
                .filter(|b| b.code != "deposit_arrears")
                .collect();
            deposit::start_payout(c, st, id, user_id, &blocking)
        });
        match done {
            Ok(true) => started += 1,
            Ok(false) => {}
            Err(e) => log::error!(
                "job deposit refund id={id}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(started)
}

/// Apply for the deposit refund (DEP-7): only with no arrears, open
/// complaints, penalties under appeal, open disputes or awards in
/// progress (409 lists them). A 30-day observation starts.
#[utoipa::path(
    operation_id = "me_deposit_refund_request_create",
    tag = "deposit",
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Observation started", body = DepositView),
        (status = 409, description = "Blocked (`deposit.refund_blocked`, with `blocking`), nothing to refund, or already in progress", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/deposit/refund-request")]
pub async fn request_refund(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<RefundRequest>,
) -> AppResult<HttpResponse> {
    let (user_id, body) = (user.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| {
            let blocking = refund_blockers(conn, user_id)?;
            deposit::request_refund(conn, st, user_id, &body, blocking)
        })
        .await?;
    Ok(created(&view))
}

/// ACC-9: a reclaimed account's deposit is not stranded. The refund starts
/// on the user's behalf: the observation runs as DEP-7 says (open items
/// extend it), then the balance goes to the newest bound payee. Without a
/// bound payee (or a channel for it) the deposit stays, in finance's view.
pub fn refund_reclaimed_deposit(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
) -> AppResult<bool> {
    if deposit::balance(conn, user_id)? <= 0 {
        return Ok(false);
    }
    let Some(payee) = crate::funds::payees::newest(conn, user_id)? else {
        return Ok(false);
    };
    let Ok(channel) = crate::funds::payments::channel_for_payee(st, &payee) else {
        return Ok(false);
    };
    let req = RefundRequest {
        channel,
        payee_account_id: payee.id,
    };
    // A savepoint: a refund started meanwhile (a unique violation on
    // PostgreSQL) must not abort the reclamation's transaction.
    let started = diesel::Connection::transaction(conn, |c| {
        deposit::request_refund(c, st, user_id, &req, Vec::new())
    });
    match started {
        Ok(_) => Ok(true),
        // Already refunding (or refunded): nothing to start.
        Err(e) if e.status == actix_web::http::StatusCode::CONFLICT => Ok(false),
        Err(e) => Err(e),
    }
}
