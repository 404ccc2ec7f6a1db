//! [`ApplicantStore`] on SQLite: compare-and-swap on `compliance_applicants.version`.

use async_trait::async_trait;
use compliance_core::{ApplicantKey, ApplicantRecord, ApplicantStore, Expected, StoreError};
use rusqlite::{Connection, Row};

use super::{SqliteStore, db, one_row, sql};
use crate::error::Error;
use crate::record::{Columns, outcome, stored_version};

fn columns(row: &Row<'_>) -> rusqlite::Result<(Columns, i64)> {
    Ok((
        Columns {
            provider: row.get(0)?,
            provider_id: row.get(1)?,
            external_user_id: row.get(2)?,
            provider_status: row.get(3)?,
            aml_status: row.get(4)?,
            provider_updated_at: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
        },
        row.get(8)?,
    ))
}

fn select_one(
    conn: &mut Connection,
    statement: &str,
    a: &str,
    b: &str,
) -> Result<Option<ApplicantRecord>, Error> {
    let mut stmt = conn.prepare_cached(statement).map_err(db)?;
    one_row(&mut stmt, (a, b), columns)?
        .map(|(columns, version)| columns.decode(version))
        .transpose()
}

#[async_trait]
impl ApplicantStore for SqliteStore {
    async fn get(&self, key: &ApplicantKey) -> Result<Option<ApplicantRecord>, StoreError> {
        let key = key.clone();
        Ok(self
            .run(move |conn| select_one(conn, sql::GET, &key.provider, &key.provider_id))
            .await?)
    }

    async fn find_by_external_id(
        &self,
        provider: &str,
        external_user_id: &str,
    ) -> Result<Option<ApplicantRecord>, StoreError> {
        let (provider, external) = (provider.to_owned(), external_user_id.to_owned());
        Ok(self
            .run(move |conn| select_one(conn, sql::FIND_BY_EXTERNAL_ID, &provider, &external))
            .await?)
    }

    async fn put(
        &self,
        record: ApplicantRecord,
        expected: Expected,
    ) -> Result<ApplicantRecord, StoreError> {
        let c = Columns::encode(&record)?;
        let written = self
            .run(move |conn| {
                let written = match expected {
                    Expected::Absent => {
                        let mut stmt = conn.prepare_cached(sql::INSERT).map_err(db)?;
                        let params = (
                            &c.provider,
                            &c.provider_id,
                            &c.external_user_id,
                            &c.provider_status,
                            &c.aml_status,
                            &c.provider_updated_at,
                            &c.created_at,
                            &c.updated_at,
                        );
                        one_row(&mut stmt, params, |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                        })?
                    }
                    // A version beyond i64 cannot be stored, so it matches nothing.
                    Expected::Version(v) => match i64::try_from(v) {
                        Ok(v) => {
                            let mut stmt = conn.prepare_cached(sql::UPDATE).map_err(db)?;
                            let params = (
                                &c.provider,
                                &c.provider_id,
                                &c.external_user_id,
                                &c.provider_status,
                                &c.aml_status,
                                &c.provider_updated_at,
                                &c.updated_at,
                                v,
                            );
                            one_row(&mut stmt, params, |row| {
                                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                            })?
                        }
                        Err(_) => None,
                    },
                };
                match written {
                    Some(written) => Ok(Ok(written)),
                    None => {
                        let mut stmt = conn.prepare_cached(sql::VERSION).map_err(db)?;
                        let found: Option<i64> =
                            one_row(&mut stmt, (&c.provider, &c.provider_id), |row| row.get(0))?;
                        Ok(Err(found.map(stored_version).transpose()?))
                    }
                }
            })
            .await?;
        outcome(record, expected, written)
    }
}
