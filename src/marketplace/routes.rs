//! Marketplace endpoints.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};

use super::check_ins;
use super::dto::{
    AwardRequest, AwardView, BidView, CategoryView, DeliveryRequest, DemandPatch, DemandQuery,
    DemandView, NewBid, NewDemand, NewReview, RegionQuery,
};
use super::dto::{CheckInView, NewCheckIn, RosterEntry};
use super::{awards, bids, demands};
use crate::auth::{AuthUser, Claimed, Moderators, Staff};
use crate::funds::idempotency;
use crate::platform::cache::CachedBody;
use crate::platform::changes::{self, Topic};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, try_page_by_id};
use crate::platform::ratelimit::RateNote;
use crate::platform::regions::{self, Region};
use crate::platform::state::AppState;
use crate::platform::text::plain_text;
use crate::verification::dto::ReasonRequest;

/// The seeded demand categories.
#[utoipa::path(operation_id = "categories_list", tag = "marketplace", responses((status = 200, description = "Categories", body = Vec<CategoryView>)))]
#[get("/categories")]
pub async fn list_categories(
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<CategoryView>>> {
    Ok(web::Json(
        state.run(|conn, _| demands::categories(conn)).await?,
    ))
}

/// GB/T 2260 regions (WRK-2): the provinces, or the children of a
/// province or city (`parent`). Anyone.
#[utoipa::path(
    operation_id = "regions_list",
    tag = "marketplace",
    params(RegionQuery),
    responses(
        (status = 200, description = "The regions, in code order", body = Vec<Region>),
        (status = 404, description = "No such parent region (`region.not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions")]
pub async fn list_regions(query: web::Query<RegionQuery>) -> AppResult<web::Json<Vec<Region>>> {
    let parent = query.into_inner().parent;
    let found = regions::children(parent.as_deref()).ok_or_else(|| {
        AppError::not_found("region.not_found", "行政区划不存在", "No such region")
    })?;
    Ok(web::Json(found.into_iter().cloned().collect()))
}

/// Publish a demand (verified users in good standing; MKT-1).
#[utoipa::path(
    operation_id = "demands_publish",
    tag = "marketplace",
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first result (`Idempotent-Replayed: true`) instead of creating again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewDemand,
    responses(
        (status = 201, description = "Published", body = DemandView),
        (status = 403, description = "Not verified (`account.not_verified`) or an information request is open (`account.info_request_pending`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown category, deadline out of range, or prohibited content (`demand.prohibited`, with `category`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many demands from this account", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(("bearer" = []))
)]
#[post("/demands")]
pub async fn publish(
    state: web::Data<AppState>,
    user: AuthUser,
    http: HttpRequest,
    body: crate::platform::http::Json<NewDemand>,
) -> AppResult<HttpResponse> {
    let owner = user.user_id;
    let (req, raw) = body.into_parts();
    let rate = RateNote::of(&http);
    idempotency::run_optional(
        &state,
        owner,
        http.headers(),
        "POST /demands",
        &raw,
        StatusCode::CREATED,
        // MKT-7: a replayed retry spends no rate-limit token.
        move |conn, st| {
            st.limit_in(conn, |l| &l.demands, &format!("user:{owner}"), &rate)?;
            demands::publish(conn, st, owner, req)
        },
    )
    .await
}

/// Discover demands: anyone, open by default; filters, three sorts, stable
/// keyset pagination (MKT-6).
#[utoipa::path(
    operation_id = "demands_list",
    tag = "marketplace",
    params(DemandQuery),
    responses((status = 200, description = "A page of demands", body = Page<DemandView>))
)]
#[get("/demands")]
pub async fn discover(
    state: web::Data<AppState>,
    http: HttpRequest,
    query: web::Query<DemandQuery>,
) -> AppResult<HttpResponse> {
    // Issue 13: the same page for every caller, served from the cache
    // while no demand changed (and none of its demands passed its deadline).
    let cache = state.watch.complete() && state.pages.enabled();
    let key = http.query_string().to_string();
    let generation = changes::generation(Topic::Demands);
    let now = state.clock.now();
    if cache && let Some(hit) = state.pages.get(&key, generation, now.timestamp_micros()) {
        return Ok(hit.response());
    }
    let q = query.into_inner();
    let found = state
        .run(move |conn, st| demands::discover(conn, st, &q))
        .await?;
    let body = serde_json::to_vec(&found.page).map_err(AppError::internal)?;
    let cached = CachedBody::new(body);
    if cache {
        state.pages.put(
            key,
            (generation, changes::generation(Topic::Demands)),
            (found.fresh_until, now.timestamp_micros()),
            cached.clone(),
        );
    }
    Ok(cached.response())
}

/// One demand (anyone; removed demands only for their owner).
#[utoipa::path(
    operation_id = "demands_get",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id")),
    responses(
        (status = 200, description = "The demand", body = DemandView),
        (status = 404, description = "No such demand", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/demands/{id}")]
pub async fn get_demand(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<DemandView>> {
    let id = id.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, _| demands::load(conn, id, None)?.view())
            .await?,
    ))
}

/// Edit a demand: owner only, while open and without bids.
#[utoipa::path(
    operation_id = "demands_update",
    tag = "marketplace",
    params(
        ("id" = i64, Path, description = "Demand id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` of the demand as read; a changed demand answers 412"),
    ),
    request_body = DemandPatch,
    responses(
        (status = 200, description = "Edited", body = DemandView),
        (status = 412, description = "The demand changed since the `ETag` named in `If-Match` (`precondition.failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such demand of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Has bids or not open (`demand.not_editable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/demands/{id}")]
pub async fn edit_demand(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    if_match: crate::platform::http::IfMatch,
    body: crate::platform::http::Json<DemandPatch>,
) -> AppResult<web::Json<DemandView>> {
    let (owner, id, patch) = (user.user_id, id.into_inner(), body.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| {
                // The row is locked first, so two editors naming the same
                // ETag are decided one after the other.
                // The body is validated before the precondition is
                // answered; a failed precondition rolls the edit back.
                demands::lock_row(conn, id)?;
                let precondition = if_match.check(&demands::load(conn, id, Some(owner))?.view()?);
                let view = demands::edit(conn, st, owner, id, patch)?;
                precondition.map(|()| view)
            })
            .await?,
    ))
}

/// Cancel a demand (owner): releases every hold on it.
#[utoipa::path(
    operation_id = "demands_cancel",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id")),
    responses(
        (status = 200, description = "Cancelled", body = DemandView),
        (status = 404, description = "No such demand of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Work was delivered or paid, or the demand is closed (`demand.not_cancellable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/demands/{id}/cancel")]
pub async fn cancel_demand(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<DemandView>> {
    let (owner, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| demands::cancel(conn, st, owner, id))
            .await?,
    ))
}

/// Bid on an open demand (verified providers in good standing; MKT-2, MKT-7).
#[utoipa::path(
    operation_id = "bids_place",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first result (`Idempotent-Replayed: true`) instead of creating again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewBid,
    responses(
        (status = 201, description = "Placed", body = BidView),
        (status = 403, description = "Own demand (`bid.own_demand`), same identity (`bid.same_identity`), not verified or restricted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such demand", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open for bids (`demand.not_open`) or a live bid exists (`bid.duplicate`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bids from this account", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(("bearer" = []))
)]
#[post("/demands/{id}/bids")]
pub async fn place_bid(
    state: web::Data<AppState>,
    user: Claimed,
    id: Result<web::Path<i64>, actix_web::Error>,
    http: HttpRequest,
    body: Result<crate::platform::http::Json<NewBid>, actix_web::Error>,
) -> AppResult<HttpResponse> {
    use crate::platform::http::refusal;
    let input = id.map_err(refusal).and_then(|id| {
        let id = id.into_inner();
        let (req, raw) = body.map_err(refusal)?.into_parts();
        let print = idempotency::fingerprint(&format!("POST /demands/{id}/bids"), &raw);
        Ok(((id, req), print))
    });
    let rate = RateNote::of(&http);
    idempotency::run_optional_as(
        &state,
        user,
        idempotency::Atomic::Statement,
        http.headers(),
        input,
        StatusCode::CREATED,
        // MKT-7: a replayed retry spends no rate-limit token.
        move |conn, st, caller, (id, req)| bids::place(conn, st, caller.user_id, id, req, &rate),
    )
    .await
}

/// Bids on a demand: all of them for its owner, only their own for a
/// bidder, none for anyone else.
#[utoipa::path(
    operation_id = "demand_bids_list",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id"), PageQuery),
    responses(
        (status = 200, description = "The bids the caller may see", body = Page<BidView>),
        (status = 404, description = "No such demand", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/demands/{id}/bids")]
pub async fn demand_bids(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<BidView>>> {
    let (viewer, id) = (user.user_id, id.into_inner());
    let (limit, before) = (page.limit()?, page.before_id()?);
    let rows = state
        .run(move |conn, _| bids::visible(conn, viewer, id, before, limit))
        .await?;
    Ok(web::Json(try_page_by_id(
        rows,
        limit,
        |r| r.id,
        bids::Row::view,
    )?))
}

/// Withdraw one's active bid while the demand is open.
#[utoipa::path(
    operation_id = "bids_withdraw",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Bid id")),
    responses(
        (status = 200, description = "Withdrawn", body = BidView),
        (status = 404, description = "No such bid of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active or the demand is closed (`bid.not_withdrawable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/bids/{id}/withdraw")]
pub async fn withdraw_bid(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<BidView>> {
    let (provider, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| bids::withdraw(conn, st, provider, id))
            .await?,
    ))
}

/// The caller's bids, newest first.
#[utoipa::path(
    operation_id = "me_bids_list",
    tag = "marketplace",
    params(PageQuery),
    responses((status = 200, description = "Bids", body = Page<BidView>)),
    security(("bearer" = []))
)]
#[get("/me/bids")]
pub async fn my_bids(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<BidView>>> {
    let (me, limit, before) = (user.user_id, page.limit()?, page.before_id()?);
    let rows = state
        .run(move |conn, _| bids::mine(conn, me, before, limit))
        .await?;
    Ok(web::Json(try_page_by_id(
        rows,
        limit,
        |r| r.id,
        bids::Row::view,
    )?))
}

/// The caller's demands, newest first.
#[utoipa::path(
    operation_id = "me_demands_list",
    tag = "marketplace",
    params(PageQuery),
    responses((status = 200, description = "Demands", body = Page<DemandView>)),
    security(("bearer" = []))
)]
#[get("/me/demands")]
pub async fn my_demands(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<DemandView>>> {
    let (me, limit, before) = (user.user_id, page.limit()?, page.before_id()?);
    let rows = state
        .run(move |conn, _| demands::mine(conn, me, before, limit))
        .await?;
    Ok(web::Json(try_page_by_id(
        rows,
        limit,
        |r| r.id,
        demands::Row::view,
    )?))
}

/// Award bids (owner; MKT-3): the prices are held from the employer's
/// available funds in one transaction; bidding closes. With an
/// `Idempotency-Key` a repeat returns the first result.
#[utoipa::path(
    operation_id = "awards_create",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a repeat with the same key and body returns the first result",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = AwardRequest,
    responses(
        (status = 201, description = "Awards created; funds held", body = Vec<AwardView>),
        (status = 404, description = "No such demand of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Insufficient funds (`funds.insufficient`), demand not open, or a bid not awardable; nothing changes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/demands/{id}/awards")]
pub async fn award(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    body: crate::platform::http::Json<AwardRequest>,
) -> AppResult<HttpResponse> {
    let (employer, id, body) = (user.user_id, id.into_inner(), body.into_inner());
    let route = format!("POST /demands/{id}/awards");
    // What a retry is compared by: the bids alone, as before terms existed
    // (a key kept from then still matches), or the bids and the terms.
    let print = match &body.confidentiality_terms {
        None => serde_json::json!(body.bid_ids),
        Some(terms) => serde_json::json!({"bid_ids": body.bid_ids, "terms": terms}),
    };
    idempotency::run_optional(
        &state,
        employer,
        req.headers(),
        &route,
        &print,
        StatusCode::CREATED,
        move |conn, st| {
            let terms = body.confidentiality_terms.as_deref();
            awards::award(conn, st, employer, id, &body.bid_ids, terms)
        },
    )
    .await
}

/// Accept the award's confidentiality terms (MSG-6): the awarded provider,
/// once; time and IP are recorded, and files the employer sends as
/// confidential are served from then (each download is recorded).
#[utoipa::path(
    operation_id = "awards_confidentiality_accept",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    responses(
        (status = 200, description = "Accepted (again: unchanged)", body = AwardView),
        (status = 403, description = "Not the awarded provider (`award.not_provider`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The award has no terms (`award.no_confidentiality_terms`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/confidentiality/accept")]
pub async fn accept_confidentiality(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: crate::platform::http::ClientMeta,
    id: web::Path<i64>,
) -> AppResult<web::Json<AwardView>> {
    let (provider, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| awards::accept_confidentiality(conn, st, provider, id, &meta.ip))
            .await?,
    ))
}

/// One award (its two parties only; anyone else 404).
#[utoipa::path(
    operation_id = "awards_get",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    responses(
        (status = 200, description = "The award", body = AwardView),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/awards/{id}")]
pub async fn get_award(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<AwardView>> {
    let (viewer, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| {
                let row = awards::load_for(conn, id, Some(viewer))?;
                awards::view(conn, st, row, Some(viewer))
            })
            .await?,
    ))
}

/// Mark delivered (provider), with a note and evidence (photos, check-ins).
#[utoipa::path(
    operation_id = "awards_deliver",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    request_body = DeliveryRequest,
    responses(
        (status = 200, description = "Delivered", body = AwardView),
        (status = 403, description = "Not the provider (`award.not_provider`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in progress", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/deliver")]
pub async fn deliver(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<DeliveryRequest>,
) -> AppResult<web::Json<AwardView>> {
    let (provider, id, req) = (user.user_id, id.into_inner(), body.into_inner());
    Ok(web::Json(
        state
            .tx(move |conn, st| awards::deliver(conn, st, provider, id, req))
            .await?,
    ))
}

/// Confirm completion (employer): the hold goes to the provider less the
/// platform fee (MKT-4). With an `Idempotency-Key` a repeat returns the
/// first result.
#[utoipa::path(
    operation_id = "awards_confirm",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a repeat with the same key returns the first result",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    responses(
        (status = 200, description = "Completed and paid", body = AwardView),
        (status = 403, description = "Not the employer (`award.not_employer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed or cancelled (`award.not_confirmable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (employer, id) = (user.user_id, id.into_inner());
    let route = format!("POST /awards/{id}/confirm");
    idempotency::run_optional(
        &state,
        employer,
        req.headers(),
        &route,
        &(),
        StatusCode::OK,
        move |conn, st| awards::confirm(conn, st, employer, id),
    )
    .await
}

/// Review the other party of a completed award (1–5 and text), within 14
/// days; double-blind until both reviewed or the window ends.
#[utoipa::path(
    operation_id = "reviews_create",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    request_body = NewReview,
    responses(
        (status = 201, description = "Recorded", body = AwardView),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed, window closed, or already reviewed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/reviews")]
pub async fn review(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<NewReview>,
) -> AppResult<HttpResponse> {
    let (reviewer, id, req) = (user.user_id, id.into_inner(), body.into_inner());
    let view = state
        .tx(move |conn, st| awards::review(conn, st, reviewer, id, req))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Remove a demand (moderators, MKT-5): it leaves search, holds are
/// released, the owner is notified, the action audited.
#[utoipa::path(
    operation_id = "admin_demands_remove",
    tag = "admin",
    params(("id" = i64, Path, description = "Demand id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Removed", body = DemandView),
        (status = 404, description = "No such demand", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Completed or already removed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/demands/{id}/remove")]
pub async fn remove_demand(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<web::Json<DemandView>> {
    let (staff_id, id) = (staff.user_id, id.into_inner());
    let reason = plain_text("reason", &body.reason, 500)?;
    Ok(web::Json(
        state
            .tx(move |conn, st| demands::remove(conn, st, staff_id, id, &reason, &meta.ip))
            .await?,
    ))
}

/// Check in or out (WRK-3): the awarded provider, while the work is in
/// progress; one open check-in at a time. The server stamps the time and
/// the distance from the work location; beyond the geofence the check-in is
/// marked off-site.
#[utoipa::path(
    operation_id = "award_check_ins_create",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    request_body = NewCheckIn,
    responses(
        (status = 201, description = "Recorded", body = CheckInView),
        (status = 403, description = "Not the award's provider (`check_in.not_provider`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in progress (`award.not_in_progress`), already checked in (`check_in.already_in`) or not checked in (`check_in.not_in`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A location outside China or a file not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/check-ins")]
pub async fn check_in(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<NewCheckIn>,
) -> AppResult<HttpResponse> {
    let (provider, id, req) = (user.user_id, id.into_inner(), body.into_inner());
    let view = state
        .tx(move |conn, st| check_ins::record(conn, st, provider, id, req))
        .await?;
    Ok(crate::platform::http::created(&view))
}

/// An award's check-ins (WRK-3): its parties.
#[utoipa::path(
    operation_id = "award_check_ins_list",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Award id")),
    responses(
        (status = 200, description = "Oldest first", body = Vec<CheckInView>),
        (status = 404, description = "No such award of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/awards/{id}/check-ins")]
pub async fn list_check_ins(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<CheckInView>>> {
    let (viewer, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| {
                awards::load_for(conn, id, Some(viewer))?;
                check_ins::of_award(conn, id)
            })
            .await?,
    ))
}

/// A demand's roster (WRK-3): its owner sees each awarded provider, who is
/// on site now and their latest check-in.
#[utoipa::path(
    operation_id = "demand_roster_get",
    tag = "marketplace",
    params(("id" = i64, Path, description = "Demand id")),
    responses(
        (status = 200, description = "One entry per award", body = Vec<RosterEntry>),
        (status = 404, description = "No such demand of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/demands/{id}/roster")]
pub async fn roster(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<RosterEntry>>> {
    let (owner, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| check_ins::roster(conn, owner, id))
            .await?,
    ))
}
