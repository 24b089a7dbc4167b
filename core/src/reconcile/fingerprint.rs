//! Keys, id hashes and membership fingerprints (SPEC §24).

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};

/// The key of a comparison (SPEC §24): it is hashed before every id, so fingerprints and sketches
/// are comparable only when both sides used the same key. Its tag (8 hex digits) travels with
/// them, so a key mismatch is refused instead of reported as "everything differs".
///
/// ```
/// use segcore::reconcile::Key;
/// let key = Key::default();
/// assert_eq!(key.as_str(), "segcore");
/// assert_eq!(key.tag_hex().len(), 8);
/// assert!(Key::new("crm:2026").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    text: String,
    tag: [u8; 4],
    /// SHA-256 state after `K ":"`: every id hash continues from it.
    prefix: Sha256,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.text == other.text
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?}, tag {})", self.text, self.tag_hex())
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::new(Key::DEFAULT).expect("the default key is valid")
    }
}

impl Key {
    /// The key used when none is given.
    pub const DEFAULT: &'static str = "segcore";

    /// A key: 1 to 64 characters of `A–Z a–z 0–9 . _ -` (`invalid_key` otherwise).
    pub fn new(text: &str) -> Result<Key, Error> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            let shown: String = text.chars().take(80).collect();
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("key {shown:?} is not 1 to 64 characters of A-Z a-z 0-9 . _ - (SPEC §24)"),
            ));
        }
        let tag_digest = Sha256::digest(format!("segcore-key:{text}").as_bytes());
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&tag_digest[..4]);
        let mut prefix = Sha256::new();
        prefix.update(text.as_bytes());
        prefix.update(b":");
        Ok(Key { text: text.to_string(), tag, prefix })
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key tag: the first 4 bytes of SHA-256("segcore-key:" K).
    pub fn tag(&self) -> [u8; 4] {
        self.tag
    }

    /// The key tag as 8 lowercase hex digits (as in a fingerprint's text form).
    pub fn tag_hex(&self) -> String {
        hex(&self.tag)
    }

    /// H(id) = SHA-256(K ":" id).
    pub fn digest(&self, id: &str) -> [u8; 32] {
        let mut h = self.prefix.clone();
        h.update(id.as_bytes());
        h.finalize().into()
    }

    /// The first four 32-bit words of H(id) (big-endian words of the digest). A message that fits
    /// one block (≤ 55 bytes: most ids) goes through the compression function once, directly —
    /// 2× faster than the buffered hasher; the digest's words are the state's words.
    pub(crate) fn words(&self, id: &str) -> [u32; 4] {
        let p = self.text.len() + 1;
        let len = p + id.len();
        if len > 55 {
            return lanes_of(&self.digest(id));
        }
        let mut block = [0u8; 64];
        block[..p - 1].copy_from_slice(self.text.as_bytes());
        block[p - 1] = b':';
        block[p..len].copy_from_slice(id.as_bytes());
        block[len] = 0x80;
        block[56..].copy_from_slice(&((len as u64) * 8).to_be_bytes());
        let mut state = SHA256_INIT;
        sha2::compress256(&mut state, &[block.into()]);
        [state[0], state[1], state[2], state[3]]
    }

    /// The four lanes h₀…h₃ of an id: big-endian 32-bit words of H(id).
    pub fn lanes(&self, id: &str) -> [u32; 4] {
        self.words(id)
    }

    /// The sketch symbol of an id: the first 8 bytes of H(id), big-endian (h₀·2³² + h₁).
    pub fn symbol(&self, id: &str) -> u64 {
        let w = self.words(id);
        (u64::from(w[0]) << 32) | u64::from(w[1])
    }

    /// The fingerprint of a set of ids (each id once: a repeated id counts twice, the fingerprint
    /// of a multiset). Large inputs are hashed on every core.
    ///
    /// ```
    /// use segcore::reconcile::Key;
    /// let key = Key::default();
    /// let a = key.fingerprint(&["u1", "u2", "u3"]);
    /// let b = key.fingerprint(&["u3", "u1", "u2"]);
    /// assert_eq!(a, b);
    /// assert_eq!(a.count(), 3);
    /// assert!(a.to_string().starts_with("sfp1:"));
    /// ```
    pub fn fingerprint<S: AsRef<str> + Sync>(&self, ids: &[S]) -> Fingerprint {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
        let parts = crate::parallel::parallel_ranges(ids.len(), threads, 50_000, &|range| {
            let mut fp = Fingerprint::empty(self);
            for id in &ids[range] {
                fp.insert_lanes(self.lanes(id.as_ref()));
            }
            Ok(fp)
        });
        // Hashing cannot fail; a panic in a worker would be a bug, so it is raised again.
        let parts = parts.unwrap_or_else(|e| panic!("{e}"));
        let mut total = Fingerprint::empty(self);
        for p in parts {
            total.add_unchecked(&p);
        }
        total
    }
}

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
const SHA256_INIT: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

pub(crate) fn lanes_of(d: &[u8; 32]) -> [u32; 4] {
    let w = |j: usize| u32::from_be_bytes(d[4 * j..4 * j + 4].try_into().expect("4 bytes"));
    [w(0), w(1), w(2), w(3)]
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A membership fingerprint (SPEC §24): the number of ids and four 64-bit lane sums of their
/// hashes. Order-independent and mergeable: shards add up to the fingerprint of their union;
/// different sets have equal fingerprints with probability ≤ 2⁻¹²⁸.
///
/// ```
/// use segcore::reconcile::{Fingerprint, Key};
/// let key = Key::default();
/// let whole = key.fingerprint(&["a", "b", "c"]);
/// let shards = key.fingerprint(&["a"]).combine(&key.fingerprint(&["b", "c"])).unwrap();
/// assert_eq!(whole, shards);
/// let text = whole.to_string();
/// assert_eq!(text.parse::<Fingerprint>().unwrap(), whole);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    tag: [u8; 4],
    count: u64,
    lanes: [u64; 4],
}

impl Fingerprint {
    /// The fingerprint of the empty set under `key`.
    pub fn empty(key: &Key) -> Fingerprint {
        Fingerprint { tag: key.tag, count: 0, lanes: [0; 4] }
    }

    /// A fingerprint from its parts (a key tag, a count, four lanes).
    pub fn from_parts(tag: [u8; 4], count: u64, lanes: [u64; 4]) -> Fingerprint {
        Fingerprint { tag, count, lanes }
    }

    /// Adds one id (hashed under `key`, which must be this fingerprint's key).
    pub fn insert(&mut self, key: &Key, id: &str) {
        debug_assert_eq!(key.tag, self.tag);
        self.insert_lanes(key.lanes(id));
    }

    pub(crate) fn insert_lanes(&mut self, h: [u32; 4]) {
        self.count = self.count.wrapping_add(1);
        for (l, h) in self.lanes.iter_mut().zip(h) {
            *l = l.wrapping_add(u64::from(h));
        }
    }

    fn add_unchecked(&mut self, other: &Fingerprint) {
        self.count = self.count.wrapping_add(other.count);
        for (l, o) in self.lanes.iter_mut().zip(other.lanes) {
            *l = l.wrapping_add(o);
        }
    }

    /// The fingerprint of the union of two disjoint sets: counts and lanes added mod 2⁶⁴.
    /// `key_mismatch` when they were made with different keys.
    pub fn combine(&self, other: &Fingerprint) -> Result<Fingerprint, Error> {
        if self.tag != other.tag {
            return Err(key_mismatch("fingerprints", &self.tag, &other.tag));
        }
        let mut out = *self;
        out.add_unchecked(other);
        Ok(out)
    }

    /// The sum of several fingerprints (shards); `None` for an empty list.
    pub fn sum<'a>(fps: impl IntoIterator<Item = &'a Fingerprint>) -> Result<Option<Fingerprint>, Error> {
        let mut total: Option<Fingerprint> = None;
        for fp in fps {
            total = Some(match total {
                None => *fp,
                Some(t) => t.combine(fp)?,
            });
        }
        Ok(total)
    }

    /// The number of ids.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The four lane sums L₀…L₃.
    pub fn lanes(&self) -> [u64; 4] {
        self.lanes
    }

    /// The key tag (4 bytes).
    pub fn tag(&self) -> [u8; 4] {
        self.tag
    }
}

pub(crate) fn key_mismatch(what: &str, a: &[u8; 4], b: &[u8; 4]) -> Error {
    Error::new(
        ErrorKind::KeyMismatch,
        format!(
            "the {what} were made with different keys (tags {} and {}): they cannot be compared; make both with the same --key",
            hex(a),
            hex(b)
        ),
    )
}

impl std::fmt::Display for Fingerprint {
    /// SPEC §24's text form: `sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.lanes;
        write!(f, "sfp1:{}:{}:{a}:{b}:{c}:{d}", hex(&self.tag), self.count)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Fingerprint, Error> {
        let bad = |why: &str| {
            let shown: String = s.chars().take(120).collect();
            Error::new(
                ErrorKind::InvalidFingerprint,
                format!("{shown:?} is not a fingerprint ({why}; expected sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>)"),
            )
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if parts.len() != 7 {
            return Err(bad(&format!("{} fields instead of 7", parts.len())));
        }
        if parts[0] != "sfp1" {
            return Err(bad("it does not start with sfp1"));
        }
        let t = parts[1];
        if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad("the key tag is not 8 lowercase hex digits"));
        }
        let mut tag = [0u8; 4];
        for (i, byte) in tag.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad("bad key tag"))?;
        }
        let num = |x: &str| -> Result<u64, Error> {
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) || (x.len() > 1 && x.starts_with('0')) {
                return Err(bad(&format!("{x:?} is not a decimal integer")));
            }
            x.parse::<u64>().map_err(|_| bad(&format!("{x} does not fit 64 bits")))
        };
        let count = num(parts[2])?;
        let lanes = [num(parts[3])?, num(parts[4])?, num(parts[5])?, num(parts[6])?];
        Ok(Fingerprint { tag, count, lanes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_path_equals_the_hasher_at_every_length() {
        for key in ["segcore", "k", "a-much-longer-key-of-the-comparison.v2_x"] {
            let key = Key::new(key).unwrap();
            for n in 0..80 {
                let id: String = "é0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(n).collect();
                assert_eq!(key.words(&id), lanes_of(&key.digest(&id)), "key {key:?}, {n} chars");
            }
        }
    }
}
