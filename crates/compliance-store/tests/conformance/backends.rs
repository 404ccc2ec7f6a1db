//! The backends the conformance cases run against, behind one small trait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::webhook::{MemoryQueue, Queue};
use compliance_core::{ApplicantStore, Inbox, MemoryApplicantStore, MemoryInbox};

/// What a case needs from a backend.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The inbox called `name`, whose claims last `lease`.
    async fn inbox(&self, name: &str, lease: Duration) -> Arc<dyn Inbox>;
    /// The applicant store.
    async fn applicants(&self) -> Arc<dyn ApplicantStore>;
    /// The durable queue called `name`, whose takes last `lease`.
    async fn queue(&self, name: &str, lease: Duration) -> Arc<dyn Queue>;
    /// Drops the store and opens it again from its storage, as a restarted process would.
    async fn reopen(&mut self);
}

/// `compliance-core`'s in-memory implementations. Memory has no storage to reopen from:
/// `reopen` keeps the same instances, so for memory the restart case checks only that the
/// state survives new handles.
#[derive(Default)]
pub struct Memory {
    inboxes: Mutex<HashMap<String, Arc<MemoryInbox>>>,
    queues: Mutex<HashMap<String, Arc<MemoryQueue>>>,
    applicants: Arc<MemoryApplicantStore>,
}

pub async fn memory() -> Memory {
    Memory::default()
}

#[async_trait]
impl Backend for Memory {
    async fn inbox(&self, name: &str, lease: Duration) -> Arc<dyn Inbox> {
        self.inboxes
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(MemoryInbox::with_lease(lease)))
            .clone()
    }

    async fn applicants(&self) -> Arc<dyn ApplicantStore> {
        self.applicants.clone()
    }

    async fn queue(&self, name: &str, lease: Duration) -> Arc<dyn Queue> {
        self.queues
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(MemoryQueue::new().with_lease(lease)))
            .clone()
    }

    async fn reopen(&mut self) {}
}

#[cfg(feature = "sqlite")]
pub use sqlite::sqlite;

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use compliance_store::SqliteStore;
    use std::path::PathBuf;

    /// A directory deleted on drop.
    pub struct TempDir(pub PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> Self {
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).unwrap();
            let dir = std::env::temp_dir().join(format!(
                "{prefix}-{}-{:016x}",
                std::process::id(),
                u64::from_le_bytes(random)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A SQLite file in a temporary directory.
    pub struct Sqlite {
        store: Option<SqliteStore>,
        path: PathBuf,
        _dir: TempDir,
    }

    pub async fn sqlite() -> Sqlite {
        let dir = TempDir::new("compliance-store-conformance");
        let path = dir.0.join("store.db");
        Sqlite {
            store: Some(SqliteStore::open(&path).await.unwrap()),
            path,
            _dir: dir,
        }
    }

    impl Sqlite {
        fn store(&self) -> &SqliteStore {
            self.store.as_ref().unwrap()
        }
    }

    #[async_trait]
    impl Backend for Sqlite {
        async fn inbox(&self, name: &str, lease: Duration) -> Arc<dyn Inbox> {
            Arc::new(self.store().inbox(name).with_lease(lease))
        }

        async fn applicants(&self) -> Arc<dyn ApplicantStore> {
            Arc::new(self.store().clone())
        }

        async fn queue(&self, name: &str, lease: Duration) -> Arc<dyn Queue> {
            Arc::new(self.store().queue(name).with_lease(lease))
        }

        async fn reopen(&mut self) {
            drop(self.store.take());
            self.store = Some(SqliteStore::open(&self.path).await.unwrap());
        }
    }
}

#[cfg(feature = "postgres")]
pub use postgres::postgres;

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use compliance_store::PostgresStore;
    use compliance_store::test_util::TempPostgres;

    /// A fresh database on the test process's PostgreSQL server.
    pub struct Postgres {
        store: Option<PostgresStore>,
        url: String,
    }

    /// `None` when PostgreSQL is not installed outside CI (one line on stderr says so).
    pub async fn postgres() -> Option<Postgres> {
        let url = TempPostgres::shared()?.create_database().await.unwrap();
        Some(Postgres {
            store: Some(PostgresStore::connect(&url).await.unwrap()),
            url,
        })
    }

    impl Postgres {
        fn store(&self) -> &PostgresStore {
            self.store.as_ref().unwrap()
        }
    }

    #[async_trait]
    impl Backend for Postgres {
        async fn inbox(&self, name: &str, lease: Duration) -> Arc<dyn Inbox> {
            Arc::new(self.store().inbox(name).with_lease(lease))
        }

        async fn applicants(&self) -> Arc<dyn ApplicantStore> {
            Arc::new(self.store().clone())
        }

        async fn queue(&self, name: &str, lease: Duration) -> Arc<dyn Queue> {
            Arc::new(self.store().queue(name).with_lease(lease))
        }

        async fn reopen(&mut self) {
            // A new pool: every connection of the old one is closed.
            drop(self.store.take());
            self.store = Some(PostgresStore::connect(&self.url).await.unwrap());
        }
    }
}
