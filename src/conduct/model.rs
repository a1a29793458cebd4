//! Conduct's states and kinds: complaints, violations and their measures,
//! appeals, the security deposit and its refund. Stored as text, matched
//! exhaustively; only conduct writes the rows that hold them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::enums::text_enum;

text_enum! {
    /// Where a complaint or report stands (VIO-1).
    pub enum ComplaintStatus {
        Open = "open",
        /// A violation was recorded on it.
        Actioned = "actioned",
        Dismissed = "dismissed",
    }
}

text_enum! {
    /// A recorded violation: in force until an upheld appeal revokes it.
    pub enum ViolationStatus {
        InForce = "in_force",
        Revoked = "revoked",
    }
}

text_enum! {
    /// Where an appeal stands (VIO-6).
    pub enum AppealStatus {
        Pending = "pending",
        Upheld = "upheld",
        Rejected = "rejected",
    }
}

text_enum! {
    /// A measure in force, or revoked by an upheld appeal.
    pub enum MeasureStatus {
        Active = "active",
        Revoked = "revoked",
    }
}

text_enum! {
    /// A measure as shown: in force, over (its period ended) or revoked.
    pub enum MeasureState {
        Active = "active",
        /// Its period is over.
        Ended = "ended",
        /// An upheld appeal revoked it.
        Revoked = "revoked",
    }
}

text_enum! {
    /// The measures a violation can carry (VIO-3, VIO-4).
    pub enum MeasureKind {
        /// A demand of the user taken down.
        RemoveContent = "remove_content",
        DeductCredit = "deduct_credit",
        RestrictMarketing = "restrict_marketing",
        /// Services suspended (rows in `measure_services`).
        Suspend = "suspend",
        /// A penalty from the deposit or the user's funds.
        DeductPenalty = "deduct_penalty",
        /// The account sealed (fundamental breach).
        Seal = "seal",
        /// A code-of-conduct breach requires the deposit (VIO-4).
        RequireDeposit = "require_deposit",
    }
}

text_enum! {
    /// Where a user's security deposit stands (DEP-1..7).
    pub enum DepositStatus {
        NotRequired = "not_required",
        /// Required and not yet paid in full; orders shielded.
        PaymentDue = "payment_due",
        Active = "active",
        /// Below the requirement after a deduction or increase.
        TopUpDue = "top_up_due",
        /// A deadline passed unpaid.
        Overdue = "overdue",
        Refunding = "refunding",
        Refunded = "refunded",
    }
}

impl DepositStatus {
    /// States in which the provider's orders are shielded (DEP-2, DEP-6, DEP-7).
    pub const SHIELDED: [DepositStatus; 4] = [
        DepositStatus::PaymentDue,
        DepositStatus::Overdue,
        DepositStatus::Refunding,
        DepositStatus::Refunded,
    ];
    /// States in which money is owed (refund and closure blockers).
    pub const ARREARS: [DepositStatus; 3] = [
        DepositStatus::PaymentDue,
        DepositStatus::TopUpDue,
        DepositStatus::Overdue,
    ];
}

text_enum! {
    /// Where a deposit refund stands (DEP-7).
    pub enum RefundStatus {
        /// The observation period runs.
        Observation = "observation",
        PayoutPending = "payout_pending",
        Paid = "paid",
        PayoutFailed = "payout_failed",
    }
}

/// Something open on an account that blocks a deposit refund or closure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Blocker {
    /// Stable code, e.g. `info_request_open`.
    #[schema(example = "info_request_open")]
    pub code: String,
    /// How many such items are open.
    pub count: i64,
}

impl Blocker {
    /// Adds a blocker with `code` to `out` when `count` is positive.
    pub fn push_if(out: &mut Vec<Blocker>, code: &str, count: i64) {
        if count > 0 {
            out.push(Blocker {
                code: code.into(),
                count,
            });
        }
    }
}
