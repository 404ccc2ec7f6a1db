//! AML questionnaire links for a locked payment (`POST /v1/payment/aml-links`).
//!
//! When Heleket's AML programme holds a payment ([`PaymentStatus::Locked`]), the payer has
//! to complete a questionnaire (KYC or Source of Funds). Heleket returns one link per
//! questionnaire; hand the usable ones ([`AmlLink::is_usable_at`]: open and not past
//! `expired_at`) to the payer. A link can be past its `expired_at` while its status still
//! says `init` or `pending`: the time is what counts.
//!
//! [`PaymentStatus::Locked`]: crate::PaymentStatus::Locked

use compliance_core::open_enum;
use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

open_enum! {
    /// How far the payer got with a questionnaire.
    pub enum AmlLinkStatus {
        /// Created; the questionnaire has not been started.
        Init = "init",
        /// The questionnaire is in progress.
        Pending = "pending",
        /// The questionnaire is completed (final).
        Completed = "completed",
        /// The completion period ran out (final).
        Expired = "expired",
    }
}

impl AmlLinkStatus {
    /// Whether the payer can still use the link (`init`, `pending`).
    pub fn is_open(&self) -> bool {
        matches!(self, AmlLinkStatus::Init | AmlLinkStatus::Pending)
    }

    /// Whether the status will not change any more (`completed`, `expired`).
    pub fn is_final(&self) -> bool {
        matches!(self, AmlLinkStatus::Completed | AmlLinkStatus::Expired)
    }
}

/// One AML questionnaire link.
///
/// The link identifies the payer's questionnaire: give it to the payer, do not log it.
/// `Debug` shows its host only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AmlLink {
    /// The questionnaire to open.
    pub link: Url,
    /// When the link stops working (Heleket sends UTC with microseconds).
    pub expired_at: Timestamp,
    /// How far the payer got.
    pub status: AmlLinkStatus,
}

impl AmlLink {
    /// Whether the payer can still use the link at `now`: its status is open (`init`,
    /// `pending`) and `expired_at` has not passed.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        self.status.is_open() && now < self.expired_at
    }

    /// Whether the questionnaire can no longer be completed through this link at `now`:
    /// `expired`, or open but past `expired_at`.
    pub fn is_dead_at(&self, now: Timestamp) -> bool {
        self.status == AmlLinkStatus::Expired || (self.status.is_open() && now >= self.expired_at)
    }
}

impl std::fmt::Debug for AmlLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmlLink")
            .field(
                "link",
                &compliance_core::secret::RedactedUrl(self.link.as_str()),
            )
            .field("expired_at", &self.expired_at)
            .field("status", &self.status)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_past_its_expiry_is_dead_whatever_its_status() {
        let link: AmlLink = serde_json::from_str(
            r#"{"link":"https://some.link","expired_at":"2026-05-13T11:32:38.000000Z","status":"init"}"#,
        )
        .unwrap();
        let before: Timestamp = "2026-05-13T11:32:37Z".parse().unwrap();
        let after: Timestamp = "2026-05-13T11:32:38Z".parse().unwrap();
        assert!(link.is_usable_at(before) && !link.is_dead_at(before));
        assert!(!link.is_usable_at(after) && link.is_dead_at(after));
        let done = AmlLink {
            status: AmlLinkStatus::Completed,
            ..link.clone()
        };
        assert!(!done.is_usable_at(before) && !done.is_dead_at(after));
        let expired = AmlLink {
            status: AmlLinkStatus::Expired,
            ..link
        };
        assert!(!expired.is_usable_at(before) && expired.is_dead_at(before));
    }

    #[test]
    fn parses_with_microseconds_and_unknown_status() {
        let link: AmlLink = serde_json::from_str(
            r#"{"link":"https://some.link","expired_at":"2025-10-23T18:23:40.123456Z","status":"review"}"#,
        )
        .unwrap();
        assert_eq!(link.link.as_str(), "https://some.link/");
        assert_eq!(link.expired_at.subsec_microsecond(), 123_456);
        assert_eq!(link.status, AmlLinkStatus::Unknown("review".into()));
        assert!(!link.status.is_open() && !link.status.is_final());
        assert!(AmlLinkStatus::Init.is_open() && AmlLinkStatus::Expired.is_final());
    }
}
