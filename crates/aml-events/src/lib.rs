#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod body;
pub mod codes;
pub mod collection;
mod error;
pub mod event;
mod one_pass;
pub mod payment;
pub mod person;
mod pipeline;
mod raw;
pub mod result;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod server;
mod source;

pub use auth::{Authenticator, RequestInfo};
pub use error::Error;
pub use event::{AmlEvent, EventBody, EventType, Source};
#[cfg(feature = "tokio")]
pub use pipeline::WebhookWorker;
pub use pipeline::{WebhookProcessor, WebhookVerifier};
pub use raw::RawJson;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use server::WebhookReceiver;

/// The attribute for implementing [`Handler`] (and [`Inbox`]) on your own types.
pub use async_trait::async_trait;

// What this crate's API and README use from the shared core, so that a user of this crate
// never names `compliance_core` (the workspace's re-export rule, in its root README).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use compliance_core::axum;
pub use compliance_core::money::{Decimal, Money};
#[cfg(feature = "tokio")]
pub use compliance_core::webhook::RetrySchedule;
pub use compliance_core::webhook::{
    BoxError, DeliveryState, Handler, MemoryQueue, Outcome, ProcessError, Queue, handler_fn,
};
pub use compliance_core::{
    Actionable, BodySnippet, Claim, ClaimToken, Date, ExposeSecret, Inbox, InboxError, MemoryInbox,
    NextStep, SecretString, Timestamp,
};
