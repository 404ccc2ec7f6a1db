//! `AML_PERSON_SUBPROCESS_CREATED`: a new person needs screening.

use compliance_core::Timestamp;
use serde::{Deserialize, Serialize};

/// Tuum created a person (status `PENDING`) and opened an AML subprocess that waits for the
/// external provider to screen them.
///
/// Routing code `ext.aml-subprocess.waiting-for-external-provider-person`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PersonSubprocessCreated {
    /// When Tuum produced the message.
    #[serde(default)]
    pub message_d_time: Option<Timestamp>,
    /// The AML process.
    pub aml_process_id: String,
    /// The AML subprocess waiting for the screening answer.
    pub aml_subprocess_id: String,
    /// The person to screen.
    pub person_id: String,
}
