//! JavaScript values → the core's input types. Nothing here decides membership.
//!
//! Numbers: a JS number that is an integer within ±2^53 is an integer, any other finite number a
//! float; a `BigInt` is an exact integer (for ids and counters beyond 2^53). A `Date` becomes its
//! RFC 3339 instant. `NaN`/`Infinity`, functions and symbols are refused with a `TypeError`.

use napi::{Env, JsBigInt, JsBoolean, JsDate, JsNumber, JsObject, JsString, JsUnknown, ValueType};
use segcore::{Profile, Value};

use crate::errors::{type_error, NResult};

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Any JS value as JSON, for definitions, schemas, FX quotes and whole profiles.
pub fn to_json(v: JsUnknown) -> NResult<serde_json::Value> {
    to_json_at(v, 0)
}

fn to_json_at(v: JsUnknown, depth: usize) -> NResult<serde_json::Value> {
    use serde_json::Value as J;
    if depth > 128 {
        return Err(type_error("value is nested more than 128 levels deep"));
    }
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
            let obj = unsafe { v.cast::<JsObject>() };
            if obj.is_array()? {
                let n = obj.get_array_length()?;
                let mut items = Vec::with_capacity(n as usize);
                for i in 0..n {
                    items.push(to_json_at(obj.get_element::<JsUnknown>(i)?, depth + 1)?);
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
                    map.insert(key, to_json_at(value, depth + 1)?);
                }
                J::Object(map)
            }
        }
        other => return Err(type_error(format!("cannot pass a {} to segcore", type_name(other)))),
    })
}

fn number_json(f: f64) -> NResult<serde_json::Value> {
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
        return Ok(serde_json::Value::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or_else(|| type_error(format!("{f} is not a finite number; segcore data has no NaN or Infinity")))
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
    Ok(s.into_utf8()?.into_owned()?)
}

fn date_text(d: JsDate) -> NResult<String> {
    Ok(segcore::time::format_timestamp(date_micros(d)?))
}

/// A `Date` as microseconds since the epoch; an invalid date is a `TypeError`.
pub fn date_micros(d: JsDate) -> NResult<i64> {
    let ms = d.value_of()?;
    if !ms.is_finite() {
        return Err(type_error("invalid Date (its time value is NaN)"));
    }
    Ok((ms * 1000.0) as i64)
}

/// A scalar straight to a core value; objects and arrays through JSON (money is recognised there).
fn to_value(v: JsUnknown) -> NResult<Value> {
    Ok(match v.get_type()? {
        ValueType::Null | ValueType::Undefined => Value::Null,
        ValueType::Boolean => Value::Bool(unsafe { v.cast::<JsBoolean>() }.get_value()?),
        ValueType::String => Value::Str(string(unsafe { v.cast::<JsString>() })?.into()),
        ValueType::Number => {
            let f = unsafe { v.cast::<JsNumber>() }.get_double()?;
            if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
                Value::Int(f as i64)
            } else {
                Value::from_json(&number_json(f)?)
            }
        }
        _ => Value::from_json(&to_json(v)?),
    })
}

/// The names a compiled rule reads, to convert only those (the read set).
pub struct Keys {
    attributes: Vec<String>,
    /// Event name, then the properties read of it.
    events: Vec<(String, Vec<String>)>,
}

impl Keys {
    pub fn new(read: &segcore::ReadSet) -> Keys {
        Keys {
            attributes: read.attributes.iter().cloned().collect(),
            events: read
                .events
                .iter()
                .map(|e| (e.clone(), read.event_properties.get(e).into_iter().flatten().cloned().collect()))
                .collect(),
        }
    }
}

/// Why the fast path gave up: the whole profile goes through the core's validating parser, so
/// errors (and odd shapes) are exactly the core's.
struct Unusual;

/// Converts a profile object, crossing only what `keys` names. The caller (index.js) has checked
/// that the object has no keys besides `id`, `attributes` and `events`.
pub fn profile(env: &Env, obj: JsObject, keys: &Keys) -> NResult<Profile> {
    match profile_fast(env, &obj, keys)? {
        Ok(p) => Ok(p),
        Err(Unusual) => full_profile(obj.into_unknown()),
    }
}

/// The whole object through JSON and `Profile::from_json`.
pub fn full_profile(v: JsUnknown) -> NResult<Profile> {
    Profile::from_json(&to_json(v)?).map_err(|e| crate::errors::segcore_error(&e, segcore::Phase::Evaluate))
}

fn profile_fast(_env: &Env, obj: &JsObject, keys: &Keys) -> NResult<Result<Profile, Unusual>> {
    let id_value: JsUnknown = obj.get_named_property("id")?;
    let id = match id_value.get_type()? {
        ValueType::String => string(unsafe { id_value.cast::<JsString>() })?,
        ValueType::Number => {
            let f = unsafe { id_value.cast::<JsNumber>() }.get_double()?;
            if f.fract() != 0.0 || f.abs() > MAX_SAFE {
                return Ok(Err(Unusual));
            }
            (f as i64).to_string()
        }
        _ => return Ok(Err(Unusual)),
    };
    let mut p = Profile::new(id.as_str());
    if !keys.attributes.is_empty() {
        let attrs: JsUnknown = obj.get_named_property("attributes")?;
        match attrs.get_type()? {
            ValueType::Undefined | ValueType::Null => {}
            ValueType::Object => {
                let attrs = unsafe { attrs.cast::<JsObject>() };
                if attrs.is_array()? {
                    return Ok(Err(Unusual));
                }
                for name in &keys.attributes {
                    let v: JsUnknown = attrs.get_named_property(name)?;
                    if v.get_type()? != ValueType::Undefined {
                        p.set_attribute(name.as_str(), to_value(v)?);
                    }
                }
            }
            _ => return Ok(Err(Unusual)),
        }
    }
    if keys.events.is_empty() {
        return Ok(Ok(p));
    }
    let events: JsUnknown = obj.get_named_property("events")?;
    let events = match events.get_type()? {
        ValueType::Undefined | ValueType::Null => return Ok(Ok(p)),
        ValueType::Object => unsafe { events.cast::<JsObject>() },
        _ => return Ok(Err(Unusual)),
    };
    if !events.is_array()? {
        return Ok(Err(Unusual));
    }
    let n = events.get_array_length()?;
    for i in 0..n {
        let e: JsUnknown = events.get_element(i)?;
        if e.get_type()? != ValueType::Object {
            return Ok(Err(Unusual));
        }
        let e = unsafe { e.cast::<JsObject>() };
        let name: JsUnknown = e.get_named_property("name")?;
        if name.get_type()? != ValueType::String {
            return Ok(Err(Unusual));
        }
        let name = string(unsafe { name.cast::<JsString>() })?;
        let Some((name, wanted)) = keys.events.iter().find(|(n, _)| *n == name) else { continue };
        let at: JsUnknown = e.get_named_property("at")?;
        let at = match at.get_type()? {
            ValueType::String => segcore::profile::parse_event_time(&string(unsafe { at.cast::<JsString>() })?),
            ValueType::Object if at.is_date()? => Ok(date_micros(unsafe { at.cast::<JsDate>() })?),
            _ => return Ok(Err(Unusual)),
        };
        let at = match at {
            Ok(at) => at,
            Err(_) => return Ok(Err(Unusual)),
        };
        let mut props = segcore::profile::Properties::new();
        if !wanted.is_empty() {
            let pr: JsUnknown = e.get_named_property("properties")?;
            match pr.get_type()? {
                ValueType::Undefined | ValueType::Null => {}
                ValueType::Object => {
                    let pr = unsafe { pr.cast::<JsObject>() };
                    for prop in wanted {
                        let v: JsUnknown = pr.get_named_property(prop)?;
                        if v.get_type()? != ValueType::Undefined {
                            props.insert(prop.as_str().into(), to_value(v)?);
                        }
                    }
                }
                _ => return Ok(Err(Unusual)),
            }
        }
        if p.push_event(name, at, props).is_err() {
            return Ok(Err(Unusual));
        }
    }
    p.finish();
    Ok(Ok(p))
}
