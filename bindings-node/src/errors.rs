//! Errors cross to JavaScript as a napi `Error` whose message carries the details as JSON after
//! a marker; `index.js` turns it into the matching `SegmentError` subclass (or a `TypeError`).
//! The native module is private to this package, so the encoding never reaches users.

use segcore::Phase;

pub type NResult<T> = napi::Result<T>;

/// Marks a message encoded by this module.
const MARKER: &str = "\u{1}segcore";

fn encoded(details: serde_json::Value) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{MARKER}{details}"))
}

pub use segcore::error::diagnostics_json;

/// A core error raised during `phase`, with the fields of [`segcore::Error::to_json`].
pub fn segcore_error(err: &segcore::Error, phase: Phase) -> napi::Error {
    encoded(err.to_json(phase))
}

/// A wrong argument type or shape: a JavaScript `TypeError`.
pub fn type_error(message: impl Into<String>) -> napi::Error {
    encoded(serde_json::json!({ "class": "TypeError", "message": message.into() }))
}

pub fn compile_err(err: segcore::Error) -> napi::Error {
    segcore_error(&err, Phase::Compile)
}

pub fn eval_err(err: segcore::Error) -> napi::Error {
    segcore_error(&err, Phase::Evaluate)
}
