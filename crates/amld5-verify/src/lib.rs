#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aml;
pub mod amld5;
pub mod auth;
pub mod client;
pub mod error;
mod identity;
pub mod user;
pub mod verification;

/// The provider's name in [`AmlState::provider`], [`ApplicantKey`](compliance_core::ApplicantKey)s
/// and deduplication keys: `"btcdirect"`.
pub const PROVIDER: &str = "btcdirect";

pub use aml::UserAml;
pub use amld5::{
    Amld5Answer, Amld5Answers, Amld5AnswersBuilder, Amld5Question, Amld5Questions, AnswerError,
    AnswerOption,
};
pub use auth::{Er801Reading, PartnerAuth, TokenPolicy, UserContext, UserSession};
pub use client::{BtcDirectClient, BtcDirectClientBuilder, Environment};
pub use error::{ApiError, ApiErrors, Error, ErrorCode, Result};
pub use user::UserInfo;
pub use verification::{VerificationItem, VerificationStatus};

// What this crate's API and README use from the shared core, so that a user of this crate
// never names `compliance_core` (the workspace's re-export rule, in its root README).
pub use compliance_core::Error as CoreError;
pub use compliance_core::http::{HttpClientBuilder, RetryPolicy, TransportConfig};
pub use compliance_core::{
    Actionable, AmlError, AmlProvider, AmlState, AmlStatus, ExposeSecret, Money, NextStep,
    RequiredAction, SecretString, Subject, SubjectKind, SubjectRef, Timestamp,
};
