//! Staff maintenance of the word lists: prohibited words (ACC-4,
//! `/api/v1/admin/prohibited-words`) and abuse words (MSG-3,
//! `/api/v1/admin/abuse-words`), same shape, same normalisation.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AbuseCategory, Category, List, bump_revision, normalize};
use crate::audit::{self, Actor};
use crate::auth::{Moderators, Staff};
use crate::platform::db::schema::prohibited_words;
use crate::platform::db::unique_or;
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

/// A listed word, stored in its normalised form.
#[derive(Debug, Serialize, ToSchema)]
pub struct WordView {
    pub id: i64,
    #[schema(example = "赌博")]
    pub word: String,
    pub category: Category,
    pub created_at: DateTime<Utc>,
}

/// A word to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWord {
    /// Normalised before it is stored (width, case, separators). Must
    /// contain a Chinese character or an (ASCII or full-width) letter or digit.
    #[schema(
        example = "赌博",
        min_length = 1,
        max_length = 50,
        pattern = r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u4e00-\u9fa5]"
    )]
    pub word: String,
    pub category: Category,
}

/// Filter for the word list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WordQuery {
    /// Only words of this category.
    pub category: Option<Category>,
}

/// List prohibited words, newest first.
#[utoipa::path(
    operation_id = "admin_prohibited_words_list",
    tag = "admin",
    params(PageQuery, WordQuery),
    responses((status = 200, description = "The word list", body = Page<WordView>)),
    security(("bearer" = []))
)]
#[get("/admin/prohibited-words")]
pub async fn list_words(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<WordQuery>,
) -> AppResult<web::Json<Page<WordView>>> {
    let category = filter.category.map(Category::code);
    Ok(web::Json(
        listed(
            &state,
            List::Prohibited,
            &page,
            category,
            |(id, word, c, at)| WordView {
                id,
                word,
                category: Category::parse(&c).unwrap_or(Category::OtherProhibited),
                created_at: at.and_utc(),
            },
        )
        .await?,
    ))
}

type WordRow = (i64, String, String, chrono::NaiveDateTime);

/// A page of `list`, newest first, optionally of one category.
async fn listed<T: ToSchema>(
    state: &AppState,
    list: List,
    page: &PageQuery,
    category: Option<&'static str>,
    view: impl FnMut(WordRow) -> T,
) -> AppResult<Page<T>> {
    let limit = page.limit()?;
    let before = page.before_id()?;
    let rows: Vec<WordRow> = state
        .run(move |conn, _| {
            let mut q = prohibited_words::table
                .filter(prohibited_words::list.eq(list.code()))
                .select((
                    prohibited_words::id,
                    prohibited_words::word,
                    prohibited_words::category,
                    prohibited_words::created_at,
                ))
                .order(prohibited_words::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(before) = before {
                q = q.filter(prohibited_words::id.lt(before));
            }
            if let Some(c) = category {
                q = q.filter(prohibited_words::category.eq(c));
            }
            Ok(q.load(conn)?)
        })
        .await?;
    Ok(page_by_id(rows, limit, |r| r.0, view))
}

/// Add a prohibited word; it applies at once on every server.
#[utoipa::path(
    operation_id = "admin_prohibited_words_add",
    tag = "admin",
    request_body = NewWord,
    responses(
        (status = 201, description = "Added", body = WordView),
        (status = 409, description = "Already listed (`prohibited_word.exists`)", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/prohibited-words")]
pub async fn add_word(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    body: crate::platform::http::Json<NewWord>,
) -> AppResult<HttpResponse> {
    let NewWord { word, category } = body.into_inner();
    let (id, word, at) = add(
        &state,
        List::Prohibited,
        &word,
        category.code(),
        &staff,
        &meta,
    )
    .await?;
    Ok(HttpResponse::Created().json(WordView {
        id,
        word,
        category,
        created_at: at.and_utc(),
    }))
}

/// Normalises and adds `word` to `list`; it applies at once on every
/// server (audited). Returns its id, stored form and time.
async fn add(
    state: &AppState,
    list: List,
    word: &str,
    category: &'static str,
    staff: &crate::auth::Caller,
    meta: &ClientMeta,
) -> AppResult<(i64, String, chrono::NaiveDateTime)> {
    let normalized = normalize(word);
    let has_core = word.chars().any(|c| {
        c.is_ascii_alphanumeric()
            || ('\u{ff10}'..='\u{ff19}').contains(&c)
            || ('\u{ff21}'..='\u{ff3a}').contains(&c)
            || ('\u{ff41}'..='\u{ff5a}').contains(&c)
            || ('\u{4e00}'..='\u{9fa5}').contains(&c)
    });
    if !has_core || normalized.is_empty() || word.chars().count() > 50 {
        return Err(AppError::invalid_field(
            "word",
            "prohibited_word.invalid",
            "词条须为 1–50 个字符，且含汉字、字母或数字",
            "The word must be 1–50 characters with a Chinese character, letter or digit",
        ));
    }
    let (actor, ip) = (staff.user_id, meta.ip.clone());
    state
        .tx(move |conn, st| {
            let now = st.clock.now_naive();
            let id: i64 = diesel::insert_into(prohibited_words::table)
                .values((
                    prohibited_words::word.eq(&normalized),
                    prohibited_words::category.eq(category),
                    prohibited_words::list.eq(list.code()),
                    prohibited_words::created_at.eq(now),
                    prohibited_words::created_by.eq(actor),
                ))
                .returning(prohibited_words::id)
                .get_result(conn)
                .map_err(|e| {
                    unique_or(e, |_| {
                        AppError::conflict(
                            "prohibited_word.exists",
                            "该词条已在列表中",
                            "The word is already listed",
                        )
                    })
                })?;
            bump_revision(conn, list.revision_key())?;
            audit::record(
                conn,
                st,
                audit::Entry {
                    actor: Actor::Staff(actor),
                    action: audit_action(list, "create"),
                    target_type: "prohibited_word",
                    target_id: Some(id.to_string()),
                    reason: None,
                    details: Some(serde_json::json!({ "category": category, "list": list.code() })),
                    ip: Some(&ip),
                },
            )?;
            Ok((id, normalized, now))
        })
        .await
}

fn audit_action(list: List, verb: &str) -> &'static str {
    match (list, verb) {
        (List::Prohibited, "create") => "prohibited_word.create",
        (List::Prohibited, _) => "prohibited_word.delete",
        (List::Abuse, "create") => "abuse_word.create",
        (List::Abuse, _) => "abuse_word.delete",
    }
}

/// Remove a prohibited word.
#[utoipa::path(
    operation_id = "admin_prohibited_words_delete",
    tag = "admin",
    params(("id" = i64, Path, description = "Word id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such word", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/admin/prohibited-words/{id}")]
pub async fn delete_word(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    remove(&state, List::Prohibited, id.into_inner(), &staff, &meta).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes word `id` from `list` (404 when it is not on it), audited.
async fn remove(
    state: &AppState,
    list: List,
    id: i64,
    staff: &crate::auth::Caller,
    meta: &ClientMeta,
) -> AppResult<()> {
    let (actor, ip) = (staff.user_id, meta.ip.clone());
    state
        .tx(move |conn, st| {
            let removed: Option<String> = diesel::delete(
                prohibited_words::table
                    .find(id)
                    .filter(prohibited_words::list.eq(list.code())),
            )
            .returning(prohibited_words::category)
            .get_result(conn)
            .optional()?;
            let Some(category) = removed else {
                return Err(AppError::not_found(
                    "prohibited_word.not_found",
                    "词条不存在",
                    "No such word",
                ));
            };
            bump_revision(conn, list.revision_key())?;
            audit::record(
                conn,
                st,
                audit::Entry {
                    actor: Actor::Staff(actor),
                    action: audit_action(list, "delete"),
                    target_type: "prohibited_word",
                    target_id: Some(id.to_string()),
                    reason: None,
                    details: Some(serde_json::json!({ "category": category })),
                    ip: Some(&ip),
                },
            )
        })
        .await
}

/// A word on the abuse list (MSG-3), stored in its normalised form.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbuseWordView {
    pub id: i64,
    #[schema(example = "废物")]
    pub word: String,
    pub category: AbuseCategory,
    pub created_at: DateTime<Utc>,
}

/// An abuse word to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAbuseWord {
    /// Normalised before it is stored, like prohibited words.
    #[schema(
        example = "废物",
        min_length = 1,
        max_length = 50,
        pattern = r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u4e00-\u9fa5]"
    )]
    pub word: String,
    pub category: AbuseCategory,
}

/// Filter for the abuse list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AbuseWordQuery {
    /// Only words of this category.
    pub category: Option<AbuseCategory>,
}

/// List abuse words (MSG-3), newest first.
#[utoipa::path(
    operation_id = "admin_abuse_words_list",
    tag = "admin",
    params(PageQuery, AbuseWordQuery),
    responses((status = 200, description = "The abuse list", body = Page<AbuseWordView>)),
    security(("bearer" = []))
)]
#[get("/admin/abuse-words")]
pub async fn list_abuse_words(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<AbuseWordQuery>,
) -> AppResult<web::Json<Page<AbuseWordView>>> {
    let category = filter.category.map(AbuseCategory::code);
    Ok(web::Json(
        listed(&state, List::Abuse, &page, category, |(id, word, c, at)| {
            AbuseWordView {
                id,
                word,
                category: AbuseCategory::parse(&c).unwrap_or(AbuseCategory::Insult),
                created_at: at.and_utc(),
            }
        })
        .await?,
    ))
}

/// Add an abuse word (MSG-3): messages with it are delivered and flagged.
#[utoipa::path(
    operation_id = "admin_abuse_words_add",
    tag = "admin",
    request_body = NewAbuseWord,
    responses(
        (status = 201, description = "Added", body = AbuseWordView),
        (status = 409, description = "Already on a list (`prohibited_word.exists`)", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/abuse-words")]
pub async fn add_abuse_word(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    body: crate::platform::http::Json<NewAbuseWord>,
) -> AppResult<HttpResponse> {
    let NewAbuseWord { word, category } = body.into_inner();
    let (id, word, at) = add(&state, List::Abuse, &word, category.code(), &staff, &meta).await?;
    Ok(HttpResponse::Created().json(AbuseWordView {
        id,
        word,
        category,
        created_at: at.and_utc(),
    }))
}

/// Remove an abuse word.
#[utoipa::path(
    operation_id = "admin_abuse_words_delete",
    tag = "admin",
    params(("id" = i64, Path, description = "Word id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such word on the abuse list", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/admin/abuse-words/{id}")]
pub async fn delete_abuse_word(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    remove(&state, List::Abuse, id.into_inner(), &staff, &meta).await?;
    Ok(HttpResponse::NoContent().finish())
}
