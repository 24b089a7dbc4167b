//! The columnar kernels: one IR node over a range of rows at once. Three-valued results are
//! bytes (FALSE 0, UNKNOWN 1, TRUE 2, so `and` is a minimum and `or` a maximum); values are
//! [`Col`]umns. Every result carries which rows *failed* (the interpreter would have returned an
//! error there): the driver asks the interpreter for the exact error of such a row.
//!
//! `live` says which rows still matter: `and`/`or` narrow it as operands decide rows, as the
//! interpreter's short circuit does, so an operand that fails on a row an earlier operand already
//! decided is no failure, and the interpreter fallback runs only where needed.
//!
//! Nodes without a kernel ([`has_kernel`]) run through the interpreter row by row, on the
//! profiles the row path builds — never an approximation.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;

use super::frame::{Col, Frame, Ids, Prim, Strs};
use crate::ast::AggFn;
use crate::context::EvalContext;
use crate::eval;
use crate::ir::{CmpOp, Func, Kind, Node};
use crate::ops;
use crate::profile::Profile;
use crate::program::{Outcome, Program};
use crate::segment::Segment;
use crate::value::Value;

pub(crate) const F: u8 = 0;
pub(crate) const U: u8 = 1;
pub(crate) const T: u8 = 2;

/// Per-row failure flags; `None` when no row failed.
pub(crate) type Fails = Option<Vec<bool>>;

/// A three-valued column.
pub(crate) struct Tri {
    pub v: Vec<u8>,
    pub err: Fails,
}

/// A value column.
pub(crate) struct Vals<'c> {
    pub col: Col<'c>,
    pub err: Fails,
}

/// Whether a node has a kernel of its own (its children may still not).
pub(crate) fn has_kernel(n: &Node) -> bool {
    match &n.kind {
        Kind::Const(_) | Kind::Attr { .. } | Kind::AsOf | Kind::InSegment(_) => true,
        Kind::Not(_) | Kind::And(_) | Kind::Or(_) | Kind::Cmp(..) => true,
        Kind::InStrings { .. } | Kind::IsNull { .. } | Kind::Within { .. } => true,
        // Scalar operations: the value operations (`ops`) row by row over columns.
        Kind::EntityId | Kind::Arith(..) | Kind::Neg(_) | Kind::Call(..) | Kind::Bucket { .. } | Kind::Coerce(_) => {
            true
        }
        Kind::Between { .. } | Kind::StrPred { .. } | Kind::Matches { .. } | Kind::In { .. } => true,
        // Aggregates and first/last fields: per row over its events in time order; a `where`
        // filter is evaluated over the candidate events at once (event scope, below) when every
        // node of it has a kernel there.
        Kind::Agg(agg) | Kind::EventGet { agg, .. } => agg.filter.as_ref().is_none_or(scope_ok),
        // The current event's properties and time (only inside `where`, in event scope).
        Kind::Prop(_) | Kind::EventAt => true,
    }
}

/// Whether a `where` filter can be evaluated in event scope: every node has a kernel and none
/// is an aggregate (the interpreter's row fallback cannot stand in for one event).
fn scope_ok(n: &Node) -> bool {
    !matches!(n.kind, Kind::Agg(_) | Kind::EventGet { .. }) && has_kernel(n) && n.children().into_iter().all(scope_ok)
}

/// The events a `where` filter looks at, for the rows of an aggregate: each candidate's profile
/// row (absolute), time and row in the events tables.
#[derive(Default)]
pub(crate) struct Scope {
    rows: Vec<usize>,
    ats: Vec<i64>,
    idx: Vec<u32>,
}

/// Whether evaluating `n` needs the row path's profiles (some node in it has no kernel).
pub(crate) fn needs_rows(n: &Node) -> bool {
    !has_kernel(n) || n.children().into_iter().any(needs_rows)
}

fn negate_if(mut t: Tri, negated: bool) -> Tri {
    if negated {
        t.v.iter_mut().for_each(|v| *v = T - *v);
    }
    t
}

fn or_fails(a: Fails, b: Fails) -> Fails {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
            Some(a)
        }
    }
}

#[inline]
fn tri_of(b: Option<bool>) -> u8 {
    match b {
        Some(true) => T,
        Some(false) => F,
        None => U,
    }
}

/// Everything a kernel reads: one segment over rows `rows` of a frame.
pub(crate) struct Env<'c, 'a> {
    pub frame: &'c Frame<'a>,
    pub program: &'c Program,
    pub seg: &'c Segment,
    /// The segments `seg` references (indexes into the program).
    pub deps: &'c [usize],
    pub cx: &'c EvalContext,
    /// Outcomes of the segments evaluated before this one, by program index, every row.
    pub results: &'c [Vec<Outcome>],
    /// The row path's profiles, when some node needs the interpreter.
    pub profiles: Option<&'c [Profile]>,
    pub rows: Range<usize>,
    /// In a `where` filter: the candidate events, which are then the "rows" of every kernel.
    pub scope: Option<&'c Scope>,
}

impl<'c> Env<'c, '_> {
    fn len(&self) -> usize {
        self.scope.map_or(self.rows.len(), |s| s.rows.len())
    }

    /// The profile row of each row of this evaluation: the range, or in event scope the row of
    /// each candidate event.
    fn profile_rows(&self) -> Vec<usize> {
        match self.scope {
            Some(s) => s.rows.clone(),
            None => self.rows.clone().collect(),
        }
    }

    fn is_live(live: Option<&[bool]>, i: usize) -> bool {
        live.is_none_or(|l| l[i])
    }

    /// A node as a condition.
    pub(crate) fn tri(&self, n: &'c Node, live: Option<&[bool]>) -> Tri {
        match &n.kind {
            Kind::And(xs) => self.and_or(xs, live, true),
            Kind::Or(xs) => self.and_or(xs, live, false),
            Kind::Not(x) => {
                let mut t = self.tri(x, live);
                t.v.iter_mut().for_each(|v| *v = T - *v);
                t
            }
            Kind::Cmp(op, l, r) => self.cmp(*op, l, r, live),
            Kind::InStrings { x, set, negated } => {
                let x = self.vals(x, live);
                let mut v: Vec<u8> = match &x.col {
                    Col::Str(s) => {
                        let set: Vec<&[u8]> = set.iter().map(|t| t.as_bytes()).collect();
                        s.in_set(&set, T, F, tri_of(set.is_empty().then_some(false)))
                    }
                    col => (0..self.len()).map(|i| tri_of(ops::in_strings(&col.value(i), set))).collect(),
                };
                if *negated {
                    v.iter_mut().for_each(|v| *v = T - *v);
                }
                Tri { v, err: x.err }
            }
            Kind::IsNull { x, negated } => {
                let x = self.vals(x, live);
                let v = (0..self.len()).map(|i| if x.col.is_null(i) != *negated { T } else { F }).collect();
                Tri { v, err: x.err }
            }
            Kind::Within { x, window } => {
                let x = self.vals(x, live);
                let tz = self.seg.timezone();
                let bounds = crate::time::window_bounds(window, self.cx.as_of, tz);
                let mut err = x.err;
                let mut v = vec![U; self.len()];
                for (i, out) in v.iter_mut().enumerate() {
                    let t = match &x.col {
                        Col::Ts(ts) => ts.get(i),
                        col => ops::instant_of(&col.value(i), tz),
                    };
                    let Some(t) = t else { continue };
                    match bounds {
                        Some(b) => *out = tri_of(Some(crate::time::in_bounds(t, b, self.cx.as_of))),
                        None if Self::is_live(live, i) => err.get_or_insert_with(|| vec![false; self.len()])[i] = true,
                        None => {}
                    }
                }
                Tri { v, err }
            }
            Kind::InSegment(id) => {
                let segments = self.program.segments();
                if let Some(&d) = self.deps.iter().find(|&&d| segments[d].id() == &**id) {
                    let v = match self.scope {
                        Some(_) => {
                            self.profile_rows().iter().map(|&r| tri_of(Some(self.results[d][r].is_member()))).collect()
                        }
                        None => {
                            self.results[d][self.rows.clone()].iter().map(|o| tri_of(Some(o.is_member()))).collect()
                        }
                    };
                    return Tri { v, err: None };
                }
                match self.cx.segments.get(&**id) {
                    Some(&b) => Tri { v: vec![tri_of(Some(b)); self.len()], err: None },
                    None => Tri { v: vec![U; self.len()], err: Some(vec![true; self.len()]) },
                }
            }
            Kind::Between { x, lo, hi, negated } => {
                let (x, lo, hi) = (self.vals(x, live), self.vals(lo, live), self.vals(hi, live));
                let sem = self.sem();
                let err = or_fails(or_fails(x.err, lo.err), hi.err);
                let t = self.per_row_tri(live, err, |i| {
                    ops::between(&x.col.value(i), &lo.col.value(i), &hi.col.value(i), &sem)
                });
                negate_if(t, *negated)
            }
            Kind::StrPred { op, s, t, negated } => {
                let (a, b) = (self.vals(s, live), self.vals(t, live));
                let err = or_fails(a.err, b.err);
                let t = self.per_row_tri(live, err, |i| Ok(ops::str_pred(*op, &a.col.value(i), &b.col.value(i))));
                negate_if(t, *negated)
            }
            Kind::Matches { x, slot, negated, .. } => {
                let x = self.vals(x, live);
                // The compiler validated every pattern and gave it its slot.
                let re = self.seg.regexes().get(*slot as usize);
                let hit = |s: &str| tri_of(re.map(|re| re.is_match(s)));
                let v = match &x.col {
                    Col::Str(strs) => strs.map(U, |b| std::str::from_utf8(b).map_or(U, hit)),
                    col => (0..self.len())
                        .map(|i| match &*col.value(i) {
                            Value::Str(s) => hit(s),
                            _ => U,
                        })
                        .collect(),
                };
                negate_if(Tri { v, err: x.err }, *negated)
            }
            Kind::In { x, list, negated } => {
                let (x, l) = (self.vals(x, live), self.vals(list, live));
                let sem = self.sem();
                let err = or_fails(x.err, l.err);
                let t = self.per_row_tri(live, err, |i| match &*l.col.value(i) {
                    Value::List(items) => ops::in_list(&x.col.value(i), items, &sem),
                    _ => Ok(None),
                });
                negate_if(t, *negated)
            }
            Kind::Agg(agg) if agg.func == AggFn::Exists && agg.filter.is_none() => {
                let (counts, err) = self.count(agg, live);
                Tri { v: counts.iter().map(|&c| tri_of(Some(c > 0))).collect(), err }
            }
            _ if !has_kernel(n) => self.fallback_tri(n, live),
            // A value used as a condition: TRUE/FALSE for booleans, UNKNOWN for anything else.
            _ => {
                let x = self.vals(n, live);
                let v = match &x.col {
                    Col::Bool(b) => b.iter().map(|b| tri_of(*b)).collect(),
                    col => (0..self.len())
                        .map(|i| match &*col.value(i) {
                            Value::Bool(b) => tri_of(Some(*b)),
                            _ => U,
                        })
                        .collect(),
                };
                Tri { v, err: x.err }
            }
        }
    }

    /// A node as a value.
    pub(crate) fn vals(&self, n: &'c Node, live: Option<&[bool]>) -> Vals<'c> {
        let len = self.len();
        let ok = |col: Col<'c>| Vals { col, err: None };
        match &n.kind {
            Kind::Const(v) => ok(Col::Const(Cow::Borrowed(v), len)),
            Kind::AsOf => ok(Col::Const(Cow::Owned(Value::Timestamp(self.cx.as_of)), len)),
            Kind::Attr { name, rest, .. } if self.scope.is_some() => {
                // The profile's attribute, for each candidate event of the filter.
                let Some(col) = self.frame.attribute(name) else { return ok(Col::Null(len)) };
                let v = self.profile_rows().iter().map(|&r| eval::walk(&col.value(r), rest).clone()).collect();
                ok(Col::Values(Cow::Owned(v)))
            }
            Kind::Prop(path) => {
                let Some(scope) = self.scope else { return ok(Col::Null(len)) };
                let v = scope
                    .idx
                    .iter()
                    .map(|&e| match path.first() {
                        Some(crate::ast::PathSeg::Key(first)) => {
                            eval::walk(self.frame.property(first, e), &path[1..]).clone()
                        }
                        _ => Value::Null,
                    })
                    .collect();
                ok(Col::Values(Cow::Owned(v)))
            }
            Kind::EventAt => match self.scope {
                Some(scope) => ok(Col::Ts(Prim { v: Cow::Owned(scope.ats.clone()), nulls: None })),
                None => ok(Col::Null(len)),
            },
            Kind::EntityId if self.scope.is_some() => {
                let v = self
                    .profile_rows()
                    .iter()
                    .map(|&r| match &self.frame.ids {
                        Ids::Str(v) => Value::Str(v[r].into()),
                        Ids::Int(v) => Value::Str(v[r].to_string().into()),
                    })
                    .collect();
                ok(Col::Values(Cow::Owned(v)))
            }
            Kind::Attr { name, rest, .. } => {
                let Some(col) = self.frame.attribute(name) else { return ok(Col::Null(len)) };
                let col = col.slice(self.rows.clone());
                if rest.is_empty() {
                    return ok(col);
                }
                match col {
                    Col::Values(v) => {
                        ok(Col::Values(Cow::Owned(v.iter().map(|v| eval::walk(v, rest).clone()).collect())))
                    }
                    // A path into a scalar is null (SPEC §5).
                    _ => ok(Col::Null(len)),
                }
            }
            Kind::Agg(agg) if agg.func == AggFn::Count && agg.filter.is_none() => {
                let (counts, err) = self.count(agg, live);
                let v = counts.into_iter().map(i64::from).collect();
                Vals { col: Col::Int(Prim { v: Cow::Owned(v), nulls: None }), err }
            }
            Kind::EntityId => ok(match &self.frame.ids {
                Ids::Str(v) => {
                    Col::Str(Strs::Rows(Cow::Owned(v[self.rows.clone()].iter().map(|s| Some(*s)).collect())))
                }
                // An integer id is its text, as the row path's profiles hold it.
                Ids::Int(v) => Col::Values(Cow::Owned(
                    v[self.rows.clone()].iter().map(|i| Value::Str(i.to_string().into())).collect(),
                )),
            }),
            Kind::Arith(op, l, r) => {
                let (a, b) = (self.vals(l, live), self.vals(r, live));
                let sem = self.sem();
                let err = or_fails(a.err, b.err);
                self.per_row_vals(live, err, |i| ops::arith(*op, &a.col.value(i), &b.col.value(i), &sem))
            }
            Kind::Neg(x) => {
                let x = self.vals(x, live);
                self.per_row_vals(live, x.err, |i| ops::negate(&x.col.value(i)))
            }
            Kind::Bucket { x, salt } => {
                let x = self.vals(x, live);
                match &x.col {
                    // Text ids hashed where they lie (no `Value` per row).
                    Col::Str(strs) => self.per_row_vals(live, x.err.clone(), |i| {
                        Ok(strs.get(i).map_or(Value::Null, |s| Value::Decimal(ops::bucket(salt, s))))
                    }),
                    _ => self.per_row_vals(live, x.err, |i| Ok(ops::bucket_value(&x.col.value(i), salt))),
                }
            }
            Kind::Coerce(x) => {
                let x = self.vals(x, live);
                // Instants read as instants are themselves (`ops::coerce`): the typed column
                // stays typed for the kernels above it.
                if n.ty == crate::ir::Ty::Timestamp && matches!(x.col, Col::Ts(_)) {
                    return x;
                }
                let tz = self.seg.timezone();
                self.per_row_vals(live, x.err, |i| Ok(ops::coerce(x.col.value(i), n.ty, tz).into_owned()))
            }
            Kind::Call(f, args) => self.call(*f, args, live),
            Kind::Agg(agg) if has_kernel(n) && (agg.func != AggFn::Exists || agg.filter.is_some()) => {
                self.aggregate(agg, None, n.ty, live)
            }
            Kind::EventGet { agg, path } if has_kernel(n) => self.aggregate(agg, Some(path), n.ty, live),
            _ if !has_kernel(n) => self.fallback_vals(n, live),
            // A condition used as a value: a boolean, or null for UNKNOWN.
            _ => {
                let t = self.tri(n, live);
                let col = t.v.iter().map(|&v| if v == U { None } else { Some(v == T) }).collect();
                Vals { col: Col::Bool(Cow::Owned(col)), err: t.err }
            }
        }
    }

    fn and_or(&self, xs: &'c [Node], live: Option<&[bool]>, and: bool) -> Tri {
        let len = self.len();
        let (decides, start) = if and { (F, T) } else { (T, F) };
        let mut acc = vec![start; len];
        let mut alive: Vec<bool> = live.map_or_else(|| vec![true; len], <[bool]>::to_vec);
        let mut err: Fails = None;
        for x in xs {
            let t = self.tri(x, Some(&alive));
            match &t.err {
                // No row failed: every row takes the operand (a decided row stays decided, since
                // FALSE is the minimum and TRUE the maximum), in a loop the compiler vectorises.
                None if and => acc.iter_mut().zip(&t.v).for_each(|(a, v)| *a = (*a).min(*v)),
                None => acc.iter_mut().zip(&t.v).for_each(|(a, v)| *a = (*a).max(*v)),
                Some(e) => {
                    for i in 0..len {
                        if !alive[i] {
                            continue;
                        }
                        if e[i] {
                            err.get_or_insert_with(|| vec![false; len])[i] = true;
                            alive[i] = false;
                            continue;
                        }
                        acc[i] = if and { acc[i].min(t.v[i]) } else { acc[i].max(t.v[i]) };
                    }
                }
            }
            // Rows the operand decided are not looked at again (the interpreter stops there).
            alive.iter_mut().zip(&acc).for_each(|(l, a)| *l &= *a != decides);
        }
        Tri { v: acc, err }
    }

    fn cmp(&self, op: CmpOp, l: &'c Node, r: &'c Node, live: Option<&[bool]>) -> Tri {
        let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
        let a = self.vals(l, live);
        let b = self.vals(r, live);
        let mut err = or_fails(a.err, b.err);
        let len = self.len();
        let res = |o: Option<Ordering>| tri_of(ops::cmp_result(op, o));
        let v: Vec<u8> = match (&a.col, &b.col) {
            (Col::Int(x), Col::Const(c, _)) if matches!(**c, Value::Int(_)) => {
                let Value::Int(c) = **c else { unreachable!() };
                x.map(U, |x| res(Some(x.cmp(&c))))
            }
            (Col::Const(c, _), Col::Int(x)) if matches!(**c, Value::Int(_)) => {
                let Value::Int(c) = **c else { unreachable!() };
                x.map(U, |x| res(Some(c.cmp(&x))))
            }
            (Col::Int(x), Col::Int(y)) => {
                (0..len).map(|i| res(x.get(i).zip(y.get(i)).map(|(x, y)| x.cmp(&y)))).collect()
            }
            (Col::Int(x), Col::Const(c, _)) if matches!(**c, Value::Float(_)) => {
                let Value::Float(c) = **c else { unreachable!() };
                x.map(U, |x| res(Some(ops::cmp_i64_f64(x, c))))
            }
            (Col::Float(x), Col::Const(c, _)) if matches!(**c, Value::Int(_)) => {
                let Value::Int(c) = **c else { unreachable!() };
                x.map(U, |x| res(Some(ops::cmp_i64_f64(c, x).reverse())))
            }
            (Col::Float(x), Col::Const(c, _)) if matches!(**c, Value::Float(_)) => {
                let Value::Float(c) = **c else { unreachable!() };
                x.map(U, |x| res(x.partial_cmp(&c)))
            }
            (Col::Str(x), Col::Const(c, _)) if matches!(**c, Value::Str(_)) => {
                let Value::Str(c) = &**c else { unreachable!() };
                let c = c.as_bytes();
                if ordering {
                    x.map(U, |x| res(Some(x.cmp(c))))
                } else {
                    // Equality needs no ordering: `=` is TRUE exactly when the bytes are equal.
                    x.in_set(&[c], res(Some(Ordering::Equal)), res(Some(Ordering::Less)), U)
                }
            }
            (Col::Ts(x), Col::Const(c, _)) if matches!(**c, Value::Timestamp(_)) => {
                let Value::Timestamp(c) = **c else { unreachable!() };
                x.map(U, |x| res(Some(x.cmp(&c))))
            }
            (a, b) => {
                let sem = self.sem();
                let mut v = vec![U; len];
                for (i, out) in v.iter_mut().enumerate() {
                    if !Self::is_live(live, i) {
                        continue;
                    }
                    match ops::compare(&a.value(i), &b.value(i), ordering, &sem) {
                        Ok(o) => *out = res(o),
                        Err(_) => err.get_or_insert_with(|| vec![false; len])[i] = true,
                    }
                }
                v
            }
        };
        Tri { v, err }
    }

    fn sem(&self) -> ops::Semantics<'c> {
        ops::Semantics { tz: self.seg.timezone(), currency: self.seg.currency(), fx: &self.cx.fx }
    }

    /// `count(e [within W])` per row: one pass over the name's events for the whole table,
    /// shared by every node and thread that counts the same window.
    fn count(&self, agg: &crate::ir::Agg, live: Option<&[bool]>) -> (Vec<u32>, Fails) {
        let len = self.len();
        let Some(events) = self.frame.events(&agg.event) else { return (vec![0; len], None) };
        match eval::window_limits(agg.within.as_ref(), self.cx.as_of, self.seg.timezone()) {
            Ok((start, end, inclusive)) => {
                (events.counts(self.frame.n, start, end, inclusive)[self.rows.clone()].to_vec(), None)
            }
            // A window outside the representable range fails where the interpreter looks at it:
            // rows that have events of this name.
            Err(_) => {
                let any = events.counts(self.frame.n, i64::MIN, i64::MAX, true);
                let err = (0..len).map(|i| Self::is_live(live, i) && any[self.rows.start + i] > 0).collect();
                (vec![0; len], Some(err))
            }
        }
    }

    /// An aggregate without a `where` filter (or, with `field`, a field of its `first`/`last`
    /// event), row by row over each row's events in time order, through the same value
    /// operations as the interpreter: `ops::Sum` (stopping where it does), `ops::extreme`,
    /// `ops::distinct_count`, `ops::typed`.
    fn aggregate(
        &self,
        agg: &'c crate::ir::Agg,
        field: Option<&'c [crate::ast::PathSeg]>,
        ty: crate::ir::Ty,
        live: Option<&[bool]>,
    ) -> Vals<'c> {
        let Some(events) = self.frame.events(&agg.event) else {
            // No events of this name anywhere: every row aggregates nothing.
            return self.per_row_vals(live, None, |_| self.fold_events(agg, field, ty, &[], &[]));
        };
        let runs = events.runs(self.frame.n);
        let limits = eval::window_limits(agg.within.as_ref(), self.cx.as_of, self.seg.timezone());
        let first = self.rows.start;
        if let Some(filter) = &agg.filter {
            return self.filtered(agg, filter, field, ty, live, events, runs, limits);
        }
        self.per_row_vals(live, None, |i| {
            let (order, ats) = runs.of(first + i);
            // A row without events of this name selects nothing, whatever the window.
            if order.is_empty() {
                return self.fold_events(agg, field, ty, &[], &[]);
            }
            let (start, end, inclusive) = limits.clone()?;
            let range = crate::profile::range_of(ats, start, end, inclusive);
            // Rows in the events tables, for properties (kept only when some property is read;
            // without, the positions stand in and no property is looked up).
            let picked: Vec<u32> =
                order[range.clone()].iter().map(|&e| events.idx.get(e as usize).copied().unwrap_or(e)).collect();
            self.fold_events(agg, field, ty, &picked, &ats[range])
        })
    }

    /// An aggregate with a `where` filter: the filter over every candidate event of the live rows
    /// at once (event scope), then each row replays its events in time order as the
    /// interpreter's `for_each_event` does — a failing filter fails the row unless the aggregate
    /// stopped before it (`exists` and `first` at the first match, `sum`/`avg` once the sum is
    /// null), events that do not pass are skipped — and folds the ones that pass.
    #[allow(clippy::too_many_arguments)]
    fn filtered(
        &self,
        agg: &'c crate::ir::Agg,
        filter: &'c Node,
        field: Option<&'c [crate::ast::PathSeg]>,
        ty: crate::ir::Ty,
        live: Option<&[bool]>,
        events: &super::frame::Events,
        runs: &super::frame::Runs,
        limits: ops::R<(i64, i64, bool)>,
    ) -> Vals<'c> {
        let len = self.len();
        let mut scope = Scope::default();
        let mut spans = vec![(0usize, 0usize); len];
        let mut fails: Fails = None;
        for (i, span) in spans.iter_mut().enumerate() {
            if !Self::is_live(live, i) {
                continue;
            }
            let row = self.rows.start + i;
            let (order, ats) = runs.of(row);
            if order.is_empty() {
                continue;
            }
            let Ok((start, end, inclusive)) = limits else {
                fails.get_or_insert_with(|| vec![false; len])[i] = true;
                continue;
            };
            let at = scope.rows.len();
            for k in crate::profile::range_of(ats, start, end, inclusive) {
                scope.rows.push(row);
                scope.ats.push(ats[k]);
                scope.idx.push(events.idx.get(order[k] as usize).copied().unwrap_or(order[k]));
            }
            *span = (at, scope.rows.len());
        }
        let sub = Env { scope: Some(&scope), rows: self.rows.clone(), ..*self };
        let t = sub.tri(filter, None);
        let failed = |c: usize| t.err.as_ref().is_some_and(|e| e[c]);
        let stops_at_first =
            matches!(agg.func, AggFn::Exists | AggFn::First) && field.is_none_or(|_| agg.func == AggFn::First);
        let tz = self.seg.timezone();
        self.per_row_vals(live, fails, |i| {
            let (s, e) = spans[i];
            let (mut picked, mut ats) = (Vec::new(), Vec::new());
            let mut sum = ops::Sum::default();
            for c in s..e {
                if failed(c) {
                    return Err(crate::ops::Fault::new(crate::ErrorKind::Internal, "the filter failed"));
                }
                if t.v[c] != T {
                    continue;
                }
                picked.push(scope.idx[c]);
                ats.push(scope.ats[c]);
                if stops_at_first {
                    break;
                }
                if matches!(agg.func, AggFn::Sum | AggFn::Avg) && field.is_none() {
                    let prop = match agg.path.first() {
                        Some(crate::ast::PathSeg::Key(k)) => {
                            eval::walk(self.frame.property(k, scope.idx[c]), &agg.path[1..])
                        }
                        _ => &Value::Null,
                    };
                    if !sum.push(&ops::typed(prop, agg.prop_ty, tz))? {
                        break;
                    }
                }
            }
            self.fold_events(agg, field, ty, &picked, &ats)
        })
    }

    /// The interpreter's `aggregate` (or first/last field) over the selected events of one row:
    /// `events` are their rows in the events tables, `ats` their instants, in time order.
    fn fold_events(
        &self,
        agg: &crate::ir::Agg,
        field: Option<&[crate::ast::PathSeg]>,
        ty: crate::ir::Ty,
        events: &[u32],
        ats: &[i64],
    ) -> ops::R<Value> {
        use crate::ast::PathSeg;
        let tz = self.seg.timezone();
        let sem = self.sem();
        let prop = |e: u32, path: &[PathSeg]| -> &Value {
            static NULL: Value = Value::Null;
            match path.first() {
                Some(PathSeg::Key(first)) => eval::walk(self.frame.property(first, e), &path[1..]),
                _ => &NULL,
            }
        };
        if let Some(path) = field {
            let pick =
                if agg.func == AggFn::First { events.first().zip(ats.first()) } else { events.last().zip(ats.last()) };
            return Ok(match pick {
                None => Value::Null,
                Some((_, &at)) if path.len() == 1 && path[0] == PathSeg::Key("at".into()) => Value::Timestamp(at),
                Some((&e, _)) => ops::typed(prop(e, path), ty, tz).into_owned(),
            });
        }
        Ok(match agg.func {
            AggFn::Count => Value::Int(events.len() as i64),
            AggFn::Exists => Value::Bool(!events.is_empty()),
            AggFn::First => ats.first().map_or(Value::Null, |&t| Value::Timestamp(t)),
            AggFn::Last => ats.last().map_or(Value::Null, |&t| Value::Timestamp(t)),
            AggFn::Sum | AggFn::Avg => {
                let mut sum = ops::Sum::default();
                for &e in events {
                    if !sum.push(&ops::typed(prop(e, &agg.path), agg.prop_ty, tz))? {
                        break;
                    }
                }
                sum.finish(agg.func, agg.money_zero, &sem)?
            }
            _ => {
                let values: Vec<Cow<'_, Value>> = events
                    .iter()
                    .map(|&e| ops::typed(prop(e, &agg.path), agg.prop_ty, tz))
                    .filter(|v| !v.is_null())
                    .collect();
                match agg.func {
                    AggFn::Min | AggFn::Max => ops::extreme(agg.func, &values, &sem)?.cloned().unwrap_or(Value::Null),
                    AggFn::DistinctCount => Value::Int(ops::distinct_count(values.iter().map(|v| &**v))),
                    _ => Value::Null,
                }
            }
        })
    }

    /// `f` for each live row, failing rows flagged (with `err`, the children's failures).
    fn per_row_vals(&self, live: Option<&[bool]>, err: Fails, f: impl Fn(usize) -> ops::R<Value>) -> Vals<'c> {
        self.fill(live, err, |i| f(i).ok())
    }

    /// `f` for each live row not failed yet; `None` flags the row as failing. `f` may keep
    /// state (a memo of values already computed).
    fn fill(&self, live: Option<&[bool]>, mut err: Fails, mut f: impl FnMut(usize) -> Option<Value>) -> Vals<'c> {
        let len = self.len();
        let mut col = vec![Value::Null; len];
        for (i, out) in col.iter_mut().enumerate() {
            if !Self::is_live(live, i) || err.as_ref().is_some_and(|e| e[i]) {
                continue;
            }
            match f(i) {
                Some(v) => *out = v,
                None => err.get_or_insert_with(|| vec![false; len])[i] = true,
            }
        }
        Vals { col: Col::Values(Cow::Owned(col)), err }
    }

    /// `f` for each live row as a condition, failing rows flagged.
    fn per_row_tri(&self, live: Option<&[bool]>, mut err: Fails, f: impl Fn(usize) -> ops::R<Option<bool>>) -> Tri {
        let len = self.len();
        let mut v = vec![U; len];
        for (i, out) in v.iter_mut().enumerate() {
            if !Self::is_live(live, i) || err.as_ref().is_some_and(|e| e[i]) {
                continue;
            }
            match f(i) {
                Ok(t) => *out = tri_of(t),
                Err(_) => err.get_or_insert_with(|| vec![false; len])[i] = true,
            }
        }
        Tri { v, err }
    }

    /// A built-in function, with the interpreter's order of evaluation: `coalesce` stops at the
    /// first non-null argument, the vector functions read their second argument only when the
    /// first is a list.
    fn call(&self, f: Func, args: &'c [Node], live: Option<&[bool]>) -> Vals<'c> {
        let len = self.len();
        let sem = self.sem();
        match f {
            Func::Coalesce => {
                let mut out = vec![Value::Null; len];
                let mut pending: Vec<bool> = (0..len).map(|i| Self::is_live(live, i)).collect();
                let mut err: Fails = None;
                for a in args {
                    let v = self.vals(a, Some(&pending));
                    for i in 0..len {
                        if !pending[i] {
                            continue;
                        }
                        if v.err.as_ref().is_some_and(|e| e[i]) {
                            err.get_or_insert_with(|| vec![false; len])[i] = true;
                            pending[i] = false;
                        } else if !v.col.is_null(i) {
                            out[i] = v.col.value(i).into_owned();
                            pending[i] = false;
                        }
                    }
                }
                Vals { col: Col::Values(Cow::Owned(out)), err }
            }
            Func::CosineSimilarity | Func::EuclideanDistance => {
                let a = self.vals(&args[0], live);
                let lists: Vec<bool> = (0..len)
                    .map(|i| {
                        Self::is_live(live, i)
                            && !a.err.as_ref().is_some_and(|e| e[i])
                            && matches!(&*a.col.value(i), Value::List(_))
                    })
                    .collect();
                let mut b = self.vals(&args[1], Some(&lists));
                // A literal vector's decimals read as floats once, not once per row: `ops::vector`
                // reads every element through `as_f64`, which gives a float itself unchanged.
                if let Col::Const(v, n) = &b.col {
                    if let Value::List(items) = &**v {
                        let floats = items
                            .iter()
                            .map(|x| match x {
                                Value::Decimal(_) => ops::as_f64(x).map_or_else(|| x.clone(), Value::Float),
                                _ => x.clone(),
                            })
                            .collect();
                        b.col = Col::Const(Cow::Owned(Value::List(floats)), *n);
                    }
                }
                let err = or_fails(a.err, b.err.map(|e| e.iter().zip(&lists).map(|(e, l)| *e && *l).collect()));
                self.per_row_vals(live, err, |i| {
                    Ok(if lists[i] { ops::vector(f, &a.col.value(i), &b.col.value(i)) } else { Value::Null })
                })
            }
            Func::Semver => {
                let x = self.vals(&args[0], live);
                if let Some(v) = self.per_distinct_str(&x, live, |v| ops::apply(f, v, 0, self.cx.as_of, &sem)) {
                    return v;
                }
                self.per_row_vals(live, x.err, |i| match x.col.value(i) {
                    v if matches!(*v, Value::Semver(_)) => Ok(v.into_owned()),
                    v => ops::apply(f, &v, 0, self.cx.as_of, &sem),
                })
            }
            _ => {
                let x = self.vals(&args[0], live);
                // `round`'s digits are a constant (the compiler checks it).
                let digits = match args.get(1).map(|n| &n.kind) {
                    Some(Kind::Const(Value::Int(n))) => (*n).clamp(0, 12) as u32,
                    _ => 0,
                };
                let apply = |v: &Value| ops::apply(f, v, digits, self.cx.as_of, &sem);
                if let Some(v) = self.per_distinct_str(&x, live, apply) {
                    return v;
                }
                // Calendar functions of instants depend only on the local day (the local hour
                // for `hour`): computed once per distinct one.
                let period = match f {
                    Func::DaysSince
                    | Func::DayOfWeek
                    | Func::Date
                    | Func::StartOfDay
                    | Func::StartOfWeek
                    | Func::StartOfMonth => Some(86_400_000_000),
                    Func::Hour => Some(3_600_000_000),
                    _ => None,
                };
                if let Some(v) = period.and_then(|p| self.per_local_period(&x, live, p, sem.tz, apply)) {
                    return v;
                }
                self.per_row_vals(live, x.err, |i| apply(&x.col.value(i)))
            }
        }
    }

    /// `f` over a timestamp column whose result depends only on the local period (day or hour,
    /// `period` µs) of each instant in `tz`, computed once per distinct period; `None` when the
    /// column is not timestamps. A row's local period is its instant plus the zone's offset,
    /// looked up once per UTC hour; an hour with a transition inside is computed row by row.
    fn per_local_period(
        &self,
        x: &Vals<'c>,
        live: Option<&[bool]>,
        period: i64,
        tz: &jiff::tz::TimeZone,
        f: impl Fn(&Value) -> ops::R<Value>,
    ) -> Option<Vals<'c>> {
        const HOUR: i64 = 3_600_000_000;
        let Col::Ts(ts) = &x.col else { return None };
        let mut offsets: std::collections::HashMap<i64, Option<i64>, foldhash::fast::FixedState> =
            std::collections::HashMap::default();
        let mut memo: std::collections::HashMap<i64, Option<Value>, foldhash::fast::FixedState> =
            std::collections::HashMap::default();
        let constant_offset = |hour: i64| -> Option<i64> {
            let start = hour.checked_mul(HOUR)?;
            let end = start.checked_add(HOUR)?;
            let at = jiff::Timestamp::from_microsecond(start).ok()?;
            jiff::Timestamp::from_microsecond(end).ok()?;
            match tz.following(at).next() {
                Some(t) if t.timestamp().as_microsecond() < end => None,
                _ => Some(i64::from(tz.to_offset(at).seconds()) * 1_000_000),
            }
        };
        let null = f(&Value::Null).ok();
        Some(self.fill(live, x.err.clone(), |i| match ts.get(i) {
            None => null.clone(),
            Some(t) => {
                let offset = *offsets.entry(t.div_euclid(HOUR)).or_insert_with(|| constant_offset(t.div_euclid(HOUR)));
                match offset.and_then(|o| t.checked_add(o)) {
                    Some(local) => {
                        memo.entry(local.div_euclid(period)).or_insert_with(|| f(&Value::Timestamp(t)).ok()).clone()
                    }
                    None => f(&Value::Timestamp(t)).ok(),
                }
            }
        }))
    }

    /// `f` over a string column, computed once per distinct string (`f` is a pure function of
    /// its argument within one kernel call: version strings, country codes repeat); `None` when
    /// the column is not strings.
    fn per_distinct_str(
        &self,
        x: &Vals<'c>,
        live: Option<&[bool]>,
        f: impl Fn(&Value) -> ops::R<Value>,
    ) -> Option<Vals<'c>> {
        let Col::Str(strs) = &x.col else { return None };
        let mut memo: std::collections::HashMap<&str, Option<Value>, foldhash::fast::FixedState> =
            std::collections::HashMap::default();
        let null = f(&Value::Null).ok();
        Some(self.fill(live, x.err.clone(), |i| match strs.get(i) {
            Some(s) => memo.entry(s).or_insert_with(|| f(&Value::Str(s.into())).ok()).clone(),
            None => null.clone(),
        }))
    }

    /// The interpreter's `eval_bool` row by row (rows that are not live are left UNKNOWN).
    fn fallback_tri(&self, n: &'c Node, live: Option<&[bool]>) -> Tri {
        let len = self.len();
        let mut v = vec![U; len];
        let mut err: Fails = None;
        for (i, out) in v.iter_mut().enumerate() {
            if !Self::is_live(live, i) {
                continue;
            }
            match self.interpret(i, |cx| eval::eval_bool(n, cx).map(tri_of)) {
                Some(t) => *out = t,
                None => err.get_or_insert_with(|| vec![false; len])[i] = true,
            }
        }
        Tri { v, err }
    }

    /// The interpreter's `eval` row by row (rows that are not live are left null).
    fn fallback_vals(&self, n: &'c Node, live: Option<&[bool]>) -> Vals<'c> {
        let len = self.len();
        let mut col = vec![Value::Null; len];
        let mut err: Fails = None;
        for (i, out) in col.iter_mut().enumerate() {
            if !Self::is_live(live, i) {
                continue;
            }
            match self.interpret(i, |cx| eval::eval(n, cx).map(Cow::into_owned)) {
                Some(v) => *out = v,
                None => err.get_or_insert_with(|| vec![false; len])[i] = true,
            }
        }
        Vals { col: Col::Values(Cow::Owned(col)), err }
    }

    /// Runs `f` with the interpreter's context for row `i` of the range; `None` on an error
    /// (or when the profiles are missing, which `needs_rows` rules out).
    fn interpret<X>(&self, i: usize, f: impl FnOnce(&eval::Ctx<'_>) -> ops::R<X>) -> Option<X> {
        let row = self.rows.start + i;
        let profile = self.profiles?.get(row)?;
        let segments = self.program.segments();
        let lookup = |id: &str| {
            self.deps
                .iter()
                .find(|&&d| segments[d].id() == id)
                .map(|&d| self.results[d][row].is_member())
                .or_else(|| self.cx.segments.get(id).copied())
        };
        let cx = self.seg.ctx(profile, self.cx.as_of, &self.cx.fx, &lookup);
        f(&cx).ok()
    }
}
