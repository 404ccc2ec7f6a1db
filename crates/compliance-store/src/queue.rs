//! What both SQL queues share: how a stored request's headers, a state and a time are
//! written and read back.

use std::time::Duration;

use compliance_core::webhook::{DeliveryInfo, DeliveryState, QueueDepth, StoredRequest, Taken};
use compliance_core::{ClaimToken, Timestamp};

use crate::error::Error;

/// How many rows one purge statement deletes; a large purge runs as several short ones.
pub(crate) const PURGE_BATCH: i64 = 1000;

/// The kept headers as a JSON list of `[name, value]`.
pub(crate) fn headers_to_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// The kept headers back from their JSON list.
pub(crate) fn headers_from_json(text: &str) -> Result<Vec<(String, String)>, Error> {
    serde_json::from_str(text).map_err(|e| Error::corrupt("compliance_queue.headers", e))
}

/// A stored state.
pub(crate) fn state(text: &str) -> Result<DeliveryState, Error> {
    DeliveryState::parse(text)
        .ok_or_else(|| Error::corrupt("compliance_queue.state", format!("unknown state `{text}`")))
}

/// Unix microseconds as a timestamp.
pub(crate) fn timestamp(micros: i64) -> Result<Timestamp, Error> {
    Timestamp::from_microsecond(micros).map_err(|e| Error::corrupt("compliance_queue time", e))
}

/// A stored count (never negative: the schema checks it).
pub(crate) fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
}

/// A queue's depth from its counts and the oldest queued row's wait in microseconds (a
/// negative wait, a row stamped by a clock ahead of this one, is none).
pub(crate) fn depth(
    queued: i64,
    retrying: i64,
    dead: i64,
    oldest_micros: Option<i64>,
) -> QueueDepth {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let age = oldest_micros.map(|m| Duration::from_micros(u64::try_from(m).unwrap_or(0)));
    QueueDepth::new(count(queued), count(retrying), count(dead), age)
}

/// A `limit` as SQL's bigint.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An operator's view of a row as the database returns it, before checking.
pub(crate) struct RawInfo {
    pub(crate) key: String,
    pub(crate) state: String,
    pub(crate) sequence: Option<String>,
    pub(crate) received_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) attempts: i64,
    pub(crate) replays: i64,
    pub(crate) last_error: Option<String>,
}

impl RawInfo {
    /// The checked view.
    pub(crate) fn checked(self) -> Result<DeliveryInfo, Error> {
        Ok(DeliveryInfo {
            key: self.key,
            state: state(&self.state)?,
            sequence: self.sequence,
            received_at: timestamp(self.received_at)?,
            updated_at: timestamp(self.updated_at)?,
            attempts: count(self.attempts),
            replays: count(self.replays),
            last_error: self.last_error,
            request: None,
        })
    }
}

/// A taken row as the database returns it, before checking.
pub(crate) struct RawTaken {
    pub(crate) run_at: i64,
    pub(crate) id: i64,
    pub(crate) key: String,
    pub(crate) token: String,
    pub(crate) attempts: i64,
    pub(crate) replays: i64,
    pub(crate) received_at: i64,
    pub(crate) headers: String,
    pub(crate) body: Vec<u8>,
}

/// The taken rows, checked, oldest first (`RETURNING` keeps no order).
pub(crate) fn taken(mut raw: Vec<RawTaken>) -> Result<Vec<Taken>, Error> {
    raw.sort_by_key(|r| (r.run_at, r.id));
    raw.into_iter()
        .map(|r| {
            Ok(Taken {
                key: r.key,
                token: ClaimToken::new(r.token),
                attempts: count(r.attempts),
                replays: count(r.replays),
                received_at: timestamp(r.received_at)?,
                request: StoredRequest::new(headers_from_json(&r.headers)?, r.body),
            })
        })
        .collect()
}
