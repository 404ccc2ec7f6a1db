//! The one place that reads Heleket's raw JSON as bytes: where the top-level `sign` member
//! is, the body without it (every other byte as received), and the top-level `type`.

use std::ops::Range;

use super::WebhookError;

/// Where the `sign` member sits in a body, the body without it, and the `type` member's
/// value as sent (a JSON token, quotes included), if there is one.
pub(super) struct Located<'a> {
    pub(super) signature: &'a [u8],
    pub(super) unsigned: Vec<u8>,
    pub(super) kind: Option<&'a [u8]>,
}

/// One top-level member: the key token (quotes included) and the value token, and the
/// comma before it (none for the first).
struct Member {
    key: Range<usize>,
    value: Range<usize>,
    comma_before: Option<usize>,
}

/// Finds the top-level `"sign":"<hex>"` member and the body without it and one neighbouring
/// comma (every other byte kept as received), and the top-level `type` member. A second
/// `sign` or `type` is malformed.
pub(super) fn locate_sign(body: &[u8]) -> Result<Located<'_>, WebhookError> {
    // The first `sign` member and the comma after it (the next member's comma before).
    let mut sign: Option<(Member, Option<usize>)> = None;
    let (mut signs, mut types) = (0, 0);
    let mut kind = None;
    scan_object(body, |member| {
        if let Some((_, after @ None)) = &mut sign
            && signs == 1
        {
            *after = Some(member.comma_before.unwrap_or_default());
        }
        let key = &body[member.key.clone()];
        if matches!(key, b"\"sign\"") {
            signs += 1;
            if signs == 1 {
                sign = Some((member, None));
            }
        } else if is_type(key) {
            types += 1;
            kind.get_or_insert(member.value);
        }
    })
    .map_err(Fault::into_error)?;
    let (member, comma_after) = sign.ok_or(WebhookError::MissingSign)?;
    if signs > 1 {
        return Err(WebhookError::Malformed(
            "more than one `sign` member".into(),
        ));
    }
    if types > 1 {
        return Err(WebhookError::Malformed(
            "more than one `type` member".into(),
        ));
    }
    let value = &body[member.value.clone()];
    let signature = match value {
        [b'"', inner @ .., b'"'] if !inner.is_empty() => inner,
        _ => return Err(WebhookError::EmptySign),
    };
    // The cut: the member itself, plus the comma after it (or before it, when it is last).
    let whole = member.key.start..member.value.end;
    let cuts: [Range<usize>; 2] = match (comma_after, member.comma_before) {
        (Some(comma), _) => [whole, comma..comma + 1],
        (None, Some(comma)) => [comma..comma + 1, whole],
        (None, None) => [whole, 0..0],
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
        kind: kind.map(|value| &body[value]),
    })
}

/// Whether a member name token is `type` as a JSON parser reads it (`"typ\u0065"` too).
fn is_type(key: &[u8]) -> bool {
    /// The longest way to write it: `"\u0074\u0079\u0070\u0065"`.
    const LONGEST: usize = 26;
    matches!(key, b"\"type\"")
        || (key.len() > 6
            && key.len() <= LONGEST
            && matches!(key[1], b't' | b'\\')
            && key.contains(&b'\\')
            && serde_json::from_slice::<String>(key).is_ok_and(|k| k == "type"))
}

/// What is wrong with a body's structure, and where: cheap to carry through the scan, made
/// a [`WebhookError`] once it is out.
#[derive(Debug, Clone, Copy)]
struct Fault {
    what: &'static str,
    at: usize,
}

impl Fault {
    fn into_error(self) -> WebhookError {
        WebhookError::Malformed(format!("{} at byte {}", self.what, self.at))
    }
}

fn malformed(what: &'static str, at: usize) -> Fault {
    Fault { what, at }
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Calls `each` with the top-level members of an object, in order. Only the structure is
/// checked here; `serde_json` checks the rest.
fn scan_object(body: &[u8], mut each: impl FnMut(Member)) -> Result<(), Fault> {
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return Err(malformed("expected `{`", i));
    }
    i = skip_ws(body, i + 1);
    if body.get(i) == Some(&b'}') {
        i += 1;
    } else {
        let mut comma_before = None;
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
            each(Member {
                key,
                value: value_start..i,
                comma_before,
            });
            i = skip_ws(body, i);
            match body.get(i) {
                Some(b',') => {
                    comma_before = Some(i);
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
    Ok(())
}

/// `body[start]` is `"`; returns the index after the closing quote.
#[inline]
fn end_of_string(body: &[u8], start: usize) -> Result<usize, Fault> {
    let mut i = start + 1;
    loop {
        match next_quote_or_backslash(body, i) {
            None => return Err(malformed("unterminated string", start)),
            Some(at) if body[at] == b'"' => return Ok(at + 1),
            Some(at) => i = at + 2,
        }
    }
}

/// The index of the first `"` or `\` at or after `i`, looked for eight bytes at a time (the
/// bytes of a string between them need no other look). Webhook strings are short (names,
/// ids, amounts, hashes): a word at a time beats both a byte loop and setting up a vector
/// search for each one.
#[inline]
fn next_quote_or_backslash(body: &[u8], i: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    // The high bit of each zero byte; exact up to the first zero byte (a borrow can only
    // mark bytes above it), and only the lowest mark is read.
    let zeros = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let rest = body.get(i..)?;
    let mut words = rest.chunks_exact(8);
    let mut at = i;
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes);
        let found = zeros(word ^ QUOTES) | zeros(word ^ BACKSLASHES);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|n| at + n)
}

fn end_of_value(body: &[u8], start: usize) -> Result<usize, Fault> {
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
    fn quotes_and_backslashes_are_found_wherever_they_sit_in_a_word() {
        for len in 1..40 {
            for at in 0..len {
                for mark in [b'"', b'\\'] {
                    let mut body = vec![b'a'; len];
                    body[at] = mark;
                    body[len - 1] = b'"';
                    for from in 0..=at {
                        assert_eq!(next_quote_or_backslash(&body, from), Some(at), "{len} {at}");
                    }
                }
            }
            // Bytes whose difference from `"` or `\` borrows across the word: no false hit.
            for filler in [0x00u8, 0x01, 0x21, 0x23, 0x5b, 0x5d, 0xa2, 0xdc, 0xff] {
                assert_eq!(
                    next_quote_or_backslash(&vec![filler; len], 0),
                    None,
                    "{filler:#x}"
                );
            }
        }
        assert_eq!(next_quote_or_backslash(b"ab", 5), None);
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
