//! What the application's encryption is: the method and keys from the dashboard, and the
//! details the provider leaves unconfirmed.
//!
//! The unconfirmed details have the same names (types and variants) in the sandbox's elKYC
//! simulator, which mirrors them without depending on this crate, and the `compliance`
//! command line reads them as these very types (feature `clap`: `clap::ValueEnum`).

use std::fmt;

use compliance_core::secret::SecretString;

/// The application's encryption method and keys, as shown in the provider's dashboard.
///
/// Keys are hex strings of 32 bytes (64 hex digits). They are validated when a [`Cipher`](super::Cipher)
/// (or a client or webhook receiver) is built.
#[derive(Clone)]
#[non_exhaustive]
pub enum EncryptionSettings {
    /// AES-256-CBC, authenticated by an HMAC carried in `x-allpass-signature`.
    Cbc {
        /// The secret ("crypto") key, hex.
        secret_key: SecretString,
        /// The HMAC key, hex.
        hmac_key: SecretString,
    },
    /// AES-256-GCM; the tag is carried in `x-allpass-signature`.
    Gcm {
        /// The secret ("crypto") key, hex.
        secret_key: SecretString,
    },
}

impl EncryptionSettings {
    /// AES-256-CBC + HMAC with these hex keys.
    pub fn cbc(secret_key: impl Into<SecretString>, hmac_key: impl Into<SecretString>) -> Self {
        Self::Cbc {
            secret_key: secret_key.into(),
            hmac_key: hmac_key.into(),
        }
    }

    /// AES-256-GCM with this hex key.
    pub fn gcm(secret_key: impl Into<SecretString>) -> Self {
        Self::Gcm {
            secret_key: secret_key.into(),
        }
    }

    /// `"AES-256-CBC"` or `"AES-256-GCM"`.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Cbc { .. } => "AES-256-CBC",
            Self::Gcm { .. } => "AES-256-GCM",
        }
    }
}

impl fmt::Debug for EncryptionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cbc { .. } => f
                .debug_struct("Cbc")
                .field("secret_key", &"[redacted]")
                .field("hmac_key", &"[redacted]")
                .finish(),
            Self::Gcm { .. } => f
                .debug_struct("Gcm")
                .field("secret_key", &"[redacted]")
                .finish(),
        }
    }
}

/// The CBC HMAC's hash *(unconfirmed; default SHA-256)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum MacHash {
    /// HMAC-SHA256 (32-byte signature).
    #[default]
    Sha256,
    /// HMAC-SHA512 (64-byte signature).
    Sha512,
}

/// What the CBC HMAC is computed over *(unconfirmed; default: the `data` string)*.
///
/// Both choices authenticate the ciphertext before anything is decrypted. (A MAC over the
/// plaintext is deliberately not offered: it can only be checked after decrypting, which
/// turns the padding check into an oracle that decrypts any payload byte by byte.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum MacInput {
    /// The envelope's `data` string exactly as sent (its ASCII hex characters).
    #[default]
    DataString,
    /// The raw bytes the hex encodes: IV ‖ ciphertext.
    CiphertextBytes,
}

/// How the HMAC key text becomes key bytes *(unconfirmed; default hex-decoded)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum HmacKeyBytes {
    /// Hex-decoded to 32 bytes, like the secret key.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "hex"))]
    HexDecoded,
    /// The key text's own UTF-8 bytes (what `createHmac("sha256", key)` does in Node.js).
    Text,
}

/// How `x-allpass-signature` encodes the HMAC or tag *(unconfirmed; default hex)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Lowercase hex when writing; either case accepted when reading.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// GCM nonce length *(unconfirmed; default 12 bytes, the GCM standard)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum GcmNonceLength {
    /// 12 bytes (96 bits).
    #[default]
    #[cfg_attr(feature = "clap", value(name = "12"))]
    Bytes12,
    /// 16 bytes, like the CBC IV.
    #[cfg_attr(feature = "clap", value(name = "16"))]
    Bytes16,
}

impl GcmNonceLength {
    /// The length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::Bytes12 => 12,
            Self::Bytes16 => 16,
        }
    }
}

/// Where the GCM nonce sits in the decoded `data` *(unconfirmed; default prefix, like the
/// CBC IV)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum NoncePlacement {
    /// nonce ‖ ciphertext.
    #[default]
    Prefix,
    /// ciphertext ‖ nonce.
    Suffix,
}

/// The unconfirmed parts of the provider's encryption, each selectable. The defaults follow
/// the provider notes; change one only when the provider's real traffic disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EncryptionOptions {
    /// HMAC hash (CBC).
    pub mac: MacHash,
    /// HMAC input (CBC).
    pub mac_input: MacInput,
    /// HMAC key bytes (CBC).
    pub hmac_key: HmacKeyBytes,
    /// Signature / tag encoding (both methods).
    pub signature_encoding: SignatureEncoding,
    /// Nonce length (GCM).
    pub gcm_nonce: GcmNonceLength,
    /// Nonce placement (GCM).
    pub nonce_placement: NoncePlacement,
}

impl EncryptionOptions {
    /// Sets the HMAC hash.
    pub fn mac(mut self, mac: MacHash) -> Self {
        self.mac = mac;
        self
    }

    /// Sets what the HMAC covers.
    pub fn mac_input(mut self, input: MacInput) -> Self {
        self.mac_input = input;
        self
    }

    /// Sets how the HMAC key text becomes key bytes.
    pub fn hmac_key(mut self, bytes: HmacKeyBytes) -> Self {
        self.hmac_key = bytes;
        self
    }

    /// Sets the signature / tag encoding.
    pub fn signature_encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.signature_encoding = encoding;
        self
    }

    /// Sets the GCM nonce length.
    pub fn gcm_nonce(mut self, len: GcmNonceLength) -> Self {
        self.gcm_nonce = len;
        self
    }

    /// Sets where the GCM nonce sits.
    pub fn nonce_placement(mut self, placement: NoncePlacement) -> Self {
        self.nonce_placement = placement;
        self
    }
}
