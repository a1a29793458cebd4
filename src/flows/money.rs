//! Staff money operations (FND-6), where funds meets what they serve: a
//! violation (conduct), a dispute (disputes), a deposit refund or closure
//! request, or the settlement of a sealed, reclaimed or closed account —
//! each checked to exist and to concern the user whose money moves.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use crate::auth::accounts::UserStatus;
use crate::auth::{Finance, Staff};
use crate::funds::operations::{
    self, NewOperation, OperationQuery, OperationView, Rejection, ServesType,
};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::paging::{Page, PageQuery};
use crate::platform::state::AppState;

/// Checks that the item an operation serves exists and concerns its user.
pub fn check_serves(conn: &mut DbConnection, req: &NewOperation) -> AppResult<()> {
    let user = req.user_id;
    let id = req.serves_id;
    let fits = match req.serves_type {
        ServesType::Violation => crate::conduct::violations::subject_of(conn, id)? == Some(user),
        ServesType::Dispute => crate::disputes::parties(conn, id)?
            .is_some_and(|(employer, provider)| employer == user || provider == user),
        ServesType::RefundRequest => crate::conduct::deposit::refund_owner(conn, id)? == Some(user),
        ServesType::ClosureRequest => crate::lifecycle::closure::requester(conn, id)? == Some(user),
        ServesType::AccountSettlement => {
            id == user
                && matches!(
                    crate::users::account_state::status_of(conn, user)?,
                    Some(UserStatus::Sealed | UserStatus::Reclaimed | UserStatus::Closed)
                )
        }
    };
    if crate::users::account_state::status_of(conn, user)?.is_none() {
        return Err(AppError::invalid_field(
            "user_id",
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    if fits {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "serves_id",
            "money_operation.serves_mismatch",
            "所服务的违规、纠纷或申请不存在，或与该用户无关（结清账户仅限已封号、已回收或已注销的账户）",
            "The violation, dispute or request served does not exist or does not concern this user (account_settlement: sealed, reclaimed or closed accounts only)",
        ))
    }
}

/// Record a money operation (finance): `hold`, `release`, `pay_out` (to
/// the user's bound payee, through its channel), `compensate` or `refund`,
/// with a reason and the violation, dispute or request it serves. At or
/// below `MONEY_OPERATION_APPROVAL_ABOVE` it is executed at once; above,
/// it waits for a second finance person. Audited; the money moves in one
/// ledger transaction referencing the operation.
#[utoipa::path(
    operation_id = "admin_money_operations_create",
    tag = "admin",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended operation; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewOperation,
    responses(
        (status = 201, description = "Executed, or awaiting a second approver (`status`)", body = OperationView),
        (status = 409, description = "Insufficient funds (`funds.insufficient`), no bound payee (`payee.none_bound`), or the key still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown user, the item served does not concern the user (`money_operation.serves_mismatch`), or key reused", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/money-operations")]
pub async fn create_operation(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    req: HttpRequest,
    body: crate::platform::http::Json<NewOperation>,
) -> AppResult<HttpResponse> {
    let (staff_id, body) = (staff.user_id, body.into_inner());
    let key = crate::funds::idempotency::key_from(req.headers())?;
    let print = crate::funds::idempotency::fingerprint("POST /admin/money-operations", &body);
    crate::funds::idempotency::run(
        &state,
        staff_id,
        key,
        print,
        StatusCode::CREATED,
        move |conn, st| {
            check_serves(conn, &body)?;
            operations::create(conn, st, Some(staff_id), &body)
        },
    )
    .await
}

/// Approve an operation waiting for a second finance person: the money
/// moves now. The maker cannot approve their own (403).
#[utoipa::path(
    operation_id = "admin_money_operations_approve",
    tag = "admin",
    params(("id" = i64, Path, description = "Money operation id")),
    responses(
        (status = 200, description = "Executed", body = OperationView),
        (status = 403, description = "The maker tried to approve (`money_operation.same_person`), or not finance", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`money_operation.already_decided`) or insufficient funds now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/money-operations/{id}/approve")]
pub async fn approve_operation(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    id: web::Path<i64>,
) -> AppResult<web::Json<OperationView>> {
    let (staff_id, id) = (staff.user_id, id.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| {
                let request = operations::as_request(conn, id)?;
                check_serves(conn, &request)?;
                operations::approve(conn, st, staff_id, id)
            })
            .await?,
    ))
}

/// Reject an operation waiting for approval, with a note; nothing moves.
#[utoipa::path(
    operation_id = "admin_money_operations_reject",
    tag = "admin",
    params(("id" = i64, Path, description = "Money operation id")),
    request_body = Rejection,
    responses(
        (status = 200, description = "Rejected", body = OperationView),
        (status = 404, description = "No such operation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing note", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/money-operations/{id}/reject")]
pub async fn reject_operation(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    id: web::Path<i64>,
    body: crate::platform::http::Json<Rejection>,
) -> AppResult<web::Json<OperationView>> {
    let (staff_id, id, note) = (staff.user_id, id.into_inner(), body.into_inner().note);
    Ok(web::Json(
        state
            .tx(move |conn, st| operations::reject(conn, st, staff_id, id, &note))
            .await?,
    ))
}

/// Money operations, newest first (finance), by status or user.
#[utoipa::path(
    operation_id = "admin_money_operations_list",
    tag = "admin",
    params(OperationQuery, PageQuery),
    responses((status = 200, description = "Operations", body = Page<OperationView>)),
    security(("bearer" = []))
)]
#[get("/admin/money-operations")]
pub async fn list_operations(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
    filter: web::Query<OperationQuery>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<OperationView>>> {
    let (filter, page) = (filter.into_inner(), page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| operations::list(conn, &filter, &page))
            .await?,
    ))
}

/// One money operation (finance).
#[utoipa::path(
    operation_id = "admin_money_operations_get",
    tag = "admin",
    params(("id" = i64, Path, description = "Money operation id")),
    responses(
        (status = 200, description = "The operation", body = OperationView),
        (status = 404, description = "No such operation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/money-operations/{id}")]
pub async fn get_operation(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
    id: web::Path<i64>,
) -> AppResult<web::Json<OperationView>> {
    let id = id.into_inner();
    Ok(web::Json(
        state.run(move |conn, _| operations::get(conn, id)).await?,
    ))
}

/// Scheduler (FND-6): sealed accounts with funds left get their settlement
/// opened (reclaimed ones get it when they are reclaimed). Returns how many.
pub fn settle_sealed(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let mut opened = 0;
    for user_id in crate::users::account_state::sealed_ids(conn)? {
        match crate::platform::db::write_tx(conn, |c| settle_account(c, st, user_id)) {
            Ok(true) => opened += 1,
            Ok(false) => {}
            Err(e) => log::error!(
                "job settle sealed user={user_id}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(opened)
}

/// ACC-9 / FND-6: an account that was just reclaimed (or sealed) keeps no
/// money stranded: its available funds are put to finance as a payout to
/// the bound payee (waiting for a finance person's approval; the platform
/// is the maker). Without a bound payee the funds stay until the user
/// (or their successor) is identified; the balance shows in finance's
/// account view. Returns whether an operation was opened.
pub fn settle_account(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<bool> {
    let available =
        crate::funds::reading::balance_of(conn, &crate::funds::ledger::code::available(user_id))?;
    if available <= 0 || operations::settlement_open(conn, user_id)? {
        return Ok(false);
    }
    let Some(payee) = crate::funds::payees::newest(conn, user_id)? else {
        return Ok(false);
    };
    if crate::funds::payments::channel_for_payee(st, &payee).is_err() {
        // No channel here pays this payee: the funds stay, in finance's view.
        return Ok(false);
    }
    let amount = crate::platform::money::Money::from_fen(available)
        .ok_or_else(|| AppError::internal("balance out of range"))?;
    let req = NewOperation {
        kind: operations::OperationKind::PayOut,
        user_id,
        amount,
        reason: "账户已回收或封禁，结清剩余资金至绑定收款账户".into(),
        serves_type: ServesType::AccountSettlement,
        serves_id: user_id,
        payee_account_id: Some(payee.id),
    };
    operations::create(conn, st, None, &req)?;
    Ok(true)
}
