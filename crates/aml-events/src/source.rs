//! Where a payment or collection came from, or what an AML process screened: shared by the
//! event bodies (a leaf module).

use serde::{Deserialize, Serialize};

/// What initiated a payment or a collection, or what an AML process screened
/// (`{"sourceName": "PAYMENT", "sourceRef": "ID-181922"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Source {
    /// The kind of source (`PAYMENT`...).
    #[serde(default)]
    pub source_name: Option<String>,
    /// The source's id.
    #[serde(default)]
    pub source_ref: Option<String>,
}
