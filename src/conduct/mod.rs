//! Conduct and the security deposit (VIO-1..VIO-6, DEP-1..DEP-8):
//! complaints and reports, violations with their measures, appeals, and the
//! 保证金 lifecycle from requirement to refund.
//!
//! What the rest of the platform asks of this module is here: may this user
//! take orders, publish or withdraw right now (`require_*`), their credit
//! score, and their published penalty decisions.

pub mod complaints;
pub mod deposit;
pub mod routes;
pub mod violations;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{deposits, measures};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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

/// Free text of 1–`max` characters, newlines allowed.
pub fn long_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let bad = value.trim().is_empty()
        || value.chars().count() > max
        || value
            .chars()
            .any(|c| (c <= '\u{1f}' && c != '\n' && c != '\r' && c != '\t') || c == '\u{7f}');
    if bad {
        return Err(AppError::invalid_field(
            field,
            "text.invalid",
            format!("{field} 须为 1–{max} 个字符、不能为空白且不含控制字符"),
            format!("{field} must be 1–{max} characters, not blank, without control characters"),
        ));
    }
    Ok(value.trim().to_string())
}

/// Services a suspension can cover (VIO-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Being awarded work (接单).
    OrderTaking,
    Publishing,
    Bidding,
    Withdrawal,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::OrderTaking => "order_taking",
            Service::Publishing => "publishing",
            Service::Bidding => "bidding",
            Service::Withdrawal => "withdrawal",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Service::OrderTaking => "接单",
            Service::Publishing => "发布需求",
            Service::Bidding => "竞标",
            Service::Withdrawal => "提现",
        }
    }
}

/// Measure states.
pub mod measure_status {
    pub const ACTIVE: &str = "active";
    pub const REVOKED: &str = "revoked";
}

/// Whether an active suspension of `service` covers `user_id` now.
fn suspended(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    service: Service,
) -> AppResult<bool> {
    // `services` is stored as ",bidding,withdrawal," so LIKE matches whole names.
    Ok(diesel::select(diesel::dsl::exists(
        measures::table
            .filter(measures::user_id.eq(user_id))
            .filter(measures::kind.eq("suspend"))
            .filter(measures::status.eq(measure_status::ACTIVE))
            .filter(measures::starts_at.le(now))
            .filter(measures::ends_at.is_null().or(measures::ends_at.gt(now)))
            .filter(measures::services.like(format!("%,{},%", service.as_str()))),
    ))
    .get_result(conn)?)
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

/// MKT-2, VIO-4, DEP-2, DEP-3: may this provider bid and be awarded now?
/// Refuses while order-taking or bidding is suspended, or while the
/// deposit shields their orders (required and unpaid, overdue, refunding).
pub fn require_order_taking(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<()> {
    for service in [Service::OrderTaking, Service::Bidding] {
        require_service(conn, st, user_id, service)?;
    }
    let status: Option<String> = deposits::table
        .find(user_id)
        .select(deposits::status)
        .first(conn)
        .optional()?;
    match status.as_deref() {
        Some(deposit::status::PAYMENT_DUE) => Err(AppError::forbidden(
            "deposit.required",
            "须先缴纳保证金，缴清前订单已屏蔽、不能接单",
            "A security deposit is required; until it is paid your orders are shielded and you cannot take orders",
        )),
        Some(deposit::status::OVERDUE) => Err(AppError::forbidden(
            "deposit.overdue",
            "保证金逾期未缴足，接单已暂停，请联系平台",
            "The security deposit is overdue; order-taking is suspended until staff reinstate it",
        )),
        Some(deposit::status::REFUNDING | deposit::status::REFUNDED) => Err(AppError::forbidden(
            "deposit.refunding",
            "保证金退还期间不能接单",
            "You cannot take orders while your deposit is being refunded",
        )),
        _ => Ok(()),
    }
}

/// Whether the provider's bids and profile are hidden from others (DEP-2, DEP-3).
pub fn shielded_statuses() -> [&'static str; 4] {
    [
        deposit::status::PAYMENT_DUE,
        deposit::status::OVERDUE,
        deposit::status::REFUNDING,
        deposit::status::REFUNDED,
    ]
}

/// VIO-3: the credit score: the starting score less the points of every
/// deduction in force, never below zero.
pub fn credit_score(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<i32> {
    let deducted: Option<i64> = measures::table
        .filter(measures::user_id.eq(user_id))
        .filter(measures::kind.eq("deduct_credit"))
        .filter(measures::status.eq(measure_status::ACTIVE))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(points) AS BIGINT)"))
        .first(conn)?;
    let start = i64::from(st.settings.conduct.credit_start);
    Ok((start - deducted.unwrap_or(0)).max(0) as i32)
}

/// The instant a period of `days` China calendar days counted from the day
/// after `from` ends: 24:00 China time of the last day (the starting day is
/// not counted, as Chinese law counts periods), as UTC.
pub fn china_days_deadline(from: NaiveDateTime, days: i64) -> NaiveDateTime {
    let today = crate::verification::service::china_today(from);
    china_midnight_after(today + Duration::days(days))
}

/// 24:00 China time at the end of `day`, as UTC.
fn china_midnight_after(day: NaiveDate) -> NaiveDateTime {
    (day + Duration::days(1)).and_time(NaiveTime::MIN) - Duration::hours(8)
}

/// DEP-7: the end of the `n`th working day (Monday–Friday, not a listed
/// holiday; China time) after the day of `from`.
pub fn working_days_deadline(from: NaiveDateTime, n: i64, holidays: &[NaiveDate]) -> NaiveDateTime {
    use chrono::{Datelike, Weekday};
    let mut day = crate::verification::service::china_today(from);
    let mut counted = 0;
    while counted < n {
        day += Duration::days(1);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && !holidays.contains(&day) {
            counted += 1;
        }
    }
    china_midnight_after(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn dep2_three_china_calendar_days_end_at_china_midnight() {
        // 2026-11-21 15:00 UTC is 23:00 China on the 21st: days 22, 23, 24.
        assert_eq!(
            china_days_deadline(at("2026-11-21 15:00:00"), 3),
            at("2026-11-24 16:00:00")
        );
        // 2026-11-21 17:00 UTC is already the 22nd in China: days 23, 24, 25.
        assert_eq!(
            china_days_deadline(at("2026-11-21 17:00:00"), 3),
            at("2026-11-25 16:00:00")
        );
    }

    #[test]
    fn dep7_working_days_skip_weekends_and_holidays() {
        // Thursday 2026-12-31 (China): Fri 1 Jan is a holiday, then the
        // weekend; Mon 4, Tue 5, Wed 6 are the three working days.
        let holidays = [NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()];
        assert_eq!(
            working_days_deadline(at("2026-12-31 04:00:00"), 3, &holidays),
            at("2027-01-06 16:00:00")
        );
        // Without the holiday: Fri, Mon, Tue.
        assert_eq!(
            working_days_deadline(at("2026-12-31 04:00:00"), 3, &[]),
            at("2027-01-05 16:00:00")
        );
    }
}
