//! Profiles from Python objects: a dict is read through the compiled layout (only the
//! projected names, straight into slots); `Profile` holds a converted profile for reuse.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use segcore::{ErrorKind, Phase, Profile};

use crate::errors::{core_err, guard, py_err, Bad, Doc};
use crate::*;

/// Python strings for the names compiled rules read, in the layout's slot order (the core's
/// [`segcore::binding::Projection`]), made once per segment/registry: converting a profile
/// dict is dictionary lookups with cached hashes, and the values land in slots, not in a map.
pub(crate) struct Keys {
    pub(crate) layout: std::sync::Arc<segcore::binding::Layout>,
    pub(crate) attributes: Vec<Key>,
    /// Per event slot: the event name, then the properties read of it.
    pub(crate) events: Vec<(Py<PyString>, String, Vec<Key>)>,
}

/// A name as an interned Python string and as Rust text.
type Key = (Py<PyString>, String);

impl Keys {
    pub(crate) fn new(
        py: Python<'_>,
        layout: &std::sync::Arc<segcore::binding::Layout>,
        read: &segcore::ReadSet,
    ) -> Keys {
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
pub(crate) enum Converted<'a> {
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
    pub(crate) fn profile(&self) -> &Profile {
        match self {
            Converted::Handle(p) => p,
            Converted::Slots(p, _) | Converted::Full(p) => p,
        }
    }

    /// Bound to the layout of `keys`: slot values as they are; the others by `by_name` (the
    /// segment's or registry's `bind`).
    pub(crate) fn bind<'p>(
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
pub(crate) fn convert<'a>(
    py: Python<'_>,
    obj: &'a Bound<'_, PyAny>,
    keys: &Keys,
    named: bool,
) -> PyResult<Converted<'a>> {
    if let Ok(handle) = obj.cast::<ProfileHandle>() {
        return Ok(Converted::Handle(&handle.get().inner));
    }
    convert_slots(py, obj, keys, named).map_err(|e| e.raise(py, Doc::Profile))
}

pub(crate) fn convert_slots<'a>(
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
    let invalid = |i: usize, problem: segcore::binding::EventProblem| Bad::Core(problem.at(&id, i));
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
pub(crate) struct ProfileHandle {
    pub(crate) inner: Profile,
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
