//! The typed intermediate representation: the single input of every backend (the interpreter
//! today; SQL generation and columnar evaluation later). Produced by [`crate::compile`] from the
//! syntax tree after name resolution, literal folding and type checking.

use crate::ast::{AggFn, PathSeg, Window};
use crate::error::Span;
use crate::value::Value;

/// Static types (SPEC §4). `Any` is "known only at run time" (no schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Any,
    Null,
    Bool,
    Int,
    Float,
    Decimal,
    /// Some number (schema type `number`).
    Number,
    Str,
    Timestamp,
    Date,
    Duration,
    Money,
    Semver,
    List,
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
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// String predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Built-in scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Fold,
    Length,
    Abs,
    Round,
    Floor,
    Ceil,
    DaysSince,
    DayOfWeek,
    Hour,
    Date,
    Timestamp,
    StartOfDay,
    StartOfWeek,
    StartOfMonth,
    Semver,
    CosineSimilarity,
    EuclideanDistance,
    Coalesce,
}

/// An event aggregate.
#[derive(Debug, Clone)]
pub struct Agg {
    pub func: AggFn,
    pub event: Box<str>,
    /// Index of `event` in the segment's [`Layout`].
    pub event_slot: u32,
    /// Property path for `sum(e.p)` etc.; empty for whole events.
    pub path: Vec<PathSeg>,
    pub filter: Option<Node>,
    pub within: Option<Window>,
    /// `sum` of no events is money 0 in the base currency (not int 0) when the sum is known to be
    /// money: compared with money, or declared money in the schema.
    pub money_zero: bool,
    /// The declared type of the property at `path` (`Any` without a schema, or for whole events).
    pub prop_ty: Ty,
}

/// The attributes and events a compiled rule reads, each at a fixed slot. A profile bound to a
/// layout ([`crate::segment::Bound`]) is read by index instead of by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub attributes: Vec<Box<str>>,
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
    pub kind: Kind,
    pub ty: Ty,
    pub span: Span,
}

/// Node forms.
#[derive(Debug, Clone)]
pub enum Kind {
    Const(Value),
    /// Top-level attribute `name` then `rest`.
    /// `slot` indexes the segment's [`Layout`] (see [`crate::segment::Bound`]).
    Attr {
        name: Box<str>,
        rest: Vec<PathSeg>,
        slot: u32,
    },
    /// A property of the current event (inside `where`).
    Prop(Vec<PathSeg>),
    EntityId,
    AsOf,
    /// `at` of the current event (inside `where`).
    EventAt,
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In {
        x: Box<Node>,
        list: Box<Node>,
        negated: bool,
    },
    /// `x in [..]` over a literal list of strings (no nulls): a plain scan, no comparisons.
    InStrings {
        x: Box<Node>,
        set: Vec<Box<str>>,
        negated: bool,
    },
    Between {
        x: Box<Node>,
        lo: Box<Node>,
        hi: Box<Node>,
        negated: bool,
    },
    IsNull {
        x: Box<Node>,
        negated: bool,
    },
    StrPred {
        op: StrOp,
        s: Box<Node>,
        t: Box<Node>,
        negated: bool,
    },
    Matches {
        x: Box<Node>,
        re: Box<regex::Regex>,
        negated: bool,
    },
    Within {
        x: Box<Node>,
        window: Window,
    },
    Arith(ArithOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Call(Func, Vec<Node>),
    Bucket {
        x: Box<Node>,
        salt: Box<str>,
    },
    Agg(Box<Agg>),
    /// A field of `first(e)`/`last(e)`: `at` or a property path.
    EventGet {
        agg: Box<Agg>,
        path: Vec<PathSeg>,
    },
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
