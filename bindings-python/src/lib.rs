//! The Python binding: conversions between Python objects and the core's types, and nothing else.
//! Every decision about membership is made by `segcore` (the core crate).

mod batch;
mod convert;
mod errors;

// `errors::guard` turns a Rust panic at any entry point into `SegmentError(kind="internal")`;
// with `panic = "abort"` it could not, and a bug would kill the interpreter instead.
#[cfg(panic = "abort")]
compile_error!("segcore-python must be built with panic = \"unwind\" (see errors::guard)");

use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use segcore::{Definition, ErrorKind, EvalContext, FxRates, Phase, Profile, Schema};

use errors::{core_err, guard, py_err, tag, Bad, Doc};

create_exception!(segcore, SegmentError, PyException, "Base of every segcore error; `kind` is the stable error kind.");
create_exception!(segcore, ParseError, SegmentError, "The rule text is not valid syntax.");
create_exception!(segcore, TypeCheckError, SegmentError, "The rule does not type-check or references are wrong.");
create_exception!(segcore, DefinitionError, SegmentError, "The definition document is invalid.");
create_exception!(segcore, EvaluationError, SegmentError, "Evaluation failed for this profile.");

/// One problem found in a definition.
#[pyclass(frozen, module = "segcore", get_all, skip_from_py_object)]
#[derive(Clone)]
struct Diagnostic {
    kind: String,
    severity: String,
    message: String,
    line: Option<u32>,
    column: Option<u32>,
    origin: Option<String>,
}

#[pymethods]
impl Diagnostic {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let d = PyDict::new(py);
            d.set_item("kind", &self.kind)?;
            d.set_item("severity", &self.severity)?;
            d.set_item("message", &self.message)?;
            d.set_item("line", self.line)?;
            d.set_item("column", self.column)?;
            d.set_item("origin", &self.origin)?;
            Ok(d)
        })
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            Ok({
                match (self.line, self.column) {
                    (Some(l), Some(c)) => format!("<Diagnostic {} at {l}:{c}: {}>", self.kind, self.message),
                    _ => format!("<Diagnostic {}: {}>", self.kind, self.message),
                }
            })
        })
    }
    fn __str__(&self) -> PyResult<String> {
        self.__repr__()
    }
}

fn diagnostic(d: &segcore::Diagnostic) -> Diagnostic {
    Diagnostic {
        kind: d.kind.as_str().to_string(),
        severity: match d.severity {
            segcore::Severity::Error => "error".into(),
            segcore::Severity::Warning => "warning".into(),
        },
        message: d.message.clone(),
        line: d.location.map(|l| l.line),
        column: d.location.map(|l| l.column),
        origin: d.origin.clone(),
    }
}

/// `as_of`: an aware datetime or an RFC 3339 string with an offset.
fn as_of(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    let text = if let Ok(s) = value.cast::<PyString>() {
        s.to_cow()?.to_string()
    } else if convert::is_datetime(value)? || (value.hasattr("utcoffset")? && value.hasattr("isoformat")?) {
        convert::aware_isoformat(value).map_err(|e| tag(py, e, ErrorKind::InvalidContext))?
    } else {
        return Err(tag(
            py,
            PyTypeError::new_err("as_of must be an aware datetime or an RFC 3339 string with an offset"),
            ErrorKind::InvalidContext,
        ));
    };
    segcore::parse_as_of(&text).map_err(|e| py_err(py, &e, Phase::Evaluate))
}

fn context(
    py: Python<'_>,
    at: &Bound<'_, PyAny>,
    fx: Option<&Bound<'_, PyAny>>,
    segments: Option<&Bound<'_, PyDict>>,
) -> PyResult<EvalContext> {
    let mut cx = EvalContext::new(as_of(py, at)?);
    if let Some(fx) = fx.filter(|f| !f.is_none()) {
        let json = convert::to_json(fx, Doc::Context).map_err(|e| e.raise(py, Doc::Context))?;
        cx.fx = FxRates::from_json(&json).map_err(|e| py_err(py, &e, Phase::Evaluate))?;
    }
    if let Some(segs) = segments {
        for (k, v) in segs.iter() {
            let pair = (|| -> PyResult<(String, bool)> { Ok((k.extract()?, v.extract()?)) })();
            let (k, v) = pair.map_err(|e| tag(py, e, ErrorKind::InvalidContext))?;
            cx.segments.insert(k, v);
        }
    }
    Ok(cx)
}

/// Python strings for the names compiled rules read, in the layout's slot order (the core's
/// [`segcore::binding::Projection`]), made once per segment/registry: converting a profile
/// dict is dictionary lookups with cached hashes, and the values land in slots, not in a map.
struct Keys {
    layout: std::sync::Arc<segcore::binding::Layout>,
    attributes: Vec<Key>,
    /// Per event slot: the event name, then the properties read of it.
    events: Vec<(Py<PyString>, String, Vec<Key>)>,
}

/// A name as an interned Python string and as Rust text.
type Key = (Py<PyString>, String);

impl Keys {
    fn new(py: Python<'_>, layout: &std::sync::Arc<segcore::binding::Layout>, read: &segcore::ReadSet) -> Keys {
        let projection = segcore::binding::Projection::new(layout, read);
        let key = |n: &String| (PyString::intern(py, n).unbind(), n.clone());
        let attributes = projection.attributes.iter().map(key).collect();
        let events = projection
            .events
            .iter()
            .map(|(e, props)| (PyString::intern(py, e).unbind(), e.clone(), props.iter().map(key).collect()))
            .collect();
        Keys { layout: std::sync::Arc::clone(layout), attributes, events }
    }
}

/// A profile argument, converted for evaluation.
enum Converted<'a> {
    /// A `segcore.Profile` handle (read by name).
    Handle(&'a Profile),
    /// A dict read for a layout: the profile (id, events, and attributes by name when asked for)
    /// and the attribute values in slot order.
    Slots(Profile, Vec<segcore::Value>),
    /// Anything else (another mapping, unknown keys, wrong shapes), converted whole by
    /// [`convert::profile`] (errors are the core's `Profile::from_json` messages).
    Full(Profile),
}

impl Converted<'_> {
    /// The profile, for calls that read by name (explain, evaluate_one).
    fn profile(&self) -> &Profile {
        match self {
            Converted::Handle(p) => p,
            Converted::Slots(p, _) | Converted::Full(p) => p,
        }
    }

    /// Bound to the layout of `keys`: slot values as they are; the others by `by_name` (the
    /// segment's or registry's `bind`).
    fn bind<'p>(
        &'p self,
        keys: &Keys,
        by_name: impl FnOnce(&'p Profile) -> segcore::Bound<'p>,
    ) -> PyResult<segcore::Bound<'p>> {
        match self {
            Converted::Slots(p, values) => segcore::Bound::with_attributes(&keys.layout, p, values.iter().collect())
                .ok_or_else(|| {
                    Python::attach(|py| {
                        core_err(py, ErrorKind::Internal, "attribute values do not match the layout", Phase::Evaluate)
                    })
                }),
            other => Ok(by_name(other.profile())),
        }
    }
}

/// Converts the profile argument: a handle as is; a dict crossing only what the segment(s) read
/// (the attributes, events and event properties of `keys`), into slots. Anything unusual (unknown
/// keys, wrong shapes, other mappings) is converted whole by [`convert::profile`].
/// With `named`, attributes are also set on the profile by name (for explain).
fn convert<'a>(py: Python<'_>, obj: &'a Bound<'_, PyAny>, keys: &Keys, named: bool) -> PyResult<Converted<'a>> {
    if let Ok(handle) = obj.cast::<ProfileHandle>() {
        return Ok(Converted::Handle(&handle.get().inner));
    }
    convert_slots(py, obj, keys, named).map_err(|e| e.raise(py, Doc::Profile))
}

fn convert_slots<'a>(
    py: Python<'_>,
    obj: &'a Bound<'_, PyAny>,
    keys: &Keys,
    named: bool,
) -> errors::Conv<Converted<'a>> {
    let full = || convert::profile(obj).map(Converted::Full);
    let Ok(d) = obj.cast::<PyDict>() else { return full() };
    let (k_id, k_attrs, k_events) = (intern!(py, "id"), intern!(py, "attributes"), intern!(py, "events"));
    let (id_item, attrs_item, events_item) = (d.get_item(k_id)?, d.get_item(k_attrs)?, d.get_item(k_events)?);
    // Any other key is the core parser's to report (three lookups, no key list).
    let known = usize::from(id_item.is_some()) + usize::from(attrs_item.is_some()) + usize::from(events_item.is_some());
    if d.len() != known {
        return full();
    }
    let Some(id) = id_item.map(|v| convert::profile_id(&v)).transpose()?.flatten() else { return full() };
    // The events limit holds for the profile, whether or not the segment reads its events (the
    // list is not converted then, but its length is known).
    if let Some(events) = events_item.as_ref().and_then(|e| e.cast::<PyList>().ok()) {
        if events.len() > segcore::limits::MAX_EVENTS_PER_PROFILE {
            return Err(Bad::new(
                ErrorKind::LimitExceeded,
                format!("profile `{id}` has more than {} events", segcore::limits::MAX_EVENTS_PER_PROFILE),
            ));
        }
    }
    let mut p = Profile::new(id.as_str());
    let mut values = Vec::with_capacity(keys.attributes.len());
    match attrs_item {
        None => values.resize(keys.attributes.len(), segcore::Value::Null),
        Some(a) if a.is_none() => values.resize(keys.attributes.len(), segcore::Value::Null),
        Some(a) => {
            let Ok(attrs) = a.cast::<PyDict>() else { return full() };
            for (key, name) in &keys.attributes {
                // Absent and null read the same (SPEC §4); explain also shows which were present.
                match attrs.get_item(key.bind(py))? {
                    Some(v) => {
                        let v = convert::to_value(&v)
                            .map_err(|e| e.at(|| format!("profile `{id}`, attribute `{name}`")))?;
                        if named {
                            p.set_attribute(name.as_str(), v.clone());
                        }
                        values.push(v);
                    }
                    None => values.push(segcore::Value::Null),
                }
            }
        }
    }
    if keys.events.is_empty() {
        return Ok(Converted::Slots(p, values));
    }
    let events = match events_item {
        None => return Ok(Converted::Slots(p, values)),
        Some(e) if e.is_none() => return Ok(Converted::Slots(p, values)),
        Some(e) => e,
    };
    let Ok(events) = events.cast::<PyList>() else { return full() };
    let (k_name, k_at, k_props) = (intern!(py, "name"), intern!(py, "at"), intern!(py, "properties"));
    let invalid = |i: usize, msg: String| Bad::Core(segcore::binding::event_error(&id, i, &msg));
    for (i, e) in events.iter().enumerate() {
        let Ok(ed) = e.cast::<PyDict>() else { return full() };
        let Some(name_obj) = ed.get_item(k_name)? else { return full() };
        let mut matched = None;
        for entry in &keys.events {
            // Names are usually the same interned string object: identity first.
            if name_obj.is(entry.0.bind(py)) || name_obj.eq(entry.0.bind(py))? {
                matched = Some(entry);
                break;
            }
        }
        let Some((_, name, wanted)) = matched else { continue };
        let at = match ed.get_item(k_at)? {
            Some(a) if a.is_instance_of::<PyString>() || convert::is_datetime(&a)? => convert::event_time(Some(&a))?,
            _ => return full(),
        }
        .map_err(|m| invalid(i, m))?;
        let mut props = segcore::binding::Properties::new();
        if let Some(pr) = ed.get_item(k_props)?.filter(|pr| !pr.is_none()) {
            let Ok(pd) = pr.cast::<PyDict>() else { return full() };
            for (key, prop) in wanted {
                if let Some(v) = pd.get_item(key.bind(py))? {
                    let v = convert::to_value(&v)
                        .map_err(|e| e.at(|| format!("profile `{id}`, event {i}, property `{prop}`")))?;
                    props.insert(prop.as_str().into(), v);
                }
            }
        }
        p.push_event(name, at, props)?;
    }
    p.finish();
    Ok(Converted::Slots(p, values))
}

/// A profile converted once, to evaluate many times (against any segment or registry).
#[pyclass(frozen, module = "segcore", name = "Profile")]
struct ProfileHandle {
    inner: Profile,
}

#[pymethods]
impl ProfileHandle {
    #[new]
    fn new(py: Python<'_>, profile: &Bound<'_, PyAny>) -> PyResult<ProfileHandle> {
        guard(|| convert::profile(profile).map(|inner| ProfileHandle { inner }).map_err(|e| e.raise(py, Doc::Profile)))
    }
    /// Parses profile JSON text exactly as the CLI reads a JSONL line (the core's parser: integers
    /// beyond 2^53 and decimals in the text are kept exactly).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<ProfileHandle> {
        guard(|| {
            Profile::from_json_str(text)
                .map(|inner| ProfileHandle { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    #[getter]
    fn id(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.id()))
    }
    #[getter]
    fn event_count(&self) -> PyResult<usize> {
        guard(|| Ok(self.inner.event_count()))
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| Ok(format!("<Profile {} ({} events)>", self.inner.id(), self.inner.event_count())))
    }
}

/// An evaluation context (`as_of`, FX quotes, referenced results) parsed once, to reuse.
#[pyclass(frozen, module = "segcore", name = "Context")]
struct ContextHandle {
    inner: EvalContext,
}

#[pymethods]
impl ContextHandle {
    #[new]
    #[pyo3(signature = (as_of, *, fx=None, segments=None))]
    fn new(
        py: Python<'_>,
        as_of: &Bound<'_, PyAny>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<ContextHandle> {
        guard(|| Ok(ContextHandle { inner: context(py, as_of, fx, segments)? }))
    }
    #[getter]
    fn as_of(&self) -> PyResult<String> {
        guard(|| Ok(segcore::binding::format_timestamp(self.inner.as_of)))
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| Ok(format!("<Context as_of={}>", segcore::binding::format_timestamp(self.inner.as_of))))
    }
}

/// The evaluation context from either `context=` or `as_of=`/`fx=`/`segments=`. `as_of` may
/// also be a `Context` passed positionally (`seg.evaluate(profile, ctx)`): the fast call, with no
/// keyword arguments to parse.
fn resolve_context<'a>(
    py: Python<'_>,
    as_of: Option<&'a Bound<'_, PyAny>>,
    fx: Option<&Bound<'_, PyAny>>,
    segments: Option<&Bound<'_, PyDict>>,
    ctx: Option<&'a Bound<'_, ContextHandle>>,
) -> PyResult<std::borrow::Cow<'a, EvalContext>> {
    let positional = as_of.and_then(|a| a.cast::<ContextHandle>().ok());
    match (ctx.or(positional), as_of) {
        (Some(c), a) if (positional.is_some() || a.is_none()) && fx.is_none() && segments.is_none() => {
            if positional.is_some() && ctx.is_some() {
                return Err(tag(
                    py,
                    PyTypeError::new_err("pass the Context once, positionally or as context="),
                    ErrorKind::InvalidContext,
                ));
            }
            Ok(std::borrow::Cow::Borrowed(&c.get().inner))
        }
        (Some(_), _) => Err(tag(
            py,
            PyTypeError::new_err("pass either a Context or as_of=/fx=/segments=, not both"),
            ErrorKind::InvalidContext,
        )),
        (None, Some(a)) => Ok(std::borrow::Cow::Owned(context(py, a, fx, segments)?)),
        (None, None) => Err(tag(
            py,
            PyTypeError::new_err(
                "as_of is required (an aware datetime or an RFC 3339 string); segcore never reads the clock",
            ),
            ErrorKind::InvalidContext,
        )),
    }
}

fn schema(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Schema>> {
    match obj.filter(|o| !o.is_none()) {
        None => Ok(None),
        Some(o) => {
            let json = convert::to_json(o, Doc::Schema).map_err(|e| e.raise(py, Doc::Schema))?;
            Schema::from_json(&json).map(Some).map_err(|e| py_err(py, &e, Phase::Compile))
        }
    }
}

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    let json = PyModule::import(py, "json")?;
    json.call_method1("loads", (v.to_string(),))
}

/// A compiled segment definition.
#[pyclass(frozen, module = "segcore")]
struct Segment {
    inner: segcore::Segment,
    keys: Keys,
}

impl Segment {
    fn wrap(py: Python<'_>, inner: segcore::Segment) -> Segment {
        let keys = Keys::new(py, inner.layout(), inner.read_set());
        Segment { inner, keys }
    }
}

impl Segment {
    fn compile(py: Python<'_>, def: Definition, schema_obj: Option<&Bound<'_, PyAny>>) -> PyResult<Segment> {
        let schema = schema(py, schema_obj)?;
        segcore::Segment::compile(def, schema.as_ref())
            .map(|inner| Segment::wrap(py, inner))
            .map_err(|e| py_err(py, &e, Phase::Compile))
    }
}

#[pymethods]
impl Segment {
    /// Compiles a definition from YAML text.
    #[staticmethod]
    #[pyo3(signature = (text, *, schema=None))]
    fn from_yaml(py: Python<'_>, text: &str, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Segment> {
        guard(|| {
            let def = Definition::from_yaml_str(text).map_err(|e| py_err(py, &e, Phase::Compile))?;
            Segment::compile(py, def, schema)
        })
    }

    /// Compiles a definition from JSON text.
    #[staticmethod]
    #[pyo3(signature = (text, *, schema=None))]
    fn from_json(py: Python<'_>, text: &str, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Segment> {
        guard(|| {
            let def = Definition::from_json_str(text).map_err(|e| py_err(py, &e, Phase::Compile))?;
            Segment::compile(py, def, schema)
        })
    }

    /// Compiles a definition given as a dict.
    #[staticmethod]
    #[pyo3(signature = (definition, *, schema=None))]
    fn from_dict(
        py: Python<'_>,
        definition: &Bound<'_, PyAny>,
        schema: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Segment> {
        guard(|| {
            let def = definition_from_py(py, definition)?;
            Segment::compile(py, def, schema)
        })
    }

    /// Loads and compiles a `.yaml`, `.yml` or `.json` definition file.
    #[staticmethod]
    #[pyo3(signature = (path, *, schema=None))]
    fn load(py: Python<'_>, path: PathBuf, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Segment> {
        guard(|| {
            let def = Definition::from_file(&path).map_err(|e| py_err(py, &e, Phase::Compile))?;
            Segment::compile(py, def, schema)
        })
    }

    #[getter]
    fn id(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.id()))
    }
    #[getter]
    fn version(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.version()))
    }
    #[getter]
    fn definition_hash(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.definition_hash()))
    }
    #[getter]
    fn canonical_json(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.canonical_json()))
    }
    /// The rule, canonically formatted.
    #[getter]
    fn rule(&self) -> PyResult<String> {
        guard(|| Ok(self.inner.formatted_rule()))
    }
    /// The definition's metadata and rule text as a dict.
    #[getter]
    fn definition<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let v: serde_json::Value = serde_json::from_str(self.inner.canonical_json()).unwrap_or_default();
            let d = json_to_py(py, &v)?;
            d.set_item("rule", self.inner.definition().rule.clone())?;
            Ok(d)
        })
    }
    /// What the rule reads: attributes, events and referenced segments.
    #[getter]
    fn read_set<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let rs = self.inner.read_set();
            let d = PyDict::new(py);
            d.set_item("attributes", rs.attributes.iter().collect::<Vec<_>>())?;
            d.set_item("events", rs.events.iter().collect::<Vec<_>>())?;
            d.set_item("segments", rs.segments.iter().collect::<Vec<_>>())?;
            let props = PyDict::new(py);
            for (event, names) in &rs.event_properties {
                props.set_item(event, names.iter().collect::<Vec<_>>())?;
            }
            d.set_item("event_properties", props)?;
            Ok(d)
        })
    }

    /// Whether the profile is a member (the rule is TRUE) at `as_of`.
    #[pyo3(signature = (profile, as_of=None, *, fx=None, segments=None, context=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<bool> {
        guard(|| Ok(self.outcome_of(py, profile, as_of, fx, segments, context)?.is_member()))
    }

    /// The three-valued outcome: "true", "false" or "unknown".
    #[pyo3(signature = (profile, as_of=None, *, fx=None, segments=None, context=None))]
    fn outcome(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<&'static str> {
        guard(|| Ok(self.outcome_of(py, profile, as_of, fx, segments, context)?.as_str()))
    }

    /// Every sub-expression with its value for this profile.
    #[pyo3(signature = (profile, as_of=None, *, fx=None, segments=None, context=None))]
    fn explain(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<Explanation> {
        guard(|| {
            let cx = resolve_context(py, as_of, fx, segments, context)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .explain(p.profile(), &cx)
                .map(|inner| Explanation { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }

    /// Membership over a profiles frame (and an events frame in long form): a boolean column
    /// aligned with the rows, of the input's kind (pandas Series, pyarrow array, polars Series).
    /// See `segcore._frames.evaluate_batch`.
    #[pyo3(signature = (profiles, events=None, *, as_of=None, fx=None, segments=None, context=None, id_column="id", outcome=false))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_batch<'py>(
        slf: &Bound<'py, Self>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        as_of: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        segments: Option<&Bound<'py, PyDict>>,
        context: Option<&Bound<'py, ContextHandle>>,
        id_column: &str,
        outcome: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let py = slf.py();
            let cx = resolve_context(py, as_of, fx, segments, context)?;
            let ctx = Bound::new(py, ContextHandle { inner: cx.into_owned() })?;
            PyModule::import(py, "segcore._frames")?
                .call_method1("evaluate_batch", (slf, profiles, events, ctx, id_column, outcome))
        })
    }

    /// Outcomes over Arrow streams, one byte per profile row: 0 false, 1 true, 2 unknown.
    fn _evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        context: &Bound<'py, ContextHandle>,
        id_column: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        guard(|| {
            let (pb, eb) = batch::read_frames(profiles, events)?;
            let cx = &context.get().inner;
            let seg = &self.inner;
            let result = py.detach(|| -> Result<Vec<u8>, segcore::Error> {
                let profiles =
                    segcore::ingest_arrow::profiles_from_batches(&pb, eb.as_deref(), id_column, seg.read_set())?;
                let m = segcore::batch::evaluate(&seg.program(), &profiles, cx, &Default::default())?;
                Ok(m.outcomes(0).iter().copied().map(outcome_byte).collect())
            });
            match result {
                Ok(bytes) => Ok(pyo3::types::PyBytes::new(py, &bytes)),
                Err(e) => Err(errors::py_err(py, &e, Phase::Evaluate)),
            }
        })
    }

    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            Ok(format!(
                "<Segment {}@{} {}>",
                self.inner.id(),
                self.inner.version(),
                &self.inner.definition_hash()[..12]
            ))
        })
    }

    /// The membership query of this segment in `dialect` (see `Registry.to_sql`).
    #[pyo3(signature = (dialect, *, as_of, fx=None, profiles_table="profiles", events_table="events"))]
    fn to_sql(
        &self,
        py: Python<'_>,
        dialect: &str,
        as_of: &Bound<'_, PyAny>,
        fx: Option<&Bound<'_, PyAny>>,
        profiles_table: &str,
        events_table: &str,
    ) -> PyResult<SqlQuery> {
        guard(|| {
            to_sql_query(
                py,
                |o| segcore::sql::to_sql(&self.inner.program(), o),
                dialect,
                as_of,
                fx,
                profiles_table,
                events_table,
            )
        })
    }

    fn _repr_html_(&self) -> PyResult<String> {
        guard(|| {
            Ok({
                use segcore::binding::html_escape as esc;
                let d = self.inner.definition();
                format!(
                "<div class=\"segcore-segment\"><b>{}</b>@{} <small>{} · {} · {} · {}</small><pre>{}</pre><small>definition hash <code>{}</code></small></div>",
                esc(&d.id),
                esc(&d.version),
                esc(if d.name.is_empty() { "(no name)" } else { &d.name }),
                esc(d.status.as_str()),
                esc(&d.timezone),
                esc(&d.currency),
                esc(&self.inner.formatted_rule()),
                esc(self.inner.definition_hash())
            )
            })
        })
    }
}

impl Segment {
    fn outcome_of(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<segcore::Outcome> {
        let cx = resolve_context(py, as_of, fx, segments, context)?;
        let converted = convert(py, profile, &self.keys, false)?;
        let result = match &converted {
            Converted::Handle(p) => self.inner.evaluate(p, &cx),
            slots => self.inner.evaluate_bound(&slots.bind(&self.keys, |p| self.inner.bind(p))?, &cx),
        };
        result.map_err(|e| py_err(py, &e, Phase::Evaluate))
    }
}

/// Why a profile is in or out of a segment.
#[pyclass(frozen, module = "segcore")]
struct Explanation {
    inner: segcore::Explanation,
}

#[pymethods]
impl Explanation {
    #[getter]
    fn segment(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.segment.as_str()))
    }
    #[getter]
    fn version(&self) -> PyResult<&str> {
        guard(|| Ok(self.inner.version.as_str()))
    }
    #[getter]
    fn outcome(&self) -> PyResult<&'static str> {
        guard(|| Ok(self.inner.outcome.as_str()))
    }
    #[getter]
    fn member(&self) -> PyResult<bool> {
        guard(|| Ok(self.inner.outcome.is_member()))
    }
    /// The explanation as nested dicts.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| json_to_py(py, &self.inner.to_json()))
    }
    fn __str__(&self) -> PyResult<String> {
        guard(|| Ok(self.inner.to_string()))
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            Ok(format!("<Explanation {}@{}: {}>", self.inner.segment, self.inner.version, self.inner.outcome.as_str()))
        })
    }
    fn _repr_html_(&self) -> PyResult<String> {
        guard(|| Ok(self.inner.to_html()))
    }
}

/// Definitions compiled together.
#[pyclass(frozen, module = "segcore")]
struct Registry {
    inner: segcore::Registry,
    /// Union of the segments' read sets: what a profile dict must cross.
    keys: Keys,
}

impl Registry {
    fn new(py: Python<'_>, inner: segcore::Registry) -> Registry {
        let keys = Keys::new(py, inner.layout(), &inner.read_set());
        Registry { inner, keys }
    }
}

/// One definition given as YAML/JSON text or a dict: Python errors (an unsupported type) are
/// raised; the core's errors (including nesting too deep) are returned, for `check` to report.
fn definition_item(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Result<Definition, segcore::Error>> {
    if let Ok(text) = item.cast::<PyString>() {
        return Ok(Definition::from_yaml_str(&text.to_cow()?));
    }
    match convert::to_json(item, Doc::Definition) {
        Ok(json) => Ok(Definition::from_json(&json)),
        Err(Bad::Core(e)) => Ok(Err(e)),
        Err(bad) => Err(bad.raise(py, Doc::Definition)),
    }
}

/// A definition given as a dict.
fn definition_from_py(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Definition> {
    let json =
        convert::to_json(item, Doc::Definition).map_err(|e| e.at(|| "definition".into()).raise(py, Doc::Definition))?;
    Definition::from_json(&json).map_err(|e| py_err(py, &e, Phase::Compile))
}

fn definitions(py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<Vec<Definition>> {
    let mut out = Vec::new();
    for item in items.try_iter()? {
        out.push(definition_item(py, &item?)?.map_err(|e| py_err(py, &e, Phase::Compile))?);
    }
    Ok(out)
}

#[pymethods]
impl Registry {
    /// Loads every definition file of a folder.
    #[staticmethod]
    #[pyo3(signature = (path, *, schema=None))]
    fn load(py: Python<'_>, path: PathBuf, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Registry> {
        guard(|| {
            let schema = self::schema(py, schema)?;
            segcore::Registry::load_dir(&path, schema.as_ref())
                .map(|r| Registry::new(py, r))
                .map_err(|e| py_err(py, &e, Phase::Compile))
        })
    }

    /// Compiles definitions given as dicts or YAML/JSON texts.
    #[staticmethod]
    #[pyo3(signature = (definitions, *, schema=None))]
    fn from_definitions(
        py: Python<'_>,
        definitions: &Bound<'_, PyAny>,
        schema: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Registry> {
        guard(|| {
            let defs = self::definitions(py, definitions)?;
            let schema = self::schema(py, schema)?;
            segcore::Registry::from_definitions(defs, schema.as_ref())
                .map(|r| Registry::new(py, r))
                .map_err(|e| py_err(py, &e, Phase::Compile))
        })
    }

    /// The membership query of every segment in `dialect` (`duckdb`, `postgres`, `spark`,
    /// `bigquery`, `snowflake`), with `as_of` and `fx` fixed in the text.
    #[pyo3(signature = (dialect, *, as_of, fx=None, profiles_table="profiles", events_table="events"))]
    fn to_sql(
        &self,
        py: Python<'_>,
        dialect: &str,
        as_of: &Bound<'_, PyAny>,
        fx: Option<&Bound<'_, PyAny>>,
        profiles_table: &str,
        events_table: &str,
    ) -> PyResult<SqlQuery> {
        guard(|| {
            to_sql_query(
                py,
                |o| segcore::sql::to_sql(self.inner.program(), o),
                dialect,
                as_of,
                fx,
                profiles_table,
                events_table,
            )
        })
    }

    /// The schema the registry was compiled with (as a dict), or None.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(|| self.inner.schema().map(|s| json_to_py(py, &s.to_json())).transpose())
    }

    /// Segment ids, sorted.
    #[getter]
    fn ids(&self) -> PyResult<Vec<String>> {
        guard(|| Ok(self.inner.segments().iter().map(|s| s.id().to_string()).collect()))
    }
    fn __len__(&self) -> PyResult<usize> {
        guard(|| Ok(self.inner.len()))
    }
    fn __contains__(&self, id: &str) -> PyResult<bool> {
        guard(|| Ok(self.inner.get(id).is_some()))
    }
    fn __getitem__(&self, py: Python<'_>, id: &str) -> PyResult<Segment> {
        guard(|| {
            self.inner
                .get(id)
                .map(|s| Segment::wrap(py, s.clone()))
                .ok_or_else(|| tag(py, PyKeyError::new_err(id.to_string()), ErrorKind::UnknownSegment))
        })
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| Ok(format!("<Registry of {} segments>", self.inner.len())))
    }

    /// Membership in every segment over a profiles frame (and an events frame): a frame of the
    /// input's kind with one boolean column per segment id, rows aligned with the input.
    #[pyo3(signature = (profiles, events=None, *, as_of=None, fx=None, context=None, id_column="id", outcome=false))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_batch<'py>(
        slf: &Bound<'py, Self>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        as_of: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, ContextHandle>>,
        id_column: &str,
        outcome: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let py = slf.py();
            let cx = resolve_context(py, as_of, fx, None, context)?;
            let ctx = Bound::new(py, ContextHandle { inner: cx.into_owned() })?;
            PyModule::import(py, "segcore._frames")?
                .call_method1("evaluate_batch", (slf, profiles, events, ctx, id_column, outcome))
        })
    }

    /// Outcomes of every segment over Arrow streams: (ids, one bytes per segment with a byte per row).
    fn _evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        context: &Bound<'py, ContextHandle>,
        id_column: &str,
    ) -> PyResult<(Vec<String>, Vec<Bound<'py, pyo3::types::PyBytes>>)> {
        guard(|| {
            let (pb, eb) = batch::read_frames(profiles, events)?;
            let cx = &context.get().inner;
            let reg = &self.inner;
            let read = reg.read_set();
            let result = py.detach(|| -> Result<Vec<Vec<u8>>, segcore::Error> {
                let profiles = segcore::ingest_arrow::profiles_from_batches(&pb, eb.as_deref(), id_column, &read)?;
                let m = segcore::batch::evaluate(reg.program(), &profiles, cx, &Default::default())?;
                Ok((0..reg.len()).map(|k| m.outcomes(k).iter().copied().map(outcome_byte).collect()).collect())
            });
            match result {
                Ok(columns) => Ok((
                    reg.segments().iter().map(|s| s.id().to_string()).collect(),
                    columns.iter().map(|c| pyo3::types::PyBytes::new(py, c)).collect(),
                )),
                Err(e) => Err(errors::py_err(py, &e, Phase::Evaluate)),
            }
        })
    }

    /// Membership in every segment: {id: bool}.
    #[pyo3(signature = (profile, as_of=None, *, fx=None, context=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyAny>,
        as_of: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, ContextHandle>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let d = PyDict::new(py);
            for (id, o) in self.all(py, profile, as_of, fx, context)? {
                d.set_item(id, o.is_member())?;
            }
            Ok(d)
        })
    }

    /// Three-valued outcomes of every segment: {id: "true" | "false" | "unknown"}.
    #[pyo3(signature = (profile, as_of=None, *, fx=None, context=None))]
    fn outcomes<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyAny>,
        as_of: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, ContextHandle>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let d = PyDict::new(py);
            for (id, o) in self.all(py, profile, as_of, fx, context)? {
                d.set_item(id, o.as_str())?;
            }
            Ok(d)
        })
    }

    /// The outcome of one segment (and only what it depends on).
    #[pyo3(signature = (id, profile, as_of=None, *, fx=None, context=None))]
    fn evaluate_one(
        &self,
        py: Python<'_>,
        id: &str,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<&'static str> {
        guard(|| {
            let cx = resolve_context(py, as_of, fx, None, context)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .evaluate_one(id, p.profile(), &cx)
                .map(|o| o.as_str())
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }

    /// Explains one segment for a profile.
    #[pyo3(signature = (id, profile, as_of=None, *, fx=None, context=None))]
    fn explain(
        &self,
        py: Python<'_>,
        id: &str,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<Explanation> {
        guard(|| {
            let cx = resolve_context(py, as_of, fx, None, context)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .explain(id, p.profile(), &cx)
                .map(|inner| Explanation { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
}

impl Registry {
    fn all(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<Vec<(String, segcore::Outcome)>> {
        let cx = resolve_context(py, as_of, fx, None, context)?;
        let converted = convert(py, profile, &self.keys, false)?;
        let bound = converted.bind(&self.keys, |p| self.inner.bind(p))?;
        let results = self.inner.evaluate_bound(&bound, &cx).map_err(|e| py_err(py, &e, Phase::Evaluate))?;
        Ok(results.into_iter().map(|(id, o)| (id.to_string(), o)).collect())
    }
}

/// A generated SQL query (see `Registry.to_sql`): the text and the input columns it reads.
#[pyclass(frozen, module = "segcore", get_all, skip_from_py_object)]
struct SqlQuery {
    dialect: String,
    sql: String,
    /// `(name, segcore type, SQL type)` of the profiles table's columns.
    profile_columns: Vec<(String, String, String)>,
    /// `(name, segcore type, SQL type)` of the events table's columns.
    event_columns: Vec<(String, String, String)>,
    ddl: String,
}

#[pymethods]
impl SqlQuery {
    fn __str__(&self) -> PyResult<String> {
        guard(|| Ok(self.sql.clone()))
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| Ok(format!("<SqlQuery {} ({} lines)>", self.dialect, self.sql.lines().count())))
    }
}

#[allow(clippy::too_many_arguments)]
fn to_sql_query(
    py: Python<'_>,
    gen: impl FnOnce(&segcore::sql::SqlOptions) -> Result<segcore::sql::SqlQuery, segcore::Error>,
    dialect: &str,
    at: &Bound<'_, PyAny>,
    fx: Option<&Bound<'_, PyAny>>,
    profiles_table: &str,
    events_table: &str,
) -> PyResult<SqlQuery> {
    let cx = context(py, at, fx, None)?;
    let mut opts = segcore::sql::SqlOptions::from_context(dialect, &cx)
        .map_err(|m| tag(py, PyValueError::new_err(m), ErrorKind::SqlUnsupported))?;
    opts.profiles_table = profiles_table.to_string();
    opts.events_table = events_table.to_string();
    let q = gen(&opts).map_err(|e| py_err(py, &e, Phase::Compile))?;
    let cols = |cs: &[segcore::sql::Column]| {
        cs.iter().map(|c| (c.name.clone(), c.ty.name().to_string(), c.sql_type.clone())).collect()
    };
    Ok(SqlQuery {
        dialect: opts.dialect.name().to_string(),
        ddl: q.ddl(&opts),
        profile_columns: cols(&q.profile_columns),
        event_columns: cols(&q.event_columns),
        sql: q.sql,
    })
}

fn outcome_byte(o: segcore::Outcome) -> u8 {
    match o {
        segcore::Outcome::False => 0,
        segcore::Outcome::True => 1,
        segcore::Outcome::Unknown => 2,
    }
}

/// Compiles a bare rule with default metadata.
#[pyfunction]
#[pyo3(signature = (rule, *, id="rule", version="1.0.0", timezone="UTC", currency="USD", schema=None))]
fn compile(
    py: Python<'_>,
    rule: &str,
    id: &str,
    version: &str,
    timezone: &str,
    currency: &str,
    schema: Option<&Bound<'_, PyAny>>,
) -> PyResult<Segment> {
    guard(|| {
        let mut def = Definition::new(id, version, rule);
        def.timezone = timezone.to_string();
        def.currency = currency.to_string();
        Segment::compile(py, def, schema)
    })
}

/// The canonical formatting of a rule.
#[pyfunction]
fn format_rule(py: Python<'_>, rule: &str) -> PyResult<String> {
    guard(|| {
        segcore::Segment::parse_rule(rule)
            .map(|ast| segcore::binding::print_rule(&ast))
            .map_err(|e| py_err(py, &e, Phase::Compile))
    })
}

/// Validates a folder, a file, or a list of definitions; returns the diagnostics (empty when valid).
#[pyfunction]
#[pyo3(signature = (source, *, schema=None))]
fn check(py: Python<'_>, source: &Bound<'_, PyAny>, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Diagnostic>> {
    guard(|| {
        let schema = self::schema(py, schema)?;
        if let Ok(path) = source.extract::<PathBuf>() {
            return Ok(match segcore::Registry::load(&path, schema.as_ref()) {
                Ok(_) => Vec::new(),
                Err(e) => e.diagnostics().iter().map(diagnostic).collect(),
            });
        }
        let mut loaded = Vec::new();
        for item in source.try_iter()? {
            let item = item?;
            loaded.push(definition_item(py, &item)?);
        }
        Ok(segcore::Registry::check(loaded, schema.as_ref()).iter().map(diagnostic).collect())
    })
}

/// Test-only (hidden): panics inside the guard every entry point runs in, to prove a Rust panic
/// reaches Python as `SegmentError` with `kind == "internal"`, never as `PanicException`.
#[pyfunction]
fn _test_panic() -> PyResult<()> {
    guard(|| panic!("deliberate panic from segcore._native._test_panic"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("LANGUAGE_VERSION", segcore::LANGUAGE_VERSION)?;
    m.add("SegmentError", py.get_type::<SegmentError>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("TypeCheckError", py.get_type::<TypeCheckError>())?;
    m.add("DefinitionError", py.get_type::<DefinitionError>())?;
    m.add("EvaluationError", py.get_type::<EvaluationError>())?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<Segment>()?;
    m.add_class::<Explanation>()?;
    m.add_class::<Registry>()?;
    m.add_class::<SqlQuery>()?;
    m.add_class::<ProfileHandle>()?;
    m.add_class::<ContextHandle>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(format_rule, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    Ok(())
}
