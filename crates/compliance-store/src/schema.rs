//! Schema migrations: embedded, numbered from 1, applied in order in one transaction when a
//! store opens or connects, each recorded in `compliance_store_migrations`.
//!
//! Both backends hold the database's migration lock while they read the recorded version and
//! apply what is missing (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped
//! advisory lock), so several instances starting at once apply each migration exactly once
//! and the others find it done. A database recorded at a version newer than this crate knows
//! is refused with [`Error::SchemaTooNew`]: nothing is changed and nothing is downgraded.

use crate::error::Error;

/// The schema version this crate creates and understands.
pub const SCHEMA_VERSION: i64 = 3;

/// The table recording applied migrations.
pub(crate) const MIGRATIONS_TABLE: &str = "compliance_store_migrations";

/// One embedded migration.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Its number: 1, 2, 3... with no gaps.
    pub version: i64,
    /// What it does, recorded beside the version.
    pub description: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// What each migration does, by version from 1: the same in every backend (each writes its
/// own SQL for it).
const DESCRIPTIONS: [&str; 3] = [
    "inbox and applicants",
    "index of claimed keys, for purging abandoned claims",
    "durable webhook queue",
];

impl Migration {
    /// Migration `version` (from 1) with a backend's `sql` for it.
    pub(crate) const fn numbered(version: i64, sql: &'static str) -> Self {
        Self {
            version,
            description: DESCRIPTIONS[version as usize - 1],
            sql,
        }
    }
}

/// The migrations still to apply to a database recorded at version `found`.
pub(crate) fn pending(
    migrations: &'static [Migration],
    found: i64,
) -> Result<&'static [Migration], Error> {
    let supported = migrations.last().map_or(0, |m| m.version);
    if found > supported {
        return Err(Error::SchemaTooNew { found, supported });
    }
    Ok(migrations
        .iter()
        .position(|m| m.version > found)
        .map_or(&[][..], |first| &migrations[first..]))
}

/// Checks that a backend's list is numbered 1, 2, 3... and ends at [`SCHEMA_VERSION`].
#[cfg(test)]
pub(crate) fn assert_well_formed(migrations: &[Migration]) {
    for (i, m) in migrations.iter().enumerate() {
        assert_eq!(
            m.version,
            i as i64 + 1,
            "migration {} is out of order",
            m.description
        );
        assert!(!m.sql.trim().is_empty());
    }
    assert_eq!(migrations.last().map(|m| m.version), Some(SCHEMA_VERSION));
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIST: [Migration; 2] = [
        Migration {
            version: 1,
            description: "one",
            sql: "SELECT 1",
        },
        Migration {
            version: 2,
            description: "two",
            sql: "SELECT 2",
        },
    ];

    #[test]
    fn pending_is_what_lies_beyond_the_recorded_version() {
        assert_eq!(pending(&LIST, 0).unwrap().len(), 2);
        assert_eq!(pending(&LIST, 1).unwrap()[0].version, 2);
        assert!(pending(&LIST, 2).unwrap().is_empty());
        assert!(matches!(
            pending(&LIST, 3),
            Err(Error::SchemaTooNew {
                found: 3,
                supported: 2
            })
        ));
    }
}
