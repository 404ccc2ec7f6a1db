//! How an elKYC / Allpass application encrypts, from the provider's encryption page and the
//! provider notes, with every reading the documentation leaves open selectable
//! ([`ElkycCrypto`]):
//!
//! - **AES-256-CBC**: keys are 32-byte hex strings; `data` is hex of a fresh 16-byte IV
//!   followed by the PKCS#7-padded ciphertext (confirmed by the provider's example); an HMAC
//!   keyed with the separate HMAC key travels in `x-allpass-signature`. Unconfirmed: the hash
//!   ([`MacHash`]), what it covers ([`MacInput`]), whether the HMAC key is hex-decoded
//!   ([`HmacKeyBytes`]) and how the header encodes it ([`SignatureEncoding`]).
//! - **AES-256-GCM**: the secret key only; the tag travels in `x-allpass-signature`.
//!   Unconfirmed: the nonce's length ([`GcmNonceLength`]) and where it sits in `data`
//!   ([`NoncePlacement`]), and the header's encoding.
//!
//! Written with RustCrypto from the documentation; it shares no code with the
//! `kyc-public-api` client, so a client that reads the provider differently fails against it.
//! It does share the client's vocabulary: each reading has the same type and variant names
//! as the client's `encryption` options (one more reading here, [`MacInput::Plaintext`],
//! which the client deliberately refuses), so a test sets both sides with the same words.

use aes_gcm::aead::Aead as _;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::{AesGcm, KeyInit as _, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use compliance_core::webhook::constant_time_eq;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha512};

use super::EncryptionMode;

/// The header carrying the HMAC (CBC) or the tag (GCM).
pub const SIGNATURE_HEADER: &str = "x-allpass-signature";

/// The CBC HMAC's hash *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MacHash {
    /// HMAC-SHA256 (the provider notes' reading).
    #[default]
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// What the CBC HMAC covers *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MacInput {
    /// The envelope's `data` string as sent (its hex characters; the notes' reading).
    #[default]
    DataString,
    /// The bytes the hex encodes: IV followed by ciphertext.
    CiphertextBytes,
    /// The plaintext JSON (MAC-then-encrypt).
    Plaintext,
}

/// How the HMAC key text becomes key bytes *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HmacKeyBytes {
    /// Hex-decoded, like the secret key (the notes' reading).
    #[default]
    HexDecoded,
    /// The text's own bytes (what Node's `createHmac("sha256", key)` does).
    Text,
}

/// How `x-allpass-signature` encodes the HMAC or tag *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Lowercase hex (the notes' reading).
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// The GCM nonce's length *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GcmNonceLength {
    /// 12 bytes, the GCM standard (the notes' reading).
    #[default]
    Bytes12,
    /// 16 bytes, like the CBC IV.
    Bytes16,
}

/// Where the GCM nonce sits in the decoded `data` *(unconfirmed)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum NoncePlacement {
    /// Before the ciphertext, like the CBC IV (the notes' reading).
    #[default]
    Prefix,
    /// After the ciphertext.
    Suffix,
}

/// The application's readings of every unconfirmed encryption detail. The default is the
/// provider notes' reading of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElkycCrypto {
    /// CBC HMAC hash.
    pub mac: MacHash,
    /// CBC HMAC input.
    pub mac_input: MacInput,
    /// CBC HMAC key bytes.
    pub hmac_key: HmacKeyBytes,
    /// Signature / tag encoding (both methods).
    pub signature_encoding: SignatureEncoding,
    /// GCM nonce length.
    pub gcm_nonce: GcmNonceLength,
    /// GCM nonce placement.
    pub nonce_placement: NoncePlacement,
}

impl ElkycCrypto {
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

    /// Sets how the HMAC key text becomes bytes.
    pub fn hmac_key(mut self, bytes: HmacKeyBytes) -> Self {
        self.hmac_key = bytes;
        self
    }

    /// Sets the header's encoding.
    pub fn signature_encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.signature_encoding = encoding;
        self
    }

    /// Sets the GCM nonce length.
    pub fn gcm_nonce(mut self, nonce: GcmNonceLength) -> Self {
        self.gcm_nonce = nonce;
        self
    }

    /// Sets where the GCM nonce sits.
    pub fn nonce_placement(mut self, placement: NoncePlacement) -> Self {
        self.nonce_placement = placement;
        self
    }
}

/// Why sealing or opening failed. The simulated provider answers every refusal of an
/// encrypted request with the same 401, as the real one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No usable key for the mode (plain application, or malformed keys).
    #[error("no usable key: the mode is plain, or a key is not 32 bytes of hex")]
    NoKeys,
    /// `data` is not hex, or too short; or an IV of the wrong length was given.
    #[error("malformed data or IV")]
    Malformed,
    /// The header does not decode to an HMAC or tag of the right length.
    #[error("the signature header is not an HMAC or tag of the right length")]
    BadSignature,
    /// The HMAC or tag does not match.
    #[error("the HMAC or tag does not match")]
    Mismatch,
}

/// An application's encryption: its mode, keys (hex text, as the dashboard shows them) and
/// the readings of the unconfirmed details.
///
/// Public so that a tool can seal what the simulated provider seals without a running
/// sandbox (the `compliance trigger elkyc ...` command); the simulator uses it for every
/// answer and webhook. `Debug` is not implemented: it would show the keys.
#[derive(Clone, Copy)]
pub struct Sealer<'a> {
    /// The method ([`EncryptionMode::Plain`] seals nothing).
    pub mode: EncryptionMode,
    /// The readings of the unconfirmed details.
    pub crypto: ElkycCrypto,
    /// The secret ("crypto") key, hex.
    pub secret_key: &'a str,
    /// The HMAC key (CBC), hex or text per [`ElkycCrypto::hmac_key`].
    pub hmac_key: &'a str,
}

impl Sealer<'_> {
    fn secret(&self) -> Result<[u8; 32], Refusal> {
        let bytes = hex::decode(self.secret_key).map_err(|_| Refusal::NoKeys)?;
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| Refusal::NoKeys)
    }

    fn hmac_bytes(&self) -> Result<Vec<u8>, Refusal> {
        match self.crypto.hmac_key {
            HmacKeyBytes::HexDecoded => hex::decode(self.hmac_key).map_err(|_| Refusal::NoKeys),
            HmacKeyBytes::Text => Ok(self.hmac_key.as_bytes().to_vec()),
        }
    }

    fn hmac(&self, message: &[u8]) -> Result<Vec<u8>, Refusal> {
        let key = self.hmac_bytes()?;
        Ok(match self.crypto.mac {
            MacHash::Sha256 => {
                let mut mac = <Hmac<Sha256>>::new_from_slice(&key).map_err(|_| Refusal::NoKeys)?;
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            MacHash::Sha512 => {
                let mut mac = <Hmac<Sha512>>::new_from_slice(&key).map_err(|_| Refusal::NoKeys)?;
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        })
    }

    fn encode(&self, raw: &[u8]) -> String {
        match self.crypto.signature_encoding {
            SignatureEncoding::Hex => hex::encode(raw),
            SignatureEncoding::Base64 => STANDARD.encode(raw),
        }
    }

    fn decode(&self, text: &str) -> Option<Vec<u8>> {
        match self.crypto.signature_encoding {
            SignatureEncoding::Hex => hex::decode(text).ok(),
            SignatureEncoding::Base64 => STANDARD.decode(text).ok(),
        }
    }

    fn nonce_len(&self) -> usize {
        match self.crypto.gcm_nonce {
            GcmNonceLength::Bytes12 => 12,
            GcmNonceLength::Bytes16 => 16,
        }
    }

    /// The bytes of IV or nonce [`seal`](Self::seal) needs.
    pub fn iv_len(&self) -> usize {
        match self.mode {
            EncryptionMode::Gcm => self.nonce_len(),
            _ => 16,
        }
    }

    /// Encrypts `plaintext` with `iv` (of [`iv_len`](Self::iv_len) bytes): the hex `data` and
    /// the `x-allpass-signature` value.
    ///
    /// The IV is the caller's: the simulator draws it from its seed (reproducible runs with
    /// fake keys); anyone sealing with real keys must pass fresh random bytes every time, as
    /// a GCM nonce used twice under one key gives the key's authentication away.
    pub fn seal(&self, plaintext: &[u8], iv: &[u8]) -> Result<(String, String), Refusal> {
        let key = self.secret()?;
        match self.mode {
            EncryptionMode::Plain => Err(Refusal::NoKeys),
            EncryptionMode::Cbc => {
                let enc = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, iv)
                    .map_err(|_| Refusal::Malformed)?;
                let mut raw = iv.to_vec();
                raw.extend(enc.encrypt_padded_vec::<Pkcs7>(plaintext));
                let data = hex::encode(&raw);
                let mac = self.hmac(match self.crypto.mac_input {
                    MacInput::DataString => data.as_bytes(),
                    MacInput::CiphertextBytes => &raw,
                    MacInput::Plaintext => plaintext,
                })?;
                Ok((data, self.encode(&mac)))
            }
            EncryptionMode::Gcm => {
                let mut sealed = gcm(&key, iv, plaintext, true)?;
                let tag = sealed.split_off(sealed.len() - 16);
                let raw = match self.crypto.nonce_placement {
                    NoncePlacement::Prefix => [iv, &sealed].concat(),
                    NoncePlacement::Suffix => [&sealed, iv].concat(),
                };
                Ok((hex::encode(raw), self.encode(&tag)))
            }
        }
    }

    /// Verifies and decrypts an encrypted `data` with its header value.
    pub fn open(&self, data: &str, signature: &str) -> Result<Vec<u8>, Refusal> {
        let key = self.secret()?;
        let raw = hex::decode(data).map_err(|_| Refusal::Malformed)?;
        let given = self.decode(signature.trim()).ok_or(Refusal::BadSignature)?;
        match self.mode {
            EncryptionMode::Plain => Err(Refusal::NoKeys),
            EncryptionMode::Cbc => {
                let check = |message: &[u8]| -> Result<(), Refusal> {
                    let expected = self.hmac(message)?;
                    if expected.len() != given.len() {
                        Err(Refusal::BadSignature)
                    } else if constant_time_eq(&expected, &given) {
                        Ok(())
                    } else {
                        Err(Refusal::Mismatch)
                    }
                };
                match self.crypto.mac_input {
                    MacInput::DataString => check(data.as_bytes())?,
                    MacInput::CiphertextBytes => check(&raw)?,
                    MacInput::Plaintext => {}
                }
                if raw.len() < 32 {
                    return Err(Refusal::Malformed);
                }
                let (iv, ciphertext) = raw.split_at(16);
                let dec = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
                    .map_err(|_| Refusal::Malformed)?;
                // Under MAC-then-encrypt a bad padding is reported like a bad MAC.
                let plain = dec
                    .decrypt_padded_vec::<Pkcs7>(ciphertext)
                    .map_err(|_| Refusal::Mismatch)?;
                if self.crypto.mac_input == MacInput::Plaintext {
                    check(&plain)?;
                }
                Ok(plain)
            }
            EncryptionMode::Gcm => {
                if given.len() != 16 {
                    return Err(Refusal::BadSignature);
                }
                let n = self.nonce_len();
                if raw.len() < n {
                    return Err(Refusal::Malformed);
                }
                let (nonce, ciphertext) = match self.crypto.nonce_placement {
                    NoncePlacement::Prefix => {
                        let (n, c) = raw.split_at(n);
                        (n, c)
                    }
                    NoncePlacement::Suffix => {
                        let (c, n) = raw.split_at(raw.len() - n);
                        (n, c)
                    }
                };
                gcm(&key, nonce, &[ciphertext, &given].concat(), false)
            }
        }
    }
}

/// AES-256-GCM with a 12- or 16-byte nonce and no associated data: `seal` gives ciphertext
/// followed by the 16-byte tag; opening takes the same.
fn gcm(key: &[u8; 32], nonce: &[u8], input: &[u8], seal: bool) -> Result<Vec<u8>, Refusal> {
    let fail = if seal {
        Refusal::Malformed
    } else {
        Refusal::Mismatch
    };
    match nonce.len() {
        12 => {
            let cipher = AesGcm::<aes::Aes256, U12>::new_from_slice(key).map_err(|_| fail)?;
            let nonce = Nonce::<U12>::try_from(nonce).map_err(|_| fail)?;
            if seal {
                cipher.encrypt(&nonce, input)
            } else {
                cipher.decrypt(&nonce, input)
            }
            .map_err(|_| fail)
        }
        16 => {
            let cipher = AesGcm::<aes::Aes256, U16>::new_from_slice(key).map_err(|_| fail)?;
            let nonce = Nonce::<U16>::try_from(nonce).map_err(|_| fail)?;
            if seal {
                cipher.encrypt(&nonce, input)
            } else {
                cipher.decrypt(&nonce, input)
            }
            .map_err(|_| fail)
        }
        _ => Err(Refusal::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn sealer(mode: EncryptionMode, crypto: ElkycCrypto) -> Sealer<'static> {
        Sealer {
            mode,
            crypto,
            secret_key: KEY,
            hmac_key: HMAC_KEY,
        }
    }

    /// NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), first block: the CBC layout is the
    /// standard one, IV first.
    #[test]
    fn cbc_matches_the_nist_vector() {
        let iv = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let (data, _) = sealer(EncryptionMode::Cbc, ElkycCrypto::default())
            .seal(&plain, &iv)
            .unwrap();
        assert_eq!(&data[..32], "000102030405060708090a0b0c0d0e0f");
        assert_eq!(&data[32..64], "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
    }

    /// RFC 4231 test case 2: HMAC-SHA256 with a text key, over the text itself.
    #[test]
    fn hmac_matches_rfc_4231() {
        let s = Sealer {
            mode: EncryptionMode::Cbc,
            crypto: ElkycCrypto::default().hmac_key(HmacKeyBytes::Text),
            secret_key: KEY,
            hmac_key: "Jefe",
        };
        assert_eq!(
            hex::encode(s.hmac(b"what do ya want for nothing?").unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// NIST GCM test case 13 (AES-256, zero key, zero 12-byte IV, empty plaintext): tag only.
    #[test]
    fn gcm_matches_the_nist_vector() {
        let s = Sealer {
            mode: EncryptionMode::Gcm,
            crypto: ElkycCrypto::default(),
            secret_key: &"00".repeat(32),
            hmac_key: "",
        };
        let (data, tag) = s.seal(b"", &[0; 12]).unwrap();
        assert_eq!(data, "00".repeat(12));
        assert_eq!(tag, "530f8afbc74536b9a963b4f1c4cb738b");
    }

    #[test]
    fn every_reading_round_trips_and_refuses_a_flipped_byte() {
        let mut readings = Vec::new();
        for mac in [MacHash::Sha256, MacHash::Sha512] {
            for input in [
                MacInput::DataString,
                MacInput::CiphertextBytes,
                MacInput::Plaintext,
            ] {
                for key in [HmacKeyBytes::HexDecoded, HmacKeyBytes::Text] {
                    for enc in [SignatureEncoding::Hex, SignatureEncoding::Base64] {
                        readings.push((
                            EncryptionMode::Cbc,
                            ElkycCrypto::default()
                                .mac(mac)
                                .mac_input(input)
                                .hmac_key(key)
                                .signature_encoding(enc),
                        ));
                    }
                }
            }
        }
        for nonce in [GcmNonceLength::Bytes12, GcmNonceLength::Bytes16] {
            for placement in [NoncePlacement::Prefix, NoncePlacement::Suffix] {
                readings.push((
                    EncryptionMode::Gcm,
                    ElkycCrypto::default()
                        .gcm_nonce(nonce)
                        .nonce_placement(placement),
                ));
            }
        }
        for (mode, crypto) in readings {
            let s = sealer(mode, crypto);
            let iv = vec![7u8; s.iv_len()];
            let (data, sig) = s.seal(br#"{"flowId":"42"}"#, &iv).unwrap();
            assert_eq!(
                s.open(&data, &sig).unwrap(),
                br#"{"flowId":"42"}"#,
                "{crypto:?}"
            );
            let mut flipped = data.clone().into_bytes();
            let i = flipped.len() - 3;
            flipped[i] = if flipped[i] == b'0' { b'1' } else { b'0' };
            let flipped = String::from_utf8(flipped).unwrap();
            assert_eq!(s.open(&flipped, &sig), Err(Refusal::Mismatch), "{crypto:?}");
        }
    }
}
