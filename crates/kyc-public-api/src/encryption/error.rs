//! Why a key, a ciphertext or a signature was refused. Never shows key material or the
//! offending characters.

use std::fmt;

use compliance_core::{Actionable, NextStep};

/// Which configured key a [`EncryptionError::InvalidKey`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyName {
    /// The secret ("crypto") key.
    SecretKey,
    /// The HMAC key.
    HmacKey,
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SecretKey => "secret key",
            Self::HmacKey => "HMAC key",
        })
    }
}

/// What is wrong with a hex string (a key, the `data`, or a hex signature). Never shows
/// the offending characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexProblem {
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({len})")]
    OddLength {
        /// The number of characters.
        len: usize,
    },
    /// A character that is not a hex digit.
    #[error("character {position} is not a hex digit")]
    NotHex {
        /// Its 0-based position.
        position: usize,
    },
}

/// An encryption, decryption or key failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    /// A configured key is malformed. Fix the configuration (copy the key from the
    /// dashboard again). The key itself is never shown.
    #[error("invalid {key}: {problem}")]
    InvalidKey {
        /// Which key.
        key: KeyName,
        /// What is wrong.
        problem: KeyProblem,
    },
    /// The encrypted `data` is not valid hex.
    #[error("encrypted data is not valid hex: {0}")]
    DataNotHex(HexProblem),
    /// The encrypted `data` is too short to hold an IV/nonce and a ciphertext, or its
    /// ciphertext is not a whole number of AES blocks.
    #[error("encrypted data is truncated or malformed: {len} bytes after hex decoding")]
    Truncated {
        /// The decoded length in bytes.
        len: usize,
    },
    /// `x-allpass-signature` is absent or empty.
    #[error("the `x-allpass-signature` header is missing")]
    MissingSignature,
    /// `x-allpass-signature` cannot be decoded, or has the wrong length.
    #[error("the `x-allpass-signature` value is malformed (expected {expected})")]
    MalformedSignature {
        /// What was expected, e.g. "32 bytes, hex".
        expected: String,
    },
    /// The signature has the length of the other mode's authenticator (a 16-byte GCM tag to
    /// a receiver set up for CBC, a 32- or 64-byte HMAC to one set up for GCM): the
    /// application's encryption mode in elKYC's dashboard may differ from the configured
    /// [`EncryptionSettings`](super::EncryptionSettings). Do not trust the payload; check the
    /// mode.
    #[error(
        "the `x-allpass-signature` value is {len} bytes, the length of a {sent} authenticator, \
         but this application is configured for {configured}: the encryption mode may differ \
         (check the mode in elKYC's dashboard and use EncryptionSettings::{setter})",
        setter = if *.sent == "GCM" { "gcm" } else { "cbc" }
    )]
    ModeMayDiffer {
        /// The configured mode: `"CBC"` or `"GCM"`.
        configured: &'static str,
        /// The mode whose authenticator has the signature's length.
        sent: &'static str,
        /// The decoded signature's length in bytes.
        len: usize,
    },
    /// The HMAC or GCM tag does not match: the data was tampered with, or a key is wrong.
    /// Do not trust the payload.
    #[error(
        "signature does not match the data: tampered payload or wrong key (check the application's keys)"
    )]
    SignatureMismatch,
    /// The HMAC matched but the plaintext's PKCS#7 padding is invalid: the secret key is
    /// wrong, or the sender encrypted differently. (Only authenticated data is ever
    /// decrypted, so this says nothing about a forged payload.)
    #[error("invalid padding after decryption: wrong secret key or different encryption")]
    BadPadding,
    /// The system random number generator failed (no IV/nonce could be drawn).
    #[error("the system random number generator failed")]
    Random,
}

/// What is wrong with a configured key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Not a hex string.
    #[error("{0}")]
    Hex(HexProblem),
    /// The wrong number of bytes.
    #[error("must be {expected} bytes ({} hex digits), got {actual} bytes", .expected * 2)]
    WrongLength {
        /// The required length in bytes.
        expected: usize,
        /// The decoded length in bytes.
        actual: usize,
    },
    /// Empty.
    #[error("is empty")]
    Empty,
    /// Starts or ends with whitespace: a key is used exactly as given (the workspace's one
    /// rule for secrets, [`compliance_core::secret::SecretProblem`]).
    #[error(
        "starts or ends with whitespace (a newline from the file it was read from?): a key is \
         used exactly as given; remove the whitespace"
    )]
    SurroundingWhitespace,
}

impl Actionable for EncryptionError {
    /// What to do about it: [`NextStep::FixConfiguration`] for a malformed key,
    /// [`NextStep::RetryLater`] when the random number generator failed, and
    /// [`NextStep::DoNotTrust`] for everything about the data (a signature that does not
    /// match, data that does not decrypt: a wrong key or a forgery).
    fn next_step(&self) -> NextStep {
        match self {
            EncryptionError::InvalidKey { .. } => NextStep::FixConfiguration,
            EncryptionError::Random => NextStep::RetryLater,
            _ => NextStep::DoNotTrust,
        }
    }
}
