//! The events the simulated Tuum sends: the documented examples, byte for byte, with a fresh
//! `notificationId`.

use serde::{Deserialize, Serialize};
use serde_json::json;

const PERSON: &str = include_str!("events/person_subprocess_created.json");
const PAYMENT: &str = include_str!("events/subprocess_created.json");
const COLLECTION: &str = include_str!("events/collection_subprocess_created.json");
const RESULTS: &str = include_str!("events/payment_results_published.json");

/// Which event to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum TuumEvent {
    /// `AML_PERSON_SUBPROCESS_CREATED`.
    #[serde(rename = "AML_PERSON_SUBPROCESS_CREATED")]
    PersonSubprocessCreated,
    /// `AML_SUBPROCESS_CREATED` (a payment).
    #[serde(rename = "AML_SUBPROCESS_CREATED")]
    SubprocessCreated,
    /// `AML_SUBPROCESS_CREATED_COLLECTION`.
    #[serde(rename = "AML_SUBPROCESS_CREATED_COLLECTION")]
    CollectionSubprocessCreated,
    /// `AML_PAYMENT_RESULTS_PUBLISHED` with a result code (`APPROVED`, `DECLINED`, `REVIEW`).
    #[serde(rename = "AML_PAYMENT_RESULTS_PUBLISHED")]
    PaymentResultsPublished {
        /// The result code.
        result: String,
    },
    /// Any JSON body, sent as given (for event types Tuum may add).
    #[serde(rename = "RAW")]
    Raw {
        /// The body.
        body: String,
    },
}

/// The result codes of `AML_PAYMENT_RESULTS_PUBLISHED`, as documented.
pub const RESULT_CODES: [&str; 3] = ["APPROVED", "DECLINED", "REVIEW"];

impl TuumEvent {
    /// Every documented event: the three subprocess events and the results event with each
    /// of the [`RESULT_CODES`].
    pub fn documented() -> Vec<TuumEvent> {
        let mut all = vec![
            TuumEvent::PersonSubprocessCreated,
            TuumEvent::SubprocessCreated,
            TuumEvent::CollectionSubprocessCreated,
        ];
        all.extend(
            RESULT_CODES
                .iter()
                .map(|r| TuumEvent::PaymentResultsPublished {
                    result: (*r).into(),
                }),
        );
        all
    }

    /// The `notificationTypeCode` (`None` for [`TuumEvent::Raw`]).
    pub fn type_code(&self) -> Option<&'static str> {
        Some(match self {
            TuumEvent::PersonSubprocessCreated => "AML_PERSON_SUBPROCESS_CREATED",
            TuumEvent::SubprocessCreated => "AML_SUBPROCESS_CREATED",
            TuumEvent::CollectionSubprocessCreated => "AML_SUBPROCESS_CREATED_COLLECTION",
            TuumEvent::PaymentResultsPublished { .. } => "AML_PAYMENT_RESULTS_PUBLISHED",
            TuumEvent::Raw { .. } => return None,
        })
    }

    /// The body Tuum delivers: the documented example with `notification_id` (and, for
    /// results, the chosen result code), every other byte as documented. Public so that a
    /// tool can send what the simulator sends without a running sandbox (the
    /// `compliance trigger tuum ...` command).
    pub fn body(&self, notification_id: &str) -> String {
        let id = format!(r#""notificationId": "{notification_id}""#);
        let with_id = |t: &str| t.replacen(r#""notificationId": "ID-9999""#, &id, 1);
        match self {
            TuumEvent::PersonSubprocessCreated => with_id(PERSON),
            TuumEvent::SubprocessCreated => with_id(PAYMENT),
            TuumEvent::CollectionSubprocessCreated => with_id(COLLECTION),
            TuumEvent::PaymentResultsPublished { result } => with_id(RESULTS).replacen(
                r#""amlProcessResultCode": "APPROVED""#,
                &format!(r#""amlProcessResultCode": {}"#, json!(result)),
                1,
            ),
            TuumEvent::Raw { body } => body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_the_documented_bytes_but_the_id() {
        let body = TuumEvent::SubprocessCreated.body("NTF-000001");
        assert!(body.contains(r#""notificationId": "NTF-000001""#));
        assert!(body.contains(r#""amount": 1.22"#));
        assert_eq!(
            body.len(),
            PAYMENT.len() + "NTF-000001".len() - "ID-9999".len()
        );
        let results = TuumEvent::PaymentResultsPublished {
            result: "DECLINED".into(),
        }
        .body("N");
        assert!(results.contains(r#""amlProcessResultCode": "DECLINED""#));
        let v: serde_json::Value = serde_json::from_str(&results).unwrap();
        assert_eq!(v["notificationTypeCode"], "AML_PAYMENT_RESULTS_PUBLISHED");
        for event in TuumEvent::documented() {
            let v: serde_json::Value = serde_json::from_str(&event.body("N-1")).unwrap();
            assert_eq!(v["notificationTypeCode"], event.type_code().unwrap());
            assert_eq!(v["notificationId"], "N-1");
        }
        assert_eq!(TuumEvent::documented().len(), 6);
    }
}
