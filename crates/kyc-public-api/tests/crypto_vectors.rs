//! The public `crypto` API against vectors from an independent implementation
//! (`tests/vectors/generate.py`, Python `cryptography`): every vector decrypts; every
//! corruption is a typed error, never a panic.

use kyc_public_api::encryption::{
    Cipher, EncryptionError, EncryptionOptions, EncryptionSettings, GcmNonceLength, HexProblem,
    HmacKeyBytes, MacHash, MacInput, NoncePlacement, SignatureEncoding,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    other_key: String,
    valid: Vec<Vector>,
    bad_padding: Vec<Vector>,
}

#[derive(Deserialize, Clone)]
struct Vector {
    name: String,
    mode: String,
    secret_key: String,
    #[serde(default)]
    hmac_key: String,
    options: serde_json::Map<String, serde_json::Value>,
    plaintext: String,
    data: String,
    signature: String,
}

impl Vector {
    fn options(&self) -> EncryptionOptions {
        let opt = |k: &str| self.options.get(k).and_then(|v| v.as_str()).unwrap_or("");
        EncryptionOptions::default()
            .mac(match opt("mac") {
                "sha512" => MacHash::Sha512,
                _ => MacHash::Sha256,
            })
            .mac_input(match opt("mac_input") {
                "bytes" => MacInput::CiphertextBytes,
                _ => MacInput::DataString,
            })
            .hmac_key(match opt("hmac_key") {
                "text" => HmacKeyBytes::Text,
                _ => HmacKeyBytes::HexDecoded,
            })
            .signature_encoding(match opt("encoding") {
                "base64" => SignatureEncoding::Base64,
                _ => SignatureEncoding::Hex,
            })
            .gcm_nonce(
                match self.options.get("nonce_len").and_then(|v| v.as_u64()) {
                    Some(16) => GcmNonceLength::Bytes16,
                    _ => GcmNonceLength::Bytes12,
                },
            )
            .nonce_placement(match opt("placement") {
                "suffix" => NoncePlacement::Suffix,
                _ => NoncePlacement::Prefix,
            })
    }

    fn settings(&self, secret: &str, hmac: &str) -> EncryptionSettings {
        match self.mode.as_str() {
            "cbc" => EncryptionSettings::cbc(secret, hmac),
            _ => EncryptionSettings::gcm(secret),
        }
    }

    fn cipher(&self) -> Cipher {
        Cipher::with_options(
            &self.settings(&self.secret_key, &self.hmac_key),
            self.options(),
        )
        .unwrap()
    }
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/vectors.json")).unwrap()
}

#[test]
fn every_independent_vector_decrypts() {
    let v = vectors();
    assert!(v.valid.iter().any(|v| v.mode == "cbc") && v.valid.iter().any(|v| v.mode == "gcm"));
    for case in &v.valid {
        let plain = case
            .cipher()
            .decrypt(&case.data, &case.signature)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(plain, case.plaintext.as_bytes(), "{}", case.name);
        // Hex is case-insensitive on the way in.
        let upper = case
            .cipher()
            .decrypt(&case.data.to_uppercase(), &case.signature);
        if case.options.get("mac_input").and_then(|m| m.as_str()) != Some("data") {
            assert_eq!(upper.unwrap(), case.plaintext.as_bytes(), "{}", case.name);
        }
        // And our own encryption round-trips under the same options.
        let sealed = case.cipher().encrypt(case.plaintext.as_bytes()).unwrap();
        assert_eq!(
            case.cipher()
                .decrypt(&sealed.data, &sealed.signature)
                .unwrap(),
            case.plaintext.as_bytes()
        );
    }
}

#[test]
fn every_single_byte_flip_of_data_or_signature_is_rejected() {
    for case in vectors().valid.iter().filter(|c| c.name.ends_with("-0")) {
        let cipher = case.cipher();
        for i in 0..case.data.len() {
            let mut bytes = case.data.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                cipher.decrypt(&tampered, &case.signature),
                Err(EncryptionError::SignatureMismatch),
                "{} data[{i}]",
                case.name
            );
        }
        for i in 0..case.signature.len() {
            let mut bytes = case.signature.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                cipher.decrypt(&case.data, &tampered),
                Err(EncryptionError::SignatureMismatch),
                "{} signature[{i}]",
                case.name
            );
        }
    }
}

#[test]
fn wrong_keys_are_typed_errors() {
    let v = vectors();
    for case in v.valid.iter().filter(|c| c.name.ends_with("-0")) {
        // Wrong secret key: GCM's tag fails; CBC's HMAC passes, then the padding
        // (or, rarely, the JSON) gives it away; never a panic, never the plaintext.
        let wrong =
            Cipher::with_options(&case.settings(&v.other_key, &case.hmac_key), case.options())
                .unwrap();
        let result = wrong.decrypt(&case.data, &case.signature);
        match case.mode.as_str() {
            "gcm" => assert_eq!(result, Err(EncryptionError::SignatureMismatch)),
            _ => assert_ne!(result.as_deref(), Ok(case.plaintext.as_bytes())),
        }
        if case.mode == "cbc" {
            let wrong_hmac = Cipher::with_options(
                &case.settings(&case.secret_key, &v.other_key),
                case.options(),
            )
            .unwrap();
            assert_eq!(
                wrong_hmac.decrypt(&case.data, &case.signature),
                Err(EncryptionError::SignatureMismatch)
            );
        }
    }
}

#[test]
fn bad_padding_is_a_typed_error() {
    for case in vectors().bad_padding {
        assert_eq!(
            case.cipher().decrypt(&case.data, &case.signature),
            Err(EncryptionError::BadPadding),
            "{}",
            case.name
        );
    }
}

#[test]
fn truncated_odd_and_non_hex_input_are_typed_errors() {
    let v = vectors();
    for case in v.valid.iter().filter(|c| c.name.ends_with("-0")) {
        let c = case.cipher();
        assert_eq!(
            c.decrypt(&case.data[..case.data.len() - 1], &case.signature),
            Err(EncryptionError::DataNotHex(HexProblem::OddLength {
                len: case.data.len() - 1
            }))
        );
        let mut not_hex = case.data.clone();
        not_hex.replace_range(4..5, "g");
        assert_eq!(
            c.decrypt(&not_hex, &case.signature),
            Err(EncryptionError::DataNotHex(HexProblem::NotHex {
                position: 4
            }))
        );
        assert!(matches!(
            c.decrypt(&case.data, &case.signature[..case.signature.len() - 2]),
            Err(EncryptionError::MalformedSignature { .. })
        ));
        assert!(matches!(
            c.decrypt(&case.data, "zz"),
            Err(EncryptionError::MalformedSignature { .. })
        ));
        assert_eq!(
            c.decrypt(&case.data, " "),
            Err(EncryptionError::MissingSignature)
        );
    }
    // Truncated but correctly signed: too short for IV + one block, or not block-aligned.
    let settings = EncryptionSettings::cbc("11".repeat(32), "22".repeat(32));
    let c = Cipher::new(&settings).unwrap();
    let sealed = c.encrypt(b"{}").unwrap();
    for cut in [0usize, 2, 32, 40, 62] {
        let short = &sealed.data[..cut];
        let sig = resign(short);
        assert!(
            matches!(
                c.decrypt(short, &sig),
                Err(EncryptionError::Truncated { .. })
            ),
            "cut {cut}"
        );
    }
    let gcm = Cipher::new(&EncryptionSettings::gcm("11".repeat(32))).unwrap();
    assert_eq!(
        gcm.decrypt("00112233", &"00".repeat(16)),
        Err(EncryptionError::Truncated { len: 4 })
    );
    // A nonce and an empty ciphertext: authenticates nothing, so the tag fails.
    assert_eq!(
        gcm.decrypt(&"00".repeat(12), &"00".repeat(16)),
        Err(EncryptionError::SignatureMismatch)
    );
}

/// HMAC-SHA256 over `data` with the HMAC key `22..22`, computed with the `hmac` crate the
/// way the provider would, so truncation reaches the length checks.
fn resign(data: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[0x22; 32]).unwrap();
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn ciphers() -> Vec<Cipher> {
        let key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
        vec![
            Cipher::new(&EncryptionSettings::cbc(key, key)).unwrap(),
            Cipher::new(&EncryptionSettings::gcm(key)).unwrap(),
            Cipher::with_options(
                &EncryptionSettings::gcm(key),
                EncryptionOptions::default()
                    .gcm_nonce(GcmNonceLength::Bytes16)
                    .nonce_placement(NoncePlacement::Suffix)
                    .signature_encoding(SignatureEncoding::Base64),
            )
            .unwrap(),
        ]
    }

    proptest! {
        #[test]
        fn encrypt_then_decrypt_is_identity(plaintext in proptest::collection::vec(any::<u8>(), 0..300)) {
            for c in ciphers() {
                let sealed = c.encrypt(&plaintext).unwrap();
                prop_assert_eq!(c.decrypt(&sealed.data, &sealed.signature).unwrap(), plaintext.clone());
            }
        }

        #[test]
        fn arbitrary_input_is_an_error_not_a_panic(data in "[0-9a-fA-Fg ]{0,200}", sig in "[0-9a-zA-Z+/=]{0,100}") {
            for c in ciphers() {
                prop_assert!(c.decrypt(&data, &sig).is_err());
            }
        }
    }
}
