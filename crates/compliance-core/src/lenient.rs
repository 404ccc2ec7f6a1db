//! Values that are usually well-formed but that a provider sometimes fills with anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string field that should parse as `T` but may not (documentation placeholders such as
/// `"text"` where a timestamp belongs, legacy formats).
///
/// Parsing never fails and never drops data: a value that does not parse is kept verbatim in
/// [`Lenient::Raw`], so it can still be logged, stored or re-sent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Lenient<T> {
    /// The value parsed.
    Parsed(T),
    /// The value as received, because it did not parse.
    Raw(String),
}

impl<T> Lenient<T> {
    /// The parsed value, if it parsed.
    pub fn parsed(&self) -> Option<&T> {
        match self {
            Lenient::Parsed(v) => Some(v),
            Lenient::Raw(_) => None,
        }
    }

    /// The value as received, if it did not parse.
    pub fn raw(&self) -> Option<&str> {
        match self {
            Lenient::Parsed(_) => None,
            Lenient::Raw(s) => Some(s),
        }
    }
}

impl<T: FromStr> From<String> for Lenient<T> {
    fn from(s: String) -> Self {
        match s.parse() {
            Ok(v) => Lenient::Parsed(v),
            Err(_) => Lenient::Raw(s),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lenient::Parsed(v) => v.fmt(f),
            Lenient::Raw(s) => f.debug_tuple("Raw").field(s).finish(),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lenient::Parsed(v) => v.fmt(f),
            Lenient::Raw(s) => f.write_str(s),
        }
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Lenient::from)
    }
}

impl<T: fmt::Display> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn keeps_what_does_not_parse() {
        let ok: Lenient<Timestamp> = serde_json::from_str(r#""2025-07-04T12:01:17.228Z""#).unwrap();
        assert_eq!(ok.parsed().unwrap().subsec_millisecond(), 228);
        let raw: Lenient<Timestamp> = serde_json::from_str(r#""text""#).unwrap();
        assert_eq!(raw.raw(), Some("text"));
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#""text""#);
    }
}
