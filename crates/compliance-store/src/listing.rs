//! Read-only listings for operators' views (the `compliance console`): applicant records
//! filtered, sorted and paged in the database, and the keys an inbox holds.
//!
//! Every listing is one bounded query (`LIMIT`/`OFFSET`) plus one `COUNT`, so a page of a
//! store with tens of thousands of subjects costs a page's rows, never the whole table.
//! The filters are fixed columns and the sort keys a closed enum: nothing a caller passes
//! becomes SQL text.

use async_trait::async_trait;
use compliance_core::{ApplicantRecord, Timestamp};

use crate::error::Error;

/// The most rows one page may ask for; larger limits are lowered to it.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The neutral AML status's kind, as stored (`AmlStatus`'s `status` tag), for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusKind {
    /// `clear`.
    Clear,
    /// `pending`.
    Pending,
    /// `action_required`.
    ActionRequired,
    /// `under_review`.
    UnderReview,
    /// `rejected`.
    Rejected,
    /// `unknown` (a provider status the provider crate could not map).
    Unknown,
}

impl StatusKind {
    /// Every kind, in the order a page lists them.
    pub const ALL: [StatusKind; 6] = [
        StatusKind::ActionRequired,
        StatusKind::Pending,
        StatusKind::UnderReview,
        StatusKind::Rejected,
        StatusKind::Unknown,
        StatusKind::Clear,
    ];

    /// The stored tag (`action_required`).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Clear => "clear",
            StatusKind::Pending => "pending",
            StatusKind::ActionRequired => "action_required",
            StatusKind::UnderReview => "under_review",
            StatusKind::Rejected => "rejected",
            StatusKind::Unknown => "unknown",
        }
    }

    /// The kind of a stored tag; `None` for a tag this crate does not know.
    pub fn parse(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == tag)
    }
}

/// What a page of applicants is sorted by. Ties are broken by provider, then provider id,
/// so paging is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApplicantSort {
    /// When the record was last written (default, newest first with `descending`).
    #[default]
    UpdatedAt,
    /// The provider, then the provider's id.
    Provider,
    /// The provider's id of the subject.
    Subject,
    /// The AML status's kind.
    Status,
}

/// Which applicant records a page shows, in what order, and which page. Build it with
/// `..ApplicantQuery::default()` for the fields you leave alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantQuery {
    /// Only this provider's records (`"heleket"`).
    pub provider: Option<String>,
    /// Only records in this status.
    pub status: Option<StatusKind>,
    /// Only records whose provider id or external user id contains this text (exact case).
    pub search: Option<String>,
    /// The sort key.
    pub sort: ApplicantSort,
    /// Largest first.
    pub descending: bool,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return, at most [`MAX_PAGE_SIZE`].
    pub limit: u32,
}

impl Default for ApplicantQuery {
    /// Every record, most recently written first, 50 per page.
    fn default() -> Self {
        Self {
            provider: None,
            status: None,
            search: None,
            sort: ApplicantSort::UpdatedAt,
            descending: true,
            offset: 0,
            limit: 50,
        }
    }
}

impl ApplicantQuery {
    /// The limit actually used: at least 1, at most [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

/// One page of applicant records and how many match in all.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApplicantPage {
    /// The records of this page, in the query's order.
    pub records: Vec<ApplicantRecord>,
    /// How many records match the query's filters, across all pages.
    pub total: u64,
}

/// How many records one provider has in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplicantCount {
    /// The provider.
    pub provider: String,
    /// The status's stored tag (`action_required`); see [`StatusKind::parse`].
    pub status: String,
    /// How many records.
    pub count: u64,
}

/// Paged, filtered reads of the applicant records, for operators' views. Implemented by
/// [`SqliteStore`](crate::SqliteStore) and [`PostgresStore`](crate::PostgresStore).
#[async_trait]
pub trait ApplicantListing: Send + Sync {
    /// One page of the records matching `query`, and how many match in all.
    async fn list_applicants(&self, query: &ApplicantQuery) -> Result<ApplicantPage, Error>;

    /// The number of records per provider and status, sorted by provider then status.
    async fn applicant_counts(&self) -> Result<Vec<ApplicantCount>, Error>;
}

/// Where a key of an inbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// Claimed by a handler that has not completed it yet (or died holding it: its lease
    /// then runs out and the next delivery takes it over).
    Claimed,
    /// Processed.
    Done,
}

impl KeyState {
    /// `claimed` or `done`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Claimed => "claimed",
            KeyState::Done => "done",
        }
    }
}

/// Which inbox keys a page shows. Build it with `..InboxKeyQuery::default()` for the
/// fields you leave alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxKeyQuery {
    /// Only this inbox's keys (`"heleket"`).
    pub inbox: Option<String>,
    /// Only keys in this state.
    pub state: Option<KeyState>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return, at most [`MAX_PAGE_SIZE`].
    pub limit: u32,
}

impl Default for InboxKeyQuery {
    /// Every key, most recent first, 50 per page.
    fn default() -> Self {
        Self {
            inbox: None,
            state: None,
            offset: 0,
            limit: 50,
        }
    }
}

impl InboxKeyQuery {
    /// The limit actually used: at least 1, at most [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

/// One key of an inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxKey {
    /// The inbox (`"heleket"`).
    pub inbox: String,
    /// The delivery's dedup key.
    pub key: String,
    /// Claimed or done.
    pub state: KeyState,
    /// When it was completed (done), or when its claim's lease runs out (claimed).
    pub at: Timestamp,
}

/// One page of inbox keys and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxKeyPage {
    /// The keys, most recent first.
    pub keys: Vec<InboxKey>,
    /// How many keys match the query's filters, across all pages.
    pub total: u64,
}

/// How many keys one inbox holds in each state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxCount {
    /// The inbox.
    pub inbox: String,
    /// Keys claimed and not completed.
    pub claimed: u64,
    /// Keys processed.
    pub done: u64,
}

/// Paged reads of the keys every inbox of the database holds, for operators' views.
/// Implemented by [`SqliteStore`](crate::SqliteStore) and
/// [`PostgresStore`](crate::PostgresStore).
#[async_trait]
pub trait InboxListing: Send + Sync {
    /// One page of keys matching `query`, most recent first, and how many match in all.
    async fn list_inbox_keys(&self, query: &InboxKeyQuery) -> Result<InboxKeyPage, Error>;

    /// The number of keys per inbox and state, sorted by inbox.
    async fn inbox_counts(&self) -> Result<Vec<InboxCount>, Error>;
}

/// A count from the database as `u64` (counts are never negative).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Unix microseconds as a timestamp.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn micros(what: &'static str, n: i64) -> Result<Timestamp, Error> {
    Timestamp::from_microsecond(n).map_err(|e| Error::corrupt(what, e))
}

/// A stored key state.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn key_state(text: &str) -> Result<KeyState, Error> {
    match text {
        "in_progress" => Ok(KeyState::Claimed),
        "done" => Ok(KeyState::Done),
        other => Err(Error::corrupt(
            "state",
            format!("unknown key state {other}"),
        )),
    }
}

/// The `ORDER BY` of an applicant query; `status` is the backend's expression for the
/// status tag. Only fixed text: the sort key is an enum.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn applicant_order(query: &ApplicantQuery, status: &str) -> String {
    let dir = if query.descending { "DESC" } else { "ASC" };
    let first = match query.sort {
        ApplicantSort::UpdatedAt => format!("updated_at {dir}, "),
        ApplicantSort::Provider => String::new(),
        ApplicantSort::Subject => format!("provider_id {dir}, "),
        ApplicantSort::Status => format!("{status} {dir}, "),
    };
    format!("{first}provider {dir}, provider_id {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_kinds_round_trip_their_tags() {
        for kind in StatusKind::ALL {
            assert_eq!(StatusKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(StatusKind::parse("nope"), None);
    }

    #[test]
    fn page_sizes_are_bounded() {
        let mut query = ApplicantQuery {
            limit: 0,
            ..ApplicantQuery::default()
        };
        assert_eq!(query.page_size(), 1);
        query.limit = 100_000;
        assert_eq!(query.page_size(), MAX_PAGE_SIZE);
    }

    #[test]
    fn the_order_is_fixed_text() {
        let query = ApplicantQuery {
            sort: ApplicantSort::Status,
            descending: false,
            ..ApplicantQuery::default()
        };
        assert_eq!(
            applicant_order(&query, "s"),
            "s ASC, provider ASC, provider_id ASC"
        );
    }
}
