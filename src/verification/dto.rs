//! Bodies of the verification endpoints.

use super::model::VerificationStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/me/verification`: an individual's or an organisation's identity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(example = json!({
    "kind": "individual",
    "legal_name": "张三",
    "id_number": "11010519491231002X"
}))]
pub enum VerificationRequest {
    /// A person: legal name and 18-digit resident ID (GB 11643). Under 18
    /// (age from the ID, China date) a guardian's consent is required.
    Individual {
        #[schema(
            min_length = 1,
            max_length = 50,
            pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
        )]
        legal_name: String,
        #[schema(pattern = r"^[0-9]{17}[0-9Xx]$", example = "11010519491231002X")]
        id_number: String,
        guardian: Option<GuardianConsent>,
    },
    /// A legal entity: name, Unified Social Credit Code (GB 32100) and legal representative.
    Organization {
        #[schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
        )]
        organization_name: String,
        #[schema(
            pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$",
            example = "91350100M000100Y43"
        )]
        credit_code: String,
        #[schema(
            min_length = 1,
            max_length = 50,
            pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
        )]
        legal_representative: String,
    },
}

/// A guardian's recorded consent for a minor (ACC-1).
#[derive(Debug, Deserialize, ToSchema)]
pub struct GuardianConsent {
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// The guardian's resident ID number; the guardian must be an adult.
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    /// e.g. 父亲, 母亲, 法定监护人.
    #[schema(
        min_length = 1,
        max_length = 20,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub relation: String,
}

/// A verification as its owner or staff see it: numbers masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub id: i64,
    pub user_id: i64,
    /// `individual` or `organization`.
    #[schema(example = "individual")]
    pub kind: String,
    /// The person's legal name or the organisation's name.
    #[schema(example = "张三")]
    pub legal_name: String,
    /// The ID number or credit code, masked.
    #[schema(example = "1101**********002X")]
    pub identity_masked: String,
    pub legal_representative: Option<String>,
    /// True when the person was under 18 at submission (ACC-1).
    pub minor: bool,
    pub guardian_name: Option<String>,
    #[schema(example = "1101**********1234")]
    pub guardian_id_masked: Option<String>,
    pub guardian_relation: Option<String>,
    /// `pending`, `approved`, `rejected`, `released` (account closed) or
    /// `transferred` (replaced by a staff-recorded transfer).
    pub status: VerificationStatus,
    pub reject_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A reason given by staff.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

/// `POST /api/v1/admin/users/{id}/transfer`: the new holder's identity and
/// the legal basis (inheritance, court ruling, company merger …).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "legal_basis": "（2026）沪0115民初12345号民事判决书",
    "identity": {"kind": "individual", "legal_name": "李四", "id_number": "11010519491231002X"}
}))]
pub struct TransferRequest {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub legal_basis: String,
    pub identity: VerificationRequest,
}
