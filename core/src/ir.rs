//! The typed intermediate representation every backend reads — the interpreter, `explain`, the
//! batch driver and SQL generation today, the columnar engine and analyses next — as part of a
//! [`crate::Program`]. Produced by the compiler (`check/compile.rs`) from the syntax tree after name
//! resolution, literal folding and type checking; [`Visitor`] walks it.

use crate::ast::{AggFn, PathSeg, Window};
use crate::error::Span;
use crate::value::Value;

/// Static types (SPEC §4). `Any` is "known only at run time" (no schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Known only at run time (no schema): checks move to evaluation, where a mismatch is null.
    Any,
    /// The type of the `null` literal; fits wherever a type is expected.
    Null,
    /// A boolean; UNKNOWN is null, not a third value (SPEC §6).
    Bool,
    /// A 64-bit signed integer; overflow is `numeric_overflow` (SPEC §8).
    Int,
    /// A finite f64; NaN and ±∞ become null (SPEC §8).
    Float,
    /// An exact decimal, at most 28 significant digits (SPEC §8).
    Decimal,
    /// Some number (schema type `number`).
    Number,
    /// A UTF-8 string, compared by code point (SPEC §7).
    Str,
    /// An instant: microseconds since the epoch, UTC (SPEC §9).
    Timestamp,
    /// A civil date; against a timestamp it is its start of day in the segment's zone (SPEC §6).
    Date,
    /// A signed length in microseconds; `d` is exactly 24 hours (SPEC §2).
    Duration,
    /// An exact amount and a currency; mixed currencies convert through FX (SPEC §10).
    Money,
    /// A SemVer 2.0.0 version, ordered by precedence (SPEC §15).
    Semver,
    /// A list (schema `list<T>` and `vector` too); compared only with `=`/`!=`.
    List,
    /// A string-keyed map from data; compared only with `=`/`!=`.
    Object,
    /// The result of `first(e)` / `last(e)` without a field.
    Event,
}

impl Ty {
    /// Name used in messages and schemas.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "any",
            Ty::Null => "null",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Decimal => "decimal",
            Ty::Number => "number",
            Ty::Str => "string",
            Ty::Timestamp => "timestamp",
            Ty::Date => "date",
            Ty::Duration => "duration",
            Ty::Money => "money",
            Ty::Semver => "semver",
            Ty::List => "list",
            Ty::Object => "object",
            Ty::Event => "event",
        }
    }
    /// Whether the static type is numeric (or may be).
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Decimal | Ty::Number)
    }
    /// Whether the type is only known at run time (or is null, which fits anywhere).
    pub fn is_open(self) -> bool {
        matches!(self, Ty::Any | Ty::Null)
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`: equal in a common type; null if either side is null (SPEC §6).
    Eq,
    /// `!=`: the negation of `=` (null stays null).
    Ne,
    /// `<`, and `before` (strict, on timestamps and dates).
    Lt,
    /// `<=`.
    Le,
    /// `>`, and `after` (strict, on timestamps and dates).
    Gt,
    /// `>=`.
    Ge,
}

/// String predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    /// `s contains t`: `t` occurs in `s`, case-sensitive (`""` is in every string).
    Contains,
    /// `s starts_with t`: `t` is a prefix of `s`.
    StartsWith,
    /// `s ends_with t`: `t` is a suffix of `s`.
    EndsWith,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`: numbers, money, timestamp + duration, duration + duration (SPEC §8–§10).
    Add,
    /// `-`: as `+`, and timestamp − timestamp → duration.
    Sub,
    /// `*`: numbers, money × number, duration × int.
    Mul,
    /// `/`: int / int is a float, money / money a decimal; division by zero is null.
    Div,
}

/// Built-in scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `lower(s)`: Unicode full lowercase mapping (SPEC §7).
    Lower,
    /// `upper(s)`: Unicode full uppercase mapping (`upper("ß")` = `"SS"`).
    Upper,
    /// `fold(s)`: simple case folding, for case-insensitive `fold(a) = fold(b)` (SPEC §7).
    Fold,
    /// `length(x)`: Unicode scalar values of a string, or elements of a list.
    Length,
    /// `abs(x)`: absolute value, same type.
    Abs,
    /// `round(x[, n])`: half away from zero to `n` (0–12) places, same type (SPEC §8).
    Round,
    /// `floor(x)`, same type.
    Floor,
    /// `ceil(x)`, same type.
    Ceil,
    /// `days_since(ts)`: local date of `as_of` minus local date of `ts`, in calendar days.
    DaysSince,
    /// `day_of_week(ts)`: ISO weekday in the segment zone, Monday 1 … Sunday 7.
    DayOfWeek,
    /// `hour(ts)`: the local hour, 0–23, in the segment zone.
    Hour,
    /// `date(x)` of a data value: its local date; a literal argument is folded at compile time.
    Date,
    /// `timestamp(s)` of a data string (unreadable → null); a literal is folded at compile time.
    Timestamp,
    /// `start_of_day(ts)`: local midnight in the segment zone, as a timestamp.
    StartOfDay,
    /// `start_of_week(ts)`: Monday 00:00 local, as a timestamp.
    StartOfWeek,
    /// `start_of_month(ts)`: the 1st of the month 00:00 local, as a timestamp.
    StartOfMonth,
    /// `semver(s)` of a data string (invalid → null); a literal is folded at compile time.
    Semver,
    /// `cosine_similarity(a, b)` of two number lists, in f64 (SPEC §14).
    CosineSimilarity,
    /// `euclidean_distance(a, b)` of two number lists, in f64 (SPEC §14).
    EuclideanDistance,
    /// `coalesce(a, b, …)`: the first non-null argument (null if all are).
    Coalesce,
}

/// An event aggregate.
#[derive(Debug, Clone)]
pub struct Agg {
    /// Which aggregate (SPEC §11).
    pub func: AggFn,
    /// The event name it selects.
    pub event: Box<str>,
    /// Index of `event` in the segment's [`Layout`].
    pub event_slot: u32,
    /// Property path for `sum(e.p)` etc.; empty for whole events.
    pub path: Vec<PathSeg>,
    /// The `where` predicate, compiled in event scope; an event counts only when it is TRUE.
    pub filter: Option<Node>,
    /// The window on each event's `at` (SPEC §9); `None` = every event up to `as_of`.
    pub within: Option<Window>,
    /// `sum` of no events is money 0 in the base currency (not int 0) when the sum is known to be
    /// money: compared with money, or declared money in the schema.
    pub money_zero: bool,
    /// The declared type of the property at `path` (`Any` without a schema, or for whole events).
    pub prop_ty: Ty,
}

/// The attributes and events a compiled rule reads, each at a fixed slot. A profile bound to a
/// layout ([`crate::Bound`]) is read by index instead of by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Attribute names; slot `i` is `attributes[i]`, numbered in order of first use.
    pub attributes: Vec<Box<str>>,
    /// Event names, slotted the same way ([`Agg::event_slot`] indexes this).
    pub events: Vec<Box<str>>,
}

impl Layout {
    /// The slot of an attribute, adding it when `grow`.
    pub fn attribute_slot(&mut self, name: &str, grow: bool) -> Option<u32> {
        slot(&mut self.attributes, name, grow)
    }
    /// The slot of an event name, adding it when `grow`.
    pub fn event_slot(&mut self, name: &str, grow: bool) -> Option<u32> {
        slot(&mut self.events, name, grow)
    }
}

fn slot(names: &mut Vec<Box<str>>, name: &str, grow: bool) -> Option<u32> {
    if let Some(i) = names.iter().position(|n| &**n == name) {
        return Some(i as u32);
    }
    if !grow {
        return None;
    }
    names.push(name.into());
    Some((names.len() - 1) as u32)
}

/// A typed node.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node computes.
    pub kind: Kind,
    /// Its static type; [`Ty::Any`] when only the data can tell.
    pub ty: Ty,
    /// Byte range in the rule text, for diagnostics and `explain`'s source text.
    pub span: Span,
}

/// Node forms.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A value fixed at compile time: a literal, or one folded (timestamp, semver, money, list).
    Const(Value),
    /// Top-level attribute `name` then `rest`.
    /// `slot` indexes the segment's [`Layout`] (see [`crate::Bound`]).
    Attr {
        /// The attribute: the path's first step.
        name: Box<str>,
        /// Keys and list indexes after `name`; empty for a plain attribute.
        rest: Vec<PathSeg>,
        /// Its index in [`Layout::attributes`].
        slot: u32,
    },
    /// A property of the current event (inside `where`).
    Prop(Vec<PathSeg>),
    /// `id`: the profile's entity id, a string.
    EntityId,
    /// `as_of`: the evaluation instant, a timestamp.
    AsOf,
    /// `at` of the current event (inside `where`).
    EventAt,
    /// `not x`: null stays null (SPEC §6).
    Not(Box<Node>),
    /// `and` over n operands, left to right, stopping at the first FALSE (SPEC §6).
    And(Vec<Node>),
    /// `or` over n operands, left to right, stopping at the first TRUE.
    Or(Vec<Node>),
    /// `a op b` (SPEC §6); `before`/`after` arrive as `Lt`/`Gt`.
    Cmp(CmpOp, Box<Node>, Box<Node>),
    /// `x in list`: `x = list[0] or x = list[1] or …`, with its null rules (SPEC §6).
    In {
        /// The value looked for.
        x: Box<Node>,
        /// A constant list (literals read as `x`'s type) or a list-valued expression.
        list: Box<Node>,
        /// `not in`.
        negated: bool,
    },
    /// `x in [..]` over a literal list of strings (no nulls): a plain scan, no comparisons.
    InStrings {
        /// The value looked for.
        x: Box<Node>,
        /// The literal strings, in list order.
        set: Vec<Box<str>>,
        /// `not in`.
        negated: bool,
    },
    /// `x between lo and hi`: inclusive at both ends; `lo > hi` is FALSE, not an error.
    Between {
        /// The value tested.
        x: Box<Node>,
        /// Lower bound, inclusive.
        lo: Box<Node>,
        /// Upper bound, inclusive.
        hi: Box<Node>,
        /// `not between`.
        negated: bool,
    },
    /// `x is null`: TRUE for null or missing, else FALSE; never null itself.
    IsNull {
        /// The value tested.
        x: Box<Node>,
        /// `is not null`, which is also what `x exists` compiles to.
        negated: bool,
    },
    /// `s contains | starts_with | ends_with t` (SPEC §7).
    StrPred {
        /// Which predicate.
        op: StrOp,
        /// The string searched.
        s: Box<Node>,
        /// The string looked for.
        t: Box<Node>,
        /// The `not` form (null stays null).
        negated: bool,
    },
    /// `x matches "re"`: an unanchored search (SPEC §7).
    Matches {
        /// The string searched.
        x: Box<Node>,
        /// The pattern as written (a backend compiles it its own way: the interpreter with the
        /// linear-time `regex` crate, SQL by reprinting it per dialect).
        pattern: Box<str>,
        /// Index of the compiled pattern in the segment's list ([`crate::Segment`] keeps the
        /// interpreter's, compiled once).
        slot: u32,
        /// `not matches`.
        negated: bool,
    },
    /// `x within window`: the instant `x` lies in the window ending at `as_of` (SPEC §9).
    Within {
        /// The timestamp or date tested.
        x: Box<Node>,
        /// A duration back from `as_of`, or a calendar window in the segment zone.
        window: Window,
    },
    /// `a op b` with SPEC §8's promotion; the node's `ty` is the result type.
    Arith(ArithOp, Box<Node>, Box<Node>),
    /// Unary minus of a non-literal (a minus before a literal is part of the literal).
    Neg(Box<Node>),
    /// A built-in function and its arguments, in call order.
    Call(Func, Vec<Node>),
    /// `bucket(x, "salt")`: a decimal in [0.00, 99.99] from SHA-256 (SPEC §13).
    Bucket {
        /// The value hashed: a string or an int.
        x: Box<Node>,
        /// The literal salt; the hash input is `salt:x`.
        salt: Box<str>,
    },
    /// An aggregate over the profile's events (SPEC §11).
    Agg(Box<Agg>),
    /// A field of `first(e)`/`last(e)`: `at` or a property path.
    EventGet {
        /// The `first`/`last` aggregate that picks the event (its own `path` is empty).
        agg: Box<Agg>,
        /// `at` for the event's time, else a property path.
        path: Vec<PathSeg>,
    },
    /// `in_segment("id")`: the membership (TRUE/FALSE, never UNKNOWN) of that segment (SPEC §12).
    InSegment(Box<str>),
    /// Read a data value as `ty` (timestamp, date, money, semver, decimal); unreadable → null.
    Coerce(Box<Node>),
}

impl Node {
    /// Direct children, in evaluation order (for explain and analyses).
    pub fn children(&self) -> Vec<&Node> {
        match &self.kind {
            Kind::Const(_) | Kind::Attr { .. } | Kind::Prop(_) | Kind::EntityId | Kind::AsOf | Kind::EventAt => vec![],
            Kind::InSegment(_) => vec![],
            Kind::Not(x) | Kind::Neg(x) | Kind::Coerce(x) => vec![x],
            Kind::And(xs) | Kind::Or(xs) | Kind::Call(_, xs) => xs.iter().collect(),
            Kind::Cmp(_, a, b) | Kind::Arith(_, a, b) => vec![a, b],
            Kind::In { x, list, .. } => vec![x, list],
            Kind::InStrings { x, .. } => vec![x],
            Kind::Between { x, lo, hi, .. } => vec![x, lo, hi],
            Kind::IsNull { x, .. } | Kind::Matches { x, .. } | Kind::Within { x, .. } | Kind::Bucket { x, .. } => {
                vec![x]
            }
            Kind::StrPred { s, t, .. } => vec![s, t],
            Kind::Agg(_) | Kind::EventGet { .. } => vec![],
        }
    }
}

/// A traversal of the IR that reaches every node once, in evaluation order — aggregate filters
/// included ([`Node::children`] leaves them out: they run once per event). Analyses override the
/// nodes they care about and call [`walk`] to go on (cedar-policy's `ExprVisitor` plays the
/// same role).
///
/// ```
/// use segcore::ir::{walk, Kind, Node, Visitor};
/// use segcore::{Definition, Segment};
///
/// /// Counts `matches` tests, wherever they are.
/// struct Patterns(usize);
/// impl Visitor for Patterns {
///     fn visit(&mut self, n: &Node) {
///         if matches!(n.kind, Kind::Matches { .. }) {
///             self.0 += 1;
///         }
///         walk(self, n);
///     }
/// }
/// let rule = r#"email matches "@x[.]com$" and count(visit where url matches "^/pricing") > 2"#;
/// let seg = Segment::compile(Definition::new("a", "1.0.0", rule), None).unwrap();
/// let mut p = Patterns(0);
/// p.visit(seg.ir());
/// assert_eq!(p.0, 2); // one of them inside the `where` filter
/// ```
pub trait Visitor {
    /// Called for every node; the default goes on to its children ([`walk`]).
    fn visit(&mut self, n: &Node) {
        walk(self, n)
    }
    /// Called for the aggregate of an `Agg` or `EventGet` node, after the node's children; the
    /// default visits its `where` filter.
    fn visit_aggregate(&mut self, agg: &Agg) {
        if let Some(f) = &agg.filter {
            self.visit(f);
        }
    }
}

/// Visits `n`'s children, then the aggregate of an aggregate node.
pub fn walk<V: Visitor + ?Sized>(v: &mut V, n: &Node) {
    for c in n.children() {
        v.visit(c);
    }
    if let Kind::Agg(agg) | Kind::EventGet { agg, .. } = &n.kind {
        v.visit_aggregate(agg);
    }
}
