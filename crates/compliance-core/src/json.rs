//! Decoding JSON from raw bytes with errors that name the failing path.

use serde::de::DeserializeOwned;

use crate::error::{BodySnippet, Error};

/// Decodes `bytes` as JSON into `T`.
///
/// On failure the error names the JSON path that failed (`data.amount`, `result[1].status`)
/// and keeps only a bounded prefix of the body. `what` says what was being decoded
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
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        decode_error(what, path, e.into_inner(), bytes)
    })?;
    de.end()
        .map_err(|e| decode_error(what, ".".to_owned(), e, bytes))?;
    Ok(value)
}

/// Longest decoder message kept: serde quotes offending values whole.
const MAX_MESSAGE: usize = 256;

fn decode_error(what: &'static str, path: String, e: serde_json::Error, body: &[u8]) -> Error {
    // A syntax error before the first key has the unknown path `?`: report the root.
    let path = if path == "?" { ".".to_owned() } else { path };
    let mut message = e.to_string();
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    Error::Decode {
        what,
        path,
        message,
        body: BodySnippet::new(body),
    }
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
            path,
            body: snippet,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(path, "items[1].n");
        assert!(snippet.is_truncated());
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
        assert!(
            message.len() <= MAX_MESSAGE + '…'.len_utf8(),
            "{}",
            message.len()
        );
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
