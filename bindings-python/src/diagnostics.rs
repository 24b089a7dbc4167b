//! `Diagnostic`: one finding of a compile or check, as Python sees it.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::guard;

/// One problem found in a definition.
#[pyclass(frozen, module = "segcore", get_all, skip_from_py_object)]
#[derive(Clone)]
pub(crate) struct Diagnostic {
    pub(crate) kind: String,
    pub(crate) severity: String,
    pub(crate) message: String,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
    pub(crate) origin: Option<String>,
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

pub(crate) fn diagnostic(d: &segcore::Diagnostic) -> Diagnostic {
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
