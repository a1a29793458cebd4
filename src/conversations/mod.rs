//! Conversations (MSG-1..8, issue 15): the two parties of an award talk
//! through the platform, so what the code of conduct forbids (abuse,
//! blocking the employer, going silent) is something the platform sees
//! and records as evidence ([`evidence`]).
//!
//! One conversation per award, opened at award (or continued from the one
//! a provider opened with the demand's owner before bidding), read-only 30
//! days after the award ends. The marketplace, which sits above, reports
//! the award's steps ([`on_award`]): they appear in the timeline as system
//! events and set the conversation's `stage`, which the blocking and
//! contact-clock rules read. Messages are never edited or deleted; each has
//! one recipient (the other party), whose delivery and reading times it
//! carries.

pub mod evidence;
pub mod mask;
pub mod routes;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::files::{self, FileView, UseKind};
use crate::notifications::{Notice, notify};
use crate::platform::db::schema::{conversations, messages};
use crate::platform::db::{DbConnection, Reused};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;
use evidence::EvidenceKind;

/// How long a conversation stays writable after its award ends (MSG-1).
const OPEN_AFTER_END_DAYS: i64 = 30;

text_enum! {
    /// Where the conversation's award stands, as the marketplace reported.
    pub enum Stage {
        /// A provider asked a demand's owner before any award.
        PreAward = "pre_award",
        InProgress = "in_progress",
        Delivered = "delivered",
        Disputed = "disputed",
        /// Completed or cancelled: read-only from `closes_at`.
        Ended = "ended",
    }
}

text_enum! {
    /// A step of the award shown in the timeline (MSG-1).
    pub enum SystemEvent {
        Award = "award",
        Delivery = "delivery",
        CheckIn = "check_in",
        Dispute = "dispute",
        /// The provider accepted the confidentiality terms (MSG-6).
        Confidentiality = "confidentiality",
        Ended = "ended",
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = conversations)]
struct Row {
    id: i64,
    demand_id: i64,
    award_id: Option<i64>,
    employer_id: i64,
    provider_id: i64,
    stage: Stage,
    employer_blocked_at: Option<NaiveDateTime>,
    provider_blocked_at: Option<NaiveDateTime>,
    awaiting_since: Option<NaiveDateTime>,
    closes_at: Option<NaiveDateTime>,
    last_message_at: Option<NaiveDateTime>,
    confidential_terms: bool,
    created_at: NaiveDateTime,
    employer_left_at: Option<NaiveDateTime>,
    provider_left_at: Option<NaiveDateTime>,
}

impl Row {
    /// Whether `user` left the conversation (MSG-4).
    fn left(&self, user: i64) -> bool {
        if user == self.employer_id {
            self.employer_left_at.is_some()
        } else {
            self.provider_left_at.is_some()
        }
    }

    fn other(&self, user: i64) -> i64 {
        if user == self.employer_id {
            self.provider_id
        } else {
            self.employer_id
        }
    }

    /// (whether `user` blocked the other side, whether the other side
    /// blocked `user`).
    fn blocks(&self, user: i64) -> (bool, bool) {
        let (mine, theirs) = if user == self.employer_id {
            (self.employer_blocked_at, self.provider_blocked_at)
        } else {
            (self.provider_blocked_at, self.employer_blocked_at)
        };
        (mine.is_some(), theirs.is_some())
    }

    fn read_only(&self, now: NaiveDateTime) -> bool {
        self.closes_at.is_some_and(|c| c <= now)
    }

    fn view(&self, viewer: i64, unread: i64, now: NaiveDateTime) -> ConversationView {
        let (blocked_by_me, blocked_by_other) = self.blocks(viewer);
        ConversationView {
            id: self.id,
            demand_id: self.demand_id,
            award_id: self.award_id,
            employer_id: self.employer_id,
            provider_id: self.provider_id,
            other_party_id: self.other(viewer),
            stage: self.stage,
            unread,
            blocked_by_me,
            blocked_by_other,
            left_by_me: self.left(viewer),
            left_by_other: self.left(self.other(viewer)),
            read_only: self.read_only(now),
            closes_at: self.closes_at.map(|t| t.and_utc()),
            last_message_at: self.last_message_at.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
        }
    }
}

/// A conversation as one of its parties sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: i64,
    pub demand_id: i64,
    /// `null` before an award (MSG-8: contact details are masked then).
    pub award_id: Option<i64>,
    pub employer_id: i64,
    pub provider_id: i64,
    /// The party the caller talks to.
    pub other_party_id: i64,
    pub stage: Stage,
    /// Messages from the other party the caller has not read (MSG-2).
    pub unread: i64,
    pub blocked_by_me: bool,
    /// The other party blocked the caller: the caller's messages are refused.
    pub blocked_by_other: bool,
    /// The caller left (MSG-4): no notices of new messages; writing again
    /// returns.
    pub left_by_me: bool,
    /// The other party left: messages still reach the conversation (and the
    /// record), not their notices.
    pub left_by_other: bool,
    /// Past `closes_at` (30 days after the award ended): no new messages.
    pub read_only: bool,
    pub closes_at: Option<DateTime<Utc>>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

text_enum! {
    /// A party's message or a step of the award.
    pub enum MessageKind {
        Text = "text",
        System = "system",
    }
}

/// A message as its reader sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    /// `null` for a system event.
    pub sender_id: Option<i64>,
    pub kind: MessageKind,
    /// For a system event: which step.
    pub event: Option<SystemEvent>,
    /// As the reader may see it: before an award, contact details from
    /// the other party are masked (MSG-8).
    pub text: String,
    /// Whether `text` had contact details masked for this reader.
    pub masked: bool,
    /// For staff only: the text as sent, when it differs from `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    pub files: Vec<FileView>,
    /// Words of the abuse list were found (MSG-3): delivered, and recorded
    /// as evidence.
    pub flagged: bool,
    /// Its files are confidential (MSG-6): served to the provider once the
    /// award's terms are accepted, every download recorded.
    pub confidential: bool,
    /// The server's time of sending (MSG-2).
    pub sent_at: DateTime<Utc>,
    /// When the recipient's app received it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the recipient read it.
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = messages)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    sender_id: Option<i64>,
    event: Option<SystemEvent>,
    body: String,
    flagged: bool,
    confidential: bool,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
    read_at: Option<NaiveDateTime>,
}

/// Who reads: a party (masking applies to the other's messages before an
/// award) or staff (sees the original beside what the party saw).
#[derive(Clone, Copy)]
pub enum Reader {
    Party(i64),
    Staff,
}

impl MessageRow {
    fn view(self, conv: &Row, reader: Reader, files: Vec<FileView>) -> MessageView {
        let pre_award = conv.award_id.is_none();
        let from_other = match reader {
            Reader::Party(me) => self.sender_id.is_some_and(|s| s != me),
            Reader::Staff => true,
        };
        let (masked_text, changed) = if pre_award && from_other && self.sender_id.is_some() {
            mask::mask(&self.body)
        } else {
            (self.body.clone(), false)
        };
        let (text, original_text) = match reader {
            Reader::Staff if changed => (masked_text, Some(self.body)),
            _ => (masked_text, None),
        };
        MessageView {
            id: self.id,
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            kind: if self.sender_id.is_some() {
                MessageKind::Text
            } else {
                MessageKind::System
            },
            event: self.event,
            text,
            masked: changed && matches!(reader, Reader::Party(_)),
            original_text,
            files,
            flagged: self.flagged,
            confidential: self.confidential,
            sent_at: self.created_at.and_utc(),
            delivered_at: self.delivered_at.map(|t| t.and_utc()),
            read_at: self.read_at.map(|t| t.and_utc()),
        }
    }
}

/// `POST /api/v1/conversations/{id}/messages`: text and/or files.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "明天早上 9 点在徐家汇商场东门集合。", "file_ids": []}))]
pub struct NewMessage {
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub text: Option<String>,
    /// Uploaded files (`POST /files`, the sender's own; FIL-3), at most 9.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 9)]
    pub file_ids: Vec<i64>,
    /// The files are confidential (MSG-6): only the employer, in an award
    /// with confidentiality terms.
    #[serde(default)]
    pub confidential: bool,
}

/// `POST /api/v1/conversations/{id}/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    /// Every message up to this id (inclusive) is read.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::platform::http::integer::i64")]
    pub up_to: i64,
}

/// Messages in id order (oldest first), a window of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    /// Older messages exist: pass the first item's id as `before`.
    pub has_older: bool,
    /// Newer messages exist: pass the last item's id as `after`.
    pub has_newer: bool,
}

fn not_found() -> AppError {
    AppError::not_found(
        "conversation.not_found",
        "会话不存在",
        "No such conversation",
    )
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    conversations::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// The conversation, for one of its parties; anyone else gets 404.
fn load_for(conn: &mut DbConnection, id: i64, user: i64) -> AppResult<Row> {
    let row = load(conn, id)?;
    if user != row.employer_id && user != row.provider_id {
        return Err(not_found());
    }
    Ok(row)
}

/// The conversation, for its party `sender` (anyone else gets 404), and
/// whether the other party has yet to read a message from `sender` (they
/// were told of it then, MSG-2), in one query.
fn load_for_sending(conn: &mut DbConnection, id: i64, sender: i64) -> AppResult<(Row, bool)> {
    // Only the two parties write messages (events have no sender), so
    // "from anyone but the recipient" is "from the sender".
    let unread_from_sender = diesel::dsl::exists(
        messages::table
            .filter(messages::conversation_id.eq(id))
            .filter(messages::read_at.is_null())
            .filter(messages::sender_id.eq(sender)),
    );
    let (row, had_unread): (Row, bool) = conversations::table
        .find(id)
        .select((Row::as_select(), unread_from_sender))
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    if sender != row.employer_id && sender != row.provider_id {
        return Err(not_found());
    }
    Ok((row, had_unread))
}

/// Unread messages to `user` in each of `ids` (one query).
fn unread_counts(conn: &mut DbConnection, user: i64, ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = messages::table
        .filter(messages::conversation_id.eq_any(ids))
        .filter(messages::read_at.is_null())
        .filter(messages::sender_id.is_not_null())
        .filter(messages::sender_id.ne(user))
        .group_by(messages::conversation_id)
        .select((messages::conversation_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

fn view_for(
    conn: &mut DbConnection,
    st: &AppState,
    row: &Row,
    user: i64,
) -> AppResult<ConversationView> {
    let unread = unread_counts(conn, user, &[row.id])?
        .get(&row.id)
        .copied()
        .unwrap_or(0);
    Ok(row.view(user, unread, st.clock.now_naive()))
}

/// What a conversation is about, for a staff read's ground (MSG-7).
pub struct Subject {
    pub demand_id: i64,
    pub award_id: Option<i64>,
    pub employer_id: i64,
    pub provider_id: i64,
}

/// What conversation `id` is about (404 if none).
pub fn subject(conn: &mut DbConnection, id: i64) -> AppResult<Subject> {
    let row = load(conn, id)?;
    Ok(Subject {
        demand_id: row.demand_id,
        award_id: row.award_id,
        employer_id: row.employer_id,
        provider_id: row.provider_id,
    })
}

/// The conversation of award `award_id`, if it has one.
pub fn of_award(conn: &mut DbConnection, award_id: i64) -> AppResult<Option<i64>> {
    Ok(conversations::table
        .filter(conversations::award_id.eq(award_id))
        .select(conversations::id)
        .first(conn)
        .optional()?)
}

/// MSG-1: a provider opens (or reopens) the conversation about demand
/// `demand_id` with its owner, before any award. The caller checked the
/// demand and that the provider is not its owner.
pub fn open_pre_award(
    conn: &mut DbConnection,
    st: &AppState,
    demand_id: i64,
    owner: i64,
    provider: i64,
) -> AppResult<(ConversationView, bool)> {
    let existing: Option<Row> = conversations::table
        .filter(conversations::demand_id.eq(demand_id))
        .filter(conversations::provider_id.eq(provider))
        .order(conversations::id.desc())
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = existing {
        return Ok((view_for(conn, st, &row, provider)?, false));
    }
    // Two opens at once: the second fails on the unique index; its retry
    // finds the first.
    let id = insert(conn, st, demand_id, None, owner, provider, Stage::PreAward).map_err(|e| {
        if e.code == "conflict" {
            AppError::conflict(
                "conversation.opening",
                "会话正在创建，请重试",
                "The conversation was opened at the same moment: retry to get it",
            )
        } else {
            e
        }
    })?;
    let row = load(conn, id)?;
    Ok((view_for(conn, st, &row, provider)?, true))
}

fn insert(
    conn: &mut DbConnection,
    st: &AppState,
    demand_id: i64,
    award_id: Option<i64>,
    employer: i64,
    provider: i64,
    stage: Stage,
) -> AppResult<i64> {
    Ok(diesel::insert_into(conversations::table)
        .values((
            conversations::demand_id.eq(demand_id),
            conversations::award_id.eq(award_id),
            conversations::employer_id.eq(employer),
            conversations::provider_id.eq(provider),
            conversations::stage.eq(stage),
            conversations::created_at.eq(st.clock.now_naive()),
        ))
        .returning(conversations::id)
        .get_result(conn)?)
}

/// The parties of an award, as the marketplace reports them at award.
pub struct AwardParties {
    pub award_id: i64,
    pub demand_id: i64,
    pub employer_id: i64,
    pub provider_id: i64,
    /// The award has confidentiality terms (MSG-6).
    pub confidential: bool,
}

/// MSG-1: the award opens its conversation — the provider's pre-award one
/// about the demand continues (contact details are shown from now on,
/// MSG-8), else a new one — with the award as its first system event.
pub fn open_for_award(
    conn: &mut DbConnection,
    st: &AppState,
    award: &AwardParties,
    text: &str,
) -> AppResult<i64> {
    let pre: Option<i64> = conversations::table
        .filter(conversations::demand_id.eq(award.demand_id))
        .filter(conversations::provider_id.eq(award.provider_id))
        .filter(conversations::award_id.is_null())
        .select(conversations::id)
        .first(conn)
        .optional()?;
    let id = match pre {
        Some(id) => {
            diesel::update(conversations::table.find(id))
                .set((
                    conversations::award_id.eq(award.award_id),
                    conversations::stage.eq(Stage::InProgress),
                    conversations::confidential_terms.eq(award.confidential),
                ))
                .execute(conn)?;
            id
        }
        None => {
            let id = insert(
                conn,
                st,
                award.demand_id,
                Some(award.award_id),
                award.employer_id,
                award.provider_id,
                Stage::InProgress,
            )?;
            diesel::update(conversations::table.find(id))
                .set(conversations::confidential_terms.eq(award.confidential))
                .execute(conn)?;
            id
        }
    };
    system_message(conn, st, id, SystemEvent::Award, text)?;
    Ok(id)
}

fn system_message(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    event: SystemEvent,
    text: &str,
) -> AppResult<i64> {
    let now = st.clock.now_naive();
    diesel::update(conversations::table.find(id))
        .set(conversations::last_message_at.eq(now))
        .execute(conn)?;
    let message_id: i64 = diesel::insert_into(messages::table)
        .values((
            messages::conversation_id.eq(id),
            messages::event.eq(event),
            messages::body.eq(text),
            messages::created_at.eq(now),
        ))
        .returning(messages::id)
        .get_result(conn)?;
    // MSG-2: both parties' apps hear of the award's step at once.
    let conv = load(conn, id)?;
    let data = serde_json::json!({
        "conversation_id": id, "message_id": message_id, "award_id": conv.award_id,
        "event": event, "text": text, "sent_at": now.and_utc(),
    });
    for user in [conv.employer_id, conv.provider_id] {
        crate::notifications::events::publish(conn, st, user, "award", &data)?;
    }
    Ok(message_id)
}

/// MSG-1: a step of award `award_id` enters its timeline; `stage` (when
/// given) is where the award now stands. An ended award's conversation
/// closes 30 days later; the contact clock runs only while in progress.
pub fn on_award(
    conn: &mut DbConnection,
    st: &AppState,
    award_id: i64,
    event: SystemEvent,
    stage: Option<Stage>,
    text: &str,
) -> AppResult<()> {
    let Some(id) = of_award(conn, award_id)? else {
        return Ok(());
    };
    system_message(conn, st, id, event, text)?;
    if let Some(stage) = stage {
        let closes = (stage == Stage::Ended)
            .then(|| st.clock.now_naive() + Duration::days(OPEN_AFTER_END_DAYS));
        diesel::update(conversations::table.find(id))
            .set((
                conversations::stage.eq(stage),
                conversations::closes_at.eq(closes),
            ))
            .execute(conn)?;
        if stage != Stage::InProgress {
            stop_clock(conn, id)?;
        }
    }
    Ok(())
}

/// The caller's conversations, newest first, with unread counts (MSG-2).
pub fn mine(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    page: &PageQuery,
) -> AppResult<Page<ConversationView>> {
    let limit = page.limit()?;
    let mut q = conversations::table
        .filter(
            conversations::employer_id
                .eq(user)
                .or(conversations::provider_id.eq(user)),
        )
        .select(Row::as_select())
        .order(conversations::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(conversations::id.lt(before));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let unread = unread_counts(conn, user, &ids)?;
    let now = st.clock.now_naive();
    Ok(page_by_id(
        rows,
        limit,
        |r| r.id,
        |r| r.view(user, unread.get(&r.id).copied().unwrap_or(0), now),
    ))
}

/// A window of the timeline: the newest `limit` messages, or those before
/// / after a message id, oldest first.
pub struct Window {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: i64,
}

fn window(
    conn: &mut DbConnection,
    conv: &Row,
    reader: Reader,
    w: &Window,
) -> AppResult<MessagePage> {
    let mut q = messages::table
        .filter(messages::conversation_id.eq(conv.id))
        .select(MessageRow::as_select())
        .limit(w.limit + 1)
        .into_boxed();
    if let Some(before) = w.before {
        q = q.filter(messages::id.lt(before));
    }
    // With `after`, read forward from it; else back from the newest (or
    // from `before`). Either way the page is returned oldest first.
    let forward = w.after.is_some();
    q = match w.after {
        Some(after) => q.filter(messages::id.gt(after)).order(messages::id.asc()),
        None => q.order(messages::id.desc()),
    };
    let mut rows: Vec<MessageRow> = q.load(conn)?;
    let more = rows.len() as i64 > w.limit;
    rows.truncate(usize::try_from(w.limit).unwrap_or(0));
    if !forward {
        rows.reverse();
    }
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let mut files_of = files::cited_by_each(conn, UseKind::Message, &ids)?;
    let (has_older, has_newer) = if forward {
        (true, more || w.before.is_some())
    } else {
        (more, w.before.is_some())
    };
    Ok(MessagePage {
        has_older,
        has_newer,
        items: rows
            .into_iter()
            .map(|m| {
                let files = files_of.remove(&m.id).unwrap_or_default();
                m.view(conv, reader, files)
            })
            .collect(),
    })
}

/// MSG-2: a party reads the timeline; what reaches them is marked
/// delivered.
pub fn messages_for(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    id: i64,
    w: &Window,
) -> AppResult<MessagePage> {
    let conv = load_for(conn, id, user)?;
    let mut page = window(conn, &conv, Reader::Party(user), w)?;
    let now = st.clock.now_naive();
    // Stamped in the page as stored, instead of reading the page again.
    let mut to_me = Vec::new();
    for m in &mut page.items {
        if m.sender_id.is_some_and(|s| s != user) && m.delivered_at.is_none() {
            m.delivered_at = Some(now.and_utc());
            to_me.push(m.id);
        }
    }
    if !to_me.is_empty() {
        diesel::update(messages::table.filter(messages::id.eq_any(&to_me)))
            .set(messages::delivered_at.eq(now))
            .execute(conn)?;
    }
    Ok(page)
}

/// MSG-7: staff read a conversation (the caller checked the ground and
/// audits the read): originals beside what the parties saw.
pub fn messages_for_staff(conn: &mut DbConnection, id: i64, w: &Window) -> AppResult<MessagePage> {
    let conv = load(conn, id)?;
    window(conn, &conv, Reader::Staff, w)
}

/// Who may read a message's files, as [`message_access`] tells.
pub struct MessageAccess {
    pub employer_id: i64,
    pub provider_id: i64,
    pub conversation_id: i64,
    pub award_id: Option<i64>,
    /// Sent as confidential (MSG-6).
    pub confidential: bool,
}

/// The conversation message `message_id` is in (FIL-2: its files are its
/// parties' to read; MSG-6: confidential ones after acceptance).
pub fn message_access(
    conn: &mut DbConnection,
    message_id: i64,
) -> AppResult<Option<MessageAccess>> {
    let row: Option<(i64, i64, i64, Option<i64>, bool)> = messages::table
        .inner_join(conversations::table)
        .filter(messages::id.eq(message_id))
        .select((
            conversations::employer_id,
            conversations::provider_id,
            conversations::id,
            conversations::award_id,
            messages::confidential,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(employer_id, provider_id, conversation_id, award_id, confidential)| MessageAccess {
            employer_id,
            provider_id,
            conversation_id,
            award_id,
            confidential,
        },
    ))
}

fn stop_clock(conn: &mut DbConnection, id: i64) -> AppResult<()> {
    diesel::update(conversations::table.find(id))
        .set((
            conversations::awaiting_since.eq(None::<NaiveDateTime>),
            conversations::warned_at.eq(None::<NaiveDateTime>),
            conversations::reported_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The checked text of a new message: the ACC-4 list refuses it (naming
/// the category); returns the text and the abuse category found (MSG-3).
fn checked_text(
    conn: &mut DbConnection,
    st: &AppState,
    req: &NewMessage,
) -> AppResult<(String, Option<crate::content::AbuseCategory>)> {
    let text = req.text.as_deref().unwrap_or("").trim().to_string();
    if text.is_empty() && req.file_ids.is_empty() {
        return Err(AppError::invalid_field(
            "text",
            "message.empty",
            "消息须有文字或文件",
            "A message needs text or files",
        ));
    }
    if !text.is_empty() {
        crate::platform::text::long_text("text", &text, 2000)?;
    }
    if req.file_ids.len() > 9 {
        return Err(AppError::invalid_field(
            "file_ids",
            "message.too_many_files",
            "每条消息最多 9 个文件",
            "At most 9 files a message",
        ));
    }
    if let Some(category) = crate::content::filter(conn, st)?.find(&text) {
        return Err(crate::content::prohibited(
            "text",
            "message.prohibited",
            category,
        ));
    }
    let abuse = crate::content::abuse_filter(conn, st)?.find(&text);
    Ok((text, abuse))
}

/// Whether `sender` may send `req` now: not after the conversation
/// closed, not while the other side blocks them, confidential files only
/// from the employer of an award with terms.
fn may_send(conv: &Row, sender: i64, now: NaiveDateTime, req: &NewMessage) -> AppResult<()> {
    if conv.read_only(now) {
        return Err(AppError::conflict(
            "conversation.read_only",
            "订单结束已满 30 天，会话只读",
            "The conversation is read-only 30 days after its award ended",
        ));
    }
    if conv.blocks(sender).1 {
        return Err(AppError::forbidden(
            "conversation.blocked",
            "对方已将您屏蔽，无法发送消息",
            "The other party blocked you: the message was not sent",
        ));
    }
    if req.confidential && !(sender == conv.employer_id && conv.confidential_terms) {
        return Err(AppError::invalid_field(
            "confidential",
            "message.not_confidential",
            "只有附带保密条款的订单中的雇主可以发送保密文件",
            "Only the employer of an award with confidentiality terms sends confidential files",
        ));
    }
    Ok(())
}

/// MSG-1..5: a party sends a message. Refused when the conversation is
/// read-only or the other party blocked the sender; prohibited words are
/// refused, abuse words flagged and recorded; an employer message during
/// work starts the contact clock, a provider message stops it. The
/// recipient is told by a notice when this is their first unread message.
pub fn send(
    conn: &mut DbConnection,
    st: &AppState,
    sender: i64,
    id: i64,
    req: &NewMessage,
) -> AppResult<MessageView> {
    let (conv, had_unread) = load_for_sending(conn, id, sender)?;
    let now = st.clock.now_naive();
    may_send(&conv, sender, now, req)?;
    let (text, abuse) = checked_text(conn, st, req)?;
    let recipient = conv.other(sender);
    let message_id: i64 = diesel::insert_into(messages::table)
        .values((
            messages::conversation_id.eq(id),
            messages::sender_id.eq(sender),
            messages::body.eq(&text),
            messages::flagged.eq(abuse.is_some()),
            messages::confidential.eq(req.confidential),
            messages::created_at.eq(now),
        ))
        .returning(messages::id)
        .get_result(conn)?;
    let files = files::attach(
        conn,
        st,
        sender,
        "file_ids",
        &req.file_ids,
        (UseKind::Message, message_id),
    )?;
    touch(conn, &conv, sender, now)?;
    if conv.left(sender) {
        // Writing again is returning (MSG-4).
        set_left_at(conn, &conv, sender, None)?;
    }
    if let Some(category) = abuse {
        let summary = format!("消息含辱骂/威胁用语（{}）", category.code());
        let about = (conv.award_id, Some(id), Some(message_id));
        evidence::record(
            conn,
            st,
            EvidenceKind::AbusiveMessage,
            sender,
            about,
            &summary,
        )?;
    }
    let row = MessageRow {
        id: message_id,
        conversation_id: id,
        sender_id: Some(sender),
        event: None,
        body: text,
        flagged: abuse.is_some(),
        confidential: req.confidential,
        created_at: now,
        delivered_at: None,
        read_at: None,
    };
    tell_recipient(conn, st, &conv, recipient, &row, &files, had_unread)?;
    Ok(row.view(&conv, Reader::Party(sender), files))
}

/// The message moves the conversation's last activity and (MSG-5) its
/// contact clock, in one statement: an employer message during work starts
/// the clock if it is not running; any provider message stops it.
fn touch(conn: &mut DbConnection, conv: &Row, sender: i64, now: NaiveDateTime) -> AppResult<()> {
    let this = conversations::table.find(conv.id);
    if sender == conv.provider_id {
        Reused(
            diesel::update(this)
                .set((
                    conversations::last_message_at.eq(now),
                    conversations::awaiting_since.eq(None::<NaiveDateTime>),
                    conversations::warned_at.eq(None::<NaiveDateTime>),
                    conversations::reported_at.eq(None::<NaiveDateTime>),
                ))
                .returning(conversations::id),
        )
        .rows(conn)?;
    } else if conv.stage == Stage::InProgress
        && conv.awaiting_since.is_none()
        // An employer who blocked the provider cannot be left unanswered.
        && conv.employer_blocked_at.is_none()
    {
        Reused(
            diesel::update(this)
                .set((
                    conversations::last_message_at.eq(now),
                    conversations::awaiting_since.eq(now),
                ))
                .returning(conversations::id),
        )
        .rows(conn)?;
    } else {
        Reused(
            diesel::update(this)
                .set(conversations::last_message_at.eq(now))
                .returning(conversations::id),
        )
        .rows(conn)?;
    }
    Ok(())
}

/// MSG-2: the recipient's app hears of the message at once, as they may
/// see it; and a notice tells them when it is their first unread one.
fn tell_recipient(
    conn: &mut DbConnection,
    st: &AppState,
    conv: &Row,
    recipient: i64,
    row: &MessageRow,
    files: &[FileView],
    had_unread: bool,
) -> AppResult<()> {
    // MSG-4: a party who left hears of new messages only by looking.
    if !had_unread && !conv.left(recipient) {
        notify(
            conn,
            st,
            recipient,
            Notice {
                kind: "message.received",
                title: "您有新消息",
                body: "对方在会话中给您发来了消息。".into(),
                link: Some(format!("/api/v1/conversations/{}/messages", conv.id)),
            },
        )?;
    }
    let seen = row
        .clone()
        .view(conv, Reader::Party(recipient), files.to_vec());
    let data = serde_json::to_value(&seen).map_err(AppError::internal)?;
    crate::notifications::events::publish(conn, st, recipient, "message", &data)
}

/// MSG-2: the reader marks every message to them up to `up_to` read.
pub fn mark_read(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    id: i64,
    up_to: i64,
) -> AppResult<ConversationView> {
    let conv = load_for(conn, id, user)?;
    let now = st.clock.now_naive();
    let mine = messages::table
        .filter(messages::conversation_id.eq(id))
        .filter(messages::id.le(up_to))
        .filter(messages::sender_id.is_not_null())
        .filter(messages::sender_id.ne(user));
    diesel::update(mine.filter(messages::delivered_at.is_null()))
        .set(messages::delivered_at.eq(now))
        .execute(conn)?;
    diesel::update(mine.filter(messages::read_at.is_null()))
        .set(messages::read_at.eq(now))
        .execute(conn)?;
    view_for(conn, st, &conv, user)
}

/// MSG-4: a party blocks (`on`) or unblocks the other. A provider blocking
/// the employer while the award is in progress is recorded as evidence
/// (DR ②) and the employer is told.
pub fn set_block(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    id: i64,
    on: bool,
) -> AppResult<ConversationView> {
    let conv = load_for(conn, id, user)?;
    let now = st.clock.now_naive();
    let this = conversations::table.find(id);
    // Only a change counts: blocking again keeps the first time and
    // records nothing more (two at once: one of them changes the row).
    let changed = match (user == conv.employer_id, on) {
        (true, true) => diesel::update(this.filter(conversations::employer_blocked_at.is_null()))
            .set(conversations::employer_blocked_at.eq(now))
            .execute(conn)?,
        (true, false) => diesel::update(this)
            .set(conversations::employer_blocked_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
        (false, true) => diesel::update(this.filter(conversations::provider_blocked_at.is_null()))
            .set(conversations::provider_blocked_at.eq(now))
            .execute(conn)?,
        (false, false) => diesel::update(this)
            .set(conversations::provider_blocked_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
    } == 1;
    // MSG-5: an employer who blocks the provider stops the contact clock.
    if on && changed && user == conv.employer_id {
        stop_clock(conn, id)?;
    }
    let during_work = matches!(conv.stage, Stage::InProgress | Stage::Delivered);
    if on && changed && user == conv.provider_id && during_work {
        let about = (conv.award_id, Some(id), None);
        evidence::record(
            conn,
            st,
            EvidenceKind::Block,
            user,
            about,
            "服务商在订单进行中屏蔽了雇主",
        )?;
        notify(
            conn,
            st,
            conv.employer_id,
            Notice {
                kind: "conversation.blocked",
                title: "服务商屏蔽了您",
                body:
                    "订单进行中的服务商屏蔽了与您的会话，平台已记录。如影响履约，可提出投诉或争议。"
                        .into(),
                link: Some(format!("/api/v1/conversations/{id}/messages")),
            },
        )?;
    }
    let row = load(conn, id)?;
    view_for(conn, st, &row, user)
}

fn set_left_at(
    conn: &mut DbConnection,
    conv: &Row,
    user: i64,
    at: Option<NaiveDateTime>,
) -> AppResult<usize> {
    let this = conversations::table.find(conv.id);
    Ok(match (user == conv.employer_id, at) {
        (true, Some(at)) => diesel::update(this.filter(conversations::employer_left_at.is_null()))
            .set(conversations::employer_left_at.eq(at))
            .execute(conn)?,
        (true, None) => diesel::update(this)
            .set(conversations::employer_left_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
        (false, Some(at)) => diesel::update(this.filter(conversations::provider_left_at.is_null()))
            .set(conversations::provider_left_at.eq(at))
            .execute(conn)?,
        (false, None) => diesel::update(this)
            .set(conversations::provider_left_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
    })
}

/// MSG-4: a party leaves (`on`) or returns to the conversation. A party
/// who left gets no notices of new messages (they stay in the timeline);
/// writing again returns. A provider leaving while the award is in
/// progress is recorded as evidence (DR ②) and the employer is told. The
/// contact clock (MSG-5) runs on: leaving does not answer the employer.
pub fn set_leave(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    id: i64,
    on: bool,
) -> AppResult<ConversationView> {
    let conv = load_for(conn, id, user)?;
    let now = st.clock.now_naive();
    let changed = set_left_at(conn, &conv, user, on.then_some(now))? == 1;
    let during_work = matches!(conv.stage, Stage::InProgress | Stage::Delivered);
    if on && changed && user == conv.provider_id && during_work {
        let about = (conv.award_id, Some(id), None);
        evidence::record(
            conn,
            st,
            EvidenceKind::Left,
            user,
            about,
            "服务商在订单进行中退出了与雇主的会话",
        )?;
        notify(
            conn,
            st,
            conv.employer_id,
            Notice {
                kind: "conversation.left",
                title: "服务商退出了会话",
                body: "订单进行中的服务商退出了与您的会话，平台已记录。您的消息仍会送达会话；如影响履约，可提出投诉或争议。".into(),
                link: Some(format!("/api/v1/conversations/{id}/messages")),
            },
        )?;
    }
    let row = load(conn, id)?;
    view_for(conn, st, &row, user)
}

/// What one run of the contact clock did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockRun {
    pub warned: usize,
    pub reported: usize,
}

/// MSG-5, scheduler: while an award is in progress, an employer message
/// unanswered for `CONTACT_WARNING_HOURS` warns the provider; for
/// `CONTACT_UNREACHABLE_HOURS` it is recorded as unreachable evidence.
/// Each step is a conditional update, so two processes running it at once
/// warn and record once.
pub fn contact_clock(conn: &mut DbConnection, st: &AppState) -> AppResult<ClockRun> {
    let now = st.clock.now_naive();
    let settings = &st.settings.market;
    let warn_from = now - Duration::hours(settings.contact_warning_hours);
    let report_from = now - Duration::hours(settings.contact_unreachable_hours);
    let due: Vec<(i64, NaiveDateTime)> = conversations::table
        .filter(conversations::awaiting_since.le(warn_from))
        .filter(conversations::stage.eq(Stage::InProgress))
        .filter(conversations::employer_blocked_at.is_null())
        .filter(
            conversations::warned_at
                .is_null()
                .or(conversations::reported_at
                    .is_null()
                    .and(conversations::awaiting_since.le(report_from))),
        )
        .order(conversations::awaiting_since.asc())
        .select((
            conversations::id,
            conversations::awaiting_since.assume_not_null(),
        ))
        .limit(500)
        .load(conn)?;
    let mut run = ClockRun::default();
    for (id, since) in due {
        let step =
            crate::platform::db::write_tx(conn, |c| clock_step(c, st, id, since, report_from));
        match step {
            Ok((w, r)) => {
                run.warned += usize::from(w);
                run.reported += usize::from(r);
            }
            Err(e) => log::error!(
                "job contact-clock conversation={id}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(run)
}

fn clock_step(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    since: NaiveDateTime,
    report_from: NaiveDateTime,
) -> AppResult<(bool, bool)> {
    let now = st.clock.now_naive();
    let conv = load(conn, id)?;
    let still = conversations::table
        .find(id)
        .filter(conversations::awaiting_since.eq(since));
    let warned = diesel::update(still.filter(conversations::warned_at.is_null()))
        .set(conversations::warned_at.eq(now))
        .execute(conn)?
        == 1;
    if warned {
        notify(
            conn,
            st,
            conv.provider_id,
            Notice {
                kind: "contact.warning",
                title: "请尽快回复雇主",
                body: format!(
                    "雇主的消息已超过 {} 小时未回复。订单进行中失联超过 {} 小时将被平台记录，可能按服务商行为规范处理。",
                    st.settings.market.contact_warning_hours,
                    st.settings.market.contact_unreachable_hours
                ),
                link: Some(format!("/api/v1/conversations/{id}/messages")),
            },
        )?;
    }
    let reported = since <= report_from
        && diesel::update(still.filter(conversations::reported_at.is_null()))
            .set(conversations::reported_at.eq(now))
            .execute(conn)?
            == 1;
    if reported {
        let unanswered: Option<i64> = messages::table
            .filter(messages::conversation_id.eq(id))
            .filter(messages::sender_id.eq(conv.employer_id))
            .filter(messages::created_at.ge(since))
            .order(messages::id.asc())
            .select(messages::id)
            .first(conn)
            .optional()?;
        let summary = format!(
            "订单进行中，雇主自 {} 起的消息超过 {} 小时未获服务商回复",
            crate::platform::clock::china_time(since),
            st.settings.market.contact_unreachable_hours
        );
        let about = (conv.award_id, Some(id), unanswered);
        evidence::record(
            conn,
            st,
            EvidenceKind::Unreachable,
            conv.provider_id,
            about,
            &summary,
        )?;
    }
    Ok((warned, reported))
}
