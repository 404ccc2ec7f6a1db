//! Helpers for tests of code that uses a store (feature `test-util`).
//!
//! With the `postgres` feature: [`TempPostgres`], a throwaway PostgreSQL server started from
//! the locally installed binaries, so tests need no container and no download.

#[cfg(all(feature = "postgres", unix))]
mod temp_postgres;

#[cfg(all(feature = "postgres", unix))]
pub use temp_postgres::{TempPostgres, TempPostgresError};
