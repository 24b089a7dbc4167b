//! Batch evaluation over Arrow data (pandas, pyarrow, polars), imported through the Arrow C stream
//! interface: columns are read straight from Arrow buffers into core values, only the columns
//! the segments read, with no Python object per row; evaluation runs without the GIL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use segcore::{Profile, Value};

/// Reads every record batch of an object with `__arrow_c_stream__` (pyarrow, polars, …).
pub fn read_stream(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<RecordBatch>> {
    if !obj.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a pandas DataFrame, pyarrow Table or polars DataFrame (anything with __arrow_c_stream__)"
        )));
    }
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule =
        capsule.cast::<PyCapsule>().map_err(|_| PyTypeError::new_err("__arrow_c_stream__ did not return a capsule"))?;
    // Checks the name (`arrow_array_stream`, the Arrow PyCapsule protocol) and non-null pointer.
    let ptr = capsule
        .pointer_checked(Some(c"arrow_array_stream"))
        .map_err(|_| PyTypeError::new_err(format!("{what}: expected an `arrow_array_stream` capsule")))?
        .as_ptr() as *mut FFI_ArrowArrayStream;
    // SAFETY: the capsule is named `arrow_array_stream`, so by the Arrow PyCapsule protocol it
    // holds a valid `ArrowArrayStream`. `from_raw` moves the stream out and marks the original as
    // released, so the capsule's destructor does not release it a second time.
    let reader = unsafe { RecordBatchStreamReader::from_raw(ptr) }
        .map_err(|e| PyValueError::new_err(format!("{what}: cannot import Arrow stream: {e}")))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("{what}: cannot read Arrow data: {e}")))
}

/// The profiles stream and the optional events stream of a batch call.
pub fn read_frames(
    profiles: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Vec<RecordBatch>, Option<Vec<RecordBatch>>)> {
    let events = match events.filter(|e| !e.is_none()) {
        Some(e) => Some(read_stream(e, "events")?),
        None => None,
    };
    Ok((read_stream(profiles, "profiles")?, events))
}

type R<T> = Result<T, String>;

fn tz_micros(v: i64, unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1_000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v.div_euclid(1_000),
    }
}

fn date_from_days(days: i64) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(1970, 1, 1).ok()?.checked_add(jiff::Span::new().days(days)).ok()
}

/// Every value of an Arrow column as core values (nulls as `Value::Null`).
pub fn column_values(col: &ArrayRef, name: &str) -> R<Vec<Value>> {
    let n = col.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let a = col.as_primitive::<$t>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { $f(a.value(i)) });
            }
        }};
    }
    match col.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Boolean => {
            let a = col.as_boolean();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::Bool(a.value(i)) });
            }
        }
        DataType::Int8 => prim!(Int8Type, |v: i8| Value::Int(v.into())),
        DataType::Int16 => prim!(Int16Type, |v: i16| Value::Int(v.into())),
        DataType::Int32 => prim!(Int32Type, |v: i32| Value::Int(v.into())),
        DataType::Int64 => prim!(Int64Type, Value::Int),
        DataType::UInt8 => prim!(UInt8Type, |v: u8| Value::Int(v.into())),
        DataType::UInt16 => prim!(UInt16Type, |v: u16| Value::Int(v.into())),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| Value::Int(v.into())),
        DataType::UInt64 => {
            prim!(UInt64Type, |v: u64| i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
        }
        DataType::Float32 => prim!(Float32Type, |v: f32| segcore::value::float_value(f64::from(v))),
        DataType::Float64 => prim!(Float64Type, segcore::value::float_value),
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::LargeUtf8 => {
            let a = col.as_string::<i64>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::Utf8View => {
            let a = col.as_string_view();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::Str(a.value(i).into()) });
            }
        }
        DataType::Timestamp(unit, tz) => {
            if tz.is_none() {
                return Err(format!(
                    "column `{name}` holds naive timestamps (no time zone): segcore never guesses one; localize it first (e.g. pandas .dt.tz_localize(\"UTC\"))"
                ));
            }
            match unit {
                TimeUnit::Second => prim!(TimestampSecondType, |v: i64| Value::Timestamp(tz_micros(v, unit))),
                TimeUnit::Millisecond => prim!(TimestampMillisecondType, |v: i64| Value::Timestamp(tz_micros(v, unit))),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondType, Value::Timestamp),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondType, |v: i64| Value::Timestamp(tz_micros(v, unit))),
            }
        }
        DataType::Date32 => {
            prim!(Date32Type, |v: i32| date_from_days(v.into()).map(Value::Date).unwrap_or(Value::Null))
        }
        DataType::Decimal128(_, scale) => {
            let scale = u32::try_from(*scale).map_err(|_| format!("column `{name}`: negative decimal scale"))?;
            let a = col.as_primitive::<Decimal128Type>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Decimal(arrow_decimal(a.value(i), scale).ok_or_else(|| {
                        format!(
                            "column `{name}`: decimal {} (scale {scale}) has more than 28 significant digits",
                            a.value(i)
                        )
                    })?)
                });
            }
        }
        DataType::List(_) => {
            let a = col.as_list::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::List(column_values(&a.value(i), name)?) });
            }
        }
        DataType::LargeList(_) => {
            let a = col.as_list::<i64>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::List(column_values(&a.value(i), name)?) });
            }
        }
        DataType::FixedSizeList(_, _) => {
            let a = col.as_fixed_size_list();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::List(column_values(&a.value(i), name)?) });
            }
        }
        DataType::Struct(fields) => {
            let a = col.as_struct();
            let children: Vec<Vec<Value>> =
                a.columns().iter().zip(fields.iter()).map(|(c, f)| column_values(c, f.name())).collect::<R<_>>()?;
            for i in 0..n {
                if a.is_null(i) {
                    out.push(Value::Null);
                    continue;
                }
                let map: BTreeMap<Box<str>, Value> =
                    fields.iter().zip(&children).map(|(f, vals)| (f.name().as_str().into(), vals[i].clone())).collect();
                out.push(Value::from_object(map));
            }
        }
        DataType::Dictionary(_, _) => {
            let a = col.as_any_dictionary();
            let values = column_values(a.values(), name)?;
            let keys = a.normalized_keys();
            for (i, k) in keys.iter().enumerate() {
                out.push(if col.is_null(i) { Value::Null } else { values.get(*k).cloned().unwrap_or(Value::Null) });
            }
        }
        other => {
            return Err(format!("column `{name}` has Arrow type {other}, which segcore cannot read (yet)"));
        }
    }
    Ok(out)
}

fn text_column(col: &ArrayRef, name: &str) -> R<Vec<Option<String>>> {
    Ok(column_values(col, name)?
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
    /// Dictionary values as text, and each row's key.
    Dict(Vec<Option<String>>, Vec<usize>, &'a dyn Array),
}

impl<'a> StrColumn<'a> {
    fn new(col: &'a ArrayRef, name: &str) -> R<StrColumn<'a>> {
        Ok(match col.data_type() {
            DataType::Utf8 => StrColumn::Plain(col.as_string::<i32>()),
            DataType::LargeUtf8 => StrColumn::Large(col.as_string::<i64>()),
            DataType::Utf8View => StrColumn::View(col.as_string_view()),
            DataType::Dictionary(_, _) => {
                let d = col.as_any_dictionary();
                let values = text_column(d.values(), name)?;
                StrColumn::Dict(values, d.normalized_keys(), col.as_ref())
            }
            other => return Err(format!("column `{name}` must hold strings, not {other}")),
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
                    values.get(keys[row]).and_then(|v| v.as_deref())
                }
            }
        }
    }
}

/// Builds profiles from a profiles table (one row each, `id_column` + attribute columns) and an
/// optional events table in long form (`entity_id`, `name`, `at`, property columns). Only the
/// attributes, events and properties in `read` are converted.
pub fn profiles_from_batches(
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    id_column: &str,
    read: &segcore::ReadSet,
) -> R<Vec<Profile>> {
    let mut out: Vec<Profile> = Vec::new();
    for batch in profiles {
        let schema = batch.schema();
        let id_idx = schema
            .index_of(id_column)
            .map_err(|_| format!("the profiles frame has no `{id_column}` column (pass id_column=...)"))?;
        let ids = text_column(batch.column(id_idx), id_column)?;
        let start = out.len();
        for (row, id) in ids.into_iter().enumerate() {
            let id = id.ok_or_else(|| format!("row {}: `{id_column}` is null or not a string/integer", start + row))?;
            out.push(Profile::new(id));
        }
        for (i, field) in schema.fields().iter().enumerate() {
            if i == id_idx || !read.attributes.contains(field.name()) {
                continue;
            }
            let values = column_values(batch.column(i), field.name())?;
            for (row, v) in values.into_iter().enumerate() {
                if !v.is_null() {
                    out[start + row].set_attribute(field.name().as_str(), v);
                }
            }
        }
    }
    let Some(events) = events else { return Ok(out) };
    if read.events.is_empty() {
        return Ok(out);
    }
    // Profile rows by id, borrowed: event rows are matched without allocating.
    let by_text: HashMap<&str, usize> = out.iter().enumerate().map(|(i, p)| (p.id(), i)).collect();
    let by_int: HashMap<i64, usize> =
        out.iter().enumerate().filter_map(|(i, p)| p.id().parse::<i64>().ok().map(|n| (n, i))).collect();
    let mut pending: Vec<(usize, &String, i64, segcore::profile::Properties)> = Vec::new();
    for batch in events {
        let schema = batch.schema();
        let col = |n: &str| {
            schema
                .index_of(n)
                .map_err(|_| format!("the events frame needs the columns entity_id, name, at (missing `{n}`)"))
        };
        let (ie, iname, iat) = (col("entity_id")?, col("name")?, col("at")?);
        let entity_rows: Vec<Option<usize>> = match batch.column(ie).data_type() {
            DataType::Int64 | DataType::Int32 | DataType::UInt32 | DataType::Int16 => {
                column_values(batch.column(ie), "entity_id")?
                    .iter()
                    .map(|v| match v {
                        Value::Int(n) => by_int.get(n).copied(),
                        _ => None,
                    })
                    .collect()
            }
            _ => {
                let ids = StrColumn::new(batch.column(ie), "entity_id")?;
                (0..batch.num_rows()).map(|r| ids.get(r).and_then(|s| by_text.get(s).copied())).collect()
            }
        };
        let names = StrColumn::new(batch.column(iname), "name")?;
        let at_col = batch.column(iat);
        let ats: Vec<Option<i64>> = match at_col.data_type() {
            DataType::Timestamp(..) => column_values(at_col, "at")?
                .into_iter()
                .map(|v| match v {
                    Value::Timestamp(t) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => {
                let texts = StrColumn::new(at_col, "at")?;
                (0..batch.num_rows()).map(|r| texts.get(r).and_then(segcore::time::parse_instant)).collect()
            }
        };
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
        let prop_values: Vec<Vec<Value>> =
            wanted.iter().map(|(i, n)| column_values(batch.column(*i), n)).collect::<R<_>>()?;
        for row in 0..batch.num_rows() {
            // Events of entities without a profile row are ignored, like a left join.
            let Some(p) = entity_rows[row] else { continue };
            let Some(name) = names.get(row) else { continue };
            let Some(name) = read.events.get(name) else { continue };
            let at = ats[row].ok_or_else(|| {
                format!(
                    "events row {row} (entity `{}`): `at` is null or not an RFC 3339 timestamp with an offset",
                    out[p].id()
                )
            })?;
            let props_read = read.event_properties.get(name);
            let mut props = segcore::profile::Properties::new();
            for ((_, pname), values) in wanted.iter().zip(&prop_values) {
                if props_read.is_some_and(|s| s.contains(&**pname)) && !values[row].is_null() {
                    props.insert((**pname).into(), values[row].clone());
                }
            }
            pending.push((p, name, at, props));
        }
    }
    drop(by_text);
    for (p, name, at, props) in pending {
        out[p].push_event(name, at, props).map_err(|e| e.to_string())?;
    }
    for p in &mut out {
        p.finish();
    }
    Ok(out)
}

/// Runs `f` over `items` on every core, in order.
pub fn parallel_map<T: Sync, U: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<U, segcore::Error> + Sync,
) -> Result<Vec<U>, segcore::Error> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16);
    if threads <= 1 || items.len() < 1024 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let parts: Vec<Result<Vec<U>, segcore::Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect())).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(segcore::Error::new(segcore::ErrorKind::InvalidContext, "evaluation thread panicked"))
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
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
