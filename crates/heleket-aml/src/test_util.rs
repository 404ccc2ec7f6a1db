//! Correctly signed webhook bodies for your own tests and simulators (feature `test-util`).
//!
//! Bodies are encoded the way Heleket's PHP encodes them: compact, members in the map's
//! order, `/` written `\/`, non-ASCII as raw UTF-8, nulls kept, `< > &` not escaped, control
//! characters as `\uXXXX` (lowercase hex), U+2028 and U+2029 escaped. The `sign` member goes
//! last, as Heleket puts it.
//!
//! Member order is the order in which the [`serde_json::Map`] iterates: insertion order when
//! your build enables serde_json's `preserve_order` feature, sorted otherwise. Either way the
//! body verifies, because the signature covers exactly the bytes produced. This crate does
//! not enable `preserve_order` itself (it is a global feature).
//!
//! ```
//! use heleket_aml::test_util::signed_webhook;
//! use heleket_aml::{HeleketWebhook, WebhookVerifier};
//!
//! let body = signed_webhook(
//!     &serde_json::json!({
//!         "type": "payment", "uuid": "u1", "order_id": "order-42", "amount": "10.00",
//!         "currency": "USDT", "status": "locked", "is_final": false,
//!         "url": "https://pay.heleket.com/pay/abc",
//!     }),
//!     "test-api-key",
//! );
//! assert!(std::str::from_utf8(&body).unwrap().contains(r#""https:\/\/pay.heleket.com\/pay\/abc""#));
//! let webhook = WebhookVerifier::new("test-api-key").verify(&body).unwrap();
//! assert_eq!(webhook.status(), "locked");
//! ```

use serde_json::{Map, Value};

use crate::sign::sign;

/// `body` (a JSON object) encoded PHP-style and signed with `key`, `sign` member last. A
/// `sign` member already in `body` is replaced.
///
/// # Panics
///
/// If `body` is not a JSON object (a webhook always is); see [`signed_webhook_object`].
pub fn signed_webhook(body: &Value, key: &str) -> Vec<u8> {
    match body {
        Value::Object(map) => signed_webhook_object(map, key),
        other => panic!("a webhook body is a JSON object, not {other}"),
    }
}

/// The members of `body` encoded PHP-style as an object and signed with `key`, `sign`
/// member last. A `sign` member already in `body` is replaced.
pub fn signed_webhook_object(body: &Map<String, Value>, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_object(body.iter().filter(|(k, _)| k.as_str() != "sign"), &mut out);
    let signature = sign(&out, key);
    out.pop(); // the closing brace
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(br#""sign":""#);
    out.extend_from_slice(signature.as_bytes());
    out.extend_from_slice(br#""}"#);
    out
}

/// `value` encoded as PHP's `json_encode($value, JSON_UNESCAPED_UNICODE)` does.
pub fn php_json_encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => encode_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => encode_object(map.iter(), out),
    }
}

fn encode_object<'a>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        encode_str(k, out);
        out.push(b':');
        encode(v, out);
    }
    out.push(b'}');
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(br#"\""#),
            '\\' => out.extend_from_slice(br"\\"),
            '/' => out.extend_from_slice(br"\/"),
            '\u{8}' => out.extend_from_slice(br"\b"),
            '\u{c}' => out.extend_from_slice(br"\f"),
            '\n' => out.extend_from_slice(br"\n"),
            '\r' => out.extend_from_slice(br"\r"),
            '\t' => out.extend_from_slice(br"\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_style() {
        // Keys in sorted order: the result is the same with or without `preserve_order`.
        let v = json!({"a": "x/y <b>&\"é\u{1f}\u{2028}", "f": 1.5, "l": [true, {}], "n": null});
        assert_eq!(
            String::from_utf8(php_json_encode(&v)).unwrap(),
            "{\"a\":\"x\\/y <b>&\\\"é\\u001f\\u2028\",\"f\":1.5,\"l\":[true,{}],\"n\":null}"
        );
    }

    #[test]
    fn reproduces_the_spec_vector() {
        let members: Vec<(String, Value)> = [
            ("type", "payment"),
            ("uuid", "u1"),
            ("status", "paid"),
            ("url", "https://pay.heleket.com/pay/abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
        let mut out = Vec::new();
        encode_object(members.iter().map(|(k, v)| (k, v)), &mut out);
        assert_eq!(
            out,
            br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc"}"#
        );
        assert_eq!(
            sign(&out, "test-api-key"),
            "9c0e0eab18980f9e5e9fb5f796ecd3a8"
        );
    }

    #[test]
    fn sign_goes_last_and_replaces_an_old_one() {
        let body = signed_webhook(&json!({"a": 1, "sign": "old"}), "k");
        let expected = format!(r#"{{"a":1,"sign":"{}"}}"#, sign(br#"{"a":1}"#, "k"));
        assert_eq!(String::from_utf8(body).unwrap(), expected);
        let empty = signed_webhook_object(&Map::new(), "k");
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            format!(r#"{{"sign":"{}"}}"#, sign(b"{}", "k"))
        );
    }
}
