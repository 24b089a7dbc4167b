//! Arrow data (pandas, pyarrow, polars) imported through the Arrow C stream interface. Evaluating
//! the record batches (`segcore::columnar`, the core's columnar engine) happens in the core,
//! without the GIL.

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::RecordBatch;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use segcore::ErrorKind;

/// Reads every record batch of an object with `__arrow_c_stream__` (pyarrow, polars, …).
pub fn read_stream(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<RecordBatch>> {
    if !obj.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a pandas DataFrame, pyarrow Table or polars DataFrame (anything with __arrow_c_stream__)"
        )));
    }
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule =
        capsule.cast::<PyCapsule>().map_err(|_| PyTypeError::new_err("__arrow_c_stream__ did not return a capsule"))?;
    // Checks the name (`arrow_array_stream`, the Arrow PyCapsule protocol) and non-null pointer.
    let ptr = capsule
        .pointer_checked(Some(c"arrow_array_stream"))
        .map_err(|_| PyTypeError::new_err(format!("{what}: expected an `arrow_array_stream` capsule")))?
        .as_ptr() as *mut FFI_ArrowArrayStream;
    // SAFETY: the capsule is named `arrow_array_stream`, so by the Arrow PyCapsule protocol it
    // holds a valid `ArrowArrayStream`. `from_raw` moves the stream out and marks the original as
    // released, so the capsule's destructor does not release it a second time.
    let reader = unsafe { RecordBatchStreamReader::from_raw(ptr) }
        .map_err(|e| PyValueError::new_err(format!("{what}: cannot import Arrow stream: {e}")))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("{what}: cannot read Arrow data: {e}")))
}

/// The profiles stream and the optional events stream of a batch call.
pub fn read_frames(
    profiles: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Vec<RecordBatch>, Option<Vec<RecordBatch>>)> {
    let py = profiles.py();
    let tagged = |e| crate::errors::tag(py, e, ErrorKind::InvalidProfile);
    let events = match events.filter(|e| !e.is_none()) {
        Some(e) => Some(read_stream(e, "events").map_err(tagged)?),
        None => None,
    };
    Ok((read_stream(profiles, "profiles").map_err(tagged)?, events))
}

/// The outcome codes (0 false, 1 true, 2 unknown) of every segment of `program` (by id) over a
/// profiles frame and an optional events frame, read and evaluated by the core without the GIL,
/// and how many events named an entity the profiles frame lacks (ignored; Python warns).
/// `columns`: the profiles' id column, then the events' entity id, name and time columns.
pub fn evaluate_frames(
    py: Python<'_>,
    program: &segcore::Program,
    profiles: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
    cx: &segcore::EvalContext,
    columns: (String, String, String, String),
) -> PyResult<(Vec<Vec<u8>>, usize)> {
    let (pb, eb) = read_frames(profiles, events)?;
    let (id, entity_id, name, at) = columns;
    let cols = segcore::ingest::Columns { id, entity_id, name, at };
    let result = py.detach(|| -> Result<(Vec<Vec<u8>>, usize), segcore::Error> {
        let m = segcore::columnar::evaluate(program, &pb, eb.as_deref(), &cols, cx, &Default::default())?;
        let codes = (0..program.len()).map(|k| m.outcomes(k).iter().copied().map(segcore::Outcome::code).collect());
        Ok((codes.collect(), m.unmatched_events()))
    });
    result.map_err(|e| crate::errors::py_err(py, &e, segcore::Phase::Evaluate))
}
