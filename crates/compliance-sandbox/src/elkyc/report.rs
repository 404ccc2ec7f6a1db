//! Crypto-AML reports: a new report per search, its content a pure function of the
//! blockchain and the address or hash, shaped like the documentation's example.

use compliance_core::time::Timestamp;
use serde_json::{Value, json};

use super::Elkyc;
use super::webhook::iso;
use crate::ids;

#[derive(Debug, Clone)]
pub(super) struct Report {
    pub(super) kind: &'static str,
    pub(super) blockchain: String,
    pub(super) target: String,
    pub(super) created_at: Timestamp,
}

pub(super) fn fnv1a(seed: u64, parts: &[&str]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    for part in parts {
        for b in part.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0xff).wrapping_mul(PRIME);
    }
    h
}

/// A uuid-shaped id that is a pure function of the seed and `parts`.
pub(super) fn stable_uuid(seed: u64, parts: &[&str]) -> String {
    let a = fnv1a(seed, parts);
    let b = fnv1a(a, parts);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    ids::uuid_from(bytes)
}

/// The normalised search target: a transaction hash without `0x`, lowercased; an address
/// as given.
pub(super) fn normalise(kind: &str, target: &str) -> String {
    if kind == "TRANSACTION" {
        target
            .strip_prefix("0x")
            .unwrap_or(target)
            .to_ascii_lowercase()
    } else {
        target.to_owned()
    }
}

/// The risk score (0–100) the simulator gives a wallet address or transaction hash on a
/// blockchain: a pure function of the two (independent of the seed), so some addresses are
/// low risk (0–30), some medium, some high (70–100). A transaction hash is scored without
/// its `0x` prefix and case-insensitively.
pub fn risk_score(blockchain: &str, address_or_hash: &str) -> u8 {
    let kind = if is_tx_hash(address_or_hash) {
        "TRANSACTION"
    } else {
        "WALLET"
    };
    score_of(blockchain, &normalise(kind, address_or_hash))
}

fn score_of(blockchain: &str, normalised: &str) -> u8 {
    // `% 101` keeps the value in 0..=100, so the cast cannot truncate.
    (fnv1a(0, &[blockchain, normalised]) % 101) as u8
}

pub(super) fn is_tx_hash(s: &str) -> bool {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Elkyc {
    pub(super) fn report_json(&self, id: &str, r: &Report) -> Value {
        let creds = self.credentials();
        let score = score_of(&r.blockchain, &r.target);
        let h = fnv1a(self.seed, &[&r.blockchain, &r.target]);
        let categories = [
            ("exchange", 10u8),
            ("payment processor", 20),
            ("miner", 5),
            ("gambling", 60),
            ("mixer", 90),
            ("darknet market", 100),
        ];
        // The counterparties' risk follows the report's: high scores come from risky ones.
        let pick = |offset: u64| {
            let band = usize::from(score) * categories.len() / 101;
            let i = (band + (offset as usize % 2)).min(categories.len() - 1);
            categories[i]
        };
        let symbol = r.blockchain.as_str();
        let amount = format!("{}.{:08}", h % 50, (h >> 8) % 100_000_000);
        let flow = |forward: bool, offset: u64| {
            let (kind, kind_score) = pick(offset);
            json!({
                "hash": format!("{:016x}{:016x}", h.rotate_left(offset as u32), h ^ offset),
                "forward": forward,
                "owner": format!("{kind} #{}", (h >> offset) % 1000),
                "score": kind_score,
                "type": kind,
                "depth": 1 + offset % 3,
                "amount": (h >> (offset + 3)) % 10_000,
                "address": format!("{}{:x}", r.blockchain.to_ascii_lowercase(), h ^ (offset << 7)),
                "share": 50,
                "transactionCount": 1 + (h >> offset) % 40,
                "unidentified": false,
                "unknown": false,
                "amountCur": (h >> (offset + 5)) % 5_000,
                "cluster": (h >> (offset + 11)) % 100_000,
                "directStamp": 1_700_000_000 + (h >> 20) % 10_000_000,
                "timestamp": 1_700_000_000 + (h >> 24) % 10_000_000,
                "listType": if kind_score >= 70 { "BLACK" } else { "WHITE" },
                "amountDec": (h >> (offset + 2)) % 1_000,
                "directTx": format!("{:016x}", h.rotate_right(offset as u32)),
            })
        };
        let (main_kind, main_kind_score) = pick(0);
        let created = iso(r.created_at);
        let is_wallet = r.kind == "WALLET";
        json!({
            "type": r.kind,
            "id": id,
            "clientKey": creds.client_key,
            "applicantId": null,
            "blockchain": r.blockchain,
            "reviewStatus": "UNKNOWN",
            "address": if is_wallet { Some(&r.target) } else { None },
            "txHash": if is_wallet { None } else { Some(&r.target) },
            "score": score,
            "amount": amount,
            "uof": [flow(true, 1), flow(true, 2)],
            "sof": [flow(false, 3)],
            "addressInfo": {
                "address": if is_wallet { Some(&r.target) } else { None },
                "owner": format!("{main_kind} #{}", h % 1000),
                "description": format!("Simulated {main_kind} counterparty"),
                "type": {
                    "id": format!("{:x}", h % 0xffff),
                    "name": main_kind,
                    "score": main_kind_score,
                },
                "txCount": 10 + h % 990,
                "txReceivedCount": 5 + h % 500,
                "txSentCount": 5 + (h >> 9) % 490,
                "tags": [],
                "balance": {
                    "amount": amount,
                    "price": 1 + (h >> 13) % 60_000,
                    "priceTimestamp": 1_700_000_000 + (h >> 17) % 10_000_000,
                    "symbol": symbol,
                },
                "firstSeen": 1_500_000_000 + (h >> 3) % 100_000_000,
                "lastSeen": 1_700_000_000 + (h >> 5) % 10_000_000,
                "parentCount": (h >> 7) % 10,
                "parentNativeCount": (h >> 11) % 10,
                "addressType": if is_wallet { "wallet" } else { "transaction" },
                "conflict": false,
                "totalETHTxs": 0,
                "totalInternalTxs": 0,
                "totalTokensTxs": 0,
                "assets": [{
                    "supported": true,
                    "name": r.blockchain,
                    "symbol": symbol,
                    "icon": null,
                }],
            },
            "entities": [{
                "id": format!("{:x}", (h >> 4) % 0xffff),
                "score": main_kind_score,
                "scoreType": if main_kind_score >= 70 { "high" } else if main_kind_score > 30 { "medium" } else { "low" },
                "name": main_kind,
                "scoreTypeId": format!("{:x}", (h >> 6) % 0xff),
            }],
            "isMonitoring": false,
            "lastUpdateDate": created,
            "outdated": false,
            "createdAt": created,
            "timelines": [{
                "id": stable_uuid(self.seed, &[id, "timeline"]),
                "requestUniqueId": stable_uuid(self.seed, &[id, "request"]),
                "eventName": "CRYPTO_AML_STATUS_UPDATED",
                "applicantId": null,
                "appKey": creds.app_key,
                "data": {"reviewStatus": "UNKNOWN", "score": score},
                "amlId": id,
                "userId": null,
                "device": {},
                "geo": {},
                "createdAt": created,
                "updatedAt": created,
            }],
            "comments": [],
            "updatedAt": created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_spread_over_the_bands_and_ids_are_stable() {
        let scores: Vec<u8> = (0..200)
            .map(|i| risk_score("BTC", &format!("bc1qsandboxaddress{i:04}")))
            .collect();
        assert!(scores.iter().all(|s| *s <= 100));
        assert!(scores.iter().any(|s| *s <= 30));
        assert!(scores.iter().any(|s| *s >= 70));
        let hash = "AB".repeat(32);
        assert_eq!(
            risk_score("ETH", &hash),
            risk_score("ETH", &format!("0x{}", hash.to_lowercase()))
        );
        assert_eq!(stable_uuid(1, &["a"]), stable_uuid(1, &["a"]));
        assert_ne!(stable_uuid(1, &["a"]), stable_uuid(2, &["a"]));
        assert_eq!(stable_uuid(1, &["a"]).len(), 36);
    }

    #[test]
    fn timestamps_have_millisecond_precision() {
        let t: Timestamp = "2025-07-04T12:01:17.228911Z".parse().unwrap();
        assert_eq!(iso(t), "2025-07-04T12:01:17.228Z");
    }
}
