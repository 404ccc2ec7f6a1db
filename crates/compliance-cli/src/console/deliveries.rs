//! The Deliveries section's one seam: [`Deliveries`], what the page asks of whichever intake
//! the store has. Today that is [`InboxKeys`] (the exactly-once inbox: which keys are done or
//! claimed; no bodies, no attempts, nothing to replay). The durable intake's queue (issue
//! #24) plugs in as a second implementation: its states and attempts fill the same
//! [`DeliveriesView`], its rows get detail pages, and [`Deliveries::replay`] does the work
//! instead of answering [`ReplayError::NeedsDurableMode`]. The page, the routes, the CSRF
//! check and the confirmation stay as they are.

use std::sync::Arc;

use async_trait::async_trait;
use compliance_core::Timestamp;
use compliance_store::InboxListing;
use compliance_store::listing::{InboxKeyQuery, KeyState};

/// Which deliveries a page shows (from the page's query string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this provider's (the inbox or queue name: `heleket`, `elkyc`, `tuum`).
    pub provider: Option<String>,
    /// Only this state (`done`, `claimed`; the queue's `queued`, `retrying`, `dead`...).
    pub state: Option<String>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to show.
    pub limit: u32,
}

/// How many deliveries of one provider are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    /// The provider.
    pub provider: String,
    /// The state.
    pub state: String,
    /// How many.
    pub count: u64,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The provider.
    pub provider: String,
    /// The delivery's dedup key (also what a detail page and a replay name).
    pub key: String,
    /// Its state.
    pub state: String,
    /// What `at` means for this state ("completed", "lease until"...).
    pub at_label: &'static str,
    /// When.
    pub at: Timestamp,
    /// Attempts so far (the queue counts them; the inbox does not).
    pub attempts: Option<u32>,
    /// The last error, bounded and redacted by the queue.
    pub last_error: Option<String>,
}

/// Everything the Deliveries page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveriesView {
    /// Counts by provider and state.
    pub counts: Vec<StateCount>,
    /// The states this source has, in the order the page shows them.
    pub states: Vec<&'static str>,
    /// The age of the oldest queued delivery (the queue only).
    pub oldest_queued: Option<Timestamp>,
    /// This page of rows.
    pub rows: Vec<DeliveryRow>,
    /// How many rows match the filters in all.
    pub total: u64,
    /// Whether rows have detail pages and can be replayed.
    pub durable: bool,
}

/// One delivery in full (the queue only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    /// Label and value pairs: provider, key, state, received, attempts, last error...
    pub fields: Vec<(&'static str, String)>,
    /// The body, only when asked for with "show body" (elKYC's decrypted only when the key
    /// is configured).
    pub body: Option<String>,
}

/// What to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    /// One delivery.
    One {
        /// Its provider.
        provider: String,
        /// Its key.
        key: String,
    },
    /// Every dead delivery of a provider.
    AllDead {
        /// The provider.
        provider: String,
    },
}

/// Why a replay did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// This store has no durable intake: nothing is kept to replay.
    NeedsDurableMode,
    /// No such delivery.
    #[expect(
        dead_code,
        reason = "the durable queue's implementation (issue #24) answers it"
    )]
    NotFound,
    /// The store failed.
    #[expect(
        dead_code,
        reason = "the durable queue's implementation (issue #24) answers it"
    )]
    Store(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::NeedsDurableMode => f.write_str(
                "replay needs the durable intake mode: without it the receivers keep only which \
                 keys were processed, not the deliveries themselves",
            ),
            ReplayError::NotFound => f.write_str("no such delivery"),
            ReplayError::Store(e) => write!(f, "the store failed: {e}"),
        }
    }
}

/// The Deliveries section's source. See the [module docs](self).
#[async_trait]
pub trait Deliveries: Send + Sync {
    /// Whether this source keeps deliveries (details, bodies, replay): the durable intake.
    fn durable(&self) -> bool;

    /// The page for `query`.
    async fn view(&self, query: &DeliveryQuery) -> Result<DeliveriesView, String>;

    /// One delivery; `None` when unknown or when this source keeps no details.
    async fn detail(
        &self,
        provider: &str,
        key: &str,
        show_body: bool,
    ) -> Result<Option<DeliveryDetail>, String>;

    /// Replays `target` and says how many deliveries went back to the queue.
    async fn replay(&self, target: &ReplayTarget) -> Result<u64, ReplayError>;
}

/// The inbox's keys: the Deliveries section without the durable intake.
pub struct InboxKeys(pub Arc<dyn InboxListing>);

#[async_trait]
impl Deliveries for InboxKeys {
    fn durable(&self) -> bool {
        false
    }

    async fn view(&self, query: &DeliveryQuery) -> Result<DeliveriesView, String> {
        let state = match query.state.as_deref() {
            Some("done") => Some(KeyState::Done),
            Some("claimed") => Some(KeyState::Claimed),
            _ => None,
        };
        let page = self
            .0
            .list_inbox_keys(&InboxKeyQuery {
                inbox: query.provider.clone(),
                state,
                offset: query.offset,
                limit: query.limit,
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut counts = Vec::new();
        for c in self.0.inbox_counts().await.map_err(|e| e.to_string())? {
            counts.push(StateCount {
                provider: c.inbox.clone(),
                state: "claimed".into(),
                count: c.claimed,
            });
            counts.push(StateCount {
                provider: c.inbox,
                state: "done".into(),
                count: c.done,
            });
        }
        Ok(DeliveriesView {
            counts,
            states: vec!["claimed", "done"],
            oldest_queued: None,
            rows: page
                .keys
                .into_iter()
                .map(|k| DeliveryRow {
                    provider: k.inbox,
                    key: k.key,
                    state: k.state.as_str().to_owned(),
                    at_label: match k.state {
                        KeyState::Done => "completed",
                        _ => "lease until",
                    },
                    at: k.at,
                    attempts: None,
                    last_error: None,
                })
                .collect(),
            total: page.total,
            durable: self.durable(),
        })
    }

    async fn detail(&self, _: &str, _: &str, _: bool) -> Result<Option<DeliveryDetail>, String> {
        Ok(None)
    }

    async fn replay(&self, _: &ReplayTarget) -> Result<u64, ReplayError> {
        Err(ReplayError::NeedsDurableMode)
    }
}
