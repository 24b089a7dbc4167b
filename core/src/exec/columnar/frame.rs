//! The columnar engine's view of a table: the attribute columns a program reads, typed once from
//! Arrow (read in place where the Arrow layout is already the engine's: 64-bit integers,
//! microsecond timestamps, finite floats, UTF-8 and view strings; no `Value` per cell for the
//! common types), the profile ids, and each read event name's events matched to profile rows.
//!
//! [`Frame::build`] accepts what it can read exactly and returns `None` for anything else — an
//! Arrow type it does not type natively in a place where that matters, an id problem, a bad
//! `at`, a profile over the event limit: the caller then takes the row path
//! (`ingest_arrow::profiles_from_batches`), which reads or refuses the table with its error. So
//! the engine never has a second copy of the reader's error messages, and an input it declines
//! is still answered exactly.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;

use crate::ingest::Columns;
use crate::ingest_arrow::{checked_micros, column_values};
use crate::value::Value;
use crate::ReadSet;

type Fast<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Fixed-width values in place (or converted once), with Arrow's validity bitmap.
#[derive(Debug, Clone)]
pub(crate) struct Prim<'c, T: Clone> {
    pub v: Cow<'c, [T]>,
    pub nulls: Option<NullBuffer>,
}

impl<T: Copy> Prim<'_, T> {
    fn owned(v: Vec<Option<T>>, zero: T) -> Prim<'static, T> {
        let nulls =
            v.iter().any(Option::is_none).then(|| NullBuffer::from(v.iter().map(Option::is_some).collect::<Vec<_>>()));
        Prim { v: Cow::Owned(v.into_iter().map(|x| x.unwrap_or(zero)).collect()), nulls }
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<T> {
        match &self.nulls {
            Some(n) if n.is_null(i) => None,
            _ => Some(self.v[i]),
        }
    }
    fn slice(&self, range: std::ops::Range<usize>) -> Prim<'_, T> {
        Prim { nulls: self.nulls.as_ref().map(|n| n.slice(range.start, range.len())), v: Cow::Borrowed(&self.v[range]) }
    }
    /// `f` of each value, `null` for null rows: a tight loop when there are no nulls.
    #[inline]
    pub(crate) fn map<X: Copy>(&self, null: X, f: impl Fn(T) -> X) -> Vec<X> {
        match &self.nulls {
            None => self.v.iter().map(|&x| f(x)).collect(),
            Some(n) => self.v.iter().zip(n.iter()).map(|(&x, valid)| if valid { f(x) } else { null }).collect(),
        }
    }
}

/// Strings in place (a sliced Arrow array shares its buffers), or one `&str` per row.
#[derive(Debug, Clone)]
pub(crate) enum Strs<'c> {
    Utf8(arrow_array::StringArray),
    View(arrow_array::StringViewArray),
    Rows(Cow<'c, [Option<&'c str>]>),
}

impl Strs<'_> {
    fn len(&self) -> usize {
        match self {
            Strs::Utf8(a) => a.len(),
            Strs::View(a) => a.len(),
            Strs::Rows(v) => v.len(),
        }
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        match self {
            Strs::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::Rows(v) => v[i],
        }
    }
    fn slice(&self, range: std::ops::Range<usize>) -> Strs<'_> {
        match self {
            Strs::Utf8(a) => Strs::Utf8(a.slice(range.start, range.len())),
            Strs::View(a) => Strs::View(a.slice(range.start, range.len())),
            Strs::Rows(v) => {
                let s: &[Option<&str>] = &v[range];
                Strs::Rows(Cow::Borrowed(s))
            }
        }
    }
    /// `f` of each string, `null` for null rows, with one loop per layout.
    #[inline]
    pub(crate) fn map<X: Copy>(&self, null: X, f: impl Fn(&[u8]) -> X) -> Vec<X> {
        match self {
            Strs::Utf8(a) => match a.nulls() {
                None => {
                    let (offsets, data) = (a.value_offsets(), a.value_data());
                    offsets.windows(2).map(|w| f(&data[w[0] as usize..w[1] as usize])).collect()
                }
                Some(_) => (0..a.len()).map(|i| if a.is_null(i) { null } else { f(a.value(i).as_bytes()) }).collect(),
            },
            Strs::View(a) => (0..a.len()).map(|i| if a.is_null(i) { null } else { f(a.value(i).as_bytes()) }).collect(),
            Strs::Rows(v) => v.iter().map(|s| s.map_or(null, |s| f(s.as_bytes()))).collect(),
        }
    }
}

/// Up to 8 bytes as an integer (little-endian, zero-padded), with their length: two short
/// strings are equal exactly when these are.
#[inline]
fn short_key(b: &[u8]) -> Option<(u64, usize)> {
    if b.len() > 8 {
        return None;
    }
    let mut k = 0u64;
    for (i, &c) in b.iter().enumerate() {
        k |= u64::from(c) << (8 * i);
    }
    Some((k, b.len()))
}

impl Strs<'_> {
    /// For each row: `yes` if the string equals one of `set`, `no` if not, `null` for null.
    /// Plain UTF-8 arrays and sets of short strings (country codes, plan names) are compared as
    /// integers read straight from the array's data, without a comparison call per row.
    pub(crate) fn in_set(&self, set: &[&[u8]], yes: u8, no: u8, null: u8) -> Vec<u8> {
        let keys: Option<Vec<(u64, usize)>> = set.iter().map(|t| short_key(t)).collect();
        if let (Strs::Utf8(a), Some(keys), None) = (self, &keys, self.nulls()) {
            let (offsets, data) = (a.value_offsets(), a.value_data());
            // Every member of one length L (country codes, one plan name): a row of another
            // length is `no` at once, one of length L is one masked load and a few compares.
            if let Some(&(_, l)) = keys.first().filter(|_| keys.iter().all(|k| k.1 == keys[0].1)) {
                let mask = if l == 8 { u64::MAX } else { (1u64 << (8 * l)) - 1 };
                let wanted: Vec<u64> = keys.iter().map(|k| k.0).collect();
                return offsets
                    .windows(2)
                    .map(|w| {
                        let s = w[0] as usize;
                        if (w[1] as usize).wrapping_sub(s) != l {
                            return no;
                        }
                        let v = match data.get(s..s + 8) {
                            Some(c) => u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) & mask,
                            None => data.get(s..s + l).and_then(short_key).map_or(u64::MAX, |k| k.0),
                        };
                        if wanted.contains(&v) {
                            yes
                        } else {
                            no
                        }
                    })
                    .collect();
            }
            return offsets
                .windows(2)
                .map(|w| {
                    let (s, e) = (w[0] as usize, w[1] as usize);
                    let len = e.wrapping_sub(s);
                    let key = match data.get(s..s + 8) {
                        // Eight bytes from the row's start, masked to its length.
                        Some(c) if len <= 8 => {
                            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                            Some((if len == 8 { v } else { v & ((1u64 << (8 * len)) - 1) }, len))
                        }
                        _ => data.get(s..e).and_then(short_key),
                    };
                    match key {
                        Some(k) if keys.contains(&k) => yes,
                        Some(_) => no,
                        None if set.iter().any(|t| data.get(s..e).is_some_and(|b| same_bytes(t, b))) => yes,
                        None => no,
                    }
                })
                .collect();
        }
        self.map(null, |b| if set.iter().any(|t| same_bytes(t, b)) { yes } else { no })
    }

    fn nulls(&self) -> Option<&NullBuffer> {
        match self {
            Strs::Utf8(a) => a.nulls(),
            Strs::View(a) => a.nulls(),
            // Rows hold their nulls themselves.
            Strs::Rows(_) => None,
        }
    }
}

/// Byte equality without a library call for short strings (country codes, plan names: most of
/// what rules compare), where a call costs more than the comparison.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        return a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    }
    a == b
}

/// A column of values over some rows: typed when every value has one type, `Values` otherwise.
/// A null (or missing) value reads as null (SPEC §6).
#[derive(Debug, Clone)]
pub(crate) enum Col<'c> {
    /// Every row is null (a column the table does not have).
    Null(usize),
    Int(Prim<'c, i64>),
    /// Finite floats, never -0.0 (read as `value::float_value` reads them).
    Float(Prim<'c, f64>),
    Bool(Cow<'c, [Option<bool>]>),
    Str(Strs<'c>),
    /// Instants, microseconds since the epoch.
    Ts(Prim<'c, i64>),
    /// Anything else, as the row path reads it (`ingest_arrow::column_values`).
    Values(Cow<'c, [Value]>),
    /// One value for every row.
    Const(Cow<'c, Value>, usize),
}

impl<'c> Col<'c> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Col::Null(n) | Col::Const(_, n) => *n,
            Col::Int(v) | Col::Ts(v) => v.v.len(),
            Col::Float(v) => v.v.len(),
            Col::Bool(v) => v.len(),
            Col::Str(v) => v.len(),
            Col::Values(v) => v.len(),
        }
    }

    /// The value at `i`, as the row path would hold it.
    pub(crate) fn value(&self, i: usize) -> Cow<'_, Value> {
        let owned = |v: Option<Value>| Cow::Owned(v.unwrap_or(Value::Null));
        match self {
            Col::Null(_) => Cow::Owned(Value::Null),
            Col::Int(v) => owned(v.get(i).map(Value::Int)),
            Col::Float(v) => owned(v.get(i).map(Value::Float)),
            Col::Bool(v) => owned(v[i].map(Value::Bool)),
            Col::Str(v) => owned(v.get(i).map(|s| Value::Str(s.into()))),
            Col::Ts(v) => owned(v.get(i).map(Value::Timestamp)),
            Col::Values(v) => Cow::Borrowed(&v[i]),
            Col::Const(v, _) => Cow::Borrowed(&**v),
        }
    }

    /// Whether the value at `i` is null.
    pub(crate) fn is_null(&self, i: usize) -> bool {
        match self {
            Col::Null(_) => true,
            Col::Int(v) | Col::Ts(v) => v.get(i).is_none(),
            Col::Float(v) => v.get(i).is_none(),
            Col::Bool(v) => v[i].is_none(),
            Col::Str(v) => v.get(i).is_none(),
            Col::Values(v) => v[i].is_null(),
            Col::Const(v, _) => v.is_null(),
        }
    }

    /// Rows `range` of this column, borrowed.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Col<'_> {
        let n = range.len();
        match self {
            Col::Null(_) => Col::Null(n),
            Col::Int(v) => Col::Int(v.slice(range)),
            Col::Float(v) => Col::Float(v.slice(range)),
            Col::Bool(v) => Col::Bool(Cow::Borrowed(&v[range])),
            Col::Str(v) => Col::Str(v.slice(range)),
            Col::Ts(v) => Col::Ts(v.slice(range)),
            Col::Values(v) => Col::Values(Cow::Borrowed(&v[range])),
            Col::Const(v, _) => Col::Const(Cow::Borrowed(&**v), n),
        }
    }

    fn into_values(self) -> Vec<Value> {
        (0..self.len()).map(|i| self.value(i).into_owned()).collect()
    }
}

/// Profile ids, in row order.
#[derive(Debug)]
pub(crate) enum Ids<'a> {
    Int(Vec<i64>),
    Str(Vec<&'a str>),
}

impl Ids<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Ids::Int(v) => v.len(),
            Ids::Str(v) => v.len(),
        }
    }
}

/// Per-row counts by window `(start, end, end inclusive?)`.
type CountCache = BTreeMap<(i64, i64, bool), std::sync::Arc<Vec<u32>>>;

/// The events of one name that belong to a profile of the table, in table order: each one's
/// profile row and instant. Windowed counts are one pass over them, computed once per window for
/// every row and shared by every node (and thread) that asks.
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub rows: Vec<u32>,
    pub ats: Vec<i64>,
    /// Each event's row in the events tables (where its properties are).
    pub idx: Vec<u32>,
    counts: std::sync::Mutex<CountCache>,
    runs: std::sync::OnceLock<Runs>,
}

/// The events of one name grouped by profile row, each row's in time order (ties in table
/// order, as the row path's stable sort leaves them): row `r`'s events are
/// `order[offsets[r]..offsets[r + 1]]` (indexes into [`Events`]), their instants `ats` likewise.
#[derive(Debug)]
pub(crate) struct Runs {
    pub offsets: Vec<u32>,
    pub order: Vec<u32>,
    pub ats: Vec<i64>,
}

impl Runs {
    /// Row `r`'s events and their instants, in time order.
    #[inline]
    pub(crate) fn of(&self, r: usize) -> (&[u32], &[i64]) {
        let range = self.offsets[r] as usize..self.offsets[r + 1] as usize;
        (&self.order[range.clone()], &self.ats[range])
    }
}

impl Events {
    /// The events grouped by profile row in time order, built once on first use (only
    /// aggregates whose result depends on the order or on properties need them).
    pub(crate) fn runs(&self, n: usize) -> &Runs {
        self.runs.get_or_init(|| {
            let mut offsets = vec![0u32; n + 1];
            for &r in &self.rows {
                offsets[r as usize + 1] += 1;
            }
            for r in 0..n {
                offsets[r + 1] += offsets[r];
            }
            // A counting sort by row keeps the table's order within a row ...
            let mut fill: Vec<u32> = offsets[..n].to_vec();
            let mut order = vec![0u32; self.rows.len()];
            for (e, &r) in self.rows.iter().enumerate() {
                order[fill[r as usize] as usize] = e as u32;
                fill[r as usize] += 1;
            }
            // ... and a stable sort by time within each row keeps it among equal instants.
            for r in 0..n {
                let run = &mut order[offsets[r] as usize..offsets[r + 1] as usize];
                if run.windows(2).any(|w| self.ats[w[0] as usize] > self.ats[w[1] as usize]) {
                    run.sort_by_key(|&e| self.ats[e as usize]);
                }
            }
            let ats = order.iter().map(|&e| self.ats[e as usize]).collect();
            Runs { offsets, order, ats }
        })
    }

    /// Per profile row (of `n`), how many of its events have `start <= at <= end` (`< end`
    /// when not `inclusive`): the length of `profile::range_of` over its sorted instants.
    pub(crate) fn counts(&self, n: usize, start: i64, end: i64, inclusive: bool) -> std::sync::Arc<Vec<u32>> {
        // A poisoned lock only means another thread panicked (caught and reported as `internal`).
        let mut cache = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let counts = cache.entry((start, end, inclusive)).or_insert_with(|| {
            let count = |range: std::ops::Range<usize>| {
                let mut c = vec![0u32; n];
                for (&row, &at) in self.rows[range.clone()].iter().zip(&self.ats[range]) {
                    let inside = at >= start && if inclusive { at <= end } else { at < end };
                    c[row as usize] += u32::from(inside);
                }
                c
            };
            // Two halves on two cores, then summed: counts do not depend on order.
            let parts = crate::parallel::parallel_ranges(self.rows.len(), 2, 1 << 20, &|r| Ok(count(r)))
                .unwrap_or_else(|_| vec![count(0..self.rows.len())]);
            let mut parts = parts.into_iter();
            let mut total = parts.next().unwrap_or_else(|| vec![0; n]);
            for p in parts {
                total.iter_mut().zip(p).for_each(|(t, x)| *t += x);
            }
            std::sync::Arc::new(total)
        });
        std::sync::Arc::clone(counts)
    }
}

/// A profiles table (and its events) ready for the columnar kernels.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub n: usize,
    pub ids: Ids<'a>,
    attrs: BTreeMap<String, Col<'a>>,
    events: BTreeMap<String, Events>,
    /// Event property columns some aggregate reads, over every event row of the tables.
    props: std::sync::Arc<Props>,
    /// Events whose entity is not a profile of the table (ignored, as in a left join).
    pub unmatched_events: usize,
}

impl<'a> Frame<'a> {
    /// The column of a top-level attribute (all null when the table lacks it).
    pub(crate) fn attribute(&self, name: &str) -> Option<&Col<'a>> {
        self.attrs.get(name)
    }

    /// A property of the event at row `e` of the events tables (null when absent).
    pub(crate) fn property(&self, name: &str, e: u32) -> &Value {
        static NULL: Value = Value::Null;
        self.props.get(name).and_then(|c| c.get(e as usize)).unwrap_or(&NULL)
    }

    /// The events of a name the program reads.
    pub(crate) fn events(&self, name: &str) -> Option<&Events> {
        self.events.get(name)
    }

    /// Reads what `read` names from the tables, or `None` when the row path must (see the module
    /// documentation).
    pub(crate) fn build(
        profiles: &'a [RecordBatch],
        events: Option<&'a [RecordBatch]>,
        cols: &Columns,
        read: &ReadSet,
        route: Option<&Route>,
    ) -> Option<Frame<'a>> {
        if read.attributes.contains(&cols.id) {
            return None;
        }
        // A chunk's ids were checked for repeats over the whole table already.
        let ids = read_ids(profiles, &cols.id, route.is_none())?;
        let n = ids.len();
        let mut attrs = BTreeMap::new();
        for name in &read.attributes {
            let mut pieces = Vec::with_capacity(profiles.len());
            for batch in profiles {
                let schema = batch.schema();
                let mut at = schema.fields().iter().enumerate().filter(|(_, f)| f.name() == name).map(|(i, _)| i);
                let piece = match (at.next(), at.next()) {
                    (None, _) => Col::Null(batch.num_rows()),
                    (Some(i), None) => piece(batch.column(i), name)?,
                    // A name twice in one schema: the row path decides which one counts.
                    (Some(_), Some(_)) => return None,
                };
                pieces.push(piece);
            }
            attrs.insert(name.clone(), concat(pieces, n));
        }
        let (events, props, unmatched_events) = match events {
            Some(batches) => read_events(batches, cols, read, &ids, route)?,
            None => (BTreeMap::new(), Default::default(), 0),
        };
        Some(Frame { n, ids, attrs, events, props, unmatched_events })
    }
}

/// The id column of the profiles; `None` (the row path then names the problem) for nulls, ids
/// of two kinds, or — when `check_repeats` — a repeated id.
fn read_ids<'a>(profiles: &'a [RecordBatch], column: &str, check_repeats: bool) -> Option<Ids<'a>> {
    let mut ints: Vec<i64> = Vec::new();
    let mut strs: Vec<&'a str> = Vec::new();
    for batch in profiles {
        let col = batch.column(batch.schema().index_of(column).ok()?);
        if col.null_count() > 0 {
            return None;
        }
        match col.data_type() {
            DataType::Int8 => ints.extend(col.as_primitive::<Int8Type>().values().iter().map(|&v| i64::from(v))),
            DataType::Int16 => ints.extend(col.as_primitive::<Int16Type>().values().iter().map(|&v| i64::from(v))),
            DataType::Int32 => ints.extend(col.as_primitive::<Int32Type>().values().iter().map(|&v| i64::from(v))),
            DataType::Int64 => ints.extend_from_slice(col.as_primitive::<Int64Type>().values()),
            DataType::UInt8 => ints.extend(col.as_primitive::<UInt8Type>().values().iter().map(|&v| i64::from(v))),
            DataType::UInt16 => ints.extend(col.as_primitive::<UInt16Type>().values().iter().map(|&v| i64::from(v))),
            DataType::UInt32 => ints.extend(col.as_primitive::<UInt32Type>().values().iter().map(|&v| i64::from(v))),
            DataType::Utf8 => strs.extend(col.as_string::<i32>().iter().map(|s| s.unwrap_or_default())),
            DataType::LargeUtf8 => strs.extend(col.as_string::<i64>().iter().map(|s| s.unwrap_or_default())),
            DataType::Utf8View => strs.extend(col.as_string_view().iter().map(|s| s.unwrap_or_default())),
            _ => return None,
        }
    }
    // Ids of two kinds in one table: the row path compares them as text.
    let ids = match (ints.is_empty(), strs.is_empty()) {
        (_, true) => Ids::Int(ints),
        (true, false) => Ids::Str(strs),
        (false, false) => return None,
    };
    // Repeated ids are refused by the row path, which names both rows.
    if !check_repeats {
        return Some(ids);
    }
    let unique = match &ids {
        Ids::Int(v) => {
            v.windows(2).all(|w| w[0] < w[1]) || {
                let mut seen: HashSet<i64, foldhash::fast::FixedState> = HashSet::default();
                v.iter().all(|id| seen.insert(*id))
            }
        }
        Ids::Str(v) => {
            let mut seen: HashSet<&str, foldhash::fast::FixedState> = HashSet::default();
            v.iter().all(|id| seen.insert(id))
        }
    };
    unique.then_some(ids)
}

/// One record batch's column, typed; `None` when the row path would refuse it.
fn piece<'a>(col: &'a ArrayRef, name: &str) -> Option<Col<'a>> {
    fn prim<T: ArrowPrimitiveType, X: Copy>(
        a: &PrimitiveArray<T>,
        zero: X,
        f: impl Fn(T::Native) -> Option<X>,
    ) -> Option<Prim<'static, X>> {
        let mut out = Vec::with_capacity(a.len());
        for (i, &v) in a.values().iter().enumerate() {
            out.push(if a.is_null(i) { zero } else { f(v)? });
        }
        Some(Prim { v: Cow::Owned(out), nulls: a.nulls().cloned() })
    }
    let widen = |p: Option<Prim<'static, i64>>| p.map(Col::Int);
    match col.data_type() {
        DataType::Int8 => widen(prim(col.as_primitive::<Int8Type>(), 0, |v| Some(i64::from(v)))),
        DataType::Int16 => widen(prim(col.as_primitive::<Int16Type>(), 0, |v| Some(i64::from(v)))),
        DataType::Int32 => widen(prim(col.as_primitive::<Int32Type>(), 0, |v| Some(i64::from(v)))),
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            Some(Col::Int(Prim { v: Cow::Borrowed(&a.values()[..]), nulls: a.nulls().cloned() }))
        }
        DataType::UInt8 => widen(prim(col.as_primitive::<UInt8Type>(), 0, |v| Some(i64::from(v)))),
        DataType::UInt16 => widen(prim(col.as_primitive::<UInt16Type>(), 0, |v| Some(i64::from(v)))),
        DataType::UInt32 => widen(prim(col.as_primitive::<UInt32Type>(), 0, |v| Some(i64::from(v)))),
        DataType::Float32 | DataType::Float64 => {
            // NaN and ±∞ are null, -0.0 is 0.0, as `value::float_value` reads them.
            let v: Vec<Option<f64>> = match col.data_type() {
                DataType::Float32 => col.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from)).collect(),
                _ => {
                    let a = col.as_primitive::<Float64Type>();
                    if a.values().iter().all(|f| f.is_finite() && (*f != 0.0 || f.is_sign_positive())) {
                        return Some(Col::Float(Prim { v: Cow::Borrowed(&a.values()[..]), nulls: a.nulls().cloned() }));
                    }
                    a.iter().collect()
                }
            };
            let v =
                v.into_iter().map(|f| f.filter(|f| f.is_finite()).map(|f| if f == 0.0 { 0.0 } else { f })).collect();
            Some(Col::Float(Prim::owned(v, 0.0)))
        }
        DataType::Boolean => Some(Col::Bool(Cow::Owned(col.as_boolean().iter().collect()))),
        DataType::Utf8 => Some(Col::Str(Strs::Utf8(col.as_string::<i32>().clone()))),
        DataType::LargeUtf8 => Some(Col::Str(Strs::Rows(Cow::Owned(col.as_string::<i64>().iter().collect())))),
        DataType::Utf8View => Some(Col::Str(Strs::View(col.as_string_view().clone()))),
        DataType::Timestamp(unit, Some(_)) => {
            let checked = |v: i64| checked_micros(v, unit);
            let p = match unit {
                arrow_schema::TimeUnit::Microsecond => {
                    let a = col.as_primitive::<TimestampMicrosecondType>();
                    // In range iff the extremes are (the representable range is an interval).
                    let valid = |i: usize| !a.is_null(i);
                    let (lo, hi) = (0..a.len())
                        .filter(|&i| valid(i))
                        .fold((i64::MAX, i64::MIN), |(lo, hi), i| (lo.min(a.value(i)), hi.max(a.value(i))));
                    if lo <= hi && (checked(lo).is_none() || checked(hi).is_none()) {
                        return None;
                    }
                    Prim { v: Cow::Borrowed(&a.values()[..]), nulls: a.nulls().cloned() }
                }
                arrow_schema::TimeUnit::Second => prim(col.as_primitive::<TimestampSecondType>(), 0, checked)?,
                arrow_schema::TimeUnit::Millisecond => {
                    prim(col.as_primitive::<TimestampMillisecondType>(), 0, checked)?
                }
                arrow_schema::TimeUnit::Nanosecond => prim(col.as_primitive::<TimestampNanosecondType>(), 0, checked)?,
            };
            Some(Col::Ts(p))
        }
        DataType::Null => Some(Col::Null(col.len())),
        // Everything else as the row path reads it, refused where it refuses.
        _ => column_values(col, name, "profiles").ok().map(|v| Col::Values(Cow::Owned(v))),
    }
}

/// The pieces of one column over the record batches, as one column.
fn concat(mut pieces: Vec<Col<'_>>, n: usize) -> Col<'_> {
    if pieces.len() == 1 {
        return pieces.pop().unwrap_or(Col::Null(n));
    }
    if pieces.iter().all(|p| matches!(p, Col::Null(_))) {
        return Col::Null(n);
    }
    let kind = |c: &Col<'_>| match c {
        Col::Null(_) => 0,
        Col::Int(_) => 1,
        Col::Float(_) => 2,
        Col::Ts(_) => 3,
        Col::Str(_) => 4,
        _ => 5,
    };
    let kinds: std::collections::BTreeSet<u8> = pieces.iter().map(kind).filter(|k| *k != 0).collect();
    let one = if kinds.len() == 1 { kinds.first().copied() } else { None };
    match one {
        Some(1) => {
            Col::Int(Prim::owned(pieces.iter().flat_map(|p| (0..p.len()).map(move |i| int_at(p, i))).collect(), 0))
        }
        Some(2) => Col::Float(Prim::owned(
            pieces
                .iter()
                .flat_map(|p| (0..p.len()).map(move |i| if let Col::Float(f) = p { f.get(i) } else { None }))
                .collect(),
            0.0,
        )),
        Some(3) => Col::Ts(Prim::owned(
            pieces
                .iter()
                .flat_map(|p| (0..p.len()).map(move |i| if let Col::Ts(t) = p { t.get(i) } else { None }))
                .collect(),
            0,
        )),
        Some(4) => {
            let mut b = arrow_array::builder::StringBuilder::new();
            for p in &pieces {
                for i in 0..p.len() {
                    b.append_option(if let Col::Str(s) = p { s.get(i) } else { None });
                }
            }
            Col::Str(Strs::Utf8(b.finish()))
        }
        _ => Col::Values(Cow::Owned(pieces.into_iter().flat_map(Col::into_values).collect())),
    }
}

fn int_at(p: &Col<'_>, i: usize) -> Option<i64> {
    match p {
        Col::Int(v) => v.get(i),
        _ => None,
    }
}

/// A profile row by entity id, matched as the row path matches (an integer entity id matches the
/// profile whose id is that integer's text).
enum RowIndex<'a> {
    /// Integer ids `first, first + 1, …` in row order.
    Dense(i64, usize),
    Int(Fast<i64, u32>),
    Str(Fast<&'a str, u32>),
}

impl RowIndex<'_> {
    fn new<'a>(ids: &Ids<'a>) -> RowIndex<'a> {
        match ids {
            Ids::Int(v) => {
                let dense =
                    v.first().is_some_and(|&f| v.iter().enumerate().all(|(i, &x)| Some(x) == f.checked_add(i as i64)));
                if dense {
                    RowIndex::Dense(v[0], v.len())
                } else {
                    RowIndex::Int(v.iter().enumerate().map(|(i, &x)| (x, i as u32)).collect())
                }
            }
            Ids::Str(v) => RowIndex::Str(v.iter().enumerate().map(|(i, &s)| (s, i as u32)).collect()),
        }
    }
    #[inline]
    fn int(&self, k: i64) -> Option<u32> {
        match self {
            RowIndex::Dense(first, n) => {
                let i = k.checked_sub(*first)?;
                (i >= 0 && (i as u64) < *n as u64).then_some(i as u32)
            }
            RowIndex::Int(m) => m.get(&k).copied(),
            RowIndex::Str(m) => m.get(k.to_string().as_str()).copied(),
        }
    }
    #[inline]
    fn text(&self, s: &str) -> Option<u32> {
        match self {
            RowIndex::Str(m) => m.get(s).copied(),
            _ => {
                let k: i64 = s.parse().ok()?;
                if k.to_string() != s {
                    return None;
                }
                self.int(k)
            }
        }
    }
}

/// A string column read in place (no copy per row), or a dictionary of strings.
enum Texts<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    /// Dictionary values, then each row's key (`None`: null row).
    Dict(Vec<Option<&'a str>>, Vec<Option<usize>>),
}

fn texts(col: &ArrayRef) -> Option<Texts<'_>> {
    Some(match col.data_type() {
        DataType::Utf8 => Texts::Utf8(col.as_string::<i32>()),
        DataType::LargeUtf8 => Texts::Large(col.as_string::<i64>()),
        DataType::Utf8View => Texts::View(col.as_string_view()),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            let d = col.as_any_dictionary();
            let values = match texts(d.values())? {
                Texts::Dict(..) => return None,
                t => (0..d.values().len()).map(|i| t.get(i)).collect::<Vec<_>>(),
            };
            if values.is_empty() {
                return Some(Texts::Dict(values, vec![None; col.len()]));
            }
            let keys = d.normalized_keys();
            let nulls = col.logical_nulls();
            let keys = keys
                .into_iter()
                .enumerate()
                .map(|(i, k)| if nulls.as_ref().is_some_and(|n| n.is_null(i)) { None } else { Some(k) })
                .collect();
            Texts::Dict(values, keys)
        }
        _ => return None,
    })
}

impl<'a> Texts<'a> {
    /// Row `i`'s bytes; plain UTF-8 arrays read straight from their offsets.
    #[inline]
    fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        match self {
            Texts::Utf8(a) => {
                if a.is_null(i) {
                    return None;
                }
                let o = a.value_offsets();
                a.value_data().get(o[i] as usize..o[i + 1] as usize)
            }
            t => t.get(i).map(str::as_bytes),
        }
    }
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Texts::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Texts::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Texts::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Texts::Dict(values, keys) => keys[i].and_then(|k| values.get(k).copied().flatten()),
        }
    }
}

/// An events table's entity column: integers in place, or text.
enum Entities<'a> {
    Int(&'a [i64], Option<&'a arrow_buffer::NullBuffer>),
    Ints(Vec<Option<i64>>),
    Text(Texts<'a>),
    /// Rows known in advance ([`Route`]): each event's row in the whole table, kept when it
    /// falls in the chunk `first..first + len`.
    Routed(&'a [u32], usize, usize),
}

impl Entities<'_> {
    #[inline]
    fn row(&self, i: usize, index: &RowIndex<'_>) -> Option<u32> {
        match self {
            Entities::Int(v, nulls) => {
                if nulls.is_some_and(|n| n.is_null(i)) {
                    return None;
                }
                index.int(v[i])
            }
            Entities::Ints(v) => v[i].and_then(|k| index.int(k)),
            Entities::Text(t) => t.get(i).and_then(|s| index.text(s)),
            Entities::Routed(rows, first, len) => {
                let r = (*rows.get(i)? as usize).checked_sub(*first)?;
                (r < *len).then_some(r as u32)
            }
        }
    }
}

/// The events of each read name, the property columns read (over every event row of the
/// tables), and how many events had no profile.
type EventTables = (BTreeMap<String, Events>, std::sync::Arc<Props>, usize);

/// Event property columns some aggregate reads, as the row path reads them (so they are refused
/// where it refuses them), over every event row of the tables.
pub(crate) type Props = BTreeMap<String, Vec<Value>>;

/// [`Props`] of every events batch.
fn read_props(batches: &[RecordBatch], cols: &Columns, read: &ReadSet) -> Option<Props> {
    let wanted: BTreeSet<&String> = read.event_properties.values().flatten().collect();
    let mut props = Props::new();
    let mut start = 0;
    for batch in batches {
        read_batch_props(batch, cols, &wanted, start, &mut props)?;
        start += batch.num_rows();
    }
    Some(props)
}

/// Appends one events batch (its first row is row `start` of the tables) to `props`.
fn read_batch_props(
    batch: &RecordBatch,
    cols: &Columns,
    wanted: &BTreeSet<&String>,
    start: usize,
    props: &mut Props,
) -> Option<()> {
    let schema = batch.schema();
    let keys = [&cols.entity_id, &cols.name, &cols.at].map(|c| schema.index_of(c).ok());
    for name in wanted {
        let mut found = schema.fields().iter().enumerate().filter(|(_, f)| f.name() == *name).map(|(i, _)| i);
        let at = match (found.next(), found.next()) {
            // A name twice in one schema (or a property named like a key column): the row
            // path decides.
            (Some(_), Some(_)) => return None,
            (Some(i), None) if keys.contains(&Some(i)) => return None,
            (at, _) => at,
        };
        let column = props.entry((*name).clone()).or_insert_with(|| vec![Value::Null; start]);
        match at {
            Some(i) => column.extend(column_values(batch.column(i), name, "events").ok()?),
            None => column.resize(start + batch.num_rows(), Value::Null),
        }
    }
    Some(())
}

/// Per read event name, the profile rows, instants and event rows (over the whole table) of its
/// events in table order; and how many events had no profile.
type Matched = (Vec<Picked>, usize);

#[derive(Debug, Default, Clone)]
struct Picked {
    rows: Vec<u32>,
    ats: Vec<i64>,
    idx: Vec<u32>,
}

/// Each event's profile row in a table of every profile (`u32::MAX`: no such profile), computed
/// once for events evaluated against that table in chunks of profile rows
/// ([`super::evaluate_chunked`]); a chunk's frame keeps the events whose row falls in its range.
pub(crate) struct Route {
    /// Per events batch, per event row.
    rows: Vec<Vec<u32>>,
    /// How many events match no profile of the whole table.
    pub unmatched: usize,
    /// The property columns read, converted once for every chunk.
    props: std::sync::Arc<Props>,
    /// The chunk's first row and row count, set per chunk.
    pub first: usize,
    pub len: usize,
}

impl Route {
    /// Routes every event to its profile row in `ids` (all the profiles' id columns, in row
    /// order); `None` when an id or entity column is not read natively (then the whole table
    /// must be evaluated at once, on the engine's usual path).
    pub(crate) fn new(ids: &[RecordBatch], events: &[RecordBatch], cols: &Columns, read: &ReadSet) -> Option<Route> {
        let ids = read_ids(ids, &cols.id, true)?;
        u32::try_from(ids.len()).ok().filter(|&n| n < u32::MAX)?;
        let mut rows = Vec::with_capacity(events.len());
        let mut unmatched = 0;
        // Events are matched (and counted) only when a segment reads some, as in one frame.
        let events = if read.events.is_empty() { &[] } else { events };
        let index = if events.is_empty() { RowIndex::Dense(0, 0) } else { RowIndex::new(&ids) };
        for batch in events {
            let entities = entities(batch, cols)?;
            let r: Vec<u32> = (0..batch.num_rows()).map(|i| entities.row(i, &index).unwrap_or(u32::MAX)).collect();
            unmatched += r.iter().filter(|&&x| x == u32::MAX).count();
            rows.push(r);
        }
        let props = std::sync::Arc::new(read_props(events, cols, read)?);
        Some(Route { rows, unmatched, props, first: 0, len: 0 })
    }
}

/// An events batch's entity column, read natively.
fn entities<'a>(batch: &'a RecordBatch, cols: &Columns) -> Option<Entities<'a>> {
    let entity = batch.column(batch.schema().index_of(&cols.entity_id).ok()?);
    Some(match entity.data_type() {
        DataType::Int64 => {
            let a = entity.as_primitive::<Int64Type>();
            Entities::Int(a.values(), a.nulls())
        }
        t if t.is_integer() => match piece(entity, &cols.entity_id)? {
            Col::Int(v) => Entities::Ints((0..v.v.len()).map(|i| v.get(i)).collect()),
            _ => return None,
        },
        _ => Entities::Text(texts(entity)?),
    })
}

fn read_events(
    batches: &[RecordBatch],
    cols: &Columns,
    read: &ReadSet,
    ids: &Ids<'_>,
    route: Option<&Route>,
) -> Option<EventTables> {
    // With a route, events are not looked up by id: their rows are known.
    let index = if read.events.is_empty() || route.is_some() { RowIndex::Dense(0, 0) } else { RowIndex::new(ids) };
    let index = &index;
    let names: Vec<&String> = read.events.iter().collect();
    let mut pairs: Vec<Picked> = vec![Picked::default(); names.len()];
    let mut unmatched = 0usize;
    // Property columns some aggregate reads, as the row path reads them (so they are refused
    // where it refuses them), over every event row.
    let wanted: BTreeSet<&String> = read.event_properties.values().flatten().collect();
    let mut props = Props::new();
    let mut start = 0usize;
    for (b, batch) in batches.iter().enumerate() {
        let schema = batch.schema();
        let (_entity, iname, iat) = (
            schema.index_of(&cols.entity_id).ok()?,
            schema.index_of(&cols.name).ok()?,
            schema.index_of(&cols.at).ok()?,
        );
        // Every `at` is checked whether or not a segment reads events, as the row path does.
        let ats = instants(batch.column(iat))?;
        if read.events.is_empty() {
            continue;
        }
        if route.is_none() {
            read_batch_props(batch, cols, &wanted, start, &mut props)?;
        }
        let first = u32::try_from(start).ok()?;
        let entities = match route {
            Some(r) => Entities::Routed(r.rows.get(b).map_or(&[][..], Vec::as_slice), r.first, r.len),
            None => entities(batch, cols)?,
        };
        let name_col = texts(batch.column(iname))?;
        let slot_of = |s: &str| names.iter().position(|n| n.as_str() == s);
        let name_bytes: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        let short_names: Option<Vec<(u64, usize)>> = name_bytes.iter().map(|n| short_key(n)).collect();
        // Event rows in the tables are kept only when some aggregate reads a property.
        let need_idx = !wanted.is_empty();
        let dict_slots: Option<Vec<Option<usize>>> = match &name_col {
            Texts::Dict(values, _) => Some(values.iter().map(|v| v.and_then(slot_of)).collect()),
            _ => None,
        };
        // Both cores over halves of the table; the halves are joined in order, so each run keeps
        // the table's order of events with equal `at`.
        let parts =
            crate::parallel::parallel_ranges(batch.num_rows(), 2, 1 << 16, &|range| -> Result<Matched, crate::Error> {
                let guess = range.len() / names.len().max(1);
                let picked = || Picked {
                    rows: Vec::with_capacity(guess),
                    ats: Vec::with_capacity(guess),
                    idx: Vec::with_capacity(guess),
                };
                let mut out: Vec<Picked> = (0..names.len()).map(|_| picked()).collect();
                let mut missing = 0usize;
                for i in range {
                    let Some(row) = entities.row(i, index) else {
                        missing += 1;
                        continue;
                    };
                    let slot = match (&name_col, &dict_slots, &short_names) {
                        (Texts::Dict(_, keys), Some(slots), _) => keys[i].and_then(|k| slots[k]),
                        // Plain names, all read names short: a masked load and integer compares.
                        (Texts::Utf8(a), _, Some(short)) if a.nulls().is_none() => {
                            let (o, data) = (a.value_offsets(), a.value_data());
                            let (s, len) = (o[i] as usize, (o[i + 1] - o[i]) as usize);
                            let v = match data.get(s..s + 8) {
                                Some(c) => Some(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
                                None => data.get(s..s + len).and_then(short_key).map(|k| k.0),
                            };
                            v.and_then(|v| {
                                short.iter().position(|&(k, l)| {
                                    l == len && (if l == 8 { v } else { v & ((1u64 << (8 * l)) - 1) }) == k
                                })
                            })
                        }
                        _ => name_col.bytes(i).and_then(|s| name_bytes.iter().position(|n| same_bytes(n, s))),
                    };
                    if let Some(slot) = slot {
                        out[slot].rows.push(row);
                        out[slot].ats.push(ats[i]);
                        if need_idx {
                            out[slot].idx.push(first + i as u32);
                        }
                    }
                }
                Ok((out, missing))
            })
            .ok()?;
        for (part, missing) in parts {
            unmatched += missing;
            for (all, mut p) in pairs.iter_mut().zip(part) {
                if all.rows.is_empty() {
                    *all = p;
                } else {
                    all.rows.append(&mut p.rows);
                    all.ats.append(&mut p.ats);
                    all.idx.append(&mut p.idx);
                }
            }
        }
        start += batch.num_rows();
    }
    // A profile over the event limit: the row path names it.
    let mut per_row = vec![0u32; ids.len()];
    for p in &pairs {
        p.rows.iter().for_each(|&r| per_row[r as usize] += 1);
    }
    if per_row.iter().any(|&c| c as usize > crate::limits::MAX_EVENTS_PER_PROFILE) {
        return None;
    }
    let events = names
        .into_iter()
        .zip(pairs)
        .map(|(name, p)| (name.clone(), Events { rows: p.rows, ats: p.ats, idx: p.idx, ..Default::default() }))
        .collect();
    let props = match route {
        Some(r) => std::sync::Arc::clone(&r.props),
        None => std::sync::Arc::new(props),
    };
    Some((events, props, unmatched))
}

/// Every row's `at` in microseconds; `None` if one is missing or unreadable (the row path says
/// which). Microsecond timestamps are read in place: their range is checked by their extremes.
fn instants(col: &ArrayRef) -> Option<Cow<'_, [i64]>> {
    if col.null_count() > 0 {
        return None;
    }
    match col.data_type() {
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some(_)) => {
            let v = col.as_primitive::<TimestampMicrosecondType>().values();
            let (lo, hi) = v.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let unit = arrow_schema::TimeUnit::Microsecond;
            if !v.is_empty() && (checked_micros(lo, &unit).is_none() || checked_micros(hi, &unit).is_none()) {
                return None;
            }
            Some(Cow::Borrowed(&v[..]))
        }
        DataType::Timestamp(_, Some(_)) => match piece(col, "at")? {
            Col::Ts(v) => (0..v.v.len()).map(|i| v.get(i)).collect::<Option<Vec<i64>>>().map(Cow::Owned),
            _ => None,
        },
        DataType::Timestamp(_, None) => None,
        _ => {
            let t = texts(col)?;
            (0..col.len())
                .map(|r| t.get(r).and_then(crate::time::parse_instant))
                .collect::<Option<Vec<i64>>>()
                .map(Cow::Owned)
        }
    }
}
