//! The crate's error, and how it reaches callers of the `compliance-core` traits.
//!
//! Opening or connecting returns [`Error`] directly. Through the [`Inbox`] and
//! [`ApplicantStore`] traits it arrives wrapped in [`InboxError::Storage`] or
//! [`StoreError::Storage`], with the database driver's error as its source.
//!
//! [`Inbox`]: compliance_core::Inbox
//! [`ApplicantStore`]: compliance_core::ApplicantStore

use compliance_core::{InboxError, StoreError};

/// A boxed error from the database driver or the pool; kept opaque so that driver types
/// stay out of this crate's error API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong with the database.
///
/// Whatever the variant, an operation that failed may or may not have been applied (a
/// connection lost after the database committed looks the same as one lost before): the
/// stores never answer `Ok` for a write they could not confirm. Answer so that the provider
/// delivers again; the inbox then recognises whatever did happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed, could not be reached, or the pool had no connection in time.
    /// Usually transient: retry later.
    #[error("database error: {0}")]
    Database(#[source] BoxError),

    /// The database was migrated by a newer `compliance-store` than this one. Nothing was
    /// changed: upgrade this program (a schema is never silently downgraded).
    #[error(
        "the database schema is at version {found}, newer than version {supported} that this \
         compliance-store knows: upgrade compliance-store in this program"
    )]
    SchemaTooNew {
        /// The version recorded in the database.
        found: i64,
        /// The newest version this crate knows.
        supported: i64,
    },

    /// The configuration cannot work (an unparsable connection URL, for example). The
    /// message never repeats a password.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A stored row could not be read back into its type (edited by hand, or written by
    /// something else). `what` names the column.
    #[error("stored {what} is invalid: {message}")]
    Corrupt {
        /// The column or value that failed.
        what: &'static str,
        /// Why.
        message: String,
    },
}

impl Error {
    pub(crate) fn database(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Database(Box::new(e))
    }

    pub(crate) fn corrupt(what: &'static str, message: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what,
            message: message.to_string(),
        }
    }
}

impl From<Error> for InboxError {
    fn from(e: Error) -> Self {
        InboxError::Storage(Box::new(e))
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        StoreError::Storage(Box::new(e))
    }
}
