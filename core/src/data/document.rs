//! Untrusted JSON and YAML text → `serde_json::Value`, within the limits of SPEC §19.
//!
//! Every document segcore reads (definitions, schemas, FX tables, profiles) goes through here, so
//! each runtime refuses the same inputs the same way:
//!
//! - **Nesting** is measured by a linear scan of the text *before* any parser sees it: YAML
//!   parsers take quadratic time in the nesting of flow collections (40,000 `[` took seconds, a
//!   1 MiB file minutes), and recursive builders overflow stacks.
//! - **Duplicate keys** are an error for definitions and schemas (`rule:` twice must not silently
//!   keep the last); profiles keep the last, as every language's JSON parser does.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorKind};
use crate::limits;

/// A document's own structure around a data value (`{"events": [{"properties": {"p": …}}]}`)
/// is at most this deep, so a value at the data-nesting limit still fits.
const DOCUMENT_FRAME: usize = 4;

/// Deepest document accepted by the scan.
pub const MAX_DOCUMENT_DEPTH: usize = limits::MAX_VALUE_DEPTH + DOCUMENT_FRAME;

/// How a document treats a repeated key in one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKeys {
    /// `invalid` error naming the key (definitions, schemas, FX tables).
    Refuse,
    /// The last value wins (profiles: what JSON parsers in every language do).
    KeepLast,
}

/// Parses JSON text. Errors carry `kind`, except nesting and size limits (`limit_exceeded`).
///
/// ```
/// use segcore::binding::{parse_json, DuplicateKeys};
/// use segcore::ErrorKind;
/// let v = parse_json(r#"{"a": [1, 2]}"#, ErrorKind::InvalidContext, "the FX table", DuplicateKeys::Refuse).unwrap();
/// assert_eq!(v["a"][1], 2);
/// let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
/// let e = parse_json(&deep, ErrorKind::InvalidContext, "the FX table", DuplicateKeys::Refuse).unwrap_err();
/// assert_eq!(e.first().kind, ErrorKind::LimitExceeded);
/// let e = parse_json(r#"{"a": 1, "a": 2}"#, ErrorKind::InvalidContext, "the FX table", DuplicateKeys::Refuse).unwrap_err();
/// assert_eq!(e.first().kind, ErrorKind::InvalidContext);
/// ```
pub fn parse_json(text: &str, kind: ErrorKind, what: &str, dups: DuplicateKeys) -> Result<serde_json::Value, Error> {
    check_size(text, what)?;
    check_depth(json_depth(text), what)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = ValueSeed { dups }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(|e| Error::new(kind, format!("{what} is not valid JSON: {e}")))?;
    Ok(v)
}

/// Parses YAML text (JSON is YAML). Errors carry `kind` and, where known, the line and column.
///
/// ```
/// use segcore::binding::{parse_yaml, DuplicateKeys};
/// use segcore::ErrorKind;
/// let v = parse_yaml("id: a\ntags: [x, y]\n", ErrorKind::InvalidDefinition, "definition", DuplicateKeys::Refuse).unwrap();
/// assert_eq!(v["tags"][0], "x");
/// let e = parse_yaml("rule: a\nrule: b\n", ErrorKind::InvalidDefinition, "definition", DuplicateKeys::Refuse).unwrap_err();
/// assert!(e.first().message.contains("duplicate key `rule`"));
/// ```
pub fn parse_yaml(text: &str, kind: ErrorKind, what: &str, dups: DuplicateKeys) -> Result<serde_json::Value, Error> {
    check_size(text, what)?;
    check_depth(yaml_depth(text), what)?;
    let de = serde_norway::Deserializer::from_str(text);
    ValueSeed { dups }.deserialize(de).map_err(|e| {
        let at = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
        Error::new(kind, format!("{what} is not valid YAML{at}: {e}"))
    })
}

/// How many lists/objects nest on the deepest path of `v` (`[[1]]` is 2, a scalar 0); computed
/// without recursion, so any value built by a binding can be measured.
pub fn value_depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            serde_json::Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// `limit_exceeded` when `v` nests more than [`limits::MAX_VALUE_DEPTH`] levels.
///
/// ```
/// use segcore::binding::check_value_depth;
/// let mut v = serde_json::json!(1);
/// for _ in 0..100 { v = serde_json::json!([v]); }
/// assert!(check_value_depth(&v, "attribute `a`").is_ok());
/// let v = serde_json::json!([v]);
/// assert_eq!(check_value_depth(&v, "attribute `a`").unwrap_err().first().kind, segcore::ErrorKind::LimitExceeded);
/// ```
pub fn check_value_depth(v: &serde_json::Value, what: &str) -> Result<(), Error> {
    if value_depth(v) > limits::MAX_VALUE_DEPTH {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{what} is nested more than {} levels deep", limits::MAX_VALUE_DEPTH),
        ));
    }
    Ok(())
}

fn check_size(text: &str, what: &str) -> Result<(), Error> {
    if text.len() > limits::MAX_RECORD_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{what} is {} bytes; the limit is {} bytes", text.len(), limits::MAX_RECORD_BYTES),
        ));
    }
    Ok(())
}

fn check_depth(depth: usize, what: &str) -> Result<(), Error> {
    if depth > MAX_DOCUMENT_DEPTH {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            // The same words as `check_value_depth`, which every runtime uses: a text nesting past
            // MAX_DOCUMENT_DEPTH holds a value past MAX_VALUE_DEPTH whatever its envelope.
            format!("{what} is nested more than {} levels deep", limits::MAX_VALUE_DEPTH),
        ));
    }
    Ok(())
}

/// The deepest nesting of `[`/`{` outside strings; stops counting once past the limit.
fn json_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in text.as_bytes() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_DOCUMENT_DEPTH {
                    return deepest;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A conservative bound on YAML nesting, in one pass: open flow collections (`[`, `{` outside
/// quotes and comments) plus, per line, the block levels opened by indentation and by compact
/// indicators (`- - - x`, `? `). It may overestimate for brackets inside plain scalars (a rule
/// like `tags[0] = 1` counts until its `]`), never underestimate.
fn yaml_depth(text: &str) -> usize {
    let mut deepest = 0usize;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    // Quoted scalars may span lines, so the quote state carries over.
    let mut quote = None::<u8>;
    for line in text.split('\n') {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let content = &bytes[indent..];
        let blank = content.is_empty() || content[0] == b'#' || content == b"\r";
        let mut block = 0usize;
        if flow == 0 && quote.is_none() && !blank {
            while indents.last().is_some_and(|&i| i > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
            // Compact nested block collections on one line: `- - - x`, `- ? x`.
            let mut rest = content;
            while rest.len() >= 2 && matches!(rest[0], b'-' | b'?') && matches!(rest[1], b' ' | b'\t') {
                block += 1;
                rest = &rest[2..];
                while rest.first() == Some(&b' ') {
                    rest = &rest[1..];
                }
            }
        }
        let mut line_max = flow;
        let mut prev = b' ';
        let mut i = 0;
        while i < content.len() {
            let b = content[i];
            match quote {
                Some(q) => {
                    if b == q {
                        // `''` inside a single-quoted scalar is an escaped quote.
                        if q == b'\'' && content.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    } else if q == b'"' && b == b'\\' {
                        i += 1;
                    }
                }
                None => match b {
                    b'#' if prev == b' ' || prev == b'\t' => break,
                    b'"' | b'\'' if matches!(prev, b' ' | b'\t' | b'[' | b'{' | b',' | b':') => quote = Some(b),
                    b'[' | b'{' => {
                        flow += 1;
                        line_max = line_max.max(flow);
                    }
                    b']' | b'}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            prev = b;
            i += 1;
        }
        deepest = deepest.max(indents.len() + block + line_max);
        if deepest > MAX_DOCUMENT_DEPTH {
            return deepest;
        }
    }
    deepest
}

/// Builds a `serde_json::Value` from any serde format, refusing repeated keys when asked. The
/// scans above bound its recursion.
#[derive(Clone, Copy)]
struct ValueSeed {
    dups: DuplicateKeys,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = serde_json::Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // As serde_json's own Value: a non-finite float (YAML `.nan`, `.inf`) is null.
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<MapKey>()? {
            let value = map.next_value_seed(self)?;
            if out.insert(key.0.clone(), value).is_some() && self.dups == DuplicateKeys::Refuse {
                return Err(de::Error::custom(format_args!("duplicate key `{}`", key.0)));
            }
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// An object key: a string, or (YAML) a scalar written as one — `1: x` and `true: x` keep their
/// text, as serde_json's Value does for YAML input.
struct MapKey(String);

impl<'de> de::Deserialize<'de> for MapKey {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = MapKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, v: &str) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<MapKey, E> {
                Ok(MapKey(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<serde_json::Value, Error> {
        parse_yaml(text, ErrorKind::InvalidDefinition, "definition", DuplicateKeys::Refuse)
    }

    #[test]
    fn yaml_depth_counts_flow_block_and_compact_levels() {
        assert_eq!(yaml_depth("a: 1\n"), 1);
        assert_eq!(yaml_depth("a:\n  b:\n    c: 1\n"), 3);
        assert_eq!(yaml_depth("a: [[1], {b: 2}]\n"), 3);
        assert_eq!(yaml_depth("- - - x\n"), 4);
        // Brackets inside quotes and comments do not count.
        assert_eq!(yaml_depth("a: \"[[[\" # [[[\nb: '[[''['\n"), 1);
        // A block scalar's brackets are (conservatively) counted while open.
        assert_eq!(yaml_depth("rule: |\n  x in [1, 2]\n"), 3);
        // A quoted scalar may span lines: its brackets stay uncounted.
        assert_eq!(yaml_depth("a: \"x\n[[[[ y\"\n"), 1);
    }

    #[test]
    fn deep_yaml_is_refused_before_parsing() {
        for text in [
            format!("tags: {}", "[".repeat(500_000)),
            format!("tags: {}1{}", "{a: ".repeat(200_000), "}".repeat(200_000)),
            format!("tags:\n{}x", "- ".repeat(200_000)),
        ] {
            // Refused by the scan: parsing these took minutes (BENCHMARKS.md, hostile input).
            let e = yaml(&text).unwrap_err();
            assert_eq!(e.first().kind, ErrorKind::LimitExceeded, "{}", e.first().message);
            assert!(e.first().message.contains("is nested more than 100 levels deep"), "{}", e.first().message);
        }
    }

    #[test]
    fn values_at_the_limit_parse() {
        let n = limits::MAX_VALUE_DEPTH;
        let text = format!("{{\"attributes\": {{\"a\": {}1{}}}}}", "[".repeat(n), "]".repeat(n));
        assert!(parse_json(&text, ErrorKind::InvalidProfile, "profile", DuplicateKeys::KeepLast).is_ok());
        let text = format!("a: {}1{}\n", "[".repeat(n), "]".repeat(n));
        assert!(yaml(&text).is_ok());
    }

    #[test]
    fn duplicate_keys() {
        let e = yaml("id: a\nrule: x\nrule: y\n").unwrap_err();
        assert_eq!(e.first().kind, ErrorKind::InvalidDefinition);
        assert!(e.first().message.contains("duplicate key `rule`"), "{}", e.first().message);
        let v =
            parse_json(r#"{"a": 1, "a": 2}"#, ErrorKind::InvalidProfile, "profile", DuplicateKeys::KeepLast).unwrap();
        assert_eq!(v["a"], 2);
        // Nested objects are checked too.
        assert!(yaml("a:\n  b: 1\n  b: 2\n").is_err());
    }

    #[test]
    fn yaml_scalars_map_as_before() {
        let v = yaml("a: 1\nb: 1.5\nc: true\nd: ~\ne: .nan\n1: x\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": 1, "b": 1.5, "c": true, "d": null, "e": null, "1": "x"}));
    }
}
