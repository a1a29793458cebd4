//! The marketplace's states: a demand, a bid and an award each move
//! through these, and only the marketplace writes them (its transition
//! functions live in `demands.rs`, `bids.rs` and `awards.rs`).

use crate::platform::enums::text_enum;

text_enum! {
    /// Where a demand stands (MKT-1, MKT-5).
    pub enum DemandStatus {
        /// Taking bids until the deadline.
        Open = "open",
        /// At least one bid won; work under way.
        Awarded = "awarded",
        Completed = "completed",
        Cancelled = "cancelled",
        /// The bidding deadline passed without an award.
        Expired = "expired",
        /// Taken down by a moderator (VIO-3).
        Removed = "removed",
    }
}

impl DemandStatus {
    /// States in which a demand still involves its owner (ACC-10 blockers).
    pub const LIVE: [DemandStatus; 2] = [DemandStatus::Open, DemandStatus::Awarded];
}

text_enum! {
    /// Where a bid stands (MKT-2).
    pub enum BidStatus {
        Active = "active",
        Withdrawn = "withdrawn",
        Awarded = "awarded",
        /// The demand was awarded to others or closed.
        NotSelected = "not_selected",
    }
}

text_enum! {
    /// Where an award stands (MKT-3, MKT-4, DSP-1).
    pub enum AwardStatus {
        InProgress = "in_progress",
        Delivered = "delivered",
        Completed = "completed",
        Cancelled = "cancelled",
        /// Under dispute: the hold is frozen until staff decide (DSP-1).
        Disputed = "disputed",
    }
}

impl AwardStatus {
    /// Work not finished: the hold is live and confirmable.
    pub const UNDER_WAY: [AwardStatus; 2] = [AwardStatus::InProgress, AwardStatus::Delivered];
    /// Not finished in any way, a frozen dispute included.
    pub const OPEN: [AwardStatus; 3] = [
        AwardStatus::InProgress,
        AwardStatus::Delivered,
        AwardStatus::Disputed,
    ];
}
