//! Keeping an [`ApplicantStore`] in step with elKYC, from responses and webhooks alike.
//!
//! Webhooks arrive late, twice and out of order, concurrently with polling, and their
//! envelope `time` is not authenticated (a replay can carry any `time`). So a webhook is
//! only news that an applicant changed: [`refresh`] fetches the applicant (the source of
//! truth) and [`apply`]s what the API says, ordered by the applicant's own `updatedAt`.
//! [`apply`] writes an [`ApplicantUpdate`] only if it is newer than what the store holds,
//! using the record's optimistic version; when another writer got there first it re-reads
//! and decides again (the shared loop, [`compliance_core::apply_newer`]).

use compliance_core::store::{
    ApplicantKey, ApplicantNews, ApplicantStore, StoreError, apply_newer,
};
use compliance_core::time::Timestamp;

use crate::PROVIDER;
use crate::applicant::{Applicant, ApplicantStatus, ApplicantStatusInfo};
use crate::client::KycClient;

/// What [`apply`] did (the shared [`compliance_core::Applied`]).
pub use compliance_core::store::Applied;

/// One observation of an applicant's status, and when the provider made it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplicantUpdate {
    /// The provider's applicant id.
    pub applicant_id: String,
    /// Your id for the person, if known.
    pub external_user_id: Option<String>,
    /// The status.
    pub status: ApplicantStatus,
    /// When the provider was in this state: orders updates.
    pub at: Timestamp,
}

impl ApplicantUpdate {
    /// An update.
    pub fn new(applicant_id: impl Into<String>, status: ApplicantStatus, at: Timestamp) -> Self {
        Self {
            applicant_id: applicant_id.into(),
            external_user_id: None,
            status,
            at,
        }
    }

    /// Sets the external user id.
    pub fn with_external_user_id(mut self, id: impl Into<String>) -> Self {
        self.external_user_id = Some(id.into());
        self
    }

    /// From an applicant object fetched at `fetched_at`. Its time is the applicant's (or
    /// its review's) `updatedAt`, else `fetched_at`. `None` without an id or a status.
    pub fn from_applicant(applicant: &Applicant, fetched_at: Timestamp) -> Option<Self> {
        Some(Self {
            applicant_id: applicant.id.clone()?,
            external_user_id: applicant.external_user_id.clone(),
            status: applicant.current_status()?.clone(),
            at: applicant.updated_at().unwrap_or(fetched_at),
        })
    }

    /// The provider-neutral news this update is: keyed by [`PROVIDER`] and the applicant id.
    pub fn to_news(&self) -> ApplicantNews {
        let news = ApplicantNews::new(
            ApplicantKey::new(PROVIDER, self.applicant_id.clone()),
            self.status.as_str(),
            self.status.aml_status(),
            self.at,
        );
        match &self.external_user_id {
            Some(id) => news.with_external_user_id(id.clone()),
            None => news,
        }
    }

    /// From a status answer fetched at `fetched_at` (its time). `None` without an id or a
    /// status.
    pub fn from_status(info: &ApplicantStatusInfo, fetched_at: Timestamp) -> Option<Self> {
        Some(Self::new(
            info.id.clone()?,
            info.status.clone()?,
            fetched_at,
        ))
    }
}

/// Applies `update` to `store` unless the store already holds the same or newer news
/// (by [`ApplicantRecord::provider_updated_at`](compliance_core::ApplicantRecord::provider_updated_at)).
/// `now` stamps the write. The shared newer-wins loop of
/// [`compliance_core::apply_newer`], with elKYC's status and its neutral reading.
///
/// A different status stamped with the same provider time as the stored one is applied:
/// the provider writes times to the millisecond, two distinct changes can share one, and
/// dropping the second would lose it. (Fed by [`refresh`], the later write is the later
/// fetch.) The same status at the same time is the same news: stale.
pub async fn apply<S: ApplicantStore + ?Sized>(
    store: &S,
    update: &ApplicantUpdate,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    apply_newer(store, &update.to_news(), now).await
}

/// Why [`refresh`] could not bring the store in step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Fetching the applicant failed (its [`is_retryable`](crate::Actionable::is_retryable) tells whether to retry).
    #[error("could not fetch the applicant: {0}")]
    Fetch(#[from] crate::Error),
    /// The provider's answer has no applicant id or no status.
    #[error("the provider's applicant has no {0}")]
    Incomplete(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Fetches the applicant (by its id or your external id) and [`apply`]s it: what a webhook
/// handler calls. The provider's answer is the source of truth, ordered by its `updatedAt`;
/// a late or replayed webhook therefore never writes older state over newer.
///
/// ```no_run
/// # async fn demo(client: kyc_public_api::KycClient, store: kyc_public_api::MemoryApplicantStore,
/// #   webhook: kyc_public_api::WebhookEvent) -> Result<(), kyc_public_api::store::RefreshError> {
/// use kyc_public_api::Timestamp;
/// if let Some(id) = &webhook.event.applicant_id {
///     kyc_public_api::store::refresh(&client, &store, id, Timestamp::now()).await?;
/// }
/// # Ok(()) }
/// ```
pub async fn refresh<S: ApplicantStore + ?Sized>(
    client: &KycClient,
    store: &S,
    applicant_id: &str,
    now: Timestamp,
) -> Result<Applied, RefreshError> {
    let applicant = client.get_applicant(applicant_id).await?;
    if applicant.id.is_none() {
        return Err(RefreshError::Incomplete("id"));
    }
    let update = ApplicantUpdate::from_applicant(&applicant, now)
        .ok_or(RefreshError::Incomplete("status"))?;
    Ok(apply(store, &update, now).await?)
}
