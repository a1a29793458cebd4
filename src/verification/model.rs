//! Verification's states.

use crate::platform::enums::text_enum;

text_enum! {
    /// Where a real-name verification stands (ACC-8).
    pub enum VerificationStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        /// The account closed: the identity may bind another account.
        Released = "released",
        /// Replaced by a staff-recorded transfer of the account.
        Transferred = "transferred",
        /// The bound identity submitted again at staff's request (ACC-6),
        /// waiting for review; the approved verification stays in force.
        ReverificationPending = "reverification_pending",
        /// An approved verification replaced by an approved re-verification
        /// of the same identity.
        Superseded = "superseded",
    }
}
