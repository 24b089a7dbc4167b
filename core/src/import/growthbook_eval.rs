//! @growthbook/growthbook 1.8.0's condition evaluation (mongrule.ts, util.ts
//! `paddedVersionString`) over *constant* values: the importer decides with it every case where
//! the attribute's value is known at import time (null, a boolean) and every constant part.

use std::cmp::Ordering;

use super::js::{self, Js, Unsure};

/// `JSON.stringify(v)` (`None` for `undefined`); keys in the order the value holds them.
pub(crate) fn stringify(v: &Js) -> Result<Option<String>, Unsure> {
    Ok(Some(match v {
        Js::Undef => return Ok(None),
        Js::Null => "null".into(),
        Js::Bool(b) => b.to_string(),
        Js::Num(n) if n.is_finite() => js::number_to_string(*n),
        Js::Num(_) => "null".into(),
        Js::Str(s) => serde_json::to_string(&**s).map_err(|e| Unsure(e.to_string()))?,
        Js::Arr(items) => {
            let mut parts = vec![];
            for x in items.iter() {
                parts.push(stringify(x)?.unwrap_or_else(|| "null".into()));
            }
            format!("[{}]", parts.join(","))
        }
        Js::Obj(o) => {
            let mut parts = vec![];
            for (k, x) in o.iter() {
                if let Some(t) = stringify(x)? {
                    parts.push(format!("{}:{t}", serde_json::to_string(k).map_err(|e| Unsure(e.to_string()))?));
                }
            }
            format!("{{{}}}", parts.join(","))
        }
    }))
}

/// `value + ""`.
pub(crate) fn concat_string(v: &Js) -> Result<String, Unsure> {
    js::to_string(v)
}

/// `getType`.
pub(crate) fn type_of(v: &Js) -> &'static str {
    match v {
        Js::Null => "null",
        Js::Arr(_) => "array",
        Js::Str(_) => "string",
        Js::Num(_) => "number",
        Js::Bool(_) => "boolean",
        Js::Obj(_) => "object",
        Js::Undef => "undefined",
    }
}

/// SameValueZero, as `Array.prototype.includes` compares.
pub(crate) fn same_value_zero(a: &Js, b: &Js) -> bool {
    match (a, b) {
        (Js::Num(x), Js::Num(y)) if x.is_nan() && y.is_nan() => true,
        _ => js::strict_eq(a, b),
    }
}

/// `isIn(actual, expected)` (not case-insensitive).
pub(crate) fn is_in(actual: &Js, expected: &[Js]) -> bool {
    match actual {
        Js::Arr(items) => items.iter().any(|el| expected.iter().any(|e| same_value_zero(e, el))),
        other => expected.iter().any(|e| same_value_zero(e, other)),
    }
}

/// `paddedVersionString(input)`.
pub(crate) fn padded_version(input: &Js) -> String {
    let text = match input {
        Js::Num(n) => js::number_to_string(*n),
        Js::Str(s) if !s.is_empty() => s.to_string(),
        _ => "0".into(),
    };
    let text = if text.is_empty() { "0".to_string() } else { text };
    // `replace(/(^v|\+.*$)/g, "")`: a leading `v`, and everything from the first `+`.
    let mut t: &str = &text;
    if let Some(rest) = t.strip_prefix('v') {
        t = rest;
    }
    // `\+.*$` without the `m` flag: a `+` from which no line terminator follows to the end.
    let line_break = |c: char| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}');
    let cut = t.char_indices().find(|&(i, c)| c == '+' && !t[i..].contains(line_break)).map(|(i, _)| i);
    let t = match cut {
        Some(i) => &t[..i],
        None => t,
    };
    let mut parts: Vec<String> = t.split(['-', '.']).map(str::to_string).collect();
    if parts.len() == 3 {
        parts.push("~".into());
    }
    parts
        .iter()
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() < 5 {
                format!("{}{p}", " ".repeat(5 - p.len()))
            } else {
                p.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The `$v…` operators on two version values.
pub(crate) fn version_compare(op: &str, actual: &Js, expected: &Js) -> bool {
    let (a, b) = (padded_version(actual), padded_version(expected));
    let ord = js::utf16_cmp(&a, &b);
    match op {
        "$veq" => ord == Ordering::Equal,
        "$vne" => ord != Ordering::Equal,
        "$vgt" => ord == Ordering::Greater,
        "$vgte" => ord != Ordering::Less,
        "$vlt" => ord == Ordering::Less,
        _ => ord != Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_versions_are_growthbooks() {
        assert_eq!(padded_version(&Js::Str("v1.2.3+build".into())), "    1-    2-    3-~");
        assert_eq!(padded_version(&Js::Str("1.0.0-rc.1".into())), "    1-    0-    0-rc-    1");
        assert_eq!(padded_version(&Js::Null), "    0");
        assert_eq!(padded_version(&Js::Num(2.0)), "    2");
        assert!(version_compare("$vlt", &Js::Null, &Js::Str("1.0.0".into())));
        assert!(version_compare("$vgt", &Js::Str("1.0.0".into()), &Js::Str("1.0.0-beta".into())));
    }
}
