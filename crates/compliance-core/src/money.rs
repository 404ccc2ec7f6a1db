//! Exact decimal money.
//!
//! Providers send amounts as JSON numbers (`1.22`, `25`), as decimal strings (`"10.50"`), or
//! both. A JSON number must never pass through `f64`: `1.2200000000000000001` has to arrive
//! as exactly that. The helpers here read the number's literal text (via
//! [`serde_json::value::RawValue`]) and parse it with [`Decimal::from_str_exact`], which
//! refuses to round: a value that does not fit 28 significant digits is an error, never a
//! silently different amount.
//!
//! Use them on fields with `#[serde(with = "compliance_core::money::decimal")]` (or
//! `decimal::option`). Decode from bytes (`serde_json::from_slice`, [`crate::json::decode`]);
//! a decimal inside `#[serde(flatten)]` or an untagged enum cannot see the literal and fails
//! loudly instead of losing digits.

pub use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::value::RawValue;

/// Parses a decimal from its JSON literal text: a number (`1.22`, `-3`, `1e-7`) or a string
/// holding a decimal (`"1.22"`). Never rounds.
pub fn parse_decimal_literal(raw: &str) -> Result<Decimal, String> {
    let raw = raw.trim();
    let text: std::borrow::Cow<'_, str> = if raw.starts_with('"') {
        serde_json::from_str::<String>(raw)
            .map_err(|e| e.to_string())?
            .into()
    } else {
        raw.into()
    };
    parse_decimal_text(&text)
}

/// Parses decimal text (`"1.22"`, `"-3"`, `"1.5e3"`) exactly, rejecting anything that would
/// need rounding.
pub fn parse_decimal_text(text: &str) -> Result<Decimal, String> {
    if text.is_empty() {
        return Err("empty string is not a decimal".into());
    }
    let valid = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !valid {
        return Err(format!("`{}` is not a decimal number", truncate(text)));
    }
    let result = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => scientific(mantissa, exponent),
        None => Decimal::from_str_exact(text).map_err(|e| e.to_string()),
    };
    result.map_err(|e| format!("`{}` is not representable exactly: {e}", truncate(text)))
}

/// `mantissa × 10^exponent`, exactly or not at all (`Decimal::from_scientific` rounds
/// digits beyond the 28th away).
fn scientific(mantissa: &str, exponent: &str) -> Result<Decimal, String> {
    let m = Decimal::from_str_exact(mantissa).map_err(|e| e.to_string())?;
    let exponent: i64 = exponent
        .parse()
        .map_err(|_| "the exponent is not an integer".to_owned())?;
    if exponent.abs() > 1000 {
        return Err("the exponent is out of range".into());
    }
    let too_big = || "the value has more digits than a decimal holds".to_owned();
    // value = digits × 10^-scale
    let mut digits = m.mantissa();
    let mut scale = i64::from(m.scale()) - exponent;
    if scale < 0 {
        let factor = u32::try_from(-scale)
            .ok()
            .and_then(|n| 10i128.checked_pow(n))
            .ok_or_else(too_big)?;
        digits = digits.checked_mul(factor).ok_or_else(too_big)?;
        scale = 0;
    }
    if digits == 0 {
        return Ok(Decimal::new(0, scale.min(28) as u32));
    }
    while scale > 28 && digits % 10 == 0 {
        digits /= 10;
        scale -= 1;
    }
    if scale > 28 {
        return Err(format!(
            "scale {scale} exceeds the 28 digits a decimal holds"
        ));
    }
    Decimal::try_from_i128_with_scale(digits, scale as u32).map_err(|_| too_big())
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Serde helpers for a required [`Decimal`]: accepts a JSON number or a decimal string,
/// serialises as a decimal string (exact in every serde format).
pub mod decimal {
    use super::*;

    /// Deserialises a JSON number or decimal string exactly.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if raw.get() == "null" {
            return Err(de::Error::invalid_type(
                de::Unexpected::Unit,
                &"a decimal number",
            ));
        }
        parse_decimal_literal(raw.get()).map_err(de::Error::custom)
    }

    /// Serialises as a decimal string such as `"1.22"`.
    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Serde helpers for an optional [`Decimal`]: `null`, an absent field (with
    /// `#[serde(default)]`) and an empty string are `None`.
    pub mod option {
        use super::*;

        /// Deserialises `null`, `""`, a JSON number or a decimal string.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            let raw = Option::<Box<RawValue>>::deserialize(d)?;
            match raw.as_deref().map(RawValue::get) {
                None | Some("null") | Some("\"\"") => Ok(None),
                Some(text) => parse_decimal_literal(text)
                    .map(Some)
                    .map_err(de::Error::custom),
            }
        }

        /// Serialises `Some` as a decimal string and `None` as `null`.
        pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }
    }
}

/// An amount with its currency, the `{ "amount": 1.22, "currencyCode": "EUR" }` shape that
/// several providers share.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The exact amount.
    #[serde(with = "decimal")]
    pub amount: Decimal,
    /// ISO 4217 currency code as sent by the provider (not validated: providers use
    /// non-ISO codes for crypto assets).
    pub currency_code: String,
}

impl Money {
    /// Builds a money value.
    pub fn new(amount: Decimal, currency_code: impl Into<String>) -> Self {
        Self {
            amount,
            currency_code: currency_code.into(),
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount, self.currency_code)
    }
}

/// Parses a decimal string exactly (`Decimal::from_str` may round; this never does).
pub fn exact(text: &str) -> Result<Decimal, String> {
    parse_decimal_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Row {
        #[serde(with = "decimal")]
        a: Decimal,
        #[serde(with = "decimal::option", default)]
        b: Option<Decimal>,
    }

    fn row(json: &str) -> Result<Row, serde_json::Error> {
        serde_json::from_slice(json.as_bytes())
    }

    #[test]
    fn numbers_do_not_pass_through_f64() {
        let r = row(r#"{"a":1.2200000000000000001}"#).unwrap();
        assert_eq!(r.a.to_string(), "1.2200000000000000001");
        let r = row(r#"{"a":0.1000000000000000055511151231257827}"#);
        assert!(
            r.is_err(),
            "more digits than fit must fail, not round: {r:?}"
        );
    }

    #[test]
    fn accepts_integers_strings_exponents_and_keeps_scale() {
        assert_eq!(row(r#"{"a":25}"#).unwrap().a.to_string(), "25");
        assert_eq!(row(r#"{"a":"10.50"}"#).unwrap().a.to_string(), "10.50");
        assert_eq!(row(r#"{"a":-0.86}"#).unwrap().a.to_string(), "-0.86");
        assert_eq!(row(r#"{"a":1.5e3}"#).unwrap().a, Decimal::from(1500));
        assert_eq!(
            row(r#"{"a":"123456789012345678901.1234567"}"#)
                .unwrap()
                .a
                .to_string(),
            "123456789012345678901.1234567"
        );
    }

    #[test]
    fn exponents_are_exact_or_refused() {
        for (text, want) in [
            ("1.5e-3", "0.0015"),
            ("1.5E+3", "1500"),
            ("-2.50e1", "-25.0"),
            ("1000e-30", "0.0000000000000000000000000010"),
            ("0e-40", "0.0000000000000000000000000000"),
            (
                "7.9228162514264337593543950335e28",
                "79228162514264337593543950335",
            ),
        ] {
            assert_eq!(
                parse_decimal_text(text).unwrap().to_string(),
                want,
                "{text}"
            );
        }
        for inexact in [
            "1.00000000000000000000000000001e0",
            "1e-29",
            "7.9228162514264337593543950336e28",
            "1e29",
            "1e99999999999",
            "1e",
            "1e1.5",
        ] {
            assert!(parse_decimal_text(inexact).is_err(), "{inexact}");
        }
    }

    #[test]
    fn options_accept_null_absent_and_empty() {
        assert_eq!(row(r#"{"a":1,"b":null}"#).unwrap().b, None);
        assert_eq!(row(r#"{"a":1}"#).unwrap().b, None);
        assert_eq!(row(r#"{"a":1,"b":""}"#).unwrap().b, None);
        assert_eq!(
            row(r#"{"a":1,"b":"0.00000001"}"#)
                .unwrap()
                .b
                .unwrap()
                .to_string(),
            "0.00000001"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            r#"{"a":"abc"}"#,
            r#"{"a":""}"#,
            r#"{"a":null}"#,
            r#"{"a":true}"#,
            r#"{"a":[1]}"#,
            r#"{"a":"1,5"}"#,
            r#"{"a":"NaN"}"#,
            r#"{"a":" 1"}"#,
            r#"{"a":"1.2.3"}"#,
        ] {
            assert!(row(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn round_trips_exactly() {
        let r = row(r#"{"a":"1.2200000000000000001","b":3.140}"#).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"a":"1.2200000000000000001","b":"3.140"}"#);
        assert_eq!(row(&json).unwrap(), r);
    }

    #[test]
    fn money_shape() {
        let m: Money = serde_json::from_str(r#"{"amount":1.22,"currencyCode":"EUR"}"#).unwrap();
        assert_eq!(m, Money::new(Decimal::new(122, 2), "EUR"));
        assert_eq!(m.to_string(), "1.22 EUR");
    }
}
