//! Deterministic ids, tokens and keys from the sandbox seed.

use std::sync::{Arc, Mutex};

/// A seeded generator: the same seed gives the same ids in the same order.
#[derive(Debug, Clone)]
pub(crate) struct Ids(Arc<Mutex<fastrand::Rng>>);

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(fastrand::Rng::with_seed(seed))))
    }

    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut rng = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = [0u8; N];
        for b in &mut out {
            *b = rng.u8(..);
        }
        out
    }

    /// `n` random bytes (IVs and nonces).
    pub(crate) fn bytes_vec(&self, n: usize) -> Vec<u8> {
        let mut rng = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (0..n).map(|_| rng.u8(..)).collect()
    }

    /// A UUID v4-shaped id.
    pub(crate) fn uuid(&self) -> String {
        uuid_from(self.bytes::<16>())
    }

    /// `n` random bytes as lowercase hex.
    pub(crate) fn hex(&self, n: usize) -> String {
        let mut s = String::with_capacity(n * 2);
        for _ in 0..n.div_ceil(16) {
            s.push_str(&hex(&self.bytes::<16>()));
        }
        s.truncate(n * 2);
        s
    }
}

/// Formats 16 bytes as a UUID, with the version-4 and variant bits set. The randomness is
/// the caller's: the sandbox draws it from its seed, `compliance trigger` from the system.
pub fn uuid_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let (a, b) = (Ids::new(7), Ids::new(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.hex(32), b.hex(32));
        assert_ne!(Ids::new(8).uuid(), Ids::new(7).uuid());
        let u = a.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
