//! Decoding JSON from raw bytes with errors that name the failing path.

use serde::de::DeserializeOwned;

use crate::error::{Error, RedactedBody};

/// Decodes `bytes` as JSON into `T`.
///
/// On failure the error names the JSON path that failed (`data.amount`, `result[1].status`)
/// and keeps the body's shape, never its values (see [`Error::decode`]): every decoded
/// response is treated as one that may carry a secret. `what` says what was being decoded
/// ("response", "webhook") and appears in the message.
///
/// ```
/// # use compliance_core::json::decode;
/// #[derive(serde::Deserialize, Debug)]
/// struct Payment { amount: u32 }
/// let err = decode::<Payment>("response", br#"{"amount":"x"}"#).unwrap_err();
/// assert!(err.to_string().contains("`amount`"));
/// ```
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    // Tracking the path costs an allocation per member read: decode plainly, and only when
    // that fails decode again to name where. UTF-8 checked once for the whole body is
    // cheaper than string by string; a body that is not UTF-8 is decoded from bytes, so
    // the answer (and the error) is the same as without the check.
    let plain = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    plain.map_err(|plain| decode_failed::<T>(what, bytes, plain))
}

/// The error for `bytes`, which failed to decode as `T` with `plain`: decoded again with
/// the path tracked, so the error names the member that broke.
#[cold]
#[inline(never)]
fn decode_failed<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    plain: serde_json::Error,
) -> Error {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            decode_error(what, path, e.into_inner(), bytes)
        }
        Ok(_) => match de.end() {
            Err(e) => decode_error(what, ".".to_owned(), e, bytes),
            // Both decoders read the same bytes the same way; should they ever disagree,
            // the plain error stands, at the root.
            Ok(()) => decode_error(what, ".".to_owned(), plain, bytes),
        },
    }
}

fn decode_error(what: &'static str, path: String, e: serde_json::Error, body: &[u8]) -> Error {
    // A syntax error before the first key has the unknown path `?`: report the root.
    let path = if path == "?" { ".".to_owned() } else { path };
    Error::decode(what, path, e, body)
}

/// Values shorter than this are not cut out of messages (they would mangle the words).
const MIN_SCRUBBED: usize = 3;
/// Member names longer than this are cut in a shape.
const MAX_KEY: usize = 64;

/// The shape of `body` (see [`RedactedBody`]), at most `limit` bytes of it, and every value
/// the body holds (of at least [`MIN_SCRUBBED`] bytes), to cut out of messages.
///
/// Tolerant of anything: a string left open, garbage between values, bytes that are not
/// UTF-8. Outside strings only JSON punctuation, whitespace and `true`/`false`/`null` are
/// copied; any other run of bytes becomes `#`.
pub(crate) fn shape(body: &[u8], limit: usize) -> (RedactedBody, Vec<String>) {
    let mut out = String::new();
    let mut values = Vec::new();
    let mut truncated = false;
    let mut push = |out: &mut String, text: &str| {
        if out.len() + text.len() > limit {
            truncated = true;
        } else if !truncated {
            out.push_str(text);
        }
    };
    let len = body.len();
    let mut i = 0;
    while i < len {
        match body[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < len && body[j] != b'"' {
                    j += if body[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(len);
                let raw = &body[start..end];
                let after = (end + 1).min(len);
                let is_key = body[after..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b':');
                if is_key {
                    let key = String::from_utf8_lossy(raw);
                    let key: String = key.chars().take(MAX_KEY).collect();
                    push(&mut out, &format!("\"{key}\""));
                } else {
                    push(&mut out, "\"…\"");
                    let literal = &body[i..after];
                    match serde_json::from_slice::<String>(literal) {
                        Ok(decoded) => {
                            let escaped = decoded.escape_debug().to_string();
                            if escaped != decoded {
                                values.push(escaped);
                            }
                            values.push(decoded);
                        }
                        Err(_) => values.push(String::from_utf8_lossy(raw).into_owned()),
                    }
                    if raw.len() >= MIN_SCRUBBED {
                        values.push(String::from_utf8_lossy(raw).into_owned());
                    }
                }
                i = after;
            }
            b @ (b'{' | b'}' | b'[' | b']' | b':' | b',') => {
                push(&mut out, &(b as char).to_string());
                i += 1;
            }
            b if b.is_ascii_whitespace() => {
                push(&mut out, &(b as char).to_string());
                i += 1;
            }
            _ => {
                let start = i;
                while i < len
                    && !matches!(body[i], b'"' | b'{' | b'}' | b'[' | b']' | b':' | b',')
                    && !body[i].is_ascii_whitespace()
                {
                    i += 1;
                }
                let word = &body[start..i];
                match word {
                    b"true" | b"false" | b"null" => {
                        push(&mut out, std::str::from_utf8(word).unwrap_or("#"))
                    }
                    _ => {
                        push(&mut out, "#");
                        values.push(String::from_utf8_lossy(word).into_owned());
                    }
                }
            }
        }
    }
    values.retain(|v| v.len() >= MIN_SCRUBBED);
    (RedactedBody::from_parts(out, truncated, len), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    #[test]
    fn names_the_path_and_bounds_the_body() {
        let mut body = br#"{"items":[{"n":1},{"n":"two"}],"pad":""#.to_vec();
        body.extend(std::iter::repeat_n(b'x', 10_000));
        body.extend(br#""}"#);
        let err = decode::<Outer>("response", &body).unwrap_err();
        let Error::Decode {
            path, body: shape, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(path, "items[1].n");
        assert!(
            shape
                .as_str()
                .starts_with(r#"{"items":[{"n":#},{"n":"…"}],"pad":"…"}"#)
        );
        assert!(!shape.is_truncated());
        assert!(err.to_string().len() < 2_000);
    }

    #[test]
    fn root_syntax_errors_and_long_values_stay_bounded() {
        let err = decode::<Inner>("x", br#"{"n":1"#).unwrap_err();
        let Error::Decode { path, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, ".");
        let long = format!(r#"{{"n":"{}"}}"#, "é".repeat(5000));
        let err = decode::<Inner>("x", long.as_bytes()).unwrap_err();
        let Error::Decode { message, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(message.len() <= 256 + '…'.len_utf8(), "{}", message.len());
    }

    #[test]
    fn shapes_survive_broken_input_and_keep_no_value() {
        for (body, want) in [
            (&br#"{"token":"abc"} trailing"#[..], r#"{"token":"…"} #"#),
            (br#"{"a":"unterminated"#, r#"{"a":"…""#),
            (b"<html>secret page</html>", "# #"),
            (br#"[1.5e3, -2, "x\"y"]"#, r#"[#, #, "…"]"#),
            (b"\xff\xfe", "#"),
        ] {
            assert_eq!(shape(body, 1024).0.as_str(), want, "{body:?}");
        }
        let (_, values) = shape(br#"{"k":"a\/b","n":12345}"#, 1024);
        assert!(values.contains(&"a/b".to_owned()) && values.contains(&"12345".to_owned()));
    }

    #[test]
    fn messages_lose_the_values_they_quote() {
        for body in [
            &br#"{"token":"pt-SECRET-1","refreshToken":123456789}"#[..],
            br#"{"token":"pt-SECRET-1","refreshToken":"rt-SECRET-2"} garbage"#,
            br#"{"token":["pt-SECRET-1"]}"#,
            br#"{"token":"pt-SECRET-1","refreshToken":"rt-\"SECRET-2"}x"#,
        ] {
            #[derive(serde::Deserialize, Debug)]
            #[allow(dead_code)]
            struct Tokens {
                token: String,
                #[serde(rename = "refreshToken")]
                refresh_token: String,
            }
            let err = decode::<Tokens>("response", body).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                !text.contains("SECRET") && !text.contains("123456789"),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_trailing_garbage_and_empty_input() {
        assert!(matches!(
            decode::<Inner>("x", br#"{"n":1} x"#),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode::<Inner>("x", b""),
            Err(Error::Decode { .. })
        ));
    }
}
