//! The tape: how profile data crosses from JavaScript into the module. Crossing the boundary one
//! value at a time costs a call each, so `js/tape.mjs` writes a profile's values (only those the
//! compiled rules read, in slot order; or a whole object) into a scratch buffer inside the
//! module's memory, and one call reads them here. Nothing here decides membership.
//!
//! Little-endian. A value is a tag byte and its payload:
//!
//! | tag | value | payload |
//! |---|---|---|
//! | 0 | absent (`undefined`) | — |
//! | 1 | `null` | — |
//! | 2, 3 | `false`, `true` | — |
//! | 4 | number | f64 |
//! | 5 | string | u32 byte length, UTF-8 |
//! | 6 | `Date` | f64 milliseconds since the epoch |
//! | 7 | `BigInt` | u32 length, decimal ASCII |
//! | 8 | array | u32 count, values |
//! | 9 | object | u32 count, then per member: u32 key length, key UTF-8, value |
//!
//! A *projection* (see [`segcore::projection::Projection`]) is: the id (a string or number value),
//! u32 attribute count, the attribute values in slot order, u32 event count, then per event: u32
//! slot, u32 index in the profile's event list, `at` (a string or `Date` value), and the values of
//! the properties read of that slot, in projection order.
//!
//! Numbers follow the Node binding: an integer within ±2^53 is an integer, any other finite number
//! a float; `NaN`/`Infinity` are refused. A `Date` is its RFC 3339 instant, a `BigInt` an exact
//! integer.

use segcore::projection::Projection;
use segcore::{Profile, Value};

use crate::errors::{eval_err, type_error, WResult};

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Deepest nesting accepted (as in the Node binding).
const MAX_DEPTH: usize = 128;

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn malformed() -> wasm_bindgen::JsValue {
    type_error("internal: malformed profile tape")
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> WResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(malformed)?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> WResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> WResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> WResult<f64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn str(&mut self) -> WResult<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| type_error("invalid UTF-8 in string"))
    }

    /// A value as a core value: scalars directly, the rest through JSON (money is recognised there).
    pub fn value(&mut self) -> WResult<Option<Value>> {
        let tag = self.u8()?;
        Ok(Some(match tag {
            0 => return Ok(None),
            1 => Value::Null,
            2 => Value::Bool(false),
            3 => Value::Bool(true),
            4 => {
                let f = self.f64()?;
                if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
                    Value::Int(f as i64)
                } else {
                    Value::from_json(&number_json(f)?)
                }
            }
            5 => Value::Str(self.str()?.into()),
            _ => Value::from_json(&self.json_tagged(tag, 0)?),
        }))
    }

    /// A value as JSON (`undefined` as `null`).
    pub fn json(&mut self) -> WResult<serde_json::Value> {
        let tag = self.u8()?;
        self.json_tagged(tag, 0)
    }

    fn json_tagged(&mut self, tag: u8, depth: usize) -> WResult<serde_json::Value> {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return Err(type_error("value is nested more than 128 levels deep"));
        }
        Ok(match tag {
            0 | 1 => J::Null,
            2 => J::Bool(false),
            3 => J::Bool(true),
            4 => number_json(self.f64()?)?,
            5 => J::String(self.str()?.to_string()),
            6 => J::String(segcore::time::format_timestamp(date_micros(self.f64()?)?)),
            7 => {
                let digits = self.str()?;
                if let Ok(i) = digits.parse::<i64>() {
                    J::from(i)
                } else if let Ok(u) = digits.parse::<u64>() {
                    J::from(u)
                } else {
                    return Err(type_error("BigInt does not fit in 64 bits"));
                }
            }
            8 => {
                let n = self.u32()? as usize;
                let mut items = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    let tag = self.u8()?;
                    items.push(self.json_tagged(tag, depth + 1)?);
                }
                J::Array(items)
            }
            9 => {
                let n = self.u32()? as usize;
                let mut map = serde_json::Map::new();
                for _ in 0..n {
                    let key = self.str()?.to_string();
                    let tag = self.u8()?;
                    map.insert(key, self.json_tagged(tag, depth + 1)?);
                }
                J::Object(map)
            }
            _ => return Err(malformed()),
        })
    }
}

fn number_json(f: f64) -> WResult<serde_json::Value> {
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
        return Ok(serde_json::Value::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or_else(|| type_error(format!("{f} is not a finite number; segcore data has no NaN or Infinity")))
}

/// A `Date`'s time value (ms) as microseconds; an invalid date is a `TypeError`.
pub fn date_micros(ms: f64) -> WResult<i64> {
    if !ms.is_finite() {
        return Err(type_error("invalid Date (its time value is NaN)"));
    }
    Ok((ms * 1000.0) as i64)
}

/// A whole profile object (every field checked by the core's parser).
pub fn full_profile(bytes: &[u8]) -> WResult<Profile> {
    let json = Reader::new(bytes).json()?;
    Profile::from_json(&json).map_err(eval_err)
}

/// A profile read from its projection: the profile (id and events) and the attribute values in
/// slot order. With `named`, the attributes are also set on the profile by name (for `explain`,
/// which reads by name).
pub fn projected_profile(bytes: &[u8], spec: &Projection, named: bool) -> WResult<(Profile, Vec<Value>)> {
    let mut r = Reader::new(bytes);
    let id = match r.value()? {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        _ => return Err(type_error("profile id must be a string or a safe integer")),
    };
    if r.u32()? as usize != spec.attributes.len() {
        return Err(type_error("internal: attribute projection does not match the layout"));
    }
    let mut p = Profile::new(id.as_str());
    let mut values = Vec::with_capacity(spec.attributes.len());
    for name in &spec.attributes {
        // Absent and null read the same (SPEC §4); explain also shows which were present.
        match r.value()? {
            None => values.push(Value::Null),
            Some(v) => {
                if named {
                    p.set_attribute(name.as_str(), v.clone());
                }
                values.push(v);
            }
        }
    }
    let events = r.u32()?;
    for _ in 0..events {
        let slot = r.u32()? as usize;
        let index = r.u32()?;
        let Some((name, props)) = spec.events.get(slot) else {
            return Err(type_error("internal: event slot out of range"));
        };
        let at = match r.u8()? {
            5 => segcore::profile::parse_event_time(r.str()?),
            6 => Ok(date_micros(r.f64()?)?),
            _ => Err("event has no string `at`".to_string()),
        }
        .map_err(|m| eval_err(segcore::profile::event_error(&id, index as usize, &m)))?;
        let mut properties = segcore::profile::Properties::new();
        for prop in props {
            if let Some(v) = r.value()? {
                properties.insert(prop.as_str().into(), v);
            }
        }
        p.push_event(name, at, properties).map_err(eval_err)?;
    }
    p.finish();
    Ok((p, values))
}
