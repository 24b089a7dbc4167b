//! The language's value semantics (SPEC §6–§15): comparison, arithmetic, money conversion,
//! coercion, scalar functions, `bucket` and the aggregate accumulators, as pure functions over
//! [`Value`]s and a small [`Semantics`] context (zone, base currency, FX).
//!
//! Every backend that computes values calls these: the interpreter does today, the columnar
//! engine and any later backend will. A second copy of any of them would drift, which is the
//! failure segcore exists to end; the SQL backend, which cannot call Rust, is held to the same
//! answers by the differential tests instead.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use jiff::tz::TimeZone;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

use crate::ast::AggFn;
use crate::context::FxRates;
use crate::error::{ErrorKind, Span};
use crate::ir::{ArithOp, Func, StrOp, Ty};
use crate::semver::Version;
use crate::time;
use crate::value::{float_value, format_float, parse_decimal, parse_money_text, Currency, Money, Value};

/// What value operations read besides their operands: the segment's zone (calendar functions,
/// dates read as instants), its base currency and the FX table (money).
#[derive(Clone, Copy)]
pub struct Semantics<'a> {
    pub tz: &'a TimeZone,
    pub currency: Currency,
    pub fx: &'a FxRates,
}

/// A failed value operation: a stable kind, a message and, once a backend has placed it, the
/// rule position it arose at. Backends turn it into a [`crate::Error`] located in the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Span>,
}

impl Fault {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Box<Fault> {
        Box::new(Fault { kind, message: message.into(), span: None })
    }

    /// The fault placed at `span`, unless a deeper node placed it already.
    #[cold]
    pub fn at(mut self: Box<Fault>, span: Span) -> Box<Fault> {
        self.span.get_or_insert(span);
        self
    }
}

/// Errors are rare: boxing keeps every `Result` on the hot path two words wide.
pub type R<T> = Result<T, Box<Fault>>;

/// A window or date computation that left the representable range.
pub fn out_of_range(what: &str) -> Box<Fault> {
    Fault::new(ErrorKind::NumberOutOfRange, format!("{what} is out of range"))
}

/// The result of a comparison operator from a three-way comparison (`None` = UNKNOWN).
#[inline]
pub fn cmp_result(op: crate::ir::CmpOp, o: Option<Ordering>) -> Option<bool> {
    use crate::ir::CmpOp;
    o.map(|o| match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    })
}

/// `x in items` (SPEC §6): TRUE on an equal item, UNKNOWN if some item compared UNKNOWN, FALSE
/// otherwise; `x in []` is an empty `or`, FALSE even for a null `x`.
pub fn in_list(v: &Value, items: &[Value], sem: &Semantics) -> R<Option<bool>> {
    if items.is_empty() {
        return Ok(Some(false));
    }
    if v.is_null() {
        return Ok(None);
    }
    let mut unknown = false;
    for item in items {
        match compare(v, item, false, sem)? {
            Some(Ordering::Equal) => return Ok(Some(true)),
            None => unknown = true,
            _ => {}
        }
    }
    Ok(if unknown { None } else { Some(false) })
}

/// `x in ("a", "b")` over a string set (the compiled form of a list of string literals).
#[inline]
pub fn in_strings(v: &Value, set: &[Box<str>]) -> Option<bool> {
    match v {
        Value::Str(s) => Some(set.iter().any(|t| **t == **s)),
        Value::Null if set.is_empty() => Some(false),
        _ => None,
    }
}

/// `lo <= x <= hi`, both ends inclusive; FALSE as soon as one side is FALSE.
#[inline]
pub fn between(v: &Value, lo: &Value, hi: &Value, sem: &Semantics) -> R<Option<bool>> {
    let a = compare(lo, v, true, sem)?.map(|o| o != Ordering::Greater);
    let b = compare(v, hi, true, sem)?.map(|o| o != Ordering::Greater);
    Ok(match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    })
}

/// `contains`, `starts_with`, `ends_with`: strings only, UNKNOWN otherwise.
#[inline]
pub fn str_pred(op: StrOp, a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => Some(match op {
            StrOp::Contains => a.contains(&**b),
            StrOp::StartsWith => a.starts_with(&**b),
            StrOp::EndsWith => a.ends_with(&**b),
        }),
        _ => None,
    }
}

/// `x within WINDOW` at `as_of` (SPEC §12): UNKNOWN when `x` is not a point in time.
#[inline]
pub fn within(v: &Value, window: &crate::ast::Window, as_of: i64, sem: &Semantics) -> R<Option<bool>> {
    let Some(t) = instant_of(v, sem.tz) else {
        return Ok(None);
    };
    let bounds = time::window_bounds(window, as_of, sem.tz).ok_or_else(|| out_of_range("window"))?;
    Ok(Some(time::in_bounds(t, bounds, as_of)))
}

/// Unary minus.
#[inline]
pub fn negate(v: &Value) -> R<Value> {
    Ok(match v {
        Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
        Value::Float(f) => float_value(-f),
        Value::Decimal(d) => Value::Decimal(-*d),
        Value::Duration(d) => Value::Duration(d.checked_neg().ok_or_else(overflow)?),
        Value::Money(m) => Value::Money(Money { amount: -m.amount, currency: m.currency }),
        _ => Value::Null,
    })
}

/// `bucket(x, salt)` of a value: strings and integers hash, anything else is null.
#[inline]
pub fn bucket_value(v: &Value, salt: &str) -> Value {
    match v {
        Value::Str(s) => Value::Decimal(bucket(salt, s)),
        Value::Int(i) => Value::Decimal(bucket(salt, &i.to_string())),
        _ => Value::Null,
    }
}

/// A scalar function of one evaluated argument (`coalesce`, which is lazy, and the two-vector
/// functions are the backends' business: see [`vector`]). `digits` is `round`'s constant second
/// argument; `as_of` is the evaluation instant (`days_since`).
pub fn apply(f: Func, v: &Value, digits: u32, as_of: i64, sem: &Semantics) -> R<Value> {
    let tz = sem.tz;
    Ok(match (f, v) {
        (_, Value::Null) => Value::Null,
        (Func::Lower, Value::Str(s)) => Value::Str(s.to_lowercase().into()),
        (Func::Upper, Value::Str(s)) => Value::Str(s.to_uppercase().into()),
        (Func::Fold, Value::Str(s)) => Value::Str(crate::casefold::fold(s).into()),
        (Func::Length, Value::Str(s)) => Value::Int(s.chars().count() as i64),
        (Func::Length, Value::List(l)) => Value::Int(l.len() as i64),
        (Func::Abs, Value::Int(i)) => Value::Int(i.checked_abs().ok_or_else(overflow)?),
        (Func::Abs, Value::Float(x)) => float_value(x.abs()),
        (Func::Abs, Value::Decimal(d)) => Value::Decimal(d.abs()),
        (Func::Round | Func::Floor | Func::Ceil, Value::Int(i)) => Value::Int(*i),
        (Func::Round, Value::Decimal(d)) => Value::Decimal(round_half_away(*d, digits)),
        // From 2^52 up every float is an integer, so rounding keeps it (the decimal route below
        // cannot hold magnitudes past ~7.9e28).
        (Func::Round, Value::Float(x)) if x.abs() >= 4_503_599_627_370_496.0 => float_value(*x),
        (Func::Round, Value::Float(x)) => match float_to_decimal(*x) {
            Some(d) => dec_f64(round_half_away(d, digits)).map(float_value).unwrap_or(Value::Null),
            // Only magnitudes below the decimal's 28 fractional digits get here: they round to 0.
            None => float_value(0.0),
        },
        (Func::Floor, Value::Decimal(d)) => Value::Decimal(d.floor()),
        (Func::Ceil, Value::Decimal(d)) => Value::Decimal(d.ceil()),
        (Func::Floor, Value::Float(x)) => float_value(x.floor()),
        (Func::Ceil, Value::Float(x)) => float_value(x.ceil()),
        (Func::DaysSince, t) => match (local_day(t, tz), time::local_date(as_of, tz)) {
            (Some(d), Some(today)) => Value::Int(time::epoch_days(today) - time::epoch_days(d)),
            _ => Value::Null,
        },
        (Func::DayOfWeek, t) => match local_day(t, tz) {
            Some(d) => Value::Int(d.weekday().to_monday_one_offset() as i64),
            None => Value::Null,
        },
        (Func::Hour, t) => match instant_of(t, tz).and_then(|t| time::local(t, tz)) {
            Some(dt) => Value::Int(dt.hour() as i64),
            None => Value::Null,
        },
        (Func::Date, t) => local_day(t, tz).map(Value::Date).unwrap_or(Value::Null),
        (Func::Timestamp, t) => instant_of(t, tz).map(Value::Timestamp).unwrap_or(Value::Null),
        (Func::StartOfDay | Func::StartOfWeek | Func::StartOfMonth, t) => {
            let day = local_day(t, tz).and_then(|d| match f {
                Func::StartOfWeek => time::monday_of(d),
                Func::StartOfMonth => Some(d.first_of_month()),
                _ => Some(d),
            });
            day.and_then(|d| time::start_of_date(d, tz)).map(Value::Timestamp).unwrap_or(Value::Null)
        }
        (Func::Semver, Value::Str(s)) => Version::parse(s).map(|v| Value::Semver(Box::new(v))).unwrap_or(Value::Null),
        (Func::Semver, Value::Semver(_)) => v.clone(),
        _ => Value::Null,
    })
}

/// `cosine_similarity(a, b)` and `euclidean_distance(a, b)`: lists of numbers of one length.
pub fn vector(f: Func, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::List(a), Value::List(b)) => vector_fn(f, a, b),
        _ => Value::Null,
    }
}

/// `min` or `max` of non-null values in event order: UNKNOWN (null) as soon as two values do
/// not compare; null when there are none.
pub fn extreme<'v>(func: AggFn, values: &'v [Cow<'v, Value>], sem: &Semantics) -> R<Option<&'v Value>> {
    let mut best: Option<&Value> = None;
    for v in values {
        best = match best {
            None => Some(v),
            Some(b) => match compare(v, b, true, sem)? {
                None => return Ok(None),
                Some(o) => {
                    let better = if func == AggFn::Min { o == Ordering::Less } else { o == Ordering::Greater };
                    Some(if better { v } else { b })
                }
            },
        };
    }
    Ok(best)
}

/// `distinct_count` of non-null values: values equal by `=` count once (SPEC §11).
pub fn distinct_count<'v>(values: impl IntoIterator<Item = &'v Value>) -> i64 {
    values.into_iter().map(distinct_key).collect::<BTreeSet<String>>().len() as i64
}
/// Reads a data value as `ty` (SPEC §9, §10, §15); unreadable → null.
pub fn coerce<'a>(v: Cow<'a, Value>, ty: Ty, tz: &TimeZone) -> Cow<'a, Value> {
    let out = match (ty, &*v) {
        (_, Value::Null) => return v,
        (Ty::Timestamp, Value::Timestamp(_)) | (Ty::Date, Value::Date(_)) | (Ty::Money, Value::Money(_)) => return v,
        (Ty::Semver, Value::Semver(_)) | (Ty::Decimal, Value::Decimal(_)) => return v,
        (Ty::Timestamp, Value::Date(d)) => time::start_of_date(*d, tz).map(Value::Timestamp),
        (Ty::Timestamp, Value::Str(s)) => time::parse_instant(s).map(Value::Timestamp),
        (Ty::Date, Value::Str(s)) => time::parse_date(s)
            .or_else(|| time::parse_instant(s).and_then(|t| time::local_date(t, tz)))
            .map(Value::Date),
        (Ty::Date, Value::Timestamp(t)) => time::local_date(*t, tz).map(Value::Date),
        (Ty::Money, Value::Str(s)) => parse_money_text(s).map(Value::Money),
        (Ty::Semver, Value::Str(s)) => Version::parse(s).map(|v| Value::Semver(Box::new(v))),
        (Ty::Decimal, Value::Int(i)) => Some(Value::Decimal(Decimal::from(*i))),
        (Ty::Decimal, Value::Float(f)) => float_to_decimal(*f).map(Value::Decimal),
        (Ty::Decimal, Value::Str(s)) => parse_decimal(s).map(Value::Decimal),
        _ => None,
    };
    Cow::Owned(out.unwrap_or(Value::Null))
}

/// A property value read as its declared type (schema-typed data arrives as JSON: a timestamp
/// is a string until read), as `where` filters and attributes read it.
pub fn typed<'a>(v: &'a Value, ty: Ty, tz: &TimeZone) -> Cow<'a, Value> {
    if crate::compile::is_coercible(ty) {
        coerce(Cow::Borrowed(v), ty, tz)
    } else {
        Cow::Borrowed(v)
    }
}

pub fn instant_of(v: &Value, tz: &TimeZone) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        Value::Date(d) => time::start_of_date(*d, tz),
        Value::Str(s) => time::parse_instant(s),
        _ => None,
    }
}

/// The f64 nearest to a decimal (SPEC §6), rounded once: through its text, because
/// `Decimal::to_f64` divides in floating point and can land one ulp off.
pub fn dec_f64(d: Decimal) -> Option<f64> {
    d.to_string().parse().ok()
}

pub fn overflow() -> Box<Fault> {
    Fault::new(ErrorKind::NumericOverflow, "arithmetic overflow")
}

/// A float as an exact decimal of its shortest text (`0.1` → 0.1).
pub fn float_to_decimal(f: f64) -> Option<Decimal> {
    parse_decimal(&format_float(f))
}

/// Converts money to the base currency.
pub fn to_base(m: &Money, sem: &Semantics) -> R<Decimal> {
    if m.currency == sem.currency {
        return Ok(m.amount);
    }
    let rate = sem.fx.rate(m.currency, sem.currency).ok_or_else(|| {
        Fault::new(
            ErrorKind::FxRateMissing,
            format!("no FX rate {}/{} in the evaluation context", m.currency, sem.currency),
        )
    })?;
    m.amount.checked_mul(rate).ok_or_else(overflow)
}

pub(crate) fn cmp_i64_f64(i: i64, f: f64) -> Ordering {
    if f >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    if f < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)).unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// Compares two values (SPEC §6). `None` is UNKNOWN: a null side or incompatible types. With
/// `ordering == false`, values of equality-only types give `Equal` or `Less` (= unequal).
#[inline]
pub fn compare(a: &Value, b: &Value, ordering: bool, sem: &Semantics) -> R<Option<Ordering>> {
    // The common cases first, so they stay small enough to inline.
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => return Ok(Some(x.cmp(y))),
        (Value::Str(x), Value::Str(y)) => return Ok(Some(x.as_bytes().cmp(y.as_bytes()))),
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        _ => {}
    }
    compare_slow(a, b, ordering, sem)
}

fn compare_slow(a: &Value, b: &Value, ordering: bool, sem: &Semantics) -> R<Option<Ordering>> {
    use Value::*;
    let eq_only = |eq: bool| {
        if ordering {
            None
        } else {
            Some(if eq { Ordering::Equal } else { Ordering::Less })
        }
    };
    Ok(match (a, b) {
        (Null, _) | (_, Null) => None,
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Int(x), Float(y)) => Some(cmp_i64_f64(*x, *y)),
        (Float(x), Int(y)) => Some(cmp_i64_f64(*y, *x).reverse()),
        (Float(x), Float(y)) => x.partial_cmp(y),
        (Int(x), Decimal(y)) => Some(rust_decimal::Decimal::from(*x).cmp(y)),
        (Decimal(x), Int(y)) => Some(x.cmp(&rust_decimal::Decimal::from(*y))),
        (Decimal(x), Decimal(y)) => Some(x.cmp(y)),
        (Float(x), Decimal(y)) => dec_f64(*y).and_then(|y| x.partial_cmp(&y)),
        (Decimal(x), Float(y)) => dec_f64(*x).and_then(|x| x.partial_cmp(y)),
        (Str(x), Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Bool(x), Bool(y)) => eq_only(x == y),
        (Timestamp(x), Timestamp(y)) => Some(x.cmp(y)),
        (Date(x), Date(y)) => Some(x.cmp(y)),
        (Timestamp(_) | Date(_), Timestamp(_) | Date(_)) => match (instant_of(a, sem.tz), instant_of(b, sem.tz)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => None,
        },
        (Timestamp(x), Str(s)) => time::parse_instant(s).map(|y| x.cmp(&y)),
        (Str(s), Timestamp(y)) => time::parse_instant(s).map(|x| x.cmp(y)),
        (Date(_), Str(s)) | (Str(s), Date(_)) => {
            let parsed = match time::parse_date(s) {
                Some(d) => Date(d),
                None => match time::parse_instant(s) {
                    Some(t) => Timestamp(t),
                    None => return Ok(None),
                },
            };
            return if matches!(a, Str(_)) {
                compare(&parsed, b, ordering, sem)
            } else {
                compare(a, &parsed, ordering, sem)
            };
        }
        (Duration(x), Duration(y)) => Some(x.cmp(y)),
        (Money(x), Money(y)) if x.currency == y.currency => Some(x.amount.cmp(&y.amount)),
        (Money(x), Money(y)) => Some(to_base(x, sem)?.cmp(&to_base(y, sem)?)),
        (Money(x), Str(s)) => match parse_money_text(s) {
            Some(y) => Some(to_base(x, sem)?.cmp(&to_base(&y, sem)?)),
            None => None,
        },
        (Str(s), Money(y)) => match parse_money_text(s) {
            Some(x) => Some(to_base(&x, sem)?.cmp(&to_base(y, sem)?)),
            None => None,
        },
        (Semver(x), Semver(y)) => Some((**x).cmp(y)),
        (Semver(x), Str(s)) => crate::semver::Version::parse(s).map(|y| (**x).cmp(&y)),
        (Str(s), Semver(y)) => crate::semver::Version::parse(s).map(|x| x.cmp(y)),
        // Lists and objects compare for equality only, element by element.
        (List(_), List(_)) | (Object(_), Object(_)) if ordering => None,
        (List(x), List(y)) if x.len() != y.len() => Some(Ordering::Less),
        (List(x), List(y)) => return equal_all(x.iter().zip(y), sem),
        (Object(x), Object(y)) if x.len() != y.len() || x.keys().ne(y.keys()) => Some(Ordering::Less),
        (Object(x), Object(y)) => return equal_all(x.values().zip(y.values()), sem),
        _ => None,
    })
}

/// Equality of paired elements: `Equal` if all are equal, `Less` (unequal) on the first unequal
/// pair, UNKNOWN if some pair is UNKNOWN and none unequal.
fn equal_all<'v>(pairs: impl Iterator<Item = (&'v Value, &'v Value)>, sem: &Semantics) -> R<Option<Ordering>> {
    let mut unknown = false;
    for (p, q) in pairs {
        match compare(p, q, false, sem)? {
            Some(Ordering::Equal) => {}
            None => unknown = true,
            Some(_) => return Ok(Some(Ordering::Less)),
        }
    }
    Ok(if unknown { None } else { Some(Ordering::Equal) })
}

pub fn dec_op(op: ArithOp, x: Decimal, y: Decimal) -> R<Value> {
    let r = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => {
            if y.is_zero() {
                return Ok(Value::Null);
            }
            x.checked_div(y).map(round_significant)
        }
    };
    r.map(Value::Decimal).ok_or_else(overflow)
}

/// Rounds half-to-even to 28 significant digits (SPEC §8).
fn round_significant(d: Decimal) -> Decimal {
    let mantissa = d.mantissa().unsigned_abs();
    let digits = if mantissa == 0 { 1 } else { mantissa.ilog10() + 1 };
    if digits <= 28 {
        return d;
    }
    let excess = digits - 28;
    let scale = d.scale().saturating_sub(excess);
    d.round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven).normalize()
}

fn float_op(op: ArithOp, x: f64, y: f64) -> Value {
    match op {
        ArithOp::Add => float_value(x + y),
        ArithOp::Sub => float_value(x - y),
        ArithOp::Mul => float_value(x * y),
        ArithOp::Div => {
            if y == 0.0 {
                Value::Null
            } else {
                float_value(x / y)
            }
        }
    }
}

pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Decimal(d) => dec_f64(*d),
        _ => None,
    }
}

pub fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        Value::Float(f) => float_to_decimal(*f),
        _ => None,
    }
}

pub fn arith(op: ArithOp, a: &Value, b: &Value, sem: &Semantics) -> R<Value> {
    use Value::*;
    Ok(match (a, b) {
        (Null, _) | (_, Null) => Null,
        (Int(x), Int(y)) => match op {
            ArithOp::Add => Int(x.checked_add(*y).ok_or_else(overflow)?),
            ArithOp::Sub => Int(x.checked_sub(*y).ok_or_else(overflow)?),
            ArithOp::Mul => Int(x.checked_mul(*y).ok_or_else(overflow)?),
            ArithOp::Div => {
                if *y == 0 {
                    Null
                } else {
                    float_value(*x as f64 / *y as f64)
                }
            }
        },
        (Float(_), Int(_) | Float(_) | Decimal(_)) | (Int(_) | Decimal(_), Float(_)) => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => float_op(op, x, y),
            _ => Null,
        },
        (Int(_) | Decimal(_), Int(_) | Decimal(_)) => match (as_decimal(a), as_decimal(b)) {
            (Some(x), Some(y)) => dec_op(op, x, y)?,
            _ => Null,
        },
        (Money(x), Money(y)) if x.currency == y.currency && op != ArithOp::Mul => {
            match dec_op(op, x.amount, y.amount)? {
                Decimal(d) if op != ArithOp::Div => Money(crate::value::Money { amount: d, currency: x.currency }),
                other => other,
            }
        }
        (Money(x), Money(y)) => {
            let (p, q) = (to_base(x, sem)?, to_base(y, sem)?);
            match op {
                ArithOp::Add | ArithOp::Sub => match dec_op(op, p, q)? {
                    Decimal(d) => Money(crate::value::Money { amount: d, currency: sem.currency }),
                    _ => Null,
                },
                ArithOp::Div => dec_op(op, p, q)?,
                ArithOp::Mul => Null,
            }
        }
        (Money(m), n) | (n, Money(m)) if matches!(op, ArithOp::Mul | ArithOp::Div) => {
            if op == ArithOp::Div && matches!(a, Money(_)).eq(&false) {
                return Ok(Null);
            }
            match as_decimal(n) {
                Some(k) => match dec_op(op, m.amount, k)? {
                    Decimal(d) => Money(crate::value::Money { amount: d, currency: m.currency }),
                    _ => Null,
                },
                None => Null,
            }
        }
        (Timestamp(t), Duration(d)) => match op {
            ArithOp::Add => Timestamp(t.checked_add(*d).ok_or_else(overflow)?),
            ArithOp::Sub => Timestamp(t.checked_sub(*d).ok_or_else(overflow)?),
            _ => Null,
        },
        (Duration(d), Timestamp(t)) if op == ArithOp::Add => Timestamp(t.checked_add(*d).ok_or_else(overflow)?),
        (Timestamp(x), Timestamp(y)) if op == ArithOp::Sub => Duration(x.checked_sub(*y).ok_or_else(overflow)?),
        (Duration(x), Duration(y)) => match op {
            ArithOp::Add => Duration(x.checked_add(*y).ok_or_else(overflow)?),
            ArithOp::Sub => Duration(x.checked_sub(*y).ok_or_else(overflow)?),
            _ => Null,
        },
        (Duration(x), Int(k)) | (Int(k), Duration(x)) if op == ArithOp::Mul => {
            Duration(x.checked_mul(*k).ok_or_else(overflow)?)
        }
        _ => Null,
    })
}

fn round_half_away(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

pub fn local_day(v: &Value, tz: &TimeZone) -> Option<jiff::civil::Date> {
    match v {
        Value::Date(d) => Some(*d),
        Value::Str(s) => time::parse_date(s).or_else(|| time::parse_instant(s).and_then(|t| time::local_date(t, tz))),
        other => instant_of(other, tz).and_then(|t| time::local_date(t, tz)),
    }
}

fn vector_fn(f: Func, a: &[Value], b: &[Value]) -> Value {
    if a.len() != b.len() || a.is_empty() {
        return Value::Null;
    }
    let (mut dot, mut na, mut nb, mut sq) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (Some(x), Some(y)) = (as_f64(x), as_f64(y)) else {
            return Value::Null;
        };
        dot += x * y;
        na += x * x;
        nb += y * y;
        sq += (x - y) * (x - y);
    }
    if f == Func::EuclideanDistance {
        return float_value(sq.sqrt());
    }
    if na == 0.0 || nb == 0.0 {
        return Value::Null;
    }
    float_value(dot / (na.sqrt() * nb.sqrt()))
}

/// The bucket of `id` under `salt` (SPEC §13): `(u32be(sha256(salt ":" id)[..4]) mod 10000) / 100`.
///
/// ```
/// let b = segcore::binding::bucket("exp", "user-1");
/// assert!(b >= rust_decimal::Decimal::ZERO && b < rust_decimal::Decimal::from(100));
/// ```
pub fn bucket(salt: &str, id: &str) -> Decimal {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(id.as_bytes());
    let digest = h.finalize();
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    Decimal::new((n % 10_000) as i64, 2)
}

/// A running sum. Money is summed per currency and converted once per currency at the end
/// (exact decimals make this equal to converting every event, and it is much cheaper).
#[derive(Default)]
enum Acc {
    #[default]
    Empty,
    Int(i128),
    Dec(Decimal),
    Float(f64),
    Money(Vec<(Currency, Decimal)>),
    Bad,
}

/// Adds one non-null value to a running sum, in place (sums run over many events).
#[inline]
fn accumulate(acc: &mut Acc, v: &Value) -> R<()> {
    match (&mut *acc, v) {
        (Acc::Money(parts), Value::Money(m)) => {
            // Usually one or two currencies: a linear scan beats any map.
            match parts.iter_mut().find(|(c, _)| *c == m.currency) {
                Some((_, total)) => *total = add_exact(*total, m.amount)?,
                None => parts.push((m.currency, m.amount)),
            }
        }
        (Acc::Int(s), Value::Int(i)) => *s += *i as i128,
        (Acc::Float(s), Value::Float(f)) => *s += f,
        (Acc::Dec(s), Value::Decimal(d)) => *s = add_exact(*s, *d)?,
        (Acc::Bad, _) => {}
        _ => {
            let next = match (&*acc, v) {
                (Acc::Empty, Value::Int(i)) => Acc::Int(*i as i128),
                (Acc::Empty, Value::Decimal(d)) => Acc::Dec(*d),
                (Acc::Empty, Value::Float(f)) => Acc::Float(*f),
                (Acc::Empty, Value::Money(m)) => Acc::Money(vec![(m.currency, m.amount)]),
                (Acc::Int(s), Value::Decimal(d)) => Acc::Dec(i128_dec(*s)?.checked_add(*d).ok_or_else(overflow)?),
                (Acc::Int(s), Value::Float(f)) => Acc::Float(*s as f64 + f),
                (Acc::Dec(s), Value::Int(i)) => Acc::Dec(s.checked_add(Decimal::from(*i)).ok_or_else(overflow)?),
                (Acc::Dec(s), Value::Float(f)) => Acc::Float(dec_f64(*s).unwrap_or(f64::NAN) + f),
                (Acc::Float(s), Value::Int(i)) => Acc::Float(s + *i as f64),
                (Acc::Float(s), Value::Decimal(d)) => Acc::Float(s + dec_f64(*d).unwrap_or(f64::NAN)),
                _ => Acc::Bad,
            };
            *acc = next;
        }
    }
    Ok(())
}

/// `a + b`, exact. Amounts of one scale (the usual case: cents) add as integers, which is several
/// times faster than general decimal addition and gives the identical result.
#[inline]
fn add_exact(a: Decimal, b: Decimal) -> R<Decimal> {
    if a.scale() == b.scale() {
        if let Ok(sum) = Decimal::try_from_i128_with_scale(a.mantissa() + b.mantissa(), a.scale()) {
            return Ok(sum);
        }
    }
    a.checked_add(b).ok_or_else(overflow)
}

fn i128_dec(s: i128) -> R<Decimal> {
    i64::try_from(s).map(Decimal::from).map_err(|_| overflow())
}

/// A key under which values equal by `=` collide (SPEC §11 distinct_count).
fn distinct_key(v: &Value) -> String {
    let num = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            format!("n:{}", f as i64)
        } else {
            format!("f:{}", f.to_bits())
        }
    };
    match v {
        Value::Int(i) => format!("n:{i}"),
        Value::Float(f) => num(*f),
        Value::Decimal(d) => {
            if d.fract().is_zero() {
                match d.to_i64() {
                    Some(i) => format!("n:{i}"),
                    None => format!("d:{}", d.normalize()),
                }
            } else {
                num(dec_f64(*d).unwrap_or(f64::NAN))
            }
        }
        Value::Str(s) => format!("s:{s}"),
        other => format!("{}:{}", other.type_name(), other),
    }
}

/// A running `sum` or `avg` over non-null values (SPEC §11), fed in event order.
#[derive(Default)]
pub struct Sum {
    acc: Acc,
    n: i64,
}

impl Sum {
    /// Adds one value (null is skipped). `Ok(false)` once the sum became null (values that do not
    /// add up, like a string): the caller may stop feeding it.
    #[inline]
    pub fn push(&mut self, v: &Value) -> R<bool> {
        if v.is_null() {
            return Ok(true);
        }
        self.n += 1;
        accumulate(&mut self.acc, v)?;
        Ok(!matches!(self.acc, Acc::Bad))
    }

    /// The `sum` or `avg`. Money is converted to the base currency once per currency; an empty
    /// money sum is `0 <base>` when the compiler typed it money (`money_zero`), else `0`.
    pub fn finish(self, func: AggFn, money_zero: bool, sem: &Semantics) -> R<Value> {
        let n = self.n;
        let money = |d: Decimal| Value::Money(Money { amount: d, currency: sem.currency });
        let (acc, in_money) = match self.acc {
            Acc::Money(parts) => {
                let mut total = Decimal::ZERO;
                for (currency, amount) in parts {
                    total = total.checked_add(to_base(&Money { amount, currency }, sem)?).ok_or_else(overflow)?;
                }
                (Acc::Dec(total), true)
            }
            other => (other, false),
        };
        let decimal = |d: Decimal| if in_money { money(d) } else { Value::Decimal(d) };
        Ok(match (func, acc) {
            (_, Acc::Bad) => Value::Null,
            (AggFn::Sum, Acc::Empty) if money_zero => money(Decimal::ZERO),
            (AggFn::Sum, Acc::Empty) => Value::Int(0),
            (AggFn::Sum, Acc::Int(s)) => Value::Int(i64::try_from(s).map_err(|_| overflow())?),
            (AggFn::Sum, Acc::Float(s)) => float_value(s),
            (_, Acc::Empty) => Value::Null,
            (_, Acc::Int(s)) => float_value(s as f64 / n as f64),
            (_, Acc::Float(s)) => float_value(s / n as f64),
            (AggFn::Sum, Acc::Dec(s)) => decimal(s),
            (_, Acc::Dec(s)) => match dec_op(ArithOp::Div, s, Decimal::from(n))? {
                Value::Decimal(q) => decimal(q),
                other => other,
            },
            (_, Acc::Money(_)) => Value::Null,
        })
    }
}
