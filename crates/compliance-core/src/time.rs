//! Time for the whole workspace: [`jiff`], re-exported so every crate agrees on one library.
//!
//! - [`Timestamp`]: an instant with nanosecond precision. Its serde form is RFC 3339 and
//!   parsing accepts 0–9 fractional digits and any offset (`Z`, `+03:00`).
//! - [`Date`]: a calendar date, serde form `YYYY-MM-DD`.
//! - [`Span`]: an ISO 8601 duration such as `P1D`.
//! - [`unix_seconds`]: serde helpers for instants sent as Unix seconds.

pub use jiff;
pub use jiff::civil::Date;
pub use jiff::{SignedDuration, Span, Timestamp};

/// Serde helpers for a [`Timestamp`] sent as Unix seconds (a JSON integer, or a string of
/// digits). Serialises as an integer.
pub mod unix_seconds {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Int(i64),
        Text(String),
    }

    fn to_timestamp<E: de::Error>(s: Seconds) -> Result<Timestamp, E> {
        let secs = match s {
            Seconds::Int(n) => n,
            Seconds::Text(t) => t
                .trim()
                .parse::<i64>()
                .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&t), &"Unix seconds"))?,
        };
        Timestamp::from_second(secs).map_err(de::Error::custom)
    }

    /// Deserialises Unix seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        to_timestamp(Seconds::deserialize(d)?)
    }

    /// Serialises as Unix seconds.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.as_second())
    }

    /// The same for an optional field (`null` or absent with `#[serde(default)]` is `None`).
    pub mod option {
        use super::*;

        /// Deserialises Unix seconds or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<Seconds>::deserialize(d)?
                .map(to_timestamp)
                .transpose()
        }

        /// Serialises as Unix seconds or `null`.
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_i64(t.as_second()),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_zero_to_nine_fraction_digits_and_offsets() {
        for (text, nanos) in [
            ("2022-07-08T00:00:00Z", 0),
            ("2024-12-16T11:18:19.955Z", 955_000_000),
            ("2022-07-08T09:04:37.10856Z", 108_560_000),
            ("2025-10-23T18:23:40.000000Z", 0),
            ("2022-07-08T09:04:37.123456789Z", 123_456_789),
        ] {
            let t: Timestamp = text.parse().unwrap();
            assert_eq!(t.subsec_nanosecond(), nanos, "{text}");
        }
        let a: Timestamp = "2023-06-05T11:03:51+03:00".parse().unwrap();
        let b: Timestamp = "2023-06-05T08:03:51Z".parse().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn dates_spans_and_unix_seconds() {
        let d: Date = serde_json::from_str(r#""2022-07-08""#).unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2022, 7, 8));
        let s: Span = serde_json::from_str(r#""P1D""#).unwrap();
        assert_eq!(s.get_days(), 1);

        #[derive(serde::Deserialize)]
        struct T {
            #[serde(with = "unix_seconds")]
            at: Timestamp,
        }
        let t: T = serde_json::from_str(r#"{"at":1700000000}"#).unwrap();
        assert_eq!(t.at.as_second(), 1_700_000_000);
        let t: T = serde_json::from_str(r#"{"at":"1700000000"}"#).unwrap();
        assert_eq!(t.at.as_second(), 1_700_000_000);
        assert!(serde_json::from_str::<T>(r#"{"at":"soon"}"#).is_err());
    }
}
