//! `AML_PAYMENT_RESULTS_PUBLISHED`: a payment's AML process finished.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::ResultCode;
use crate::source::Source;

/// A payment's AML process completed with [`ResultCode::Approved`],
/// [`ResultCode::Declined`] or [`ResultCode::Review`].
///
/// Routing code `ext.aml-process.payment-results.published`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentResultsPublished {
    /// The AML process.
    pub aml_process_id: String,
    /// The outcome.
    pub aml_process_result_code: ResultCode,
    /// Why the subprocesses decided as they did (`LEGAL_REASON`, `CODE_RED`...).
    ///
    /// Tuum sends one comma-separated string (`"LEGAL_REASON, CODE_RED"`); it arrives here
    /// split and trimmed. A JSON array of strings is accepted too; `null`, an absent field
    /// and `""` are an empty list.
    #[serde(default, with = "reasons")]
    pub sub_process_result_reasons: Vec<String>,
    /// What the process screened (`sourceName: "PAYMENT"`, `sourceRef`: the payment).
    #[serde(default)]
    pub source: Option<Source>,
}

/// Serde helpers for `subProcessResultReasons`: a comma-separated string (or an array) in,
/// a comma-separated string out.
mod reasons {
    use super::*;

    pub(super) fn serialize<S: Serializer>(reasons: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&reasons.join(", "))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(ReasonsVisitor)
    }

    struct ReasonsVisitor;

    fn split(text: &str) -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    }

    impl<'de> Visitor<'de> for ReasonsVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a comma-separated string or an array of strings")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(split(v))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                out.extend(split(&item));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(json: &str) -> Vec<String> {
        let body = format!(
            r#"{{"amlProcessId":"P","amlProcessResultCode":"DECLINED","subProcessResultReasons":{json}}}"#
        );
        serde_json::from_str::<PaymentResultsPublished>(&body)
            .unwrap()
            .sub_process_result_reasons
    }

    #[test]
    fn reasons_are_a_list_whatever_the_shape() {
        assert_eq!(
            reasons(r#""LEGAL_REASON, CODE_RED""#),
            ["LEGAL_REASON", "CODE_RED"]
        );
        assert_eq!(reasons(r#""LEGAL_REASON""#), ["LEGAL_REASON"]);
        assert_eq!(reasons(r#"" , LEGAL_REASON,,""#), ["LEGAL_REASON"]);
        assert_eq!(reasons(r#"["A", "B"]"#), ["A", "B"]);
        assert!(reasons(r#""""#).is_empty());
        assert!(reasons("null").is_empty());
        let none: PaymentResultsPublished =
            serde_json::from_str(r#"{"amlProcessId":"P","amlProcessResultCode":"REVIEW"}"#)
                .unwrap();
        assert!(none.sub_process_result_reasons.is_empty());
        assert!(none.source.is_none());
    }

    #[test]
    fn reasons_serialise_as_tuum_sends_them() {
        let r: PaymentResultsPublished = serde_json::from_str(
            r#"{"amlProcessId":"P","amlProcessResultCode":"DECLINED","subProcessResultReasons":"A,B"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["subProcessResultReasons"], "A, B");
    }

    #[test]
    fn numbers_are_not_reasons() {
        let r = serde_json::from_str::<PaymentResultsPublished>(
            r#"{"amlProcessId":"P","amlProcessResultCode":"DECLINED","subProcessResultReasons":7}"#,
        );
        assert!(r.is_err());
    }
}
