//! Questionnaire schemas: the forms a flow asks the person to fill in.

use compliance_core::Lenient;
use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A questionnaire schema. `content` and `version` are free-form JSON in the provider's
/// docs and are kept as such.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Questionnaire {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The provider's key for your organisation.
    #[serde(default)]
    pub client_key: Option<String>,
    /// The form definition.
    #[serde(default)]
    pub content: Option<serde_json::Value>,
    /// Version information (an object in the docs).
    #[serde(default)]
    pub version: Option<serde_json::Value>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
}
