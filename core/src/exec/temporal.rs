//! Membership over time (SPEC §22): the next instant a profile's outcome changes, and timelines.
//!
//! The outcome is a step function of `as_of`. From an instant `t`, an analysis over the typed IR
//! lists the instants after `t` at which some node's value may change — an event coming into
//! existence or leaving a window, an effective date, a local midnight, the instant an
//! `as_of`-relative comparison flips — and keeps the earliest of each cause class. Nothing can
//! change before that instant, so the interpreter evaluates there; if the outcome is the same,
//! the search goes on from there. Every candidate comes from the node's own semantics, so the
//! answer is exact to the microsecond; the interpreter decides every outcome.
//!
//! Values that move with `as_of` are tracked in closed form: an *affine* instant or duration
//! (`as_of - 30d`, `as_of - signup_at`: v0 + slope·Δ) and a *local day number*
//! (`days_since(x)`, `date(as_of)`). Comparisons of those against fixed values are solved for the
//! crossing instant; anything else that reads them settles for the next local midnight (still
//! exact, only slower) or, when even that cannot bound it, is `next_change_unsupported`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::civil::Date;
use jiff::ToSpan;

use crate::ast::{AggFn, Window};
use crate::bind::Bound;
use crate::context::{EvalContext, FxRates};
use crate::error::{Error, ErrorKind};
use crate::exec::eval::{self, Ctx};
use crate::ir::{Agg, ArithOp, CmpOp, Func, Kind, Node, Ty};
use crate::ops::{self, Fault, R};
use crate::profile::Profile;
use crate::program::{Outcome, Program};
use crate::segment::Segment;
use crate::time;
use crate::value::Value;

const DAY: i64 = 86_400_000_000;

/// The horizon `next_change` searches when the caller gives none: 3,660 days (SPEC §22).
pub const DEFAULT_HORIZON: i64 = 3_660 * DAY;

/// The longest horizon, and the longest timeline span: 36,600 days (SPEC §22).
pub const MAX_SPAN: i64 = 36_600 * DAY;

/// Why the outcome changed at an instant (SPEC §22, in priority order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CauseKind {
    /// The definition's `effective_from` or `effective_until`.
    Effective,
    /// A segment referenced with `in_segment` changed membership.
    Reference,
    /// An event of a name the rule aggregates came into existence.
    Event,
    /// A window started or stopped containing an instant, or an `as_of`-relative comparison flipped.
    Window,
    /// A local day, week, month or hour boundary (a calendar function of `as_of`).
    Calendar,
    /// A stream only (SPEC §23): a set of definitions took effect, or an initial profile started
    /// to exist at the stream's start.
    Definition,
}

impl CauseKind {
    /// The stable name: `effective`, `reference`, `event`, `window`, `calendar`.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Effective => "effective",
            CauseKind::Reference => "reference",
            CauseKind::Event => "event",
            CauseKind::Window => "window",
            CauseKind::Calendar => "calendar",
            CauseKind::Definition => "definition",
        }
    }
}

/// The cause of a change, with what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The cause class.
    pub kind: CauseKind,
    /// For `reference`: the referenced segment's id.
    pub segment: Option<String>,
    /// For `event`, and `window` when an event's `at` is the instant: the event's name and `at`.
    pub event: Option<(String, i64)>,
}

/// One change of outcome (SPEC §22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The instant (µs since the epoch): the outcome is `outcome` from here on.
    pub at: i64,
    /// The outcome before `at`.
    pub previous: Outcome,
    /// The outcome at `at`.
    pub outcome: Outcome,
    /// Why.
    pub cause: Cause,
}

impl Change {
    /// `Some("entered")` or `Some("exited")` when membership flips here; `None` for a change
    /// between FALSE and UNKNOWN.
    pub fn transition(&self) -> Option<&'static str> {
        match (self.previous.is_member(), self.outcome.is_member()) {
            (false, true) => Some("entered"),
            (true, false) => Some("exited"),
            _ => None,
        }
    }
}

/// The outcome over `[from, to)`: the outcome at `from` and every change after it (SPEC §22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The first instant, inclusive.
    pub from: i64,
    /// The end, exclusive.
    pub to: i64,
    /// The outcome at `from`.
    pub outcome: Outcome,
    /// Every change in `(from, to)`, in time order.
    pub changes: Vec<Change>,
}

impl Timeline {
    /// The maximal half-open intervals within `[from, to)` on which the profile is a member.
    pub fn member_intervals(&self) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut start = self.outcome.is_member().then_some(self.from);
        for c in &self.changes {
            match (start, c.outcome.is_member()) {
                (None, true) => start = Some(c.at),
                (Some(s), false) => {
                    out.push((s, c.at));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push((s, self.to));
        }
        out
    }
}

/// Parses a horizon or span such as `90d`, `12h`, `3660d` (the language's duration units `w d h m
/// s`): positive and at most [`MAX_SPAN`], else `invalid_context`.
///
/// ```
/// assert_eq!(segcore::temporal::parse_horizon("2d").unwrap(), 2 * 86_400_000_000);
/// assert!(segcore::temporal::parse_horizon("0d").is_err());
/// ```
pub fn parse_horizon(text: &str) -> Result<i64, Error> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidContext,
            format!("the horizon must be a positive duration of at most 36600d, like `90d` or `12h`; got `{text}`"),
        )
    };
    let micros = parse_duration(text).map_err(|_| bad())?;
    check_span(micros).map_err(|_| bad())
}

/// A duration `<digits><unit>` (units `w d h m s`) of at most 36,600 days; `0s` is zero (a
/// stream's lateness may be). Else `invalid_context`.
///
/// ```
/// assert_eq!(segcore::temporal::parse_duration("0h").unwrap(), 0);
/// assert!(segcore::temporal::parse_duration("h").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<i64, Error> {
    let t = text.trim();
    let bad = || {
        Error::new(
            ErrorKind::InvalidContext,
            format!("a duration is digits and a unit (w d h m s) of at most 36600d, like `90d` or `12h`; got `{text}`"),
        )
    };
    let unit = t.chars().last().ok_or_else(bad)?;
    let digits = &t[..t.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !"wdhms".contains(unit) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let micros = n.checked_mul(time::unit_micros(unit)).ok_or_else(bad)?;
    if micros > MAX_SPAN {
        return Err(bad());
    }
    Ok(micros)
}

/// `micros` as a horizon or timeline span: positive and at most [`MAX_SPAN`], else `invalid_context`.
pub fn check_span(micros: i64) -> Result<i64, Error> {
    if micros <= 0 || micros > MAX_SPAN {
        return Err(Error::new(
            ErrorKind::InvalidContext,
            format!("a horizon or span must be positive and at most 36600d, got {}", time::format_duration(micros)),
        ));
    }
    Ok(micros)
}

impl Segment {
    /// The next change of this segment's outcome for `profile` after `cx.as_of`, within `horizon`
    /// µs (`None`: [`DEFAULT_HORIZON`]); `Ok(None)` when the outcome stays the same (SPEC §22).
    ///
    /// ```
    /// use segcore::{Definition, EvalContext, Profile, Segment};
    /// let seg = Segment::compile(Definition::new("a", "1.0.0", "exists(purchase within 30d)"), None).unwrap();
    /// let p = Profile::from_json_str(
    ///     r#"{"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}"#,
    /// ).unwrap();
    /// let cx = EvalContext::parse("2026-03-15T00:00:00Z").unwrap();
    /// let change = seg.next_change(&p, &cx, None).unwrap().unwrap();
    /// assert_eq!(segcore::binding::format_timestamp(change.at), "2026-03-31T10:00:00.000001Z");
    /// assert_eq!(change.cause.kind.as_str(), "window");
    /// ```
    pub fn next_change(
        &self,
        profile: &Profile,
        cx: &EvalContext,
        horizon: Option<i64>,
    ) -> Result<Option<Change>, Error> {
        let horizon = check_span(horizon.unwrap_or(DEFAULT_HORIZON))?;
        Ok(Query::lone(self, profile, cx).next_change(cx.as_of, horizon)?.1)
    }

    /// The timeline of this segment's outcome for `profile` over `[from, to)` (SPEC §22).
    pub fn timeline(&self, profile: &Profile, from: i64, to: i64, cx: &EvalContext) -> Result<Timeline, Error> {
        Query::lone(self, profile, cx).timeline(from, to)
    }
}

impl Program {
    /// The next change of segment `target`'s outcome (its references evaluated in this program)
    /// after `cx.as_of`, within `horizon` µs (`None`: [`DEFAULT_HORIZON`]).
    pub fn next_change(
        &self,
        target: &str,
        profile: &Profile,
        cx: &EvalContext,
        horizon: Option<i64>,
    ) -> Result<Option<Change>, Error> {
        let horizon = check_span(horizon.unwrap_or(DEFAULT_HORIZON))?;
        Ok(Query::program(self, target, profile, cx)?.next_change(cx.as_of, horizon)?.1)
    }

    /// The timeline of segment `target`'s outcome over `[from, to)`.
    pub fn timeline(
        &self,
        target: &str,
        profile: &Profile,
        from: i64,
        to: i64,
        cx: &EvalContext,
    ) -> Result<Timeline, Error> {
        Query::program(self, target, profile, cx)?.timeline(from, to)
    }
}

impl Program {
    /// The timelines of `targets` (segment ids) for every profile over `[from, to)`, on every
    /// core: `out[p][k]` is profile `p`'s timeline of `targets[k]`. The first error (in profile
    /// order) is the result, naming the profile and segment.
    pub fn timelines(
        &self,
        targets: &[&str],
        profiles: &[Profile],
        from: i64,
        to: i64,
        cx: &EvalContext,
    ) -> Result<Vec<Vec<Timeline>>, Error> {
        self.per_profile(targets, profiles, &|id, p| self.timeline(id, p, from, to, cx))
    }

    /// For every profile, each of `targets`' outcome at `cx.as_of` and its next change within
    /// `horizon` (see [`Program::next_change`]), on every core: `out[p][k]` is profile `p`'s
    /// answer for `targets[k]`. The first error (in profile order) is the result, naming the
    /// profile and segment.
    pub fn next_changes(
        &self,
        targets: &[&str],
        profiles: &[Profile],
        cx: &EvalContext,
        horizon: Option<i64>,
    ) -> Result<Vec<Vec<Answer>>, Error> {
        let horizon = check_span(horizon.unwrap_or(DEFAULT_HORIZON))?;
        self.per_profile(targets, profiles, &|id, p| Query::program(self, id, p, cx)?.next_change(cx.as_of, horizon))
    }

    /// `f(target, profile)` for every profile × target, profiles split over the cores.
    fn per_profile<T: Send>(
        &self,
        targets: &[&str],
        profiles: &[Profile],
        f: &(dyn Fn(&str, &Profile) -> Result<T, Error> + Sync),
    ) -> Result<Vec<Vec<T>>, Error> {
        for id in targets {
            if self.position(id).is_none() {
                return Err(Error::new(ErrorKind::UnknownSegment, format!("the registry has no segment `{id}`")));
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
        let parts = crate::parallel::parallel_ranges(profiles.len(), threads, 64, &|range| {
            let mut out = Vec::with_capacity(range.len());
            for p in &profiles[range] {
                let mut row = Vec::with_capacity(targets.len());
                for id in targets {
                    row.push(f(id, p).map_err(|e| {
                        let d = e.first();
                        Error::new(d.kind, format!("profile `{}`, segment `{id}`: {}", p.id(), d.message))
                    })?);
                }
                out.push(row);
            }
            Ok(out)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// A profile's outcome at `as_of` and its next change (see [`Program::next_changes`]).
pub type Answer = (Outcome, Option<Change>);

/// No results of segments given from outside: a program evaluates its own references.
static NO_GIVEN: BTreeMap<String, bool> = BTreeMap::new();
/// A lone segment's query evaluates itself only.
static NO_CLOSURE: BTreeSet<usize> = BTreeSet::new();

impl Program {
    /// The timeline of segment `target` (an index) over `[from, to)` (the stream's query).
    pub(crate) fn timeline_with(
        &self,
        target: usize,
        profile: &Profile,
        from: i64,
        to: i64,
        fx: &FxRates,
    ) -> Result<Timeline, Error> {
        Query::at(self, target, profile, fx, &NO_GIVEN).timeline(from, to)
    }

    /// Segment `target`'s changes in `(from, w]`, and an instant after `w` before which it cannot
    /// change (the first instant the analysis would look at; `None`: it never changes without new
    /// data) — a stream's catch-up and next timer in one walk.
    pub(crate) fn changes_until(
        &self,
        target: usize,
        profile: &Profile,
        from: i64,
        w: i64,
        fx: &FxRates,
    ) -> Result<(Vec<Change>, Option<i64>), Error> {
        let q = Query::at(self, target, profile, fx, &NO_GIVEN);
        let start = q.outcomes(from)?;
        let mut changes = Vec::new();
        let next = q.search(from, start, w, &mut |c| {
            changes.push(c);
            true
        })?;
        Ok((changes, next))
    }

    /// Segment `target`'s outcome at `as_of` and its next change within `horizon` µs.
    pub(crate) fn next_change_with(
        &self,
        target: usize,
        profile: &Profile,
        as_of: i64,
        fx: &FxRates,
        horizon: i64,
    ) -> Result<Answer, Error> {
        Query::at(self, target, profile, fx, &NO_GIVEN).next_change(as_of, horizon)
    }
}

/// Members over `[from, to)` from the timelines of one segment over many profiles: the count at
/// `from`, then `(instant, count from then on)` wherever entries and exits change it.
///
/// ```
/// use segcore::temporal::member_counts;
/// assert_eq!(member_counts(&[]), (0, vec![]));
/// ```
pub fn member_counts(timelines: &[Timeline]) -> (i64, Vec<(i64, i64)>) {
    let start = timelines.iter().filter(|t| t.outcome.is_member()).count() as i64;
    let mut deltas: BTreeMap<i64, i64> = BTreeMap::new();
    for t in timelines {
        for c in &t.changes {
            match c.transition() {
                Some("entered") => *deltas.entry(c.at).or_default() += 1,
                Some("exited") => *deltas.entry(c.at).or_default() -= 1,
                _ => {}
            }
        }
    }
    let mut n = start;
    let steps = deltas
        .into_iter()
        .filter(|(_, d)| *d != 0)
        .map(|(at, d)| {
            n += d;
            (at, n)
        })
        .collect();
    (start, steps)
}

/// One question about one profile: a lone segment, or a target in a program.
struct Query<'a> {
    segments: &'a [Segment],
    /// In a program: the target and what it references.
    closure: &'a BTreeSet<usize>,
    target: usize,
    program: Option<&'a Program>,
    bound: Bound<'a>,
    fx: &'a FxRates,
    given: &'a BTreeMap<String, bool>,
}

impl<'a> Query<'a> {
    fn lone(seg: &'a Segment, profile: &'a Profile, cx: &'a EvalContext) -> Query<'a> {
        Query {
            segments: std::slice::from_ref(seg),
            closure: &NO_CLOSURE,
            target: 0,
            program: None,
            bound: seg.bind(profile),
            fx: &cx.fx,
            given: &cx.segments,
        }
    }

    fn program(p: &'a Program, target: &str, profile: &'a Profile, cx: &'a EvalContext) -> Result<Query<'a>, Error> {
        let t = p
            .position(target)
            .ok_or_else(|| Error::new(ErrorKind::UnknownSegment, format!("the registry has no segment `{target}`")))?;
        Ok(Query::at(p, t, profile, &cx.fx, &cx.segments))
    }

    fn at(
        p: &'a Program,
        t: usize,
        profile: &'a Profile,
        fx: &'a FxRates,
        given: &'a BTreeMap<String, bool>,
    ) -> Query<'a> {
        Query {
            segments: p.segments(),
            closure: p.closure_ref(t),
            target: t,
            program: Some(p),
            bound: p.bind(profile),
            fx,
            given,
        }
    }

    /// Outcomes at `t` of the target and what it references, by index.
    fn outcomes(&self, t: i64) -> Result<Vec<Option<Outcome>>, Error> {
        match self.program {
            Some(p) => p.evaluate_bound_at(&self.bound, t, self.fx, self.given, Some(self.closure)),
            None => {
                let lookup = |id: &str| self.given.get(id).copied();
                Ok(vec![Some(self.segments[0].evaluate_bound_with(&self.bound, t, self.fx, &lookup)?)])
            }
        }
    }

    /// The outcome at `as_of` and the first change within `horizon`.
    fn next_change(&self, as_of: i64, horizon: i64) -> Result<Answer, Error> {
        let until = as_of.saturating_add(horizon);
        let start = self.outcomes(as_of)?;
        let now = start[self.target].unwrap_or(Outcome::Unknown);
        let mut found = None;
        self.search(as_of, start, until, &mut |c| {
            found = Some(c);
            false
        })?;
        Ok((now, found))
    }

    fn timeline(&self, from: i64, to: i64) -> Result<Timeline, Error> {
        if to <= from {
            return Err(Error::new(
                ErrorKind::InvalidContext,
                format!(
                    "a timeline needs `from` before `to`; got {} … {}",
                    time::format_timestamp(from),
                    time::format_timestamp(to)
                ),
            ));
        }
        check_span(to - from)?;
        let start = self.outcomes(from)?;
        let outcome = start[self.target].unwrap_or(Outcome::Unknown);
        let mut changes = Vec::new();
        self.search(from, start, to - 1, &mut |c| {
            changes.push(c);
            true
        })?;
        Ok(Timeline { from, to, outcome, changes })
    }

    /// Walks the candidate instants after `t0` up to `until` (inclusive), calling `on_change`
    /// for every change of the target's outcome until it returns false. Returns the first
    /// candidate after `until` when the walk got there: nothing changes before it.
    fn search(
        &self,
        t0: i64,
        start: Vec<Option<Outcome>>,
        until: i64,
        on_change: &mut dyn FnMut(Change) -> bool,
    ) -> Result<Option<i64>, Error> {
        let mut t = t0;
        let mut results = start;
        let mut steps = 0usize;
        loop {
            let acc = self.candidates(t, &results)?;
            let Some(next) = acc.earliest() else { return Ok(None) };
            if next > until {
                return Ok(Some(next));
            }
            steps += 1;
            if steps > crate::limits::MAX_TIME_STEPS {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the outcome was evaluated at {} instants without reaching {}; narrow the horizon or the span",
                        crate::limits::MAX_TIME_STEPS,
                        time::format_timestamp(until)
                    ),
                ));
            }
            let now = self.outcomes(next)?;
            let (before, after) =
                (results[self.target].unwrap_or(Outcome::Unknown), now[self.target].unwrap_or(Outcome::Unknown));
            if before != after {
                let cause = self.cause(next, &acc, &now)?;
                let go_on = on_change(Change { at: next, previous: before, outcome: after, cause });
                if !go_on {
                    return Ok(None);
                }
            }
            t = next;
            results = now;
        }
    }

    /// Segment `i` as in force at `t` (its version then, SPEC §1).
    fn seg_at(&self, i: usize, t: i64) -> &'a Segment {
        match self.program {
            Some(p) => &p.at(t).segments()[i],
            None => &self.segments[i],
        }
    }

    /// Every version of segment `i` (one unless versions stand side by side).
    fn versions(&self, i: usize) -> Vec<&'a Segment> {
        match self.program {
            Some(p) => p.versions_of(i),
            None => vec![&self.segments[i]],
        }
    }

    /// SPEC §22's cause of a change at `t`: the first class that holds.
    fn cause(&self, t: i64, acc: &Acc<'_>, now: &[Option<Outcome>]) -> Result<Cause, Error> {
        let seg = self.seg_at(self.target, t);
        let plain = |kind| Cause { kind, segment: None, event: None };
        let boundary = |s: &&Segment| {
            let d = s.definition();
            d.effective_from == Some(t) || d.effective_until == Some(t)
        };
        if self.versions(self.target).iter().any(boundary) {
            return Ok(plain(CauseKind::Effective));
        }
        if let Some(p) = self.program {
            let refs: BTreeSet<&str> = seg.read_set().segments.iter().map(|s| s.as_str()).collect();
            if !refs.is_empty() {
                let before = self.outcomes(t - 1)?;
                for id in refs {
                    if let Some(j) = p.position(id) {
                        let m = |r: &[Option<Outcome>]| r[j].is_some_and(Outcome::is_member);
                        if m(now) != m(&before) {
                            return Ok(Cause {
                                kind: CauseKind::Reference,
                                segment: Some(id.to_string()),
                                event: None,
                            });
                        }
                    }
                }
            }
        }
        // The analysis may skip an aggregate's arrivals and exits that cannot flip its node (a
        // count threshold's walk); SPEC §22 names them all, so they are looked up here.
        let (arrived, exited) = self.aggregate_edges(seg, t);
        for (kind, found) in [(CauseKind::Event, arrived), (CauseKind::Window, exited)] {
            let mut best: Hit = found;
            if let Some(c) = acc.best[kind as usize].filter(|c| c.at == t) {
                let named = c.event.map(|e| (acc.name(e).to_string(), e.at, e.index));
                best = match (best, named) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if best.is_none() {
                    return Ok(Cause { kind, segment: None, event: None });
                }
            }
            if let Some((name, at, _)) = best {
                return Ok(Cause { kind, segment: None, event: Some((name, at)) });
            }
        }
        Ok(plain(CauseKind::Calendar))
    }

    /// The least event (name, `at`, index) of a name `seg` aggregates that arrives at `t`, and the
    /// least whose window (of an aggregate over it) starts or stops containing it at `t`.
    fn aggregate_edges(&self, seg: &Segment, t: i64) -> (Hit, Hit) {
        struct Aggs<'n>(Vec<&'n Agg>);
        impl<'n> Aggs<'n> {
            fn collect(&mut self, n: &'n Node) {
                if let Kind::Agg(agg) | Kind::EventGet { agg, .. } = &n.kind {
                    self.0.push(agg);
                    if let Some(f) = &agg.filter {
                        self.collect(f);
                    }
                }
                for c in n.children() {
                    self.collect(c);
                }
            }
        }
        let mut aggs = Aggs(Vec::new());
        aggs.collect(seg.ir());
        let profile = self.bound.profile();
        let tz = seg.timezone();
        let (mut arrived, mut exited): (Hit, Hit) = (None, None);
        let keep = |slot: &mut Hit, c: (String, i64, usize)| {
            if slot.as_ref().is_none_or(|s| c < *s) {
                *slot = Some(c);
            }
        };
        for agg in aggs.0 {
            let Some(group) = profile.events(&agg.event) else { continue };
            let ats = &group.ats;
            let i = ats.partition_point(|&a| a < t);
            if ats.get(i) == Some(&t) {
                keep(&mut arrived, (agg.event.to_string(), t, i));
            }
            if let Some(w) = &agg.within {
                for k in 0..2 {
                    let b = |x: i64| window_exits(w, x, tz)[k];
                    let j = ats.partition_point(|&a| b(a).is_some_and(|e| e < t));
                    if let Some(&a) = ats.get(j) {
                        if b(a) == Some(t) {
                            keep(&mut exited, (agg.event.to_string(), a, j));
                        }
                    }
                }
            }
        }
        (arrived, exited)
    }

    /// The earliest candidate instant after `t0` of each cause class.
    fn candidates(&self, t0: i64, results: &[Option<Outcome>]) -> Result<Acc<'_>, Error> {
        let lookup = |id: &str| {
            self.program
                .and_then(|p| p.position(id))
                .and_then(|j| results.get(j).copied().flatten())
                .map(Outcome::is_member)
                .or_else(|| self.given.get(id).copied())
        };
        let mut acc = Acc { t0, best: [None; 5], over: None, names: &self.bound.layout.events };
        let mut seen = BTreeSet::new();
        self.segment(self.target, t0, &lookup, &mut acc, &mut seen)?;
        Ok(acc)
    }

    fn segment(
        &self,
        i: usize,
        t0: i64,
        lookup: &dyn Fn(&str) -> Option<bool>,
        acc: &mut Acc<'_>,
        seen: &mut BTreeSet<usize>,
    ) -> Result<(), Error> {
        if !seen.insert(i) {
            return Ok(());
        }
        let seg = self.seg_at(i, t0);
        // Every version's bounds: a handover to another version is a candidate too.
        for v in self.versions(i) {
            let d = v.definition();
            for t in [d.effective_from, d.effective_until].into_iter().flatten() {
                acc.push(CauseKind::Effective, t, None);
            }
        }
        let mut cx = seg.ctx(self.bound.profile(), t0, self.fx, lookup);
        if Arc::ptr_eq(&self.bound.layout, seg.layout()) {
            cx.bound = Some(&self.bound.slots);
        }
        let mut an = Analyzer { program: self.program, acc, refs: Vec::new(), scope: None };
        an.node(seg.ir(), &cx).map_err(|e| seg.fault_error(*e))?;
        let refs = std::mem::take(&mut an.refs);
        // Referenced segments' own candidates: their changes reach the target as `reference`.
        let outer = acc.over.replace(CauseKind::Reference);
        for j in refs {
            self.segment(j, t0, lookup, acc, seen)?;
        }
        acc.over = outer;
        Ok(())
    }
}

/// An event a cause may name: (name, `at`, index in its group), ordered as SPEC §22 breaks ties.
type Hit = Option<(String, i64, usize)>;

/// An event named in a cause: its name's slot in the layout, its `at`, its index in its group.
#[derive(Debug, Clone, Copy)]
struct EvRef {
    slot: u32,
    at: i64,
    index: usize,
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    at: i64,
    event: Option<EvRef>,
}

/// The earliest candidate after `t0` per cause class.
struct Acc<'n> {
    t0: i64,
    best: [Option<Cand>; 5],
    /// While analysing a referenced segment, every candidate counts as `reference`.
    over: Option<CauseKind>,
    /// Event names by layout slot.
    names: &'n [Box<str>],
}

impl Acc<'_> {
    fn name(&self, e: EvRef) -> &str {
        self.names.get(e.slot as usize).map_or("", |n| n)
    }

    fn push(&mut self, kind: CauseKind, at: i64, event: Option<EvRef>) {
        if at <= self.t0 {
            return;
        }
        let kind = self.over.unwrap_or(kind);
        let better = match self.best[kind as usize] {
            None => true,
            Some(c) if at != c.at => at < c.at,
            // Ties: SPEC §22's order — least name, earliest `at`, input order; a named event first.
            Some(c) => match (event, c.event) {
                (Some(a), Some(b)) => (self.name(a), a.at, a.index) < (self.name(b), b.at, b.index),
                (Some(_), None) => true,
                _ => false,
            },
        };
        if better {
            self.best[kind as usize] = Some(Cand { at, event });
        }
    }

    fn earliest(&self) -> Option<i64> {
        self.best.iter().flatten().map(|c| c.at).min()
    }
}

/// How a node's value moves with `as_of` until the next candidate.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// Constant until the candidates pushed so far.
    Fixed,
    /// `v0 + slope·Δ` at `as_of = t0 + Δ`: an instant (`dur` false) or a duration in µs.
    Affine { v0: i128, slope: i128, dur: bool },
    /// The local day number of `as_of` plus `offset`: an int (`days_since`), or with `date` the
    /// local date itself (`date(as_of)`).
    Days { offset: i64, date: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Hour,
    Day,
    Week,
    Month,
}

struct Analyzer<'q, 'n> {
    program: Option<&'q Program>,
    acc: &'q mut Acc<'n>,
    /// Segments referenced by the analysed rule, by index.
    refs: Vec<usize>,
    /// The event a `where` filter is being analysed for.
    scope: Option<EvRef>,
}

fn unsupported(n: &Node, what: &str) -> Box<Fault> {
    Fault::new(
        ErrorKind::NextChangeUnsupported,
        format!("{what}: the instant this changes cannot be placed in time (SPEC §22)"),
    )
    .at(n.span)
}

impl Analyzer<'_, '_> {
    fn node<'c>(&mut self, n: &'c Node, cx: &Ctx<'c>) -> R<Form> {
        Ok(match &n.kind {
            Kind::Const(_) | Kind::Attr { .. } | Kind::Prop(_) | Kind::EntityId | Kind::EventAt => Form::Fixed,
            Kind::AsOf => Form::Affine { v0: cx.as_of as i128, slope: 1, dur: false },
            // These read their operand's type only (a timestamp or an int is never null, never a
            // string): constant while the operand keeps its type.
            Kind::Not(x) | Kind::IsNull { x, .. } | Kind::Matches { x, .. } | Kind::InStrings { x, .. } => {
                self.node(x, cx)?;
                Form::Fixed
            }
            Kind::StrPred { s, t, .. } => {
                self.node(s, cx)?;
                self.node(t, cx)?;
                Form::Fixed
            }
            Kind::And(xs) | Kind::Or(xs) => {
                for x in xs {
                    self.node(x, cx)?;
                }
                Form::Fixed
            }
            Kind::Bucket { x, .. } => {
                let f = self.node(x, cx)?;
                self.settle(f, n, cx)?;
                Form::Fixed
            }
            Kind::Cmp(op, l, r) => {
                if let Some((agg, k, op)) = count_threshold(*op, l, r) {
                    if self.count_crossing(agg, op, k, cx) {
                        return Ok(Form::Fixed);
                    }
                }
                let (a, b) = (self.node(l, cx)?, self.node(r, cx)?);
                self.compare(*op, (a, l), (b, r), n, cx)?;
                Form::Fixed
            }
            Kind::Between { x, lo, hi, .. } => {
                let (fx, flo, fhi) = (self.node(x, cx)?, self.node(lo, cx)?, self.node(hi, cx)?);
                self.compare(CmpOp::Ge, (fx, x), (flo, lo), n, cx)?;
                self.compare(CmpOp::Le, (fx, x), (fhi, hi), n, cx)?;
                Form::Fixed
            }
            Kind::In { x, list, .. } => {
                let fx = self.node(x, cx)?;
                self.node(list, cx)?;
                if let Kind::Const(Value::List(items)) = &list.kind {
                    for item in items {
                        self.compare_value(CmpOp::Eq, fx, x, item, false, n, cx)?;
                    }
                } else {
                    self.settle(fx, n, cx)?;
                }
                Form::Fixed
            }
            Kind::Within { x, window } => {
                let f = self.node(x, cx)?;
                self.within(f, x, window, n, cx)?;
                Form::Fixed
            }
            Kind::Arith(op, l, r) => self.arith(*op, l, r, n, cx)?,
            Kind::Neg(x) => match self.node(x, cx)? {
                Form::Affine { v0, slope, dur: true } => Form::Affine { v0: -v0, slope: -slope, dur: true },
                f @ Form::Days { .. } => {
                    self.settle(f, n, cx)?;
                    Form::Fixed
                }
                _ => Form::Fixed,
            },
            Kind::Call(f, args) => self.call(*f, args, n, cx)?,
            // `exists(e within D)` is `count(e within D) >= 1`.
            Kind::Agg(agg) if agg.func == AggFn::Exists && self.count_crossing(agg, CmpOp::Ge, 1, cx) => Form::Fixed,
            Kind::Agg(agg) | Kind::EventGet { agg, .. } => {
                self.aggregate(agg, cx)?;
                Form::Fixed
            }
            Kind::InSegment(id) => {
                let Some(p) = self.program else {
                    return Err(Fault::new(
                        ErrorKind::NextChangeUnsupported,
                        format!(
                            "this definition references segment `{id}`, whose changes over time are known only in a \
                             registry: evaluate it with its registry (SPEC §22)"
                        ),
                    )
                    .at(n.span));
                };
                if let Some(j) = p.position(id) {
                    self.refs.push(j);
                }
                Form::Fixed
            }
            Kind::Coerce(x) => match (self.node(x, cx)?, n.ty) {
                (f @ Form::Affine { dur: false, .. }, Ty::Timestamp) => f,
                (f @ Form::Affine { dur: false, .. }, Ty::Date) => {
                    self.boundary(f, Unit::Day, CauseKind::Calendar, n, cx)?;
                    Form::Fixed
                }
                (f @ Form::Days { .. }, _) => {
                    self.settle(f, n, cx)?;
                    Form::Fixed
                }
                _ => Form::Fixed,
            },
        })
    }

    /// A value that moves in a way its consumer does not solve for: a day number is constant
    /// until the next local midnight; an affine value cannot be bounded.
    fn settle(&mut self, f: Form, n: &Node, cx: &Ctx<'_>) -> R<()> {
        match f {
            Form::Fixed => Ok(()),
            Form::Days { .. } => {
                self.midnight(cx);
                Ok(())
            }
            Form::Affine { slope: 0, .. } => Ok(()),
            Form::Affine { .. } => Err(unsupported(n, "an instant or duration that moves with as_of is used here")),
        }
    }

    fn midnight(&mut self, cx: &Ctx<'_>) {
        if let Some(t) = next_boundary(cx.as_of, Unit::Day, cx.sem.tz) {
            self.acc.push(CauseKind::Calendar, t, None);
        }
    }

    fn compare<'c>(&mut self, op: CmpOp, a: (Form, &'c Node), b: (Form, &'c Node), n: &Node, cx: &Ctx<'c>) -> R<()> {
        match (a.0, b.0) {
            (Form::Fixed, Form::Fixed) => Ok(()),
            (fa, Form::Fixed) => match eval::eval(b.1, cx) {
                Ok(v) => self.compare_value(op, fa, a.1, &v, false, n, cx),
                Err(_) => self.settle(fa, n, cx),
            },
            (Form::Fixed, fb) => match eval::eval(a.1, cx) {
                Ok(v) => self.compare_value(op, fb, b.1, &v, true, n, cx),
                Err(_) => self.settle(fb, n, cx),
            },
            (Form::Affine { v0: a0, slope: sa, dur: da }, Form::Affine { v0: b0, slope: sb, dur: db }) => {
                if da == db {
                    self.crossing(op, a0 - b0, sa - sb);
                }
                Ok(())
            }
            // Two day numbers differ by a constant (or are of different types: null).
            (Form::Days { .. }, Form::Days { .. }) => Ok(()),
            (Form::Days { date: false, .. }, Form::Affine { .. })
            | (Form::Affine { .. }, Form::Days { date: false, .. }) => {
                Ok(()) // an int against an instant or a duration: null whatever as_of is
            }
            _ => Err(unsupported(n, "a local date that moves with as_of compared with an instant that does")),
        }
    }

    /// `moving op fixed` (or `fixed op moving` when `flipped`), `fixed` being the value at `t0`.
    #[allow(clippy::too_many_arguments)]
    fn compare_value(
        &mut self,
        op: CmpOp,
        f: Form,
        _m: &Node,
        v: &Value,
        flipped: bool,
        n: &Node,
        cx: &Ctx<'_>,
    ) -> R<()> {
        let op = if flipped { flip(op) } else { op };
        match f {
            Form::Fixed => Ok(()),
            Form::Affine { v0, slope, dur } => {
                if let Some(p) = value_point(v, dur, cx.sem.tz) {
                    self.crossing(op, v0 - p, slope);
                }
                Ok(())
            }
            Form::Days { offset, date } => {
                let target = match (v, date) {
                    (Value::Int(c), false) => Some(*c),
                    (Value::Date(d), true) => Some(time::epoch_days(*d)),
                    (Value::Null, _) => return Ok(()),
                    _ => None,
                };
                match target {
                    Some(c) => self.day_crossing(op, offset, c, cx),
                    None => self.midnight(cx),
                }
                let _ = n;
                Ok(())
            }
        }
    }

    /// `d(Δ) = d0 + slope·Δ` compared with 0 by `op`: pushes the instants Δ ≥ 1 at which the
    /// result differs from the result 1 µs earlier (at most two).
    fn crossing(&mut self, op: CmpOp, d0: i128, slope: i128) {
        if slope == 0 {
            return;
        }
        let z_floor = div_floor(-d0, slope);
        let z_ceil = -div_floor(d0, slope);
        for delta in [z_ceil, z_floor + 1] {
            if delta < 1 {
                continue;
            }
            let at = |k: i128| d0 + slope * k;
            if holds(op, at(delta)) != holds(op, at(delta - 1)) {
                if let Ok(t) = i64::try_from(self.acc.t0 as i128 + delta) {
                    self.acc.push(CauseKind::Window, t, self.scope);
                }
            }
        }
    }

    /// `local_day(as_of) + offset op c`: changes only at the midnights starting days c − offset
    /// and c − offset + 1.
    fn day_crossing(&mut self, op: CmpOp, offset: i64, c: i64, cx: &Ctx<'_>) {
        // On day c − offset the difference becomes 0, on the next day 1.
        let first = c as i128 - offset as i128;
        for (k, here) in [(first, 0i128), (first + 1, 1)] {
            if holds(op, here) == holds(op, here - 1) {
                continue;
            }
            let Ok(k) = i64::try_from(k) else { continue };
            if let Some(t) = date_of_epoch_day(k).and_then(|d| time::start_of_date(d, cx.sem.tz)) {
                self.acc.push(CauseKind::Calendar, t, None);
            }
        }
    }

    /// A calendar function of a moving instant: its value changes when the instant crosses a
    /// local `unit` boundary.
    fn boundary(&mut self, f: Form, unit: Unit, kind: CauseKind, n: &Node, cx: &Ctx<'_>) -> R<()> {
        match f {
            Form::Affine { slope: 0, .. } | Form::Fixed => Ok(()),
            Form::Affine { v0, slope: 1, dur: false } => {
                let x0 = i64::try_from(v0).map_err(|_| ops::out_of_range("instant"))?;
                if let Some(b) = next_boundary(x0, unit, cx.sem.tz) {
                    if let Ok(t) = i64::try_from(cx.as_of as i128 + (b as i128 - v0)) {
                        self.acc.push(kind, t, self.scope);
                    }
                }
                Ok(())
            }
            Form::Days { .. } => self.settle(f, n, cx),
            _ => Err(unsupported(n, "a calendar function of an instant that moves at another rate than as_of")),
        }
    }

    fn within<'c>(&mut self, f: Form, x: &'c Node, w: &Window, n: &Node, cx: &Ctx<'c>) -> R<()> {
        match f {
            Form::Fixed => {
                if let Some(p) = eval::eval(x, cx).ok().and_then(|v| ops::instant_of(&v, cx.sem.tz)) {
                    self.window_point(w, p, cx);
                }
                Ok(())
            }
            Form::Affine { v0, slope: 0, dur: false } => {
                if let Ok(p) = i64::try_from(v0) {
                    self.window_point(w, p, cx);
                }
                Ok(())
            }
            Form::Affine { v0, slope, dur: false } => {
                let t0 = cx.as_of as i128;
                match w {
                    Window::Last(k, u) => {
                        let len = (*k as i128) * (time::unit_micros(*u) as i128);
                        // as_of − D ≤ x(t) and x(t) ≤ as_of.
                        self.crossing(CmpOp::Ge, v0 - (t0 - len), slope - 1);
                        self.crossing(CmpOp::Le, v0 - t0, slope - 1);
                        Ok(())
                    }
                    _ if slope == 1 => {
                        let unit = window_unit(w);
                        if let Some(t) = next_boundary(cx.as_of, unit, cx.sem.tz) {
                            self.acc.push(CauseKind::Window, t, self.scope);
                        }
                        self.boundary(f, unit, CauseKind::Window, n, cx)
                    }
                    _ => Err(unsupported(n, "a calendar window over an instant that moves at another rate than as_of")),
                }
            }
            Form::Affine { .. } | Form::Days { .. } => Ok(()), // a duration or an int: never in a window
        }
    }

    /// `p within w` for a fixed instant `p`: the instants it enters and leaves the window.
    fn window_point(&mut self, w: &Window, p: i64, cx: &Ctx<'_>) {
        if includes_now(w) {
            self.acc.push(CauseKind::Window, p, self.scope);
        }
        for t in window_exits(w, p, cx.sem.tz).into_iter().flatten() {
            self.acc.push(CauseKind::Window, t, self.scope);
        }
    }

    fn arith<'c>(&mut self, op: ArithOp, l: &'c Node, r: &'c Node, n: &Node, cx: &Ctx<'c>) -> R<Form> {
        let (fl, fr) = (self.node(l, cx)?, self.node(r, cx)?);
        let fixed = |node: &'c Node| eval::eval(node, cx).ok();
        Ok(match (fl, fr) {
            (Form::Fixed, Form::Fixed) => Form::Fixed,
            (Form::Days { offset, date: false }, Form::Fixed) => match (op, fixed(r).as_deref()) {
                (ArithOp::Add, Some(Value::Int(c))) => days(offset.checked_add(*c)),
                (ArithOp::Sub, Some(Value::Int(c))) => days(offset.checked_sub(*c)),
                _ => self.settled(fl, n, cx)?,
            },
            (Form::Fixed, Form::Days { offset, date: false }) => match (op, fixed(l).as_deref()) {
                (ArithOp::Add, Some(Value::Int(c))) => days(offset.checked_add(*c)),
                _ => self.settled(fr, n, cx)?,
            },
            (Form::Days { date: false, .. }, Form::Days { date: false, .. }) if op == ArithOp::Sub => Form::Fixed,
            (Form::Days { .. }, _) | (_, Form::Days { .. }) => {
                self.settle(fl, n, cx)?;
                self.settle(fr, n, cx)?;
                Form::Fixed
            }
            (Form::Affine { v0, slope, dur }, Form::Fixed) => match (op, fixed(r).as_deref(), dur) {
                (ArithOp::Add, Some(Value::Duration(d)), _) => affine(v0.checked_add(*d as i128), Some(slope), dur, n)?,
                (ArithOp::Sub, Some(Value::Duration(d)), _) => affine(v0.checked_sub(*d as i128), Some(slope), dur, n)?,
                (ArithOp::Sub, Some(Value::Timestamp(t)), false) => {
                    affine(v0.checked_sub(*t as i128), Some(slope), true, n)?
                }
                (ArithOp::Mul, Some(Value::Int(k)), true) => scale(v0, slope, *k, n)?,
                _ => Form::Fixed,
            },
            (Form::Fixed, Form::Affine { v0, slope, dur }) => match (op, fixed(l).as_deref(), dur) {
                (ArithOp::Add, Some(Value::Duration(d)), _) => affine(v0.checked_add(*d as i128), Some(slope), dur, n)?,
                (ArithOp::Add, Some(Value::Timestamp(t)), true) => {
                    affine(v0.checked_add(*t as i128), Some(slope), false, n)?
                }
                (ArithOp::Sub, Some(Value::Timestamp(t)), false) => {
                    affine((*t as i128).checked_sub(v0), Some(-slope), true, n)?
                }
                (ArithOp::Sub, Some(Value::Timestamp(t)), true) => {
                    affine((*t as i128).checked_sub(v0), Some(-slope), false, n)?
                }
                (ArithOp::Sub, Some(Value::Duration(d)), true) => {
                    affine((*d as i128).checked_sub(v0), Some(-slope), true, n)?
                }
                (ArithOp::Mul, Some(Value::Int(k)), true) => scale(v0, slope, *k, n)?,
                _ => Form::Fixed,
            },
            (Form::Affine { v0: a0, slope: sa, dur: da }, Form::Affine { v0: b0, slope: sb, dur: db }) => {
                match (op, da, db) {
                    (ArithOp::Add, false, true) | (ArithOp::Add, true, false) => {
                        affine(a0.checked_add(b0), sa.checked_add(sb), false, n)?
                    }
                    (ArithOp::Add, true, true) => affine(a0.checked_add(b0), sa.checked_add(sb), true, n)?,
                    (ArithOp::Sub, false, false) | (ArithOp::Sub, true, true) => {
                        affine(a0.checked_sub(b0), sa.checked_sub(sb), true, n)?
                    }
                    (ArithOp::Sub, false, true) => affine(a0.checked_sub(b0), sa.checked_sub(sb), false, n)?,
                    _ => Form::Fixed,
                }
            }
        })
    }

    fn settled(&mut self, f: Form, n: &Node, cx: &Ctx<'_>) -> R<Form> {
        self.settle(f, n, cx)?;
        Ok(Form::Fixed)
    }

    fn call<'c>(&mut self, f: Func, args: &'c [Node], n: &Node, cx: &Ctx<'c>) -> R<Form> {
        let mut forms = Vec::with_capacity(args.len());
        for a in args {
            forms.push(self.node(a, cx)?);
        }
        let first = forms.first().copied().unwrap_or(Form::Fixed);
        Ok(match f {
            Func::DaysSince => match first {
                Form::Fixed => {
                    let day = eval::eval(&args[0], cx).ok().and_then(|v| ops::local_day(&v, cx.sem.tz));
                    day.map_or(Form::Fixed, |d| Form::Days { offset: -time::epoch_days(d), date: false })
                }
                Form::Affine { v0, slope: 0, dur: false } => {
                    let day = i64::try_from(v0).ok().and_then(|x| time::local_date(x, cx.sem.tz));
                    day.map_or(Form::Fixed, |d| Form::Days { offset: -time::epoch_days(d), date: false })
                }
                Form::Affine { dur: false, .. } => {
                    self.midnight(cx);
                    self.boundary(first, Unit::Day, CauseKind::Calendar, n, cx)?;
                    Form::Fixed
                }
                _ => self.settled(first, n, cx)?,
            },
            Func::Date => match first {
                Form::Affine { v0, slope: 1, dur: false } if v0 == cx.as_of as i128 => {
                    Form::Days { offset: 0, date: true }
                }
                Form::Affine { dur: false, .. } => {
                    self.boundary(first, Unit::Day, CauseKind::Calendar, n, cx)?;
                    Form::Fixed
                }
                _ => self.settled(first, n, cx)?,
            },
            Func::DayOfWeek | Func::StartOfDay | Func::StartOfWeek | Func::StartOfMonth | Func::Hour => {
                let unit = match f {
                    Func::Hour => Unit::Hour,
                    Func::StartOfWeek => Unit::Week,
                    Func::StartOfMonth => Unit::Month,
                    _ => Unit::Day,
                };
                match first {
                    Form::Affine { dur: false, .. } => self.boundary(first, unit, CauseKind::Calendar, n, cx)?,
                    _ => self.settle(first, n, cx)?,
                }
                Form::Fixed
            }
            Func::Timestamp => match first {
                Form::Affine { dur: false, .. } => first,
                _ => self.settled(first, n, cx)?,
            },
            Func::Coalesce => {
                // The first argument that is not null at t0 decides (a moving value never is null).
                for (a, form) in args.iter().zip(&forms) {
                    match form {
                        Form::Fixed => {
                            if eval::eval(a, cx).map_or(true, |v| !v.is_null()) {
                                return Ok(Form::Fixed);
                            }
                        }
                        other => return Ok(*other),
                    }
                }
                Form::Fixed
            }
            _ => {
                for form in forms {
                    if let Form::Days { .. } = form {
                        self.settle(form, n, cx)?;
                    }
                }
                Form::Fixed
            }
        })
    }

    /// `count(e [within D]) op k` without a filter: the count moves by one at each arrival and
    /// each exit, so the comparison flips where the running count first crosses `k` — found by
    /// walking arrivals and exits in time order, without evaluating the steps in between (a
    /// 200-event profile otherwise stops at every exit). False when the shape does not apply.
    fn count_crossing(&mut self, agg: &Agg, op: CmpOp, k: i64, cx: &Ctx<'_>) -> bool {
        let len = match &agg.within {
            _ if agg.filter.is_some() => return false,
            None => None,
            Some(Window::Last(n, u)) => match n.checked_mul(time::unit_micros(*u)) {
                Some(len) => Some(len),
                None => return false,
            },
            Some(_) => return false,
        };
        let Some(group) = eval::event_group(agg, cx) else { return true };
        let ats = &group.ats;
        let t0 = cx.as_of;
        let first = len.map_or(0, |d| ats.partition_point(|&a| a < t0.saturating_sub(d)));
        let mut arrive = ats.partition_point(|&a| a <= t0);
        let mut leave = first;
        let mut count = (arrive - first) as i64;
        let before = holds(op, count as i128 - k as i128);
        let slot = agg.event_slot;
        // Event i leaves the window 1 µs after at + D (SPEC §9: both ends inclusive).
        let exit_of = |i: usize| len.and_then(|d| ats.get(i)?.checked_add(d)?.checked_add(1));
        loop {
            let next_arrival = ats.get(arrive).copied();
            // An event not yet arrived leaves after it arrives: only arrived ones are pending exits.
            let next_exit = if leave < arrive { exit_of(leave) } else { None };
            let t = match (next_arrival, next_exit) {
                (Some(a), Some(e)) => a.min(e),
                (Some(a), None) => a,
                (None, Some(e)) => e,
                (None, None) => return true,
            };
            let (mut arrived, mut exited) = (None, false);
            while ats.get(arrive) == Some(&t) {
                arrived.get_or_insert(arrive);
                arrive += 1;
                count += 1;
            }
            while leave < arrive && exit_of(leave) == Some(t) {
                leave += 1;
                count -= 1;
                exited = true;
            }
            if arrived.is_none() && !exited {
                return false; // no progress (cannot happen): leave it to the general analysis
            }
            if holds(op, count as i128 - k as i128) != before {
                if let Some(i) = arrived {
                    self.acc.push(CauseKind::Event, t, Some(EvRef { slot, at: t, index: i }));
                }
                if exited {
                    let i = leave - 1;
                    self.acc.push(CauseKind::Window, t, Some(EvRef { slot, at: ats[i], index: i }));
                }
                return true;
            }
        }
    }

    /// An aggregate's candidates: each event of its name comes into existence at its `at`, enters
    /// and leaves its window, and — when the filter reads time — passes or stops passing it.
    fn aggregate<'c>(&mut self, agg: &'c Agg, cx: &Ctx<'c>) -> R<()> {
        let Some(group) = eval::event_group(agg, cx) else { return Ok(()) };
        let ats = &group.ats;
        let t0 = cx.as_of;
        let slot = agg.event_slot;
        let ev = |i: usize| Some(EvRef { slot, at: ats[i], index: i });
        let i = ats.partition_point(|&a| a <= t0);
        if i < ats.len() {
            self.acc.push(CauseKind::Event, ats[i], ev(i));
        }
        if let Some(w) = &agg.within {
            for k in 0..2 {
                let b = |x: i64| window_exits(w, x, cx.sem.tz)[k];
                // Each exit instant grows with the event's `at`: the first event whose exit is
                // still ahead gives the earliest.
                let j = ats.partition_point(|&a| b(a).is_some_and(|e| e <= t0));
                if let Some(at) = ats.get(j).and_then(|&a| b(a)) {
                    self.acc.push(CauseKind::Window, at, ev(j));
                }
            }
        }
        if let Some(filter) = &agg.filter {
            if reads_time(filter) {
                let outer = self.scope;
                for (i, e) in group.events.iter().enumerate() {
                    self.scope = ev(i);
                    let inner = Ctx { event: Some(e), ..*cx };
                    self.node(filter, &inner)?;
                }
                self.scope = outer;
            }
        }
        Ok(())
    }
}

/// `count(e …) op k` or `k op count(e …)` with an integer literal `k`: (the aggregate, k, the
/// operator with the count on the left).
fn count_threshold<'n>(op: CmpOp, l: &'n Node, r: &'n Node) -> Option<(&'n Agg, i64, CmpOp)> {
    match (&l.kind, &r.kind) {
        (Kind::Agg(agg), Kind::Const(Value::Int(k))) if agg.func == AggFn::Count => Some((agg, *k, op)),
        (Kind::Const(Value::Int(k)), Kind::Agg(agg)) if agg.func == AggFn::Count => Some((agg, *k, flip(op))),
        _ => None,
    }
}

fn days(offset: Option<i64>) -> Form {
    offset.map_or(Form::Fixed, |offset| Form::Days { offset, date: false })
}

fn scale(v0: i128, slope: i128, k: i64, n: &Node) -> R<Form> {
    let k = k as i128;
    affine(v0.checked_mul(k), slope.checked_mul(k), true, n)
}

/// An affine form, kept far inside i128 so solving a crossing cannot overflow: a value past
/// 2^80 µs or a rate past 2^40 is beyond every instant the interpreter can reach anyway.
fn affine(v0: Option<i128>, slope: Option<i128>, dur: bool, n: &Node) -> R<Form> {
    const MAX_VALUE: i128 = 1 << 80;
    const MAX_SLOPE: i128 = 1 << 40;
    match (v0, slope) {
        (Some(v0), Some(slope)) if v0.abs() <= MAX_VALUE && slope.abs() <= MAX_SLOPE => {
            Ok(Form::Affine { v0, slope, dur })
        }
        _ => Err(unsupported(n, "an instant or duration that moves with as_of, beyond range")),
    }
}

fn value_point(v: &Value, dur: bool, tz: &jiff::tz::TimeZone) -> Option<i128> {
    if dur {
        match v {
            Value::Duration(d) => Some(*d as i128),
            _ => None,
        }
    } else {
        ops::instant_of(v, tz).map(|t| t as i128)
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

/// `d op 0`.
fn holds(op: CmpOp, d: i128) -> bool {
    match op {
        CmpOp::Eq => d == 0,
        CmpOp::Ne => d != 0,
        CmpOp::Lt => d < 0,
        CmpOp::Le => d <= 0,
        CmpOp::Gt => d > 0,
        CmpOp::Ge => d >= 0,
    }
}

fn div_floor(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn date_of_epoch_day(k: i64) -> Option<Date> {
    // `k.days()` panics outside jiff's span range; a day number from data may be anything.
    let span = jiff::Span::new().try_days(k).ok()?;
    jiff::civil::date(1970, 1, 1).checked_add(span).ok()
}

/// Whether a window ends at `as_of` (so an instant enters it when `as_of` reaches it).
fn includes_now(w: &Window) -> bool {
    matches!(w, Window::Last(..) | Window::Today | Window::ThisWeek | Window::ThisMonth)
}

fn window_unit(w: &Window) -> Unit {
    match w {
        Window::Today | Window::Yesterday | Window::Last(..) => Unit::Day,
        Window::ThisWeek | Window::LastWeek => Unit::Week,
        Window::ThisMonth | Window::LastMonth => Unit::Month,
    }
}

/// The instants after which window `w` stops (and for the `last_*`/`yesterday` windows, starts)
/// containing instant `x`, besides `x` itself (SPEC §22): each grows with `x`.
fn window_exits(w: &Window, x: i64, tz: &jiff::tz::TimeZone) -> [Option<i64>; 2] {
    let day = || time::local_date(x, tz);
    let sod = |d: Option<Date>| d.and_then(|d| time::start_of_date(d, tz));
    let plus_days = |d: Option<Date>, n: i64| d.and_then(|d| d.checked_add(n.days()).ok());
    let plus_months = |d: Option<Date>, n: i64| d.and_then(|d| d.checked_add(n.months()).ok());
    match w {
        Window::Last(n, u) => {
            [n.checked_mul(time::unit_micros(*u)).and_then(|len| x.checked_add(len)?.checked_add(1)), None]
        }
        Window::Today => [sod(plus_days(day(), 1)), None],
        Window::Yesterday => [sod(plus_days(day(), 1)), sod(plus_days(day(), 2))],
        Window::ThisWeek => [sod(plus_days(day().and_then(time::monday_of), 7)), None],
        Window::LastWeek => {
            let m = day().and_then(time::monday_of);
            [sod(plus_days(m, 7)), sod(plus_days(m, 14))]
        }
        Window::ThisMonth => [sod(plus_months(day().map(|d| d.first_of_month()), 1)), None],
        Window::LastMonth => {
            let f = day().map(|d| d.first_of_month());
            [sod(plus_months(f, 1)), sod(plus_months(f, 2))]
        }
    }
}

/// The first instant after `x` that starts a new local `unit` in `tz`.
fn next_boundary(x: i64, unit: Unit, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let d = time::local_date(x, tz)?;
    let sod = |d: Date| time::start_of_date(d, tz);
    match unit {
        Unit::Day => sod(d.checked_add(1.days()).ok()?),
        Unit::Week => sod(time::monday_of(d)?.checked_add(7.days()).ok()?),
        Unit::Month => sod(d.first_of_month().checked_add(1.months()).ok()?),
        Unit::Hour => {
            // The local hour turns at the next whole local hour at the current offset, or at
            // the next offset transition, whichever comes first.
            let ts = time::to_timestamp(x)?;
            let dt = tz.to_datetime(ts);
            let into =
                (dt.minute() as i64 * 60 + dt.second() as i64) * 1_000_000 + dt.subsec_nanosecond() as i64 / 1000;
            let turn = x.checked_add(3_600_000_000 - into)?;
            let transition = tz.following(ts).next().map(|t| t.timestamp().as_microsecond());
            Some(transition.map_or(turn, |tr| tr.min(turn)))
        }
    }
}

/// Whether a `where` filter can change its verdict on an event as `as_of` moves.
fn reads_time(n: &Node) -> bool {
    struct Finder(bool);
    impl crate::ir::Visitor for Finder {
        fn visit(&mut self, n: &Node) {
            if matches!(
                n.kind,
                Kind::AsOf | Kind::Within { .. } | Kind::Agg(_) | Kind::EventGet { .. } | Kind::InSegment(_)
            ) || matches!(n.kind, Kind::Call(Func::DaysSince, _))
            {
                self.0 = true;
            }
            crate::ir::walk(self, n);
        }
    }
    let mut f = Finder(false);
    crate::ir::Visitor::visit(&mut f, n);
    f.0
}

#[cfg(test)]
mod tests {
    use crate::{Definition, EvalContext, Profile, Segment};

    /// Extreme literals and data reach the analysis' arithmetic (i128 crossings, day numbers,
    /// count thresholds): a debug build panics on any overflow, so each must come back as a
    /// value — an answer or an error.
    #[test]
    fn extreme_values_never_panic() {
        let p = Profile::from_json_str(
            r#"{"id": "u1", "attributes": {"signup_at": "2026-03-01T00:00:00Z", "k": 9223372036854775807},
                "events": [{"name": "purchase", "at": "2026-03-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        let rules = [
            "count(purchase) >= -9223372036854775808",
            "count(purchase within 7d) < 9223372036854775807",
            "days_since(signup_at) >= 9223372036854775807",
            "days_since(signup_at) < -9223372036854775807",
            "days_since(signup_at) + 9223372036854775807 > 0",
            "(as_of - timestamp(signup_at)) * 3037000499 * 3037000499 > 1d",
            "(as_of - timestamp(signup_at)) * k > 1d",
            "as_of + 1000000w > timestamp(signup_at)",
            "as_of - (as_of - timestamp(signup_at)) * 1099511627776 within 1d",
            "date(as_of) >= date(\"9999-12-31\")",
            "hour(as_of + 5000000w) = 3",
        ];
        for rule in rules {
            let seg = Segment::compile(Definition::new("x", "1.0.0", rule), None).unwrap();
            for as_of in ["2026-03-02T00:00:00Z", "9999-12-30T00:00:00Z", "0001-01-02T00:00:00Z"] {
                let cx = EvalContext::parse(as_of).unwrap();
                let _ = seg.next_change(&p, &cx, None);
                let _ = seg.next_change(&p, &cx, Some(super::MAX_SPAN));
            }
            let cx = EvalContext::parse("2026-03-02T00:00:00Z").unwrap();
            let _ = seg.timeline(&p, cx.as_of, cx.as_of + super::MAX_SPAN, &cx);
        }
    }
}
