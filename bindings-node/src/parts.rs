//! The fast path for plain profile objects. `index.js` projects what a compiled segment (or
//! registry) reads into arrays in its slot layout order (see [`spec`]), so crossing into Rust costs
//! one array read per value and never a property name lookup:
//!
//! - `attrs`: one element per layout attribute, `undefined` when absent;
//! - `events`: flat `[slot, index, at, p0, p1, …]` per event of a read name, where `slot` is the
//!   layout event slot, `index` the event's position in the profile (for error messages), and
//!   `p0…` the properties the rules read of that event, in [`spec`] order.
//!
//! index.js sends any profile of an unusual shape through the core's full parser instead, so the
//! errors users see are the core's.

use napi::{Env, JsDate, JsNumber, JsObject, JsString, JsUnknown, ValueType};
use segcore::{Profile, Value};

use crate::convert;
use crate::errors::{eval_err, type_error, NResult};

/// What index.js projects: see [`segcore::projection::Projection`].
pub use segcore::projection::Projection as Spec;

/// A profile read from its projection: the profile (id and events) and the attribute values in
/// slot order. With `named`, the attributes are also set on the profile by name (for `explain`,
/// which reads by name).
pub fn read(
    env: &Env,
    id: JsUnknown,
    attrs: JsObject,
    events: JsUnknown,
    spec: &Spec,
    named: bool,
) -> NResult<(Profile, Vec<Value>)> {
    let id = match id.get_type()? {
        ValueType::String => convert::string(unsafe { id.cast::<JsString>() })?,
        ValueType::Number => {
            let f = unsafe { id.cast::<JsNumber>() }.get_double()?;
            if f.fract() != 0.0 || f.abs() > convert::MAX_SAFE {
                return Err(type_error("profile id must be a string or a safe integer"));
            }
            (f as i64).to_string()
        }
        _ => return Err(type_error("profile id must be a string or a safe integer")),
    };
    if !attrs.is_array()? || attrs.get_array_length()? as usize != spec.attributes.len() {
        return Err(type_error("internal: attribute projection does not match the layout"));
    }
    let mut values = Vec::with_capacity(spec.attributes.len());
    let mut p = Profile::new(id.as_str());
    for (i, name) in spec.attributes.iter().enumerate() {
        let v: JsUnknown = attrs.get_element(i as u32)?;
        // Absent and null read the same (SPEC §4); explain also shows which were present.
        if v.get_type()? == ValueType::Undefined {
            values.push(Value::Null);
            continue;
        }
        let v = convert::to_value(env, v)?;
        if named {
            p.set_attribute(name.as_str(), v.clone());
        }
        values.push(v);
    }
    match events.get_type()? {
        ValueType::Undefined | ValueType::Null => {}
        ValueType::Object => read_events(env, &mut p, &id, unsafe { events.cast::<JsObject>() }, spec)?,
        _ => return Err(type_error("internal: event projection is not an array")),
    }
    p.finish();
    Ok((p, values))
}

fn read_events(env: &Env, p: &mut Profile, id: &str, flat: JsObject, spec: &Spec) -> NResult<()> {
    let n = flat.get_array_length()?;
    let mut i = 0;
    let number = |v: JsUnknown| -> NResult<usize> {
        if v.get_type()? != ValueType::Number {
            return Err(type_error("internal: event projection is malformed"));
        }
        Ok(unsafe { v.cast::<JsNumber>() }.get_uint32()? as usize)
    };
    while i < n {
        let slot = number(flat.get_element(i)?)?;
        let index = number(flat.get_element(i + 1)?)?;
        let Some((name, props)) = spec.events.get(slot) else {
            return Err(type_error("internal: event slot out of range"));
        };
        let at: JsUnknown = flat.get_element(i + 2)?;
        let at = match at.get_type()? {
            ValueType::String => {
                segcore::profile::parse_event_time(&convert::string(unsafe { at.cast::<JsString>() })?)
            }
            ValueType::Object if at.is_date()? => Ok(convert::date_micros(unsafe { at.cast::<JsDate>() })?),
            _ => Err("event has no string `at`".to_string()),
        }
        .map_err(|m| eval_err(segcore::profile::event_error(id, index, &m)))?;
        let mut properties = segcore::profile::Properties::new();
        for (k, prop) in props.iter().enumerate() {
            let v: JsUnknown = flat.get_element(i + 3 + k as u32)?;
            if v.get_type()? != ValueType::Undefined {
                properties.insert(prop.as_str().into(), convert::to_value(env, v)?);
            }
        }
        p.push_event(name, at, properties).map_err(eval_err)?;
        i += 3 + props.len() as u32;
    }
    Ok(())
}
