//! Reading what a command works on: a file, or stdin when the path is `-` or absent. Bytes
//! are kept exactly as read (a webhook's signature covers every byte).

use std::io::Read as _;
use std::path::Path;

use crate::outcome::{Failure, Output};

/// The most a command reads (webhook bodies and envelopes are far smaller).
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// The bytes of `path`, or of stdin for `None` or `-`.
pub fn read(path: Option<&Path>, out: &Output) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let (what, result) = match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let shown = path.display().to_string();
            let result = std::fs::File::open(path)
                .and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes));
            (shown, result)
        }
        None => {
            let result = std::io::stdin()
                .lock()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut bytes);
            ("stdin".to_owned(), result)
        }
    };
    result.map_err(|e| Failure::usage(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Failure::usage(format!(
            "{what} is larger than {} MiB",
            MAX_INPUT / 1024 / 1024
        )));
    }
    out.note(format!("read {} bytes from {what}", bytes.len()));
    Ok(bytes)
}
