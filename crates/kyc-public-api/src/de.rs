//! Tolerant field decoders for elKYC's loosely typed JSON, beyond the shared ones in
//! [`compliance_core::de`] (ids sent as integers, lists sent as `null`).
//!
//! Every decoder accepts `null` (and, with `#[serde(default)]`, an absent field). None of
//! them goes through `f64` for amounts.

use compliance_core::Lenient;
use compliance_core::money::{Decimal, parse_decimal_literal};
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serializer};
use serde_json::value::RawValue;

/// A list of strings sent as a list, a single string, or `null`.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<Option<String>>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v.into_iter().flatten().collect(),
    })
}

/// An amount sent as a JSON number or a string: exact when it is a decimal, kept verbatim
/// ([`Lenient::Raw`]) when it is not (the docs' `"text"` placeholders).
pub(crate) fn amount<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Lenient<Decimal>>, D::Error> {
    let Some(raw) = Option::<Box<RawValue>>::deserialize(d)? else {
        return Ok(None);
    };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if let Ok(value) = parse_decimal_literal(text) {
        return Ok(Some(Lenient::Parsed(value)));
    }
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(de::Error::custom)?;
        return Ok(Some(Lenient::Raw(s)));
    }
    // A number with more digits than a decimal holds: keep its literal text.
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Ok(Some(Lenient::Raw(text.to_owned())));
    }
    Err(de::Error::invalid_type(
        de::Unexpected::Other(text),
        &"an amount (number or string)",
    ))
}

/// Serialises an optional lenient amount as a string (or `null`).
pub(crate) fn amount_ser<S: Serializer>(
    value: &Option<Lenient<Decimal>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// An object, or anything else (the docs print `"[Circular Reference]"`) as `None`.
pub(crate) fn object_or_none<'de, D, T>(d: D) -> Result<Option<Box<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let Some(raw) = Option::<Box<RawValue>>::deserialize(d)? else {
        return Ok(None);
    };
    if raw.get().trim_start().starts_with('{') {
        serde_json::from_str(raw.get())
            .map(|t| Some(Box::new(t)))
            .map_err(de::Error::custom)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Row {
        #[serde(default, deserialize_with = "strings")]
        warnings: Vec<String>,
        #[serde(default, deserialize_with = "amount")]
        amount: Option<Lenient<Decimal>>,
    }

    fn row(json: &str) -> Row {
        serde_json::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn warnings_and_amounts_are_tolerant() {
        assert_eq!(row(r#"{"warnings":"w"}"#).warnings, ["w"]);
        assert_eq!(row(r#"{"warnings":["a",null,"b"]}"#).warnings, ["a", "b"]);
        assert!(row("{}").warnings.is_empty());
        let a = row(r#"{"amount":0.1000000000000000001}"#).amount.unwrap();
        assert_eq!(a.to_string(), "0.1000000000000000001");
        assert!(a.parsed().is_some());
        let a = row(r#"{"amount":"text"}"#).amount.unwrap();
        assert_eq!(a.raw(), Some("text"));
        let a = row(r#"{"amount":"12.50"}"#).amount.unwrap();
        assert_eq!(a.parsed().unwrap().to_string(), "12.50");
        assert!(row(r#"{"amount":null}"#).amount.is_none());
        assert!(serde_json::from_str::<Row>(r#"{"amount":true}"#).is_err());
    }
}
