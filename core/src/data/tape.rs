//! The tape: a byte encoding of profile data for bindings whose boundary is costly to cross one
//! value at a time (WebAssembly today). The host writes a profile's values (only those the compiled
//! rules read, in slot order; or a whole object) into one buffer, and one call reads them here —
//! in the core, so every binding decodes the same way and the decoder is tested natively. The
//! JavaScript writer is `bindings-wasm/js/tape.mjs`. Nothing here decides membership.
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
//! A *projection* (see [`crate::projection::Projection`]) is: the id (a string or number value),
//! u32 attribute count, the attribute values in slot order, u32 event count, then per event: u32
//! slot, u32 index in the profile's event list, `at` (a string or `Date` value), and the values of
//! the properties read of that slot, in projection order.
//!
//! Numbers follow the Node binding: an integer within ±2^53 is an integer, any other finite number
//! a float; `NaN`/`Infinity` are refused. A `Date` is its RFC 3339 instant, a `BigInt` an exact
//! integer.
//!
//! Errors: a malformed tape or a value data cannot hold is a [`TapeError::Type`] (the bindings raise
//! their language's `TypeError`); a profile the core rejects is a [`TapeError::Profile`]. No input
//! panics: the tests feed random bytes.
//!
//! ```
//! use segcore::{binding::Projection, tape, Definition, Segment};
//! let seg = Segment::compile(Definition::new("a", "1.0.0", "age >= 18"), None).unwrap();
//! let spec = Projection::new(seg.layout(), seg.read_set());
//! // id "u1", 1 attribute: 30.0, no events
//! let mut bytes = vec![5, 2, 0, 0, 0, b'u', b'1', 1, 0, 0, 0, 4];
//! bytes.extend(30f64.to_le_bytes());
//! bytes.extend(0u32.to_le_bytes());
//! let (profile, values) = tape::read_projection(&bytes, &spec, false).unwrap();
//! assert_eq!(profile.id(), "u1");
//! assert_eq!(values, [segcore::Value::Int(30)]);
//! ```

use crate::projection::Projection;
use crate::{Error, Profile, Value};

/// Why a tape could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum TapeError {
    /// A malformed tape, or a value that segcore data cannot hold (NaN, a BigInt beyond 64 bits):
    /// the binding's `TypeError`.
    Type(String),
    /// The profile itself is invalid (an unparseable event time, an unknown field, ...).
    Profile(Error),
}

impl std::fmt::Display for TapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TapeError::Type(m) => f.write_str(m),
            TapeError::Profile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TapeError {}

type TResult<T> = Result<T, TapeError>;

fn type_error(message: impl Into<String>) -> TapeError {
    TapeError::Type(message.into())
}

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A cursor over a tape.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn malformed() -> TapeError {
    type_error("internal: malformed profile tape")
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> TResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(malformed)?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> TResult<u8> {
        Ok(self.take(1)?[0])
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> TResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> TResult<f64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn str(&mut self) -> TResult<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| type_error("invalid UTF-8 in string"))
    }

    /// A value as a core value: scalars directly, the rest through JSON (money is recognised there).
    pub fn value(&mut self) -> TResult<Option<Value>> {
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
            _ => Value::from_json(&self.json_tagged(tag, 0, crate::limits::MAX_VALUE_DEPTH)?),
        }))
    }

    /// A value as JSON (`undefined` as `null`): a whole document, such as a profile object, whose
    /// frame holds values up to the data limit (the document's parser checks each value exactly).
    pub fn json(&mut self) -> TResult<serde_json::Value> {
        let tag = self.u8()?;
        self.json_tagged(tag, 0, crate::document::MAX_DOCUMENT_DEPTH)
    }

    fn json_tagged(&mut self, tag: u8, depth: usize, limit: usize) -> TResult<serde_json::Value> {
        use serde_json::Value as J;
        // Lists and objects nest at most MAX_VALUE_DEPTH (the writers check first; this keeps the
        // decoder's recursion bounded whatever the bytes say).
        if matches!(tag, 8 | 9) && depth >= limit {
            return Err(TapeError::Profile(Error::new(
                crate::ErrorKind::LimitExceeded,
                format!("value is nested more than {} levels deep", crate::limits::MAX_VALUE_DEPTH),
            )));
        }
        Ok(match tag {
            0 | 1 => J::Null,
            2 => J::Bool(false),
            3 => J::Bool(true),
            4 => number_json(self.f64()?)?,
            5 => J::String(self.str()?.to_string()),
            6 => J::String(crate::time::format_timestamp(date_micros(self.f64()?)?)),
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
                    items.push(self.json_tagged(tag, depth + 1, limit)?);
                }
                J::Array(items)
            }
            9 => {
                let n = self.u32()? as usize;
                let mut map = serde_json::Map::new();
                for _ in 0..n {
                    let key = self.str()?.to_string();
                    let tag = self.u8()?;
                    map.insert(key, self.json_tagged(tag, depth + 1, limit)?);
                }
                J::Object(map)
            }
            _ => return Err(malformed()),
        })
    }
}

fn number_json(f: f64) -> TResult<serde_json::Value> {
    js_number(f).map(serde_json::Value::Number).map_err(type_error)
}

/// How a JavaScript number becomes data, on every JS route (the tape, and the Node binding's
/// conversion of FX tables and segment results): a safe integer (|n| ≤ 2^53 − 1) is an integer,
/// any other finite number a float — except an integer-valued number between 2^53 and 2^63,
/// which is refused: JS has already rounded it if it was meant as a 64-bit integer (an id, a
/// counter), and reading it as a float would compare unequal to the exact value without a word.
/// A `BigInt`, or the profile as JSON text (`Profile.fromJSON`), carries such integers exactly.
/// NaN and ±Infinity are refused: segcore data has neither. The error is the message of the
/// `TypeError` the bindings raise.
///
/// ```
/// use segcore::tape::js_number;
/// assert_eq!(js_number(3.0).unwrap(), serde_json::Number::from(3));
/// assert_eq!(js_number(2.5).unwrap().as_f64(), Some(2.5));
/// assert!(js_number(9_007_199_254_740_994.0).unwrap_err().contains("BigInt"));
/// assert_eq!(js_number(1e20).unwrap().as_f64(), Some(1e20)); // beyond any 64-bit integer
/// assert!(js_number(f64::NAN).is_err());
/// ```
pub fn js_number(f: f64) -> Result<serde_json::Number, String> {
    /// 2^63: integer-valued numbers from here on cannot be segcore integers at all.
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
        return Ok(serde_json::Number::from(f as i64));
    }
    if f.fract() == 0.0 && f.abs() <= I64_LIMIT {
        return Err(format!(
            "{f} is an integer beyond 2^53, which a JS number cannot hold exactly (it may already be rounded): \
             pass a BigInt (e.g. {}n), or the profile as JSON text with Profile.fromJSON",
            f as i64
        ));
    }
    serde_json::Number::from_f64(f)
        .ok_or_else(|| format!("{f} is not a finite number; segcore data has no NaN or Infinity"))
}

/// A `Date`'s time value (ms) as microseconds; an invalid date is a `TypeError`.
pub fn date_micros(ms: f64) -> TResult<i64> {
    if !ms.is_finite() {
        return Err(type_error("invalid Date (its time value is NaN)"));
    }
    Ok((ms * 1000.0) as i64)
}

/// A whole profile object (every field checked by the core's parser).
pub fn read_whole(bytes: &[u8]) -> TResult<Profile> {
    let json = Reader::new(bytes).json()?;
    Profile::from_json(&json).map_err(TapeError::Profile)
}

/// A profile read from its projection: the profile (id and events) and the attribute values in
/// slot order. With `named`, the attributes are also set on the profile by name (for `explain`,
/// which reads by name).
pub fn read_projection(bytes: &[u8], spec: &Projection, named: bool) -> TResult<(Profile, Vec<Value>)> {
    let mut r = Reader::new(bytes);
    let id: Box<str> = match r.value()? {
        Some(Value::Str(s)) => s,
        Some(Value::Int(i)) => i.to_string().into(),
        _ => return Err(type_error("profile id must be a string or a safe integer")),
    };
    if r.u32()? as usize != spec.attributes.len() {
        return Err(type_error("internal: attribute projection does not match the layout"));
    }
    let mut p = Profile::new(id);
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
            5 => crate::profile::parse_event_time(r.str()?),
            6 => Ok(date_micros(r.f64()?)?),
            _ => Err(crate::profile::EventProblem::NoAt),
        }
        .map_err(|m| TapeError::Profile(m.at(p.id(), index as usize)))?;
        let mut properties = crate::profile::Properties::new();
        for prop in props {
            if let Some(v) = r.value()? {
                properties.insert(prop.as_str().into(), v);
            }
        }
        p.push_event(name, at, properties).map_err(TapeError::Profile)?;
    }
    p.finish();
    Ok((p, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Definition, Segment};

    fn spec(rule: &str) -> Projection {
        let seg = Segment::compile(Definition::new("t", "1.0.0", rule), None).unwrap();
        Projection::new(seg.layout(), seg.read_set())
    }

    /// A small tape writer, the Rust twin of `js/tape.mjs`, for the tests.
    #[derive(Default)]
    struct W(Vec<u8>);
    impl W {
        fn u32(mut self, n: u32) -> W {
            self.0.extend(n.to_le_bytes());
            self
        }
        fn num(mut self, f: f64) -> W {
            self.0.push(4);
            self.0.extend(f.to_le_bytes());
            self
        }
        fn text(mut self, tag: u8, s: &str) -> W {
            self.0.push(tag);
            self.0.extend((s.len() as u32).to_le_bytes());
            self.0.extend(s.as_bytes());
            self
        }
        /// An object key: length and bytes, no tag.
        fn key(mut self, s: &str) -> W {
            self.0.extend((s.len() as u32).to_le_bytes());
            self.0.extend(s.as_bytes());
            self
        }
        fn tag(mut self, t: u8) -> W {
            self.0.push(t);
            self
        }
        fn date(mut self, ms: f64) -> W {
            self.0.push(6);
            self.0.extend(ms.to_le_bytes());
            self
        }
    }

    #[test]
    fn projection_reads_values_in_slot_order_and_events() {
        let spec = spec(r#"age >= 18 and plan = "pro" and count(purchase where sku = "a" within 30d) >= 1"#);
        assert_eq!(spec.attributes, ["age", "plan"]);
        let tape = W::default()
            .num(7.0) // id 7
            .u32(2)
            .num(30.0)
            .text(5, "pro")
            .u32(2)
            .u32(0)
            .u32(4) // slot 0, index 4
            .text(5, "2026-03-10T00:00:00Z")
            .text(5, "a")
            .u32(0)
            .u32(9)
            .date(1_773_100_800_000.0) // 2026-03-10T00:00:00Z
            .tag(0); // sku absent
        let (p, values) = read_projection(&tape.0, &spec, true).unwrap();
        assert_eq!(p.id(), "7");
        assert_eq!(values, [Value::Int(30), Value::Str("pro".into())]);
        assert_eq!(p.attribute("plan"), Some(&Value::Str("pro".into())));
        assert_eq!(p.event_count(), 2);
    }

    #[test]
    fn numbers_follow_the_js_rules_and_nan_is_refused() {
        let spec = spec("x > 1");
        let read = |f: f64| read_projection(&W::default().text(5, "u").u32(1).num(f).u32(0).0, &spec, false);
        assert_eq!(read(3.0).unwrap().1, [Value::Int(3)]);
        assert_eq!(read(2.5).unwrap().1, [Value::Float(2.5)]);
        // 2^53 + 2 is not a safe integer: maybe a rounded 64-bit id, so refused (a BigInt carries it).
        assert!(matches!(read(9_007_199_254_740_994.0), Err(TapeError::Type(m)) if m.contains("BigInt")));
        assert!(matches!(read(-9_007_199_254_740_994.0), Err(TapeError::Type(_))));
        // Beyond 2^63 no 64-bit integer is meant: a float.
        assert_eq!(read(1e20).unwrap().1, [Value::Float(1e20)]);
        assert!(matches!(read(f64::NAN), Err(TapeError::Type(m)) if m.contains("not a finite number")));
        assert!(matches!(read(f64::INFINITY), Err(TapeError::Type(_))));
    }

    #[test]
    fn whole_objects_go_through_the_core_parser() {
        // {"id": "u", "attributes": {"big": 9007199254740993n, "when": Date(0)}}
        let bytes = W::default()
            .tag(9)
            .u32(2)
            .key("id")
            .text(5, "u")
            .key("attributes")
            .tag(9)
            .u32(2)
            .key("big")
            .text(7, "9007199254740993")
            .key("when")
            .date(0.0)
            .0;
        let p = read_whole(&bytes).unwrap();
        assert_eq!(p.attribute("big"), Some(&Value::Int(9_007_199_254_740_993)));
        assert_eq!(p.attribute("when"), Some(&Value::Str("1970-01-01T00:00:00Z".into())));
        // An unknown profile field is the core's error, not a tape error.
        let bad = W::default().tag(9).u32(1).key("extra").tag(1).0;
        assert!(
            matches!(read_whole(&bad), Err(TapeError::Profile(e)) if e.first().message.contains("unknown profile field"))
        );
    }

    #[test]
    fn bad_event_times_are_profile_errors_naming_the_event() {
        let spec = spec("count(purchase) > 0");
        let tape = W::default().text(5, "u1").u32(0).u32(1).u32(0).u32(3).text(5, "yesterday");
        match read_projection(&tape.0, &spec, false) {
            Err(TapeError::Profile(e)) => assert!(e.first().message.starts_with("profile `u1`, event 3:")),
            other => panic!("expected a profile error, got {other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            bytes.push(8);
            bytes.extend(1u32.to_le_bytes());
        }
        bytes.push(1);
        assert!(
            matches!(read_whole(&bytes), Err(TapeError::Profile(e)) if e.first().kind == crate::ErrorKind::LimitExceeded)
        );
    }

    #[test]
    fn random_and_truncated_tapes_never_panic() {
        let spec = spec(r#"age >= 18 and count(purchase where sku = "a" within 30d) >= 1 and tags contains "x""#);
        let valid = W::default()
            .text(5, "u")
            .u32(spec.attributes.len() as u32)
            .num(30.0)
            .tag(8)
            .u32(1)
            .text(5, "x")
            .u32(1)
            .u32(0)
            .u32(0)
            .text(5, "2026-03-10T00:00:00Z")
            .text(5, "a")
            .0;
        assert!(read_projection(&valid, &spec, false).is_ok());
        for cut in 0..valid.len() {
            let _ = read_projection(&valid[..cut], &spec, false);
            let _ = read_whole(&valid[..cut]);
        }
        // xorshift: deterministic random tapes, biased towards valid tags and small lengths.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => (next() % 10) as u8,
                    1 => 0,
                    _ => next() as u8,
                })
                .collect();
            let _ = read_projection(&bytes, &spec, true);
            let _ = read_whole(&bytes);
        }
    }
}
