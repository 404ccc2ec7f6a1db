//! An [`ApplicantRecord`] as the columns both backends store.
//!
//! Timestamps are RFC 3339 text in UTC with exactly nine fractional digits
//! (`2024-12-16T11:18:19.955000000Z`): exact to the nanosecond, which neither SQLite nor
//! PostgreSQL timestamp types keep, and sorting as text in time order. The AML status is
//! its JSON form from `compliance-core`.

use compliance_core::time::jiff::fmt::temporal::DateTimePrinter;
use compliance_core::{AmlStatus, ApplicantKey, ApplicantRecord, Expected, StoreError, Timestamp};

use crate::error::Error;

/// The stored columns of one record, without its version.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub provider: String,
    pub provider_id: String,
    pub external_user_id: Option<String>,
    pub provider_status: String,
    pub aml_status: String,
    pub provider_updated_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const PRINTER: DateTimePrinter = DateTimePrinter::new().precision(Some(9));

/// A timestamp as stored: UTC, nine fractional digits.
pub(crate) fn timestamp_text(t: &Timestamp) -> String {
    PRINTER.timestamp_to_string(t)
}

fn parse_timestamp(what: &'static str, text: &str) -> Result<Timestamp, Error> {
    text.parse().map_err(|e| Error::corrupt(what, e))
}

impl Columns {
    pub(crate) fn encode(record: &ApplicantRecord) -> Result<Self, Error> {
        Ok(Self {
            provider: record.key.provider.clone(),
            provider_id: record.key.provider_id.clone(),
            external_user_id: record.external_user_id.clone(),
            provider_status: record.provider_status.clone(),
            aml_status: serde_json::to_string(&record.aml_status)
                .map_err(|e| Error::corrupt("aml_status", e))?,
            provider_updated_at: record.provider_updated_at.as_ref().map(timestamp_text),
            created_at: timestamp_text(&record.created_at),
            updated_at: timestamp_text(&record.updated_at),
        })
    }

    pub(crate) fn decode(self, version: i64) -> Result<ApplicantRecord, Error> {
        let aml_status: AmlStatus =
            serde_json::from_str(&self.aml_status).map_err(|e| Error::corrupt("aml_status", e))?;
        let created_at = parse_timestamp("created_at", &self.created_at)?;
        let mut record = ApplicantRecord::new(
            ApplicantKey::new(self.provider, self.provider_id),
            self.provider_status,
            aml_status,
            created_at,
        )
        .with_provider_updated_at(
            self.provider_updated_at
                .as_deref()
                .map(|t| parse_timestamp("provider_updated_at", t))
                .transpose()?,
        );
        record.external_user_id = self.external_user_id;
        record.updated_at = parse_timestamp("updated_at", &self.updated_at)?;
        record.version = stored_version(version)?;
        Ok(record)
    }
}

/// What a compare-and-swap `put` answers: the record as stored when the write happened
/// (`Ok` with the stored `created_at` text and new version), a conflict with the version
/// found otherwise (`Err`, `None` when there is no record).
pub(crate) fn outcome(
    mut record: ApplicantRecord,
    expected: Expected,
    written: Result<(String, i64), Option<u64>>,
) -> Result<ApplicantRecord, StoreError> {
    match written {
        Ok((created_at, version)) => {
            record.created_at = parse_timestamp("created_at", &created_at)?;
            record.version = stored_version(version)?;
            Ok(record)
        }
        Err(found) => Err(StoreError::Conflict {
            key: record.key,
            expected,
            found,
        }),
    }
}

/// A stored version as the trait's `u64` (stored versions start at 1).
pub(crate) fn stored_version(version: i64) -> Result<u64, Error> {
    u64::try_from(version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| Error::corrupt("version", format!("{version} is not a positive version")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use compliance_core::{Question, RequiredAction};

    #[test]
    fn every_field_round_trips_exactly() {
        let created: Timestamp = "2022-07-08T09:04:37.123456789Z".parse().unwrap();
        let updated: Timestamp = "2024-12-16T11:18:19.955+03:00".parse().unwrap();
        let mut record = ApplicantRecord::new(
            ApplicantKey::new("elkyc", "a-1"),
            "NEEDS_ANSWERS",
            AmlStatus::ActionRequired {
                actions: vec![RequiredAction::AnswerQuestions {
                    questions: vec![Question {
                        key: "source_of_funds".into(),
                        label: "Where does the money come from?".into(),
                        options: vec!["salary".into(), "savings".into()],
                    }],
                }],
            },
            created,
        )
        .with_external_user_id("user-1")
        .with_provider_updated_at(Some(updated));
        record.updated_at = updated;
        let columns = Columns::encode(&record).unwrap();
        assert_eq!(columns.created_at, "2022-07-08T09:04:37.123456789Z");
        assert_eq!(columns.updated_at, "2024-12-16T08:18:19.955000000Z");
        record.version = 7;
        assert_eq!(columns.decode(7).unwrap(), record);
    }

    #[test]
    fn stored_text_sorts_in_time_order() {
        let earlier: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2024-01-01T00:00:00.5Z".parse().unwrap();
        assert!(timestamp_text(&earlier) < timestamp_text(&later));
    }

    #[test]
    fn bad_rows_are_corrupt_not_panics() {
        let mut columns = Columns::encode(&ApplicantRecord::new(
            ApplicantKey::new("p", "1"),
            "s",
            AmlStatus::Clear,
            Timestamp::UNIX_EPOCH,
        ))
        .unwrap();
        assert!(matches!(
            columns.clone().decode(0),
            Err(Error::Corrupt {
                what: "version",
                ..
            })
        ));
        columns.aml_status = "{".into();
        assert!(matches!(
            columns.decode(1),
            Err(Error::Corrupt {
                what: "aml_status",
                ..
            })
        ));
    }
}
