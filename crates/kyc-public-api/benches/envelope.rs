//! Opening an encrypted envelope's `data` (an applicant, 2 KB of JSON) with [`Cipher::decrypt`]
//! beside the bare RustCrypto calls that do the same, in the same run (see `bench-pair`):
//!
//! - `elkyc_cbc_open`: hex-decode, HMAC-SHA256 over the `data` string checked against the
//!   `x-allpass-signature`, AES-256-CBC decrypt with PKCS#7;
//! - `elkyc_gcm_open`: hex-decode, AES-256-GCM decrypt with the detached tag.
//!
//! `cargo bench -p kyc-public-api --bench envelope`; `cargo xtask bench` prints the ratios.

#![allow(missing_docs)]

use aes_gcm::aead::array::Array;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit as _};
use bench_pair::compare;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac as _};
use kyc_public_api::{Cipher, EncryptionSettings};
use sha2::Sha256;

const SECRET_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const APPLICANT: &[u8] = include_bytes!("../tests/fixtures/get_applicant.response.json");

/// The applicant as the provider's `data` carries it: compact JSON.
fn plaintext() -> Vec<u8> {
    let envelope: serde_json::Value = serde_json::from_slice(APPLICANT).unwrap();
    serde_json::to_vec(&envelope["data"]).unwrap()
}

fn cbc(c: &mut Criterion) {
    let plaintext = plaintext();
    let cipher = Cipher::new(&EncryptionSettings::cbc(SECRET_KEY, HMAC_KEY)).unwrap();
    let sealed = cipher.encrypt(&plaintext).unwrap();
    let (data, signature) = (sealed.data.as_str(), sealed.signature.as_str());
    let key = hex::decode(SECRET_KEY).unwrap();
    let hmac_key = hex::decode(HMAC_KEY).unwrap();
    let bare = || {
        let raw = hex::decode(data).unwrap();
        let tag = hex::decode(signature).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&hmac_key).unwrap();
        mac.update(data.as_bytes());
        mac.verify_slice(&tag).unwrap();
        let (iv, ciphertext) = raw.split_at(16);
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
            .unwrap()
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .unwrap()
    };
    let project = || cipher.decrypt(data, signature).unwrap();
    assert_eq!(project(), plaintext);
    assert_eq!(bare(), plaintext);
    compare(c, "elkyc_cbc_open", project, bare);
}

fn gcm(c: &mut Criterion) {
    let plaintext = plaintext();
    let cipher = Cipher::new(&EncryptionSettings::gcm(SECRET_KEY)).unwrap();
    let sealed = cipher.encrypt(&plaintext).unwrap();
    let (data, signature) = (sealed.data.as_str(), sealed.signature.as_str());
    let key = hex::decode(SECRET_KEY).unwrap();
    let bare = || {
        let raw = hex::decode(data).unwrap();
        let tag = hex::decode(signature).unwrap();
        let (nonce, ciphertext) = raw.split_at(12);
        let mut buf = ciphertext.to_vec();
        Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .decrypt_inout_detached(
                &Array::try_from(nonce).unwrap(),
                b"",
                buf.as_mut_slice().into(),
                &Array::try_from(tag.as_slice()).unwrap(),
            )
            .unwrap();
        buf
    };
    let project = || cipher.decrypt(data, signature).unwrap();
    assert_eq!(project(), plaintext);
    assert_eq!(bare(), plaintext);
    compare(c, "elkyc_gcm_open", project, bare);
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = cbc, gcm
}
criterion_main!(benches);
