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
