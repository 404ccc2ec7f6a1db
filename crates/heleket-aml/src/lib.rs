#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aml;
pub mod aml_links;
mod answer;
mod client;
pub mod error;
pub mod payment;
pub mod payout;
pub mod sign;
pub mod test_webhook;
pub mod webhook;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

/// The provider's name in [`AmlState::provider`], [`ApplicantKey`](compliance_core::ApplicantKey)s
/// and deduplication keys: `"heleket"`.
pub const PROVIDER: &str = "heleket";

pub use aml_links::{AmlLink, AmlLinkStatus};
pub use client::{DEFAULT_BASE_URL, HeleketClient, HeleketClientBuilder};
pub use error::Error;
pub use payment::{Convert, Payment, PaymentRef, PaymentStatus};
pub use payout::PayoutStatus;
pub use sign::KeyKind;
pub use test_webhook::TestWebhook;
/// The URL type of [`AmlLink::link`].
pub use url::Url;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use webhook::WebhookReceiver;
pub use webhook::{
    HeleketWebhook, MismatchCause, PaymentWebhook, PayoutWebhook, WebhookError, WebhookKind,
    WebhookProcessor, WebhookVerifier, WebhookWorker,
};

// What this crate's API and README use from the shared core, so that a user of this crate
// never names `compliance_core` (the workspace's re-export rule, in its root README).
pub use compliance_core::Error as CoreError;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use compliance_core::axum;
pub use compliance_core::http::{HttpClientBuilder, RetryPolicy, TransportConfig};
pub use compliance_core::webhook::{
    BoxError, DeliveryState, Handler, MemoryQueue, Outcome, ProcessError, Queue, RequestInfo,
    RetrySchedule, handler_fn,
};
pub use compliance_core::{
    Actionable, AmlError, AmlProvider, AmlState, AmlStatus, Decimal, ExposeSecret, Inbox,
    MemoryInbox, NextStep, RequiredAction, SecretString, Subject, SubjectKind, SubjectRef,
    Timestamp,
};
