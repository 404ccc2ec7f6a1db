//! The one place that knows how elKYC / Allpass encrypts: AES-256-CBC + HMAC, or AES-256-GCM.
//!
//! An application is configured in the dashboard with one of two methods. Either way the
//! envelope's `data` is a **hex** string and an authenticator travels beside it in the
//! `x-allpass-signature` header:
//!
//! | method | `data` (hex) | `x-allpass-signature` |
//! |---|---|---|
//! | [`EncryptionSettings::Cbc`] | 16-byte IV ‖ ciphertext (PKCS#7) | HMAC of the `data` string |
//! | [`EncryptionSettings::Gcm`] | 12-byte nonce ‖ ciphertext | GCM tag |
//!
//! The CBC layout is confirmed by the provider's own example. The rest is our best reading
//! and is isolated in [`EncryptionOptions`]: the HMAC's hash ([`MacHash`]), what it is
//! computed over ([`MacInput`]), whether the HMAC key is hex-decoded ([`HmacKeyBytes`]), how
//! the signature/tag is encoded ([`SignatureEncoding`]), the GCM nonce length
//! ([`GcmNonceLength`]) and where the nonce sits ([`NoncePlacement`]). The defaults are the
//! provider notes' reading.
//!
//! The client and the webhook verifier build a [`Cipher`] from the settings and use it for
//! you. It opens what the provider sends (responses, webhooks: [`Cipher::decrypt`]); sealing
//! what the provider receives happens inside the client when
//! [`encrypt_requests`](crate::KycClientBuilder::encrypt_requests) is on, and is public
//! with the `test-util` feature (`Cipher::encrypt`, for tests and simulators that play the
//! provider). Every failure is a typed [`EncryptionError`], never a panic, and no error or
//! `Debug` output contains key material.
//!
//! | file | what it holds |
//! |---|---|
//! | `options.rs` | [`EncryptionSettings`] (method and keys) and [`EncryptionOptions`] (the unconfirmed details) |
//! | `cipher.rs` | [`Cipher`]: key validation, sealing and opening |
//! | `error.rs` | [`EncryptionError`] and what is wrong with a key or a hex string |
//!
//! ```
//! # #[cfg(feature = "test-util")] {
//! use kyc_public_api::encryption::{Cipher, EncryptionSettings};
//!
//! let settings = EncryptionSettings::cbc(
//!     "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
//!     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
//! );
//! let cipher = Cipher::new(&settings)?;
//! let sealed = cipher.encrypt(br#"{"flowId":"42"}"#)?;
//! let plain = cipher.decrypt(&sealed.data, &sealed.signature)?;
//! assert_eq!(plain, br#"{"flowId":"42"}"#);
//! # }
//! # Ok::<(), kyc_public_api::encryption::EncryptionError>(())
//! ```

mod cipher;
mod error;
mod options;

pub use cipher::Cipher;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use cipher::Sealed;
pub use error::{EncryptionError, HexProblem, KeyName, KeyProblem};
pub use options::{
    EncryptionOptions, EncryptionSettings, GcmNonceLength, HmacKeyBytes, MacHash, MacInput,
    NoncePlacement, SignatureEncoding,
};

/// The header that carries the HMAC (CBC) or the GCM tag.
pub const SIGNATURE_HEADER: &str = "x-allpass-signature";
