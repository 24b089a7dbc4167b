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

fn diagnostic_json(d: &segcore::Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "kind": d.kind.as_str(),
        "severity": match d.severity {
            segcore::Severity::Error => "error",
            segcore::Severity::Warning => "warning",
        },
        "message": d.message,
        "line": d.location.map(|l| l.line),
        "column": d.location.map(|l| l.column),
        "origin": d.origin,
        "fileLine": d.file_location.map(|l| l.line),
        "fileColumn": d.file_location.map(|l| l.column),
    })
}

/// Diagnostics as JSON objects (for `check`).
pub fn diagnostics_json(diags: &[segcore::Diagnostic]) -> serde_json::Value {
    serde_json::Value::Array(diags.iter().map(diagnostic_json).collect())
}

/// A core error raised during `phase`: its first diagnostic's fields, plus the class, the stable
/// `code` and every diagnostic.
pub fn segcore_error(err: &segcore::Error, phase: Phase) -> napi::Error {
    let mut details = diagnostic_json(err.first());
    if let serde_json::Value::Object(map) = &mut details {
        map.insert("class".into(), err.class(phase).name().into());
        map.insert("code".into(), err.first().kind.as_str().into());
        map.insert("diagnostics".into(), diagnostics_json(err.diagnostics()));
    }
    encoded(details)
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
