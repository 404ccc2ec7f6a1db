#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aml;
pub mod aml_links;
mod client;
mod envelope;
pub mod error;
pub mod payment;
pub mod payout;
pub mod sign;
pub mod test_webhook;
pub mod webhook;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use aml::PROVIDER;
pub use aml_links::{AmlLink, AmlLinkStatus};
pub use client::{DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, HeleketClient, HeleketClientBuilder};
pub use error::Error;
pub use payment::{Convert, Payment, PaymentRef, PaymentStatus};
pub use payout::PayoutStatus;
pub use sign::KeyKind;
pub use test_webhook::TestWebhook;
#[cfg(feature = "axum")]
pub use webhook::WebhookReceiver;
pub use webhook::{
    HeleketWebhook, MismatchCause, PaymentWebhook, PayoutWebhook, WebhookError, WebhookKind,
    WebhookProcessor, WebhookVerifier,
};

/// The shared core this crate builds on (errors, AML trait, inbox, money, time).
pub use compliance_core;
pub use compliance_core::http::HttpClientBuilder;
pub use compliance_core::webhook::{BoxError, Handler, Outcome, ProcessError, handler_fn};
pub use compliance_core::{Decimal, SecretString, Timestamp};
/// The URL type of [`AmlLink::link`].
pub use url::Url;
