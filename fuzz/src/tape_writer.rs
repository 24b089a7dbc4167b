//! A tape writer (the Rust twin of `bindings-wasm/js/tape.mjs`, for seeds only): JSON profiles
//! from the conformance suite become tapes the `tape` target starts from.

use segcore::binding::Projection;
use serde_json::Value as J;

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

#[derive(Default)]
pub struct Tape(pub Vec<u8>);

impl Tape {
    fn u32(&mut self, n: usize) {
        self.0.extend((n as u32).to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend(s.as_bytes());
    }
    /// A JSON value as the JS writer writes the same value (an integer beyond ±2^53 as a
    /// BigInt, `dates` writes RFC 3339 strings that parse as instants as `Date`s).
    pub fn value(&mut self, v: &J, dates: bool) {
        match v {
            J::Null => self.0.push(1),
            J::Bool(b) => self.0.push(if *b { 3 } else { 2 }),
            J::Number(n) => {
                if let Some(i) = n.as_i64().filter(|i| (*i as f64).abs() <= MAX_SAFE) {
                    self.0.push(4);
                    self.0.extend((i as f64).to_le_bytes());
                } else if n.is_i64() || n.is_u64() {
                    self.0.push(7);
                    self.str(&n.to_string());
                } else {
                    self.0.push(4);
                    self.0.extend(n.as_f64().unwrap_or(0.0).to_le_bytes());
                }
            }
            J::String(s) => match segcore::binding::parse_instant(s).filter(|t| dates && t % 1000 == 0) {
                Some(t) => {
                    self.0.push(6);
                    self.0.extend(((t / 1000) as f64).to_le_bytes());
                }
                None => {
                    self.0.push(5);
                    self.str(s);
                }
            },
            J::Array(items) => {
                self.0.push(8);
                self.u32(items.len());
                for i in items {
                    self.value(i, dates);
                }
            }
            J::Object(map) => {
                self.0.push(9);
                self.u32(map.len());
                for (k, v) in map {
                    self.str(k);
                    self.value(v, dates);
                }
            }
        }
    }
}

/// A whole profile object.
pub fn whole(profile: &J, dates: bool) -> Vec<u8> {
    let mut t = Tape::default();
    t.value(profile, dates);
    t.0
}

/// The projection of `profile` for `spec`, as `project()` in tape.mjs writes it. `None` when the
/// profile's shape is not what the projector accepts.
pub fn projected(profile: &J, spec: &Projection, dates: bool) -> Option<Vec<u8>> {
    let mut t = Tape::default();
    let obj = profile.as_object()?;
    match obj.get("id")? {
        v @ (J::String(_) | J::Number(_)) => t.value(v, false),
        _ => return None,
    }
    let attrs = obj.get("attributes").and_then(J::as_object);
    t.u32(spec.attributes.len());
    for name in &spec.attributes {
        match attrs.and_then(|a| a.get(name)) {
            None => t.0.push(0),
            Some(v) => t.value(v, dates),
        }
    }
    let events: Vec<&J> = obj.get("events").and_then(J::as_array).map(|e| e.iter().collect()).unwrap_or_default();
    let mut body = Tape::default();
    let mut n = 0;
    for (index, e) in events.iter().enumerate() {
        let Some(slot) =
            e.get("name").and_then(J::as_str).and_then(|name| spec.events.iter().position(|(s, _)| s == name))
        else {
            continue;
        };
        n += 1;
        body.u32(slot);
        body.u32(index);
        match e.get("at") {
            Some(at @ J::String(_)) => body.value(at, dates),
            _ => body.0.push(1),
        }
        let props = e.get("properties").and_then(J::as_object);
        for prop in &spec.events[slot].1 {
            match props.and_then(|p| p.get(prop)) {
                None => body.0.push(0),
                Some(v) => body.value(v, dates),
            }
        }
    }
    t.u32(n);
    t.0.extend(body.0);
    Some(t.0)
}
