//! `SqlQuery`: the generated membership query of a segment or registry.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use segcore::Phase;

use crate::errors::{guard, py_err, tag};
use crate::*;

/// A generated SQL query (see `Registry.to_sql`): the text and the input columns it reads.
#[pyclass(frozen, module = "segcore", get_all, skip_from_py_object)]
pub(crate) struct SqlQuery {
    pub(crate) dialect: String,
    pub(crate) sql: String,
    /// `(name, segcore type, SQL type)` of the profiles table's columns.
    pub(crate) profile_columns: Vec<(String, String, String)>,
    /// `(name, segcore type, SQL type)` of the events table's columns.
    pub(crate) event_columns: Vec<(String, String, String)>,
    pub(crate) ddl: String,
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
pub(crate) fn to_sql_query(
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
        .map_err(|e| tag(py, PyValueError::new_err(e.first().message.clone()), e.kind()))?;
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
