//! Who is calling: bearer-token extractors for users and staff.
//!
//! A handler states what it needs in its signature: [`AuthUser`] for any
//! logged-in account, [`Staff<R>`] for staff with a role in `R` (admins pass
//! every staff check). Nothing is authorised by a list of skipped paths.

pub mod accounts;
pub mod codes;
pub mod devices;
pub mod password;
pub mod sessions;
pub mod totp;

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::auth::accounts::Role;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::RouteTable;
use crate::platform::jwt;
use crate::platform::state::AppState;

pub use sessions::Caller;

/// A logged-in account (user or staff) with a live session that has
/// accepted the agreement version in force (AGR-1: otherwise 428).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Caller);

/// A logged-in account, whether or not it accepted the agreement in force:
/// only for reading and accepting the agreement, logout, `GET /me` and the
/// closure request (AGR-1).
#[derive(Debug, Clone)]
pub struct AuthUserAnyAgreement(pub Caller);

impl std::ops::Deref for AuthUserAnyAgreement {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl std::ops::Deref for AuthUser {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

fn enrolment_required() -> AppError {
    AppError::forbidden(
        "auth.totp_enrolment_required",
        "员工账户须先启用动态口令（POST /api/v1/admin/me/totp）",
        "Staff accounts must enrol a TOTP authenticator first (POST /api/v1/admin/me/totp)",
    )
}

fn missing_token() -> AppError {
    AppError::unauthorized(
        "auth.missing_token",
        "需要登录：请在 Authorization 头中提供 Bearer 访问令牌",
        "Authentication required: send a Bearer access token in the Authorization header",
    )
}

fn bearer(req: &HttpRequest) -> Result<String, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing_token)?
        .to_str()
        .map_err(|_| jwt::invalid_token())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(jwt::invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(jwt::invalid_token());
    }
    Ok(token.trim().to_string())
}

/// Verifies the bearer token and its live session.
async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: Result<String, AppError>,
) -> AppResult<Caller> {
    let state = state.ok_or_else(|| AppError::internal("AppState missing"))?;
    let claims = state.jwt.verify(&token?, state.clock.now())?;
    let user_id: i64 = claims.sub.parse().map_err(|_| jwt::invalid_token())?;
    let session_id = claims.sid;
    state
        .run(move |conn, st| sessions::authenticate(conn, st, user_id, session_id))
        .await
}

/// The caller, authenticated by [`gate`] before the handler's arguments
/// were extracted.
#[derive(Clone)]
struct Authenticated(Caller);

/// Operations whose session is checked by their own work, on the
/// connection that work writes with ([`Claimed`]): the hot writes, where a
/// second pool checkout and thread hand-off per request cost a third of
/// their time (issue 13). The gate checks only the token's signature and
/// expiry for them, so a missing or bad token is still 401 before anything
/// reads the body; an ended session is 401 from the work (after the body
/// was read, so a malformed body may be answered first).
const SESSION_CHECKED_IN_WORK: &[(&str, &str)] = &[
    ("POST", "/api/v1/demands/{id}/bids"),
    ("POST", "/api/v1/conversations/{id}/messages"),
];

/// A bearer token whose signature and expiry were checked, for an
/// operation of [`SESSION_CHECKED_IN_WORK`]: its session is checked by
/// [`Claimed::authenticate`] on the work's own connection.
#[derive(Debug, Clone, Copy)]
pub struct Claimed {
    user_id: i64,
    session_id: i64,
}

impl Claimed {
    /// The account the token names, not yet checked against its session:
    /// for logs and keys only, never for deciding what the caller may do.
    pub fn unverified_user_id(&self) -> i64 {
        self.user_id
    }

    fn verify(state: &AppState, token: Result<String, AppError>) -> AppResult<Claimed> {
        let claims = state.jwt.verify(&token?, state.clock.now())?;
        let user_id: i64 = claims.sub.parse().map_err(|_| jwt::invalid_token())?;
        Ok(Claimed {
            user_id,
            session_id: claims.sid,
        })
    }

    /// What [`AuthUser`] checks, on `conn`: a live session of an active
    /// account, with the second factor (staff) and the agreement in force
    /// (AGR-1) accepted.
    pub fn authenticate(&self, conn: &mut DbConnection, st: &AppState) -> AppResult<Caller> {
        let caller = sessions::authenticate(conn, st, self.user_id, self.session_id)?;
        admit(&caller)?;
        Ok(caller)
    }
}

impl FromRequest for Claimed {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(claimed) = req.extensions().get::<Claimed>().copied() {
            return std::future::ready(Ok(claimed));
        }
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return std::future::ready(Err(AppError::internal("AppState missing")));
        };
        std::future::ready(Claimed::verify(state, bearer(req)))
    }
}

/// Whether the gate leaves the session check of `method path` to the work.
fn session_checked_in_work(
    routes: &RouteTable,
    method: &actix_web::http::Method,
    path: &str,
) -> bool {
    // Most requests are not POSTs: no template is worked out for them.
    if !SESSION_CHECKED_IN_WORK
        .iter()
        .any(|(m, _)| *m == method.as_str())
    {
        return false;
    }
    routes.template(path).is_some_and(|template| {
        SESSION_CHECKED_IN_WORK
            .iter()
            .any(|(m, t)| *m == method.as_str() && *t == template)
    })
}

/// ACC-14 and AGR-1 for a caller whose session is live: a staff session
/// without the second factor may only enrol, and an account that has not
/// accepted the agreement in force is 428.
fn admit(caller: &Caller) -> AppResult<()> {
    // ACC-14: a staff session without the second factor may only
    // enrol (and read its own account, log out): nothing a staff
    // role opens, however the handler checks the role.
    if caller.second_factor_pending {
        return Err(enrolment_required());
    }
    if caller.agreement_pending {
        return Err(AppError::new(
            actix_web::http::StatusCode::PRECONDITION_REQUIRED,
            "agreement.acceptance_required",
            "平台服务协议已更新，请先阅读并接受新版本（GET /api/v1/agreements/current）",
            "A new version of the service agreement is in force; read and accept it first (GET /api/v1/agreements/current)",
        ));
    }
    Ok(())
}

/// Middleware: for an operation that requires a bearer token (as the
/// OpenAPI document says), authenticate before anything reads the body, so
/// 401 always wins over a body error; the extractors then decide 403 and
/// 428 at once from the caller this leaves in the request.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let routes = req.app_data::<web::Data<RouteTable>>();
    // HEAD is answered by the GET route, with its authentication.
    let method = if req.method() == actix_web::http::Method::HEAD {
        &actix_web::http::Method::GET
    } else {
        req.method()
    };
    let path = crate::platform::http::routing_path(req.request());
    let required = routes.is_some_and(|routes| routes.requires_bearer(method, path));
    if required && routes.is_some_and(|routes| session_checked_in_work(routes, method, path)) {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return Ok(req
                .error_response(AppError::internal("AppState missing"))
                .map_into_right_body());
        };
        match Claimed::verify(state, bearer(req.request())) {
            Ok(claimed) => {
                req.extensions_mut()
                    .insert(crate::platform::http::CallerId(claimed.user_id));
                req.extensions_mut().insert(claimed);
            }
            Err(err) => return Ok(req.error_response(err).map_into_right_body()),
        }
    } else if required {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        match authenticate(state, bearer(req.request())).await {
            Ok(caller) => {
                req.extensions_mut()
                    .insert(crate::platform::http::CallerId(caller.user_id));
                req.extensions_mut().insert(Authenticated(caller));
            }
            Err(err) => return Ok(req.error_response(err).map_into_right_body()),
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

impl FromRequest for AuthUserAnyAgreement {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Authenticated(caller)) = req.extensions().get::<Authenticated>().cloned() {
            return Box::pin(std::future::ready(Ok(AuthUserAnyAgreement(caller))));
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move { Ok(AuthUserAnyAgreement(authenticate(state, token).await?)) })
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUserAnyAgreement::from_request(req, payload);
        Box::pin(async move {
            let AuthUserAnyAgreement(caller) = user.await?;
            admit(&caller)?;
            Ok(AuthUser(caller))
        })
    }
}

/// A caller who may be anonymous: no `Authorization` header is `None`; a
/// header is checked as strictly as [`AuthUser`] (a bad token is 401, not
/// anonymous). For reads of what is public (a work's images).
pub struct MaybeUser(pub Option<Caller>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Box::pin(std::future::ready(Ok(MaybeUser(None))));
        }
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move { Ok(MaybeUser(Some(user.await?.0))) })
    }
}

/// A set of staff roles allowed to call an endpoint.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// Admins only (audit log, staff management).
pub struct Admins;
/// Content and account moderation.
pub struct Moderators;
/// Money operations and reconciliation.
pub struct Finance;
/// Any staff role (reading a user's full record, ACC-11).
pub struct AnyStaff;

impl RoleSet for AnyStaff {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Moderator, Role::Finance];
}

impl RoleSet for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}
impl RoleSet for Moderators {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Moderator];
}
impl RoleSet for Finance {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Finance];
}

/// A staff caller whose role is in `R`; others get 403.
pub struct Staff<R: RoleSet> {
    pub caller: Caller,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> std::ops::Deref for Staff<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<R: RoleSet + 'static> FromRequest for Staff<R> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let AuthUser(caller) = user.await?;
            if !R::ROLES.contains(&caller.role) {
                return Err(AppError::forbidden(
                    "auth.forbidden",
                    "无权执行此操作",
                    "You are not allowed to perform this action",
                ));
            }
            Ok(Staff {
                caller,
                _roles: PhantomData,
            })
        })
    }
}
