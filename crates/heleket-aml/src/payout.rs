//! Payouts, as far as this crate meets them: the status in payout webhooks and test
//! webhooks.

use compliance_core::open_enum;

open_enum! {
    /// The status of a payout.
    pub enum PayoutStatus {
        /// Being processed.
        Process = "process",
        /// Waiting for blockchain confirmations.
        Check = "check",
        /// Sent.
        Paid = "paid",
        /// Failed.
        Fail = "fail",
        /// Cancelled.
        Cancel = "cancel",
        /// Failed because of a Heleket system error.
        SystemFail = "system_fail",
    }
}

impl From<PayoutStatus> for String {
    fn from(status: PayoutStatus) -> String {
        match status {
            PayoutStatus::Unknown(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}
