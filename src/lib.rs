//! Weigongbao (微工宝) platform API: the library behind the binary and the
//! tests. [`build_app`] assembles the actix `App` from an [`AppState`];
//! [`api_doc`] produces the OpenAPI document from the same route table.

#![warn(clippy::too_many_lines)]

pub mod agreements;
pub mod audit;
pub mod auth;
pub mod conduct;
pub mod content;
pub mod conversations;
pub mod disputes;
pub mod files;
pub mod flows;
pub mod funds;
pub mod lifecycle;
pub mod marketplace;
pub mod notifications;
pub mod platform;
pub mod users;
pub mod verification;
pub mod works;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

pub use platform::state::AppState;
use platform::{http, openapi, ops};

/// Accounts, identity, agreements, notifications and funds (registration order matters: fixed paths before `{id}` ones).
fn account_routes(cfg: &mut ServiceConfig) {
    cfg.service(users::routes::register)
        .service(users::routes::login)
        .service(users::routes::refresh)
        .service(users::routes::logout)
        .service(users::routes::get_me)
        .service(users::routes::patch_me)
        .service(users::routes::change_password)
        .service(users::routes::list_sessions)
        .service(users::routes::end_session)
        .service(flows::profile::get_user)
        .service(users::routes::name_availability)
        .service(users::security::request_code)
        .service(users::security::password_reset)
        .service(users::security::change_phone)
        .service(users::security::verify_email)
        .service(users::security::totp_enrol)
        .service(users::security::totp_confirm)
        .service(users::security::totp_reset)
        .service(notifications::routes::get_preferences)
        .service(notifications::routes::put_preferences)
        .service(notifications::routes::unsubscribe)
        .service(notifications::routes::register_device)
        .service(notifications::routes::delete_device)
        .service(notifications::routes::sandbox_outbox)
        .service(notifications::routes::admin_outbox)
        .service(notifications::routes::admin_outbox_retry)
        .service(agreements::get_current)
        .service(content::routes::list_words)
        .service(content::routes::add_word)
        .service(content::routes::delete_word)
        .service(content::routes::list_abuse_words)
        .service(content::routes::add_abuse_word)
        .service(content::routes::delete_abuse_word)
        .service(audit::routes::list_audit_log)
        .service(agreements::accept)
        .service(agreements::publish)
        .service(notifications::list_notifications)
        .service(notifications::mark_read)
        .service(notifications::events::stream)
        .service(verification::routes::submit)
        .service(verification::routes::mine)
        .service(verification::routes::list)
        .service(verification::routes::approve)
        .service(verification::routes::reject)
        .service(verification::routes::transfer)
        .service(verification::restricted::list_restricted)
        .service(verification::restricted::add_restricted)
        .service(verification::restricted::delete_restricted)
        .service(verification::info_request_routes::create_info_request)
        .service(verification::info_request_routes::clear_info_request)
        .service(verification::info_request_routes::my_info_requests)
        .service(verification::info_request_routes::my_info_request)
        .service(verification::info_request_routes::list_info_requests)
        .service(verification::info_request_routes::respond_info_request)
        .service(lifecycle::routes::reclaim_member_name)
        .service(lifecycle::routes::release_member_name)
        .service(lifecycle::routes::request_closure)
        .service(lifecycle::routes::my_closure)
        .service(lifecycle::routes::list_closures)
        .service(lifecycle::routes::approve_closure)
        .service(lifecycle::routes::reject_closure)
        .service(flows::admin_user::admin_get_user)
        .service(funds::routes::my_account)
        .service(funds::routes::my_entries)
        .service(funds::routes::top_up)
        .service(funds::routes::my_payments)
        .service(funds::routes::my_payment)
        .service(funds::payee_routes::list_payees)
        .service(funds::payee_routes::create_payee)
        .service(funds::payee_routes::delete_payee);
}

/// The marketplace, conduct, deposits and disputes, in registration order.
fn market_routes(cfg: &mut ServiceConfig) {
    cfg.service(flows::payments::withdraw)
        .service(flows::payments::callback)
        .service(flows::payments::sandbox_complete)
        .service(funds::routes::ledger_check)
        .service(flows::money::create_operation)
        .service(flows::money::list_operations)
        .service(flows::money::get_operation)
        .service(flows::money::approve_operation)
        .service(flows::money::reject_operation)
        .service(funds::reconciliation_routes::import_statement)
        .service(funds::reconciliation_routes::list_differences)
        .service(funds::reconciliation_routes::resolve_difference)
        .service(funds::routes::admin_account)
        .service(marketplace::routes::list_categories)
        .service(marketplace::routes::list_regions)
        .service(marketplace::routes::publish)
        .service(marketplace::routes::discover)
        .service(marketplace::routes::get_demand)
        .service(marketplace::routes::edit_demand)
        .service(marketplace::routes::cancel_demand)
        .service(marketplace::routes::place_bid)
        .service(marketplace::routes::demand_bids)
        .service(marketplace::routes::withdraw_bid)
        .service(marketplace::routes::my_bids)
        .service(marketplace::routes::my_demands)
        .service(marketplace::routes::award)
        .service(marketplace::routes::get_award)
        .service(marketplace::routes::deliver)
        .service(marketplace::routes::accept_confidentiality)
        .service(marketplace::routes::check_in)
        .service(marketplace::routes::list_check_ins)
        .service(marketplace::routes::roster)
        .service(marketplace::routes::confirm)
        .service(marketplace::routes::review)
        .service(marketplace::routes::remove_demand)
        .service(conduct::routes::file_complaint)
        .service(conduct::routes::my_complaints)
        .service(conduct::routes::my_violations)
        .service(conduct::routes::file_appeal)
        .service(conduct::routes::my_deposit)
        .service(conduct::routes::my_deposit_transactions)
        .service(conduct::routes::pay_deposit)
        .service(flows::refunds::request_refund)
        .service(conduct::routes::list_complaints)
        .service(conduct::routes::dismiss_complaint)
        .service(flows::conduct::record_violation)
        .service(conduct::routes::user_violations)
        .service(conduct::routes::list_appeals)
        .service(flows::conduct::decide_appeal)
        .service(conduct::routes::set_required_amount)
        .service(conduct::routes::user_deposit)
        .service(conduct::routes::reinstate)
        .service(conduct::routes::list_refunds)
        .service(disputes::routes::open_dispute)
        .service(disputes::routes::get_dispute)
        .service(disputes::routes::add_statement)
        .service(disputes::routes::list_disputes)
        .service(disputes::routes::decide_dispute)
        .service(files::routes::upload)
        .service(flows::files::get_file)
        .service(flows::files::file_content)
        .service(conversations::routes::list_conversations)
        .service(flows::conversations::open_conversation)
        .service(conversations::routes::list_messages)
        .service(conversations::routes::send_message)
        .service(conversations::routes::mark_read)
        .service(conversations::routes::block)
        .service(conversations::routes::unblock)
        .service(conversations::routes::leave)
        .service(conversations::routes::rejoin)
        .service(conversations::routes::list_evidence)
        .service(flows::conversations::staff_messages)
        .service(works::add_work)
        .service(works::remove_work)
        .service(works::user_works);
}

/// Every documented route. Only `.service(...)` registrations reach the
/// OpenAPI document, so nothing is added with `.route(...)`.
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::index)
        .service(ops::healthz)
        .service(ops::readyz)
        .service(
            scope::scope("/api/v1")
                .configure(account_routes)
                .configure(market_routes),
        );
}

/// Schemas the features publish that no operation body names directly
/// (query parameter enums).
#[derive(OpenApi)]
#[openapi(components(schemas(
    marketplace::dto::DemandSort,
    notifications::routes::OutboxStatus,
    funds::operations::OperationStatus,
    funds::reconciliation::StatementChannel,
    funds::reconciliation::DifferenceState
)))]
struct FeatureSchemas;

/// The OpenAPI document the server serves (and `openapi/openapi.json` holds),
/// in its final JSON form.
pub fn api_doc() -> serde_json::Value {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi().merge_from(FeatureSchemas::openapi()))
        .configure(routes)
        .split_for_parts();
    openapi::add_error_responses(&mut doc);
    openapi::constrain_strings(&mut doc);
    // The utoipa model serialises infallibly (maps with string keys).
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    openapi::shape::finish(&mut doc);
    doc
}

/// The whole application: routes, Swagger UI, error rendering, request ids
/// and access logs.
pub fn build_app(
    state: AppState,
    doc: serde_json::Value,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let route_table = http::RouteTable::from_openapi(&doc);
    let json_limit = state.settings.json_body_limit_bytes;
    let cors_origins = state.settings.cors_allowed_origins.clone();
    App::new()
        .into_utoipa_app()
        .configure(routes)
        .into_app()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(route_table))
        .app_data(http::json_config(json_limit))
        .app_data(http::query_config())
        .app_data(http::path_config())
        .service(web::redirect("/swagger-ui", "/swagger-ui/"))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .external_url_unchecked("/api-docs/openapi.json", doc),
        )
        .default_service(web::to(http::fallback))
        // ETag / 304 and Cache-Control on what the handlers answer.
        .wrap(actix_web::middleware::from_fn(http::caching))
        // Rate-limit headers; anonymous discovery counted per IP (SA §3.9).
        .wrap(actix_web::middleware::from_fn(http::rate_limit))
        // Authentication is decided before any handler reads its body.
        .wrap(actix_web::middleware::from_fn(auth::gate))
        // 503 until the database has been reached (platform::startup).
        .wrap(actix_web::middleware::from_fn(http::readiness))
        // SVC-4: the URL's text is checked before anything else uses it.
        .wrap(actix_web::middleware::from_fn(http::url_policy))
        .wrap_fn(|req, srv| {
            let started = std::time::Instant::now();
            let (rid, lang) = http::begin(&req);
            let fut = srv.call(req);
            async move {
                let res = http::finish(fut.await?, &rid, lang);
                // Metrics and the access log, with the final status.
                http::observe(&res, &rid, started);
                Ok(res)
            }
        })
        .wrap(actix_web::middleware::Condition::new(
            !cors_origins.is_empty(),
            http::cors(&cors_origins),
        ))
}
