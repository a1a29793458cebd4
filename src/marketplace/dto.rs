//! Bodies of the marketplace endpoints.

use super::model::{AwardStatus, BidStatus, DemandStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::money::Money;

/// `GET /api/v1/regions` (WRK-2).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// A province or city code: its children; none: the provinces.
    #[param(pattern = r"^[1-9][0-9]{5}$")]
    pub parent: Option<String>,
}

/// A demand category (seeded list).
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    #[schema(example = "ground_promotion")]
    pub code: String,
    #[schema(example = "地推")]
    pub name: String,
}

/// `POST /api/v1/demands` (MKT-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "周末商场地推 3 人",
    "description": "上海徐汇区商场门口派发传单并引导扫码注册，每天 6 小时，需拍照打卡。",
    "category": "ground_promotion",
    "region_code": "310104",
    "region_name": "上海市徐汇区",
    "budget": "1800.00",
    "workers_wanted": 3,
    "bid_deadline": "2026-12-01T12:00:00Z",
    "work": {
        "address": "徐家汇商场东门",
        "location": {"lat": 31.1955, "lng": 121.4374},
        "start_date": "2026-12-05",
        "end_date": "2026-12-06",
        "daily_start": "10:00",
        "daily_end": "16:00",
        "pay_unit": "per_day"
    }
}))]
pub struct NewDemand {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub title: String,
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub description: String,
    /// A code from `GET /api/v1/categories`.
    #[schema(pattern = r"^[a-z_]{1,40}$")]
    pub category: String,
    /// Six-digit administrative division code (GB/T 2260).
    #[schema(pattern = r"^[1-9][0-9]{5}$")]
    pub region_code: String,
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub region_name: String,
    pub budget: Money,
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(deserialize_with = "crate::platform::http::integer::i32")]
    pub workers_wanted: i32,
    /// In the future, at most `MAX_BID_DEADLINE_DAYS` (90) days ahead.
    pub bid_deadline: DateTime<Utc>,
    /// Where and when the work is (WRK-1).
    pub work: WorkPlan,
}

crate::platform::enums::text_enum! {
    /// How the budget is counted (WRK-1).
    pub enum PayUnit {
        /// Per person per day.
        PerDay = "per_day",
        /// Per person taken on.
        PerHead = "per_head",
        /// Per piece (sign-up, leaflet batch…).
        PerPiece = "per_piece",
        /// One sum for the whole job.
        LumpSum = "lump_sum",
    }
}

/// Where and when the work is (WRK-1).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkPlan {
    /// The work address, e.g. `徐家汇商场东门`.
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// The work location (inside China).
    pub location: crate::platform::geo::GeoPoint,
    /// First working day (China date), on or after the bidding deadline's
    /// date.
    pub start_date: chrono::NaiveDate,
    /// Last working day: on or after `start_date`, at most 90 days later.
    pub end_date: chrono::NaiveDate,
    /// Daily start, `HH:MM` (China time).
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub daily_start: String,
    /// Daily end, `HH:MM`, after the start; a day is 30 minutes to 14 hours.
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub daily_end: String,
    pub pay_unit: PayUnit,
}

/// A demand's work plan as shown, with its region's levels.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkPlanView {
    pub address: String,
    pub location: crate::platform::geo::GeoPoint,
    pub start_date: chrono::NaiveDate,
    pub end_date: chrono::NaiveDate,
    pub daily_start: String,
    pub daily_end: String,
    pub pay_unit: PayUnit,
}

/// `PATCH /api/v1/demands/{id}`: only while open and without bids.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandPatch {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub title: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub description: Option<String>,
    pub budget: Option<Money>,
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "crate::platform::http::integer::opt_i32")]
    pub workers_wanted: Option<i32>,
    pub bid_deadline: Option<DateTime<Utc>>,
    /// A new work plan, replacing the old one whole (WRK-1).
    pub work: Option<WorkPlan>,
}

/// A demand.
#[derive(Debug, Serialize, ToSchema)]
pub struct DemandView {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub description: String,
    pub category: String,
    pub region_code: String,
    pub region_name: String,
    pub budget: Money,
    pub workers_wanted: i32,
    pub bid_deadline: DateTime<Utc>,
    pub status: DemandStatus,
    pub bid_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The region's province and city codes (GB/T 2260; WRK-1).
    pub province_code: Option<String>,
    pub city_code: Option<String>,
    /// Where and when the work is (none on demands published before
    /// WRK-1).
    pub work: Option<WorkPlanView>,
    /// From the `near` point of a search by distance, in kilometres.
    pub distance_km: Option<f64>,
}

/// Sort orders of `GET /api/v1/demands`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum DemandSort {
    /// Newest first (default).
    #[default]
    Newest,
    /// Highest budget first.
    Budget,
    /// Soonest bidding deadline first.
    Deadline,
    /// Nearest first: the order of a search `near` a point (without one,
    /// the newest first).
    Distance,
}

/// Filters of `GET /api/v1/demands` (MKT-6).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DemandQuery {
    /// A category code.
    #[param(pattern = r"^[a-z_]{1,40}$")]
    pub category: Option<String>,
    /// A six-digit GB/T 2260 code at any level (WRK-2): a province
    /// (`310000`) or city (`310100`) includes its districts (`GET /regions`).
    #[param(pattern = r"^[1-9][0-9]{5}$")]
    pub region: Option<String>,
    /// Lowest budget, e.g. `"500.00"`.
    #[param(value_type = Option<String>, pattern = r"^(?!0+(\.0{1,2})?$)[0-9]{1,9}(\.[0-9]{1,2})?$")]
    pub budget_min: Option<Money>,
    /// Highest budget.
    #[param(value_type = Option<String>, pattern = r"^(?!0+(\.0{1,2})?$)[0-9]{1,9}(\.[0-9]{1,2})?$")]
    pub budget_max: Option<Money>,
    /// A point, `lat,lng` (e.g. `31.1955,121.4374`): demands whose work
    /// location is within `radius_km`, nearest first whatever `sort` says
    /// (WRK-2); a point outside China finds nothing. One request reads at
    /// most the 5,000 newest demands in the 0.1° grid cells around the
    /// point.
    #[param(pattern = r"^-?[0-9]{1,2}(\.[0-9]{1,7})?,-?[0-9]{1,3}(\.[0-9]{1,7})?$")]
    pub near: Option<String>,
    /// The radius of `near`, 1–50 km (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub radius_km: Option<i32>,
    /// Words in the title or description. A phrase whose every character
    /// pair is common reads at most `SEARCH_WINDOW` (20,000) demands holding
    /// its first pair per request: in the newest sort a page may then be
    /// short, even empty, with a `next_cursor` that goes on below it; in the
    /// other sorts the newest 20,000 such demands are searched.
    #[param(min_length = 1, max_length = 50)]
    pub q: Option<String>,
    /// `open` (default) or `awarded`, `completed`, `expired`.
    #[param(pattern = "^(open|awarded|completed|expired)$")]
    pub status: Option<String>,
    pub sort: Option<DemandSort>,
    /// Items per page (1–100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (for the same sort).
    #[param(pattern = r"^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
}

/// `POST /api/v1/demands/{id}/bids` (MKT-2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price": "600.00", "proposal": "本人有 3 年地推经验，可提供团队 3 人，周末全天。"}))]
pub struct NewBid {
    pub price: Money,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub proposal: String,
}

/// A bid.
#[derive(Debug, Serialize, ToSchema)]
pub struct BidView {
    pub id: i64,
    pub demand_id: i64,
    pub provider_id: i64,
    pub price: Money,
    pub proposal: String,
    pub status: BidStatus,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/demands/{id}/awards` (MKT-3).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardRequest {
    /// Bids to award, at most the workers wanted.
    #[schema(min_items = 1, max_items = 100)]
    #[serde(deserialize_with = "crate::platform::http::integer::vec_i64")]
    pub bid_ids: Vec<i64>,
    /// Confidentiality terms the providers accept before they see files
    /// sent as confidential (MSG-6, DR ③).
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    #[serde(default)]
    pub confidentiality_terms: Option<String>,
}

/// Confidentiality terms of an award and their acceptance (MSG-6).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfidentialityView {
    pub terms: String,
    /// When the provider accepted them; files sent as confidential are
    /// served to the provider only from then.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// One piece of delivery evidence (for 地推: photos and check-ins).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// `photo`, `checkin` or `document`.
    #[schema(pattern = "^(photo|checkin|document)$")]
    pub kind: String,
    /// Where the file lives (uploaded elsewhere).
    #[schema(min_length = 1, max_length = 500, pattern = "^https?://")]
    pub url: Option<String>,
    /// Check-in place, e.g. `"31.1880,121.4370 徐家汇商场东门"`.
    #[schema(min_length = 1, max_length = 200)]
    pub location: Option<String>,
    /// When the photo or check-in was taken.
    pub taken_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/awards/{id}/deliver` (MKT-4).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub note: String,
    /// Links to evidence kept elsewhere (legacy; prefer `file_ids`).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub evidence: Vec<Evidence>,
    /// Uploaded evidence (`POST /files`, the provider's own files; FIL-3):
    /// the award's parties may read them.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 20)]
    pub file_ids: Vec<i64>,
}

/// A review as shown (double-blind until both are in or the window ends).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub reviewer_id: i64,
    pub reviewee_id: i64,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// An award (MKT-3, MKT-4).
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardView {
    pub id: i64,
    pub demand_id: i64,
    pub bid_id: i64,
    pub employer_id: i64,
    pub provider_id: i64,
    /// Held from the employer when awarded.
    pub price: Money,
    /// The platform fee taken at completion.
    pub fee: Option<crate::platform::money::SignedFen>,
    pub status: AwardStatus,
    pub delivery_note: Option<String>,
    pub evidence: Vec<Evidence>,
    /// The delivery's uploaded evidence (FIL-3), with its upload times.
    pub files: Vec<crate::files::FileView>,
    /// The provider's check-ins, oldest first (WRK-3).
    pub check_ins: Vec<CheckInView>,
    /// The parties' conversation (MSG-1), opened at award.
    pub conversation_id: Option<i64>,
    /// Confidentiality terms, if the employer attached any (MSG-6).
    pub confidentiality: Option<ConfidentialityView>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Visible once both sides reviewed or the review window closed.
    pub reviews: Vec<ReviewView>,
    /// Whether the caller already reviewed this award.
    pub reviewed_by_me: bool,
}

/// `POST /api/v1/awards/{id}/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    #[schema(minimum = 1, maximum = 5)]
    #[serde(deserialize_with = "crate::platform::http::integer::i32")]
    pub rating: i32,
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub body: String,
}

crate::platform::enums::text_enum! {
    /// Arriving or leaving.
    pub enum CheckInKind {
        In = "in",
        Out = "out",
    }
}

/// `POST /api/v1/awards/{id}/check-ins`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckIn {
    pub kind: CheckInKind,
    /// Where the provider is (the phone's WGS-84 fix).
    pub location: crate::platform::geo::GeoPoint,
    /// The photo taken there (`POST /files`, purpose `check_in`).
    #[serde(deserialize_with = "crate::platform::http::integer::i64")]
    pub file_id: i64,
}

/// A check-in as the award's parties see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckInView {
    pub id: i64,
    pub award_id: i64,
    pub provider_id: i64,
    pub kind: CheckInKind,
    pub location: crate::platform::geo::GeoPoint,
    /// Metres from the demand's work location (none when the demand
    /// states no location).
    pub distance_m: Option<i32>,
    /// Farther than the geofence (`CHECKIN_GEOFENCE_M`, 500 m).
    pub off_site: bool,
    pub photo: crate::files::FileView,
    /// The working day (China date) it counts for.
    pub work_day: chrono::NaiveDate,
    /// Stamped by the server.
    pub checked_at: DateTime<Utc>,
}

/// One provider on the roster of a demand (WRK-3).
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterEntry {
    pub award_id: i64,
    pub provider_id: i64,
    pub award_status: super::model::AwardStatus,
    /// Checked in and not out.
    pub on_site_now: bool,
    pub last_check_in: Option<CheckInView>,
    pub check_ins: i64,
    /// Of them, beyond the geofence.
    pub off_site_check_ins: i64,
}
