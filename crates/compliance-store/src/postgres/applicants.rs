//! [`ApplicantStore`] on PostgreSQL: compare-and-swap on `compliance_applicants.version`.
//!
//! Under PostgreSQL's default isolation (read committed) a second `UPDATE ... WHERE version
//! = $n` on the same row waits for the first to commit, re-reads the row, finds the version
//! moved on and updates nothing: the loser sees a conflict, never a lost update.

use async_trait::async_trait;
use compliance_core::{ApplicantKey, ApplicantRecord, ApplicantStore, Expected, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, db, sql};
use crate::error::Error;
use crate::record::{Columns, outcome, stored_version};

fn decode(row: &Row) -> Result<ApplicantRecord, Error> {
    let columns = Columns {
        provider: row.try_get(0).map_err(db)?,
        provider_id: row.try_get(1).map_err(db)?,
        external_user_id: row.try_get(2).map_err(db)?,
        provider_status: row.try_get(3).map_err(db)?,
        aml_status: row.try_get(4).map_err(db)?,
        provider_updated_at: row.try_get(5).map_err(db)?,
        created_at: row.try_get(6).map_err(db)?,
        updated_at: row.try_get(7).map_err(db)?,
    };
    columns.decode(row.try_get(8).map_err(db)?)
}

impl PostgresStore {
    async fn select_one(
        &self,
        statement: &str,
        a: &str,
        b: &str,
    ) -> Result<Option<ApplicantRecord>, Error> {
        self.with_client(async |client| {
            let stmt = client.prepare_cached(statement).await.map_err(db)?;
            let row = client.query_opt(&stmt, &[&a, &b]).await.map_err(db)?;
            row.as_ref().map(decode).transpose()
        })
        .await
    }
}

#[async_trait]
impl ApplicantStore for PostgresStore {
    async fn get(&self, key: &ApplicantKey) -> Result<Option<ApplicantRecord>, StoreError> {
        Ok(self
            .select_one(sql::GET, &key.provider, &key.provider_id)
            .await?)
    }

    async fn find_by_external_id(
        &self,
        provider: &str,
        external_user_id: &str,
    ) -> Result<Option<ApplicantRecord>, StoreError> {
        Ok(self
            .select_one(sql::FIND_BY_EXTERNAL_ID, provider, external_user_id)
            .await?)
    }

    async fn put(
        &self,
        record: ApplicantRecord,
        expected: Expected,
    ) -> Result<ApplicantRecord, StoreError> {
        let c = Columns::encode(&record)?;
        // Ok(created_at, version) when written, Err(current version) on a conflict.
        let written: Result<(String, i64), Option<u64>> = self
            .with_client(async |client| {
                let row = match expected {
                    Expected::Absent => {
                        let stmt = client.prepare_cached(sql::INSERT).await.map_err(db)?;
                        let params: [&(dyn ToSql + Sync); 8] = [
                            &c.provider,
                            &c.provider_id,
                            &c.external_user_id,
                            &c.provider_status,
                            &c.aml_status,
                            &c.provider_updated_at,
                            &c.created_at,
                            &c.updated_at,
                        ];
                        client.query_opt(&stmt, &params).await.map_err(db)?
                    }
                    // A version beyond i64 cannot be stored, so it matches nothing.
                    Expected::Version(v) => match i64::try_from(v) {
                        Ok(v) => {
                            let stmt = client.prepare_cached(sql::UPDATE).await.map_err(db)?;
                            let params: [&(dyn ToSql + Sync); 8] = [
                                &c.provider,
                                &c.provider_id,
                                &c.external_user_id,
                                &c.provider_status,
                                &c.aml_status,
                                &c.provider_updated_at,
                                &c.updated_at,
                                &v,
                            ];
                            client.query_opt(&stmt, &params).await.map_err(db)?
                        }
                        Err(_) => None,
                    },
                };
                if let Some(row) = row {
                    return Ok(Ok((
                        row.try_get(0).map_err(db)?,
                        row.try_get(1).map_err(db)?,
                    )));
                }
                let stmt = client.prepare_cached(sql::VERSION).await.map_err(db)?;
                let found = client
                    .query_opt(&stmt, &[&c.provider, &c.provider_id])
                    .await
                    .map_err(db)?
                    .map(|row| row.try_get(0).map_err(db).and_then(stored_version))
                    .transpose()?;
                Ok(Err(found))
            })
            .await?;
        outcome(record, expected, written)
    }
}
