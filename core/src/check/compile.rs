//! Syntax tree → typed IR: resolves names, folds and checks literals, type-checks against an
//! optional schema, and records the read set. Reports every problem it finds, not just the first.

use std::collections::BTreeSet;

use jiff::tz::TimeZone;

use crate::ast::{AggFn, Expr, ExprKind, Literal, Op, PathSeg, Window};
use crate::error::{Diagnostic, ErrorKind, Span};
use crate::ir::{Agg, ArithOp, CmpOp, Func, Kind, Layout, Node, StrOp, Ty};
use crate::limits;
use crate::schema::Schema;
use crate::semver::Version;
use crate::time;
use crate::value::{parse_decimal, parse_money_text, Currency, Money, Value};

/// What a compiled rule reads from a profile: bindings pass only this across a boundary, and a
/// registry reports which segments a schema change touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSet {
    /// Top-level attribute names, sorted.
    pub attributes: BTreeSet<String>,
    /// Event names, sorted.
    pub events: BTreeSet<String>,
    /// Referenced segment ids, sorted.
    pub segments: BTreeSet<String>,
    /// Per event name, the top-level properties read (in `where`, `sum(e.p)`, `first(e).p`).
    pub event_properties: std::collections::BTreeMap<String, BTreeSet<String>>,
    /// Whether the entity id is read.
    pub entity_id: bool,
}

/// Compile-time environment.
pub struct Env<'a> {
    pub tz: &'a TimeZone,
    pub schema: Option<&'a Schema>,
    /// When set, `in_segment` ids are checked against it (registry compile).
    pub known_segment: Option<&'a dyn Fn(&str) -> bool>,
    /// A fixed slot layout (a registry's); without one the rule gets its own.
    pub layout: Option<&'a Layout>,
}

/// The result of compiling one rule.
pub struct Compiled {
    pub root: Node,
    pub layout: Layout,
    pub read_set: ReadSet,
    pub diagnostics: Vec<Diagnostic>,
    /// The `matches` patterns, compiled (validated) once, at the slots their nodes name.
    pub regexes: Vec<regex::Regex>,
}

/// Compiles a parsed rule. Errors are in `diagnostics`; the tree is only usable when there are
/// none of severity error.
pub fn compile(expr: &Expr, env: &Env) -> Compiled {
    let layout = env.layout.cloned().unwrap_or_default();
    let grow = env.layout.is_none();
    let mut c = Compiler {
        env,
        diags: Vec::new(),
        read: ReadSet::default(),
        event: None,
        layout,
        grow,
        regexes: Vec::new(),
        regex_bytes: 0,
    };
    let root = c.expr(expr);
    if !matches!(root.ty, Ty::Bool | Ty::Any | Ty::Null) {
        c.err(
            ErrorKind::TypeMismatch,
            expr.span,
            format!("a rule must be a condition (bool), but this is a {}", root.ty.name()),
        );
    }
    Compiled { root, layout: c.layout, read_set: c.read, diagnostics: c.diags, regexes: c.regexes }
}

struct Compiler<'a> {
    env: &'a Env<'a>,
    diags: Vec<Diagnostic>,
    read: ReadSet,
    /// The event whose properties bare names refer to (inside `where`).
    event: Option<String>,
    layout: Layout,
    /// Whether names missing from `layout` get new slots (false for a registry's fixed layout).
    grow: bool,
    regexes: Vec<regex::Regex>,
    /// Pattern source compiled so far (limits::MAX_REGEX_BYTES_PER_RULE).
    regex_bytes: usize,
}

fn node(kind: Kind, ty: Ty, span: Span) -> Node {
    Node { kind, ty, span }
}

fn konst(v: Value, ty: Ty, span: Span) -> Node {
    node(Kind::Const(v), ty, span)
}

pub(crate) fn is_coercible(ty: Ty) -> bool {
    matches!(ty, Ty::Timestamp | Ty::Date | Ty::Money | Ty::Semver | Ty::Decimal)
}

/// Types that compare with each other (SPEC §6). Open types compare with anything.
fn comparable(a: Ty, b: Ty, ordering: bool) -> bool {
    if a.is_open() || b.is_open() {
        return true;
    }
    let time = |t: Ty| matches!(t, Ty::Timestamp | Ty::Date);
    match (a, b) {
        _ if a.is_numeric() && b.is_numeric() => true,
        _ if time(a) && time(b) => true,
        (Ty::Str, Ty::Str) | (Ty::Duration, Ty::Duration) | (Ty::Money, Ty::Money) | (Ty::Semver, Ty::Semver) => true,
        (Ty::Bool, Ty::Bool) | (Ty::List, Ty::List) | (Ty::Object, Ty::Object) => !ordering,
        _ => false,
    }
}

impl Compiler<'_> {
    fn err(&mut self, kind: ErrorKind, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::at(kind, span, msg));
    }

    fn bad(&mut self, kind: ErrorKind, span: Span, msg: impl Into<String>) -> Node {
        self.err(kind, span, msg);
        node(Kind::Const(Value::Null), Ty::Any, span)
    }

    fn expr(&mut self, e: &Expr) -> Node {
        let span = e.span;
        match &e.kind {
            ExprKind::Lit(l) => self.literal(l, span),
            ExprKind::List(items) => self.expr_list(items, span),
            ExprKind::Path(path) => self.path(path, span),
            ExprKind::Var(name) => match *name {
                "id" => {
                    self.read.entity_id = true;
                    node(Kind::EntityId, Ty::Str, span)
                }
                "as_of" => node(Kind::AsOf, Ty::Timestamp, span),
                _ => node(Kind::EventAt, Ty::Timestamp, span),
            },
            ExprKind::Op(op, args) => self.op(*op, args, span),
            ExprKind::Within(x, w) => self.expr_within(x, w, span),
            ExprKind::Call(name, args) => self.call(name, args, span),
            ExprKind::Agg { func, event, path, filter, within } => {
                self.expr_agg(func, event, path, filter, within, span)
            }
            ExprKind::Get(inner, path) => self.expr_get(inner, path, span),
        }
    }

    #[inline(never)]
    fn expr_list(&mut self, items: &[Expr], span: Span) -> Node {
        let nodes: Vec<Node> = items.iter().map(|i| self.expr(i)).collect();
        if nodes.iter().all(|n| matches!(n.kind, Kind::Const(_))) {
            let values = nodes
                .into_iter()
                .map(|n| match n.kind {
                    Kind::Const(v) => v,
                    _ => Value::Null,
                })
                .collect();
            konst(Value::List(values), Ty::List, span)
        } else {
            self.bad(ErrorKind::TypeMismatch, span, "list elements must be literals (computed lists are not supported)")
        }
    }

    #[inline(never)]
    fn expr_within(&mut self, x: &Expr, w: &Window, span: Span) -> Node {
        if let Window::Last(n, u) = w {
            if n.checked_mul(time::unit_micros(*u)).is_none() {
                return self.bad(ErrorKind::NumberOutOfRange, span, "window length is too large");
            }
        }
        let x = self.expr(x);
        let x = self.time_operand(x, "within");
        node(Kind::Within { x: Box::new(x), window: w.clone() }, Ty::Bool, span)
    }

    #[inline(never)]
    fn expr_agg(
        &mut self,
        func: &AggFn,
        event: &str,
        path: &[PathSeg],
        filter: &Option<Box<Expr>>,
        within: &Option<Window>,
        span: Span,
    ) -> Node {
        match self.aggregate(*func, event, path, filter.as_deref(), within.as_ref(), span) {
            Some((agg, ty)) => {
                if matches!(func, AggFn::First | AggFn::Last) && !agg.path.is_empty() {
                    let path = agg.path.clone();
                    let ty = self.event_field_ty(&agg.event, &path);
                    let mut agg = agg;
                    agg.path.clear();
                    return self.wrap_coerce(node(Kind::EventGet { agg: Box::new(agg), path }, ty, span));
                }
                node(Kind::Agg(Box::new(agg)), ty, span)
            }
            None => node(Kind::Const(Value::Null), Ty::Any, span),
        }
    }

    #[inline(never)]
    fn expr_get(&mut self, inner: &Expr, path: &[PathSeg], span: Span) -> Node {
        let inner_node = self.expr(inner);
        match inner_node.kind {
            Kind::Agg(agg) if matches!(agg.func, AggFn::First | AggFn::Last) => {
                if let Some(PathSeg::Key(k)) =
                    path.first().filter(|_| path.len() > 1 || path[0] != PathSeg::Key("at".into()))
                {
                    self.read.event_properties.entry(agg.event.to_string()).or_default().insert(k.clone());
                }
                let ty = self.event_field_ty(&agg.event, path);
                self.wrap_coerce(node(Kind::EventGet { agg, path: path.to_vec() }, ty, span))
            }
            _ => self.bad(
                ErrorKind::TypeMismatch,
                span,
                "field access applies to attributes and to `first(…)`/`last(…)` events",
            ),
        }
    }
    #[inline(never)]
    fn literal(&mut self, l: &Literal, span: Span) -> Node {
        match l {
            Literal::Null => konst(Value::Null, Ty::Null, span),
            Literal::Bool(b) => konst(Value::Bool(*b), Ty::Bool, span),
            Literal::Int(i) => konst(Value::Int(*i), Ty::Int, span),
            Literal::Decimal(d) => match parse_decimal(d) {
                Some(v) => konst(Value::Decimal(v), Ty::Decimal, span),
                None => self.bad(ErrorKind::NumberOutOfRange, span, format!("decimal `{d}` is out of range")),
            },
            Literal::Str(s) => konst(Value::Str(s.as_str().into()), Ty::Str, span),
            Literal::Duration(n, u) => match n.checked_mul(time::unit_micros(*u)) {
                Some(us) => konst(Value::Duration(us), Ty::Duration, span),
                None => self.bad(ErrorKind::NumberOutOfRange, span, format!("duration `{n}{u}` is too long")),
            },
            Literal::Money(amount, cur) => {
                let Some(currency) = Currency::parse(cur) else {
                    return self.bad(ErrorKind::InvalidCurrency, span, format!("`{cur}` is not a currency code"));
                };
                match parse_decimal(amount) {
                    Some(amount) => konst(Value::Money(Money { amount, currency }), Ty::Money, span),
                    None => self.bad(ErrorKind::NumberOutOfRange, span, format!("amount `{amount}` is out of range")),
                }
            }
        }
    }

    #[inline(never)]
    fn path(&mut self, path: &[PathSeg], span: Span) -> Node {
        let Some(PathSeg::Key(first)) = path.first() else {
            return self.bad(ErrorKind::SyntaxError, span, "a path starts with a name");
        };
        if let Some(event) = self.event.clone() {
            self.read.event_properties.entry(event.clone()).or_default().insert(first.clone());
            let ty = self.event_field_ty(&event, path);
            if let Some(props) = self.env.schema.and_then(|s| s.event(&event)) {
                if !props.contains_key(first.as_str()) {
                    let known = props.keys().cloned().collect::<Vec<_>>().join(", ");
                    self.err(
                        ErrorKind::UnknownField,
                        span,
                        format!("event `{event}` has no property `{first}` in the schema (known: {known})"),
                    );
                }
            }
            return self.wrap_coerce(node(Kind::Prop(path.to_vec()), ty, span));
        }
        self.read.attributes.insert(first.clone());
        let mut ty = Ty::Any;
        if let Some(schema) = self.env.schema {
            match schema.attribute(first) {
                Some(t) => ty = if path.len() == 1 { t } else { Ty::Any },
                None => {
                    let hint = suggest(first, schema.attribute_names());
                    self.err(
                        ErrorKind::UnknownField,
                        span,
                        format!("unknown attribute `{first}`: it is not in the schema{hint}"),
                    );
                }
            }
        }
        let slot = self.layout.attribute_slot(first, self.grow).unwrap_or(u32::MAX);
        let n = node(Kind::Attr { name: first.as_str().into(), rest: path[1..].to_vec(), slot }, ty, span);
        self.wrap_coerce(n)
    }

    fn event_field_ty(&mut self, event: &str, path: &[PathSeg]) -> Ty {
        if path.len() == 1 && path[0] == PathSeg::Key("at".into()) && self.event.as_deref() != Some(event) {
            return Ty::Timestamp;
        }
        match (self.env.schema.and_then(|s| s.event(event)), path.first()) {
            (Some(props), Some(PathSeg::Key(k))) if path.len() == 1 => {
                props.get(k.as_str()).copied().unwrap_or(Ty::Any)
            }
            _ => Ty::Any,
        }
    }

    /// Schema-typed data arrives as JSON: read it as its declared type.
    fn wrap_coerce(&mut self, n: Node) -> Node {
        if is_coercible(n.ty) && !matches!(n.kind, Kind::Coerce(_)) {
            let (ty, span) = (n.ty, n.span);
            node(Kind::Coerce(Box::new(n)), ty, span)
        } else {
            n
        }
    }

    /// An operand that must be a timestamp (within, before, after, calendar functions).
    fn time_operand(&mut self, n: Node, what: &str) -> Node {
        match n.ty {
            Ty::Timestamp | Ty::Date | Ty::Null => n,
            Ty::Any => {
                let span = n.span;
                node(Kind::Coerce(Box::new(n)), Ty::Timestamp, span)
            }
            Ty::Str => {
                if let Kind::Const(Value::Str(s)) = &n.kind {
                    match time::parse_literal_instant(s, self.env.tz) {
                        Some(t) => konst(Value::Timestamp(t), Ty::Timestamp, n.span),
                        None => self.bad(
                            ErrorKind::InvalidTimestamp,
                            n.span,
                            format!("{s:?} is not a timestamp (RFC 3339, a local date-time, or a date)"),
                        ),
                    }
                } else {
                    self.bad(ErrorKind::TypeMismatch, n.span, format!("`{what}` needs a timestamp, not a string"))
                }
            }
            other => {
                self.bad(ErrorKind::TypeMismatch, n.span, format!("`{what}` needs a timestamp, not a {}", other.name()))
            }
        }
    }

    /// Converts a string literal to the type of the other operand (SPEC §6).
    fn coerce_literal(&mut self, lit: Node, other: Ty) -> Node {
        let Kind::Const(Value::Str(s)) = &lit.kind else {
            return lit;
        };
        let span = lit.span;
        match other {
            Ty::Timestamp => match time::parse_literal_instant(s, self.env.tz) {
                Some(t) => konst(Value::Timestamp(t), Ty::Timestamp, span),
                None => self.bad(ErrorKind::InvalidTimestamp, span, format!("{s:?} is not a timestamp")),
            },
            Ty::Date => match time::parse_date(s) {
                Some(d) => konst(Value::Date(d), Ty::Date, span),
                None => match time::parse_literal_instant(s, self.env.tz) {
                    Some(t) => konst(Value::Timestamp(t), Ty::Timestamp, span),
                    None => self.bad(ErrorKind::InvalidDate, span, format!("{s:?} is not a date (YYYY-MM-DD)")),
                },
            },
            Ty::Semver => match Version::parse(s) {
                Some(v) => konst(Value::Semver(Box::new(v)), Ty::Semver, span),
                None => self.bad(
                    ErrorKind::InvalidSemver,
                    span,
                    format!("{s:?} is not a strict SemVer 2.0.0 version (MAJOR.MINOR.PATCH, no `v`)"),
                ),
            },
            Ty::Money => match parse_money_text(s) {
                Some(m) => konst(Value::Money(m), Ty::Money, span),
                None => self.bad(ErrorKind::InvalidCurrency, span, format!("{s:?} is not money (`19.99 EUR`)")),
            },
            Ty::Any => {
                // A literal that is unmistakably an instant makes the comparison a time comparison.
                if let Some(t) = time::parse_instant(s) {
                    konst(Value::Timestamp(t), Ty::Timestamp, span)
                } else {
                    lit
                }
            }
            _ => lit,
        }
    }

    fn compare_pair(&mut self, a: Node, b: Node, ordering: bool, span: Span) -> (Node, Node) {
        let a = self.coerce_literal(a, b.ty);
        let b = self.coerce_literal(b, a.ty);
        let (mut a, mut b) = (a, b);
        let (ta, tb) = (a.ty, b.ty);
        for (x, other) in [(&mut a, tb), (&mut b, ta)] {
            if other == Ty::Money {
                if let Kind::Agg(agg) = &mut x.kind {
                    agg.money_zero = true;
                }
            }
        }
        if !comparable(a.ty, b.ty, ordering) {
            let what = if ordering && a.ty == b.ty { "cannot be ordered" } else { "cannot be compared" };
            let msg = if a.ty == b.ty {
                format!("{} values {what}", a.ty.name())
            } else {
                format!("a {} and a {} {what}", a.ty.name(), b.ty.name())
            };
            self.err(ErrorKind::TypeMismatch, span, msg);
        }
        (a, b)
    }

    fn logic_arg(&mut self, e: &Expr, op: &str) -> Node {
        let n = self.expr(e);
        if !matches!(n.ty, Ty::Bool | Ty::Any | Ty::Null) {
            // `count(e where at within 7d)` reads `within 7d` as the aggregate's window, leaving
            // `at` alone as the condition: say how to write either meaning.
            let hint = if op == "where" && matches!(n.ty, Ty::Timestamp | Ty::Date) {
                " (a `within` after the condition is the aggregate's window: to filter on the time, \
                 parenthesise the condition, `where (at within 7d)`, or give the window alone, \
                 `count(e within 7d)`)"
            } else {
                ""
            };
            self.err(
                ErrorKind::TypeMismatch,
                e.span,
                format!("`{op}` needs conditions (bool), but this is a {}{hint}", n.ty.name()),
            );
        }
        n
    }

    /// Dispatches to one function per operator family: kept apart (never inlined) so that the
    /// recursion through an arithmetic chain carries one small frame per level, not the locals of
    /// every family (SPEC §19's tree depth is sized to the smallest runtime stack).
    fn op(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        match op {
            Op::And | Op::Or => self.op_logic(op, args, span),
            Op::Not => self.op_not(args, span),
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Before | Op::After => {
                self.op_comparison(op, args, span)
            }
            Op::In | Op::NotIn => self.op_in_list(op, args, span),
            Op::Between | Op::NotBetween => self.op_between(op, args, span),
            Op::IsNull | Op::IsNotNull => self.op_is_null(op, args, span),
            Op::Contains | Op::NotContains | Op::StartsWith | Op::NotStartsWith | Op::EndsWith | Op::NotEndsWith => {
                self.op_string_predicate(op, args, span)
            }
            Op::Matches | Op::NotMatches => self.op_matches(op, args, span),
            Op::Add | Op::Sub | Op::Mul | Op::Div => self.op_arith(op, args, span),
            Op::Neg => self.op_neg(args, span),
            Op::Within => self.bad(ErrorKind::SyntaxError, span, "misplaced `within`"),
        }
    }

    #[inline(never)]
    fn op_logic(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let name = if op == Op::And { "and" } else { "or" };
        let nodes = args.iter().map(|a| self.logic_arg(a, name)).collect();
        node(if op == Op::And { Kind::And(nodes) } else { Kind::Or(nodes) }, Ty::Bool, span)
    }

    #[inline(never)]
    fn op_not(&mut self, args: &[Expr], span: Span) -> Node {
        let x = self.logic_arg(&args[0], "not");
        node(Kind::Not(Box::new(x)), Ty::Bool, span)
    }

    #[inline(never)]
    fn op_comparison(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let b = |k: Box<Node>| k;
        let (l, r) = (self.expr(&args[0]), self.expr(&args[1]));
        let (l, r) = if matches!(op, Op::Before | Op::After) {
            let word = if op == Op::Before { "before" } else { "after" };
            (self.time_operand(l, word), self.time_operand(r, word))
        } else {
            (l, r)
        };
        let cmp = match op {
            Op::Eq => CmpOp::Eq,
            Op::Ne => CmpOp::Ne,
            Op::Lt | Op::Before => CmpOp::Lt,
            Op::Le => CmpOp::Le,
            Op::Gt | Op::After => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        let ordering = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
        let (l, r) = self.compare_pair(l, r, ordering, span);
        node(Kind::Cmp(cmp, b(Box::new(l)), Box::new(r)), Ty::Bool, span)
    }

    #[inline(never)]
    fn op_in_list(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let x = self.expr(&args[0]);
        let mut list = self.expr(&args[1]);
        if !matches!(list.ty, Ty::List | Ty::Any | Ty::Null) {
            self.err(ErrorKind::TypeMismatch, list.span, format!("`in` needs a list, not a {}", list.ty.name()));
        }
        if let Kind::Const(Value::List(items)) = &mut list.kind {
            let items = std::mem::take(items);
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let ty = value_ty(&item);
                let lit = konst(item, ty, list.span);
                let (_, lit) =
                    self.compare_pair(node(Kind::Const(Value::Null), x.ty, x.span), lit, false, args[1].span);
                out.push(match lit.kind {
                    Kind::Const(v) => v,
                    _ => Value::Null,
                });
            }
            let strings: Option<Vec<Box<str>>> = out
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            if let (Some(set), true) = (strings, matches!(x.ty, Ty::Str | Ty::Any)) {
                return node(Kind::InStrings { x: Box::new(x), set, negated: op == Op::NotIn }, Ty::Bool, span);
            }
            list.kind = Kind::Const(Value::List(out));
        }
        node(Kind::In { x: Box::new(x), list: Box::new(list), negated: op == Op::NotIn }, Ty::Bool, span)
    }

    #[inline(never)]
    fn op_between(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let x = self.expr(&args[0]);
        let (lo, hi) = (self.expr(&args[1]), self.expr(&args[2]));
        let (x, lo) = self.compare_pair(x, lo, true, span);
        let (x, hi) = self.compare_pair(x, hi, true, span);
        node(
            Kind::Between { x: Box::new(x), lo: Box::new(lo), hi: Box::new(hi), negated: op == Op::NotBetween },
            Ty::Bool,
            span,
        )
    }

    #[inline(never)]
    fn op_is_null(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let x = self.expr(&args[0]);
        node(Kind::IsNull { x: Box::new(x), negated: op == Op::IsNotNull }, Ty::Bool, span)
    }

    #[inline(never)]
    fn op_string_predicate(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let (s, t) = (self.expr(&args[0]), self.expr(&args[1]));
        for n in [&s, &t] {
            if !matches!(n.ty, Ty::Str | Ty::Any | Ty::Null) {
                self.err(
                    ErrorKind::TypeMismatch,
                    n.span,
                    format!("`{}` works on strings, not on a {}", op.name().trim_start_matches("not_"), n.ty.name()),
                );
            }
        }
        let (sop, negated) = match op {
            Op::Contains => (StrOp::Contains, false),
            Op::NotContains => (StrOp::Contains, true),
            Op::StartsWith => (StrOp::StartsWith, false),
            Op::NotStartsWith => (StrOp::StartsWith, true),
            Op::EndsWith => (StrOp::EndsWith, false),
            _ => (StrOp::EndsWith, true),
        };
        node(Kind::StrPred { op: sop, s: Box::new(s), t: Box::new(t), negated }, Ty::Bool, span)
    }

    #[inline(never)]
    fn op_matches(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let x = self.expr(&args[0]);
        if !matches!(x.ty, Ty::Str | Ty::Any | Ty::Null) {
            self.err(ErrorKind::TypeMismatch, x.span, format!("`matches` works on strings, not on a {}", x.ty.name()));
        }
        let ExprKind::Lit(Literal::Str(pattern)) = &args[1].kind else {
            return self.bad(
                ErrorKind::TypeMismatch,
                args[1].span,
                "the pattern of `matches` must be a string literal",
            );
        };
        // Counted before compiling: the budget bounds the time compiling takes.
        self.regex_bytes += pattern.len();
        if self.regex_bytes > limits::MAX_REGEX_BYTES_PER_RULE {
            let msg = format!(
                "the rule's `matches` patterns total {} bytes so far; the limit per rule is {} (SPEC §19)",
                self.regex_bytes,
                limits::MAX_REGEX_BYTES_PER_RULE
            );
            return self.bad(ErrorKind::RegexTooLarge, args[1].span, msg);
        }
        match compile_regex(pattern) {
            Ok(re) => {
                let slot = self.regexes.len() as u32;
                self.regexes.push(re);
                let kind = Kind::Matches {
                    x: Box::new(x),
                    pattern: pattern.as_str().into(),
                    slot,
                    negated: op == Op::NotMatches,
                };
                node(kind, Ty::Bool, span)
            }
            Err((kind, msg)) => self.bad(kind, args[1].span, msg),
        }
    }

    #[inline(never)]
    fn op_arith(&mut self, op: Op, args: &[Expr], span: Span) -> Node {
        let (l, r) = (self.expr(&args[0]), self.expr(&args[1]));
        let aop = match op {
            Op::Add => ArithOp::Add,
            Op::Sub => ArithOp::Sub,
            Op::Mul => ArithOp::Mul,
            _ => ArithOp::Div,
        };
        let ty = match arith_ty(aop, l.ty, r.ty) {
            Some(t) => t,
            None => {
                self.err(
                    ErrorKind::TypeMismatch,
                    span,
                    format!("cannot apply `{}` to a {} and a {}", op.name(), l.ty.name(), r.ty.name()),
                );
                Ty::Any
            }
        };
        node(Kind::Arith(aop, Box::new(l), Box::new(r)), ty, span)
    }

    #[inline(never)]
    fn op_neg(&mut self, args: &[Expr], span: Span) -> Node {
        let x = self.expr(&args[0]);
        if !(x.ty.is_numeric() || matches!(x.ty, Ty::Any | Ty::Null | Ty::Duration | Ty::Money)) {
            self.err(ErrorKind::TypeMismatch, span, format!("cannot negate a {}", x.ty.name()));
        }
        let ty = x.ty;
        node(Kind::Neg(Box::new(x)), ty, span)
    }
    #[inline(never)]
    fn call(&mut self, name: &str, args: &[Expr], span: Span) -> Node {
        // Functions whose arguments must be literals.
        match name {
            "in_segment" => {
                let [arg] = args else {
                    return self.arity(name, "1", args.len(), span);
                };
                let ExprKind::Lit(Literal::Str(id)) = &arg.kind else {
                    return self.bad(
                        ErrorKind::TypeMismatch,
                        arg.span,
                        "`in_segment` takes a segment id string literal",
                    );
                };
                if let Some(known) = self.env.known_segment {
                    if !known(id) {
                        return self.bad(
                            ErrorKind::UnknownSegment,
                            arg.span,
                            format!("no segment `{id}` in the registry"),
                        );
                    }
                }
                self.read.segments.insert(id.clone());
                return node(Kind::InSegment(id.as_str().into()), Ty::Bool, span);
            }
            "bucket" => {
                let [x, salt] = args else {
                    return self.arity(name, "2", args.len(), span);
                };
                let ExprKind::Lit(Literal::Str(salt)) = &salt.kind else {
                    return self.bad(
                        ErrorKind::TypeMismatch,
                        salt.span,
                        "the salt of `bucket` must be a string literal",
                    );
                };
                let x = self.expr(x);
                if !matches!(x.ty, Ty::Str | Ty::Int | Ty::Any | Ty::Null | Ty::Number) {
                    self.err(
                        ErrorKind::TypeMismatch,
                        x.span,
                        format!("`bucket` hashes a string or an int, not a {}", x.ty.name()),
                    );
                }
                return node(Kind::Bucket { x: Box::new(x), salt: salt.as_str().into() }, Ty::Decimal, span);
            }
            _ => {}
        }
        let Some((func, min, max)) = func_signature(name) else {
            let known = FUNCTIONS.iter().map(|(n, ..)| *n).chain(["in_segment", "bucket"]);
            let hint = suggest(name, known);
            return self.bad(ErrorKind::UnknownFunction, span, format!("unknown function `{name}`{hint}"));
        };
        if args.len() < min || args.len() > max {
            let want = if min == max {
                min.to_string()
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} or {max}")
            };
            return self.arity(name, &want, args.len(), span);
        }
        let mut nodes: Vec<Node> = args.iter().map(|a| self.expr(a)).collect();
        let t0 = nodes[0].ty;
        let check = |c: &mut Self, ok: bool, n: &Node, want: &str| {
            if !ok {
                c.err(ErrorKind::TypeMismatch, n.span, format!("`{name}` needs {want}, not a {}", n.ty.name()));
            }
        };
        let open = t0.is_open();
        let ty = match func {
            Func::Lower | Func::Upper | Func::Fold => {
                check(self, open || t0 == Ty::Str, &nodes[0], "a string");
                Ty::Str
            }
            Func::Length => {
                check(self, open || matches!(t0, Ty::Str | Ty::List), &nodes[0], "a string or a list");
                Ty::Int
            }
            Func::Abs | Func::Floor | Func::Ceil | Func::Round => {
                check(self, open || t0.is_numeric(), &nodes[0], "a number");
                if func == Func::Round && nodes.len() == 2 {
                    let ok = matches!(nodes[1].kind, Kind::Const(Value::Int(n)) if (0..=12).contains(&n));
                    if !ok {
                        self.err(
                            ErrorKind::TypeMismatch,
                            nodes[1].span,
                            "the digits of `round` must be an integer literal from 0 to 12",
                        );
                    }
                }
                if open {
                    Ty::Any
                } else {
                    t0
                }
            }
            Func::DaysSince
            | Func::DayOfWeek
            | Func::Hour
            | Func::StartOfDay
            | Func::StartOfWeek
            | Func::StartOfMonth => {
                let n = nodes.remove(0);
                nodes.insert(0, self.time_operand(n, name));
                if matches!(func, Func::DaysSince | Func::DayOfWeek | Func::Hour) {
                    Ty::Int
                } else {
                    Ty::Timestamp
                }
            }
            Func::Date => {
                if let Kind::Const(Value::Str(s)) = &nodes[0].kind {
                    return match time::parse_date(s) {
                        Some(d) => konst(Value::Date(d), Ty::Date, span),
                        None => {
                            self.bad(ErrorKind::InvalidDate, nodes[0].span, format!("{s:?} is not a date (YYYY-MM-DD)"))
                        }
                    };
                }
                check(self, open || matches!(t0, Ty::Timestamp | Ty::Date | Ty::Str), &nodes[0], "a timestamp");
                Ty::Date
            }
            Func::Timestamp => {
                if let Kind::Const(Value::Str(s)) = &nodes[0].kind {
                    return match time::parse_literal_instant(s, self.env.tz) {
                        Some(t) => konst(Value::Timestamp(t), Ty::Timestamp, span),
                        None => self.bad(
                            ErrorKind::InvalidTimestamp,
                            nodes[0].span,
                            format!("{s:?} is not a timestamp (RFC 3339, a local date-time, or a date)"),
                        ),
                    };
                }
                check(self, open || matches!(t0, Ty::Timestamp | Ty::Date | Ty::Str), &nodes[0], "a string");
                Ty::Timestamp
            }
            Func::Semver => {
                if let Kind::Const(Value::Str(s)) = &nodes[0].kind {
                    return match Version::parse(s) {
                        Some(v) => konst(Value::Semver(Box::new(v)), Ty::Semver, span),
                        None => self.bad(
                            ErrorKind::InvalidSemver,
                            nodes[0].span,
                            format!("{s:?} is not a strict SemVer 2.0.0 version"),
                        ),
                    };
                }
                check(self, open || matches!(t0, Ty::Str | Ty::Semver), &nodes[0], "a string");
                Ty::Semver
            }
            Func::CosineSimilarity | Func::EuclideanDistance => {
                for n in &nodes {
                    let ok = matches!(n.ty, Ty::List | Ty::Any | Ty::Null);
                    check(self, ok, n, "a vector (list of numbers)");
                }
                Ty::Float
            }
            Func::Coalesce => {
                let known: Vec<Ty> = nodes.iter().map(|n| n.ty).filter(|t| !t.is_open()).collect();
                if known.windows(2).all(|w| w[0] == w[1]) && !known.is_empty() && known.len() == nodes.len() {
                    known[0]
                } else {
                    Ty::Any
                }
            }
        };
        node(Kind::Call(func, nodes), ty, span)
    }

    fn arity(&mut self, name: &str, want: &str, got: usize, span: Span) -> Node {
        self.bad(ErrorKind::Arity, span, format!("`{name}` takes {want} argument(s), got {got}"))
    }

    #[inline(never)]
    fn aggregate(
        &mut self,
        func: AggFn,
        event: &str,
        path: &[PathSeg],
        filter: Option<&Expr>,
        within: Option<&Window>,
        span: Span,
    ) -> Option<(Agg, Ty)> {
        if self.event.is_some() {
            self.err(ErrorKind::TypeMismatch, span, "aggregates cannot be nested inside `where`");
            return None;
        }
        self.read.events.insert(event.to_string());
        if let Some(PathSeg::Key(p)) = path.first() {
            if !(path.len() == 1 && p == "at" && matches!(func, AggFn::First | AggFn::Last)) {
                self.read.event_properties.entry(event.to_string()).or_default().insert(p.clone());
            }
        }
        if let Some(schema) = self.env.schema {
            if schema.event(event).is_none() {
                let hint = suggest(event, schema.event_names());
                self.err(
                    ErrorKind::UnknownEvent,
                    span,
                    format!("unknown event `{event}`: it is not in the schema{hint}"),
                );
            } else if let (Some(PathSeg::Key(p)), Some(props)) = (path.first(), schema.event(event)) {
                if !(props.contains_key(p.as_str()) || p == "at" && path.len() == 1) {
                    self.err(
                        ErrorKind::UnknownField,
                        span,
                        format!("event `{event}` has no property `{p}` in the schema"),
                    );
                }
            }
        }
        if func.needs_path() && path.is_empty() {
            self.err(ErrorKind::Arity, span, format!("`{0}` needs a property: `{0}({event}.property)`", func.name()));
            return None;
        }
        if matches!(func, AggFn::Count | AggFn::Exists) && !path.is_empty() {
            self.err(
                ErrorKind::Arity,
                span,
                format!("`{}` counts events: write `{}({event} where …)`", func.name(), func.name()),
            );
            return None;
        }
        if let Some(Window::Last(n, u)) = within {
            if n.checked_mul(time::unit_micros(*u)).is_none() {
                self.err(ErrorKind::NumberOutOfRange, span, "window length is too large");
            }
        }
        let filter = filter.map(|f| {
            self.event = Some(event.to_string());
            let n = self.logic_arg(f, "where");
            self.event = None;
            n
        });
        let prop_ty = {
            self.event = None;
            self.event_field_ty(event, path)
        };
        let ty = match func {
            AggFn::Count | AggFn::DistinctCount => Ty::Int,
            AggFn::Exists => Ty::Bool,
            AggFn::Sum => match prop_ty {
                Ty::Int | Ty::Float | Ty::Decimal | Ty::Money => prop_ty,
                Ty::Any | Ty::Number => Ty::Any,
                other => {
                    self.err(ErrorKind::TypeMismatch, span, format!("cannot sum {} values", other.name()));
                    Ty::Any
                }
            },
            AggFn::Avg => match prop_ty {
                Ty::Int | Ty::Float => Ty::Float,
                Ty::Decimal | Ty::Money => prop_ty,
                Ty::Any | Ty::Number => Ty::Any,
                other => {
                    self.err(ErrorKind::TypeMismatch, span, format!("cannot average {} values", other.name()));
                    Ty::Any
                }
            },
            AggFn::Min | AggFn::Max => prop_ty,
            AggFn::First | AggFn::Last => Ty::Event,
        };
        let money_zero = prop_ty == Ty::Money;
        let event_slot = self.layout.event_slot(event, self.grow).unwrap_or(u32::MAX);
        let agg = Agg {
            func,
            event: event.into(),
            event_slot,
            path: path.to_vec(),
            filter,
            within: within.cloned(),
            money_zero,
            prop_ty,
        };
        Some((agg, ty))
    }
}

/// Result type of arithmetic, or `None` when the operands never combine.
fn arith_ty(op: ArithOp, a: Ty, b: Ty) -> Option<Ty> {
    use Ty::*;
    if a.is_open() || b.is_open() {
        return Some(Any);
    }
    if a.is_numeric() && b.is_numeric() {
        if a == Number || b == Number {
            return Some(Any);
        }
        return Some(match (op, a, b) {
            (_, Float, _) | (_, _, Float) => Float,
            (ArithOp::Div, Int, Int) => Float,
            (_, Int, Int) => Int,
            _ => Decimal,
        });
    }
    match (op, a, b) {
        (ArithOp::Add | ArithOp::Sub, Money, Money) => Some(Money),
        (ArithOp::Div, Money, Money) => Some(Decimal),
        (ArithOp::Mul | ArithOp::Div, Money, n) if n.is_numeric() => Some(Money),
        (ArithOp::Mul, n, Money) if n.is_numeric() => Some(Money),
        (ArithOp::Add | ArithOp::Sub, Timestamp, Duration) => Some(Timestamp),
        (ArithOp::Add, Duration, Timestamp) => Some(Timestamp),
        (ArithOp::Sub, Timestamp, Timestamp) => Some(Duration),
        (ArithOp::Add | ArithOp::Sub, Duration, Duration) => Some(Duration),
        (ArithOp::Mul, Duration, Int) | (ArithOp::Mul, Int, Duration) => Some(Duration),
        _ => None,
    }
}

/// The static type of a constant.
pub fn value_ty(v: &Value) -> Ty {
    match v {
        Value::Null => Ty::Null,
        Value::Bool(_) => Ty::Bool,
        Value::Int(_) => Ty::Int,
        Value::Float(_) => Ty::Float,
        Value::Decimal(_) => Ty::Decimal,
        Value::Str(_) => Ty::Str,
        Value::Timestamp(_) => Ty::Timestamp,
        Value::Date(_) => Ty::Date,
        Value::Duration(_) => Ty::Duration,
        Value::Money(_) => Ty::Money,
        Value::Semver(_) => Ty::Semver,
        Value::List(_) => Ty::List,
        Value::Object(_) => Ty::Object,
    }
}

const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
    ("lower", Func::Lower, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("fold", Func::Fold, 1, 1),
    ("length", Func::Length, 1, 1),
    ("abs", Func::Abs, 1, 1),
    ("round", Func::Round, 1, 2),
    ("floor", Func::Floor, 1, 1),
    ("ceil", Func::Ceil, 1, 1),
    ("days_since", Func::DaysSince, 1, 1),
    ("day_of_week", Func::DayOfWeek, 1, 1),
    ("hour", Func::Hour, 1, 1),
    ("date", Func::Date, 1, 1),
    ("timestamp", Func::Timestamp, 1, 1),
    ("start_of_day", Func::StartOfDay, 1, 1),
    ("start_of_week", Func::StartOfWeek, 1, 1),
    ("start_of_month", Func::StartOfMonth, 1, 1),
    ("semver", Func::Semver, 1, 1),
    ("cosine_similarity", Func::CosineSimilarity, 2, 2),
    ("euclidean_distance", Func::EuclideanDistance, 2, 2),
    ("coalesce", Func::Coalesce, 1, usize::MAX),
];

fn func_signature(name: &str) -> Option<(Func, usize, usize)> {
    FUNCTIONS.iter().find(|(n, ..)| *n == name).map(|&(_, f, min, max)| (f, min, max))
}

/// Compiles a `matches` pattern under the size limits (SPEC §7).
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, (ErrorKind, String)> {
    if pattern.len() > limits::MAX_REGEX_BYTES {
        return Err((
            ErrorKind::RegexTooLarge,
            format!("regex is {} bytes; the limit is {}", pattern.len(), limits::MAX_REGEX_BYTES),
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(limits::MAX_REGEX_COMPILED)
        .dfa_size_limit(limits::MAX_REGEX_COMPILED)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                (ErrorKind::RegexTooLarge, "regex compiles to more than 1 MiB; simplify it".to_string())
            }
            regex::Error::Syntax(msg) => {
                let unsupported = msg.contains("look-around") || msg.contains("backreferences");
                let first = msg.lines().last().unwrap_or("").trim().trim_start_matches("error: ").to_string();
                if unsupported {
                    (
                        ErrorKind::RegexUnsupported,
                        format!("{first} (segcore regexes run in linear time: no look-around or back-references)"),
                    )
                } else {
                    (ErrorKind::RegexInvalid, format!("invalid regex: {first}"))
                }
            }
            other => (ErrorKind::RegexInvalid, format!("invalid regex: {other}")),
        })
}

/// ` (did you mean `x`?)` when a known name is close.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let best = known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < name.len().max(1))
        .min();
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
