#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aml;
pub mod applicant;
pub mod client;
pub mod crypto;
pub mod crypto_aml;
mod de;
pub mod envelope;
pub mod error;
pub mod questionnaire;
pub mod store;
pub mod token;
pub mod webhook;

pub use aml::Screening;
pub use applicant::{
    Applicant, ApplicantStatus, ApplicantStatusInfo, CreateApplicant, RestoredApplicant,
    ScheduledDeletion,
};
pub use client::{KycClient, KycClientBuilder};
pub use compliance_core::http::{HeaderMap, HttpClientBuilder};
pub use compliance_core::secret::{ExposeSecret, SecretString};
pub use compliance_core::webhook::{BoxError, Handler, Outcome, ProcessError, handler_fn};
pub use crypto::{Cipher, CryptoError, CryptoOptions, EncryptionSettings};
pub use crypto_aml::{
    Blockchain, CryptoAmlRef, CryptoAmlReport, CryptoAmlSearch, CryptoAmlType, SearchTarget,
};
pub use error::{ApiError, Error};
pub use questionnaire::Questionnaire;
pub use token::{TokenRequest, VerificationToken};
#[cfg(feature = "axum")]
pub use webhook::WebhookReceiver;
pub use webhook::{ApplicantEvent, EventType, WebhookEvent, WebhookProcessor, WebhookVerifier};
