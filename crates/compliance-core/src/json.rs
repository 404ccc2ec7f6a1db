//! Decoding JSON from raw bytes with errors that name the failing path.

use serde::de::DeserializeOwned;

use crate::error::Error;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::shape;

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
