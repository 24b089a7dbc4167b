//! Runtime values (SPEC §4) and their conversion from JSON data.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::semver::Version;

/// A currency code: three uppercase ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses an ISO 4217-shaped code (three uppercase ASCII letters).
    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase)).then(|| Currency([b[0], b[1], b[2]]))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exact amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    /// The exact amount, at most 28 significant digits; may be negative.
    pub amount: Decimal,
    /// Its currency; converted to the segment's base currency only when currencies differ.
    pub currency: Currency,
}

/// A runtime value. Timestamps are microseconds since the Unix epoch (UTC); durations microseconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Null, and missing data too: the two behave alike in every operator (SPEC §5).
    #[default]
    Null,
    /// `true`/`false`; UNKNOWN is `Null`, never a third bool.
    Bool(bool),
    /// An i64: a JSON integer that fits, or an int literal.
    Int(i64),
    /// Any other JSON number: always finite (NaN and ±∞ become `Null`).
    Float(f64),
    /// An exact decimal (literals like `19.99`), at most 28 significant digits.
    Decimal(Decimal),
    /// A UTF-8 string, never normalized (NFC and NFD spellings differ).
    Str(Box<str>),
    /// An instant: microseconds since the epoch (UTC).
    Timestamp(i64),
    /// A civil date, without a zone (the segment's zone places it when needed).
    Date(Date),
    /// A signed length in microseconds.
    Duration(i64),
    /// An amount in a currency (SPEC §10).
    Money(Money),
    /// A parsed version (`semver(…)`), ordered by SemVer precedence.
    Semver(Box<Version>),
    /// A JSON array, in order.
    List(Vec<Value>),
    /// Any other JSON object; keys sorted, so iteration is deterministic.
    Object(BTreeMap<Box<str>, Value>),
}

impl Value {
    /// The value's type name as used in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Str(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::Date(_) => "date",
            Value::Duration(_) => "duration",
            Value::Money(_) => "money",
            Value::Semver(_) => "semver",
            Value::List(_) => "list",
            Value::Object(_) => "object",
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Converts JSON data to a value (SPEC §4): integers that fit i64 are ints, other numbers
    /// floats, `{"amount", "currency"}` objects money, other objects and arrays recursively.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    float_value(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::Str(s.as_str().into()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                if let Some(m) = money_from_object(map) {
                    return Value::Money(m);
                }
                Value::Object(map.iter().map(|(k, v)| (k.as_str().into(), Value::from_json(v))).collect())
            }
        }
    }

    /// The value as JSON, for explain traces and outputs. Decimals and money amounts are strings,
    /// timestamps RFC 3339 UTC strings, so no precision is lost in any language.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Decimal(d) => J::String(d.to_string()),
            Value::Str(s) => J::String(s.to_string()),
            Value::Timestamp(t) => J::String(crate::time::format_timestamp(*t)),
            Value::Date(d) => J::String(d.to_string()),
            Value::Duration(d) => J::String(crate::time::format_duration(*d)),
            Value::Money(m) => J::String(format!("{} {}", m.amount, m.currency)),
            Value::Semver(v) => J::String(v.to_string()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(map) => J::Object(map.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()),
        }
    }
}

impl Value {
    /// An object value from its fields, recognising money (`{amount, currency}`) exactly as
    /// [`Value::from_json`] does — for inputs that are not JSON (Arrow structs, Python dicts).
    pub fn from_object(map: BTreeMap<Box<str>, Value>) -> Value {
        if map.len() == 2 {
            if let (Some(Value::Str(c)), Some(a)) = (map.get("currency"), map.get("amount")) {
                let amount = match a {
                    Value::Str(s) => parse_decimal(s),
                    Value::Int(i) => Some(rust_decimal::Decimal::from(*i)),
                    Value::Float(f) => parse_decimal(&format_float(*f)),
                    Value::Decimal(d) => Some(*d),
                    _ => None,
                };
                if let (Some(currency), Some(amount)) = (Currency::parse(c), amount) {
                    return Value::Money(Money { amount, currency });
                }
            }
        }
        Value::Object(map)
    }
}

/// A float value, or null when not finite (SPEC §8: NaN and ±∞ never escape).
pub fn float_value(f: f64) -> Value {
    if f.is_finite() {
        Value::Float(if f == 0.0 { 0.0 } else { f })
    } else {
        Value::Null
    }
}

fn money_from_object(map: &serde_json::Map<String, serde_json::Value>) -> Option<Money> {
    if map.len() != 2 {
        return None;
    }
    let currency = Currency::parse(map.get("currency")?.as_str()?)?;
    let amount = match map.get("amount")? {
        serde_json::Value::String(s) => parse_decimal(s)?,
        serde_json::Value::Number(n) => parse_decimal(&n.to_string())?,
        _ => return None,
    };
    Some(Money { amount, currency })
}

/// Parses decimal text (`-12.50`, `3`, and for JSON numbers `1e3`).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if s.contains(['e', 'E']) {
        return Decimal::from_scientific(s).ok();
    }
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    s.parse::<Decimal>().ok()
}

/// Parses `"19.99 EUR"` money text.
pub fn parse_money_text(s: &str) -> Option<Money> {
    let (amount, currency) = s.trim().rsplit_once(' ')?;
    Some(Money { amount: parse_decimal(amount)?, currency: Currency::parse(currency)? })
}

/// Formats a float as the shortest round-tripping text with `.0` for integral values.
pub fn format_float(f: f64) -> String {
    let s = format!("{f:?}");
    s
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Str(s) => write!(f, "{}", serde_json::Value::String(s.to_string())),
            Value::Timestamp(t) => f.write_str(&crate::time::format_timestamp(*t)),
            Value::Date(d) => write!(f, "{d}"),
            Value::Duration(d) => f.write_str(&crate::time::format_duration(*d)),
            Value::Money(m) => write!(f, "{} {}", m.amount, m.currency),
            Value::Semver(v) => write!(f, "{v}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(_) => write!(f, "{}", self.to_json()),
        }
    }
}
