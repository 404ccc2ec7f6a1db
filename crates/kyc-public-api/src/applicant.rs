//! Applicants: the person being verified, their review, the steps (services) they went
//! through, their flow, AML monitoring and device.
//!
//! The provider returns the same large applicant object from create and get. Almost every
//! field can be absent or `null` in real responses, so every field is optional here;
//! timestamps are [`Lenient`] because the docs fill some of them with `"text"`.

use compliance_core::aml::AmlStatus;
use compliance_core::time::{Date, Timestamp};
use compliance_core::{Error as CoreError, Lenient};
use serde::{Deserialize, Serialize};

use crate::de;

compliance_core::open_enum! {
    /// Status of an applicant or of its review. Only `INIT` is seen literally in the docs;
    /// the others are the dashboard's names in the same spelling *(unconfirmed)*.
    pub enum ApplicantStatus {
        /// Created; the person has not started.
        Init = "INIT",
        /// Started but not finished, or sent back for more data.
        Incomplete = "INCOMPLETE",
        /// The person is going through the flow.
        InProgress = "IN_PROGRESS",
        /// Put on hold by a reviewer.
        OnHold = "ON_HOLD",
        /// Waiting for a reviewer.
        InReview = "IN_REVIEW",
        /// Every step done; awaiting the business's decision.
        Completed = "COMPLETED",
        /// Approved.
        Approved = "APPROVED",
        /// Rejected.
        Rejected = "REJECTED",
    }
}

impl ApplicantStatus {
    /// The provider-neutral reading of this status.
    ///
    /// | elKYC | neutral |
    /// |---|---|
    /// | `APPROVED` | [`AmlStatus::Clear`] |
    /// | `REJECTED` | [`AmlStatus::Rejected`] |
    /// | `IN_REVIEW`, `ON_HOLD`, `COMPLETED` | [`AmlStatus::UnderReview`] |
    /// | `IN_PROGRESS` | [`AmlStatus::Pending`] |
    /// | `INIT`, `INCOMPLETE` | [`AmlStatus::ActionRequired`] (no actions: hand the person a link from [`KycClient::verification_token`](crate::KycClient::verification_token)) |
    /// | anything else | [`AmlStatus::Unknown`] with the raw value |
    pub fn aml_status(&self) -> AmlStatus {
        match self {
            Self::Approved => AmlStatus::Clear,
            Self::Rejected => AmlStatus::Rejected,
            Self::InReview | Self::OnHold | Self::Completed => AmlStatus::UnderReview,
            Self::InProgress => AmlStatus::Pending,
            Self::Init | Self::Incomplete => AmlStatus::ActionRequired {
                actions: Vec::new(),
            },
            Self::Unknown(raw) => AmlStatus::Unknown { raw: raw.clone() },
        }
    }
}

compliance_core::open_enum! {
    /// A verification step (service). More exist than the docs list.
    pub enum StepType {
        /// Identity document capture.
        DocumentCapture = "DOCUMENT_CAPTURE",
        /// Passive liveness check.
        PassiveLiveness = "PASSIVE_LIVENESS",
        /// Face match between selfie and document.
        FaceMatch = "FACE_MATCH",
    }
}

compliance_core::open_enum! {
    /// Outcome of one step (only `REJECTED` is seen in the docs).
    pub enum ServiceStatus {
        /// The step failed.
        Rejected = "REJECTED",
    }
}

compliance_core::open_enum! {
    /// How a flow or service is triggered (only `ON_DEMAND` is seen in the docs).
    pub enum FlowType {
        /// Run when requested.
        OnDemand = "ON_DEMAND",
    }
}

compliance_core::open_enum! {
    /// How often ongoing AML monitoring runs (only `DAILY` is seen in the docs).
    pub enum MonitoringPeriod {
        /// Every day.
        Daily = "DAILY",
    }
}

/// A verified person, as returned by create and get.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Applicant {
    /// The provider's id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Your id for the person.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub external_user_id: Option<String>,
    /// Current status.
    #[serde(default)]
    pub status: Option<ApplicantStatus>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// When the applicant is due to be deleted, if scheduled.
    #[serde(default)]
    pub scheduled_deletion_date: Option<Lenient<Timestamp>>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Language of the verification results shown to the person.
    #[serde(default)]
    pub lang: Option<String>,
    /// Date of birth.
    #[serde(default)]
    pub date_of_birth: Option<Lenient<Date>>,
    /// IP address seen.
    #[serde(default)]
    pub ip: Option<String>,
    /// Country (from IP or documents).
    #[serde(default)]
    pub country: Option<String>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Portrait image (URL or data, as the provider sends it).
    #[serde(default)]
    pub image: Option<String>,
    /// Full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Whether the person typed the full name themselves.
    #[serde(default)]
    pub full_name_set_by_user: Option<bool>,
    /// The provider's key for your organisation.
    #[serde(default)]
    pub client_key: Option<String>,
    /// The flow's id (a number on the wire, kept as text).
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub flow_id: Option<String>,
    /// The review.
    #[serde(default)]
    pub review: Option<Review>,
    /// One entry per step the person went through.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub services_data: Vec<ServiceData>,
    /// The application the applicant belongs to.
    #[serde(default)]
    pub applications: Option<Application>,
    /// The flow.
    #[serde(default)]
    pub flow: Option<Flow>,
    /// Ongoing AML monitoring.
    #[serde(default)]
    pub aml_monitoring: Option<AmlMonitoring>,
    /// The device used.
    #[serde(default)]
    pub device: Option<Device>,
}

impl Applicant {
    /// When the provider last changed the applicant, if it said so parseably.
    pub fn updated_at(&self) -> Option<Timestamp> {
        let own = self.updated_at.as_ref().and_then(Lenient::parsed).copied();
        let review = self
            .review
            .as_ref()
            .and_then(|r| r.updated_at.as_ref())
            .and_then(Lenient::parsed)
            .copied();
        own.max(review)
    }

    /// The status, falling back to the review's.
    pub fn current_status(&self) -> Option<&ApplicantStatus> {
        self.status
            .as_ref()
            .or_else(|| self.review.as_ref().and_then(|r| r.status.as_ref()))
    }
}

/// The applicant's review.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Review {
    /// Review id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Review version (increments on change).
    #[serde(default)]
    pub version: Option<i64>,
    /// Review status.
    #[serde(default)]
    pub status: Option<ApplicantStatus>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
    /// Reviewer's comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Warnings (a string in the docs, a list in webhooks: both accepted).
    #[serde(default, deserialize_with = "de::strings")]
    pub warnings: Vec<String>,
    /// Details, in whatever shape the provider sends.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// Reviewer's id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub reviewer_id: Option<String>,
    /// Reviewer's name.
    #[serde(default)]
    pub reviewer_full_name: Option<String>,
    /// Who set the status (id).
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub status_set_by_id: Option<String>,
    /// Who set the status (name).
    #[serde(default)]
    pub status_set_by_name: Option<String>,
}

/// One step the applicant went through.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceData {
    /// The step's results (document capture results in the docs).
    #[serde(default)]
    pub data: Option<StepResult>,
    /// Which step.
    #[serde(default)]
    pub service: Option<StepType>,
    /// Its outcome.
    #[serde(default)]
    pub status: Option<ServiceStatus>,
    /// How it is triggered.
    #[serde(default, rename = "type")]
    pub kind: Option<FlowType>,
    /// How many times the service was deactivated.
    #[serde(default)]
    pub deactivated_service_count: Option<i64>,
    /// Error message, if the step failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Reason for the outcome.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Results of a step. The docs show document capture (document types, graphics and text
/// fields, in the document reader's numeric codes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StepResult {
    /// Result id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// The step.
    #[serde(default)]
    pub step_type: Option<StepType>,
    /// Overall result code.
    #[serde(default)]
    pub overall_result: Option<i64>,
    /// Processing time.
    #[serde(default)]
    pub elapsed_time: Option<serde_json::Number>,
    /// RFID processing time.
    #[serde(default, rename = "elapsedTimeRFID")]
    pub elapsed_time_rfid: Option<serde_json::Number>,
    /// Pages uploaded.
    #[serde(default)]
    pub uploaded_pages_count: Option<i64>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// Recognised document types.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub types: Vec<DocumentType>,
    /// Image fields, grouped by field type.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub graphics: Vec<FieldGroup<GraphicField>>,
    /// Text fields, grouped by field type.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub fields: Vec<FieldGroup<TextField>>,
    /// Every other field of the result, as sent: other step types (liveness, face match,
    /// future ones) report their own fields.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A recognised document type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DocumentType {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Document id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub doc_id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Page.
    #[serde(default)]
    pub page_index: Option<i64>,
    /// Whether it has a machine-readable zone.
    #[serde(default, rename = "hasMRZ")]
    pub has_mrz: Option<bool>,
    /// ICAO issuing state code.
    #[serde(default)]
    pub icao: Option<String>,
    /// Document reader type code.
    #[serde(default, rename = "type")]
    pub kind: Option<i64>,
    /// Year of the document model.
    #[serde(default)]
    pub year: Option<String>,
    /// Format code.
    #[serde(default)]
    pub format: Option<i64>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
}

/// Fields of one field type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct FieldGroup<T> {
    /// The document reader's field type code.
    #[serde(default)]
    pub field_type: Option<i64>,
    /// The fields.
    #[serde(
        default = "Vec::new",
        deserialize_with = "compliance_core::de::null_as_empty"
    )]
    pub data: Vec<T>,
}

/// An image field of a document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GraphicField {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Document id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub doc_id: Option<String>,
    /// Field type code.
    #[serde(default)]
    pub field_type: Option<i64>,
    /// Source type code.
    #[serde(default)]
    pub source_type: Option<i64>,
    /// Container type code.
    #[serde(default)]
    pub container_type: Option<i64>,
    /// Page.
    #[serde(default)]
    pub page_index: Option<i64>,
    /// The image (URL or data).
    #[serde(default)]
    pub image: Option<String>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
}

/// A text field of a document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TextField {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Document id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub doc_id: Option<String>,
    /// Field type code.
    #[serde(default)]
    pub field_type: Option<i64>,
    /// Language code.
    #[serde(default)]
    pub lcid: Option<i64>,
    /// Status code.
    #[serde(default)]
    pub status: Option<i64>,
    /// Page.
    #[serde(default)]
    pub page_index: Option<i64>,
    /// Recognition probability.
    #[serde(default)]
    pub probability: Option<serde_json::Number>,
    /// Validity code.
    #[serde(default)]
    pub validity: Option<i64>,
    /// The value read.
    #[serde(default)]
    pub value: Option<String>,
    /// Source type code.
    #[serde(default)]
    pub source_type: Option<i64>,
    /// Comparison with supplied info, in whatever shape the provider sends.
    #[serde(default)]
    pub comparison: Option<serde_json::Value>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
}

/// The application (API key owner) the applicant belongs to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Application {
    /// The application's key.
    #[serde(default)]
    pub app_key: Option<String>,
}

/// A verification flow.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Flow {
    /// Name (what create and token take as `flowName`).
    #[serde(default)]
    pub name: Option<String>,
    /// Id (what move-to-flow takes as `flowId`).
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// How it is triggered.
    #[serde(default, rename = "type")]
    pub kind: Option<FlowType>,
    /// Whether a completed applicant is approved automatically.
    #[serde(default)]
    pub auto_approve: Option<bool>,
    /// Whether a face may belong to one applicant only.
    #[serde(default)]
    pub unique_face_match: Option<bool>,
    /// The steps.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub services: Vec<StepType>,
}

/// Ongoing AML monitoring of an applicant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AmlMonitoring {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub applicant_id: Option<String>,
    /// External id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub external_id: Option<String>,
    /// How often it runs.
    #[serde(default)]
    pub period: Option<MonitoringPeriod>,
    /// Whether it runs.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
}

/// The device the person verified on (geo-IP and user agent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// SDK version.
    #[serde(default)]
    pub sdk_version: Option<String>,
    /// IP address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// EU flag as the geo-IP database gives it.
    #[serde(default)]
    pub eu: Option<String>,
    /// Time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Metro code.
    #[serde(default)]
    pub metro: Option<i64>,
    /// Latitude and longitude.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub ll: Vec<f64>,
    /// Accuracy radius (km).
    #[serde(default)]
    pub area: Option<i64>,
    /// User agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Browser.
    #[serde(default)]
    pub browser_type: Option<String>,
    /// Browser version.
    #[serde(default)]
    pub browser_version: Option<String>,
}

/// Body of *create applicant*.
///
/// ```
/// use kyc_public_api::CreateApplicant;
/// let req = CreateApplicant::new("user-42", "basic-kyc")
///     .email("ada@example.com")
///     .lang("en")
///     .supplied_info(serde_json::json!({"firstName": "Ada"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateApplicant {
    /// Your unique id for the person (required).
    pub external_user_id: String,
    /// The flow to verify in (required).
    pub flow_name: String,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Language the verification results are shown in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Data to compare with what is read from the documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplied_info: Option<serde_json::Value>,
}

impl CreateApplicant {
    /// An applicant with the two required fields.
    pub fn new(external_user_id: impl Into<String>, flow_name: impl Into<String>) -> Self {
        Self {
            external_user_id: external_user_id.into(),
            flow_name: flow_name.into(),
            phone: None,
            email: None,
            lang: None,
            supplied_info: None,
        }
    }

    /// Sets the phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the language.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Sets the supplied info (must be a JSON object).
    pub fn supplied_info(mut self, info: serde_json::Value) -> Self {
        self.supplied_info = Some(info);
        self
    }

    /// Checks the request locally; the client calls this before sending.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.external_user_id.trim().is_empty() {
            return Err(CoreError::invalid_request(
                "externalUserId",
                "must not be empty",
            ));
        }
        if self.flow_name.trim().is_empty() {
            return Err(CoreError::invalid_request("flowName", "must not be empty"));
        }
        if self.supplied_info.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(CoreError::invalid_request(
                "suppliedInfo",
                "must be a JSON object",
            ));
        }
        Ok(())
    }
}

/// Body of *move to flow*.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MoveToFlow<'a> {
    pub(crate) flow_id: &'a str,
}

/// `{id, status}`: answer of *applicant status* and *move to flow*.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApplicantStatusInfo {
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Its status.
    #[serde(default)]
    pub status: Option<ApplicantStatus>,
}

/// Answer of *schedule deletion*.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduledDeletion {
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// When it will be deleted.
    #[serde(default)]
    pub scheduled_deletion_date: Option<Lenient<Timestamp>>,
}

/// Answer of *restore*.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoredApplicant {
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_covers_every_known_status() {
        for wire in ApplicantStatus::KNOWN {
            let s = ApplicantStatus::from(*wire);
            assert!(
                !matches!(s.aml_status(), AmlStatus::Unknown { .. }),
                "{wire}"
            );
        }
        assert_eq!(
            ApplicantStatus::from("ARCHIVED").aml_status(),
            AmlStatus::Unknown {
                raw: "ARCHIVED".into()
            }
        );
        assert_eq!(ApplicantStatus::Approved.aml_status(), AmlStatus::Clear);
        assert_eq!(ApplicantStatus::Rejected.aml_status(), AmlStatus::Rejected);
    }

    #[test]
    fn create_validation_names_the_field() {
        let err = CreateApplicant::new(" ", "f").validate().unwrap_err();
        assert!(err.to_string().contains("externalUserId"), "{err}");
        let err = CreateApplicant::new("u", "f")
            .supplied_info(serde_json::json!([1]))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("suppliedInfo"), "{err}");
        assert!(CreateApplicant::new("u", "f").validate().is_ok());
    }

    #[test]
    fn updated_at_prefers_the_latest_parseable_time() {
        let a: Applicant = serde_json::from_str(
            r#"{"updatedAt":"text","review":{"updatedAt":"2025-07-04T12:01:17.228Z"}}"#,
        )
        .unwrap();
        assert_eq!(
            a.updated_at(),
            Some("2025-07-04T12:01:17.228Z".parse().unwrap())
        );
    }
}
