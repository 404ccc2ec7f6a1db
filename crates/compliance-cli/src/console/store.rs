//! `--store`: which database the console reads, as the receivers' `compliance-store` wrote
//! it.

use std::sync::Arc;

use compliance_store::{ApplicantListing, PostgresStore, SqliteStore};

use super::deliveries::Deliveries;
use crate::outcome::Failure;
use crate::secrets::shown_url;
use crate::store::{Location, parse};

/// An opened store, as the console uses it.
pub struct Opened {
    /// The applicant records.
    pub applicants: Arc<dyn ApplicantListing>,
    /// The Deliveries section's source.
    pub deliveries: Arc<dyn Deliveries>,
    /// The store as it may be printed and shown (a password in a URL is redacted).
    pub shown: String,
}

/// Opens the store (an existing SQLite file, or a PostgreSQL database); `elkyc` opens
/// stored elKYC bodies on request. The Deliveries section reads the durable queue, or the
/// inbox's keys when inline receivers wrote the store ([`super::queue::deliveries`]).
pub async fn open(
    text: &str,
    elkyc: Option<kyc_public_api::encryption::Cipher>,
) -> Result<Opened, Failure> {
    match parse(text)? {
        Location::Sqlite(path) => {
            if !path.is_file() {
                return Err(Failure::config(format!(
                    "no store at {}: give the SQLite file your receivers write",
                    path.display()
                )));
            }
            let store = SqliteStore::open(path).await.map_err(|e| {
                Failure::config(format!("cannot open the store {}: {e}", path.display()))
            })?;
            let queues = store.clone();
            Ok(Opened {
                applicants: Arc::new(store.clone()),
                deliveries: super::queue::deliveries(
                    |name| Arc::new(queues.queue(name)),
                    Arc::new(store),
                    elkyc,
                )
                .await?,
                shown: format!("sqlite:{}", path.display()),
            })
        }
        Location::Postgres(url) => {
            let shown = shown_url(url);
            let store = PostgresStore::connect(url)
                .await
                .map_err(|e| Failure::config(format!("cannot connect to {shown}: {e}")))?;
            let queues = store.clone();
            Ok(Opened {
                applicants: Arc::new(store.clone()),
                deliveries: super::queue::deliveries(
                    |name| Arc::new(queues.queue(name)),
                    Arc::new(store),
                    elkyc,
                )
                .await?,
                shown,
            })
        }
    }
}
