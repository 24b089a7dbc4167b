//! Reading Arrow tables (pandas, pyarrow, polars frames, Parquet files) into profiles: columns
//! are read straight from Arrow buffers into core values, only the columns the program reads,
//! with no per-row objects of the host language. The Python binding hands its frames over
//! through the Arrow C stream interface; every other Arrow source can call the same reader.
//!
//! Errors are `invalid_profile` (or `duplicate_profile_id`, `limit_exceeded`) naming the frame
//! (`profiles` or `events`), the 0-based row over the whole frame, and the column, in the message
//! and in [`DataLocation`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use crate::error::{DataLocation, Error, ErrorKind};
use crate::limits::MAX_VALUE_DEPTH;
use crate::profile::Profile;
use crate::value::Value;

/// Where in a frame a problem was found, while the reader works (see [`BatchError::into_error`]).
#[derive(Debug, Clone, Default)]
struct Location {
    frame: Option<&'static str>,
    row: Option<usize>,
    column: Option<String>,
}

/// A segcore error (`kind`) and where it was found (frame, row, column).
#[derive(Debug)]
pub(crate) struct BatchError {
    error: Error,
    at: Location,
}

impl BatchError {
    fn into_error(self) -> Error {
        self.error.at_data(DataLocation {
            source: self.at.frame.map(str::to_string),
            row: self.at.row.map(|r| r as u64),
            column: self.at.column,
            ..Default::default()
        })
    }
}

pub(crate) type R<T> = Result<T, BatchError>;

/// Which frame a column belongs to, and its name, for error locations.
#[derive(Clone, Copy)]
struct Col<'a> {
    frame: &'static str,
    name: &'a str,
}

impl Col<'_> {
    /// An error about this column, at `row` when known. The message names the frame, the row
    /// (0-based, counted over the whole frame) and the column.
    fn err(&self, kind: ErrorKind, row: Option<usize>, message: impl std::fmt::Display) -> BatchError {
        BatchError {
            error: Error::new(kind, message.to_string()),
            at: Location { frame: Some(self.frame), row, column: Some(self.name.to_string()) },
        }
    }
    fn invalid(&self, row: usize, message: impl std::fmt::Display) -> BatchError {
        self.err(ErrorKind::InvalidProfile, Some(row), message)
    }
}

impl BatchError {
    /// The same error at another row: a value found inside a nested array (a list's items, a
    /// dictionary's values) is reported at the frame row holding it; `offset` turns a row of one
    /// record batch into a row of the whole frame.
    fn at_row(mut self, row: usize) -> BatchError {
        self.at.row = Some(row);
        self
    }
}

/// Timestamps the core can represent (jiff's range, years -9999..=9999), in microseconds.
pub(crate) fn checked_micros(v: i64, unit: &TimeUnit) -> Option<i64> {
    let micros = match unit {
        TimeUnit::Second => v.checked_mul(1_000_000)?,
        TimeUnit::Millisecond => v.checked_mul(1_000)?,
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v.div_euclid(1_000),
    };
    crate::time::to_timestamp(micros).map(|_| micros)
}

/// A duration in microseconds, if it fits.
fn duration_micros(v: i64, unit: &TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => v.checked_mul(1_000_000),
        TimeUnit::Millisecond => v.checked_mul(1_000),
        TimeUnit::Microsecond => Some(v),
        TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
    }
}

/// The civil date `days` after 1970-01-01, if within jiff's range (years -9999..=9999).
fn date_from_days(days: i64) -> Option<jiff::civil::Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    jiff::civil::Date::new(1970, 1, 1).ok()?.checked_add(span).ok()
}

/// The dictionary keys of each row as indices into the values; `None` when the dictionary is
/// empty (every row is then null: arrow's `normalized_keys` asserts on an empty dictionary).
fn dictionary_keys(d: &dyn arrow_array::AnyDictionaryArray) -> Option<Vec<usize>> {
    if d.values().is_empty() {
        return None;
    }
    Some(d.normalized_keys())
}

/// How many list/struct types nest in `ty` (a value of it nests as many lists/objects), measured
/// without recursion.
fn type_depth(ty: &DataType) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(ty, 0usize)];
    while let Some((ty, d)) = stack.pop() {
        match ty {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                deepest = deepest.max(d + 1);
                stack.push((f.data_type(), d + 1));
            }
            DataType::Struct(fields) => {
                deepest = deepest.max(d + 1);
                stack.extend(fields.iter().map(|f| (f.data_type(), d + 1)));
            }
            DataType::Dictionary(_, values) => stack.push((values, d)),
            _ => {}
        }
    }
    deepest
}

/// Every value of an Arrow column as core values (nulls as `Value::Null`). A column whose type
/// nests more than [`MAX_VALUE_DEPTH`] lists/structs is refused before any row is read, whatever
/// its rows hold (SPEC §19).
pub(crate) fn column_values(col: &ArrayRef, name: &str, frame: &'static str) -> R<Vec<Value>> {
    let cx = Col { frame, name };
    if type_depth(col.data_type()) > MAX_VALUE_DEPTH {
        return Err(cx.err(
            ErrorKind::LimitExceeded,
            None,
            format_args!("its Arrow type nests more than {MAX_VALUE_DEPTH} lists/structs (SPEC §19)"),
        ));
    }
    values_of(col, cx, 0, None)
}

/// The values of `col`. `depth` counts the list/struct types around it (a value may nest
/// [`MAX_VALUE_DEPTH`] levels: a deeper column type is refused before any row is read); rows
/// where `wanted` is false are read as null without looking at them (the children of null struct
/// rows, dictionary entries no row uses), so garbage under a null never becomes an error.
fn values_of(col: &ArrayRef, cx: Col<'_>, depth: usize, wanted: Option<&[bool]>) -> R<Vec<Value>> {
    let n = col.len();
    let mut out = Vec::with_capacity(n);
    let skip = |i: usize| col.is_null(i) || wanted.is_some_and(|w| !w.get(i).copied().unwrap_or(false));
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let a = col.as_primitive::<$t>();
            for i in 0..n {
                out.push(if skip(i) { Value::Null } else { $f(i, a.value(i))? });
            }
        }};
    }
    let nested = |what: &str| -> R<()> {
        if depth >= MAX_VALUE_DEPTH {
            return Err(cx.err(
                ErrorKind::LimitExceeded,
                None,
                format_args!("a {what} type nested more than {MAX_VALUE_DEPTH} levels deep (SPEC §19)"),
            ));
        }
        Ok(())
    };
    let ok = |v: Value| -> R<Value> { Ok(v) };
    match col.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Boolean => {
            let a = col.as_boolean();
            for i in 0..n {
                out.push(if skip(i) { Value::Null } else { Value::Bool(a.value(i)) });
            }
        }
        DataType::Int8 => prim!(Int8Type, |_, v: i8| ok(Value::Int(v.into()))),
        DataType::Int16 => prim!(Int16Type, |_, v: i16| ok(Value::Int(v.into()))),
        DataType::Int32 => prim!(Int32Type, |_, v: i32| ok(Value::Int(v.into()))),
        DataType::Int64 => prim!(Int64Type, |_, v: i64| ok(Value::Int(v))),
        DataType::UInt8 => prim!(UInt8Type, |_, v: u8| ok(Value::Int(v.into()))),
        DataType::UInt16 => prim!(UInt16Type, |_, v: u16| ok(Value::Int(v.into()))),
        DataType::UInt32 => prim!(UInt32Type, |_, v: u32| ok(Value::Int(v.into()))),
        // Beyond i64 a float, as JSON numbers read.
        DataType::UInt64 => prim!(UInt64Type, |_, v: u64| ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(crate::value::float_value(v as f64)))),
        DataType::Float32 => prim!(Float32Type, |_, v: f32| ok(crate::value::float_value(f64::from(v)))),
        DataType::Float64 => prim!(Float64Type, |_, v: f64| ok(crate::value::float_value(v))),
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            for i in 0..n {
                out.push(if skip(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::LargeUtf8 => {
            let a = col.as_string::<i64>();
            for i in 0..n {
                out.push(if skip(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::Utf8View => {
            let a = col.as_string_view();
            for i in 0..n {
                out.push(if skip(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::Timestamp(unit, tz) => {
            if tz.is_none() {
                return Err(cx.err(
                    ErrorKind::InvalidProfile,
                    None,
                    "holds naive timestamps (no time zone): segcore never guesses one; localize it first (e.g. pandas .dt.tz_localize(\"UTC\"))",
                ));
            }
            let ts = |i: usize, v: i64| {
                checked_micros(v, unit).map(Value::Timestamp).ok_or_else(|| {
                    cx.invalid(i, format_args!("timestamp {v} ({unit:?} since 1970) is outside years -9999..9999"))
                })
            };
            match unit {
                TimeUnit::Second => prim!(TimestampSecondType, ts),
                TimeUnit::Millisecond => prim!(TimestampMillisecondType, ts),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondType, ts),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondType, ts),
            }
        }
        DataType::Date32 => prim!(Date32Type, |i, v: i32| date_from_days(v.into()).map(Value::Date).ok_or_else(
            || cx.invalid(i, format_args!("date32 {v} (days since 1970-01-01) is outside years -9999..9999"))
        )),
        DataType::Date64 => {
            prim!(Date64Type, |i, v: i64| date_from_days(v.div_euclid(86_400_000)).map(Value::Date).ok_or_else(
                || cx.invalid(i, format_args!("date64 {v} (ms since 1970-01-01) is outside years -9999..9999"))
            ))
        }
        DataType::Duration(unit) => {
            let d = |i: usize, v: i64| {
                duration_micros(v, unit).map(Value::Duration).ok_or_else(|| {
                    cx.invalid(i, format_args!("duration {v} ({unit:?}) does not fit in 64-bit microseconds"))
                })
            };
            match unit {
                TimeUnit::Second => prim!(DurationSecondType, d),
                TimeUnit::Millisecond => prim!(DurationMillisecondType, d),
                TimeUnit::Microsecond => prim!(DurationMicrosecondType, d),
                TimeUnit::Nanosecond => prim!(DurationNanosecondType, d),
            }
        }
        DataType::Decimal32(_, scale) | DataType::Decimal64(_, scale) | DataType::Decimal128(_, scale) => {
            let scale =
                u32::try_from(*scale).map_err(|_| cx.err(ErrorKind::InvalidProfile, None, "negative decimal scale"))?;
            let dec = |i: usize, m: i128| {
                arrow_decimal(m, scale).map(Value::Decimal).ok_or_else(|| {
                    cx.invalid(i, format_args!("decimal {m} (scale {scale}) has more than 28 significant digits"))
                })
            };
            match col.data_type() {
                DataType::Decimal32(..) => prim!(Decimal32Type, |i, v: i32| dec(i, v.into())),
                DataType::Decimal64(..) => prim!(Decimal64Type, |i, v: i64| dec(i, v.into())),
                _ => prim!(Decimal128Type, dec),
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            nested("list")?;
            for i in 0..n {
                if skip(i) {
                    out.push(Value::Null);
                    continue;
                }
                let items = match col.data_type() {
                    DataType::List(_) => col.as_list::<i32>().value(i),
                    DataType::LargeList(_) => col.as_list::<i64>().value(i),
                    _ => col.as_fixed_size_list().value(i),
                };
                out.push(Value::List(values_of(&items, cx, depth + 1, None).map_err(|e| e.at_row(i))?));
            }
        }
        DataType::Struct(fields) => {
            nested("struct")?;
            let a = col.as_struct();
            let present: Vec<bool> = (0..n).map(|i| !skip(i)).collect();
            if let Some(money) = money_struct(a, &present) {
                return Ok(money);
            }
            let children: Vec<Vec<Value>> =
                a.columns().iter().map(|c| values_of(c, cx, depth + 1, Some(&present))).collect::<R<_>>()?;
            for (i, here) in present.iter().enumerate() {
                if !here {
                    out.push(Value::Null);
                    continue;
                }
                let map: BTreeMap<Box<str>, Value> = fields
                    .iter()
                    .zip(&children)
                    .map(|(f, vals)| (f.name().as_str().into(), vals.get(i).cloned().unwrap_or(Value::Null)))
                    .collect();
                out.push(Value::from_object(map));
            }
        }
        DataType::Dictionary(_, _) => {
            let a = col.as_any_dictionary();
            let Some(keys) = dictionary_keys(a) else {
                out.resize(n, Value::Null);
                return Ok(out);
            };
            // Only the entries some row uses are read; an error is reported at the first such row.
            let mut used = vec![false; a.values().len()];
            for (i, k) in keys.iter().enumerate() {
                if !skip(i) {
                    used[*k] = true;
                }
            }
            let values = values_of(a.values(), cx, depth, Some(&used)).map_err(|e| match e.at.row {
                Some(k) => {
                    let row = keys.iter().enumerate().position(|(i, key)| *key == k && !skip(i));
                    let row = row.unwrap_or(k);
                    e.at_row(row)
                }
                None => e,
            })?;
            for (i, k) in keys.iter().enumerate() {
                out.push(if skip(i) { Value::Null } else { values.get(*k).cloned().unwrap_or(Value::Null) });
            }
        }
        other => {
            return Err(cx.err(
                ErrorKind::InvalidProfile,
                None,
                format_args!("has Arrow type {other}, which segcore cannot read (yet)"),
            ));
        }
    }
    Ok(out)
}

/// A `{amount, currency}` struct of two UTF-8 columns (how money is usually stored) read
/// without a map per row: the values `Value::from_object` gives for the same fields — money
/// where the amount parses and the currency is an ISO 4217 code, else the object. `None` for
/// any other struct (the general path reads it).
fn money_struct(a: &arrow_array::StructArray, present: &[bool]) -> Option<Vec<Value>> {
    let fields = a.fields();
    if fields.len() != 2 {
        return None;
    }
    let child = |name: &str| {
        let i = fields.iter().position(|f| f.name() == name)?;
        match a.column(i).data_type() {
            DataType::Utf8 => Some(a.column(i).as_string::<i32>()),
            _ => None,
        }
    };
    let (amount, currency) = (child("amount")?, child("currency")?);
    fn text(c: &arrow_array::StringArray, i: usize) -> Option<&str> {
        (!c.is_null(i)).then(|| c.value(i))
    }
    Some(
        present
            .iter()
            .enumerate()
            .map(|(i, here)| {
                if !here {
                    return Value::Null;
                }
                let (am, cur) = (text(amount, i), text(currency, i));
                let parsed = am.and_then(crate::value::parse_decimal).zip(cur.and_then(crate::value::Currency::parse));
                match parsed {
                    Some((amount, currency)) => Value::Money(crate::value::Money { amount, currency }),
                    None => {
                        let field = |t: Option<&str>| t.map_or(Value::Null, |t| Value::Str(t.into()));
                        let map = BTreeMap::from([("amount".into(), field(am)), ("currency".into(), field(cur))]);
                        Value::from_object(map)
                    }
                }
            })
            .collect(),
    )
}

fn text_column(col: &ArrayRef, cx: Col<'_>) -> R<Vec<Option<String>>> {
    Ok(column_values(col, cx.name, cx.frame)?
        .into_iter()
        .map(|v| match v {
            Value::Str(s) => Some(s.into()),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        })
        .collect())
}

/// A text column read in place (plain, large, view or dictionary-encoded strings).
enum StrColumn<'a> {
    Plain(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    /// Dictionary values as text, and each row's key (`None`: an empty dictionary, all null).
    Dict(Vec<Option<String>>, Option<Vec<usize>>, &'a dyn Array),
}

impl<'a> StrColumn<'a> {
    fn new(col: &'a ArrayRef, cx: Col<'_>) -> R<StrColumn<'a>> {
        Ok(match col.data_type() {
            DataType::Utf8 => StrColumn::Plain(col.as_string::<i32>()),
            DataType::LargeUtf8 => StrColumn::Large(col.as_string::<i64>()),
            DataType::Utf8View => StrColumn::View(col.as_string_view()),
            DataType::Dictionary(_, _) => {
                let d = col.as_any_dictionary();
                let values =
                    text_column(d.values(), cx).map_err(|e| BatchError { at: Location { row: None, ..e.at }, ..e })?;
                StrColumn::Dict(values, dictionary_keys(d), col.as_ref())
            }
            other => {
                return Err(cx.err(ErrorKind::InvalidProfile, None, format_args!("must hold strings, not {other}")))
            }
        })
    }

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            StrColumn::Plain(a) => (!a.is_null(row)).then(|| a.value(row)),
            StrColumn::Large(a) => (!a.is_null(row)).then(|| a.value(row)),
            StrColumn::View(a) => (!a.is_null(row)).then(|| a.value(row)),
            StrColumn::Dict(values, keys, col) => {
                if col.is_null(row) {
                    None
                } else {
                    let k = keys.as_ref()?.get(row)?;
                    values.get(*k).and_then(|v| v.as_deref())
                }
            }
        }
    }
}

/// Builds profiles from a profiles table (one row each, `cols.id` + attribute columns) and an
/// optional events table in long form (`entity_id`, `name`, `at`, property columns). Only the
/// attributes, events and properties in `read` are converted. Two rows with the same id are the
/// error `duplicate_profile_id` (SPEC §19): events could not be attached to one of them.
///
/// `read` is the program's read set ([`crate::Program::read_set`]).
pub fn profiles_from_batches(
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cols: &crate::ingest::Columns,
    read: &crate::ReadSet,
) -> Result<Vec<Profile>, Error> {
    Ok(profiles_counted(profiles, events, cols, read)?.0)
}

/// [`profiles_from_batches`], and how many events had an entity id no profile has (ignored).
pub(crate) fn profiles_counted(
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cols: &crate::ingest::Columns,
    read: &crate::ReadSet,
) -> Result<(Vec<Profile>, usize), Error> {
    profiles_from(profiles, events, cols, read).map_err(BatchError::into_error)
}

fn profiles_from<'a>(
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cols: &'a crate::ingest::Columns,
    read: &crate::ReadSet,
) -> R<(Vec<Profile>, usize)> {
    let id_column = cols.id.as_str();
    let mut out: Vec<Profile> = Vec::new();
    let id_cx = Col { frame: "profiles", name: id_column };
    for batch in profiles {
        let schema = batch.schema();
        let id_idx = schema.index_of(id_column).map_err(|_| {
            id_cx.err(
                ErrorKind::InvalidProfile,
                None,
                format_args!("the profiles frame has no `{id_column}` column (pass id_column=...)"),
            )
        })?;
        let start = out.len();
        let ids = text_column(batch.column(id_idx), id_cx).map_err(|e| offset(e, start))?;
        for (row, id) in ids.into_iter().enumerate() {
            let id = id.ok_or_else(|| id_cx.invalid(start + row, "the id is null or not a string/integer"))?;
            out.push(Profile::new(id));
        }
        for (i, field) in schema.fields().iter().enumerate() {
            if i == id_idx || !read.attributes.contains(field.name()) {
                continue;
            }
            let values = column_values(batch.column(i), field.name(), "profiles").map_err(|e| offset(e, start))?;
            for (row, v) in values.into_iter().enumerate() {
                if !v.is_null() {
                    out[start + row].set_attribute(field.name().as_str(), v);
                }
            }
        }
    }
    // Profile rows by id, borrowed: event rows are matched without allocating.
    let mut by_text: HashMap<&str, usize> = HashMap::with_capacity(out.len());
    for (i, p) in out.iter().enumerate() {
        if let Some(first) = by_text.insert(p.id(), i) {
            return Err(BatchError {
                error: Error::new(
                    ErrorKind::DuplicateProfileId,
                    format!(
                        "profile id `{}` appears twice in the profiles frame (column `{id_column}`, rows {first} and {i}); ids must be unique in one evaluation",
                        p.id()
                    ),
                ),
                at: Location { frame: Some("profiles"), row: Some(i), column: Some(id_column.to_string()) },
            });
        }
    }
    let Some(events) = events else { return Ok((out, 0)) };
    let mut unmatched = 0usize;
    // Integer entity ids match the profile whose id is that integer's text.
    let by_int: HashMap<i64, usize> = out
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.id().parse::<i64>().ok().filter(|n| n.to_string() == p.id()).map(|n| (n, i)))
        .collect();
    let mut pending: Vec<(usize, &String, i64, crate::profile::Properties)> = Vec::new();
    let mut start = 0;
    for batch in events {
        let schema = batch.schema();
        let col = |n: &'a str| {
            schema.index_of(n).map_err(|_| {
                Col { frame: "events", name: n }.err(
                    ErrorKind::InvalidProfile,
                    None,
                    format_args!(
                        "the events frame needs the columns {}, {}, {} (missing `{n}`; name yours with \
                         entity_column=, name_column=, at_column=)",
                        cols.entity_id, cols.name, cols.at
                    ),
                )
            })
        };
        let (ie, iname, iat) = (col(&cols.entity_id)?, col(&cols.name)?, col(&cols.at)?);
        let at_col = batch.column(iat);
        let at_cx = Col { frame: "events", name: &cols.at };
        let ats: Vec<Option<i64>> = match at_col.data_type() {
            DataType::Timestamp(..) => column_values(at_col, &cols.at, "events")
                .map_err(|e| offset(e, start))?
                .into_iter()
                .map(|v| match v {
                    Value::Timestamp(t) => Some(t),
                    _ => None,
                })
                .collect(),
            // Epoch numbers have no unit segcore could know: never guessed.
            t if t.is_integer() || t.is_floating() => {
                return Err(at_cx.err(
                    ErrorKind::InvalidProfile,
                    None,
                    format_args!(
                        "holds numbers ({t}), and an epoch number's unit (s, ms, µs) is not guessed: \
                         pass tz-aware timestamps (pandas: pd.to_datetime(col, unit=\"s\", utc=True); \
                         polars: pl.from_epoch(col, time_unit=\"s\").dt.replace_time_zone(\"UTC\")) \
                         or RFC 3339 strings with an offset"
                    ),
                ))
            }
            _ => {
                let texts = StrColumn::new(at_col, at_cx)?;
                (0..batch.num_rows()).map(|r| texts.get(r).and_then(crate::time::parse_instant)).collect()
            }
        };
        // The table's shape and every row's `at` are checked whether or not a segment reads
        // events, as the CSV reader does: a table is refused for the same faults on every route.
        if let Some(row) = ats.iter().position(Option::is_none) {
            let text = match at_col.data_type() {
                DataType::Timestamp(..) => None,
                _ => StrColumn::new(at_col, at_cx)?.get(row).map(str::to_string),
            };
            return Err(at_cx.invalid(start + row, crate::ingest::bad_at(&cols.at, text.as_deref())));
        }
        if read.events.is_empty() {
            start += batch.num_rows();
            continue;
        }
        let entity_cx = Col { frame: "events", name: &cols.entity_id };
        let entity_rows: Vec<Option<usize>> = if batch.column(ie).data_type().is_integer() {
            column_values(batch.column(ie), &cols.entity_id, "events")
                .map_err(|e| offset(e, start))?
                .iter()
                .map(|v| match v {
                    Value::Int(n) => by_int.get(n).copied(),
                    _ => None,
                })
                .collect()
        } else {
            let ids = StrColumn::new(batch.column(ie), entity_cx)?;
            (0..batch.num_rows()).map(|r| ids.get(r).and_then(|s| by_text.get(s).copied())).collect()
        };
        let names = StrColumn::new(batch.column(iname), Col { frame: "events", name: &cols.name })?;
        // Only property columns some segment reads.
        let wanted: Vec<(usize, Arc<str>)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                ![ie, iname, iat].contains(i) && read.event_properties.values().any(|p| p.contains(f.name()))
            })
            .map(|(i, f)| (i, Arc::from(f.name().as_str())))
            .collect();
        let prop_values: Vec<Vec<Value>> = wanted
            .iter()
            .map(|(i, n)| column_values(batch.column(*i), n, "events").map_err(|e| offset(e, start)))
            .collect::<R<_>>()?;
        for row in 0..batch.num_rows() {
            // Events of entities without a profile row are ignored, like a left join.
            let Some(p) = entity_rows.get(row).copied().flatten() else {
                unmatched += 1;
                continue;
            };
            let Some(name) = names.get(row) else { continue };
            let Some(name) = read.events.get(name) else { continue };
            let at = ats.get(row).copied().flatten().ok_or_else(|| {
                at_cx.invalid(
                    start + row,
                    format_args!(
                        "(entity `{}`): `at` is null or not an RFC 3339 timestamp with an offset",
                        out[p].id()
                    ),
                )
            })?;
            let props_read = read.event_properties.get(name);
            let mut props = crate::profile::Properties::new();
            for ((_, pname), values) in wanted.iter().zip(&prop_values) {
                let Some(v) = values.get(row) else { continue };
                if props_read.is_some_and(|s| s.contains(&**pname)) && !v.is_null() {
                    props.insert((**pname).into(), v.clone());
                }
            }
            pending.push((p, name, at, props));
        }
        start += batch.num_rows();
    }
    drop(by_text);
    for (p, name, at, props) in pending {
        let id_row = p;
        out[p].push_event(name, at, props).map_err(|error| BatchError {
            error,
            at: Location { frame: Some("profiles"), row: Some(id_row), column: None },
        })?;
    }
    for p in &mut out {
        p.finish();
    }
    Ok((out, unmatched))
}

/// A row of one record batch as a row of the whole frame.
fn offset(e: BatchError, start: usize) -> BatchError {
    match e.at.row {
        Some(r) if start > 0 => e.at_row(start + r),
        _ => e,
    }
}

/// An Arrow decimal (i128 mantissa, scale) as an exact segcore decimal. A DECIMAL(38,18) column
/// pads every value to 18 fractional digits; trailing zeros are dropped until the value fits
/// the core's 96-bit mantissa. `None` only when the value itself has more than 28 digits.
fn arrow_decimal(mut mantissa: i128, mut scale: u32) -> Option<rust_decimal::Decimal> {
    loop {
        if let Ok(d) = rust_decimal::Decimal::try_from_i128_with_scale(mantissa, scale) {
            return Some(d);
        }
        if scale == 0 || mantissa % 10 != 0 {
            return None;
        }
        mantissa /= 10;
        scale -= 1;
    }
}
