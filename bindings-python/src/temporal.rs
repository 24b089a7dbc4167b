//! Membership over time (SPEC §22): `next_change` and `timeline` results as Python objects.
//! Instants cross as aware UTC datetimes (microseconds are exact in both); the search itself is
//! the core's.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDelta, PyDict, PyList, PyString};
use segcore::temporal;
use segcore::{ErrorKind, Phase};

use crate::errors::{guard, py_err, tag};

/// A horizon: `None` (the default, 3660 days), a duration text such as `"90d"`, or a
/// `datetime.timedelta`.
pub(crate) fn horizon(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(v) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    let micros = if let Ok(s) = v.cast::<PyString>() {
        temporal::parse_horizon(&s.to_cow()?)
    } else if let Ok(d) = v.cast::<PyDelta>() {
        // Read through attributes: the abi3 build has no direct field access.
        let part = |name: &str| -> PyResult<i64> { d.getattr(name)?.extract() };
        let (days, secs, us) = (part("days")?, part("seconds")?, part("microseconds")?);
        let total = days.checked_mul(86_400_000_000).and_then(|x| x.checked_add(secs * 1_000_000 + us));
        temporal::check_span(total.unwrap_or(i64::MAX))
    } else {
        return Err(tag(
            py,
            PyTypeError::new_err("horizon must be a duration text like \"90d\" or a datetime.timedelta"),
            ErrorKind::InvalidContext,
        ));
    };
    micros.map(Some).map_err(|e| py_err(py, &e, Phase::Evaluate))
}

/// An aware UTC datetime for an instant in microseconds (exact: built by adding a timedelta).
pub(crate) fn datetime_of<'py>(py: Python<'py>, micros: i64) -> PyResult<Bound<'py, PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    let epoch = dt.getattr("datetime")?.call((1970, 1, 1, 0, 0, 0, 0, utc), None)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("microseconds", micros)?;
    let delta = dt.getattr("timedelta")?.call((), Some(&kwargs))?;
    epoch.call_method1("__add__", (delta,))
}

/// One change of a segment's outcome (SPEC §22).
#[pyclass(frozen, module = "segcore")]
pub(crate) struct Change {
    pub(crate) inner: temporal::Change,
}

#[pymethods]
impl Change {
    /// The instant the outcome changes (aware UTC datetime; the outcome is new from here on).
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| datetime_of(py, self.inner.at))
    }
    /// The instant as RFC 3339 text, `2026-03-31T10:00:00.000001Z`.
    #[getter]
    fn at_text(&self) -> PyResult<String> {
        guard(|| Ok(segcore::binding::format_timestamp(self.inner.at)))
    }
    /// The outcome before: "true", "false" or "unknown".
    #[getter]
    fn previous(&self) -> PyResult<&'static str> {
        guard(|| Ok(self.inner.previous.as_str()))
    }
    /// The outcome from `at` on.
    #[getter]
    fn outcome(&self) -> PyResult<&'static str> {
        guard(|| Ok(self.inner.outcome.as_str()))
    }
    /// Membership from `at` on.
    #[getter]
    fn member(&self) -> PyResult<bool> {
        guard(|| Ok(self.inner.outcome.is_member()))
    }
    /// "entered", "exited", or None for a change between false and unknown.
    #[getter]
    fn transition(&self) -> PyResult<Option<&'static str>> {
        guard(|| Ok(self.inner.transition()))
    }
    /// Why: "effective", "reference", "event", "window" or "calendar".
    #[getter]
    fn cause(&self) -> PyResult<&'static str> {
        guard(|| Ok(self.inner.cause.kind.as_str()))
    }
    /// For cause "reference": the referenced segment's id.
    #[getter]
    fn cause_segment(&self) -> PyResult<Option<String>> {
        guard(|| Ok(self.inner.cause.segment.clone()))
    }
    /// For causes "event" and "window" (when an event's time is the instant): the event's name.
    #[getter]
    fn cause_event(&self) -> PyResult<Option<String>> {
        guard(|| Ok(self.inner.cause.event.as_ref().map(|e| e.0.clone())))
    }
    /// …and its time.
    #[getter]
    fn cause_event_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(|| self.inner.cause.event.as_ref().map(|e| datetime_of(py, e.1)).transpose())
    }
    /// The change as a dict (instants as datetimes).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| change_dict(py, &self.inner))
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Change>().is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            Ok(format!(
                "<Change {} {} -> {} ({})>",
                segcore::binding::format_timestamp(self.inner.at),
                self.inner.previous.as_str(),
                self.inner.outcome.as_str(),
                self.inner.cause.kind.as_str()
            ))
        })
    }
}

fn change_dict<'py>(py: Python<'py>, c: &temporal::Change) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("at", datetime_of(py, c.at)?)?;
    d.set_item("previous", c.previous.as_str())?;
    d.set_item("outcome", c.outcome.as_str())?;
    d.set_item("member", c.outcome.is_member())?;
    d.set_item("transition", c.transition())?;
    d.set_item("cause", c.cause.kind.as_str())?;
    d.set_item("cause_segment", c.cause.segment.clone())?;
    d.set_item("cause_event", c.cause.event.as_ref().map(|e| e.0.clone()))?;
    d.set_item("cause_event_at", c.cause.event.as_ref().map(|e| datetime_of(py, e.1)).transpose()?)?;
    Ok(d)
}

/// A segment's outcome over [start, end): the outcome at `start` and every change (SPEC §22).
#[pyclass(frozen, module = "segcore")]
pub(crate) struct Timeline {
    pub(crate) inner: temporal::Timeline,
    pub(crate) segment: String,
}

#[pymethods]
impl Timeline {
    /// The segment's id.
    #[getter]
    fn segment(&self) -> &str {
        &self.segment
    }
    /// The first instant (inclusive).
    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| datetime_of(py, self.inner.from))
    }
    /// The end (exclusive).
    #[getter]
    fn end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| datetime_of(py, self.inner.to))
    }
    /// The outcome at `start`.
    #[getter]
    fn outcome(&self) -> PyResult<&'static str> {
        guard(|| Ok(self.inner.outcome.as_str()))
    }
    /// Every change after `start` and before `end`, in time order.
    #[getter]
    fn changes(&self) -> PyResult<Vec<Change>> {
        guard(|| Ok(self.inner.changes.iter().map(|c| Change { inner: c.clone() }).collect()))
    }
    /// The membership intervals: maximal `(entered, left)` pairs of datetimes within [start, end).
    #[getter]
    fn intervals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(|| {
            let items = self
                .inner
                .member_intervals()
                .into_iter()
                .map(|(a, b)| Ok((datetime_of(py, a)?, datetime_of(py, b)?)))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)
        })
    }
    /// The changes as a pandas DataFrame, one row per change: `at`, `previous`, `outcome`,
    /// `member`, `transition`, `cause`, `cause_segment`, `cause_event`, `cause_event_at`.
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let rows = self.inner.changes.iter().map(|c| change_dict(py, c)).collect::<PyResult<Vec<_>>>()?;
            let columns = [
                "at",
                "previous",
                "outcome",
                "member",
                "transition",
                "cause",
                "cause_segment",
                "cause_event",
                "cause_event_at",
            ];
            let kwargs = PyDict::new(py);
            kwargs.set_item("columns", columns.to_vec())?;
            py.import("pandas")?.getattr("DataFrame")?.call((rows,), Some(&kwargs))
        })
    }
    fn __len__(&self) -> usize {
        self.inner.changes.len()
    }
    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            Ok(format!(
                "<Timeline {} {} … {}: {} then {} change(s)>",
                self.segment,
                segcore::binding::format_timestamp(self.inner.from),
                segcore::binding::format_timestamp(self.inner.to),
                self.inner.outcome.as_str(),
                self.inner.changes.len()
            ))
        })
    }
}

/// The count at the start, then (instant, count from then on).
type Counts<'py> = (i64, Vec<(Bound<'py, PyAny>, i64)>);

/// Members over time of one segment's timelines: the count at the start, then
/// `(instant, count from then on)` wherever it changes (the core's `member_counts`).
#[pyfunction]
pub(crate) fn _member_counts<'py>(py: Python<'py>, timelines: Vec<PyRef<'py, Timeline>>) -> PyResult<Counts<'py>> {
    guard(|| {
        let owned: Vec<temporal::Timeline> = timelines.iter().map(|t| t.inner.clone()).collect();
        let (start, steps) = temporal::member_counts(&owned);
        let steps = steps.into_iter().map(|(at, n)| Ok((datetime_of(py, at)?, n))).collect::<PyResult<Vec<_>>>()?;
        Ok((start, steps))
    })
}

/// Membership at an instant from a membership-log folder (SPEC §23): `(watermark, {segment:
/// [entity, …]})`, ids sorted. The replay is the core's `store::membership_at`.
#[pyfunction]
pub(crate) fn _log_members<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    at: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    guard(|| {
        let at = crate::context::as_of(py, at)?;
        let m = py.detach(|| segcore::store::membership_at(&path, at)).map_err(|e| py_err(py, &e, Phase::Evaluate))?;
        let out = PyDict::new(py);
        for (segment, members) in &m.segments {
            out.set_item(segment, PyList::new(py, members)?)?;
        }
        Ok((datetime_of(py, m.watermark)?, out))
    })
}

/// A membership log's committed transitions and retractions, as the CLI's `segcore transitions`
/// prints them (JSON text per record: the shapes are the core's `Transition::to_json`).
#[pyfunction]
pub(crate) fn _log_records(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Vec<String>> {
    guard(|| {
        let c = py.detach(|| segcore::store::read_log(&path)).map_err(|e| py_err(py, &e, Phase::Evaluate))?;
        let mut out = Vec::new();
        for r in &c.records {
            let v = match r {
                segcore::store::LogRecord::Emit(t) => t.record_json(false),
                segcore::store::LogRecord::Retract(t) => t.record_json(true),
                _ => continue,
            };
            out.push(v.to_string());
        }
        Ok(out)
    })
}

/// Drift rows from a membership-log folder (SPEC §25 over §23): `store::drift_from_log`'s rows as
/// the bindings return them.
#[pyfunction]
#[pyo3(signature = (path, start, end, every=1, zone="UTC", window=7, z=3.0, segments=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn _log_drift<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    start: &str,
    end: &str,
    every: u32,
    zone: &str,
    window: usize,
    z: f64,
    segments: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let opts = segcore::reconcile::DriftOptions {
            zone: zone.into(),
            from: start.into(),
            to: end.into(),
            every,
            window,
            z,
        };
        let only: Vec<String> = segments.unwrap_or_default();
        let only: Vec<&str> = only.iter().map(String::as_str).collect();
        let rows = py
            .detach(|| segcore::store::drift_from_log(&path, &only, &opts))
            .map_err(|e| py_err(py, &e, Phase::Evaluate))?;
        crate::json_to_py(py, &segcore::binding::drift_json(&rows))
    })
}
