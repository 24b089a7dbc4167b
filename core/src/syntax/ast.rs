//! The syntax tree of a rule, as parsed. Spans point into the rule text; equality ignores them
//! only through the canonical JSON (SPEC §17), which is what "the same rule" means.

use crate::error::Span;

/// A parsed expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// One step of an attribute or property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(u64),
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    /// Decimal text as written (with a leading `-` when negative).
    Decimal(String),
    Str(String),
    /// Duration magnitude (may be negative) and unit.
    Duration(i64, char),
    /// Money amount text and currency code.
    Money(String, String),
}

/// Binary and unary operators, named as in the canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    And,
    Or,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Between,
    NotBetween,
    IsNull,
    IsNotNull,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Matches,
    NotMatches,
    Before,
    After,
    Within,
    Add,
    Sub,
    Mul,
    Div,
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
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
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
    Count,
    Sum,
    Avg,
    Min,
    Max,
    DistinctCount,
    First,
    Last,
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
    Lit(Literal),
    List(Vec<Expr>),
    /// An attribute path (or, inside `where`, an event property path).
    Path(Vec<PathSeg>),
    /// `id`, `as_of`, or `at` inside `where`.
    Var(&'static str),
    /// Operators; `args` in source order. `Within` has one arg and a window.
    Op(Op, Vec<Expr>),
    Within(Box<Expr>, Window),
    Call(String, Vec<Expr>),
    Agg {
        func: AggFn,
        event: String,
        path: Vec<PathSeg>,
        filter: Option<Box<Expr>>,
        within: Option<Window>,
    },
    /// Field access on a value that is not a plain path: `first(signup).at`.
    Get(Box<Expr>, Vec<PathSeg>),
}
