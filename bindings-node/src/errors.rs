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

pub use segcore::binding::diagnostics_json;

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

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The error a caught panic becomes: kind `internal`, raised as the base class `SegmentError`.
pub fn internal_error(message: &str) -> napi::Error {
    let err = segcore::Error::new(
        segcore::ErrorKind::Internal,
        format!("internal error in segcore (a bug; please report it): {message}"),
    );
    let mut details = err.to_json(Phase::Evaluate);
    details["class"] = "SegmentError".into();
    encoded(details)
}

/// Runs the body of a native entry point, turning a Rust panic into the segcore error of kind
/// `internal`. napi-rs does not catch panics by default: one unwinding out of an `extern "C"`
/// callback aborts the process. Every `#[napi]` function (and the batch task's `compute`) runs in
/// here; `testPanic` proves it works.
pub fn guard<T>(body: impl FnOnce() -> NResult<T>) -> NResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(internal_error(&panic_message(payload.as_ref()))),
    }
}
