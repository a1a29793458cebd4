//! Conduct and the security deposit (VIO-1..VIO-6, DEP-1..DEP-8):
//! complaints and reports, violations with their measures, appeals, and the
//! 保证金 lifecycle from requirement to refund.
//!
//! What the rest of the platform asks of this module is here: may this user
//! take orders, publish or withdraw right now (`require_*`), their credit
//! score, and their published penalty decisions.

pub mod complaints;
pub mod deposit;
pub mod model;
pub mod routes;
pub mod violations;

use crate::platform::enums::text_enum;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use model::{DepositStatus, MeasureKind, MeasureStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::db::schema::{deposits, measure_services, measures};
use crate::platform::db::{DbConnection, MultiBackend};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;
use diesel::sql_types::{BigInt, Text};

/// What a complaint, report or violation is about (VIO-2). The first four
/// are the code-of-conduct breaches of the deposit rules (VIO-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ConductCategory)]
pub enum Category {
    /// 辱骂、威胁雇主.
    AbusiveLanguage,
    /// 删除、拉黑雇主或拒绝联系.
    RefusedContact,
    /// 泄露雇主商业秘密.
    ConfidentialityBreach,
    /// 工作期间失联超过两天.
    Unreachable,
    FraudulentDemand,
    ProhibitedContent,
    PaymentMisuse,
    AutomatedAccess,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AbusiveLanguage => "abusive_language",
            Category::RefusedContact => "refused_contact",
            Category::ConfidentialityBreach => "confidentiality_breach",
            Category::Unreachable => "unreachable",
            Category::FraudulentDemand => "fraudulent_demand",
            Category::ProhibitedContent => "prohibited_content",
            Category::PaymentMisuse => "payment_misuse",
            Category::AutomatedAccess => "automated_access",
            Category::Other => "other",
        }
    }

    /// VIO-4: one of the four breaches of the code of conduct.
    pub fn is_conduct_breach(self) -> bool {
        matches!(
            self,
            Category::AbusiveLanguage
                | Category::RefusedContact
                | Category::ConfidentialityBreach
                | Category::Unreachable
        )
    }

    pub fn label(s: &str) -> &'static str {
        match s {
            "abusive_language" => "辱骂或威胁",
            "refused_contact" => "删除、拉黑雇主或拒绝联系",
            "confidentiality_breach" => "泄露保密信息",
            "unreachable" => "工作期间失联超过两天",
            "fraudulent_demand" => "虚假需求",
            "prohibited_content" => "违禁内容",
            "payment_misuse" => "违规支付",
            "automated_access" => "自动化访问",
            _ => "其他违规",
        }
    }
}

/// A link to evidence stored elsewhere (photo, screenshot, recording).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = r"^https?://[^\s]{1,490}$", example = "https://files.example.com/evidence/1.jpg")]
pub struct Link(pub String);

/// Checks evidence links and stores them as a JSON array.
pub fn evidence_json(links: &[Link], max: usize) -> AppResult<String> {
    if links.len() > max {
        return Err(AppError::invalid_field(
            "evidence",
            "evidence.too_many",
            format!("凭证最多 {max} 项"),
            format!("At most {max} pieces of evidence"),
        ));
    }
    for (i, Link(url)) in links.iter().enumerate() {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            (1..=490).contains(&r.chars().count()) && !r.chars().any(char::is_whitespace)
        });
        if !ok {
            return Err(AppError::invalid_field(
                &format!("evidence[{i}]"),
                "evidence.invalid",
                "凭证须为 http(s) 链接",
                "Evidence must be http(s) links",
            ));
        }
    }
    serde_json::to_string(links).map_err(AppError::internal)
}

pub fn evidence_of(stored: &str) -> Vec<Link> {
    serde_json::from_str(stored).unwrap_or_default()
}

text_enum! {
    /// Services a suspension can cover (VIO-3); a suspension stores one
    /// `measure_services` row per service.
    pub enum Service {
        /// Being awarded work (接单).
        OrderTaking = "order_taking",
        Publishing = "publishing",
        Bidding = "bidding",
        Withdrawal = "withdrawal",
    }
}

impl Service {
    fn label(self) -> &'static str {
        match self {
            Service::OrderTaking => "接单",
            Service::Publishing => "发布需求",
            Service::Bidding => "竞标",
            Service::Withdrawal => "提现",
        }
    }
}

/// An active suspension of `service` covering `user_id` at `now` (its id,
/// at most one row), as a subquery other features can put in their own
/// statement (`single_value()`; MultiConnection cannot put a boxed query in
/// `EXISTS`).
pub fn suspension_query(
    user_id: i64,
    now: NaiveDateTime,
    service: Service,
) -> measures::BoxedQuery<'static, MultiBackend, BigInt> {
    measures::table
        .filter(measures::user_id.eq(user_id))
        .filter(measures::kind.eq(MeasureKind::Suspend))
        .filter(measures::status.eq(MeasureStatus::Active))
        .filter(measures::starts_at.le(now))
        .filter(measures::ends_at.is_null().or(measures::ends_at.gt(now)))
        .filter(
            measures::id.eq_any(
                measure_services::table
                    .filter(measure_services::service.eq(service))
                    .select(measure_services::measure_id),
            ),
        )
        .select(measures::id)
        .limit(1)
        .into_boxed()
}

/// Whether an active suspension of `service` covers `user_id` now.
fn suspended(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    service: Service,
) -> AppResult<bool> {
    let found: Option<i64> =
        diesel::select(suspension_query(user_id, now, service).single_value()).get_result(conn)?;
    Ok(found.is_some())
}

fn suspended_error(service: Service) -> AppError {
    AppError::forbidden(
        "conduct.suspended",
        format!("因违规处理，您的{}服务已被暂停", service.label()),
        format!(
            "Your {} service is suspended by a conduct decision",
            service.as_str().replace('_', " ")
        ),
    )
}

/// VIO-3: refuses with 403 `conduct.suspended` while `service` is suspended.
pub fn require_service(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    service: Service,
) -> AppResult<()> {
    if suspended(conn, st.clock.now_naive(), user_id, service)? {
        return Err(suspended_error(service));
    }
    Ok(())
}

/// What decides whether a provider may take orders (MKT-2, VIO-4, DEP-2,
/// DEP-3), as expressions another feature can select in its own statement
/// (a bid reads them with the rest of its checks in one query).
pub type OrderTakingStanding = (
    diesel::dsl::SingleValue<measures::BoxedQuery<'static, MultiBackend, BigInt>>,
    diesel::dsl::SingleValue<measures::BoxedQuery<'static, MultiBackend, BigInt>>,
    diesel::dsl::SingleValue<deposits::BoxedQuery<'static, MultiBackend, Text>>,
);

/// The values of an [`OrderTakingStanding`]: an order-taking suspension,
/// a bidding suspension (their ids), the deposit's status.
pub type OrderTakingFacts = (Option<i64>, Option<i64>, Option<DepositStatus>);

pub fn order_taking_standing(user_id: i64, now: NaiveDateTime) -> OrderTakingStanding {
    (
        suspension_query(user_id, now, Service::OrderTaking).single_value(),
        suspension_query(user_id, now, Service::Bidding).single_value(),
        deposits::table
            .find(user_id)
            .select(deposits::status)
            .into_boxed()
            .single_value(),
    )
}

/// MKT-2, VIO-4, DEP-2, DEP-3: may this provider bid and be awarded now?
/// Refuses while order-taking or bidding is suspended, or while the
/// deposit shields their orders (required and unpaid, overdue, refunding).
pub fn require_order_taking(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<()> {
    let facts: OrderTakingFacts =
        diesel::select(order_taking_standing(user_id, st.clock.now_naive())).get_result(conn)?;
    judge_order_taking(facts)
}

/// The refusal, if any, that [`OrderTakingFacts`] call for.
pub fn judge_order_taking(
    (order_taking_suspended, bidding_suspended, deposit): OrderTakingFacts,
) -> AppResult<()> {
    if order_taking_suspended.is_some() {
        return Err(suspended_error(Service::OrderTaking));
    }
    if bidding_suspended.is_some() {
        return Err(suspended_error(Service::Bidding));
    }
    match deposit {
        Some(DepositStatus::PaymentDue) => Err(AppError::forbidden(
            "deposit.required",
            "须先缴纳保证金，缴清前订单已屏蔽、不能接单",
            "A security deposit is required; until it is paid your orders are shielded and you cannot take orders",
        )),
        Some(DepositStatus::Overdue) => Err(AppError::forbidden(
            "deposit.overdue",
            "保证金逾期未缴足，接单已暂停，请联系平台",
            "The security deposit is overdue; order-taking is suspended until staff reinstate it",
        )),
        Some(DepositStatus::Refunding | DepositStatus::Refunded) => Err(AppError::forbidden(
            "deposit.refunding",
            "保证金退还期间不能接单",
            "You cannot take orders while your deposit is being refunded",
        )),
        _ => Ok(()),
    }
}

/// VIO-3: the credit score: the starting score less the points of every
/// deduction in force, never below zero.
pub fn credit_score(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<i32> {
    let deducted: Option<i64> = measures::table
        .filter(measures::user_id.eq(user_id))
        .filter(measures::kind.eq(MeasureKind::DeductCredit))
        .filter(measures::status.eq(MeasureStatus::Active))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(points) AS BIGINT)"))
        .first(conn)?;
    let start = i64::from(st.settings.conduct.credit_start);
    Ok((start - deducted.unwrap_or(0)).max(0) as i32)
}
