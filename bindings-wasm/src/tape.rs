//! Profiles cross into the module on a tape (see [`segcore::tape`] for the format and the decoder;
//! `js/tape.mjs` writes it into the scratch buffer). This maps the core's tape errors to the
//! JavaScript errors the wrapper raises.

use segcore::projection::Projection;
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

/// `asOf` given as a `Date`'s time value (ms): the instant, if an RFC 3339 timestamp can spell it
/// (what an `asOf` string can say); an Invalid Date or one outside that range is
/// `invalid_context`, never an instant every rule then finds UNKNOWN. (The Node binding's twin
/// is `convert::as_of_micros`.)
pub fn as_of_micros(ms: f64) -> Result<i64, segcore::Error> {
    use segcore::{Error, ErrorKind};
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidContext,
            format!("asOf is {why}; segcore needs an instant an RFC 3339 timestamp can spell (years 0000-9999)"),
        )
    };
    if !ms.is_finite() {
        return Err(bad("an Invalid Date (its time value is NaN)"));
    }
    let micros = (ms * 1000.0) as i64;
    let text = segcore::time::format_timestamp(micros);
    if segcore::parse_as_of(&text).ok() != Some(micros) {
        return Err(bad(&format!("a Date out of range ({ms} ms since 1970)")));
    }
    Ok(micros)
}
