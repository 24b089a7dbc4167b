//! The Python binding: conversions between Python objects and the core's types, and nothing else.
//! Every decision about membership is made by `segcore` (the core crate).

mod batch;
mod context;
mod convert;
mod diagnostics;
mod errors;
mod profile;
mod reconcile;
mod registry;
mod segment;
mod sql;
mod temporal;

// `errors::guard` turns a Rust panic at any entry point into `SegmentError(kind="internal")`;
// with `panic = "abort"` it could not, and a bug would kill the interpreter instead.
#[cfg(panic = "abort")]
compile_error!("segcore-python must be built with panic = \"unwind\" (see errors::guard)");

use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use segcore::{Definition, Phase};

use errors::{guard, py_err};

pub(crate) use context::{context, resolve_context, schema, ContextHandle};
pub(crate) use diagnostics::{diagnostic, Diagnostic};
pub(crate) use profile::{convert, Converted, Keys, ProfileHandle};
pub(crate) use registry::{definition_from_py, definition_item, Registry};
pub(crate) use segment::{json_to_py, Explanation, Segment};
pub(crate) use sql::{to_sql_query, SqlQuery};

create_exception!(segcore, SegmentError, PyException, "Base of every segcore error; `kind` is the stable error kind.");
create_exception!(segcore, ParseError, SegmentError, "The rule text is not valid syntax.");
create_exception!(segcore, TypeCheckError, SegmentError, "The rule does not type-check or references are wrong.");
create_exception!(segcore, DefinitionError, SegmentError, "The definition document is invalid.");
create_exception!(segcore, EvaluationError, SegmentError, "Evaluation failed for this profile.");
create_exception!(
    segcore,
    DataError,
    EvaluationError,
    "The data or context handed in cannot be read (a bad profile, frame, table or as_of; a repeated id)."
);

/// Compiles a bare rule; metadata not given takes the core's defaults (`Definition::for_rule`:
/// id "rule", version "1.0.0", UTC, USD), the same in every runtime.
#[pyfunction]
#[pyo3(signature = (rule, *, id=None, version=None, timezone=None, currency=None, schema=None))]
fn compile(
    py: Python<'_>,
    rule: &str,
    id: Option<&str>,
    version: Option<&str>,
    timezone: Option<&str>,
    currency: Option<&str>,
    schema: Option<&Bound<'_, PyAny>>,
) -> PyResult<Segment> {
    guard(|| Segment::compile(py, Definition::for_rule(rule, id, version, timezone, currency), schema))
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

/// An import (SPEC §29): `segcore::binding::import_request_json` on a JSON request, answered as
/// JSON text (`segcore.import_rule` builds the request and reads the answer).
#[pyfunction]
fn import_request(py: Python<'_>, request: &str) -> PyResult<String> {
    guard(|| {
        let req: serde_json::Value = serde_json::from_str(request).map_err(|e| {
            py_err(
                py,
                &segcore::Error::new(segcore::ErrorKind::ImportInvalid, format!("the import request: {e}")),
                Phase::Compile,
            )
        })?;
        segcore::binding::import_request_json(&req).map(|v| v.to_string()).map_err(|e| py_err(py, &e, Phase::Compile))
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
    m.add("DataError", py.get_type::<DataError>())?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<Segment>()?;
    m.add_class::<Explanation>()?;
    m.add_class::<Registry>()?;
    m.add_class::<SqlQuery>()?;
    m.add_class::<ProfileHandle>()?;
    m.add_class::<ContextHandle>()?;
    m.add_class::<temporal::Change>()?;
    m.add_class::<temporal::Timeline>()?;
    m.add_class::<reconcile::Fingerprint>()?;
    m.add_class::<reconcile::Sketch>()?;
    m.add_class::<reconcile::IdentityMap>()?;
    m.add_function(wrap_pyfunction!(reconcile::fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(registry::diff, m)?)?;
    m.add_function(wrap_pyfunction!(reconcile::fingerprint_sql, m)?)?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(format_rule, m)?)?;
    m.add_function(wrap_pyfunction!(import_request, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    m.add_function(wrap_pyfunction!(temporal::_member_counts, m)?)?;
    m.add_function(wrap_pyfunction!(temporal::_log_members, m)?)?;
    m.add_function(wrap_pyfunction!(temporal::_log_drift, m)?)?;
    m.add_function(wrap_pyfunction!(temporal::_log_records, m)?)?;
    Ok(())
}
