//! `--store`: which database the console reads, as the receivers' `compliance-store` wrote
//! it.

use std::path::Path;
use std::sync::Arc;

use compliance_store::{ApplicantListing, PostgresStore, SqliteStore};

use super::deliveries::{Deliveries, InboxKeys};
use crate::outcome::Failure;
use crate::secrets::shown_url;

/// An opened store, as the console uses it.
pub struct Opened {
    /// The applicant records.
    pub applicants: Arc<dyn ApplicantListing>,
    /// The Deliveries section's source.
    pub deliveries: Arc<dyn Deliveries>,
    /// The store as it may be printed and shown (a password in a URL is redacted).
    pub shown: String,
}

/// Where a `--store` value points.
#[derive(Debug, PartialEq, Eq)]
pub enum Location<'a> {
    /// A SQLite file.
    Sqlite(&'a Path),
    /// A PostgreSQL connection URL.
    Postgres(&'a str),
}

/// `sqlite:PATH`, a path ending in `.db`, `.sqlite` or `.sqlite3`, or `postgres://...`.
pub fn parse(text: &str) -> Result<Location<'_>, Failure> {
    if let Some(path) = text.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(Failure::usage(
                "--store sqlite: names no file (sqlite:PATH)",
            ));
        }
        return Ok(Location::Sqlite(Path::new(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(Location::Postgres(text));
    }
    if [".db", ".sqlite", ".sqlite3"]
        .iter()
        .any(|e| text.ends_with(e))
    {
        return Ok(Location::Sqlite(Path::new(text)));
    }
    Err(Failure::usage(format!(
        "--store `{}` is neither sqlite:PATH nor postgres://...",
        shown_url(text)
    )))
}

/// Opens the store (an existing SQLite file, or a PostgreSQL database).
pub async fn open(text: &str) -> Result<Opened, Failure> {
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
            Ok(Opened {
                applicants: Arc::new(store.clone()),
                deliveries: Arc::new(InboxKeys(Arc::new(store))),
                shown: format!("sqlite:{}", path.display()),
            })
        }
        Location::Postgres(url) => {
            let shown = shown_url(url);
            let store = PostgresStore::connect(url)
                .await
                .map_err(|e| Failure::config(format!("cannot connect to {shown}: {e}")))?;
            Ok(Opened {
                applicants: Arc::new(store.clone()),
                deliveries: Arc::new(InboxKeys(Arc::new(store))),
                shown,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_named_by_scheme_or_extension() {
        assert_eq!(
            parse("sqlite:/tmp/a").unwrap(),
            Location::Sqlite(Path::new("/tmp/a"))
        );
        assert_eq!(
            parse("state.sqlite3").unwrap(),
            Location::Sqlite(Path::new("state.sqlite3"))
        );
        assert_eq!(
            parse("postgres://u:p@h/d").unwrap(),
            Location::Postgres("postgres://u:p@h/d")
        );
        let refused = parse("mysql://u:secretpw@h/d").err().unwrap();
        assert!(!refused.message.contains("secretpw"), "{}", refused.message);
        assert!(parse("sqlite:").is_err());
    }
}
