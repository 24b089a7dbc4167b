//! Checking: the syntax tree, typed against a schema and the segment's zone, becomes typed IR.

pub(crate) mod compile;
pub(crate) mod schema;
