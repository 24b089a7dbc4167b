//! Errors crossing into Python: every exception the binding raises carries a stable `kind`
//! (SPEC §18), and no Rust panic escapes as `pyo3_runtime.PanicException` (a `BaseException`).

use pyo3::prelude::*;
use segcore::{ErrorKind, Phase};

use crate::{DataError, DefinitionError, Diagnostic, EvaluationError, ParseError, SegmentError, TypeCheckError};

/// A core error as the matching Python exception, with `kind`, `message`, `line`, `column`,
/// `origin`, `diagnostics`, and where in a batch it was found (the core's data location):
/// `frame` ("profiles" or "events"), 0-based `row` and `column_name` (None when unknown).
pub fn py_err(py: Python<'_>, err: &segcore::Error, phase: Phase) -> PyErr {
    use segcore::ErrorClass as C;
    let first = err.first();
    let at = first.data.as_deref().cloned().unwrap_or_default();
    // Batch errors read `error[kind]: …` (the core's display): segcore.spark re-raises them on the
    // driver as text, where the attributes are gone but the kind must still be readable.
    let message = if at.source.is_some() { err.to_string() } else { first.message.clone() };
    let exc = match err.class(phase) {
        C::Parse => ParseError::new_err(message),
        C::TypeCheck => TypeCheckError::new_err(message),
        C::Definition => DefinitionError::new_err(message),
        C::Evaluation => EvaluationError::new_err(message),
        C::Data => DataError::new_err(message),
        // A bug, not a property of the input (`internal`): the base class.
        _ => SegmentError::new_err(message),
    };
    let value = exc.value(py);
    let diags: Vec<Diagnostic> = err.diagnostics().iter().map(crate::diagnostic).collect();
    let set = || -> PyResult<()> {
        value.setattr("kind", first.kind.as_str())?;
        value.setattr("message", &first.message)?;
        value.setattr("line", first.location.map(|l| l.line))?;
        value.setattr("column", first.location.map(|l| l.column))?;
        value.setattr("origin", &first.origin)?;
        value.setattr("diagnostics", diags)?;
        value.setattr("frame", at.source.as_deref())?;
        value.setattr("row", at.row)?;
        value.setattr("column_name", at.column.as_deref())?;
        Ok(())
    };
    if let Err(e) = set() {
        return e;
    }
    exc
}

/// A segcore error the binding itself finds.
pub fn core_err(py: Python<'_>, kind: ErrorKind, message: impl Into<String>, phase: Phase) -> PyErr {
    py_err(py, &segcore::Error::new(kind, message), phase)
}

/// Gives a Python error (a `TypeError`/`ValueError` the binding raises for a wrong argument type,
/// a naive datetime, …) the `kind` attribute every segcore error has, unless it has one.
pub fn tag(py: Python<'_>, err: PyErr, kind: ErrorKind) -> PyErr {
    let value = err.value(py);
    if !value.hasattr("kind").unwrap_or(true) {
        let _ = value.setattr("kind", kind.as_str());
    }
    err
}

/// What a converted Python object is part of: the kind and phase of errors about its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Profile,
    Definition,
    Schema,
    /// `as_of`, FX quotes, referenced results.
    Context,
}

impl Doc {
    pub fn kind(self) -> ErrorKind {
        match self {
            Doc::Profile => ErrorKind::InvalidProfile,
            Doc::Definition => ErrorKind::InvalidDefinition,
            Doc::Schema => ErrorKind::InvalidSchema,
            Doc::Context => ErrorKind::InvalidContext,
        }
    }
    pub fn phase(self) -> Phase {
        match self {
            Doc::Profile | Doc::Context => Phase::Evaluate,
            Doc::Definition | Doc::Schema => Phase::Compile,
        }
    }
}

/// A conversion failure: a Python error (an unsupported type, a naive datetime, a Python
/// exception from `items()`/`tolist()`), or a segcore error (bad data, nesting too deep).
pub enum Bad {
    Py(PyErr),
    Core(segcore::Error),
}

impl From<PyErr> for Bad {
    fn from(e: PyErr) -> Bad {
        Bad::Py(e)
    }
}

impl From<segcore::Error> for Bad {
    fn from(e: segcore::Error) -> Bad {
        Bad::Core(e)
    }
}

impl Bad {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Bad {
        Bad::Core(segcore::Error::new(kind, message))
    }

    /// Prefixes a segcore error's message with where the value was (`profile `u1`, attribute `x``).
    pub fn at(self, place: impl FnOnce() -> String) -> Bad {
        match self {
            Bad::Core(e) => {
                let first = e.first();
                Bad::Core(segcore::Error::new(first.kind, format!("{}: {}", place(), first.message)))
            }
            py => py,
        }
    }

    /// The Python exception: segcore errors in the class for `doc`'s phase, Python errors tagged
    /// with `doc`'s kind.
    pub fn raise(self, py: Python<'_>, doc: Doc) -> PyErr {
        match self {
            Bad::Py(e) => tag(py, e, doc.kind()),
            Bad::Core(e) => py_err(py, &e, doc.phase()),
        }
    }
}

pub type Conv<T> = Result<T, Bad>;

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// The error a caught panic becomes: kind `internal`, a `SegmentError` (an `Exception`).
pub fn internal_error(message: &str) -> PyErr {
    Python::attach(|py| {
        core_err(
            py,
            ErrorKind::Internal,
            format!("internal error in segcore (a bug; please report it): {message}"),
            Phase::Evaluate,
        )
    })
}

/// Runs the body of a Python entry point, turning a Rust panic into the segcore error of kind
/// `internal` instead of `pyo3_runtime.PanicException`. Every `#[pyfunction]` and
/// `#[pymethods]` body is wrapped in it (the crate builds with `panic = "unwind"`, the default of
/// the release profile). No input is meant to reach it; `_native._test_panic` proves it works.
pub fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(internal_error(&panic_message(payload.as_ref()))),
    }
}
