//! The interpreter: evaluates typed IR against one profile. Three-valued throughout
//! (`Option<bool>`, `None` = UNKNOWN); values are borrowed from the profile and the IR wherever
//! possible, so a typical rule allocates nothing.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use jiff::tz::TimeZone;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

use crate::ast::{AggFn, PathSeg};
use crate::context::FxRates;
use crate::error::{ErrorKind, Span};
use crate::ir::{Agg, ArithOp, CmpOp, Func, Kind, Node, StrOp, Ty};
use crate::profile::{Event, Profile};
use crate::semver::Version;
use crate::time;
use crate::value::{float_value, format_float, parse_decimal, parse_money_text, Currency, Money, Value};

static NULL: Value = Value::Null;

/// An evaluation failure: a stable kind, a message and the node it arose at.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Span>,
}

impl EvalError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Box<EvalError> {
        Box::new(EvalError { kind, message: message.into(), span: None })
    }
}

trait At {
    fn at(self, span: Span) -> Self;
}

impl At for Box<EvalError> {
    #[cold]
    fn at(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }
}

/// Errors are rare: boxing keeps every `Result` on the hot path two words wide.
type R<T> = Result<T, Box<EvalError>>;

/// Results of referenced segments, by id.
pub type SegmentLookup<'a> = &'a dyn Fn(&str) -> Option<bool>;

/// Everything an evaluation reads besides the IR.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub profile: &'a Profile,
    pub as_of: i64,
    pub tz: &'a TimeZone,
    pub currency: Currency,
    pub fx: &'a FxRates,
    pub segments: SegmentLookup<'a>,
    /// The event a `where` filter is looking at.
    pub event: Option<&'a Event>,
    /// The profile bound to the segment's layout, when it was bound.
    pub bound: Option<&'a Slots<'a>>,
}

/// A profile's values at a layout's slots (see [`crate::segment::Bound`]).
#[derive(Debug, Clone, Default)]
pub struct Slots<'p> {
    pub attributes: Vec<&'p Value>,
    pub events: Vec<Option<&'p crate::profile::EventGroup>>,
}

/// The value of a top-level attribute: by slot when bound, by name otherwise.
#[inline(always)]
fn attribute<'a>(name: &str, slot: u32, cx: &Ctx<'a>) -> &'a Value {
    match cx.bound {
        Some(b) => b.attributes.get(slot as usize).copied().unwrap_or(&NULL),
        None => cx.profile.attribute(name).unwrap_or(&NULL),
    }
}

/// The events of one name: by slot when bound, by name otherwise.
#[inline(always)]
fn event_group<'a>(agg: &Agg, cx: &Ctx<'a>) -> Option<&'a crate::profile::EventGroup> {
    match cx.bound {
        Some(b) => b.events.get(agg.event_slot as usize).copied().flatten(),
        None => cx.profile.events(&agg.event),
    }
}

/// Evaluates a condition: `Some(true)`, `Some(false)` or `None` (UNKNOWN).
pub fn eval_bool<'a>(n: &'a Node, cx: &Ctx<'a>) -> R<Option<bool>> {
    match &n.kind {
        Kind::And(xs) => {
            let mut unknown = false;
            for x in xs {
                match eval_bool(x, cx)? {
                    Some(false) => return Ok(Some(false)),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            Ok(if unknown { None } else { Some(true) })
        }
        Kind::Or(xs) => {
            let mut unknown = false;
            for x in xs {
                match eval_bool(x, cx)? {
                    Some(true) => return Ok(Some(true)),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            Ok(if unknown { None } else { Some(false) })
        }
        Kind::Not(x) => Ok(eval_bool(x, cx)?.map(|b| !b)),
        Kind::Cmp(op, l, r) => {
            let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
            // Attribute-versus-literal comparisons are most rules: no Cow, no Result plumbing.
            let o = if let (Some(a), Some(b)) = (simple(l, cx), simple(r, cx)) {
                compare(a, b, ordering, cx)
            } else {
                let a = eval(l, cx)?;
                let b = eval(r, cx)?;
                compare(&a, &b, ordering, cx)
            };
            let o = o.map_err(|e| e.at(n.span))?;
            Ok(o.map(|o| match op {
                CmpOp::Eq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            }))
        }
        Kind::InStrings { x, set, negated } => {
            let r = match simple(x, cx) {
                Some(Value::Str(s)) => Some(set.iter().any(|t| **t == **s)),
                Some(Value::Null) if set.is_empty() => Some(false),
                Some(Value::Null) => None,
                Some(_) => None,
                None => match &*eval(x, cx)? {
                    Value::Str(s) => Some(set.iter().any(|t| **t == **s)),
                    Value::Null if set.is_empty() => Some(false),
                    _ => None,
                },
            };
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        _ => eval_bool_cold(n, cx),
    }
}

/// The less common condition forms, kept out of `eval_bool` so its stack frame stays small.
#[inline(never)]
fn eval_bool_cold<'a>(n: &'a Node, cx: &Ctx<'a>) -> R<Option<bool>> {
    match &n.kind {
        Kind::In { x, list, negated } => {
            let r = eval_in(x, list, cx).map_err(|e| e.at(n.span))?;
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::Between { x, lo, hi, negated } => {
            let v = eval(x, cx)?;
            let lo_v = eval(lo, cx)?;
            let hi_v = eval(hi, cx)?;
            let a = compare(&lo_v, &v, true, cx).map_err(|e| e.at(n.span))?.map(|o| o != Ordering::Greater);
            let b = compare(&v, &hi_v, true, cx).map_err(|e| e.at(n.span))?.map(|o| o != Ordering::Greater);
            let r = match (a, b) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::IsNull { x, negated } => {
            let v = eval(x, cx)?;
            Ok(Some(v.is_null() != *negated))
        }
        Kind::StrPred { op, s, t, negated } => {
            let (a, b) = (eval(s, cx)?, eval(t, cx)?);
            let r = match (&*a, &*b) {
                (Value::Str(a), Value::Str(b)) => Some(match op {
                    StrOp::Contains => a.contains(&**b),
                    StrOp::StartsWith => a.starts_with(&**b),
                    StrOp::EndsWith => a.ends_with(&**b),
                }),
                _ => None,
            };
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::Matches { x, re, negated } => {
            let v = eval(x, cx)?;
            let r = match &*v {
                Value::Str(s) => Some(re.is_match(s)),
                _ => None,
            };
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::Within { x, window } => {
            let v = eval(x, cx)?;
            let Some(t) = instant_of(&v, cx.tz) else {
                return Ok(None);
            };
            let bounds = time::window_bounds(window, cx.as_of, cx.tz)
                .ok_or_else(|| EvalError::new(ErrorKind::NumberOutOfRange, "window is out of range").at(n.span))?;
            Ok(Some(time::in_bounds(t, bounds, cx.as_of)))
        }
        Kind::InSegment(id) => match (cx.segments)(id) {
            Some(b) => Ok(Some(b)),
            None => Err(EvalError::new(
                ErrorKind::SegmentResultMissing,
                format!("the result of segment `{id}` was not passed in the evaluation context"),
            )
            .at(n.span)),
        },
        Kind::Agg(agg) if agg.func == AggFn::Exists => {
            let mut found = false;
            for_each_event(agg, cx, |_| {
                found = true;
                Ok(false)
            })
            .map_err(|e| e.at(n.span))?;
            Ok(Some(found))
        }
        _ => match &*eval(n, cx)? {
            Value::Bool(b) => Ok(Some(*b)),
            // A non-boolean at run time (bad data) is UNKNOWN, like every run-time type mismatch.
            _ => Ok(None),
        },
    }
}

fn eval_in<'a>(x: &'a Node, list: &'a Node, cx: &Ctx<'a>) -> R<Option<bool>> {
    let v = eval(x, cx)?;
    let l = eval(list, cx)?;
    let Value::List(items) = &*l else {
        return Ok(None);
    };
    // `x in []` is an empty `or`: FALSE even for a null x (SPEC §6).
    if items.is_empty() {
        return Ok(Some(false));
    }
    if v.is_null() {
        return Ok(None);
    }
    let mut unknown = false;
    for item in items {
        match compare(&v, item, false, cx)? {
            Some(Ordering::Equal) => return Ok(Some(true)),
            None => unknown = true,
            _ => {}
        }
    }
    Ok(if unknown { None } else { Some(false) })
}

/// A borrowed value for nodes that need no computation (constants and plain attributes).
#[inline(always)]
fn simple<'a>(n: &'a Node, cx: &Ctx<'a>) -> Option<&'a Value> {
    match &n.kind {
        Kind::Const(v) => Some(v),
        Kind::Attr { name, rest, slot } if rest.is_empty() => Some(attribute(name, *slot, cx)),
        _ => None,
    }
}

fn walk<'v>(mut v: &'v Value, rest: &[PathSeg]) -> &'v Value {
    for seg in rest {
        v = match (seg, v) {
            (PathSeg::Key(k), Value::Object(m)) => match m.get(k.as_str()) {
                Some(x) => x,
                None => return &NULL,
            },
            (PathSeg::Index(i), Value::List(items)) => match usize::try_from(*i).ok().and_then(|i| items.get(i)) {
                Some(x) => x,
                None => return &NULL,
            },
            _ => return &NULL,
        };
    }
    v
}

/// Evaluates any node to a value.
pub fn eval<'a>(n: &'a Node, cx: &Ctx<'a>) -> R<Cow<'a, Value>> {
    Ok(match &n.kind {
        Kind::Const(v) => Cow::Borrowed(v),
        Kind::Attr { name, rest, slot } => Cow::Borrowed(walk(attribute(name, *slot, cx), rest)),
        _ => eval_cold(n, cx)?,
    })
}

/// The less common value forms, kept out of `eval` so its stack frame stays small.
#[inline(never)]
fn eval_cold<'a>(n: &'a Node, cx: &Ctx<'a>) -> R<Cow<'a, Value>> {
    Ok(match &n.kind {
        Kind::Const(v) => Cow::Borrowed(v),
        Kind::Prop(path) => Cow::Borrowed(match cx.event {
            Some(e) => prop(e, path),
            None => &NULL,
        }),
        Kind::EntityId => Cow::Borrowed(cx.profile.id_value()),
        Kind::AsOf => Cow::Owned(Value::Timestamp(cx.as_of)),
        Kind::EventAt => Cow::Owned(cx.event.map_or(Value::Null, |e| Value::Timestamp(e.at))),
        Kind::Arith(op, l, r) => {
            let (a, b) = (eval(l, cx)?, eval(r, cx)?);
            Cow::Owned(arith(*op, &a, &b, cx).map_err(|e| e.at(n.span))?)
        }
        Kind::Neg(x) => {
            let v = eval(x, cx)?;
            Cow::Owned(match &*v {
                Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(|| overflow().at(n.span))?),
                Value::Float(f) => float_value(-f),
                Value::Decimal(d) => Value::Decimal(-*d),
                Value::Duration(d) => Value::Duration(d.checked_neg().ok_or_else(|| overflow().at(n.span))?),
                Value::Money(m) => Value::Money(Money { amount: -m.amount, currency: m.currency }),
                _ => Value::Null,
            })
        }
        Kind::Call(f, args) => call(*f, args, cx).map_err(|e| e.at(n.span))?,
        Kind::Bucket { x, salt } => {
            let v = eval(x, cx)?;
            Cow::Owned(match &*v {
                Value::Str(s) => Value::Decimal(bucket(salt, s)),
                Value::Int(i) => Value::Decimal(bucket(salt, &i.to_string())),
                _ => Value::Null,
            })
        }
        Kind::Agg(agg) => Cow::Owned(aggregate(agg, cx).map_err(|e| e.at(n.span))?),
        Kind::EventGet { agg, path } => {
            let e = pick_event(agg, cx).map_err(|e| e.at(n.span))?;
            match e {
                None => Cow::Borrowed(&NULL),
                Some(e) => {
                    if path.len() == 1 && path[0] == PathSeg::Key("at".into()) {
                        Cow::Owned(Value::Timestamp(e.at))
                    } else {
                        typed(prop(e, path), n.ty, cx.tz)
                    }
                }
            }
        }
        Kind::Coerce(x) => {
            let v = eval(x, cx)?;
            coerce(v, n.ty, cx.tz)
        }
        _ => Cow::Owned(match eval_bool(n, cx)? {
            Some(b) => Value::Bool(b),
            None => Value::Null,
        }),
    })
}

fn prop<'e>(e: &'e Event, path: &[PathSeg]) -> &'e Value {
    let Some(PathSeg::Key(first)) = path.first() else {
        return &NULL;
    };
    match e.properties.get(first.as_str()) {
        Some(v) => walk(v, &path[1..]),
        None => &NULL,
    }
}

/// Reads a data value as `ty` (SPEC §9, §10, §15); unreadable → null.
fn coerce<'a>(v: Cow<'a, Value>, ty: Ty, tz: &TimeZone) -> Cow<'a, Value> {
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
fn typed<'a>(v: &'a Value, ty: Ty, tz: &TimeZone) -> Cow<'a, Value> {
    if crate::compile::is_coercible(ty) {
        coerce(Cow::Borrowed(v), ty, tz)
    } else {
        Cow::Borrowed(v)
    }
}

fn instant_of(v: &Value, tz: &TimeZone) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        Value::Date(d) => time::start_of_date(*d, tz),
        Value::Str(s) => time::parse_instant(s),
        _ => None,
    }
}

/// The f64 nearest to a decimal (SPEC §6), rounded once: through its text, because
/// `Decimal::to_f64` divides in floating point and can land one ulp off.
fn dec_f64(d: Decimal) -> Option<f64> {
    d.to_string().parse().ok()
}

fn overflow() -> Box<EvalError> {
    EvalError::new(ErrorKind::NumericOverflow, "arithmetic overflow")
}

/// A float as an exact decimal of its shortest text (`0.1` → 0.1).
fn float_to_decimal(f: f64) -> Option<Decimal> {
    parse_decimal(&format_float(f))
}

/// Converts money to the segment's base currency.
fn to_base(m: &Money, cx: &Ctx) -> R<Decimal> {
    if m.currency == cx.currency {
        return Ok(m.amount);
    }
    let rate = cx.fx.rate(m.currency, cx.currency).ok_or_else(|| {
        EvalError::new(
            ErrorKind::FxRateMissing,
            format!("no FX rate {}/{} in the evaluation context", m.currency, cx.currency),
        )
    })?;
    m.amount.checked_mul(rate).ok_or_else(overflow)
}

fn cmp_i64_f64(i: i64, f: f64) -> Ordering {
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
pub fn compare(a: &Value, b: &Value, ordering: bool, cx: &Ctx) -> R<Option<Ordering>> {
    // The common cases first, so they stay small enough to inline.
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => return Ok(Some(x.cmp(y))),
        (Value::Str(x), Value::Str(y)) => return Ok(Some(x.as_bytes().cmp(y.as_bytes()))),
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        _ => {}
    }
    compare_slow(a, b, ordering, cx)
}

fn compare_slow(a: &Value, b: &Value, ordering: bool, cx: &Ctx) -> R<Option<Ordering>> {
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
        (Timestamp(_) | Date(_), Timestamp(_) | Date(_)) => match (instant_of(a, cx.tz), instant_of(b, cx.tz)) {
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
                compare(&parsed, b, ordering, cx)
            } else {
                compare(a, &parsed, ordering, cx)
            };
        }
        (Duration(x), Duration(y)) => Some(x.cmp(y)),
        (Money(x), Money(y)) if x.currency == y.currency => Some(x.amount.cmp(&y.amount)),
        (Money(x), Money(y)) => Some(to_base(x, cx)?.cmp(&to_base(y, cx)?)),
        (Money(x), Str(s)) => match parse_money_text(s) {
            Some(y) => Some(to_base(x, cx)?.cmp(&to_base(&y, cx)?)),
            None => None,
        },
        (Str(s), Money(y)) => match parse_money_text(s) {
            Some(x) => Some(to_base(&x, cx)?.cmp(&to_base(y, cx)?)),
            None => None,
        },
        (Semver(x), Semver(y)) => Some((**x).cmp(y)),
        (Semver(x), Str(s)) => crate::semver::Version::parse(s).map(|y| (**x).cmp(&y)),
        (Str(s), Semver(y)) => crate::semver::Version::parse(s).map(|x| x.cmp(y)),
        (List(x), List(y)) => {
            if ordering {
                return Ok(None);
            }
            if x.len() != y.len() {
                return Ok(Some(Ordering::Less));
            }
            let mut unknown = false;
            for (p, q) in x.iter().zip(y) {
                match compare(p, q, false, cx)? {
                    Some(Ordering::Equal) => {}
                    None => unknown = true,
                    Some(_) => return Ok(Some(Ordering::Less)),
                }
            }
            if unknown {
                None
            } else {
                Some(Ordering::Equal)
            }
        }
        (Object(x), Object(y)) => {
            if ordering {
                return Ok(None);
            }
            if x.len() != y.len() || x.keys().ne(y.keys()) {
                return Ok(Some(Ordering::Less));
            }
            let mut unknown = false;
            for (p, q) in x.values().zip(y.values()) {
                match compare(p, q, false, cx)? {
                    Some(Ordering::Equal) => {}
                    None => unknown = true,
                    Some(_) => return Ok(Some(Ordering::Less)),
                }
            }
            if unknown {
                None
            } else {
                Some(Ordering::Equal)
            }
        }
        _ => None,
    })
}

fn dec_op(op: ArithOp, x: Decimal, y: Decimal) -> R<Value> {
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

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Decimal(d) => dec_f64(*d),
        _ => None,
    }
}

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        Value::Float(f) => float_to_decimal(*f),
        _ => None,
    }
}

fn arith(op: ArithOp, a: &Value, b: &Value, cx: &Ctx) -> R<Value> {
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
            let (p, q) = (to_base(x, cx)?, to_base(y, cx)?);
            match op {
                ArithOp::Add | ArithOp::Sub => match dec_op(op, p, q)? {
                    Decimal(d) => Money(crate::value::Money { amount: d, currency: cx.currency }),
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

fn round_decimal(d: Decimal, dp: u32, f: fn(Decimal, u32) -> Decimal) -> Decimal {
    f(d, dp)
}

fn call<'a>(f: Func, args: &'a [Node], cx: &Ctx<'a>) -> R<Cow<'a, Value>> {
    if f == Func::Coalesce {
        for a in args {
            let v = eval(a, cx)?;
            if !v.is_null() {
                return Ok(v);
            }
        }
        return Ok(Cow::Borrowed(&NULL));
    }
    let v = eval(&args[0], cx)?;
    let tz = cx.tz;
    let out = match (f, &*v) {
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
        (Func::Round, Value::Decimal(d)) => Value::Decimal(round_half_away(*d, digits(args))),
        // From 2^52 up every float is an integer, so rounding keeps it (the decimal route below
        // cannot hold magnitudes past ~7.9e28).
        (Func::Round, Value::Float(x)) if x.abs() >= 4_503_599_627_370_496.0 => float_value(*x),
        (Func::Round, Value::Float(x)) => match float_to_decimal(*x) {
            Some(d) => dec_f64(round_half_away(d, digits(args))).map(float_value).unwrap_or(Value::Null),
            // Only magnitudes below the decimal's 28 fractional digits get here: they round to 0.
            None => float_value(0.0),
        },
        (Func::Floor, Value::Decimal(d)) => Value::Decimal(round_decimal(*d, 0, |d, _| d.floor())),
        (Func::Ceil, Value::Decimal(d)) => Value::Decimal(round_decimal(*d, 0, |d, _| d.ceil())),
        (Func::Floor, Value::Float(x)) => float_value(x.floor()),
        (Func::Ceil, Value::Float(x)) => float_value(x.ceil()),
        (Func::DaysSince, t) => match (local_day(t, tz), time::local_date(cx.as_of, tz)) {
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
        (Func::Semver, Value::Semver(_)) => return Ok(v),
        (Func::CosineSimilarity | Func::EuclideanDistance, Value::List(a)) => {
            let w = eval(&args[1], cx)?;
            match &*w {
                Value::List(b) => vector_fn(f, a, b),
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    };
    Ok(Cow::Owned(out))
}

fn digits(args: &[Node]) -> u32 {
    match args.get(1).map(|n| &n.kind) {
        Some(Kind::Const(Value::Int(n))) => (*n).clamp(0, 12) as u32,
        _ => 0,
    }
}

fn round_half_away(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

fn local_day(v: &Value, tz: &TimeZone) -> Option<jiff::civil::Date> {
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
/// let b = segcore::eval::bucket("exp", "user-1");
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

/// The selected events' index range in their group (window and `as_of` applied, not the filter).
fn selected_range<'a>(agg: &Agg, cx: &Ctx<'a>) -> R<Option<(&'a crate::profile::EventGroup, std::ops::Range<usize>)>> {
    let Some(group) = event_group(agg, cx) else { return Ok(None) };
    let range = match &agg.within {
        None => group.range(i64::MIN, cx.as_of, true),
        Some(w) => {
            let (start, end, inclusive) = time::window_bounds(w, cx.as_of, cx.tz)
                .ok_or_else(|| EvalError::new(ErrorKind::NumberOutOfRange, "window is out of range"))?;
            if inclusive || end > cx.as_of {
                group.range(start, end.min(cx.as_of), true)
            } else {
                group.range(start, end, false)
            }
        }
    };
    Ok(Some((group, range)))
}

/// Calls `f` for each selected event in time order until it returns `false`.
fn for_each_event<'a>(agg: &'a Agg, cx: &Ctx<'a>, mut f: impl FnMut(&'a Event) -> R<bool>) -> R<()> {
    let Some((group, range)) = selected_range(agg, cx)? else { return Ok(()) };
    for e in &group.events[range] {
        if let Some(filter) = &agg.filter {
            let inner = Ctx { event: Some(e), ..*cx };
            if eval_bool(filter, &inner)? != Some(true) {
                continue;
            }
        }
        if !f(e)? {
            break;
        }
    }
    Ok(())
}

fn selected_count<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<i64> {
    if agg.filter.is_none() {
        // Events are sorted by time: a windowed count is two binary searches.
        return Ok(selected_range(agg, cx)?.map_or(0, |(_, r)| r.len() as i64));
    }
    let mut n = 0i64;
    for_each_event(agg, cx, |_| {
        n += 1;
        Ok(true)
    })?;
    Ok(n)
}

fn pick_event<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<Option<&'a Event>> {
    let mut found = None;
    let first = agg.func == AggFn::First;
    for_each_event(agg, cx, |e| {
        found = Some(e);
        Ok(!first)
    })?;
    Ok(found)
}

/// A running sum. Money is summed per currency and converted once per currency at the end
/// (exact decimals make this equal to converting every event, and it is much cheaper).
enum Acc {
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

fn sum_or_avg<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<Value> {
    let mut acc = Acc::Empty;
    let mut n = 0i64;
    for_each_event(agg, cx, |e| {
        let v = typed(prop(e, &agg.path), agg.prop_ty, cx.tz);
        if v.is_null() {
            return Ok(true);
        }
        n += 1;
        accumulate(&mut acc, &v)?;
        Ok(!matches!(acc, Acc::Bad))
    })?;
    let money = |d: Decimal| Value::Money(Money { amount: d, currency: cx.currency });
    let (acc, in_money) = match acc {
        Acc::Money(parts) => {
            let mut total = Decimal::ZERO;
            for (currency, amount) in parts {
                total = total.checked_add(to_base(&Money { amount, currency }, cx)?).ok_or_else(overflow)?;
            }
            (Acc::Dec(total), true)
        }
        other => (other, false),
    };
    let decimal = |d: Decimal| if in_money { money(d) } else { Value::Decimal(d) };
    Ok(match (agg.func, acc) {
        (_, Acc::Bad) => Value::Null,
        (AggFn::Sum, Acc::Empty) if agg.money_zero => money(Decimal::ZERO),
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

fn aggregate<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<Value> {
    match agg.func {
        AggFn::Count => return Ok(Value::Int(selected_count(agg, cx)?)),
        AggFn::Exists => return Ok(Value::Bool(selected_count(agg, cx)? > 0)),
        AggFn::First | AggFn::Last => {
            return Ok(pick_event(agg, cx)?.map_or(Value::Null, |e| Value::Timestamp(e.at)));
        }
        _ => {}
    }
    if matches!(agg.func, AggFn::Sum | AggFn::Avg) {
        return sum_or_avg(agg, cx);
    }
    let mut values: Vec<Cow<'a, Value>> = Vec::new();
    for_each_event(agg, cx, |e| {
        let v = typed(prop(e, &agg.path), agg.prop_ty, cx.tz);
        if !v.is_null() {
            values.push(v);
        }
        Ok(true)
    })?;
    match agg.func {
        AggFn::Min | AggFn::Max => {
            let mut best: Option<&Value> = None;
            for v in &values {
                best = match best {
                    None => Some(v),
                    Some(b) => match compare(v, b, true, cx)? {
                        None => return Ok(Value::Null),
                        Some(o) => {
                            let better =
                                if agg.func == AggFn::Min { o == Ordering::Less } else { o == Ordering::Greater };
                            Some(if better { v } else { b })
                        }
                    },
                };
            }
            Ok(best.cloned().unwrap_or(Value::Null))
        }
        AggFn::DistinctCount => {
            let keys: BTreeSet<String> = values.iter().map(|v| distinct_key(v)).collect();
            Ok(Value::Int(keys.len() as i64))
        }
        _ => Ok(Value::Null),
    }
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
