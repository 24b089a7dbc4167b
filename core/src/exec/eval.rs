//! The interpreter: evaluates a [`Program`] (or one [`Segment`]) against one profile. Three-valued throughout
//! (`Option<bool>`, `None` = UNKNOWN); values are borrowed from the profile and the IR wherever
//! possible, so a typical rule allocates nothing.

use std::borrow::Cow;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::ast::{AggFn, PathSeg};
use crate::bind::{Bound, Slots};
use crate::context::{EvalContext, FxRates};
use crate::error::{Diagnostic, Error, ErrorKind};
use crate::ir::{Agg, CmpOp, Func, Kind, Node};
use crate::ops::{self, coerce, compare, typed, Fault, Semantics, Sum, R};
use crate::profile::{Event, Profile};
use crate::program::{Outcome, Program};
use crate::segment::Segment;
use crate::time;
use crate::value::Value;

static NULL: Value = Value::Null;

/// Results of referenced segments, by id.
pub type SegmentLookup<'a> = &'a dyn Fn(&str) -> Option<bool>;

/// Everything an evaluation reads besides the IR.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub profile: &'a Profile,
    pub as_of: i64,
    /// Zone, base currency and FX: what the value operations read.
    pub sem: Semantics<'a>,
    pub segments: SegmentLookup<'a>,
    /// The segment's compiled `matches` patterns, by slot (a thin pointer: `Ctx` is copied for
    /// every event a `where` filter reads).
    pub regexes: &'a Vec<regex::Regex>,
    /// The event a `where` filter is looking at.
    pub event: Option<&'a Event>,
    /// The profile bound to the segment's layout, when it was bound.
    pub bound: Option<&'a Slots<'a>>,
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
pub(crate) fn event_group<'a>(agg: &Agg, cx: &Ctx<'a>) -> Option<&'a crate::profile::EventGroup> {
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
                compare(a, b, ordering, &cx.sem)
            } else {
                let a = eval(l, cx)?;
                let b = eval(r, cx)?;
                compare(&a, &b, ordering, &cx.sem)
            };
            Ok(ops::cmp_result(*op, o.map_err(|e| e.at(n.span))?))
        }
        Kind::InStrings { x, set, negated } => {
            let r = match simple(x, cx) {
                Some(v) => ops::in_strings(v, set),
                None => ops::in_strings(&*eval(x, cx)?, set),
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
            let r = ops::between(&v, &lo_v, &hi_v, &cx.sem).map_err(|e| e.at(n.span))?;
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::IsNull { x, negated } => {
            let v = eval(x, cx)?;
            Ok(Some(v.is_null() != *negated))
        }
        Kind::StrPred { op, s, t, negated } => {
            let (a, b) = (eval(s, cx)?, eval(t, cx)?);
            let r = ops::str_pred(*op, &a, &b);
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::Matches { x, slot, negated, .. } => {
            let v = eval(x, cx)?;
            let r = match &*v {
                // The compiler validated every pattern and gave it its slot.
                Value::Str(s) => cx.regexes.get(*slot as usize).map(|re| re.is_match(s)),
                _ => None,
            };
            Ok(if *negated { r.map(|b| !b) } else { r })
        }
        Kind::Within { x, window } => {
            let v = eval(x, cx)?;
            ops::within(&v, window, cx.as_of, &cx.sem).map_err(|e| e.at(n.span))
        }
        Kind::InSegment(id) => match (cx.segments)(id) {
            Some(b) => Ok(Some(b)),
            None => Err(Fault::new(
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
    match &*l {
        Value::List(items) => ops::in_list(&v, items, &cx.sem),
        _ => Ok(None),
    }
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

pub(crate) fn walk<'v>(mut v: &'v Value, rest: &[PathSeg]) -> &'v Value {
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
            Cow::Owned(ops::arith(*op, &a, &b, &cx.sem).map_err(|e| e.at(n.span))?)
        }
        Kind::Neg(x) => {
            let v = eval(x, cx)?;
            Cow::Owned(ops::negate(&v).map_err(|e| e.at(n.span))?)
        }
        Kind::Call(f, args) => call(*f, args, cx).map_err(|e| e.at(n.span))?,
        Kind::Bucket { x, salt } => Cow::Owned(ops::bucket_value(&*eval(x, cx)?, salt)),
        Kind::Agg(agg) => Cow::Owned(aggregate(agg, cx).map_err(|e| e.at(n.span))?),
        Kind::EventGet { agg, path } => {
            let e = pick_event(agg, cx).map_err(|e| e.at(n.span))?;
            match e {
                None => Cow::Borrowed(&NULL),
                Some(e) => {
                    if path.len() == 1 && path[0] == PathSeg::Key("at".into()) {
                        Cow::Owned(Value::Timestamp(e.at))
                    } else {
                        typed(prop(e, path), n.ty, cx.sem.tz)
                    }
                }
            }
        }
        Kind::Coerce(x) => {
            let v = eval(x, cx)?;
            coerce(v, n.ty, cx.sem.tz)
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

fn call<'a>(f: Func, args: &'a [Node], cx: &Ctx<'a>) -> R<Cow<'a, Value>> {
    match f {
        Func::Coalesce => {
            for a in args {
                let v = eval(a, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Cow::Borrowed(&NULL))
        }
        Func::CosineSimilarity | Func::EuclideanDistance => {
            let a = eval(&args[0], cx)?;
            if !matches!(&*a, Value::List(_)) {
                return Ok(Cow::Borrowed(&NULL));
            }
            Ok(Cow::Owned(ops::vector(f, &a, &*eval(&args[1], cx)?)))
        }
        Func::Semver => {
            let v = eval(&args[0], cx)?;
            if matches!(&*v, Value::Semver(_)) {
                return Ok(v);
            }
            Ok(Cow::Owned(ops::apply(f, &v, 0, cx.as_of, &cx.sem)?))
        }
        _ => {
            let v = eval(&args[0], cx)?;
            // `round`'s digits are a constant (the compiler checks it).
            let digits = match args.get(1).map(|n| &n.kind) {
                Some(Kind::Const(Value::Int(n))) => (*n).clamp(0, 12) as u32,
                _ => 0,
            };
            Ok(Cow::Owned(ops::apply(f, &v, digits, cx.as_of, &cx.sem)?))
        }
    }
}

/// The selected events' index range in their group (window and `as_of` applied, not the filter).
fn selected_range<'a>(agg: &Agg, cx: &Ctx<'a>) -> R<Option<(&'a crate::profile::EventGroup, std::ops::Range<usize>)>> {
    let Some(group) = event_group(agg, cx) else { return Ok(None) };
    Ok(Some((group, window_range(&group.ats, agg.within.as_ref(), cx.as_of, cx.sem.tz)?)))
}

/// The index range of the ascending instants `ats` an aggregate selects: those in its window at
/// `as_of`, never after `as_of` (every event up to `as_of` without a window). The interpreter
/// and the columnar engine both call this.
pub(crate) fn window_range(
    ats: &[i64],
    within: Option<&crate::ast::Window>,
    as_of: i64,
    tz: &jiff::tz::TimeZone,
) -> R<std::ops::Range<usize>> {
    let (start, end, inclusive) = window_limits(within, as_of, tz)?;
    Ok(crate::profile::range_of(ats, start, end, inclusive))
}

/// `(start, end, end inclusive?)` of the instants an aggregate selects at `as_of` (see
/// [`window_range`]); computed once per batch by the columnar engine.
pub(crate) fn window_limits(
    within: Option<&crate::ast::Window>,
    as_of: i64,
    tz: &jiff::tz::TimeZone,
) -> R<(i64, i64, bool)> {
    Ok(match within {
        None => (i64::MIN, as_of, true),
        Some(w) => {
            let (start, end, inclusive) =
                time::window_bounds(w, as_of, tz).ok_or_else(|| ops::out_of_range("window"))?;
            if inclusive || end > as_of {
                (start, end.min(as_of), true)
            } else {
                (start, end, false)
            }
        }
    })
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

fn sum_or_avg<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<Value> {
    let mut sum = Sum::default();
    for_each_event(agg, cx, |e| sum.push(&typed(prop(e, &agg.path), agg.prop_ty, cx.sem.tz)))?;
    sum.finish(agg.func, agg.money_zero, &cx.sem)
}

fn aggregate<'a>(agg: &'a Agg, cx: &Ctx<'a>) -> R<Value> {
    match agg.func {
        AggFn::Count => return Ok(Value::Int(selected_count(agg, cx)?)),
        AggFn::Exists => return Ok(Value::Bool(selected_count(agg, cx)? > 0)),
        AggFn::First | AggFn::Last => {
            return Ok(pick_event(agg, cx)?.map_or(Value::Null, |e| Value::Timestamp(e.at)));
        }
        AggFn::Sum | AggFn::Avg => return sum_or_avg(agg, cx),
        _ => {}
    }
    let mut values: Vec<Cow<'a, Value>> = Vec::new();
    for_each_event(agg, cx, |e| {
        let v = typed(prop(e, &agg.path), agg.prop_ty, cx.sem.tz);
        if !v.is_null() {
            values.push(v);
        }
        Ok(true)
    })?;
    Ok(match agg.func {
        AggFn::Min | AggFn::Max => ops::extreme(agg.func, &values, &cx.sem)?.cloned().unwrap_or(Value::Null),
        AggFn::DistinctCount => Value::Int(ops::distinct_count(values.iter().map(|v| &**v))),
        _ => Value::Null,
    })
}

/// Evaluation entry points of a segment (the interpreter's; `explain` has its own).
impl Segment {
    /// Evaluates the rule for one profile: TRUE, FALSE or UNKNOWN.
    pub fn evaluate(&self, profile: &Profile, cx: &EvalContext) -> Result<Outcome, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        self.evaluate_with(profile, cx.as_of, &cx.fx, &lookup)
    }

    /// Whether the profile is a member (outcome TRUE).
    pub fn is_member(&self, profile: &Profile, cx: &EvalContext) -> Result<bool, Error> {
        Ok(self.evaluate(profile, cx)?.is_member())
    }

    /// Evaluates with an explicit lookup for referenced segments.
    pub fn evaluate_with(
        &self,
        profile: &Profile,
        as_of: i64,
        fx: &FxRates,
        segments: &dyn Fn(&str) -> Option<bool>,
    ) -> Result<Outcome, Error> {
        self.run(self.ctx(profile, as_of, fx, segments))
    }

    /// The one evaluation entry: the effective window (applied here and nowhere else in the
    /// interpreter), then the rule.
    fn run(&self, cx: Ctx<'_>) -> Result<Outcome, Error> {
        if !self.is_effective(cx.as_of) {
            return Ok(Outcome::False);
        }
        eval_bool(self.ir(), &cx).map(Outcome::from_tri).map_err(|e| self.fault_error(*e))
    }

    pub(crate) fn ctx<'a>(
        &'a self,
        profile: &'a Profile,
        as_of: i64,
        fx: &'a FxRates,
        segments: &'a dyn Fn(&str) -> Option<bool>,
    ) -> Ctx<'a> {
        Ctx {
            profile,
            as_of,
            sem: Semantics { tz: self.timezone(), currency: self.currency(), fx },
            segments,
            regexes: self.regexes(),
            event: None,
            bound: None,
        }
    }

    /// A fault located in this segment's rule, located like compile errors: the definition file and its line when it came from one.
    pub(crate) fn fault_error(&self, e: Fault) -> Error {
        let d = match e.span {
            Some(span) => self.diagnostic_at(e.kind, span, e.message),
            None => {
                let origin = self.definition().source.as_ref().map_or(self.id(), |s| s.path.as_str());
                Diagnostic::new(e.kind, e.message).with_origin(origin)
            }
        };
        Error::from(d)
    }

    /// Evaluates a bound profile (see [`Segment::bind`]). A profile bound to another layout is
    /// evaluated by name, with the same result.
    pub fn evaluate_bound(&self, bound: &Bound, cx: &EvalContext) -> Result<Outcome, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        self.evaluate_bound_with(bound, cx.as_of, &cx.fx, &lookup)
    }

    /// Evaluates a bound profile with an explicit lookup for referenced segments.
    pub fn evaluate_bound_with(
        &self,
        bound: &Bound,
        as_of: i64,
        fx: &FxRates,
        segments: &dyn Fn(&str) -> Option<bool>,
    ) -> Result<Outcome, Error> {
        let mut cx = self.ctx(bound.profile(), as_of, fx, segments);
        if Arc::ptr_eq(&bound.layout, self.layout()) {
            cx.bound = Some(&bound.slots);
        }
        self.run(cx)
    }
}

impl Program {
    /// Evaluates the segments of the program in dependency order for one bound profile
    /// (`only`: just these indexes, which must include what they reference). Outcomes by index
    /// into [`Program::segments`]; `None` for segments not evaluated. A referenced segment's
    /// result comes from this evaluation, or else from `cx.segments`.
    pub fn evaluate_bound(
        &self,
        bound: &Bound,
        cx: &EvalContext,
        only: Option<&BTreeSet<usize>>,
    ) -> Result<Vec<Option<Outcome>>, Error> {
        self.evaluate_bound_at(bound, cx.as_of, &cx.fx, &cx.segments, only)
    }

    /// [`Program::evaluate_bound`] at `as_of` with the context's parts borrowed (a search over
    /// instants evaluates at many without building a context for each).
    pub(crate) fn evaluate_bound_at(
        &self,
        bound: &Bound,
        as_of: i64,
        fx: &FxRates,
        given: &std::collections::BTreeMap<String, bool>,
        only: Option<&BTreeSet<usize>>,
    ) -> Result<Vec<Option<Outcome>>, Error> {
        // The versions in force at `as_of` (SPEC §1); ids, order and references are shared.
        let segments = self.at(as_of).segments();
        let mut results: Vec<Option<Outcome>> = vec![None; segments.len()];
        for &i in self.order() {
            if only.is_some_and(|o| !o.contains(&i)) {
                continue;
            }
            let lookup = |id: &str| {
                self.position(id).and_then(|j| results[j]).map(Outcome::is_member).or_else(|| given.get(id).copied())
            };
            let outcome = segments[i].evaluate_bound_with(bound, as_of, fx, &lookup)?;
            results[i] = Some(outcome);
        }
        Ok(results)
    }
}
