//! Errors cross to JavaScript as a thrown string: a marker, then the details as JSON
//! ([`segcore::Error::to_json`], the same fields the Node binding uses). The wrapper
//! (`js/api.mjs`) turns it into the matching `SegmentError` subclass or a `TypeError`. The raw
//! module is private to the package, so the encoding never reaches users.

use segcore::Phase;
use wasm_bindgen::JsValue;

pub type WResult<T> = Result<T, JsValue>;

/// Marks a message encoded by this module.
const MARKER: &str = "\u{1}segcore";

fn encoded(details: serde_json::Value) -> JsValue {
    JsValue::from_str(&format!("{MARKER}{details}"))
}

/// A wrong argument type or shape: a JavaScript `TypeError`.
pub fn type_error(message: impl Into<String>) -> JsValue {
    encoded(serde_json::json!({ "class": "TypeError", "message": message.into() }))
}

pub fn compile_err(err: segcore::Error) -> JsValue {
    encoded(err.to_json(Phase::Compile))
}

pub fn eval_err(err: segcore::Error) -> JsValue {
    encoded(err.to_json(Phase::Evaluate))
}

pub use segcore::binding::diagnostics_json;
