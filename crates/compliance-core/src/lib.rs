#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod aml;
pub mod de;
pub mod error;
pub mod inbox;
pub mod json;
pub mod lenient;
pub mod metrics;
pub mod money;
pub mod open_enum;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod recorded;
mod redact;
pub mod rt;
pub mod secret;
pub mod store;
pub mod time;
pub mod webhook;

#[cfg(feature = "transport")]
#[cfg_attr(docsrs, doc(cfg(feature = "transport")))]
pub mod http;

pub use aml::{
    AmlError, AmlProvider, AmlState, AmlStatus, Question, RequiredAction, Risk, RiskLevel, Subject,
    SubjectKind, SubjectRef,
};
pub use error::{Actionable, BodySnippet, Error, NextStep, TimeoutKind};
pub use inbox::{Claim, ClaimToken, Inbox, InboxError, MemoryInbox};
pub use lenient::Lenient;
pub use money::{Decimal, Money};
pub use secret::{ExposeSecret, SecretString};
pub use store::{
    ApplicantKey, ApplicantNews, ApplicantRecord, ApplicantStore, Applied, Expected,
    MemoryApplicantStore, StoreError, apply_newer,
};
pub use time::{Date, Timestamp};

/// The axum the webhook [`Receiver`](webhook::Receiver) is built on (feature `axum`),
/// re-exported so an application mounts it with the same version: `Router`, `serve`.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum;

/// Re-exports used by [`open_enum!`](macro@open_enum). Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
