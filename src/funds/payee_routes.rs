//! `/api/v1/me/payee-accounts` (FND-4).

use actix_web::{HttpResponse, delete, get, post, web};

use super::payees::{self, NewPayee, PayeeKind, PayeeView};
use crate::auth::AuthUser;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::created;
use crate::platform::state::AppState;
use crate::platform::wechat_login::LoginError;

/// The caller's bound payee accounts, newest first, identifiers masked.
#[utoipa::path(
    operation_id = "me_payee_accounts_list",
    tag = "funds",
    responses((status = 200, description = "Bound payee accounts", body = Vec<PayeeView>)),
    security(("bearer" = []))
)]
#[get("/me/payee-accounts")]
pub async fn list_payees(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<Vec<PayeeView>>> {
    let user_id = user.user_id;
    Ok(web::Json(
        state
            .run(move |conn, _| payees::mine(conn, user_id))
            .await?,
    ))
}

/// The openid behind a WeChat sign-in code (outside any transaction: it
/// may ask WeChat).
async fn wechat_openid(state: &AppState, body: &NewPayee) -> AppResult<String> {
    if body.account.is_some() || body.real_name.is_some() {
        return Err(AppError::invalid_field(
            "account",
            "payee.field_not_allowed",
            "微信收款只需 code",
            "A WeChat payee takes only code",
        ));
    }
    let code = body.code.clone().unwrap_or_default();
    let login = state.wechat_login.clone();
    let answer = web::block(move || login.openid(&code))
        .await
        .map_err(AppError::internal)?;
    answer.map_err(|e| match e {
        LoginError::InvalidCode => AppError::invalid_field(
            "code",
            "payee.wechat_code_invalid",
            "微信授权码无效或已过期，请重新授权",
            "The WeChat sign-in code is invalid or expired; sign in with WeChat again",
        ),
        LoginError::Unavailable(cause) => AppError::unavailable(cause),
    })
}

/// Bind a payee account. Alipay: `account` (the login id: a mobile number
/// or an email) and `real_name`, which must equal the verified legal (or
/// organisation) name. WeChat: `code` from the app's WeChat sign-in,
/// exchanged for the openid transfers pay to. At most 5 at once.
#[utoipa::path(
    operation_id = "me_payee_accounts_create",
    tag = "funds",
    request_body = NewPayee,
    responses(
        (status = 201, description = "Bound", body = PayeeView),
        (status = 409, description = "Not verified (`payee.verification_required`), already bound (`payee.duplicate`) or 5 bound (`payee.limit`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Name differs from the verified name (`payee.name_mismatch`), bad account (`payee.account_invalid`), bad WeChat code (`payee.wechat_code_invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "WeChat could not be asked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/payee-accounts")]
pub async fn create_payee(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<NewPayee>,
) -> AppResult<HttpResponse> {
    let (user_id, body) = (user.user_id, body.into_inner());
    let openid = match body.kind {
        PayeeKind::Wechat => Some(wechat_openid(&state, &body).await?),
        PayeeKind::Alipay => None,
    };
    let view = state
        .tx(move |conn, st| match openid {
            Some(openid) => payees::bind(conn, st, user_id, PayeeKind::Wechat, &openid, None),
            None => {
                let (account, name) = payees::check_alipay(conn, user_id, &body)?;
                payees::bind(conn, st, user_id, PayeeKind::Alipay, &account, Some(&name))
            }
        })
        .await?;
    Ok(created(&view))
}

/// Unbind a payee account. Payouts already under way still go to it.
#[utoipa::path(
    operation_id = "me_payee_accounts_delete",
    tag = "funds",
    params(("id" = i64, Path, description = "Payee account id")),
    responses(
        (status = 204, description = "Unbound"),
        (status = 404, description = "No such payee account of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/me/payee-accounts/{id}")]
pub async fn delete_payee(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (user_id, id) = (user.user_id, id.into_inner());
    state
        .tx(move |conn, st| payees::remove(conn, st, user_id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
