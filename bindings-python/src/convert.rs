//! Python objects → core values, profiles and JSON documents: one mapping for every path.
//!
//! - Nesting (SPEC §19) is counted on the way down and refused with `limit_exceeded` before the
//!   walk goes deeper, so no Python value can overflow the stack: a data value (attribute, event
//!   property) may nest [`MAX_VALUE_DEPTH`] lists/objects, counted from the value; a document
//!   (definition, schema, FX table) as many counted from its root — the core's own rule for the
//!   `serde_json::Value` documents it is given (`segcore::binding::check_value_depth`).
//! - `decimal.Decimal` is a segcore decimal (exact) wherever it appears in profile data — the
//!   same value the batch path reads from an Arrow decimal column; NaN and infinities are errors.
//!   In documents (FX quotes, definitions) it is its exact decimal text.
//! - Aware datetimes become RFC 3339 text, dates ISO dates; naive datetimes are refused.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use segcore::binding::EventProblem;
use segcore::limits::MAX_VALUE_DEPTH;
use segcore::{ErrorKind, Profile, Value};

use crate::errors::{Bad, Conv, Doc};
use pyo3::exceptions::{PyTypeError, PyValueError};

/// What the walk builds: core values (profile data) or JSON (documents for the core's parsers).
trait Build: Sized {
    fn null() -> Self;
    fn bool(b: bool) -> Self;
    fn int(i: i64) -> Self;
    /// An integer beyond i64 (JSON reads it as a float).
    fn uint(u: u64) -> Self;
    /// A finite float.
    fn float(f: f64) -> Self;
    fn text(s: String) -> Self;
    fn decimal(d: rust_decimal::Decimal) -> Self;
    fn list(items: Vec<Self>) -> Self;
    fn object(entries: Vec<(String, Self)>) -> Self;
}

impl Build for Value {
    fn null() -> Self {
        Value::Null
    }
    fn bool(b: bool) -> Self {
        Value::Bool(b)
    }
    fn int(i: i64) -> Self {
        Value::Int(i)
    }
    fn uint(u: u64) -> Self {
        segcore::binding::float_value(u as f64)
    }
    fn float(f: f64) -> Self {
        segcore::binding::float_value(f)
    }
    fn text(s: String) -> Self {
        Value::Str(s.into())
    }
    fn decimal(d: rust_decimal::Decimal) -> Self {
        Value::Decimal(d)
    }
    fn list(items: Vec<Self>) -> Self {
        Value::List(items)
    }
    fn object(entries: Vec<(String, Self)>) -> Self {
        Value::from_object(entries.into_iter().map(|(k, v)| (k.into_boxed_str(), v)).collect())
    }
}

impl Build for serde_json::Value {
    fn null() -> Self {
        serde_json::Value::Null
    }
    fn bool(b: bool) -> Self {
        serde_json::Value::Bool(b)
    }
    fn int(i: i64) -> Self {
        serde_json::Value::from(i)
    }
    fn uint(u: u64) -> Self {
        serde_json::Value::from(u)
    }
    fn float(f: f64) -> Self {
        serde_json::Number::from_f64(f).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
    }
    fn text(s: String) -> Self {
        serde_json::Value::String(s)
    }
    fn decimal(d: rust_decimal::Decimal) -> Self {
        serde_json::Value::String(d.to_string())
    }
    fn list(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn object(entries: Vec<(String, Self)>) -> Self {
        serde_json::Value::Object(entries.into_iter().collect())
    }
}

/// The limits of one walk.
#[derive(Clone, Copy)]
struct Walk {
    /// What is walked, for the nesting error ("value", "definition", …).
    what: &'static str,
    /// Kind of errors about the data (a non-finite Decimal).
    kind: ErrorKind,
}

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn is_instance(obj: &Bound<'_, PyAny>, cell: &PyOnceLock<Py<PyType>>, module: &str, name: &str) -> PyResult<bool> {
    obj.is_instance(cell.import(obj.py(), module, name)?)
}

/// Whether `obj` is an aware-or-naive `datetime.datetime` (pandas `Timestamp` included).
pub fn is_datetime(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    is_instance(obj, &DATETIME, "datetime", "datetime")
}

/// Refuses the container about to be entered at `depth` (containers above it) past the limit.
fn enter(depth: usize, walk: Walk) -> Conv<()> {
    if depth >= MAX_VALUE_DEPTH {
        return Err(Bad::new(
            ErrorKind::LimitExceeded,
            format!("the {} is nested more than {MAX_VALUE_DEPTH} levels deep", walk.what),
        ));
    }
    Ok(())
}

/// A dict key as text (keys must be strings, as in JSON).
fn key_text(k: &Bound<'_, PyAny>) -> Conv<String> {
    match k.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(Bad::Py(PyTypeError::new_err(format!(
            "keys must be strings, got {}",
            k.repr().map(|r| r.to_string()).unwrap_or_default()
        )))),
    }
}

/// A Python `Decimal` as an exact segcore decimal.
fn decimal(obj: &Bound<'_, PyAny>, kind: ErrorKind) -> Conv<rust_decimal::Decimal> {
    let text = obj.str()?.to_cow()?.into_owned();
    if !obj.call_method0("is_finite")?.is_truthy()? {
        return Err(Bad::new(
            kind,
            format!("Decimal('{text}') is not a finite number; segcore data has no NaN or infinity"),
        ));
    }
    segcore::binding::parse_decimal(&text).ok_or_else(|| {
        Bad::new(kind, format!("Decimal('{text}') does not fit a segcore decimal (at most 28 significant digits)"))
    })
}

/// The walk itself. `depth` counts the lists/objects above `obj`; `fallback` allows one
/// conversion through `items()`/`tolist()` (not of its own result, so an object whose `tolist()`
/// returns itself cannot loop).
fn walk<B: Build>(obj: &Bound<'_, PyAny>, depth: usize, w: Walk, fallback: bool) -> Conv<B> {
    if obj.is_none() {
        return Ok(B::null());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(B::text(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(B::bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(B::int(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(B::uint(u));
        }
        let f: f64 = obj.extract()?;
        return Ok(B::float(f));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        if !f.is_finite() {
            return Err(Bad::Py(PyValueError::new_err(format!(
                "{f} is not a finite number; segcore data has no NaN or infinity"
            ))));
        }
        return Ok(B::float(f));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        enter(depth, w)?;
        let mut entries = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = key_text(&k)?;
            let value = walk(&v, depth + 1, w, true)?;
            entries.push((key, value));
        }
        return Ok(B::object(entries));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        enter(depth, w)?;
        return l.iter().map(|v| walk(&v, depth + 1, w, true)).collect::<Conv<Vec<_>>>().map(B::list);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        enter(depth, w)?;
        return t.iter().map(|v| walk(&v, depth + 1, w, true)).collect::<Conv<Vec<_>>>().map(B::list);
    }
    if is_instance(obj, &DECIMAL, "decimal", "Decimal")? {
        return Ok(B::decimal(decimal(obj, w.kind)?));
    }
    if is_datetime(obj)? {
        return Ok(B::text(aware_isoformat(obj)?));
    }
    if is_instance(obj, &DATE, "datetime", "date")? {
        return Ok(B::text(obj.call_method0("isoformat")?.extract()?));
    }
    let type_name = obj.get_type().name()?.to_string();
    if fallback {
        // Other mappings and sequences (MappingProxy, numpy arrays via tolist, …).
        if obj.hasattr("items")? {
            let d = PyDict::new(obj.py());
            for item in obj.call_method0("items")?.try_iter()? {
                let (k, v): (Bound<PyAny>, Bound<PyAny>) = item?.extract()?;
                d.set_item(k, v)?;
            }
            return walk(d.as_any(), depth, w, false);
        }
        if obj.hasattr("tolist")? {
            return walk(&obj.call_method0("tolist")?, depth, w, false);
        }
    }
    Err(Bad::Py(PyTypeError::new_err(format!(
        "cannot pass a {type_name} to segcore (use str, int, float, bool, None, list, dict, datetime, date or Decimal)"
    ))))
}

/// A profile data value (attribute, event property) as a core value; nests at most
/// [`MAX_VALUE_DEPTH`] lists/objects.
pub fn to_value(obj: &Bound<'_, PyAny>) -> Conv<Value> {
    // Scalars first, without the generic walk (the common case on the per-call path).
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Str(s.to_cow()?.into()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Int(i));
        }
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    walk(obj, 0, Walk { what: "value", kind: ErrorKind::InvalidProfile }, true)
}

/// A document (definition, schema, FX table) as JSON for the core's parsers; nests at most
/// [`MAX_VALUE_DEPTH`] lists/objects, its root included.
pub fn to_json(obj: &Bound<'_, PyAny>, doc: Doc) -> Conv<serde_json::Value> {
    let what = match doc {
        Doc::Definition => "definition",
        Doc::Schema => "schema",
        Doc::Context => "FX table",
        Doc::Profile => "profile",
    };
    walk(obj, 0, Walk { what, kind: doc.kind() }, true)
}

/// An aware datetime as RFC 3339 text; naive ones are refused.
pub fn aware_isoformat(dt: &Bound<'_, PyAny>) -> PyResult<String> {
    if dt.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(
            "naive datetime: segcore never guesses a time zone; attach one, e.g. datetime(..., tzinfo=timezone.utc)",
        ));
    }
    dt.call_method0("isoformat")?.extract()
}

/// A mapping's entries, keys as text.
pub type Entries<'py> = Vec<(String, Bound<'py, PyAny>)>;

/// The entries of a dict or another mapping (anything with `items()`), or None.
pub fn entries<'py>(obj: &Bound<'py, PyAny>) -> Conv<Option<Entries<'py>>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return d.iter().map(|(k, v)| Ok((key_text(&k)?, v))).collect::<Conv<Vec<_>>>().map(Some);
    }
    if obj.is_instance_of::<PyString>() || !obj.hasattr("items")? {
        return Ok(None);
    }
    let mut out = Vec::new();
    for item in obj.call_method0("items")?.try_iter()? {
        let (k, v): (Bound<PyAny>, Bound<PyAny>) = item?.extract()?;
        out.push((key_text(&k)?, v));
    }
    Ok(Some(out))
}

/// The items of a list, tuple or array-like (`tolist()`), or None.
fn items<'py>(obj: &Bound<'py, PyAny>) -> Conv<Option<Vec<Bound<'py, PyAny>>>> {
    if let Ok(l) = obj.cast::<PyList>() {
        return Ok(Some(l.iter().collect()));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(Some(t.iter().collect()));
    }
    if obj.hasattr("tolist")? {
        let l = obj.call_method0("tolist")?;
        if let Ok(l) = l.cast::<PyList>() {
            return Ok(Some(l.iter().collect()));
        }
    }
    Ok(None)
}

/// A profile id: a string, or an integer that JSON reads as one (i64 or u64).
pub fn profile_id(v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Some(i.to_string()));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Some(u.to_string()));
        }
    }
    Ok(None)
}

fn invalid(message: String) -> Bad {
    Bad::new(ErrorKind::InvalidProfile, message)
}

/// An event's `at`: RFC 3339 text or an aware datetime.
pub fn event_time(at: Option<&Bound<'_, PyAny>>) -> Conv<Result<i64, EventProblem>> {
    Ok(match at {
        Some(a) if a.is_instance_of::<PyString>() => {
            segcore::binding::parse_event_time(&a.cast::<PyString>().map_err(PyErr::from)?.to_cow()?)
        }
        Some(a) if is_datetime(a)? => segcore::binding::parse_event_time(&aware_isoformat(a)?),
        _ => Err(EventProblem::NoAt),
    })
}

/// A whole profile (`{"id", "attributes", "events"}`), every value converted with [`to_value`]:
/// the shapes and messages of the core's `Profile::from_json`, without a JSON detour (which would
/// read a `Decimal` as text, and whose `serde_json::Value` trees recurse).
pub fn profile(obj: &Bound<'_, PyAny>) -> Conv<Profile> {
    let Some(fields) = entries(obj)? else {
        return Err(invalid("a profile must be a JSON object with `id`, `attributes`, `events`".into()));
    };
    let (mut id, mut attributes, mut events) = (None, None, None);
    for (k, v) in fields {
        match k.as_str() {
            "id" => id = Some(v),
            "attributes" => attributes = Some(v),
            "events" => events = Some(v),
            _ => {
                return Err(invalid(format!("unknown profile field `{k}` (expected `id`, `attributes`, `events`)")));
            }
        }
    }
    let id = match id {
        None => return Err(invalid("profile has no `id`".into())),
        Some(v) => profile_id(&v)?.ok_or_else(|| invalid("profile `id` must be a string or an integer".into()))?,
    };
    let mut p = Profile::new(id.as_str());
    if let Some(a) = attributes.filter(|a| !a.is_none()) {
        let Some(attrs) = entries(&a)? else {
            return Err(invalid(format!("profile `{id}`: `attributes` must be an object")));
        };
        for (k, v) in attrs {
            let value = to_value(&v).map_err(|e| e.at(|| format!("profile `{id}`, attribute `{k}`")))?;
            p.set_attribute(k, value);
        }
    }
    if let Some(e) = events.filter(|e| !e.is_none()) {
        let Some(events) = items(&e)? else {
            return Err(invalid(format!("profile `{id}`: `events` must be a list")));
        };
        for (i, e) in events.iter().enumerate() {
            let event_err = |problem: EventProblem| Bad::Core(problem.at(&id, i));
            let Some(fields) = entries(e)? else {
                return Err(event_err(EventProblem::NotAnObject));
            };
            let (mut name, mut at, mut props) = (None, None, None);
            for (k, v) in fields {
                match k.as_str() {
                    "name" => name = Some(v),
                    "at" => at = Some(v),
                    "properties" => props = Some(v),
                    _ => {}
                }
            }
            let Some(name) = name.as_ref().and_then(|n| n.cast::<PyString>().ok()) else {
                return Err(event_err(EventProblem::NoName));
            };
            let name = name.to_cow()?;
            let at = event_time(at.as_ref())?.map_err(event_err)?;
            let mut properties = segcore::binding::Properties::new();
            if let Some(pr) = props.filter(|p| !p.is_none()) {
                let Some(pr) = entries(&pr)? else { return Err(event_err(EventProblem::BadProperties)) };
                for (k, v) in pr {
                    let value =
                        to_value(&v).map_err(|e| e.at(|| format!("profile `{id}`, event {i}, property `{k}`")))?;
                    properties.insert(k.into_boxed_str(), value);
                }
            }
            p.push_event(&name, at, properties)?;
        }
    }
    p.finish();
    Ok(p)
}
