//! Evaluation contexts from Python arguments: `as_of`, FX, referenced segments, schemas.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use segcore::{ErrorKind, EvalContext, FxRates, Phase, Schema};

use crate::errors::{core_err, guard, py_err, tag, Doc};
use crate::*;

/// `as_of`: an aware datetime or an RFC 3339 string with an offset.
pub(crate) fn as_of(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<i64> {
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

/// FX quotes from a mapping (`{"EUR/USD": "1.08"}`), or none.
pub(crate) fn fx_rates(py: Python<'_>, fx: Option<&Bound<'_, PyAny>>) -> PyResult<FxRates> {
    match fx.filter(|f| !f.is_none()) {
        Some(fx) => {
            let json = convert::to_json(fx, Doc::Context).map_err(|e| e.raise(py, Doc::Context))?;
            FxRates::from_json(&json).map_err(|e| py_err(py, &e, Phase::Evaluate))
        }
        None => Ok(FxRates::new()),
    }
}

pub(crate) fn context(
    py: Python<'_>,
    at: &Bound<'_, PyAny>,
    fx: Option<&Bound<'_, PyAny>>,
    segments: Option<&Bound<'_, PyDict>>,
) -> PyResult<EvalContext> {
    let mut cx = EvalContext::new(as_of(py, at)?);
    cx.fx = fx_rates(py, fx)?;
    if let Some(segs) = segments {
        for (k, v) in segs.iter() {
            let pair = (|| -> PyResult<(String, bool)> { Ok((k.extract()?, v.extract()?)) })();
            let (k, v) = pair.map_err(|e| tag(py, e, ErrorKind::InvalidContext))?;
            cx.segments.insert(k, v);
        }
    }
    Ok(cx)
}

/// An evaluation context (`as_of`, FX quotes, referenced results) parsed once, to reuse.
#[pyclass(frozen, module = "segcore", name = "Context")]
pub(crate) struct ContextHandle {
    pub(crate) inner: EvalContext,
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
pub(crate) fn resolve_context<'a>(
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

/// A schema given as a mapping, as YAML/JSON text, or as a path to a schema file
/// (`os.PathLike`, e.g. `pathlib.Path`); text that is a single word is probably a file name, and
/// the error says how to pass one.
pub(crate) fn schema(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Schema>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let compile_err = |e: segcore::Error| py_err(py, &e, Phase::Compile);
    if let Ok(text) = o.cast::<PyString>() {
        let text = text.to_cow()?;
        return Schema::from_yaml_str(&text).map(Some).map_err(|e| {
            let looks_like_a_path = !text.contains(['\n', ':', '{']) && text.ends_with(['l', 'n']);
            if looks_like_a_path {
                let hint =
                    format!("schema= got the text {text:?}, not a schema; to read a file pass pathlib.Path({text:?})");
                return core_err(py, ErrorKind::InvalidSchema, hint, Phase::Compile);
            }
            compile_err(e)
        });
    }
    if o.hasattr(intern!(py, "__fspath__"))? {
        let path: std::path::PathBuf = o.extract()?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            core_err(py, ErrorKind::Io, format!("cannot read the schema {}: {e}", path.display()), Phase::Compile)
        })?;
        return Schema::from_yaml_str(&text)
            .map(Some)
            .map_err(|e| compile_err(e.with_origin(&path.display().to_string())));
    }
    let json = convert::to_json(o, Doc::Schema).map_err(|e| e.raise(py, Doc::Schema))?;
    Schema::from_json(&json).map(Some).map_err(compile_err)
}
