#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod lease;
pub mod listing;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod observe;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod queue;
mod record;
mod schema;
mod token;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod unread;

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use error::{BoxError, Error};
pub use listing::{ApplicantListing, InboxListing};
pub use schema::SCHEMA_VERSION;

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteInbox, SqliteOptions, SqliteQueue, SqliteStore};

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresInbox, PostgresQueue, PostgresStore};

// The traits this crate implements and the types its API and README use, from the shared
// core, so that a user of this crate never names `compliance_core` (the workspace's
// re-export rule, in its root README).
/// The durable webhook queue's trait and the types its API uses.
pub use compliance_core::webhook::{DeliveryInfo, DeliveryState, Queue};
pub use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantNews, ApplicantRecord, ApplicantStore, Applied, Claim,
    ClaimToken, Expected, Inbox, InboxError, StoreError, Timestamp, apply_newer,
};
