//! JavaScript values and the ECMAScript conversions the JavaScript sources rely on (ToNumber,
//! ToString of a number, parseFloat, loose and strict equality, the relational comparison, JSON
//! Logic's truthiness). Used to decide a source's coercions on constants at import time, so they
//! must be ECMAScript's exactly; where a conversion would need more than is modelled here (a
//! property inherited from a prototype, a lone surrogate, a huge hexadecimal literal) the result
//! is [`Unsure`] and the import refuses rather than guess.

use std::cmp::Ordering;
use std::rc::Rc;

/// A value the emulation cannot decide exactly (the import refuses the construct).
#[derive(Debug, Clone)]
pub(crate) struct Unsure(pub String);

/// A JavaScript value. Arrays and objects are shared so that identity (`===` on objects) can be
/// told: a literal array is a fresh object on every evaluation, a data array is one object.
#[derive(Debug, Clone)]
pub(crate) enum Js {
    Undef,
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Vec<Js>>),
    Obj(Rc<Vec<(String, Js)>>),
}

impl Js {
    /// A JSON value as `JSON.parse` gives it (numbers are doubles).
    pub(crate) fn from_json(v: &serde_json::Value) -> Js {
        match v {
            serde_json::Value::Null => Js::Null,
            serde_json::Value::Bool(b) => Js::Bool(*b),
            serde_json::Value::Number(n) => Js::Num(json_number(n)),
            serde_json::Value::String(s) => Js::Str(s.as_str().into()),
            serde_json::Value::Array(a) => Js::Arr(Rc::new(a.iter().map(Js::from_json).collect())),
            serde_json::Value::Object(o) => {
                Js::Obj(Rc::new(o.iter().map(|(k, v)| (k.clone(), Js::from_json(v))).collect()))
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn str(s: &str) -> Js {
        Js::Str(s.into())
    }

    /// `typeof`, with `null` apart (it is `"object"` in JavaScript).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Js::Undef => "undefined",
            Js::Null => "null",
            Js::Bool(_) => "boolean",
            Js::Num(_) => "number",
            Js::Str(_) => "string",
            Js::Arr(_) | Js::Obj(_) => "object",
        }
    }

    pub(crate) fn is_nullish(&self) -> bool {
        matches!(self, Js::Undef | Js::Null)
    }
}

/// A JSON number as a double, rounded the way `JSON.parse` rounds (to nearest, ties to even).
pub(crate) fn json_number(n: &serde_json::Number) -> f64 {
    if let Some(i) = n.as_i64() {
        // `as` rounds to nearest, ties to even, like JSON.parse.
        i as f64
    } else if let Some(u) = n.as_u64() {
        u as f64
    } else {
        // serde_json parses other numbers correctly rounded; without arbitrary_precision this is
        // the f64 nearest to the text.
        n.as_f64().unwrap_or(f64::NAN)
    }
}

/// json-logic-js `truthy`: the empty array is falsy, otherwise `!!v`.
pub(crate) fn truthy(v: &Js) -> bool {
    match v {
        Js::Undef | Js::Null => false,
        Js::Bool(b) => *b,
        Js::Num(n) => !(*n == 0.0 || n.is_nan()),
        Js::Str(s) => !s.is_empty(),
        Js::Arr(a) => !a.is_empty(),
        Js::Obj(_) => true,
    }
}

/// JavaScript's `!!v` (no special case for arrays).
pub(crate) fn to_boolean(v: &Js) -> bool {
    match v {
        Js::Arr(_) => true,
        other => truthy(other),
    }
}

/// StrWhiteSpaceChar: WhiteSpace (incl. every Zs character and U+FEFF) and LineTerminator.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// The length of the longest prefix of `s` that is a StrUnsignedDecimalLiteral without
/// `Infinity` (digits, an optional fraction, an optional exponent that has digits).
fn decimal_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        frac_digits = digits(&mut j);
        if int_digits > 0 || frac_digits > 0 {
            i = j;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    i
}

fn parse_decimal(s: &str) -> f64 {
    // Rust's parser is correctly rounded; a leading or trailing `.` is normalised first.
    let mut t = String::with_capacity(s.len() + 2);
    if s.starts_with('.') {
        t.push('0');
    }
    t.push_str(s);
    if let Some(pos) = t.find('.') {
        if t[pos + 1..].chars().next().is_none_or(|c| c == 'e' || c == 'E') {
            t.insert(pos + 1, '0');
        }
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// StringToNumber.
pub(crate) fn string_to_number(s: &str) -> Result<f64, Unsure> {
    let t = s.trim_matches(is_js_space);
    if t.is_empty() {
        return Ok(0.0);
    }
    for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] {
        if let Some(rest) = t.strip_prefix(prefix) {
            if rest.is_empty() || !rest.chars().all(|c| c.is_digit(radix)) {
                return Ok(f64::NAN);
            }
            return match u64::from_str_radix(rest, radix) {
                Ok(v) if v <= (1u64 << 53) => Ok(v as f64),
                _ => Err(Unsure(format!("the number `{t}` (a non-decimal literal beyond 2^53)"))),
            };
        }
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'+' => (1.0, &t[1..]),
        b'-' => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return Ok(sign * f64::INFINITY);
    }
    let n = decimal_prefix(body);
    if n == 0 || n != body.len() {
        return Ok(f64::NAN);
    }
    Ok(sign * parse_decimal(body))
}

/// `parseFloat(String(v))`.
pub(crate) fn parse_float(v: &Js) -> Result<f64, Unsure> {
    let s = to_string(v)?;
    let t = s.trim_start_matches(is_js_space);
    let (sign, body) = match t.as_bytes().first() {
        Some(b'+') => (1.0, &t[1..]),
        Some(b'-') => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body.starts_with("Infinity") {
        return Ok(sign * f64::INFINITY);
    }
    let n = decimal_prefix(body);
    if n == 0 {
        return Ok(f64::NAN);
    }
    Ok(sign * parse_decimal(&body[..n]))
}

/// Number::toString(10): the shortest digits that read back, laid out as ECMAScript says.
pub(crate) fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x < 0.0 {
        return format!("-{}", number_to_string(-x));
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{x:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e >= 0 { '+' } else { '-' };
        if k == 1 {
            format!("{digits}e{sign}{}", e.abs())
        } else {
            format!("{}.{}e{sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    }
}

/// ToString.
pub(crate) fn to_string(v: &Js) -> Result<String, Unsure> {
    Ok(match v {
        Js::Undef => "undefined".into(),
        Js::Null => "null".into(),
        Js::Bool(b) => b.to_string(),
        Js::Num(n) => number_to_string(*n),
        Js::Str(s) => s.to_string(),
        Js::Arr(a) => {
            // Array.prototype.join(","): null and undefined elements are empty.
            let mut out = String::new();
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !x.is_nullish() {
                    out.push_str(&to_string(x)?);
                }
            }
            out
        }
        Js::Obj(o) => {
            if o.iter().any(|(k, _)| k == "toString" || k == "valueOf") {
                return Err(Unsure("an object with its own toString/valueOf".into()));
            }
            "[object Object]".into()
        }
    })
}

/// ToPrimitive with hint number (arrays and plain objects become their string).
fn to_primitive(v: &Js) -> Result<Js, Unsure> {
    Ok(match v {
        Js::Arr(_) | Js::Obj(_) => Js::Str(to_string(v)?.into()),
        other => other.clone(),
    })
}

/// ToNumber.
pub(crate) fn to_number(v: &Js) -> Result<f64, Unsure> {
    Ok(match to_primitive(v)? {
        Js::Undef => f64::NAN,
        Js::Null => 0.0,
        Js::Bool(b) => f64::from(u8::from(b)),
        Js::Num(n) => n,
        Js::Str(s) => string_to_number(&s)?,
        Js::Arr(_) | Js::Obj(_) => f64::NAN,
    })
}

/// ToIntegerOrInfinity.
pub(crate) fn to_integer(v: &Js) -> Result<f64, Unsure> {
    let n = to_number(v)?;
    Ok(if n.is_nan() { 0.0 } else { n.trunc() })
}

/// `a === b` (objects by identity).
pub(crate) fn strict_eq(a: &Js, b: &Js) -> bool {
    match (a, b) {
        (Js::Undef, Js::Undef) | (Js::Null, Js::Null) => true,
        (Js::Bool(x), Js::Bool(y)) => x == y,
        (Js::Num(x), Js::Num(y)) => x == y,
        (Js::Str(x), Js::Str(y)) => x == y,
        (Js::Arr(x), Js::Arr(y)) => Rc::ptr_eq(x, y),
        (Js::Obj(x), Js::Obj(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// `a == b` (IsLooselyEqual).
pub(crate) fn loose_eq(a: &Js, b: &Js) -> Result<bool, Unsure> {
    if a.type_name() == b.type_name() {
        return Ok(strict_eq(a, b));
    }
    Ok(match (a, b) {
        (x, y) if x.is_nullish() && y.is_nullish() => true,
        (x, y) if x.is_nullish() || y.is_nullish() => false,
        (Js::Num(x), Js::Str(s)) | (Js::Str(s), Js::Num(x)) => *x == string_to_number(s)?,
        (Js::Bool(x), y) => loose_eq(&Js::Num(f64::from(u8::from(*x))), y)?,
        (x, Js::Bool(y)) => loose_eq(x, &Js::Num(f64::from(u8::from(*y))))?,
        (Js::Arr(_) | Js::Obj(_), y @ (Js::Num(_) | Js::Str(_))) => loose_eq(&to_primitive(a)?, y)?,
        (x @ (Js::Num(_) | Js::Str(_)), Js::Arr(_) | Js::Obj(_)) => loose_eq(x, &to_primitive(b)?)?,
        _ => false,
    })
}

/// Strings ordered as JavaScript orders them: by UTF-16 code units.
pub(crate) fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// IsLessThan(a, b): `None` is *undefined* (a NaN took part), which makes every relational
/// operator false.
pub(crate) fn less_than(a: &Js, b: &Js) -> Result<Option<bool>, Unsure> {
    let (pa, pb) = (to_primitive(a)?, to_primitive(b)?);
    if let (Js::Str(x), Js::Str(y)) = (&pa, &pb) {
        return Ok(Some(utf16_cmp(x, y) == Ordering::Less));
    }
    let (x, y) = (to_number(&pa)?, to_number(&pb)?);
    if x.is_nan() || y.is_nan() {
        return Ok(None);
    }
    Ok(Some(x < y))
}

/// `a op b` for `<`, `<=`, `>`, `>=`.
pub(crate) fn relational(op: &str, a: &Js, b: &Js) -> Result<bool, Unsure> {
    Ok(match op {
        "<" => less_than(a, b)? == Some(true),
        ">" => less_than(b, a)? == Some(true),
        "<=" => less_than(b, a)? == Some(false),
        ">=" => less_than(a, b)? == Some(false),
        _ => false,
    })
}

/// UTF-16 code units of a string, and back (refusing lone surrogates, which a Rust string
/// cannot hold).
pub(crate) fn units(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

pub(crate) fn from_units(u: &[u16]) -> Result<String, Unsure> {
    String::from_utf16(u).map_err(|_| Unsure("a string cut inside a surrogate pair".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_javascript() {
        for (x, s) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(number_to_string(x), s, "{x}");
        }
    }

    #[test]
    fn conversions_follow_ecmascript() {
        assert_eq!(string_to_number(" 12 ").unwrap(), 12.0);
        assert_eq!(string_to_number("0x10").unwrap(), 16.0);
        assert_eq!(string_to_number("1e3").unwrap(), 1000.0);
        assert_eq!(string_to_number("").unwrap(), 0.0);
        assert_eq!(string_to_number("-Infinity").unwrap(), f64::NEG_INFINITY);
        assert_eq!(string_to_number(".5").unwrap(), 0.5);
        assert_eq!(string_to_number("5.").unwrap(), 5.0);
        assert!(string_to_number("+0x10").unwrap().is_nan());
        assert!(string_to_number("1e").unwrap().is_nan());
        assert!(string_to_number("inf").unwrap().is_nan());
        assert!(string_to_number("12px").unwrap().is_nan());
        assert_eq!(parse_float(&Js::str("12px")).unwrap(), 12.0);
        assert_eq!(parse_float(&Js::str("1e")).unwrap(), 1.0);
        assert_eq!(parse_float(&Js::str("0x10")).unwrap(), 0.0);
        assert!(parse_float(&Js::Null).unwrap().is_nan());
        assert!(loose_eq(&Js::Null, &Js::Undef).unwrap());
        assert!(!loose_eq(&Js::Null, &Js::Num(0.0)).unwrap());
        assert!(loose_eq(&Js::Bool(true), &Js::str("1")).unwrap());
        assert!(loose_eq(&Js::Arr(Rc::new(vec![])), &Js::Num(0.0)).unwrap());
        assert!(relational("<", &Js::Null, &Js::Num(18.0)).unwrap());
        assert!(relational("<", &Js::str("10"), &Js::str("9")).unwrap());
        assert!(!relational(">", &Js::str("abc"), &Js::Null).unwrap());
        assert!(relational("<", &Js::str("\u{1F600}"), &Js::str("\u{FFFF}")).unwrap());
    }
}
