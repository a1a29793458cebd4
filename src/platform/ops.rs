//! Operational endpoints: liveness and readiness.

use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::error::{AppResult, Problem};
use crate::platform::state::AppState;

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The database backend (`sqlite` or `postgres`), on `/readyz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sqlite")]
    pub database: Option<&'static str>,
}

/// The process is up (does not touch the database).
#[utoipa::path(
    operation_id = "ops_health",
    tag = "ops",
    responses((status = 200, description = "Up", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
    })
}

/// The database answers.
#[utoipa::path(
    operation_id = "ops_readiness",
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .run(|conn, _| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready",
        database: Some(state.backend),
    }))
}

/// Where to start: links to the documentation and the health checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Index {
    #[schema(example = "Weigongbao platform API")]
    pub name: &'static str,
    /// Swagger UI.
    #[schema(example = "/swagger-ui/")]
    pub docs: &'static str,
    /// The OpenAPI document.
    #[schema(example = "/api-docs/openapi.json")]
    pub openapi: &'static str,
    #[schema(example = "/healthz")]
    pub health: &'static str,
    /// The API's base path.
    #[schema(example = "/api/v1")]
    pub api: &'static str,
}

/// The root points to the documentation.
#[utoipa::path(
    operation_id = "api_index",
    tag = "ops",
    responses((status = 200, description = "Links to the docs", body = Index))
)]
#[get("/")]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok().json(Index {
        name: "Weigongbao platform API",
        docs: "/swagger-ui/",
        openapi: "/api-docs/openapi.json",
        health: "/healthz",
        api: "/api/v1",
    })
}

/// `GET /metrics` on the API address: the Prometheus text format, for the
/// `METRICS_TOKEN` bearer only (404 when no token is set, 401 for a wrong
/// one). Not part of the public API document.
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    use subtle::ConstantTimeEq;
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return HttpResponse::from_error(crate::platform::http::route_not_found());
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let matches =
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if !matches {
        return HttpResponse::from_error(crate::platform::error::AppError::unauthorized(
            "metrics.unauthorized",
            "需要监控令牌",
            "The metrics token is required",
        ));
    }
    metrics_text(&state)
}

/// The metrics as of now, with the pool's state.
pub fn metrics_text(state: &AppState) -> HttpResponse {
    let pool = state.pool.state();
    let in_use = pool.connections.saturating_sub(pool.idle_connections);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(state.metrics.render(in_use, pool.idle_connections))
}
