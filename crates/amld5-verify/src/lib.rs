#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod amld5;
pub mod auth;
mod classify;
pub mod client;
pub mod error;
mod identity;
mod sign;
pub mod user;
pub mod verification;

pub use amld5::{
    Amld5Answer, Amld5Answers, Amld5AnswersBuilder, Amld5Question, Amld5Questions, AnswerError,
    AnswerOption,
};
pub use auth::{Er801Reading, PartnerAuth, TokenPolicy, UserContext, UserSession};
pub use client::{BtcDirectClient, BtcDirectClientBuilder, Environment};
pub use error::{ApiError, ApiErrors, Error, ErrorCode, NextStep, Result};
pub use user::UserInfo;
pub use verification::{UserAml, VerificationItem, VerificationStatus};

/// Re-exports from [`compliance_core`] that appear in this crate's API.
pub use compliance_core::{
    AmlProvider, AmlState, AmlStatus, ExposeSecret, Money, SecretString, Subject, SubjectRef,
    Timestamp, http::HttpClientBuilder, http::TransportConfig,
};
