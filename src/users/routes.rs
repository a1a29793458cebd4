//! `/api/v1/auth/*`, `/api/v1/me*`, `/api/v1/users/{id}`,
//! `/api/v1/member-names/{name}/availability`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};

use super::dto::{
    AuthResponse, Availability, ChangePasswordRequest, LoginRequest, MeView, RefreshRequest,
    RegisterRequest, SessionView, UpdateMeRequest,
};
use super::service;
use crate::auth::codes;
use crate::auth::sessions::{self, TokenPair};
use crate::auth::{AuthUser, AuthUserAnyAgreement};
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::{ClientMeta, rate_key};
use crate::platform::paging::{Page, PageQuery};
use crate::platform::ratelimit::RateNote;
use crate::platform::state::AppState;

/// Register an account (ACC-2). Returns the account and a token pair.
#[utoipa::path(
    operation_id = "auth_register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and logged in", body = AuthResponse),
        (status = 409, description = "Member name (`member_name.taken`), email (`email.taken`) or phone (`phone.taken`) already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, prohibited member name (`member_name.prohibited`, with `category`), weak password, or not the agreement version in force", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this IP", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    meta: ClientMeta,
    rate: RateNote,
    body: crate::platform::http::Json<RegisterRequest>,
) -> AppResult<HttpResponse> {
    state
        .limit(|l| &l.register, rate_key(&meta.ip), &rate)
        .await?;
    let req = body.into_inner();
    // The cheap rule first; the hash is made outside the transaction.
    crate::auth::password::check_strength(&req.password, None)?;
    // ACC-12: the phone's code; a wrong try counts even though this fails.
    let code_id = super::security::try_code(
        &state,
        codes::CodeChannel::Sms,
        codes::CodePurpose::Register,
        &req.phone,
        "phone",
        &req.phone_code,
    )
    .await?;
    let plain = req.password.clone();
    let hash = crate::auth::password::capped(&state, move || crate::auth::password::hash(&plain))
        .await??;
    let res = state
        .tx(move |conn, st| service::register(conn, st, req, &hash, code_id, &meta))
        .await?;
    Ok(HttpResponse::Created().json(res))
}

/// Log in by member name, email or mobile phone.
#[utoipa::path(
    operation_id = "auth_login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "Wrong login or password (`auth.invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account cannot log in: reclaimed (`account.reclaimed`), closed (`account.closed`) or sealed (`account.sealed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this IP", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    meta: ClientMeta,
    rate: RateNote,
    body: crate::platform::http::Json<LoginRequest>,
) -> AppResult<web::Json<AuthResponse>> {
    state.limit(|l| &l.login, rate_key(&meta.ip), &rate).await?;
    let res = service::login(&state, body.into_inner(), meta).await?;
    Ok(web::Json(res))
}

/// Exchange a refresh token for a new token pair. The old refresh token is
/// spent; presenting it again ends the whole session.
#[utoipa::path(
    operation_id = "auth_refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenPair),
        (status = 401, description = "Invalid or expired (`auth.refresh_invalid`), or reused (`auth.refresh_reused`, the session is ended)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many refreshes from this IP", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    meta: ClientMeta,
    rate: RateNote,
    body: crate::platform::http::Json<RefreshRequest>,
) -> AppResult<web::Json<TokenPair>> {
    state
        .limit(|l| &l.refresh, rate_key(&meta.ip), &rate)
        .await?;
    let token = body.into_inner().refresh_token;
    crate::platform::text::check_len("refresh_token", &token, 1, 200)?;
    let outcome = state
        .tx(move |conn, st| sessions::refresh(conn, st, &token))
        .await?;
    Ok(web::Json(outcome.into_result()?))
}

/// Log out: ends this session; its access and refresh tokens stop working at once.
#[utoipa::path(
    operation_id = "auth_logout",
    tag = "auth",
    responses((status = 204, description = "Logged out")),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
) -> AppResult<HttpResponse> {
    let sid = user.session_id;
    state
        .tx(move |conn, st| sessions::revoke(conn, sid, st.clock.now_naive(), "logout"))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(
    operation_id = "me_get",
    tag = "me",
    responses((status = 200, description = "The account", body = MeView)),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
) -> AppResult<web::Json<MeView>> {
    let view = state
        .run(move |conn, st| service::me(conn, st, &user))
        .await?;
    Ok(web::Json(view))
}

/// Update contact data (email, phone, contact name, address).
#[utoipa::path(
    operation_id = "me_update",
    tag = "me",
    params(
        ("If-Match" = Option<String>, Header, description = "The `ETag` of `GET /me` as read; a changed account answers 412"),
    ),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated account", body = MeView),
        (status = 412, description = "The account changed since the `ETag` named in `If-Match` (`precondition.failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email or phone already registered", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/me")]
pub async fn patch_me(
    state: web::Data<AppState>,
    user: AuthUser,
    if_match: crate::platform::http::IfMatch,
    body: crate::platform::http::Json<UpdateMeRequest>,
) -> AppResult<web::Json<MeView>> {
    let req = body.into_inner();
    let view = state
        .tx(move |conn, st| {
            // Locked first: two edits naming the same ETag go one by one.
            // The body is validated before the precondition is answered; a
            // failed precondition rolls the edit back.
            crate::users::account_state::lock_row(conn, user.user_id)?;
            let precondition = if_match.check(&service::me(conn, st, &user)?);
            let view = service::update_me(conn, st, &user, req)?;
            precondition.map(|()| view)
        })
        .await?;
    Ok(web::Json(view))
}

/// Change the password; every other session ends (ACC-7).
#[utoipa::path(
    operation_id = "me_password_change",
    tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 403, description = "Wrong current password (`password.incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Weak new password (`password.weak`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    service::change_password(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's live sessions, newest first.
#[utoipa::path(
    operation_id = "me_sessions_list",
    tag = "me",
    params(PageQuery),
    responses((status = 200, description = "Live sessions", body = Page<SessionView>)),
    security(("bearer" = []))
)]
#[get("/me/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<SessionView>>> {
    let page = page.into_inner();
    let res = state
        .run(move |conn, st| service::list_sessions(conn, st, &user, &page))
        .await?;
    Ok(web::Json(res))
}

/// End one of the caller's sessions (its tokens stop working at once).
#[utoipa::path(
    operation_id = "me_sessions_end",
    tag = "me",
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such live session of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/me/sessions/{id}")]
pub async fn end_session(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    state
        .tx(move |conn, st| service::end_session(conn, st, &user, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether a member name can be registered, and if not, why (ACC-4).
#[utoipa::path(
    operation_id = "member_names_check_availability",
    tag = "users",
    params(("name" = String, Path, description = "The member name to check")),
    responses((status = 200, description = "Availability", body = Availability))
)]
#[get("/member-names/{name}/availability")]
pub async fn name_availability(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> AppResult<web::Json<Availability>> {
    let name = name.into_inner();
    let res = state
        .run(move |conn, st| service::availability(conn, st, &name))
        .await?;
    Ok(web::Json(res))
}
