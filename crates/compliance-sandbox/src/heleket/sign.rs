//! How Heleket signs, from its documentation (and Cryptomus's, whose format it shares):
//!
//! - a request's `sign` header is the lowercase hex of `md5(base64(raw body) ++ key)`, the
//!   key appended as text (an empty body signs the empty string);
//! - a webhook carries the same signature of its own JSON in a `sign` member: Heleket's PHP
//!   code encodes the body without `sign` (compact, key order kept, `/` written `\/`, UTF-8
//!   left raw, `null`s kept, `< > &` not escaped), signs that text, and appends `sign`.
//!
//! Written from the provider notes and their test vectors; it shares no code with the
//! `heleket-aml` client.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use compliance_core::webhook::constant_time_eq;
use md5::{Digest as _, Md5};
use serde_json::Value;

/// `md5(base64(body) ++ key)`, lowercase hex.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(STANDARD.encode(body));
    md5.update(key.as_bytes());
    hex::encode(md5.finalize())
}

/// Whether `signature` (the `sign` header, as sent) is the signature of `body` with `key`,
/// compared in constant time. Heleket compares exactly: uppercase hex is refused.
pub fn verify(body: &[u8], key: &str, signature: &[u8]) -> bool {
    constant_time_eq(sign(body, key).as_bytes(), signature)
}

/// PHP's `json_encode($value, JSON_UNESCAPED_UNICODE)` of `value`, with the members of
/// every object in the order given.
pub fn php_json(members: &[(&str, Value)]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        php_string(key, &mut out);
        out.push(':');
        php_value(value, &mut out);
    }
    out.push('}');
    out.into_bytes()
}

fn php_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => php_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                php_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                php_string(key, out);
                out.push(':');
                php_value(item, out);
            }
            out.push('}');
        }
    }
}

fn php_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A webhook body as Heleket sends it: `members` PHP-encoded, signed with `key`, and the
/// signature appended as the last member, `sign`.
pub fn signed_webhook(members: &[(&str, Value)], key: &str) -> Vec<u8> {
    let unsigned = php_json(members);
    append_sign(&unsigned, key)
}

/// Appends `"sign":"<signature of body>"` as the last member of `body`, a PHP-encoded JSON
/// object without `sign`. Also what re-signs a recorded delivery after redaction.
pub fn append_sign(body: &[u8], key: &str) -> Vec<u8> {
    let sign = sign(body, key);
    let mut out = body.to_vec();
    let closing = out.pop();
    debug_assert_eq!(closing, Some(b'}'));
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(br#""sign":""#);
    out.extend_from_slice(sign.as_bytes());
    out.extend_from_slice(b"\"}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The provider notes' vectors (key `test-api-key`).
    #[test]
    fn request_vectors() {
        assert_eq!(
            sign(b"", "test-api-key"),
            "6339da7207f32bfc28decb98edf89318"
        );
        assert_eq!(
            sign(br#"{"order_id":"order-42"}"#, "test-api-key"),
            "dcbb5d7c669c5daeec167f953afb7171"
        );
        let good = b"dcbb5d7c669c5daeec167f953afb7171";
        assert!(verify(br#"{"order_id":"order-42"}"#, "test-api-key", good));
        assert!(!verify(
            br#"{"order_id":"order-42"}"#,
            "test-api-key",
            b"DCBB5D7C669C5DAEEC167F953AFB7171"
        ));
        assert!(!verify(br#"{"order_id":"order-43"}"#, "test-api-key", good));
    }

    #[test]
    fn webhook_vector() {
        let body = signed_webhook(
            &[
                ("type", json!("payment")),
                ("uuid", json!("u1")),
                ("status", json!("paid")),
                ("url", json!("https://pay.heleket.com/pay/abc")),
            ],
            "test-api-key",
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"9c0e0eab18980f9e5e9fb5f796ecd3a8"}"#
        );
    }

    #[test]
    fn php_encoding() {
        let body = php_json(&[
            ("a", json!("é <b>&</b> \"q\" \\ \n\u{1}")),
            ("n", Value::Null),
            ("x", json!({"k": [1, true, "/"]})),
        ]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"a":"é <b>&<\/b> \"q\" \\ \n\u0001","n":null,"x":{"k":[1,true,"\/"]}}"#
        );
        assert_eq!(
            append_sign(b"{}", "k"),
            format!(r#"{{"sign":"{}"}}"#, sign(b"{}", "k")).into_bytes()
        );
    }
}
