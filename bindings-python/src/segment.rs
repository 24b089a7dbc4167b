//! `Segment` and `Explanation`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use segcore::{Definition, Phase};

use crate::errors::{guard, py_err};
use crate::*;

pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    let json = PyModule::import(py, "json")?;
    json.call_method1("loads", (v.to_string(),))
}

/// A compiled segment definition.
#[pyclass(frozen, module = "segcore")]
pub(crate) struct Segment {
    pub(crate) inner: segcore::Segment,
    pub(crate) keys: Keys,
}

impl Segment {
    pub(crate) fn wrap(py: Python<'_>, inner: segcore::Segment) -> Segment {
        let keys = Keys::new(py, inner.layout(), inner.read_set());
        Segment { inner, keys }
    }
}

impl Segment {
    pub(crate) fn compile(py: Python<'_>, def: Definition, schema_obj: Option<&Bound<'_, PyAny>>) -> PyResult<Segment> {
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

    /// The next change of the outcome after `as_of` if no new data arrives (SPEC §22): a
    /// `Change` (instant exact to the microsecond, new outcome, cause), or None within `horizon`
    /// (`"90d"` or a timedelta; default 3660 days).
    #[pyo3(signature = (profile, as_of=None, *, horizon=None, fx=None, segments=None, context=None))]
    #[allow(clippy::too_many_arguments)]
    fn next_change(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        horizon: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<Option<crate::temporal::Change>> {
        guard(|| {
            let cx = resolve_context(py, as_of, fx, segments, context)?;
            let horizon = crate::temporal::horizon(py, horizon)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .next_change(p.profile(), &cx, horizon)
                .map(|c| c.map(|inner| crate::temporal::Change { inner }))
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }

    /// The outcome over [start, end): the outcome at `start` and every change, with causes
    /// (SPEC §22). `start`/`end`: aware datetimes or RFC 3339 text.
    #[pyo3(signature = (profile, start, end, *, fx=None, segments=None))]
    fn timeline(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        fx: Option<&Bound<'_, PyAny>>,
        segments: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<crate::temporal::Timeline> {
        guard(|| {
            let cx = context(py, start, fx, segments)?;
            let to = crate::context::as_of(py, end)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .timeline(p.profile(), cx.as_of, to, &cx)
                .map(|inner| crate::temporal::Timeline { inner, segment: self.inner.id().to_string() })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
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
    #[pyo3(signature = (profiles, events=None, *, as_of=None, fx=None, segments=None, context=None, id_column="id", entity_column="entity_id", name_column="name", at_column="at", outcome=false))]
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
        entity_column: &str,
        name_column: &str,
        at_column: &str,
        outcome: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let py = slf.py();
            let cx = resolve_context(py, as_of, fx, segments, context)?;
            let ctx = Bound::new(py, ContextHandle { inner: cx.into_owned() })?;
            PyModule::import(py, "segcore._frames")?.call_method1(
                "evaluate_batch",
                (slf, profiles, events, ctx, (id_column, entity_column, name_column, at_column), outcome),
            )
        })
    }

    /// Outcomes over Arrow streams, one byte per profile row (0 false, 1 true, 2 unknown), and
    /// the number of events whose entity is not in the profiles frame.
    fn _evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        context: &Bound<'py, ContextHandle>,
        columns: (String, String, String, String),
    ) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, usize)> {
        guard(|| {
            let program = self.inner.program();
            let (mut codes, unmatched) =
                batch::evaluate_frames(py, &program, profiles, events, &context.get().inner, columns)?;
            Ok((pyo3::types::PyBytes::new(py, &codes.pop().unwrap_or_default()), unmatched))
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
    pub(crate) fn outcome_of(
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
pub(crate) struct Explanation {
    pub(crate) inner: segcore::Explanation,
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
