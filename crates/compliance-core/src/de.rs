//! Field decoders for the loosely typed JSON providers send, shared by every provider crate.
//!
//! Use them with `#[serde(default, deserialize_with = "...")]`; each accepts `null` (and,
//! with `default`, an absent field).
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Wallet {
//!     #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
//!     id: Option<String>,
//!     #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
//!     tags: Vec<String>,
//! }
//! let w: Wallet = serde_json::from_str(r#"{"id": 189632, "tags": null}"#)?;
//! assert_eq!(w.id.as_deref(), Some("189632"));
//! assert!(w.tags.is_empty());
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An id sent as a string or as an integer (`"a-1"`, `189632`), kept as text: ids are
/// strings in this workspace, whatever the wire type. `null` is `None`; a float, a boolean
/// or a structure is an error (an id is never rounded or guessed).
pub fn optional_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct IdVisitor;
    impl<'de> Visitor<'de> for IdVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an id (a string or an integer)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_option(IdVisitor)
}

/// A list that may be `null`: `null` (and, with `default`, an absent field) is empty.
pub fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Row {
        #[serde(default, deserialize_with = "super::optional_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "super::null_as_empty")]
        list: Vec<u8>,
    }

    fn row(json: &str) -> Result<Row, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn ids_are_text_whatever_the_wire_type() {
        assert_eq!(row(r#"{"id":7}"#).unwrap().id.as_deref(), Some("7"));
        assert_eq!(row(r#"{"id":-7}"#).unwrap().id.as_deref(), Some("-7"));
        assert_eq!(
            row(r#"{"id":18446744073709551615}"#).unwrap().id.as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(row(r#"{"id":"a-1"}"#).unwrap().id.as_deref(), Some("a-1"));
        assert_eq!(row(r#"{"id":null}"#).unwrap().id, None);
        assert_eq!(row("{}").unwrap().id, None);
        for bad in [r#"{"id":1.5}"#, r#"{"id":true}"#, r#"{"id":[1]}"#] {
            assert!(row(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_lists_are_empty() {
        assert!(row(r#"{"list":null}"#).unwrap().list.is_empty());
        assert!(row("{}").unwrap().list.is_empty());
        assert_eq!(row(r#"{"list":[1,2]}"#).unwrap().list, [1, 2]);
        assert!(row(r#"{"list":"x"}"#).is_err());
    }
}
