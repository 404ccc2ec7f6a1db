//! The one place that reads Heleket's raw JSON as bytes: where the top-level `sign` member
//! is, and the body without it, every other byte as received.

use std::ops::Range;

use super::WebhookError;

/// Where the `sign` member sits in a body, and the body without it.
pub(super) struct Located<'a> {
    pub(super) signature: &'a [u8],
    pub(super) unsigned: Vec<u8>,
}

/// One top-level member: the key token (quotes included) and the value token.
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

/// Finds the top-level `"sign":"<hex>"` member and the body without it and one neighbouring
/// comma. Every other byte is kept as received.
pub(super) fn locate_sign(body: &[u8]) -> Result<Located<'_>, WebhookError> {
    let (members, commas) = scan_object(body)?;
    let mut signs = members
        .iter()
        .enumerate()
        .filter(|(_, m)| &body[m.key.clone()] == b"\"sign\"");
    let (index, member) = signs.next().ok_or(WebhookError::MissingSign)?;
    if signs.next().is_some() {
        return Err(WebhookError::Malformed(
            "more than one `sign` member".into(),
        ));
    }
    let value = &body[member.value.clone()];
    let signature = match value {
        [b'"', inner @ .., b'"'] if !inner.is_empty() => inner,
        _ => return Err(WebhookError::EmptySign),
    };
    // The cut: the member itself, plus the comma after it (or before it, when it is last).
    let cuts: [Range<usize>; 2] = if index + 1 < members.len() {
        let comma = commas[index];
        [member.key.start..member.value.end, comma..comma + 1]
    } else if index > 0 {
        let comma = commas[index - 1];
        [comma..comma + 1, member.key.start..member.value.end]
    } else {
        [member.key.start..member.value.end, 0..0]
    };
    let mut unsigned = Vec::with_capacity(body.len());
    let mut at = 0;
    for cut in cuts.iter().filter(|c| !c.is_empty()) {
        unsigned.extend_from_slice(&body[at..cut.start]);
        at = cut.end;
    }
    unsigned.extend_from_slice(&body[at..]);
    Ok(Located {
        signature,
        unsigned,
    })
}

fn malformed(what: &str, at: usize) -> WebhookError {
    WebhookError::Malformed(format!("{what} at byte {at}"))
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The top-level members of an object and the positions of the commas between them. Only
/// the structure is checked here; `serde_json` checks the rest.
fn scan_object(body: &[u8]) -> Result<(Vec<Member>, Vec<usize>), WebhookError> {
    let mut members = Vec::new();
    let mut commas = Vec::new();
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return Err(malformed("expected `{`", i));
    }
    i = skip_ws(body, i + 1);
    if body.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if body.get(i) != Some(&b'"') {
                return Err(malformed("expected a member name", i));
            }
            let key_start = i;
            i = end_of_string(body, i)?;
            let key = key_start..i;
            i = skip_ws(body, i);
            if body.get(i) != Some(&b':') {
                return Err(malformed("expected `:`", i));
            }
            i = skip_ws(body, i + 1);
            let value_start = i;
            i = end_of_value(body, i)?;
            members.push(Member {
                key,
                value: value_start..i,
            });
            i = skip_ws(body, i);
            match body.get(i) {
                Some(b',') => {
                    commas.push(i);
                    i = skip_ws(body, i + 1);
                }
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err(malformed("expected `,` or `}`", i)),
            }
        }
    }
    if skip_ws(body, i) != body.len() {
        return Err(malformed("unexpected data after the object", i));
    }
    Ok((members, commas))
}

/// `body[start]` is `"`; returns the index after the closing quote.
fn end_of_string(body: &[u8], start: usize) -> Result<usize, WebhookError> {
    let mut i = start + 1;
    loop {
        match body.get(i) {
            None => return Err(malformed("unterminated string", start)),
            Some(b'\\') => i += 2,
            Some(b'"') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

fn end_of_value(body: &[u8], start: usize) -> Result<usize, WebhookError> {
    match body.get(start) {
        None => Err(malformed("expected a value", start)),
        Some(b'"') => end_of_string(body, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match body.get(i) {
                    None => return Err(malformed("unterminated object or array", start)),
                    Some(b'"') => {
                        i = end_of_string(body, i)?;
                        continue;
                    }
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    Some(_) => {}
                }
                i += 1;
            }
        }
        Some(_) => {
            let mut i = start;
            while let Some(b) = body.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            if i == start {
                Err(malformed("expected a value", start))
            } else {
                Ok(i)
            }
        }
    }
}

/// The body with every unescaped `/` inside a string written `\/`, as PHP writes it; `None`
/// when there is no such `/`.
pub(super) fn escape_slashes(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'\\' if in_string => {
                out.push(b);
                if let Some(&next) = body.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            b'"' => in_string = !in_string,
            b'/' if in_string => {
                out.push(b'\\');
                changed = true;
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{WebhookKind, WebhookVerifier};

    const KEY: &str = "test-api-key";
    const VECTOR: &[u8] = br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"9c0e0eab18980f9e5e9fb5f796ecd3a8"}"#;

    #[test]
    fn spec_vector_verifies() {
        let v = WebhookVerifier::new(KEY);
        assert_eq!(v.verify_signature(VECTOR).unwrap(), WebhookKind::Payment);
        let located = locate_sign(VECTOR).unwrap();
        assert_eq!(
            located.unsigned,
            br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc"}"#
        );
        assert_eq!(located.signature, b"9c0e0eab18980f9e5e9fb5f796ecd3a8");
    }

    #[test]
    fn the_cut_takes_one_comma_and_nothing_else() {
        for (body, unsigned) in [
            (r#"{"sign":"ab","a":1}"#, r#"{"a":1}"#),
            (r#"{"a":1,"sign":"ab"}"#, r#"{"a":1}"#),
            (r#"{"a":1,"sign":"ab","b":2}"#, r#"{"a":1,"b":2}"#),
            (r#"{"sign":"ab"}"#, r#"{}"#),
            (r#" { "a" : 1 , "sign" : "ab" } "#, r#" { "a" : 1   } "#),
            (
                r#"{"x":{"sign":"no"},"sign":"ab"}"#,
                r#"{"x":{"sign":"no"}}"#,
            ),
            (
                r#"{"s":"\"sign\":\"x\"","sign":"ab"}"#,
                r#"{"s":"\"sign\":\"x\""}"#,
            ),
        ] {
            let located = locate_sign(body.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(located.unsigned).unwrap(),
                unsigned,
                "{body}"
            );
            assert_eq!(located.signature, b"ab");
        }
    }

    #[test]
    fn structural_errors() {
        for (body, expected) in [
            (r#"{"a":1}"#, "MissingSign"),
            (r#"{"sign":""}"#, "EmptySign"),
            (r#"{"sign":null}"#, "EmptySign"),
            (r#"{"sign":"a","sign":"b"}"#, "Malformed"),
            (r#"["sign"]"#, "Malformed"),
            (r#"{"sign":"a""#, "Malformed"),
            (r#"{"sign":"a"} x"#, "Malformed"),
            (r#"{"a":[1,{"b":"]"}],"sign":"a"}"#, "ok"),
            ("", "Malformed"),
        ] {
            let got = match locate_sign(body.as_bytes()) {
                Ok(_) => "ok",
                Err(WebhookError::MissingSign) => "MissingSign",
                Err(WebhookError::EmptySign) => "EmptySign",
                Err(WebhookError::Malformed(_)) => "Malformed",
                Err(e) => panic!("{e:?}"),
            };
            assert_eq!(got, expected, "{body}");
        }
    }

    #[test]
    fn escape_slashes_respects_escapes() {
        assert_eq!(escape_slashes(br#"{"a":"x\/y"}"#), None);
        assert_eq!(
            escape_slashes(br#"{"a":"x/y\\/z","b\"/":1}"#).unwrap(),
            br#"{"a":"x\/y\\\/z","b\"\/":1}"#
        );
    }
}
