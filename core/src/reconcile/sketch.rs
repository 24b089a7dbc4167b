//! Set-reconciliation sketches: a Rateless Invertible Bloom Lookup Table (SPEC §24).
//!
//! Why rateless: an IBLT must be sized for the difference before anyone knows it, and a wrong
//! guess costs a second round trip with a new table. The coded symbols of a rateless IBLT form one
//! infinite sequence whose every prefix decodes about m/1.4 differences, so a sender can cut a
//! sketch to any length and a longer one only appends symbols (Yang, Gilad, Alizadeh, SIGCOMM
//! 2024: 1.35–1.7 symbols per difference). Symbols are 64-bit id hashes, not ids: ids have any
//! length, and each side turns the symbols it decodes back into its own ids.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::reconcile::fingerprint::{hex, key_mismatch, Fingerprint, Key};

const MAGIC: &[u8; 8] = b"SEGSKT1\n";
/// The most coded symbols a sketch may have (≈ 12 million differences; ~300 MiB).
pub const MAX_SYMBOLS: usize = 1 << 24;

/// The check of a symbol (SPEC §24: SplitMix64's finaliser of k + the golden gamma).
pub(crate) fn check(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The coded-symbol indexes of a symbol below `m`: 0, then gaps drawn so that index i is hit
/// with probability ≈ 1/(1 + i/2) (SPEC §24, bit for bit: IEEE doubles are correctly rounded).
struct Indexes {
    next: u64,
    state: u64,
    m: u64,
}

impl Indexes {
    fn new(k: u64, m: usize) -> Indexes {
        Indexes { next: 0, state: k, m: m as u64 }
    }
}

impl Iterator for Indexes {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let i = self.next;
        if i >= self.m {
            return None;
        }
        self.state = self.state.wrapping_mul(0xDA94_2042_E4DD_58B5);
        let gap = ((i as f64 + 1.5) * (4_294_967_296.0 / ((self.state as f64) + 1.0).sqrt() - 1.0)).ceil();
        // `as` saturates: a gap past 2⁶⁴ ends the sequence like one past m.
        self.next = i.saturating_add((gap as u64).max(1));
        Some(i as usize)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cell {
    x: u64,
    c: u64,
    n: i64,
}

impl Cell {
    fn is_zero(&self) -> bool {
        self.x == 0 && self.c == 0 && self.n == 0
    }
}

/// A sketch of a member set: its first m coded symbols, its fingerprint and its key's tag.
///
/// ```
/// use segcore::reconcile::{Key, Sketch};
/// let key = Key::default();
/// let a = Sketch::new(&key, &["u1", "u2", "u3"], 16).unwrap();
/// let b = Sketch::new(&key, &["u1", "u2", "u4"], 16).unwrap();
/// let diff = a.decode(&b).unwrap();
/// assert_eq!(diff.only_a, vec![key.symbol("u3")]);
/// assert_eq!(diff.only_b, vec![key.symbol("u4")]);
/// let bytes = a.to_bytes();
/// assert_eq!(Sketch::from_bytes(&bytes).unwrap(), a);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    fingerprint: Fingerprint,
    cells: Vec<Cell>,
}

/// The decoded symmetric difference of two sketches, as symbols (sorted): turn them into ids
/// with a [`SymbolIndex`] of each side's own ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SketchDiff {
    /// Symbols of ids in the first set only.
    pub only_a: Vec<u64>,
    /// Symbols of ids in the second set only.
    pub only_b: Vec<u64>,
    /// Coded symbols used (the shorter sketch's length).
    pub symbols: usize,
}

impl Sketch {
    /// The sketch of a set of ids with `symbols` coded symbols (1 ≤ symbols ≤ 2²⁴). Hashed and
    /// encoded on every core for large sets.
    pub fn new<S: AsRef<str> + Sync>(key: &Key, ids: &[S], symbols: usize) -> Result<Sketch, Error> {
        if symbols == 0 || symbols > MAX_SYMBOLS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("a sketch has 1 to {MAX_SYMBOLS} coded symbols, not {symbols}"),
            ));
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
        let parts = crate::parallel::parallel_ranges(ids.len(), threads, 20_000, &|range| {
            let mut fp = Fingerprint::empty(key);
            let mut cells = vec![Cell::default(); symbols];
            for id in &ids[range] {
                let w = key.words(id.as_ref());
                fp.insert_lanes(w);
                let k = (u64::from(w[0]) << 32) | u64::from(w[1]);
                let c = check(k);
                for i in Indexes::new(k, symbols) {
                    let cell = &mut cells[i];
                    cell.x ^= k;
                    cell.c ^= c;
                    cell.n += 1;
                }
            }
            Ok((fp, cells))
        })?;
        let mut fingerprint = Fingerprint::empty(key);
        let mut cells = vec![Cell::default(); symbols];
        for (fp, part) in parts {
            fingerprint = fingerprint.combine(&fp)?;
            for (cell, p) in cells.iter_mut().zip(part) {
                cell.x ^= p.x;
                cell.c ^= p.c;
                cell.n += p.n;
            }
        }
        Ok(Sketch { fingerprint, cells })
    }

    /// The number of coded symbols needed to decode about `differences` differences with room to
    /// spare (1.6 per difference plus 32: small differences need relatively more).
    pub fn symbols_for(differences: usize) -> usize {
        (differences.saturating_mul(8) / 5).saturating_add(32).min(MAX_SYMBOLS)
    }

    /// The number of coded symbols.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Never true: a sketch has at least one coded symbol.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The fingerprint of the sketched set.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The same sketch cut to its first `symbols` coded symbols (a prefix is a sketch).
    pub fn truncated(&self, symbols: usize) -> Sketch {
        let m = symbols.clamp(1, self.cells.len());
        Sketch { fingerprint: self.fingerprint, cells: self.cells[..m].to_vec() }
    }

    /// The symmetric difference of this set (A) and `other`'s (B), decoded over the shorter
    /// sketch's symbols. `key_mismatch` for different keys; `sketch_undecodable` when the
    /// difference is too large for the symbols (the message says how much was recovered and how
    /// long a sketch to ask for) — never a partial difference.
    pub fn decode(&self, other: &Sketch) -> Result<SketchDiff, Error> {
        let (ta, tb) = (self.fingerprint.tag(), other.fingerprint.tag());
        if ta != tb {
            return Err(key_mismatch("sketches", &ta, &tb));
        }
        let m = self.cells.len().min(other.cells.len());
        let mut cells: Vec<Cell> = self.cells[..m]
            .iter()
            .zip(&other.cells[..m])
            .map(|(a, b)| Cell { x: a.x ^ b.x, c: a.c ^ b.c, n: a.n.wrapping_sub(b.n) })
            .collect();
        let pure = |c: &Cell| (c.n == 1 || c.n == -1) && check(c.x) == c.c;
        let mut queue: BTreeSet<usize> = (0..m).filter(|&i| pure(&cells[i])).collect();
        let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
        // Each peel clears its cell for good; a crafted sketch whose "pure" symbol does not map
        // to its own cell would loop, so peels are bounded and such a cell ends decoding.
        let mut budget = 2 * m + 16;
        while let Some(i) = queue.pop_first() {
            let cell = cells[i];
            if !pure(&cell) {
                continue;
            }
            if budget == 0 {
                break;
            }
            budget -= 1;
            let (k, sign) = (cell.x, cell.n);
            let c = check(k);
            let mut cleared_own = false;
            for j in Indexes::new(k, m) {
                let t = &mut cells[j];
                t.x ^= k;
                t.c ^= c;
                t.n = t.n.wrapping_sub(sign);
                cleared_own |= j == i;
                if pure(t) {
                    queue.insert(j);
                }
            }
            if sign == 1 {
                only_a.push(k);
            } else {
                only_b.push(k);
            }
            if !cleared_own {
                break;
            }
        }
        let left = cells.iter().filter(|c| !c.is_zero()).count();
        let accounted = left == 0 && self.accounts_for(other, &only_a, &only_b);
        if !accounted {
            let gap = self.fingerprint.count().abs_diff(other.fingerprint.count());
            let recovered = only_a.len() + only_b.len();
            let lower = gap.max(recovered as u64 + u64::from(left > 0));
            let ask = Sketch::symbols_for((lower as usize).saturating_mul(2).max(m));
            return Err(Error::new(
                ErrorKind::SketchUndecodable,
                format!(
                    "the sets differ by more than {m} coded symbols can decode: {recovered} difference(s) recovered, \
                     {left} coded symbol(s) left undecoded, at least {lower} difference(s) in all \
                     (sizes {} and {}); exchange sketches of {ask} or more symbols, or the id lists",
                    self.fingerprint.count(),
                    other.fingerprint.count()
                ),
            ));
        }
        only_a.sort_unstable();
        only_b.sort_unstable();
        Ok(SketchDiff { only_a, only_b, symbols: m })
    }

    /// SPEC §24's check that decoded symbols explain the fingerprints: count and lanes 0 and 1.
    fn accounts_for(&self, other: &Sketch, only_a: &[u64], only_b: &[u64]) -> bool {
        let (fa, fb) = (&self.fingerprint, &other.fingerprint);
        let mut n = fa.count().wrapping_sub(fb.count());
        let mut l0 = fa.lanes()[0].wrapping_sub(fb.lanes()[0]);
        let mut l1 = fa.lanes()[1].wrapping_sub(fb.lanes()[1]);
        for &k in only_a {
            n = n.wrapping_sub(1);
            l0 = l0.wrapping_sub(k >> 32);
            l1 = l1.wrapping_sub(k & 0xFFFF_FFFF);
        }
        for &k in only_b {
            n = n.wrapping_add(1);
            l0 = l0.wrapping_add(k >> 32);
            l1 = l1.wrapping_add(k & 0xFFFF_FFFF);
        }
        n == 0 && l0 == 0 && l1 == 0
    }

    /// SPEC §24's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 + 40 + 4 + self.cells.len() * 19 + 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.fingerprint.tag());
        out.extend_from_slice(&self.fingerprint.count().to_le_bytes());
        for l in self.fingerprint.lanes() {
            out.extend_from_slice(&l.to_le_bytes());
        }
        out.extend_from_slice(&(self.cells.len() as u32).to_le_bytes());
        for c in &self.cells {
            out.extend_from_slice(&c.x.to_le_bytes());
            out.extend_from_slice(&c.c.to_le_bytes());
            let mut z = if c.n >= 0 { (c.n as u64) << 1 } else { ((!c.n) as u64) << 1 | 1 };
            loop {
                let b = (z & 0x7F) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum[..8]);
        out
    }

    /// Reads SPEC §24's bytes; `sketch_invalid` with the byte offset for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sketch, Error> {
        let bad = |offset: usize, why: &str| {
            Error::new(ErrorKind::SketchInvalid, format!("not a valid segcore sketch: {why} (at byte {offset})"))
        };
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            let why = if bytes.starts_with(b"SEGSKT") {
                "a sketch of another format version (this segcore reads SEGSKT1)".to_string()
            } else if bytes.starts_with(b"sfp1:") {
                "this is a fingerprint, not a sketch".to_string()
            } else {
                format!(
                    "it does not start with SEGSKT1 (starts with {:?})",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(8)])
                )
            };
            return Err(bad(0, &why));
        }
        let header = 8 + 4 + 40 + 4;
        if bytes.len() < header + 8 {
            return Err(bad(bytes.len(), "the file ends inside the header (truncated)"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        let tag: [u8; 4] = bytes[8..12].try_into().expect("4 bytes");
        let count = u64_at(12);
        let lanes = [u64_at(20), u64_at(28), u64_at(36), u64_at(44)];
        let m = u32::from_le_bytes(bytes[52..56].try_into().expect("4 bytes")) as usize;
        if m == 0 || m > MAX_SYMBOLS {
            return Err(bad(52, &format!("{m} coded symbols (1 to {MAX_SYMBOLS} allowed)")));
        }
        let mut cells = Vec::with_capacity(m.min(body.len() / 17));
        let mut o = header;
        for s in 0..m {
            if o + 17 > body.len() {
                return Err(bad(o, &format!("the file ends at coded symbol {s} of {m} (truncated)")));
            }
            let x = u64_at(o);
            let c = u64_at(o + 8);
            o += 16;
            let (mut z, mut shift) = (0u64, 0u32);
            loop {
                let Some(&b) = body.get(o) else {
                    return Err(bad(o, &format!("the file ends inside coded symbol {s}'s count (truncated)")));
                };
                o += 1;
                if shift == 63 && b > 1 || shift > 63 {
                    return Err(bad(o - 1, "a count's varint is longer than 64 bits"));
                }
                z |= u64::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let n = if z & 1 == 0 { (z >> 1) as i64 } else { !((z >> 1) as i64) };
            cells.push(Cell { x, c, n });
        }
        if o != body.len() {
            return Err(bad(o, &format!("{} bytes after the last coded symbol", body.len() - o)));
        }
        if Sha256::digest(body)[..8] != *sum {
            return Err(bad(body.len(), "the checksum does not match: the sketch was damaged in transit"));
        }
        Ok(Sketch { fingerprint: Fingerprint::from_parts(tag, count, lanes), cells })
    }
}

/// Symbols of one side's ids, to turn decoded symbols back into ids.
///
/// ```
/// use segcore::reconcile::{Key, SymbolIndex};
/// let key = Key::default();
/// let ids = ["u1", "u2"];
/// let index = SymbolIndex::new(&key, &ids);
/// assert_eq!(index.resolve(key.symbol("u2")), &[1]);
/// ```
#[derive(Debug, Clone)]
pub struct SymbolIndex {
    by_symbol: HashMap<u64, Vec<u32>>,
}

impl SymbolIndex {
    /// Indexes `ids` (positions) by their symbols under `key`.
    pub fn new<S: AsRef<str> + Sync>(key: &Key, ids: &[S]) -> SymbolIndex {
        let mut by_symbol: HashMap<u64, Vec<u32>> = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            by_symbol.entry(key.symbol(id.as_ref())).or_default().push(i as u32);
        }
        SymbolIndex { by_symbol }
    }

    /// The positions of the ids with this symbol (usually one; empty when the id is not on this
    /// side; several when two ids share a symbol, which the caller reports).
    pub fn resolve(&self, symbol: u64) -> &[u32] {
        self.by_symbol.get(&symbol).map_or(&[], |v| v.as_slice())
    }
}

/// A symbol as 16 lowercase hex digits (how one side names an id it does not hold).
pub fn symbol_hex(symbol: u64) -> String {
    hex(&symbol.to_be_bytes())
}

/// The ids among `ids` that decoded `symbols` stand for, sorted; a symbol with no id here is
/// `#` and its 16 hex digits (the other side resolves it); two ids sharing a symbol are an error
/// naming them (`sketch_undecodable`: another key tells them apart). Every runtime names a
/// decoded difference this way.
///
/// ```
/// use segcore::reconcile::{resolve_symbols, Key};
/// let key = Key::default();
/// let names = resolve_symbols(&key, &["u1", "u2"], &[key.symbol("u2"), 7]).unwrap();
/// assert_eq!(names, vec!["#0000000000000007".to_string(), "u2".to_string()]);
/// ```
pub fn resolve_symbols<S: AsRef<str> + Sync>(key: &Key, ids: &[S], symbols: &[u64]) -> Result<Vec<String>, Error> {
    let index = SymbolIndex::new(key, ids);
    let mut out = Vec::with_capacity(symbols.len());
    for s in symbols {
        match index.resolve(*s) {
            [one] => out.push(ids[*one as usize].as_ref().to_string()),
            [] => out.push(format!("#{}", symbol_hex(*s))),
            many => {
                let names: Vec<&str> = many.iter().map(|&i| ids[i as usize].as_ref()).collect();
                return Err(Error::new(
                    ErrorKind::SketchUndecodable,
                    format!("ids {names:?} share the sketch symbol {}: compare with another key", symbol_hex(*s)),
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}
