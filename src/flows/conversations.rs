//! Conversations where they meet the marketplace and conduct: a provider
//! asking a demand's owner before bidding (MSG-1), and staff reading a
//! conversation through a complaint, dispute or violation that concerns
//! it, audited (MSG-7, SA §8).

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Moderators, Staff};
use crate::conversations::routes::WindowQuery;
use crate::conversations::{self, ConversationView, MessagePage};
use crate::marketplace::demands;
use crate::marketplace::model::DemandStatus;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::state::AppState;

/// Ask a demand's owner about it before bidding (MSG-1): opens the
/// caller's conversation about the demand, or returns the one they have.
/// Contact details stay masked until an award (MSG-8).
#[utoipa::path(
    operation_id = "demand_conversations_open",
    tag = "conversations",
    params(("id" = i64, Path, description = "Demand id")),
    responses(
        (status = 201, description = "Opened", body = ConversationView),
        (status = 200, description = "The caller's conversation about this demand, already open", body = ConversationView),
        (status = 404, description = "No such demand", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The demand takes no bids (`demand.not_open`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The caller owns the demand (`conversation.own_demand`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/demands/{id}/conversations")]
pub async fn open_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (provider, demand_id) = (user.user_id, id.into_inner());
    let (view, created) = state
        .tx(move |conn, st| {
            let demand = demands::load(conn, demand_id, Some(provider))?;
            if demand.owner_id == provider {
                return Err(AppError::invalid_field(
                    "id",
                    "conversation.own_demand",
                    "不能就自己的需求发起会话",
                    "You cannot open a conversation about your own demand",
                ));
            }
            if demand.status != DemandStatus::Open {
                return Err(AppError::conflict(
                    "demand.not_open",
                    "该需求已不再接受报价",
                    "The demand no longer takes bids",
                ));
            }
            conversations::open_pre_award(conn, st, demand_id, demand.owner_id, provider)
        })
        .await?;
    Ok(if created {
        crate::platform::http::created(&view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The ground for a staff read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Via {
    /// `complaint:ID`, `dispute:ID` or `violation:ID` — a case that
    /// concerns this conversation.
    #[param(pattern = r"^(complaint|dispute|violation):[1-9][0-9]{0,17}$")]
    pub via: String,
}

/// A ground of the documented shape: `complaint|dispute|violation:ID`
/// (422 `conversation.via_required` otherwise).
pub fn parse_via(via: &str) -> AppResult<(&str, i64)> {
    let bad = || {
        AppError::invalid_field(
            "via",
            "conversation.via_required",
            "须说明查阅依据：complaint:ID、dispute:ID 或 violation:ID",
            "Name the case: complaint:ID, dispute:ID or violation:ID",
        )
    };
    let (kind, case) = via.split_once(':').ok_or_else(bad)?;
    let digits_ok = !case.is_empty()
        && case.len() <= 18
        && !case.starts_with('0')
        && case.bytes().all(|b| b.is_ascii_digit());
    if !matches!(kind, "complaint" | "dispute" | "violation") || !digits_ok {
        return Err(bad());
    }
    Ok((kind, case.parse().map_err(|_| bad())?))
}

/// Whether the case `via` names concerns conversation `id`.
pub fn concerns(conn: &mut DbConnection, id: i64, via: &str) -> AppResult<bool> {
    let (kind, case) = parse_via(via)?;
    let conv = conversations::subject(conn, id)?;
    let parties = [conv.employer_id, conv.provider_id];
    Ok(match kind {
        // A complaint about its award or demand, or one party's report of
        // the other.
        "complaint" => match crate::conduct::complaints::ground_of(conn, case)? {
            Some((target, target_id, reporter, subject)) => match target.as_str() {
                "award" => Some(target_id) == conv.award_id,
                "demand" => target_id == conv.demand_id,
                "user" => parties.contains(&reporter) && parties.contains(&subject),
                _ => false,
            },
            None => false,
        },
        "dispute" => {
            conv.award_id.is_some() && crate::disputes::award_of(conn, case)? == conv.award_id
        }
        _ => conversations::evidence::concerns(conn, case, id)?,
    })
}

/// A conversation as staff read it (MSG-7): only through a complaint,
/// dispute or violation that concerns it, and every read is audited. The
/// originals show beside what the parties saw (MSG-8).
#[utoipa::path(
    operation_id = "admin_conversations_messages",
    tag = "admin",
    params(("id" = i64, Path, description = "Conversation id"), Via, WindowQuery),
    responses(
        (status = 200, description = "A window of the timeline", body = MessagePage),
        (status = 403, description = "The named case does not concern this conversation (`conversation.via_unrelated`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "No ground named (`via` is required)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A ground not of the documented shape (`conversation.via_required`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/conversations/{id}/messages")]
pub async fn staff_messages(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    via: web::Query<Via>,
    query: web::Query<WindowQuery>,
) -> AppResult<web::Json<MessagePage>> {
    let (actor, id, w) = (staff.user_id, id.into_inner(), query.window()?);
    let via = via.into_inner().via;
    Ok(web::Json(
        state
            .tx(move |conn, st| {
                if !concerns(conn, id, &via)? {
                    return Err(AppError::forbidden(
                        "conversation.via_unrelated",
                        "所述案件与该会话无关，不能查阅",
                        "The named case does not concern this conversation",
                    ));
                }
                audit::record(
                    conn,
                    st,
                    audit::Entry {
                        actor: Actor::Staff(actor),
                        action: "conversation.read",
                        target_type: "conversation",
                        target_id: Some(id.to_string()),
                        reason: Some(&via),
                        details: None,
                        ip: Some(&meta.ip),
                    },
                )?;
                conversations::messages_for_staff(conn, id, &w)
            })
            .await?,
    ))
}
