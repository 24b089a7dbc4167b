//! JavaScript values → JSON for definitions, schemas and options (profiles cross on a tape, see
//! `segcore::tape`). Nothing here decides membership.
//!
//! Numbers follow `segcore::tape::js_number`: a JS number that is an integer within ±2^53 is an
//! integer, a number between 2^53 and 2^63 is refused (JS may have rounded it), any other finite
//! number is a float; a `BigInt` is an exact integer. A `Date` becomes its RFC 3339 instant.
//! `NaN`/`Infinity`, functions and symbols are refused with a `TypeError`.

use napi::{JsBigInt, JsBoolean, JsDate, JsNumber, JsObject, JsString, JsUnknown, ValueType};
use segcore::limits::MAX_VALUE_DEPTH;
use segcore::{Error, ErrorKind, Phase};

use crate::errors::{segcore_error, type_error, NResult};

/// Any JS value as JSON, for definitions, schemas, FX quotes and referenced segments' results.
/// `what` names it in errors; a value nesting more than [`MAX_VALUE_DEPTH`] lists/objects (the
/// value itself counts) is `limit_exceeded`, raised as the core raises it in `phase` (a
/// `DefinitionError` for definitions and schemas, a `DataError` for options).
pub fn to_json(v: JsUnknown, what: &str, phase: Phase) -> NResult<serde_json::Value> {
    to_json_at(v, 0, &|| {
        let message = format!("{what} is nested more than {MAX_VALUE_DEPTH} levels deep");
        segcore_error(&Error::new(ErrorKind::LimitExceeded, message), phase)
    })
}

/// `depth`: how many lists/objects enclose `v`.
fn to_json_at(v: JsUnknown, depth: usize, too_deep: &dyn Fn() -> napi::Error) -> NResult<serde_json::Value> {
    use serde_json::Value as J;
    Ok(match v.get_type()? {
        ValueType::Null | ValueType::Undefined => J::Null,
        ValueType::Boolean => J::Bool(unsafe { v.cast::<JsBoolean>() }.get_value()?),
        ValueType::Number => number_json(unsafe { v.cast::<JsNumber>() }.get_double()?)?,
        ValueType::BigInt => {
            let b = unsafe { v.cast::<JsBigInt>() };
            let (i, lossless) = b.get_i64()?;
            if lossless {
                J::from(i)
            } else {
                let (u, lossless) = b.get_u64()?;
                if !lossless {
                    return Err(type_error("BigInt does not fit in 64 bits"));
                }
                J::from(u)
            }
        }
        ValueType::String => J::String(string(unsafe { v.cast::<JsString>() })?),
        ValueType::Object => {
            if v.is_date()? {
                return Ok(J::String(date_text(unsafe { v.cast::<JsDate>() })?));
            }
            // `v` is the (depth + 1)-th list or object on this path.
            if depth >= MAX_VALUE_DEPTH {
                return Err(too_deep());
            }
            let obj = unsafe { v.cast::<JsObject>() };
            if obj.is_array()? {
                let n = obj.get_array_length()?;
                let mut items = Vec::with_capacity(n as usize);
                for i in 0..n {
                    items.push(to_json_at(obj.get_element::<JsUnknown>(i)?, depth + 1, too_deep)?);
                }
                J::Array(items)
            } else {
                let keys = obj.get_property_names()?;
                let n = keys.get_array_length()?;
                let mut map = serde_json::Map::new();
                for i in 0..n {
                    let key = string(keys.get_element::<JsString>(i)?)?;
                    let value: JsUnknown = obj.get_named_property(&key)?;
                    // `undefined` members are absent, as in JSON.stringify.
                    if value.get_type()? == ValueType::Undefined {
                        continue;
                    }
                    map.insert(key, to_json_at(value, depth + 1, too_deep)?);
                }
                J::Object(map)
            }
        }
        other => return Err(type_error(format!("cannot pass a {} to segcore", type_name(other)))),
    })
}

/// A JS number as data: the rule every JS route shares (`segcore::tape::js_number`).
fn number_json(f: f64) -> NResult<serde_json::Value> {
    segcore::tape::js_number(f).map(serde_json::Value::Number).map_err(type_error)
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Function => "function",
        ValueType::Symbol => "symbol",
        ValueType::External => "native external",
        _ => "value of this type",
    }
}

/// A JS string as Rust text.
pub fn string(s: JsString) -> NResult<String> {
    s.into_utf8()?.into_owned()
}

fn date_text(d: JsDate) -> NResult<String> {
    Ok(segcore::binding::format_timestamp(date_micros(d)?))
}

/// A `Date` as microseconds since the epoch; an invalid date is a `TypeError`.
pub fn date_micros(d: JsDate) -> NResult<i64> {
    let ms = d.value_of()?;
    if !ms.is_finite() {
        return Err(type_error("invalid Date (its time value is NaN)"));
    }
    Ok((ms * 1000.0) as i64)
}
