//! Reconciliation (SPEC §24): fingerprints, sketches and fingerprint SQL as Python objects. Ids
//! cross as strings (an `int` id is its decimal text, as in exports); every computation is the
//! core's.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyString};
use segcore::reconcile::{self, Key};
use segcore::{ErrorKind, Phase};

use crate::errors::{guard, py_err, tag};

fn key_of(py: Python<'_>, key: Option<&str>) -> PyResult<Key> {
    Key::new(key.unwrap_or(Key::DEFAULT)).map_err(|e| py_err(py, &e, Phase::Evaluate))
}

/// Ids from any iterable of `str` or `int` (a pyarrow/polars/pandas column iterates as such).
pub(crate) fn ids_of(py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if ids.is_instance_of::<PyString>() {
        return Err(tag(
            py,
            PyTypeError::new_err("ids must be an iterable of ids, not one string"),
            ErrorKind::InvalidIds,
        ));
    }
    // A list of str (the common case): one extraction, no per-item type probing.
    if ids.is_instance_of::<pyo3::types::PyList>() {
        if let Ok(all) = ids.extract::<Vec<String>>() {
            return Ok(all);
        }
    }
    let mut out = Vec::with_capacity(ids.len().unwrap_or(0));
    for (i, item) in ids.try_iter()?.enumerate() {
        let item = item?;
        if let Ok(s) = item.cast::<PyString>() {
            out.push(s.to_cow()?.into_owned());
            continue;
        }
        // pyarrow scalars: their Python value.
        let item =
            if item.is_instance_of::<PyInt>() || !item.hasattr("as_py")? { item } else { item.call_method0("as_py")? };
        if let Ok(s) = item.cast::<PyString>() {
            out.push(s.to_cow()?.into_owned());
        } else if item.is_instance_of::<PyInt>() && !item.is_instance_of::<pyo3::types::PyBool>() {
            let v: i64 = item.extract().map_err(|_| {
                tag(py, PyTypeError::new_err(format!("id {i} does not fit 64 bits")), ErrorKind::InvalidIds)
            })?;
            out.push(v.to_string());
        } else if item.hasattr("__index__")? && !item.is_instance_of::<pyo3::types::PyBool>() {
            // NumPy integers (a pandas or NumPy column of ints): exact integers, never floats.
            let v: i64 = item.call_method0("__index__")?.extract().map_err(|_| {
                tag(py, PyTypeError::new_err(format!("id {i} does not fit 64 bits")), ErrorKind::InvalidIds)
            })?;
            out.push(v.to_string());
        } else {
            let what = item.get_type().name()?.to_string();
            return Err(tag(
                py,
                PyTypeError::new_err(format!("id {i} is a {what}, not a str or an int")),
                ErrorKind::InvalidIds,
            ));
        }
    }
    Ok(out)
}

/// A membership fingerprint (SPEC §24): ``str(fp)`` is the ``sfp1:`` text every runtime and the
/// generated SQL produce; ``a + b`` is the fingerprint of the union of two disjoint shards.
#[pyclass(frozen, eq, hash, module = "segcore", skip_from_py_object)]
#[derive(PartialEq, Eq, Hash, Clone)]
pub(crate) struct Fingerprint {
    inner: reconcile::Fingerprint,
}

#[pymethods]
impl Fingerprint {
    /// Reads the text form ``sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>``.
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str) -> PyResult<Fingerprint> {
        guard(|| {
            text.parse::<reconcile::Fingerprint>()
                .map(|inner| Fingerprint { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    /// The number of ids.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.count()
    }
    /// The four lane sums.
    #[getter]
    fn lanes(&self) -> [u64; 4] {
        self.inner.lanes()
    }
    /// The key tag (8 hex digits).
    #[getter]
    fn key_tag(&self) -> String {
        self.inner.to_string()[5..13].to_string()
    }
    fn __add__(&self, py: Python<'_>, other: &Fingerprint) -> PyResult<Fingerprint> {
        guard(|| {
            self.inner
                .combine(&other.inner)
                .map(|inner| Fingerprint { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
    fn __repr__(&self) -> String {
        format!("Fingerprint('{}')", self.inner)
    }
}

/// The fingerprint of a set of ids.
#[pyfunction]
#[pyo3(signature = (ids, *, key=None))]
pub(crate) fn fingerprint(py: Python<'_>, ids: &Bound<'_, PyAny>, key: Option<&str>) -> PyResult<Fingerprint> {
    guard(|| {
        let key = key_of(py, key)?;
        let ids = ids_of(py, ids)?;
        Ok(Fingerprint { inner: py.detach(|| key.fingerprint(&ids)) })
    })
}

/// A set-reconciliation sketch (SPEC §24).
#[pyclass(frozen, module = "segcore")]
pub(crate) struct Sketch {
    inner: reconcile::Sketch,
}

#[pymethods]
impl Sketch {
    /// The sketch of ``ids``: ``symbols`` coded symbols, or enough for about ``differences``
    /// differences (default 1,000).
    #[new]
    #[pyo3(signature = (ids, *, symbols=None, differences=None, key=None))]
    fn new(
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        symbols: Option<usize>,
        differences: Option<usize>,
        key: Option<&str>,
    ) -> PyResult<Sketch> {
        guard(|| {
            let key = key_of(py, key)?;
            let ids = ids_of(py, ids)?;
            let m = symbols.unwrap_or_else(|| reconcile::Sketch::symbols_for(differences.unwrap_or(1000)));
            py.detach(|| reconcile::Sketch::new(&key, &ids, m))
                .map(|inner| Sketch { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    /// Reads SPEC §24's bytes.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Sketch> {
        guard(|| {
            reconcile::Sketch::from_bytes(data)
                .map(|inner| Sketch { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    /// SPEC §24's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| Ok(PyBytes::new(py, &self.inner.to_bytes())))
    }
    /// The fingerprint of the sketched set.
    #[getter]
    fn fingerprint(&self) -> Fingerprint {
        Fingerprint { inner: *self.inner.fingerprint() }
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    /// The difference between this set (A) and ``other``'s (B): ``{"only_a": […], "only_b":
    /// […], "symbols": m}``, as ids where the side's ids are given, else as ``#`` and 16 hex digits per symbol.
    #[pyo3(signature = (other, *, ids=None, other_ids=None, key=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        other: &Sketch,
        ids: Option<&Bound<'py, PyAny>>,
        other_ids: Option<&Bound<'py, PyAny>>,
        key: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let diff = self.inner.decode(&other.inner).map_err(|e| py_err(py, &e, Phase::Evaluate))?;
            let key = key_of(py, key)?;
            let side = |symbols: &[u64], ids: Option<&Bound<'py, PyAny>>| -> PyResult<Vec<String>> {
                match ids {
                    None => Ok(symbols.iter().map(|s| format!("#{}", reconcile::symbol_hex(*s))).collect()),
                    Some(ids) => reconcile::resolve_symbols(&key, &ids_of(py, ids)?, symbols)
                        .map_err(|e| py_err(py, &e, Phase::Evaluate)),
                }
            };
            let out = PyDict::new(py);
            out.set_item("only_a", side(&diff.only_a, ids)?)?;
            out.set_item("only_b", side(&diff.only_b, other_ids)?)?;
            out.set_item("symbols", diff.symbols)?;
            Ok(out)
        })
    }
    fn __repr__(&self) -> String {
        format!("<Sketch {} symbols of {}>", self.inner.len(), self.inner.fingerprint())
    }
}

/// SQL computing the fingerprint of a table's ids (SPEC §24), in ``dialect``.
#[pyfunction]
#[pyo3(signature = (dialect, *, table=None, id_column="id", filter=None, membership_sql=None, key=None))]
pub(crate) fn fingerprint_sql(
    py: Python<'_>,
    dialect: &str,
    table: Option<&str>,
    id_column: &str,
    filter: Option<&str>,
    membership_sql: Option<&str>,
    key: Option<&str>,
) -> PyResult<String> {
    guard(|| {
        let key = key_of(py, key)?;
        let d: segcore::sql::Dialect = dialect
            .parse()
            .map_err(|e: String| tag(py, pyo3::exceptions::PyValueError::new_err(e), ErrorKind::InvalidContext))?;
        let source = match (table, membership_sql) {
            (Some(table), None) => segcore::sql::FingerprintSource::Table { table, id_column, filter },
            (None, Some(sql)) => segcore::sql::FingerprintSource::Membership(sql),
            _ => {
                return Err(tag(
                    py,
                    PyTypeError::new_err("give exactly one of table= and membership_sql="),
                    ErrorKind::InvalidContext,
                ))
            }
        };
        Ok(segcore::sql::fingerprint_sql(d, &key, &source))
    })
}

/// An identity map (SPEC §25): pairs of identifiers naming one entity → components with one
/// canonical id each (the least by ``prefer`` rank, then code point).
#[pyclass(frozen, module = "segcore")]
pub(crate) struct IdentityMap {
    pub(crate) inner: reconcile::IdentityMap,
}

#[pymethods]
impl IdentityMap {
    #[new]
    #[pyo3(signature = (pairs, *, prefer=None, unique=None, strict=false))]
    fn new(
        py: Python<'_>,
        pairs: &Bound<'_, PyAny>,
        prefer: Option<Vec<String>>,
        unique: Option<Vec<String>>,
        strict: bool,
    ) -> PyResult<IdentityMap> {
        guard(|| {
            let mut list: Vec<(String, String)> = Vec::new();
            for item in pairs.try_iter()? {
                let (a, b): (String, String) = item?.extract().map_err(|_| {
                    tag(py, PyTypeError::new_err("pairs must be (str, str) tuples"), ErrorKind::InvalidIdentity)
                })?;
                list.push((a, b));
            }
            let opts = reconcile::IdentityOptions {
                prefer: prefer.unwrap_or_default(),
                unique: unique.unwrap_or_default(),
                strict,
            };
            reconcile::IdentityMap::from_pairs(list, &opts)
                .map(|inner| IdentityMap { inner })
                .map_err(|e| py_err(py, &e, Phase::Evaluate))
        })
    }
    /// The canonical id of an identifier (itself when the map does not know it).
    fn canonical(&self, id: &str) -> String {
        self.inner.canonical(id).to_string()
    }
    /// Number of components.
    #[getter]
    fn components(&self) -> usize {
        self.inner.components()
    }
    /// Components joining two identifiers of a ``unique`` prefix: ``[(canonical, [ids])]``.
    #[getter]
    fn conflicts(&self) -> Vec<(String, Vec<String>)> {
        self.inner.report().conflicts.clone()
    }
    fn __len__(&self) -> usize {
        self.inner.identifiers()
    }
    fn __repr__(&self) -> String {
        format!("<IdentityMap {} identifiers in {} components>", self.inner.identifiers(), self.inner.components())
    }
}
