//! [`QueueDeliveries`]: the Deliveries section over the durable intake's queue (issue #24),
//! through compliance-core's [`Queue`] API only, so the console reads and replays exactly
//! what a worker would: counts by provider and state, the oldest queued delivery, the rows
//! with their attempts and last error, a detail page whose body is shown only on request
//! (elKYC's envelope opened only with the application's key), and replay.

use std::sync::Arc;

use async_trait::async_trait;
use compliance_core::webhook::{DeliveryInfo, DeliveryState, Queue};
use compliance_store::InboxListing;
use kyc_public_api::encryption::{Cipher, SIGNATURE_HEADER};

use super::deliveries::{
    Deliveries, DeliveriesView, DeliveryDetail, DeliveryQuery, DeliveryRow, InboxKeys, ReplayError,
    ReplayTarget, StateCount,
};
use crate::outcome::Failure;

/// The most rows read of one provider's queue in one state for a page. The queue's
/// `list` has no offset or count: past this, the counts are lower bounds.
const MAX_ROWS: usize = 10_000;

/// The states in the order the page's columns show them: a delivery's way through.
const STATES: [DeliveryState; 6] = [
    DeliveryState::Queued,
    DeliveryState::Running,
    DeliveryState::Retrying,
    DeliveryState::Dead,
    DeliveryState::Ignored,
    DeliveryState::Done,
];

/// The queues the console reads, one per provider that sends webhooks, named as the
/// receivers name them: the provider crate's `PROVIDER` (elKYC, Heleket), and `tuum` for
/// aml-events, which has no such constant. The queue API lists no names, so a queue named
/// otherwise is not shown.
pub const QUEUE_NAMES: [&str; 3] = [kyc_public_api::PROVIDER, heleket_aml::PROVIDER, "tuum"];

/// The Deliveries section's source for an opened store: its durable queue
/// ([`QueueDeliveries`]) unless inline receivers wrote it, then the inbox's keys
/// ([`InboxKeys`], whose page says replay needs the durable mode). `queue` gives the store's
/// queue of a provider.
///
/// The schema version cannot tell the two apart: opening a store brings it to the current
/// schema, so every store the console opens has the queue's table (v3), whether or not its
/// receivers use it. What they wrote does: a store whose queues are empty while its inboxes
/// hold keys is written by inline receivers (a durable worker fills both); a store with
/// queued deliveries, or with nothing yet, is shown as durable.
pub async fn deliveries(
    queue: impl Fn(&'static str) -> Arc<dyn Queue>,
    inbox: Arc<dyn InboxListing>,
    elkyc: Option<Cipher>,
) -> Result<Arc<dyn Deliveries>, Failure> {
    let failed = |e: &dyn std::fmt::Display| Failure::config(format!("cannot read the store: {e}"));
    let queues: Vec<_> = QUEUE_NAMES.iter().map(|n| (*n, queue(n))).collect();
    let mut queued = false;
    for (_, queue) in &queues {
        queued |= !queue
            .list(None, 1)
            .await
            .map_err(|e| failed(&e))?
            .is_empty();
    }
    let inline = !queued
        && !inbox
            .inbox_counts()
            .await
            .map_err(|e| failed(&e))?
            .is_empty();
    Ok(if inline {
        Arc::new(InboxKeys(inbox))
    } else {
        Arc::new(QueueDeliveries::new(queues, elkyc))
    })
}

/// The Deliveries section over the durable queue.
pub struct QueueDeliveries {
    /// Each provider's queue, by name, in [`QUEUE_NAMES`]' order.
    queues: Vec<(&'static str, Arc<dyn Queue>)>,
    /// The application's elKYC cipher, when its key is configured: only then is an elKYC
    /// body shown (decrypted by kyc-public-api).
    elkyc: Option<Cipher>,
}

impl QueueDeliveries {
    /// Over `queues` (name, queue), opening elKYC bodies with `elkyc` when given.
    pub fn new(queues: Vec<(&'static str, Arc<dyn Queue>)>, elkyc: Option<Cipher>) -> Self {
        Self { queues, elkyc }
    }

    fn queue(&self, provider: &str) -> Option<&Arc<dyn Queue>> {
        self.queues
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, q)| q)
    }

    /// What the page shows of a stored body: elKYC's decrypted with the configured key (or
    /// a note saying why not), the others as received.
    fn body(&self, provider: &str, info: &DeliveryInfo) -> String {
        let Some(request) = &info.request else {
            return "(the queue returned no body)".to_owned();
        };
        if provider != kyc_public_api::PROVIDER {
            return String::from_utf8_lossy(request.body()).into_owned();
        }
        let Some(cipher) = &self.elkyc else {
            return "(encrypted: elKYC envelopes are stored as received; start the console with \
                    the application's key ($ELKYC_SECRET_KEY or --secret-key-file, and for CBC \
                    the HMAC key) to see this one decrypted)"
                .to_owned();
        };
        let signature = request
            .headers()
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(SIGNATURE_HEADER))
            .map(|(_, value)| value.as_str());
        match crate::elkyc::open_stored(cipher, request.body(), signature) {
            Ok(plain) => plain,
            Err(why) => format!("(could not be opened with the configured key: {why})"),
        }
    }
}

/// Where a state's rows come in the list: the failures an operator came for first (dead,
/// then retrying), then what is under way, and what is settled last.
fn attention(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::Dead => 0,
        DeliveryState::Retrying => 1,
        DeliveryState::Running => 2,
        DeliveryState::Queued => 3,
        DeliveryState::Ignored => 4,
        _ => 5,
    }
}

fn row(provider: &str, info: DeliveryInfo) -> DeliveryRow {
    DeliveryRow {
        provider: provider.to_owned(),
        key: info.key,
        state: info.state.as_str().to_owned(),
        at_label: "updated",
        at: info.updated_at,
        attempts: Some(info.attempts),
        last_error: info.last_error,
    }
}

#[async_trait]
impl Deliveries for QueueDeliveries {
    fn durable(&self) -> bool {
        true
    }

    async fn view(&self, query: &DeliveryQuery) -> Result<DeliveriesView, String> {
        let wanted = query.state.as_deref().and_then(DeliveryState::parse);
        let mut counts = Vec::new();
        let mut oldest_queued = None;
        let mut rows = Vec::new();
        for (name, queue) in &self.queues {
            for state in STATES {
                let listed = queue
                    .list(Some(state), MAX_ROWS)
                    .await
                    .map_err(|e| e.to_string())?;
                if listed.is_empty() {
                    continue;
                }
                counts.push(StateCount {
                    provider: (*name).to_owned(),
                    state: state.as_str().to_owned(),
                    count: listed.len() as u64,
                });
                if state == DeliveryState::Queued {
                    let first = listed.iter().map(|i| i.received_at).min();
                    oldest_queued = match (oldest_queued, first) {
                        (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                        (a, b) => a.or(b),
                    };
                }
                let shown = query.provider.as_deref().is_none_or(|p| p == *name)
                    && wanted.is_none_or(|w| w == state);
                if shown {
                    rows.extend(
                        listed
                            .into_iter()
                            .map(|info| (attention(state), row(name, info))),
                    );
                }
            }
        }
        rows.sort_by(|(a_rank, a), (b_rank, b)| {
            a_rank
                .cmp(b_rank)
                .then_with(|| b.at.cmp(&a.at))
                .then_with(|| a.key.cmp(&b.key))
        });
        let total = rows.len() as u64;
        let rows = rows
            .into_iter()
            .map(|(_, row)| row)
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .collect();
        Ok(DeliveriesView {
            counts,
            states: STATES.iter().map(|s| s.as_str()).collect(),
            oldest_queued,
            rows,
            total,
            durable: true,
        })
    }

    async fn detail(
        &self,
        provider: &str,
        key: &str,
        show_body: bool,
    ) -> Result<Option<DeliveryDetail>, String> {
        let Some(queue) = self.queue(provider) else {
            return Ok(None);
        };
        let Some(info) = queue.get(key).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut fields = vec![
            ("provider", provider.to_owned()),
            ("key", info.key.clone()),
            ("state", info.state.as_str().to_owned()),
        ];
        if let Some(sequence) = &info.sequence {
            fields.push(("sequence", sequence.clone()));
        }
        fields.push(("received", info.received_at.to_string()));
        fields.push(("last change", info.updated_at.to_string()));
        fields.push(("attempts", info.attempts.to_string()));
        fields.push(("replays", info.replays.to_string()));
        if let Some(error) = &info.last_error {
            let label = if info.state == DeliveryState::Ignored {
                "ignored because"
            } else {
                "last error"
            };
            fields.push((label, error.clone()));
        }
        if let Some(request) = &info.request {
            fields.push(("body size", format!("{} bytes", request.body().len())));
            if provider == kyc_public_api::PROVIDER {
                fields.push(("at rest", "encrypted (the envelope as received)".to_owned()));
            }
        }
        let body = show_body.then(|| self.body(provider, &info));
        Ok(Some(DeliveryDetail { fields, body }))
    }

    async fn replay(&self, target: &ReplayTarget) -> Result<u64, ReplayError> {
        let store = |e: compliance_core::inbox::InboxError| ReplayError::Store(e.to_string());
        match target {
            ReplayTarget::One { provider, key } => {
                let queue = self.queue(provider).ok_or(ReplayError::NotFound)?;
                if queue.replay(key).await.map_err(store)? {
                    Ok(1)
                } else {
                    Err(ReplayError::NotFound)
                }
            }
            ReplayTarget::AllDead { provider } => {
                let queue = self.queue(provider).ok_or(ReplayError::NotFound)?;
                let dead = queue
                    .list(Some(DeliveryState::Dead), MAX_ROWS)
                    .await
                    .map_err(store)?;
                let mut replayed = 0;
                for info in dead {
                    if queue.replay(&info.key).await.map_err(store)? {
                        replayed += 1;
                    }
                }
                Ok(replayed)
            }
        }
    }
}
