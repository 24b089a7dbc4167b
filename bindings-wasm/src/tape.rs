//! Profiles cross into the module on a tape (see [`segcore::tape`] for the format and the decoder;
//! `js/tape.mjs` writes it into the scratch buffer). This maps the core's tape errors to the
//! JavaScript errors the wrapper raises.

use segcore::binding::Projection;
use segcore::tape::TapeError;
use segcore::{Profile, Value};
use wasm_bindgen::JsValue;

use crate::errors::{eval_err, type_error, WResult};

fn js_error(e: TapeError) -> JsValue {
    match e {
        TapeError::Type(m) => type_error(m),
        TapeError::Profile(e) => eval_err(e),
    }
}

/// A whole profile object (every field checked by the core's parser).
pub fn full_profile(bytes: &[u8]) -> WResult<Profile> {
    segcore::tape::read_whole(bytes).map_err(js_error)
}

/// A projected profile and its attribute values in slot order (see [`segcore::tape::read_projection`]).
pub fn projected_profile(bytes: &[u8], spec: &Projection, named: bool) -> WResult<(Profile, Vec<Value>)> {
    segcore::tape::read_projection(bytes, spec, named).map_err(js_error)
}
