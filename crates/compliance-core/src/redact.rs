//! Redaction: what of a provider's text and bodies may reach an error value or a log. A
//! leaf module: the errors and the JSON decoder both use it, and it uses neither.

use std::fmt;

/// How many bytes of a body an error keeps by default.
pub const DEFAULT_BODY_PREFIX: usize = 1024;

/// `text` cut to at most `limit` bytes (at a character boundary, marked with `…`).
///
/// Every text a provider controls (messages, rule names, error lists) goes through this
/// before it reaches an error value, so no answer can make an error arbitrarily large.
pub fn bounded_text(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// The shape of a body kept by [`Error::Decode`](crate::Error::Decode): its JSON structure and member names, with
/// every string replaced by `"…"` and every number or other bare word by `#` (`true`,
/// `false` and `null` stay). Bounded to [`DEFAULT_BODY_PREFIX`] bytes.
///
/// Enough to see what the provider changed (`{"token":"…","refreshToken":#}`: a number where
/// a string belongs), never a token, a link or a name.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedBody {
    shape: String,
    truncated: bool,
    total_len: usize,
}

impl RedactedBody {
    /// The shape of `body`. Works on any bytes: outside JSON strings only JSON punctuation,
    /// whitespace and `true`/`false`/`null` survive.
    pub fn new(body: &[u8]) -> Self {
        shape(body, DEFAULT_BODY_PREFIX).0
    }

    pub(crate) fn from_parts(shape: String, truncated: bool, total_len: usize) -> Self {
        Self {
            shape,
            truncated,
            total_len,
        }
    }

    /// The shape text.
    pub fn as_str(&self) -> &str {
        &self.shape
    }

    /// Length in bytes of the whole body.
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Whether the shape stops before the end of the body.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// `message` with every one of `values` replaced by `…` (serde quotes offending values
/// whole; custom messages may too). Longest values first, so a value containing another is
/// cut whole.
pub(crate) fn scrub(message: &str, values: &[String]) -> String {
    let mut values: Vec<&String> = values
        .iter()
        .filter(|v| message.contains(v.as_str()))
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = message.to_owned();
    for value in values {
        out = out.replace(value.as_str(), "…");
    }
    out
}

impl fmt::Display for RedactedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_len == 0 {
            return f.write_str("<empty body>");
        }
        f.write_str(&self.shape)?;
        if self.truncated {
            write!(f, "… ({} bytes in all)", self.total_len)?;
        }
        Ok(())
    }
}

impl fmt::Debug for RedactedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
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
