//! Awards: held funds at award, delivery, confirmation with the platform
//! fee, auto-completion, reviews (MKT-3, MKT-4).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::demands;
use super::dto::{AwardView, DeliveryRequest, Evidence, NewReview, ReviewView};
use super::model::{AwardStatus, BidStatus, DemandStatus};
use super::{close_bids, notify_each};
use crate::conversations::{Stage, SystemEvent};
use crate::funds::ledger::{self, Reference};
use crate::platform::changes::{self, Topic};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{awards, bids, demands as demands_t, reviews};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{Money, SignedFen, format_fen};
use crate::platform::state::AppState;

#[derive(Queryable, Selectable)]
#[diesel(table_name = awards)]
pub struct Row {
    pub id: i64,
    pub demand_id: i64,
    pub bid_id: i64,
    pub employer_id: i64,
    pub provider_id: i64,
    pub price: i64,
    pub fee: Option<i64>,
    pub status: AwardStatus,
    pub delivery_note: Option<String>,
    pub evidence: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub confidentiality_terms: Option<String>,
    pub confidentiality_accepted_at: Option<NaiveDateTime>,
}

fn not_found() -> AppError {
    AppError::not_found("award.not_found", "中标记录不存在", "No such award")
}

/// The award, if `viewer` is one of its parties (others: 404).
pub fn load_for(conn: &mut DbConnection, id: i64, viewer: Option<i64>) -> AppResult<Row> {
    let row: Row = awards::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    match viewer {
        Some(v) if v != row.employer_id && v != row.provider_id => Err(not_found()),
        _ => Ok(row),
    }
}

/// The platform fee on `price` (basis points, rounded half up; SA §4.10),
/// always leaving the provider at least one fen.
pub fn fee_for(price: i64, bps: i64) -> i64 {
    ((price * bps + 5_000) / 10_000).min(price - 1).max(0)
}

/// Reviews are double-blind: shown once both sides reviewed or the window ended.
fn visible_reviews(
    conn: &mut DbConnection,
    st: &AppState,
    row: &Row,
) -> AppResult<(Vec<ReviewView>, Vec<i64>)> {
    let all: Vec<(i64, i64, i32, String, NaiveDateTime)> = reviews::table
        .filter(reviews::award_id.eq(row.id))
        .select((
            reviews::reviewer_id,
            reviews::reviewee_id,
            reviews::rating,
            reviews::body,
            reviews::created_at,
        ))
        .load(conn)?;
    let reviewers: Vec<i64> = all.iter().map(|r| r.0).collect();
    let window_over = row.completed_at.is_some_and(|c| {
        st.clock.now_naive() >= c + Duration::days(st.settings.market.review_window_days)
    });
    let shown = if all.len() >= 2 || window_over {
        all.into_iter()
            .map(|(reviewer_id, reviewee_id, rating, body, at)| ReviewView {
                reviewer_id,
                reviewee_id,
                rating,
                body,
                created_at: at.and_utc(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((shown, reviewers))
}

pub fn view(
    conn: &mut DbConnection,
    st: &AppState,
    row: Row,
    viewer: Option<i64>,
) -> AppResult<AwardView> {
    let (reviews, reviewers) = visible_reviews(conn, st, &row)?;
    let evidence: Vec<Evidence> = row
        .evidence
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or_default();
    Ok(AwardView {
        id: row.id,
        demand_id: row.demand_id,
        bid_id: row.bid_id,
        employer_id: row.employer_id,
        provider_id: row.provider_id,
        price: Money::from_stored(row.price)?,
        fee: row.fee.map(SignedFen),
        status: row.status,
        delivery_note: row.delivery_note,
        evidence,
        files: crate::files::cited_by(conn, crate::files::UseKind::Delivery, row.id)?,
        check_ins: super::check_ins::of_award(conn, row.id)?,
        conversation_id: crate::conversations::of_award(conn, row.id)?,
        confidentiality: row
            .confidentiality_terms
            .map(|terms| super::dto::ConfidentialityView {
                terms,
                accepted_at: row.confidentiality_accepted_at.map(|t| t.and_utc()),
            }),
        delivered_at: row.delivered_at.map(|t| t.and_utc()),
        completed_at: row.completed_at.map(|t| t.and_utc()),
        created_at: row.created_at.and_utc(),
        reviews,
        reviewed_by_me: viewer.is_some_and(|v| reviewers.contains(&v)),
    })
}

/// The distinct bids chosen, 1 to `workers_wanted` of them.
fn chosen_bids(bid_ids: &[i64], workers_wanted: i32) -> AppResult<Vec<i64>> {
    let mut ids = bid_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() != bid_ids.len() || ids.len() > workers_wanted as usize {
        return Err(AppError::invalid_field(
            "bid_ids",
            "award.bid_count",
            format!("须选择 1–{workers_wanted} 个不重复的竞标"),
            format!("Choose 1–{workers_wanted} distinct bids"),
        ));
    }
    Ok(ids)
}

/// Closes the demand for awarding: of two concurrent awards only one gets
/// past this.
fn close_for_award(conn: &mut DbConnection, st: &AppState, demand_id: i64) -> AppResult<()> {
    changes::mark(Topic::Demands);
    let n = diesel::update(
        demands_t::table
            .filter(demands_t::id.eq(demand_id))
            .filter(demands_t::status.eq(DemandStatus::Open)),
    )
    .set((
        demands_t::status.eq(DemandStatus::Awarded),
        demands_t::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "demand.not_open",
            "该需求已不在招标中",
            "The demand is not open",
        ));
    }
    Ok(())
}

/// Awards one bid: the bid becomes `awarded`, the award is created and its
/// price held from the employer. Returns (award id, provider).
fn award_bid(
    conn: &mut DbConnection,
    st: &AppState,
    employer: i64,
    demand_id: i64,
    bid_id: i64,
) -> AppResult<(i64, i64)> {
    let now = st.clock.now_naive();
    let bid: Option<(i64, i64)> = bids::table
        .filter(bids::id.eq(bid_id))
        .filter(bids::demand_id.eq(demand_id))
        .select((bids::provider_id, bids::price))
        .first(conn)
        .optional()?;
    let changed = diesel::update(
        bids::table
            .filter(bids::id.eq(bid_id))
            .filter(bids::demand_id.eq(demand_id))
            .filter(bids::status.eq(BidStatus::Active)),
    )
    .set((
        bids::status.eq(BidStatus::Awarded),
        bids::updated_at.eq(now),
    ))
    .execute(conn)?;
    if let Some((provider, _)) = bid
        && crate::conduct::require_order_taking(conn, st, provider).is_err()
    {
        return Err(AppError::conflict(
            "bid.provider_unavailable",
            "该服务商当前不能接单（已暂停或订单已屏蔽）",
            "This provider cannot take orders at the moment",
        ));
    }
    let (Some((provider, price)), 1) = (bid, changed) else {
        return Err(AppError::conflict(
            "bid.not_awardable",
            "所选竞标不存在、已撤回或已处理",
            "A chosen bid does not exist, was withdrawn or is already decided",
        ));
    };
    let award_id: i64 = diesel::insert_into(awards::table)
        .values((
            awards::demand_id.eq(demand_id),
            awards::bid_id.eq(bid_id),
            awards::employer_id.eq(employer),
            awards::provider_id.eq(provider),
            awards::price.eq(price),
            awards::status.eq(AwardStatus::InProgress),
            awards::created_at.eq(now),
        ))
        .returning(awards::id)
        .get_result(conn)?;
    ledger::hold(
        conn,
        st,
        employer,
        price,
        &Reference {
            kind: "award_hold",
            object_type: "award",
            object_id: award_id.to_string(),
            memo: format!("中标担保金 {}", format_fen(price)),
        },
    )?;
    Ok((award_id, provider))
}

/// Tells the winners and the bidders who were not selected.
fn announce_award(
    conn: &mut DbConnection,
    st: &AppState,
    demand: &demands::Row,
    winners: &[i64],
    losers: &[i64],
) -> AppResult<()> {
    let link = format!("/api/v1/demands/{}", demand.id);
    notify_each(
        conn,
        st,
        winners,
        "bid.awarded",
        "恭喜中标",
        &format!(
            "您在需求「{}」的竞标已中标，雇主的担保金已冻结。",
            demand.title
        ),
        &link,
    )?;
    notify_each(
        conn,
        st,
        losers,
        "bid.not_selected",
        "未中标",
        &format!("需求「{}」已选标，您的竞标未被选中。", demand.title),
        &link,
    )
}

/// MKT-3: the employer awards bids; their prices are held from the
/// employer's available funds in this one transaction (insufficient: 409,
/// nothing changes). Bidding closes; the others are told they were not selected.
pub fn award(
    conn: &mut DbConnection,
    st: &AppState,
    employer: i64,
    demand_id: i64,
    bid_ids: &[i64],
    terms: Option<&str>,
) -> AppResult<Vec<AwardView>> {
    let terms = terms
        .map(|t| crate::platform::text::long_text("confidentiality_terms", t, 5000))
        .transpose()?;
    let demand = demands::load(conn, demand_id, Some(employer))?;
    if demand.owner_id != employer {
        return Err(demands::not_found());
    }
    let ids = chosen_bids(bid_ids, demand.workers_wanted)?;
    close_for_award(conn, st, demand_id)?;
    let mut created = Vec::new();
    let mut winners = Vec::new();
    for bid_id in ids {
        let (award_id, provider) = award_bid(conn, st, employer, demand_id, bid_id)?;
        if let Some(terms) = &terms {
            diesel::update(awards::table.find(award_id))
                .set(awards::confidentiality_terms.eq(terms))
                .execute(conn)?;
        }
        // MSG-1: the award opens the parties' conversation.
        crate::conversations::open_for_award(
            conn,
            st,
            &crate::conversations::AwardParties {
                award_id,
                demand_id,
                employer_id: employer,
                provider_id: provider,
                confidential: terms.is_some(),
            },
            &format!("雇主选中了报价，订单 #{award_id} 开始。请在此沟通工作安排。"),
        )?;
        created.push(award_id);
        winners.push(provider);
    }
    let losers = close_bids(conn, st, demand_id)?;
    announce_award(conn, st, &demand, &winners, &losers)?;
    created
        .into_iter()
        .map(|id| {
            let row = load_for(conn, id, None)?;
            view(conn, st, row, Some(employer))
        })
        .collect()
}

/// MKT-4: a delivery's note, legacy evidence links and uploaded files are
/// well formed.
fn check_delivery(req: &DeliveryRequest) -> AppResult<()> {
    if req.note.trim().is_empty() || req.note.chars().count() > 2000 || req.evidence.len() > 50 {
        return Err(AppError::invalid_field(
            "note",
            "text.invalid",
            "交付说明须为 1–2000 个字符，凭证最多 50 项",
            "The note must be 1–2000 characters with at most 50 pieces of evidence",
        ));
    }
    for (i, e) in req.evidence.iter().enumerate() {
        let kind_ok = ["photo", "checkin", "document"].contains(&e.kind.as_str());
        let url_ok = e.url.as_deref().is_none_or(|u| {
            (u.starts_with("http://") || u.starts_with("https://")) && u.len() <= 500
        });
        let loc_ok = e
            .location
            .as_deref()
            .is_none_or(|l| !l.is_empty() && l.chars().count() <= 200);
        if !(kind_ok && url_ok && loc_ok) {
            return Err(AppError::invalid_field(
                &format!("evidence[{i}]"),
                "award.evidence_invalid",
                "交付凭证格式不正确",
                "A piece of evidence is malformed",
            ));
        }
    }
    if req.file_ids.len() > 20 {
        return Err(AppError::invalid_field(
            "file_ids",
            "award.evidence_invalid",
            "上传凭证最多 20 个",
            "At most 20 uploaded files",
        ));
    }
    Ok(())
}

/// The provider marks the work delivered, with a note and evidence.
pub fn deliver(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    id: i64,
    req: DeliveryRequest,
) -> AppResult<AwardView> {
    let row = load_for(conn, id, Some(provider))?;
    only_provider(&row, provider, "只有中标方可以提交交付")?;
    check_delivery(&req)?;
    // FIL-3: uploaded evidence, the provider's own files.
    crate::files::attach(
        conn,
        st,
        provider,
        "file_ids",
        &req.file_ids,
        (crate::files::UseKind::Delivery, id),
    )?;
    let evidence = serde_json::to_string(&req.evidence).map_err(AppError::internal)?;
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(id))
            .filter(awards::status.eq(AwardStatus::InProgress)),
    )
    .set((
        awards::status.eq(AwardStatus::Delivered),
        awards::delivery_note.eq(req.note.trim()),
        awards::evidence.eq(evidence),
        awards::delivered_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "award.not_in_progress",
            "该中标不在进行中",
            "The award is not in progress",
        ));
    }
    crate::conversations::on_award(
        conn,
        st,
        id,
        SystemEvent::Delivery,
        Some(Stage::Delivered),
        "服务商提交了交付，等待雇主确认。",
    )?;
    notify_each(
        conn,
        st,
        &[row.employer_id],
        "award.delivered",
        "服务商已提交交付",
        &format!(
            "请在 {} 天内确认或提出争议，逾期将自动完成。",
            st.settings.market.auto_complete_days
        ),
        &format!("/api/v1/awards/{id}"),
    )?;
    let row = load_for(conn, id, None)?;
    view(conn, st, row, Some(provider))
}

/// Completes an award once: the hold goes to the provider less the fee
/// (MKT-4). Used by the employer's confirmation and the auto-completion.
/// Takes the demand row first: every change to an award takes its demand,
/// then the award (confirmation, cancellation, removal, disputes), so two
/// racing changes wait for each other instead of deadlocking.
pub fn lock_demand(conn: &mut DbConnection, st: &AppState, demand_id: i64) -> AppResult<()> {
    changes::mark(Topic::Demands);
    diesel::update(demands_t::table.find(demand_id))
        .set(demands_t::updated_at.eq(st.clock.now_naive()))
        .execute(conn)?;
    Ok(())
}

/// A demand whose awards are all finished closes: completed when any of
/// them completed, cancelled when none did.
fn close_demand_if_done(conn: &mut DbConnection, st: &AppState, demand_id: i64) -> AppResult<()> {
    let open_left: bool = diesel::select(diesel::dsl::exists(
        awards::table
            .filter(awards::demand_id.eq(demand_id))
            .filter(awards::status.eq_any(AwardStatus::OPEN)),
    ))
    .get_result(conn)?;
    if open_left {
        return Ok(());
    }
    let any_completed: bool = diesel::select(diesel::dsl::exists(
        awards::table
            .filter(awards::demand_id.eq(demand_id))
            .filter(awards::status.eq(AwardStatus::Completed)),
    ))
    .get_result(conn)?;
    let closed = if any_completed {
        DemandStatus::Completed
    } else {
        DemandStatus::Cancelled
    };
    changes::mark(Topic::Demands);
    diesel::update(
        demands_t::table
            .filter(demands_t::id.eq(demand_id))
            .filter(demands_t::status.eq(DemandStatus::Awarded)),
    )
    .set((
        demands_t::status.eq(closed),
        demands_t::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    Ok(())
}

/// DSP-1: an award in progress or delivered becomes `disputed` and its
/// hold is frozen (no confirmation, auto-completion or cancellation).
/// Returns false when the award was not under way.
pub fn freeze(conn: &mut DbConnection, award_id: i64) -> AppResult<bool> {
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(award_id))
            .filter(awards::status.eq_any(AwardStatus::UNDER_WAY)),
    )
    .set(awards::status.eq(AwardStatus::Disputed))
    .execute(conn)?;
    Ok(n == 1)
}

/// DSP-1 decision on a frozen award: with money to the provider it is
/// completed with `fee` (the ledger moved the hold already); with nothing
/// to the provider it is cancelled. Then the demand closes if nothing of it
/// is left open.
pub fn settle_disputed(
    conn: &mut DbConnection,
    st: &AppState,
    row: &Row,
    fee: Option<i64>,
) -> AppResult<()> {
    let (status, completed_at) = match fee {
        Some(_) => (AwardStatus::Completed, Some(st.clock.now_naive())),
        None => (AwardStatus::Cancelled, None),
    };
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(row.id))
            .filter(awards::status.eq(AwardStatus::Disputed)),
    )
    .set((
        awards::status.eq(status),
        awards::completed_at.eq(completed_at),
        awards::fee.eq(fee),
    ))
    .execute(conn)?;
    if n != 1 {
        // The hold already moved in this transaction: undo it all.
        return Err(AppError::conflict(
            "award.not_disputed",
            "该中标已不在争议中",
            "The award is no longer under dispute",
        ));
    }
    crate::conversations::on_award(
        conn,
        st,
        row.id,
        SystemEvent::Ended,
        Some(Stage::Ended),
        "争议已裁决，订单结束。会话 30 天后转为只读。",
    )?;
    close_demand_if_done(conn, st, row.demand_id)
}

fn complete(conn: &mut DbConnection, st: &AppState, row: &Row, reason: &str) -> AppResult<bool> {
    let fee = fee_for(row.price, st.settings.market.fee_bps);
    let now = st.clock.now_naive();
    lock_demand(conn, st, row.demand_id)?;
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(row.id))
            .filter(awards::status.eq_any([AwardStatus::InProgress, AwardStatus::Delivered])),
    )
    .set((
        awards::status.eq(AwardStatus::Completed),
        awards::fee.eq(fee),
        awards::completed_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    ledger::capture(
        conn,
        st,
        row.employer_id,
        row.provider_id,
        row.price,
        fee,
        &Reference {
            kind: "award_capture",
            object_type: "award",
            object_id: row.id.to_string(),
            memo: format!(
                "{reason}：支付 {}，平台服务费 {}",
                format_fen(row.price - fee),
                format_fen(fee)
            ),
        },
    )?;
    close_demand_if_done(conn, st, row.demand_id)?;
    crate::conversations::on_award(
        conn,
        st,
        row.id,
        SystemEvent::Ended,
        Some(Stage::Ended),
        &format!("订单已完成（{reason}）。会话 30 天后转为只读。"),
    )?;
    notify_each(
        conn,
        st,
        &[row.provider_id],
        "award.completed",
        "订单已完成",
        &format!(
            "款项 {} 元已到账（已扣平台服务费 {} 元）。",
            format_fen(row.price - fee),
            format_fen(fee)
        ),
        &format!("/api/v1/awards/{}", row.id),
    )?;
    Ok(true)
}

/// The employer confirms completion (MKT-4).
pub fn confirm(
    conn: &mut DbConnection,
    st: &AppState,
    employer: i64,
    id: i64,
) -> AppResult<AwardView> {
    let row = load_for(conn, id, Some(employer))?;
    if row.employer_id != employer {
        return Err(AppError::forbidden(
            "award.not_employer",
            "只有雇主可以确认完成",
            "Only the employer can confirm",
        ));
    }
    if !complete(conn, st, &row, "雇主确认完成")? {
        // Say why from the state it is in now: a dispute may have frozen it
        // since it was read (DSP-1).
        if load_for(conn, id, None)?.status == AwardStatus::Disputed {
            return Err(AppError::conflict(
                "award.disputed",
                "该中标争议处理中，担保金已冻结，须待平台裁决",
                "The award is under dispute; its hold is frozen until the platform decides",
            ));
        }
        return Err(AppError::conflict(
            "award.not_confirmable",
            "该中标已完成或已取消",
            "The award is already completed or cancelled",
        ));
    }
    let row = load_for(conn, id, None)?;
    view(conn, st, row, Some(employer))
}

/// MKT-4, WRK-3: the auto-completion records what the field work showed:
/// the check-in tally goes into the capture's ledger memo and the
/// employer's notice.
fn auto_complete(conn: &mut DbConnection, st: &AppState, row: &Row) -> AppResult<bool> {
    let (total, off_site) = super::check_ins::tally(conn, row.id)?;
    let record = format!("打卡 {total} 次，其中超出范围 {off_site} 次");
    if !complete(
        conn,
        st,
        row,
        &format!("交付后逾期未确认，自动完成（{record}）"),
    )? {
        return Ok(false);
    }
    notify_each(
        conn,
        st,
        &[row.employer_id],
        "award.auto_completed",
        "订单已自动完成",
        &format!(
            "中标 #{} 交付后 {} 天未确认，已自动完成并向服务商付款。{record}。",
            row.id, st.settings.market.auto_complete_days
        ),
        &format!("/api/v1/awards/{}", row.id),
    )?;
    Ok(true)
}

/// Scheduler: delivered awards neither confirmed nor disputed within the
/// window complete themselves (MKT-4, SVC-1).
pub fn auto_complete_due(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let cutoff = st.clock.now_naive() - Duration::days(st.settings.market.auto_complete_days);
    let due: Vec<Row> = awards::table
        .filter(awards::status.eq(AwardStatus::Delivered))
        .filter(awards::delivered_at.le(cutoff))
        .select(Row::as_select())
        .limit(500)
        .load(conn)?;
    let mut done = 0;
    for row in due {
        // One award that cannot complete must not stop the others.
        match crate::platform::db::write_tx(conn, |c| auto_complete(c, st, &row)) {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => log::error!(
                "job auto-complete award={}: {}",
                row.id,
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(done)
}

/// 403 `award.not_provider` unless `user` is the award's provider.
fn only_provider(row: &Row, user: i64, zh: &'static str) -> AppResult<()> {
    if row.provider_id == user {
        return Ok(());
    }
    Err(AppError::forbidden(
        "award.not_provider",
        zh,
        "Only the awarded provider can do this",
    ))
}

/// MSG-6: the provider accepts the award's confidentiality terms (time and
/// IP recorded, once); files sent as confidential are served from then.
pub fn accept_confidentiality(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    id: i64,
    ip: &str,
) -> AppResult<AwardView> {
    let row = load_for(conn, id, Some(provider))?;
    only_provider(&row, provider, "只有中标方可以接受保密条款")?;
    if row.confidentiality_terms.is_none() {
        return Err(AppError::conflict(
            "award.no_confidentiality_terms",
            "该订单没有保密条款",
            "The award has no confidentiality terms",
        ));
    }
    let n = diesel::update(
        awards::table
            .find(id)
            .filter(awards::confidentiality_accepted_at.is_null()),
    )
    .set((
        awards::confidentiality_accepted_at.eq(st.clock.now_naive()),
        awards::confidentiality_accepted_ip.eq(ip),
    ))
    .execute(conn)?;
    if n == 1 {
        crate::conversations::on_award(
            conn,
            st,
            id,
            SystemEvent::Confidentiality,
            None,
            "服务商已接受保密条款，可查看保密文件。",
        )?;
    }
    let row = load_for(conn, id, None)?;
    view(conn, st, row, Some(provider))
}

/// MSG-6: whether the provider of award `id` accepted its confidentiality
/// terms (`None`: it has none).
pub fn confidentiality_accepted(conn: &mut DbConnection, id: i64) -> AppResult<Option<bool>> {
    let row: Option<(Option<String>, Option<NaiveDateTime>)> = awards::table
        .find(id)
        .select((
            awards::confidentiality_terms,
            awards::confidentiality_accepted_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(terms, at)| terms.map(|_| at.is_some())))
}

/// Each side may review the other once, within the window after completion.
pub fn review(
    conn: &mut DbConnection,
    st: &AppState,
    reviewer: i64,
    id: i64,
    req: NewReview,
) -> AppResult<AwardView> {
    let row = load_for(conn, id, Some(reviewer))?;
    if !(1..=5).contains(&req.rating)
        || req.body.trim().is_empty()
        || req.body.chars().count() > 1000
    {
        return Err(AppError::invalid_field(
            "rating",
            "review.invalid",
            "评分须为 1–5，评价内容 1–1000 个字符",
            "Rating 1–5 and a text of 1–1000 characters",
        ));
    }
    let Some(completed_at) = row
        .completed_at
        .filter(|_| row.status == AwardStatus::Completed)
    else {
        return Err(AppError::conflict(
            "review.not_completed",
            "订单完成后才能评价",
            "Reviews open once the award is completed",
        ));
    };
    if st.clock.now_naive() > completed_at + Duration::days(st.settings.market.review_window_days) {
        return Err(AppError::conflict(
            "review.window_closed",
            "评价期已结束",
            "The review window has closed",
        ));
    }
    let reviewee = if reviewer == row.employer_id {
        row.provider_id
    } else {
        row.employer_id
    };
    diesel::insert_into(reviews::table)
        .values((
            reviews::award_id.eq(id),
            reviews::reviewer_id.eq(reviewer),
            reviews::reviewee_id.eq(reviewee),
            reviews::rating.eq(req.rating),
            reviews::body.eq(req.body.trim()),
            reviews::created_at.eq(st.clock.now_naive()),
        ))
        .execute(conn)
        .map_err(|e| {
            crate::platform::db::unique_or(e, |_| {
                AppError::conflict(
                    "review.duplicate",
                    "您已评价过该订单",
                    "You already reviewed this award",
                )
            })
        })?;
    view(conn, st, row, Some(reviewer))
}

/// A user's rating from reviews that are visible (double-blind rule) and
/// the number of awards they completed as provider.
pub fn reputation(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
) -> AppResult<(Option<f64>, i64, i64)> {
    let window = Duration::days(st.settings.market.review_window_days);
    let now = st.clock.now_naive();
    let received: Vec<(i64, i32, Option<NaiveDateTime>)> = reviews::table
        .inner_join(awards::table.on(awards::id.eq(reviews::award_id)))
        .filter(reviews::reviewee_id.eq(user_id))
        .select((reviews::award_id, reviews::rating, awards::completed_at))
        .load(conn)?;
    // How many reviews each of those awards has, in one grouped query.
    let award_ids: Vec<i64> = received.iter().map(|r| r.0).collect();
    let counts: std::collections::HashMap<i64, i64> = reviews::table
        .filter(reviews::award_id.eq_any(&award_ids))
        .group_by(reviews::award_id)
        .select((reviews::award_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let shown: Vec<f64> = received
        .into_iter()
        .filter(|(award_id, _, completed_at)| {
            counts.get(award_id).copied().unwrap_or(0) >= 2
                || completed_at.is_some_and(|c| now >= c + window)
        })
        .map(|(_, rating, _)| f64::from(rating))
        .collect();
    let completed: i64 = awards::table
        .filter(awards::provider_id.eq(user_id))
        .filter(awards::status.eq(AwardStatus::Completed))
        .count()
        .get_result(conn)?;
    let average = (!shown.is_empty())
        .then(|| (shown.iter().sum::<f64>() / shown.len() as f64 * 10.0).round() / 10.0);
    Ok((average, shown.len() as i64, completed))
}

#[cfg(test)]
mod tests {
    use super::fee_for;

    #[test]
    fn mkt4_fee_is_rounded_half_up_in_fen() {
        assert_eq!(fee_for(60_000, 500), 3_000);
        assert_eq!(fee_for(1, 500), 0);
        assert_eq!(fee_for(10, 500), 1);
        assert_eq!(fee_for(9, 500), 0);
        assert_eq!(fee_for(12_345, 500), 617);
        assert_eq!(fee_for(12_345, 0), 0);
        // At the highest allowed rate a 1-fen price still pays the provider.
        assert_eq!(fee_for(1, 5_000), 0);
        assert_eq!(fee_for(2, 5_000), 1);
    }
}
