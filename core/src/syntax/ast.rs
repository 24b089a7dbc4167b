//! The syntax tree of a rule, as parsed. Spans point into the rule text; equality ignores them
//! only through the canonical JSON (SPEC §17), which is what "the same rule" means.

use crate::error::Span;

/// A parsed expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Byte range in the rule text, for diagnostics; not part of the canonical form.
    pub span: Span,
}

/// One step of an attribute or property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// `.name`: an object key (the first step is the attribute or property name).
    Key(String),
    /// `[n]`: a 0-based list index; fits i64 (SPEC §3).
    Index(u64),
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null` (which behaves as missing in every operator, SPEC §5).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer, a glued leading minus included; fits i64.
    Int(i64),
    /// Decimal text as written (with a leading `-` when negative).
    Decimal(String),
    /// A string literal, escapes decoded (SPEC §2).
    Str(String),
    /// Duration magnitude (may be negative) and unit.
    Duration(i64, char),
    /// Money amount text and currency code.
    Money(String, String),
}

/// Binary and unary operators, named as in the canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `and`, n-ary: `a and b and c` is one node.
    And,
    /// `or`, n-ary like `and`.
    Or,
    /// `not x` (Kleene: `not null` is null).
    Not,
    /// `a = b`: equality in a common type (SPEC §6); comparisons do not chain.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`: ordering in a common type (bools do not order).
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// `x in L`: `x = L[0] or x = L[1] or …` (SPEC §6).
    In,
    /// `x not in L`: `not (x in L)`.
    NotIn,
    /// `x between a and b`: three args, bounds inclusive.
    Between,
    /// `x not between a and b`.
    NotBetween,
    /// `x is null`: TRUE for null or missing, never null.
    IsNull,
    /// `x is not null`, and the postfix `x exists`.
    IsNotNull,
    /// `s contains t`: case-sensitive, on code points (SPEC §7).
    Contains,
    /// `s not contains t`.
    NotContains,
    /// `s starts_with t`.
    StartsWith,
    /// `s not starts_with t`.
    NotStartsWith,
    /// `s ends_with t`.
    EndsWith,
    /// `s not ends_with t`.
    NotEndsWith,
    /// `s matches "re"`; the pattern must be a string literal (SPEC §7).
    Matches,
    /// `s not matches "re"`.
    NotMatches,
    /// `a before b`: `a < b` on timestamps and dates.
    Before,
    /// `a after b`: `a > b` on timestamps and dates.
    After,
    /// Only names the canonical JSON op; the parser builds [`ExprKind::Within`] instead.
    Within,
    /// `a + b`, with the promotion of SPEC §8.
    Add,
    /// `a - b` (a minus glued to a literal in prefix position is part of the literal).
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (int / int is a float; by zero is null).
    Div,
    /// Unary minus of a non-literal operand (canonical name `neg`).
    Neg,
}

impl Op {
    /// The canonical JSON name.
    pub fn name(self) -> &'static str {
        use Op::*;
        match self {
            And => "and",
            Or => "or",
            Not => "not",
            Eq => "=",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            In => "in",
            NotIn => "not_in",
            Between => "between",
            NotBetween => "not_between",
            IsNull => "is_null",
            IsNotNull => "is_not_null",
            Contains => "contains",
            NotContains => "not_contains",
            StartsWith => "starts_with",
            NotStartsWith => "not_starts_with",
            EndsWith => "ends_with",
            NotEndsWith => "not_ends_with",
            Matches => "matches",
            NotMatches => "not_matches",
            Before => "before",
            After => "after",
            Within => "within",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Neg => "neg",
        }
    }
}

/// A time window (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// Exact length back from `as_of`: magnitude and unit.
    Last(i64, char),
    /// `today`: from the start of `as_of`'s local day through `as_of`.
    Today,
    /// `yesterday`: the previous local day, half-open.
    Yesterday,
    /// `this_week`: from Monday 00:00 local through `as_of`.
    ThisWeek,
    /// `last_week`: the previous Monday-to-Monday, half-open.
    LastWeek,
    /// `this_month`: from the 1st 00:00 local through `as_of`.
    ThisMonth,
    /// `last_month`: the whole previous calendar month, half-open.
    LastMonth,
}

impl Window {
    /// The canonical spelling (`30d`, `this_month`, …).
    pub fn spelling(&self) -> String {
        match self {
            Window::Last(n, u) => format!("{n}{u}"),
            Window::Today => "today".into(),
            Window::Yesterday => "yesterday".into(),
            Window::ThisWeek => "this_week".into(),
            Window::LastWeek => "last_week".into(),
            Window::ThisMonth => "this_month".into(),
            Window::LastMonth => "last_month".into(),
        }
    }
}

/// Event aggregates (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    /// `count(e …)`: how many events are selected (int; 0 when none).
    Count,
    /// `sum(e.p …)`: total of non-null `p`; 0 when none (money 0 when known to be money).
    Sum,
    /// `avg(e.p …)`: mean of non-null `p`; null when none.
    Avg,
    /// `min(e.p …)`: least non-null `p`; null when none.
    Min,
    /// `max(e.p …)`: greatest non-null `p`; null when none.
    Max,
    /// `distinct_count(e.p …)`: number of distinct non-null `p` (by `=`).
    DistinctCount,
    /// `first(e …)`: the earliest event (ties: first in input order); null when none.
    First,
    /// `last(e …)`: the latest event (ties: last in input order); null when none.
    Last,
    /// `exists(e …)`: whether any event is selected (bool).
    Exists,
}

impl AggFn {
    /// Parses an aggregate name.
    pub fn from_name(name: &str) -> Option<AggFn> {
        Some(match name {
            "count" => AggFn::Count,
            "sum" => AggFn::Sum,
            "avg" => AggFn::Avg,
            "min" => AggFn::Min,
            "max" => AggFn::Max,
            "distinct_count" => AggFn::DistinctCount,
            "first" => AggFn::First,
            "last" => AggFn::Last,
            "exists" => AggFn::Exists,
            _ => return None,
        })
    }
    /// The aggregate's name.
    pub fn name(self) -> &'static str {
        match self {
            AggFn::Count => "count",
            AggFn::Sum => "sum",
            AggFn::Avg => "avg",
            AggFn::Min => "min",
            AggFn::Max => "max",
            AggFn::DistinctCount => "distinct_count",
            AggFn::First => "first",
            AggFn::Last => "last",
            AggFn::Exists => "exists",
        }
    }
    /// Whether the aggregate reads a property (`sum(e.p)`) rather than whole events.
    pub fn needs_path(self) -> bool {
        matches!(self, AggFn::Sum | AggFn::Avg | AggFn::Min | AggFn::Max | AggFn::DistinctCount)
    }
}

impl Expr {
    /// The direct subexpressions, in source order (filters and inner values included).
    ///
    /// ```
    /// let e = segcore::Segment::parse_rule("a + 1 > b").unwrap();
    /// assert_eq!(e.children().count(), 2);
    /// ```
    pub fn children(&self) -> impl Iterator<Item = &Expr> {
        let (many, one): (&[Expr], Option<&Expr>) = match &self.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Var(_) => (&[], None),
            ExprKind::List(items) | ExprKind::Op(_, items) | ExprKind::Call(_, items) => (items, None),
            ExprKind::Within(inner, _) | ExprKind::Get(inner, _) => (&[], Some(inner)),
            ExprKind::Agg { filter, .. } => (&[], filter.as_deref()),
        };
        many.iter().chain(one)
    }

    /// The depth of the tree (SPEC §19): a literal or a name is 1; any other node is one more
    /// than its deepest child. Computed without recursion, so any tree can be measured.
    ///
    /// ```
    /// let e = segcore::Segment::parse_rule("age + 1 + 1 > 0").unwrap();
    /// assert_eq!(e.depth(), 4); // (> (+ (+ age 1) 1) 0)
    /// ```
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, d)) = stack.pop() {
            deepest = deepest.max(d);
            stack.extend(e.children().map(|c| (c, d + 1)));
        }
        deepest
    }
}

/// Expression forms.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal, spelled as written.
    Lit(Literal),
    /// A list literal `[a, b, …]`, items in source order.
    List(Vec<Expr>),
    /// An attribute path (or, inside `where`, an event property path).
    Path(Vec<PathSeg>),
    /// `id`, `as_of`, or `at` inside `where`.
    Var(&'static str),
    /// Operators; `args` in source order. `Within` has one arg and a window.
    Op(Op, Vec<Expr>),
    /// `x within W`, outside an aggregate's own `within`.
    Within(Box<Expr>, Window),
    /// A function call: the name as written (resolved by compile) and its arguments.
    Call(String, Vec<Expr>),
    /// An aggregate `agg(event[.path] [where P] [within W])` (SPEC §11).
    Agg {
        /// Which aggregate.
        func: AggFn,
        /// The event name (an identifier or a string literal's text).
        event: String,
        /// The property path after the event name; empty for whole events.
        path: Vec<PathSeg>,
        /// The `where` predicate, in event scope: properties, `at`, `as_of`.
        filter: Option<Box<Expr>>,
        /// The window on the events' `at`; `None` = every event up to `as_of`.
        within: Option<Window>,
    },
    /// Field access on a value that is not a plain path: `first(signup).at`.
    Get(Box<Expr>, Vec<PathSeg>),
}
