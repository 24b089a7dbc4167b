//! Execution backends over a [`crate::Program`]: the interpreter, `explain`, and the batch driver
//! (profiles bound to the program's slot layout, evaluated segment by segment).

pub mod batch;
pub(crate) mod bind;
#[cfg(feature = "arrow")]
pub mod columnar;
pub(crate) mod eval;
pub(crate) mod explain;
pub mod stream;
pub mod temporal;
