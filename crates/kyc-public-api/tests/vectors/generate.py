#!/usr/bin/env python3
"""Independent test vectors for kyc-public-api's `crypto` module.

Produced with Python's `cryptography` package (OpenSSL underneath), not with the Rust code
under test. Run by hand (CI does not run it) and commit the output next to this script:

    python3 generate.py > vectors.json

Layout (confirmed by the provider for CBC): `data` is hex; its first 16 bytes are the IV,
the rest is AES-256-CBC ciphertext with PKCS#7 padding. The signature travels separately
(the `x-allpass-signature` header). Unconfirmed choices each get their own vector:
HMAC algorithm (SHA-256 / SHA-512), HMAC input (the hex `data` string / the raw IV ||
ciphertext bytes; a MAC over the plaintext is not supported: it would be a padding oracle),
HMAC key use (hex-decoded / the key text itself),
signature encoding (hex / base64), GCM nonce length (12 / 16) and placement (prefix /
suffix). IVs and nonces are fixed here so the Rust side can reproduce encryption exactly.
"""

import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_KEY = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
HMAC_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
OTHER_KEY = "ff" * 32

PLAINTEXTS = [
    '{"id":"3f6c7c1e-8d0b-4a57-9b1e-0a4f3c2d1e00","type":"applicantApproved","externalUserId":"user/42 ü","appKey":"app-1"}',
    "",
    "0123456789abcdef",  # exactly one block: padding adds a whole block
    '{"status":"INIT","note":"Grüße, 你好, emoji \\ud83d\\ude00"}',
]


def enc_sig(raw: bytes, encoding: str) -> str:
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()


def cbc_encrypt(key_hex: str, iv: bytes, plaintext: bytes, pad: bool = True) -> bytes:
    if pad:
        padder = padding.PKCS7(128).padder()
        plaintext = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(bytes.fromhex(key_hex)), modes.CBC(iv)).encryptor()
    return enc.update(plaintext) + enc.finalize()


def cbc_case(name, iv_hex, plaintext, mac="sha256", mac_input="data", key_use="hex", encoding="hex", pad=True):
    iv = bytes.fromhex(iv_hex)
    ct = cbc_encrypt(SECRET_KEY, iv, plaintext.encode(), pad)
    data = (iv + ct).hex()
    mac_key = bytes.fromhex(HMAC_KEY) if key_use == "hex" else HMAC_KEY.encode()
    message = {"data": data.encode(), "bytes": iv + ct}[mac_input]
    digest = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}[mac]
    signature = enc_sig(hmac.new(mac_key, message, digest).digest(), encoding)
    return {
        "name": name,
        "mode": "cbc",
        "secret_key": SECRET_KEY,
        "hmac_key": HMAC_KEY,
        "options": {"mac": mac, "mac_input": mac_input, "hmac_key": key_use, "encoding": encoding},
        "iv": iv_hex,
        "plaintext": plaintext,
        "data": data,
        "signature": signature,
    }


def gcm_case(name, nonce_hex, plaintext, placement="prefix", encoding="hex"):
    nonce = bytes.fromhex(nonce_hex)
    out = AESGCM(bytes.fromhex(SECRET_KEY)).encrypt(nonce, plaintext.encode(), None)
    ct, tag = out[:-16], out[-16:]
    data = (nonce + ct if placement == "prefix" else ct + nonce).hex()
    return {
        "name": name,
        "mode": "gcm",
        "secret_key": SECRET_KEY,
        "options": {"nonce_len": len(nonce), "placement": placement, "encoding": encoding},
        "iv": nonce_hex,
        "plaintext": plaintext,
        "data": data,
        "signature": enc_sig(tag, encoding),
    }


def main():
    valid = []
    ivs = ["000102030405060708090a0b0c0d0e0f", "f0e1d2c3b4a5968778695a4b3c2d1e0f",
           "00000000000000000000000000000000", "a1b2c3d4e5f60718293a4b5c6d7e8f90"]
    for i, (iv, pt) in enumerate(zip(ivs, PLAINTEXTS)):
        valid.append(cbc_case(f"cbc-default-{i}", iv, pt))
    valid.append(cbc_case("cbc-hmac-sha512", ivs[0], PLAINTEXTS[0], mac="sha512"))
    valid.append(cbc_case("cbc-mac-over-bytes", ivs[1], PLAINTEXTS[0], mac_input="bytes"))
    valid.append(cbc_case("cbc-hmac-key-as-text", ivs[3], PLAINTEXTS[0], key_use="text"))
    valid.append(cbc_case("cbc-base64-signature", ivs[2], PLAINTEXTS[0], encoding="base64"))

    nonces12 = ["cafebabefacedbaddecaf888", "000000000000000000000000",
                "0102030405060708090a0b0c", "ffffffffffffffffffffffff"]
    for i, (nonce, pt) in enumerate(zip(nonces12, PLAINTEXTS)):
        valid.append(gcm_case(f"gcm-default-{i}", nonce, pt))
    valid.append(gcm_case("gcm-nonce-16", "000102030405060708090a0b0c0d0e0f", PLAINTEXTS[0]))
    valid.append(gcm_case("gcm-nonce-suffix", nonces12[2], PLAINTEXTS[0], placement="suffix"))
    valid.append(gcm_case("gcm-base64-tag", nonces12[0], PLAINTEXTS[3], encoding="base64"))

    # Correctly signed, but the plaintext was encrypted without padding and its last byte
    # is not a valid PKCS#7 length: decryption must report bad padding.
    bad_padding = [
        cbc_case("cbc-bad-padding-zero", ivs[0], "0123456789abcdef0123456789abcde\x00", pad=False),
        cbc_case("cbc-bad-padding-too-long", ivs[1], "0123456789abcdef0123456789abcde\x11", pad=False),
        cbc_case("cbc-bad-padding-inconsistent", ivs[2], "0123456789abcdef0123456789abc\x01\x03\x03", pad=False),
    ]
    print(json.dumps({
        "generator": "tests/vectors/generate.py (Python cryptography, OpenSSL backend)",
        "other_key": OTHER_KEY,
        "valid": valid,
        "bad_padding": bad_padding,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
