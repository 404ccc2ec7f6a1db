#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aml;
pub mod applicant;
pub mod client;
pub mod crypto_aml;
mod de;
pub mod encryption;
mod envelope;
pub mod error;
pub mod questionnaire;
pub mod store;
pub mod token;
pub mod webhook;

/// The provider's name in [`AmlState::provider`], [`ApplicantKey`]s
/// and deduplication keys: `"elkyc"`.
pub const PROVIDER: &str = "elkyc";

pub use aml::{KycAml, Screening};
pub use applicant::{
    Applicant, ApplicantStatus, ApplicantStatusInfo, CreateApplicant, RestoredApplicant,
    ScheduledDeletion,
};
pub use client::{KycClient, KycClientBuilder};
pub use crypto_aml::{
    Blockchain, CryptoAmlRef, CryptoAmlReport, CryptoAmlSearch, CryptoAmlType, SearchTarget,
};
pub use encryption::{Cipher, EncryptionError, EncryptionOptions, EncryptionSettings};
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use envelope::Envelope;
pub use error::{ApiError, Error};
pub use questionnaire::Questionnaire;
pub use store::Applied;
pub use token::{TokenRequest, VerificationToken};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use webhook::WebhookReceiver;
pub use webhook::{
    ApplicantEvent, EventType, WebhookError, WebhookEvent, WebhookProcessor, WebhookVerifier,
    WebhookWorker,
};

// What this crate's API and README use from the shared core, so that a user of this crate
// never names `compliance_core` (the workspace's re-export rule, in its root README).
pub use compliance_core::Error as CoreError;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use compliance_core::axum;
pub use compliance_core::http::{HeaderMap, HttpClientBuilder, RetryPolicy, TransportConfig};
pub use compliance_core::webhook::{
    BoxError, DeliveryState, Handler, MemoryQueue, Outcome, ProcessError, Queue, RequestInfo,
    RetrySchedule, handler_fn,
};
pub use compliance_core::{
    Actionable, AmlError, AmlProvider, AmlState, AmlStatus, ApplicantKey, ApplicantRecord,
    ApplicantStore, Date, Decimal, ExposeSecret, Inbox, Lenient, MemoryApplicantStore, MemoryInbox,
    NextStep, RequiredAction, SecretString, Subject, SubjectKind, SubjectRef, Timestamp,
};
