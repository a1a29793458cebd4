//! HTTP: `GET /conversations`, `GET|POST /conversations/{id}/messages`,
//! `POST /conversations/{id}/read`, `POST|DELETE /conversations/{id}/block`
//! and the moderators' evidence queue `GET /admin/evidence` (MSG-1..7).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::evidence::{self, EvidenceQuery, EvidenceView};
use super::{ConversationView, MessagePage, MessageView, NewMessage, ReadUpTo, Window};
use crate::auth::{AuthUser, Claimed, Moderators, Staff};
use crate::funds::idempotency;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::paging::{Page, PageQuery};
use crate::platform::state::AppState;

/// The caller's conversations, newest first, with unread counts (MSG-2).
#[utoipa::path(
    operation_id = "conversations_list",
    tag = "conversations",
    params(PageQuery),
    responses((status = 200, description = "The caller's conversations", body = Page<ConversationView>)),
    security(("bearer" = []))
)]
#[get("/conversations")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<ConversationView>>> {
    let (user, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| super::mine(conn, st, user, &page))
            .await?,
    ))
}

/// Which window of the timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Messages older than this id (paging back).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Messages newer than this id (catching up), oldest first.
    #[param(minimum = 1)]
    pub after: Option<i64>,
    /// Messages per page (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

impl WindowQuery {
    pub fn window(&self) -> AppResult<Window> {
        for (field, value) in [("before", self.before), ("after", self.after)] {
            if value.is_some_and(|v| v < 1) {
                return Err(AppError::invalid_field(
                    field,
                    "query.invalid",
                    format!("{field} 须为消息 id"),
                    format!("{field} must be a message id"),
                ));
            }
        }
        let limit = self.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(AppError::invalid_field(
                "limit",
                "limit.invalid",
                "limit 须为 1–100",
                "limit must be 1–100",
            ));
        }
        Ok(Window {
            before: self.before,
            after: self.after,
            limit,
        })
    }
}

/// The timeline (MSG-1, MSG-2): messages and system events, oldest first
/// within the page; the newest by default. What reaches the caller is
/// marked delivered. Before an award, contact details from the other party
/// are masked (MSG-8).
#[utoipa::path(
    operation_id = "conversations_messages_list",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id"), WindowQuery),
    responses(
        (status = 200, description = "A window of the timeline", body = MessagePage),
        (status = 404, description = "No such conversation of the caller (`conversation.not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/conversations/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    query: web::Query<WindowQuery>,
) -> AppResult<web::Json<MessagePage>> {
    let (user, id, w) = (user.user_id, id.into_inner(), query.window()?);
    Ok(web::Json(
        state
            .tx(move |conn, st| super::messages_for(conn, st, user, id, &w))
            .await?,
    ))
}

/// Send a message (MSG-1..5): text up to 2,000 characters and/or up to 9
/// uploaded files. Prohibited content is refused naming its category
/// (ACC-4); abuse words are delivered, flagged and recorded as evidence.
#[utoipa::path(
    operation_id = "conversations_messages_send",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first message (`Idempotent-Replayed: true`) instead of sending again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "Sent", body = MessageView),
        (status = 403, description = "The other party blocked the caller (`conversation.blocked`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Read-only: 30 days after the award ended (`conversation.read_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty, too long, prohibited content (`message.prohibited`, with `category`), or a file not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More than `RATE_LIMIT_MESSAGES_PER_MINUTE` messages a minute", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/conversations/{id}/messages")]
pub async fn send_message(
    state: web::Data<AppState>,
    user: Claimed,
    http: HttpRequest,
    id: Result<web::Path<i64>, actix_web::Error>,
    body: Result<crate::platform::http::Json<NewMessage>, actix_web::Error>,
) -> AppResult<HttpResponse> {
    use crate::platform::http::refusal;
    let input = id.map_err(refusal).and_then(|id| {
        let (id, req) = (id.into_inner(), body.map_err(refusal)?.into_inner());
        let print = serde_json::json!({
            "conversation": id, "text": req.text, "file_ids": req.file_ids,
            "confidential": req.confidential,
        });
        let print = idempotency::fingerprint("POST /conversations/{id}/messages", &print);
        Ok(((id, req), print))
    });
    let rate = crate::platform::ratelimit::RateNote::of(&http);
    idempotency::run_optional_as(
        &state,
        user,
        idempotency::Atomic::Transaction,
        http.headers(),
        input,
        actix_web::http::StatusCode::CREATED,
        // A replayed retry spends no rate-limit token.
        move |conn, st, caller, (id, req)| {
            let sender = caller.user_id;
            st.limit_in(conn, |l| &l.messages, &format!("user:{sender}"), &rate)?;
            super::send(conn, st, sender, id, &req)
        },
    )
    .await
}

/// Mark messages read up to an id (MSG-2).
#[utoipa::path(
    operation_id = "conversations_read",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = ReadUpTo,
    responses(
        (status = 200, description = "The conversation with its unread count", body = ConversationView),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/conversations/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReadUpTo>,
) -> AppResult<web::Json<ConversationView>> {
    let (user, id, up_to) = (user.user_id, id.into_inner(), body.up_to);
    Ok(web::Json(
        state
            .tx(move |conn, st| super::mark_read(conn, st, user, id, up_to))
            .await?,
    ))
}

/// Block the other party (MSG-4): their messages are refused until
/// unblocked. A provider blocking the employer during work is recorded
/// as evidence and the employer is told.
#[utoipa::path(
    operation_id = "conversations_block",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Blocked", body = ConversationView),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/conversations/{id}/block")]
pub async fn block(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConversationView>> {
    blocking(&state, user.user_id, id.into_inner(), true).await
}

/// Unblock the other party (MSG-4).
#[utoipa::path(
    operation_id = "conversations_unblock",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Unblocked", body = ConversationView),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/conversations/{id}/block")]
pub async fn unblock(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConversationView>> {
    blocking(&state, user.user_id, id.into_inner(), false).await
}

/// Leave the conversation (MSG-4): no more notices of its messages, which
/// still arrive; writing again (or `DELETE`) returns. A provider leaving
/// while the award is in progress is recorded as evidence and the
/// employer is told.
#[utoipa::path(
    operation_id = "conversations_leave",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Left", body = ConversationView),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/conversations/{id}/leave")]
pub async fn leave(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConversationView>> {
    leaving(&state, user.user_id, id.into_inner(), true).await
}

/// Return to a conversation the caller left (MSG-4).
#[utoipa::path(
    operation_id = "conversations_return",
    tag = "conversations",
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Returned", body = ConversationView),
        (status = 404, description = "No such conversation of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/conversations/{id}/leave")]
pub async fn rejoin(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConversationView>> {
    leaving(&state, user.user_id, id.into_inner(), false).await
}

async fn leaving(
    state: &AppState,
    user: i64,
    id: i64,
    on: bool,
) -> AppResult<web::Json<ConversationView>> {
    Ok(web::Json(
        state
            .tx(move |conn, st| super::set_leave(conn, st, user, id, on))
            .await?,
    ))
}

/// MSG-4: `user` blocks (`on`) or unblocks the other party.
async fn blocking(
    state: &AppState,
    user: i64,
    id: i64,
    on: bool,
) -> AppResult<web::Json<ConversationView>> {
    Ok(web::Json(
        state
            .tx(move |conn, st| super::set_block(conn, st, user, id, on))
            .await?,
    ))
}

/// The evidence queue (MSG-7), newest first: abusive messages, blocks
/// during work, unreachable providers.
#[utoipa::path(
    operation_id = "admin_evidence_list",
    tag = "admin",
    params(PageQuery, EvidenceQuery),
    responses((status = 200, description = "Evidence records", body = Page<EvidenceView>)),
    security(("bearer" = []))
)]
#[get("/admin/evidence")]
pub async fn list_evidence(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<EvidenceQuery>,
) -> AppResult<web::Json<Page<EvidenceView>>> {
    let (page, filter) = (page.into_inner(), filter.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| evidence::queue(conn, &filter, &page))
            .await?,
    ))
}
