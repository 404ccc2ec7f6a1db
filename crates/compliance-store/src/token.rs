//! Claim tokens: random 128-bit values, so that tokens from every process sharing a database
//! are unique without coordination.

use compliance_core::{ClaimToken, InboxError};

use crate::error::Error;

/// A fresh random token, as 32 lowercase hex digits.
pub(crate) fn new_token() -> Result<ClaimToken, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Database(e.to_string().into()))?;
    Ok(ClaimToken::new(format!(
        "{:032x}",
        u128::from_le_bytes(bytes)
    )))
}

/// `Ok` when a renew, complete or release found the key held by its token (one row),
/// [`InboxError::NotHeld`] otherwise.
pub(crate) fn held(held: bool, key: &str) -> Result<(), InboxError> {
    if held {
        Ok(())
    } else {
        Err(InboxError::NotHeld {
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
