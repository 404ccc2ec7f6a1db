//! [`ApplicantListing`] and [`InboxListing`] on PostgreSQL: one bounded query and one count.

use async_trait::async_trait;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, db};
use crate::error::Error;
use crate::listing::{
    ApplicantCount, ApplicantListing, ApplicantPage, ApplicantQuery, InboxCount, InboxKey,
    InboxKeyPage, InboxKeyQuery, InboxListing, KeyState, applicant_order, count, key_state, micros,
};
use crate::record::Columns;

/// The status tag of a row.
const STATUS: &str = "(aml_status ->> 'status')";

type Param = Box<dyn ToSql + Sync + Send>;

/// The `WHERE` of an applicant query and its parameters (`$1`, `$2`... in order).
fn applicant_filter(query: &ApplicantQuery) -> (String, Vec<Param>) {
    let mut clauses = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    if let Some(provider) = &query.provider {
        params.push(Box::new(provider.clone()));
        clauses.push(format!("provider = ${}", params.len()));
    }
    if let Some(status) = query.status {
        params.push(Box::new(status.as_str().to_owned()));
        clauses.push(format!("{STATUS} = ${}", params.len()));
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        params.push(Box::new(search.to_owned()));
        let n = params.len();
        clauses.push(format!(
            "(strpos(provider_id, ${n}) > 0 OR strpos(COALESCE(external_user_id, ''), ${n}) > 0)"
        ));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (filter, params)
}

fn inbox_filter(query: &InboxKeyQuery) -> (String, Vec<Param>) {
    let mut clauses = vec!["state IN ('in_progress', 'done')".to_owned()];
    let mut params: Vec<Param> = Vec::new();
    if let Some(inbox) = &query.inbox {
        params.push(Box::new(inbox.clone()));
        clauses.push(format!("inbox = ${}", params.len()));
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

fn limit_offset(params: &mut Vec<Param>, limit: u32, offset: u64) -> String {
    params.push(Box::new(i64::from(limit)));
    params.push(Box::new(i64::try_from(offset).unwrap_or(i64::MAX)));
    format!(
        " LIMIT ${}::bigint OFFSET ${}::bigint",
        params.len() - 1,
        params.len()
    )
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

#[async_trait]
impl ApplicantListing for PostgresStore {
    async fn list_applicants(&self, query: &ApplicantQuery) -> Result<ApplicantPage, Error> {
        let (filter, mut params) = applicant_filter(query);
        let order = applicant_order(query, STATUS);
        self.with_client(async |client| {
            let total: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM compliance_applicants{filter}"),
                    &refs(&params),
                )
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(db)?;
            let page = limit_offset(&mut params, query.page_size(), query.offset);
            let rows = client
                .query(
                    &format!(
                        "SELECT provider, provider_id, external_user_id, provider_status, \
                         aml_status::text, provider_updated_at, created_at, updated_at, version \
                         FROM compliance_applicants{filter} ORDER BY {order}{page}"
                    ),
                    &refs(&params),
                )
                .await
                .map_err(db)?;
            let mut records = Vec::with_capacity(rows.len());
            for row in &rows {
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
                records.push(columns.decode(row.try_get(8).map_err(db)?)?);
            }
            Ok(ApplicantPage {
                records,
                total: count(total),
            })
        })
        .await
    }

    async fn applicant_counts(&self) -> Result<Vec<ApplicantCount>, Error> {
        self.with_client(async |client| {
            let rows = client
                .query(
                    &format!(
                        "SELECT provider, COALESCE({STATUS}, ''), count(*) \
                         FROM compliance_applicants GROUP BY 1, 2 ORDER BY 1, 2"
                    ),
                    &[],
                )
                .await
                .map_err(db)?;
            rows.iter()
                .map(|row| {
                    Ok(ApplicantCount {
                        provider: row.try_get(0).map_err(db)?,
                        status: row.try_get(1).map_err(db)?,
                        count: count(row.try_get(2).map_err(db)?),
                    })
                })
                .collect()
        })
        .await
    }
}

#[async_trait]
impl InboxListing for PostgresStore {
    async fn list_inbox_keys(&self, query: &InboxKeyQuery) -> Result<InboxKeyPage, Error> {
        let (filter, mut params) = inbox_filter(query);
        self.with_client(async |client| {
            let total: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM compliance_inbox{filter}"),
                    &refs(&params),
                )
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(db)?;
            let page = limit_offset(&mut params, query.page_size(), query.offset);
            let rows = client
                .query(
                    &format!(
                        "SELECT inbox, key, state, \
                         (extract(epoch FROM COALESCE(completed_at, lease_until)) * 1000000)::bigint AS at \
                         FROM compliance_inbox{filter} ORDER BY at DESC, inbox, key{page}"
                    ),
                    &refs(&params),
                )
                .await
                .map_err(db)?;
            let mut keys = Vec::with_capacity(rows.len());
            for row in &rows {
                let state: String = row.try_get(2).map_err(db)?;
                keys.push(InboxKey {
                    inbox: row.try_get(0).map_err(db)?,
                    key: row.try_get(1).map_err(db)?,
                    state: key_state(&state)?,
                    at: micros("completed_at", row.try_get(3).map_err(db)?)?,
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
        self.with_client(async |client| {
            let rows = client
                .query(
                    "SELECT inbox, count(*) FILTER (WHERE state = 'in_progress'), \
                     count(*) FILTER (WHERE state = 'done') \
                     FROM compliance_inbox GROUP BY inbox ORDER BY inbox",
                    &[],
                )
                .await
                .map_err(db)?;
            rows.iter()
                .map(|row| {
                    Ok(InboxCount {
                        inbox: row.try_get(0).map_err(db)?,
                        claimed: count(row.try_get(1).map_err(db)?),
                        done: count(row.try_get(2).map_err(db)?),
                    })
                })
                .collect()
        })
        .await
    }
}
