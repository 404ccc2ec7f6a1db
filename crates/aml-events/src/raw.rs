//! JSON kept exactly as Tuum sent it.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON value kept verbatim: the exact text Tuum sent, numbers included.
///
/// Used where the shape is not known (`paymentParties`, `exchangeRate` and
/// `paymentSchemeElements`, documented only as placeholder strings) and for the `data` of
/// event types this crate does not know. Unlike `serde_json::Value`, nothing is normalised:
/// `1.2200000000000000001` stays that, key order and all.
///
/// Two values are equal when their texts are equal.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text, exactly as received.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.get() == "null"
    }

    /// Decodes the value into `T` (for example once Tuum documents a placeholder's shape).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }

    pub(crate) fn from_raw(raw: Box<RawValue>) -> Self {
        Self(raw)
    }

    pub(crate) fn null() -> Self {
        // serde_json's default raw value is `null`.
        Self(Box::<RawValue>::default())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_exact_text() {
        let raw: RawJson = serde_json::from_str(r#"{"a": 1.2200000000000000001}"#).unwrap();
        assert_eq!(raw.get(), r#"{"a": 1.2200000000000000001}"#);
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            r#"{"a": 1.2200000000000000001}"#
        );
        assert!(RawJson::null().is_null());
        assert_eq!(format!("{:?}", RawJson::null()), "RawJson(null)");
        let s: String = serde_json::from_str::<RawJson>(r#""text""#)
            .unwrap()
            .decode()
            .unwrap();
        assert_eq!(s, "text");
    }
}
