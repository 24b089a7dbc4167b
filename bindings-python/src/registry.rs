//! `Registry`: many definitions compiled together.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use segcore::{Definition, ErrorKind, Phase};

use crate::errors::{guard, py_err, tag, Bad, Doc};
use crate::*;

/// Definitions compiled together.
#[pyclass(frozen, module = "segcore")]
pub(crate) struct Registry {
    pub(crate) inner: segcore::Registry,
    /// Union of the segments' read sets: what a profile dict must cross.
    pub(crate) keys: Keys,
}

impl Registry {
    pub(crate) fn new(py: Python<'_>, inner: segcore::Registry) -> Registry {
        let keys = Keys::new(py, inner.layout(), &inner.read_set());
        Registry { inner, keys }
    }
}

/// One definition given as YAML/JSON text or a dict: Python errors (an unsupported type) are
/// raised; the core's errors (including nesting too deep) are returned, for `check` to report.
pub(crate) fn definition_item(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Result<Definition, segcore::Error>> {
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
pub(crate) fn definition_from_py(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Definition> {
    let json =
        convert::to_json(item, Doc::Definition).map_err(|e| e.at(|| "definition".into()).raise(py, Doc::Definition))?;
    Definition::from_json(&json).map_err(|e| py_err(py, &e, Phase::Compile))
}

pub(crate) fn definitions(py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<Vec<Definition>> {
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

    /// Follows a registry service (``segcore serve``, SPEC §28): a ``Subscription`` whose
    /// ``registry`` is swapped whole on each new bundle. Transport lives in ``segcore._subscribe``
    /// (standard-library HTTP); the bundles are loaded here, by the core.
    #[staticmethod]
    #[pyo3(signature = (url, **options))]
    fn subscribe<'py>(
        py: Python<'py>,
        url: &str,
        options: Option<&Bound<'py, pyo3::types::PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        py.import("segcore._subscribe")?.getattr("Subscription")?.call((url,), options)
    }

    /// Loads a bundle (SPEC §27): the whole registry, or ``DefinitionError`` (``bundle_invalid``).
    #[staticmethod]
    fn from_bundle(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Registry> {
        guard(|| {
            let text: String = if let Ok(b) = data.extract::<Vec<u8>>() {
                String::from_utf8(b).map_err(|_| {
                    py_err(
                        py,
                        &segcore::Error::new(ErrorKind::BundleInvalid, "the bundle is not UTF-8"),
                        Phase::Compile,
                    )
                })?
            } else {
                data.extract()?
            };
            segcore::Registry::from_bundle(&text)
                .map(|r| Registry::new(py, r))
                .map_err(|e| py_err(py, &e, Phase::Compile))
        })
    }

    /// The bundle hash (SPEC §27): the same for the same definitions and schema.
    #[getter]
    fn bundle_hash(&self) -> String {
        self.inner.bundle_hash()
    }

    /// This registry as a bundle (JSON text), ``created`` now unless given.
    #[pyo3(signature = (created=None))]
    fn to_bundle(&self, py: Python<'_>, created: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        guard(|| {
            let at = match created {
                Some(c) => crate::context::as_of(py, c)?,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
            };
            Ok(self.inner.to_bundle(at))
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

    /// The version of segment ``id`` in force at ``as_of`` (the one results report, SPEC §1).
    fn segment_at(&self, py: Python<'_>, id: &str, as_of: &Bound<'_, PyAny>) -> PyResult<Segment> {
        guard(|| {
            let t = crate::context::as_of(py, as_of)?;
            self.inner
                .get_at(id, t)
                .map(|s| Segment::wrap(py, s.clone()))
                .ok_or_else(|| tag(py, PyKeyError::new_err(id.to_string()), ErrorKind::UnknownSegment))
        })
    }

    /// Every definition, each id's versions side by side in time order (SPEC §1); ``reg[id]``
    /// is an id's latest version.
    fn versions(&self, py: Python<'_>) -> PyResult<Vec<Segment>> {
        guard(|| Ok(self.inner.versions().into_iter().map(|s| Segment::wrap(py, s.clone())).collect()))
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

    /// The registry as a table in notebooks: id, version, hash prefix and rule per segment, in
    /// dependency order.
    fn _repr_html_(&self) -> PyResult<String> {
        guard(|| {
            let esc = segcore::binding::html_escape;
            let mut out = format!(
                "<table><caption>segcore Registry: {} segments</caption>\
                 <tr><th>id</th><th>version</th><th>hash</th><th>rule</th></tr>",
                self.inner.len()
            );
            for s in self.inner.dependency_order() {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                    esc(s.id()),
                    esc(s.version()),
                    &s.definition_hash()[..12],
                    esc(&s.formatted_rule()),
                ));
            }
            out.push_str("</table>");
            Ok(out)
        })
    }

    /// Membership in every segment over a profiles frame (and an events frame): a frame of the
    /// input's kind with one boolean column per segment id, rows aligned with the input.
    #[pyo3(signature = (profiles, events=None, *, as_of=None, fx=None, context=None, id_column="id", entity_column="entity_id", name_column="name", at_column="at", outcome=false))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_batch<'py>(
        slf: &Bound<'py, Self>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        as_of: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        context: Option<&Bound<'py, ContextHandle>>,
        id_column: &str,
        entity_column: &str,
        name_column: &str,
        at_column: &str,
        outcome: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let py = slf.py();
            let cx = resolve_context(py, as_of, fx, None, context)?;
            let ctx = Bound::new(py, ContextHandle { inner: cx.into_owned() })?;
            PyModule::import(py, "segcore._frames")?.call_method1(
                "evaluate_batch",
                (slf, profiles, events, ctx, (id_column, entity_column, name_column, at_column), outcome),
            )
        })
    }

    /// Outcomes of every segment over Arrow streams: (ids, one bytes per segment with a byte per
    /// row, the number of events whose entity is not in the profiles frame).
    #[allow(clippy::type_complexity)]
    fn _evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        profiles: &Bound<'py, PyAny>,
        events: Option<&Bound<'py, PyAny>>,
        context: &Bound<'py, ContextHandle>,
        columns: (String, String, String, String),
    ) -> PyResult<(Vec<String>, Vec<Bound<'py, pyo3::types::PyBytes>>, usize)> {
        guard(|| {
            let reg = &self.inner;
            let (codes, unmatched) =
                batch::evaluate_frames(py, reg.program(), profiles, events, &context.get().inner, columns)?;
            Ok((
                reg.segments().iter().map(|s| s.id().to_string()).collect(),
                codes.iter().map(|c| pyo3::types::PyBytes::new(py, c)).collect(),
                unmatched,
            ))
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

    /// The next change of segment `id`'s outcome after `as_of` (its references evaluated in this
    /// registry; SPEC §22), or None within `horizon` (`"90d"` or a timedelta; default 3660 days).
    #[pyo3(signature = (id, profile, as_of=None, *, horizon=None, fx=None, context=None))]
    #[allow(clippy::too_many_arguments)]
    fn next_change(
        &self,
        py: Python<'_>,
        id: &str,
        profile: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
        horizon: Option<&Bound<'_, PyAny>>,
        fx: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, ContextHandle>>,
    ) -> PyResult<Option<crate::temporal::Change>> {
        guard(|| {
            let cx = resolve_context(py, as_of, fx, None, context)?;
            let horizon = crate::temporal::horizon(py, horizon)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .program()
                .next_change(id, p.profile(), &cx, horizon)
                .map(|c| c.map(|inner| crate::temporal::Change { inner }))
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }

    /// Segment `id`'s outcome over [start, end), its references evaluated in this registry.
    #[pyo3(signature = (id, profile, start, end, *, fx=None))]
    fn timeline(
        &self,
        py: Python<'_>,
        id: &str,
        profile: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        fx: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<crate::temporal::Timeline> {
        guard(|| {
            let cx = context(py, start, fx, None)?;
            let to = crate::context::as_of(py, end)?;
            let p = convert(py, profile, &self.keys, true)?;
            self.inner
                .program()
                .timeline(id, p.profile(), cx.as_of, to, &cx)
                .map(|inner| crate::temporal::Timeline { inner, segment: id.to_string() })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }

    /// The timelines of many profiles over [start, end), on every core: one `Timeline` per
    /// profile and segment (`ids`, default every segment), profile by profile.
    #[pyo3(signature = (profiles, start, end, *, ids=None, fx=None))]
    fn timelines(
        &self,
        py: Python<'_>,
        profiles: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        ids: Option<Vec<String>>,
        fx: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<crate::temporal::Timeline>> {
        guard(|| {
            let cx = context(py, start, fx, None)?;
            let to = crate::context::as_of(py, end)?;
            let ids = ids.unwrap_or_else(|| self.inner.segments().iter().map(|s| s.id().to_string()).collect());
            let targets: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut owned = Vec::new();
            for item in profiles.try_iter()? {
                let item = item?;
                owned.push(convert(py, &item, &self.keys, true)?.profile().clone());
            }
            let all = py
                .detach(|| self.inner.program().timelines(&targets, &owned, cx.as_of, to, &cx))
                .map_err(|e| py_err(py, &e, Phase::Evaluate))?;
            Ok(all
                .into_iter()
                .flat_map(|row| {
                    row.into_iter()
                        .zip(&ids)
                        .map(|(inner, id)| crate::temporal::Timeline { inner, segment: id.clone() })
                })
                .collect())
        })
    }

    /// Reconciles two member sets (SPEC §25): counts and each differing id with its cause.
    #[pyo3(signature = (a, b, *, segment=None, segment_b=None, registry_b=None, as_of=None, as_of_b=None, profiles=None, profiles_b=None, fx=None, identity=None))]
    #[allow(clippy::too_many_arguments)]
    fn reconcile<'py>(
        &self,
        py: Python<'py>,
        a: Option<&Bound<'py, PyAny>>,
        b: Option<&Bound<'py, PyAny>>,
        segment: Option<String>,
        segment_b: Option<String>,
        registry_b: Option<PyRef<'py, Registry>>,
        as_of: Option<&Bound<'py, PyAny>>,
        as_of_b: Option<&Bound<'py, PyAny>>,
        profiles: Option<&Bound<'py, PyAny>>,
        profiles_b: Option<&Bound<'py, PyAny>>,
        fx: Option<&Bound<'py, PyAny>>,
        identity: Option<PyRef<'py, crate::reconcile::IdentityMap>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = |v: Option<&Bound<'py, PyAny>>| {
                v.filter(|v| !v.is_none()).map(|v| crate::reconcile::ids_of(py, v)).transpose()
            };
            let when = |v: Option<&Bound<'py, PyAny>>| v.map(|v| crate::context::as_of(py, v)).transpose();
            let reg_b: &Registry = registry_b.as_deref().unwrap_or(self);
            let profs = |v: Option<&Bound<'py, PyAny>>, reg: &Registry| -> PyResult<Option<Vec<segcore::Profile>>> {
                let Some(v) = v else { return Ok(None) };
                let mut out = Vec::new();
                for item in v.try_iter()? {
                    out.push(convert(py, &item?, &reg.keys, true)?.profile().clone());
                }
                Ok(Some(out))
            };
            let fx = crate::context::fx_rates(py, fx)?;
            let side_a = segcore::binding::ReconcileSide {
                ids: ids(a)?,
                registry: Some(&self.inner),
                segment: segment.clone(),
                as_of: when(as_of)?,
                profiles: profs(profiles, self)?,
            };
            let side_b = segcore::binding::ReconcileSide {
                ids: ids(b)?,
                registry: Some(&reg_b.inner),
                segment: segment_b.or(segment),
                as_of: when(as_of_b)?,
                profiles: profs(profiles_b, reg_b)?,
            };
            let map = identity.as_ref().map(|m| &m.inner);
            let v = py
                .detach(|| segcore::binding::reconcile_json(side_a, side_b, &fx, map))
                .map_err(|e| py_err(py, &e, Phase::Evaluate))?;
            json_to_py(py, &v)
        })
    }

    /// Drift (SPEC §25): one row per segment per step — members, entered, exited, churn by
    /// cause, z-score alerts — over local days of ``zone`` from ``start`` to ``end`` (dates,
    /// ``end`` exclusive). ``pandas.DataFrame(rows)`` makes a table of it.
    #[pyo3(signature = (profiles, start, end, *, every=1, zone="UTC", window=7, z=3.0, ids=None, fx=None))]
    #[allow(clippy::too_many_arguments)]
    fn drift<'py>(
        &self,
        py: Python<'py>,
        profiles: &Bound<'py, PyAny>,
        start: &str,
        end: &str,
        every: u32,
        zone: &str,
        window: usize,
        z: f64,
        ids: Option<Vec<String>>,
        fx: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let fx = crate::context::fx_rates(py, fx)?;
            let ids = ids.unwrap_or_else(|| self.inner.segments().iter().map(|s| s.id().to_string()).collect());
            let targets: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut owned = Vec::new();
            for item in profiles.try_iter()? {
                owned.push(convert(py, &item?, &self.keys, true)?.profile().clone());
            }
            let opts = segcore::reconcile::DriftOptions {
                zone: zone.into(),
                from: start.into(),
                to: end.into(),
                every,
                window,
                z,
            };
            let rows = py
                .detach(|| segcore::reconcile::drift(self.inner.program(), &targets, &owned, &fx, &opts))
                .map_err(|e| py_err(py, &e, Phase::Evaluate))?;
            json_to_py(py, &segcore::binding::drift_json(&rows))
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
    pub(crate) fn all(
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

/// What changed between two registries and the version bump each change requires (SPEC §26).
#[pyfunction]
pub(crate) fn diff<'py>(
    py: Python<'py>,
    old: PyRef<'py, Registry>,
    new: PyRef<'py, Registry>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| json_to_py(py, &segcore::binding::diff_json(&segcore::diff::diff(&old.inner, &new.inner))))
}
