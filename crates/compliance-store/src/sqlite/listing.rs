//! [`ApplicantListing`] and [`InboxListing`] on SQLite: one bounded query and one count.

use async_trait::async_trait;
use rusqlite::types::Value;

use super::{SqliteStore, db};
use crate::error::Error;
use crate::listing::{
    ApplicantCount, ApplicantListing, ApplicantPage, ApplicantQuery, InboxCount, InboxKey,
    InboxKeyPage, InboxKeyQuery, InboxListing, KeyState, applicant_order, count, key_state, micros,
};
use crate::record::Columns;

/// The status tag of a row.
const STATUS: &str = "json_extract(aml_status, '$.status')";

/// The `WHERE` of an applicant query and its parameters (`?1`, `?2`... in order).
fn applicant_filter(query: &ApplicantQuery) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(provider) = &query.provider {
        params.push(Value::Text(provider.clone()));
        clauses.push(format!("provider = ?{}", params.len()));
    }
    if let Some(status) = query.status {
        params.push(Value::Text(status.as_str().to_owned()));
        clauses.push(format!("{STATUS} = ?{}", params.len()));
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        params.push(Value::Text(search.to_owned()));
        let n = params.len();
        clauses.push(format!(
            "(instr(provider_id, ?{n}) > 0 OR instr(COALESCE(external_user_id, ''), ?{n}) > 0)"
        ));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (filter, params)
}

fn inbox_filter(query: &InboxKeyQuery) -> (String, Vec<Value>) {
    let mut clauses = vec!["state IN ('in_progress', 'done')".to_owned()];
    let mut params = Vec::new();
    if let Some(inbox) = &query.inbox {
        params.push(Value::Text(inbox.clone()));
        clauses.push(format!("inbox = ?{}", params.len()));
    }
    if let Some(state) = query.state {
        clauses.push(
            match state {
                KeyState::Claimed => "state = 'in_progress'",
                KeyState::Done => "state = 'done'",
            }
            .to_owned(),
        );
    }
    (format!(" WHERE {}", clauses.join(" AND ")), params)
}

fn limit_offset(params: &mut Vec<Value>, limit: u32, offset: u64) -> String {
    params.push(Value::Integer(i64::from(limit)));
    params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    format!(" LIMIT ?{} OFFSET ?{}", params.len() - 1, params.len())
}

#[async_trait]
impl ApplicantListing for SqliteStore {
    async fn list_applicants(&self, query: &ApplicantQuery) -> Result<ApplicantPage, Error> {
        let query = query.clone();
        self.run(move |conn| {
            let (filter, mut params) = applicant_filter(&query);
            let total: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM compliance_applicants{filter}"
                ))
                .map_err(db)?
                .query_row(rusqlite::params_from_iter(params.iter()), |row| row.get(0))
                .map_err(db)?;
            let order = applicant_order(&query, STATUS);
            let page = limit_offset(&mut params, query.page_size(), query.offset);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT provider, provider_id, external_user_id, provider_status, \
                     aml_status, provider_updated_at, created_at, updated_at, version \
                     FROM compliance_applicants{filter} ORDER BY {order}{page}"
                ))
                .map_err(db)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter()))
                .map_err(db)?;
            let mut records = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let columns = Columns {
                    provider: row.get(0).map_err(db)?,
                    provider_id: row.get(1).map_err(db)?,
                    external_user_id: row.get(2).map_err(db)?,
                    provider_status: row.get(3).map_err(db)?,
                    aml_status: row.get(4).map_err(db)?,
                    provider_updated_at: row.get(5).map_err(db)?,
                    created_at: row.get(6).map_err(db)?,
                    updated_at: row.get(7).map_err(db)?,
                };
                records.push(columns.decode(row.get(8).map_err(db)?)?);
            }
            Ok(ApplicantPage {
                records,
                total: count(total),
            })
        })
        .await
    }

    async fn applicant_counts(&self) -> Result<Vec<ApplicantCount>, Error> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT provider, COALESCE({STATUS}, ''), count(*) FROM compliance_applicants \
                     GROUP BY 1, 2 ORDER BY 1, 2"
                ))
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut counts = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                counts.push(ApplicantCount {
                    provider: row.get(0).map_err(db)?,
                    status: row.get(1).map_err(db)?,
                    count: count(row.get(2).map_err(db)?),
                });
            }
            Ok(counts)
        })
        .await
    }
}

#[async_trait]
impl InboxListing for SqliteStore {
    async fn list_inbox_keys(&self, query: &InboxKeyQuery) -> Result<InboxKeyPage, Error> {
        let query = query.clone();
        self.run(move |conn| {
            let (filter, mut params) = inbox_filter(&query);
            let total: i64 = conn
                .prepare_cached(&format!("SELECT count(*) FROM compliance_inbox{filter}"))
                .map_err(db)?
                .query_row(rusqlite::params_from_iter(params.iter()), |row| row.get(0))
                .map_err(db)?;
            let page = limit_offset(&mut params, query.page_size(), query.offset);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT inbox, key, state, COALESCE(completed_at, lease_until) AS at \
                     FROM compliance_inbox{filter} ORDER BY at DESC, inbox, key{page}"
                ))
                .map_err(db)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter()))
                .map_err(db)?;
            let mut keys = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let state: String = row.get(2).map_err(db)?;
                keys.push(InboxKey {
                    inbox: row.get(0).map_err(db)?,
                    key: row.get(1).map_err(db)?,
                    state: key_state(&state)?,
                    at: micros("completed_at", row.get(3).map_err(db)?)?,
                });
            }
            Ok(InboxKeyPage {
                keys,
                total: count(total),
            })
        })
        .await
    }

    async fn inbox_counts(&self) -> Result<Vec<InboxCount>, Error> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT inbox, sum(state = 'in_progress'), sum(state = 'done') \
                     FROM compliance_inbox GROUP BY inbox ORDER BY inbox",
                )
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut counts = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                counts.push(InboxCount {
                    inbox: row.get(0).map_err(db)?,
                    claimed: count(row.get(1).map_err(db)?),
                    done: count(row.get(2).map_err(db)?),
                });
            }
            Ok(counts)
        })
        .await
    }
}
