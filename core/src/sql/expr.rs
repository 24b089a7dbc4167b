//! Typed IR → one SQL expression per segment rule.
//!
//! Every construct is translated to SQL with the interpreter's exact meaning, or refused with a
//! `sql_unsupported` diagnostic naming the construct and the dialect. There is no third option:
//! a query that silently answers differently is the failure this project exists to prevent.
//! Values that the rule fixes at generation time (`as_of`, window bounds, FX quotes, literals
//! read in the segment's zone) are computed here by the core and written as literals.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use super::dialect::Dialect;
use crate::ast::{AggFn, PathSeg};
use crate::context::FxRates;
use crate::error::{Diagnostic, ErrorKind, Span};
use crate::ir::{Agg, ArithOp, CmpOp, Func, Kind, Node, StrOp, Ty};
use crate::segment::Segment;
use crate::semver::{PreId, Version};
use crate::time;
use crate::value::{Currency, Value};

/// Largest SQL text of one rule expression node (see `Gen::expr`).
const MAX_EXPR_SQL_BYTES: usize = 256 << 10;

/// A translated expression: SQL text and its segcore type. Money is two expressions (amount,
/// currency).
#[derive(Debug, Clone)]
pub(crate) struct Sx {
    pub sql: String,
    pub ty: Ty,
    /// For money: the currency expression.
    pub currency: Option<String>,
    /// A SemVer literal, compared by generating its precedence rules against the other side.
    pub version: Option<Box<Version>>,
}

impl Sx {
    fn new(sql: impl Into<String>, ty: Ty) -> Sx {
        Sx { sql: sql.into(), ty, currency: None, version: None }
    }
    fn money(amount: impl Into<String>, currency: impl Into<String>) -> Sx {
        Sx { currency: Some(currency.into()), ..Sx::new(amount, Ty::Money) }
    }
    fn null() -> Sx {
        Sx::new("NULL", Ty::Null)
    }
}

/// What every segment's translation adds to the shared parts of the query: the input columns
/// read, and the per-entity event aggregates (one pass over the events table for all segments).
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub profile: BTreeMap<String, Ty>,
    pub event: BTreeMap<String, Ty>,
    /// `(column, aggregate expression over alias e)` of the `event_aggregates` CTE.
    pub aggregates: Vec<(String, String)>,
    /// Event names the aggregates read.
    pub aggregated_events: std::collections::BTreeSet<String>,
    /// The earliest window start of any pre-aggregate; `None` once one has no window.
    pub earliest_event: Option<i64>,
    pub unbounded_events: bool,
}

type Res<T> = Result<T, ()>;

/// Translates one segment's rule. Errors are collected in `errors` (all of them, not just the
/// first), so a user sees every construct to change at once.
pub(crate) struct Gen<'a> {
    pub d: Dialect,
    pub seg: &'a Segment,
    pub as_of: i64,
    pub fx: &'a FxRates,
    pub columns: &'a mut Columns,
    pub errors: Vec<Diagnostic>,
    /// `in_segment` ids referenced, each read as `ref_<id>.member`.
    pub refs: Vec<String>,
    pub events_table: &'a str,
    tz: TimeZone,
    zone: String,
    base: Currency,
    /// Inside an aggregate's `where`: the event alias.
    in_event: bool,
    /// Whether the rule reads the shared `event_aggregates` CTE (alias `a`).
    pub uses_aggregates: bool,
}

impl<'a> Gen<'a> {
    pub fn new(
        d: Dialect,
        seg: &'a Segment,
        as_of: i64,
        fx: &'a FxRates,
        columns: &'a mut Columns,
        events_table: &'a str,
    ) -> Gen<'a> {
        Gen {
            d,
            seg,
            as_of,
            fx,
            columns,
            errors: Vec::new(),
            refs: Vec::new(),
            events_table,
            tz: seg.timezone().clone(),
            zone: seg.definition().timezone.clone(),
            base: seg.currency(),
            in_event: false,
            uses_aggregates: false,
        }
    }

    fn unsupported<T>(&mut self, span: Span, what: &str) -> Res<T> {
        let msg = format!("{what} cannot be expressed exactly in {} SQL", self.d.name());
        self.errors.push(self.seg.diagnostic_at(ErrorKind::SqlUnsupported, span, msg));
        Err(())
    }

    /// The rule as a SQL boolean expression (NULL = UNKNOWN).
    pub fn rule(&mut self, n: &Node) -> Res<String> {
        let x = self.expr(n)?;
        match x.ty {
            Ty::Bool => Ok(x.sql),
            Ty::Null => Ok("CAST(NULL AS BOOLEAN)".into()),
            // A non-boolean rule value is UNKNOWN (SPEC §16); with declared types it cannot occur.
            other => self.unsupported(n.span, &format!("a rule of type {}", other.name())),
        }
    }

    /// A node's SQL, held to a size budget: overflow checks repeat their operand (Snowflake writes
    /// it three times), so text can grow geometrically with nesting — 16 nested minus signs asked
    /// for a 1 GB string (found by fuzzing). Each node is checked as it is built, so nothing larger
    /// than a few times the budget is ever allocated.
    fn expr(&mut self, n: &Node) -> Res<Sx> {
        let x = self.expr_unchecked(n)?;
        if x.sql.len() > MAX_EXPR_SQL_BYTES {
            return self.unsupported(
                n.span,
                &format!(
                    "an expression this deeply nested (its SQL would exceed {} KiB: overflow checks repeat their operands)",
                    MAX_EXPR_SQL_BYTES >> 10
                ),
            );
        }
        Ok(x)
    }

    fn expr_unchecked(&mut self, n: &Node) -> Res<Sx> {
        let d = self.d;
        match &n.kind {
            Kind::Const(v) => self.constant(v, n.span),
            Kind::Attr { name, rest, .. } => {
                if !rest.is_empty() {
                    return self.unsupported(n.span, &format!("the nested path `{name}{}`", path_text(rest)));
                }
                self.column(name, n.ty, n.span, false, "p")
            }
            Kind::Prop(path) => {
                let name = match path.as_slice() {
                    [PathSeg::Key(k)] => k.clone(),
                    _ => {
                        return self.unsupported(
                            n.span,
                            &format!("the nested property path `{}`", path_text(path).trim_start_matches('.')),
                        )
                    }
                };
                self.column(&name, n.ty, n.span, true, "e")
            }
            Kind::EntityId => Ok(Sx::new(format!("p.{}", d.ident("id")), Ty::Str)),
            Kind::AsOf => Ok(Sx::new(self.ts_literal(self.as_of), Ty::Timestamp)),
            Kind::EventAt => {
                if !self.in_event {
                    return Ok(Sx::null());
                }
                Ok(Sx::new(format!("e.{}", d.ident("at")), Ty::Timestamp))
            }
            Kind::Not(x) => {
                let x = self.boolean(x)?;
                Ok(Sx::new(format!("(NOT {x})"), Ty::Bool))
            }
            Kind::And(xs) | Kind::Or(xs) => {
                let and = matches!(n.kind, Kind::And(_));
                let mut parts = Vec::new();
                let mut failed = false;
                for x in xs {
                    match self.boolean(x) {
                        Ok(s) => parts.push((s, may_raise(x))),
                        Err(()) => failed = true,
                    }
                }
                if failed {
                    return Err(());
                }
                Ok(Sx::new(logic_chain(and, parts), Ty::Bool))
            }
            Kind::Cmp(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                Ok(Sx::new(self.compare(*op, &a, &b, n.span)?, Ty::Bool))
            }
            Kind::In { x, list, negated } => {
                let xv = self.expr(x)?;
                let Kind::Const(Value::List(items)) = &list.kind else {
                    return self.unsupported(list.span, "`in` over a list that is not a literal");
                };
                if items.is_empty() {
                    return Ok(Sx::new(if *negated { "TRUE" } else { "FALSE" }, Ty::Bool));
                }
                let mut eqs = Vec::new();
                for item in items {
                    let iv = self.constant(item, list.span)?;
                    // Money comparisons may raise (FX): left to right, stopping at the first match.
                    let raises = xv.ty == Ty::Money || iv.ty == Ty::Money;
                    eqs.push((self.compare(CmpOp::Eq, &xv, &iv, list.span)?, raises));
                }
                // A null x is UNKNOWN before any comparison runs (SPEC §6).
                let any = format!("(CASE WHEN {} IS NULL THEN NULL ELSE {} END)", xv.sql, logic_chain(false, eqs));
                Ok(Sx::new(if *negated { format!("(NOT {any})") } else { any }, Ty::Bool))
            }
            Kind::InStrings { x, set, negated } => {
                let xv = self.expr(x)?;
                if !matches!(xv.ty, Ty::Str | Ty::Null) {
                    return self.unsupported(x.span, &format!("`in` over strings with a {} operand", xv.ty.name()));
                }
                if set.is_empty() {
                    return Ok(Sx::new(if *negated { "TRUE" } else { "FALSE" }, Ty::Bool));
                }
                let items: Vec<String> = set.iter().map(|s| self.d.string(s)).collect();
                let kw = if *negated { "NOT IN" } else { "IN" };
                Ok(Sx::new(format!("({} {kw} ({}))", xv.sql, items.join(", ")), Ty::Bool))
            }
            Kind::Between { x, lo, hi, negated } => {
                let (xv, lov, hiv) = (self.expr(x)?, self.expr(lo)?, self.expr(hi)?);
                let a = self.compare(CmpOp::Le, &lov, &xv, n.span)?;
                let b = self.compare(CmpOp::Le, &xv, &hiv, n.span)?;
                let both = if [&xv, &lov, &hiv].iter().any(|v| v.ty == Ty::Money) {
                    // Both comparisons run, as in the interpreter, so a missing FX quote in either
                    // raises whatever the other gives.
                    format!("(CASE WHEN ({a}) IS NULL THEN (CASE WHEN ({b}) IS FALSE THEN FALSE END) WHEN ({a}) THEN ({b}) ELSE (CASE WHEN ({b}) IS NULL THEN FALSE ELSE FALSE END) END)")
                } else {
                    format!("({a} AND {b})")
                };
                Ok(Sx::new(if *negated { format!("(NOT {both})") } else { both }, Ty::Bool))
            }
            Kind::IsNull { x, negated } => {
                let xv = self.expr(x)?;
                let test = if *negated { "IS NOT NULL" } else { "IS NULL" };
                let sql = match (xv.ty, &xv.version) {
                    // Version text that does not parse is a null version (SPEC §15).
                    (Ty::Semver, None) => {
                        let null = format!("({} IS NULL OR NOT ({}))", xv.sql, self.semver_valid(&xv.sql));
                        if *negated {
                            format!("(NOT {null})")
                        } else {
                            null
                        }
                    }
                    _ => format!("({} {test})", xv.sql),
                };
                Ok(Sx::new(sql, Ty::Bool))
            }
            Kind::StrPred { op, s, t, negated } => {
                let (sv, tv) = (self.expr(s)?, self.expr(t)?);
                if !matches!(sv.ty, Ty::Str | Ty::Null) || !matches!(tv.ty, Ty::Str | Ty::Null) {
                    return self.unsupported(n.span, "a string predicate over a non-string operand");
                }
                let sql = match op {
                    StrOp::Contains => d.contains(&sv.sql, &tv.sql),
                    StrOp::StartsWith => d.starts_with(&sv.sql, &tv.sql),
                    StrOp::EndsWith => d.ends_with(&sv.sql, &tv.sql),
                };
                Ok(Sx::new(if *negated { format!("(NOT {sql})") } else { sql }, Ty::Bool))
            }
            Kind::Matches { x, pattern, negated, .. } => {
                let xv = self.expr(x)?;
                if !matches!(xv.ty, Ty::Str | Ty::Null) {
                    return self.unsupported(x.span, "`matches` over a non-string operand");
                }
                match super::regex::translate(pattern, d) {
                    Ok(pattern) => {
                        let sql = d.regex_search(&xv.sql, &pattern);
                        Ok(Sx::new(if *negated { format!("(NOT {sql})") } else { sql }, Ty::Bool))
                    }
                    Err(why) => self.unsupported(n.span, &format!("`matches` with {why}")),
                }
            }
            Kind::Within { x, window } => {
                let xv = self.expr(x)?;
                let t = match xv.ty {
                    Ty::Timestamp => xv.sql,
                    Ty::Null => return Ok(Sx::new("CAST(NULL AS BOOLEAN)", Ty::Bool)),
                    Ty::Date => self.start_of_date(&xv.sql),
                    other => return self.unsupported(x.span, &format!("`within` over a {} value", other.name())),
                };
                let Some(bounds) = time::window_bounds(window, self.as_of, &self.tz) else {
                    return self.unsupported(n.span, "a window outside the representable time range");
                };
                Ok(Sx::new(self.in_window(&t, bounds), Ty::Bool))
            }
            Kind::Arith(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                self.arith(*op, a, b, n.span)
            }
            Kind::Neg(x) => {
                let xv = self.expr(x)?;
                match xv.ty {
                    Ty::Int | Ty::Duration => Ok(Sx::new(d.int_unary("-", &xv.sql), xv.ty)),
                    Ty::Float | Ty::Decimal => Ok(Sx::new(format!("(- {})", xv.sql), xv.ty)),
                    Ty::Money => Ok(Sx { sql: format!("(- {})", xv.sql), ..xv }),
                    Ty::Null => Ok(Sx::null()),
                    other => self.unsupported(n.span, &format!("negating a {} value", other.name())),
                }
            }
            Kind::Call(f, args) => self.call(*f, args, n),
            Kind::Bucket { x, salt } => {
                let xv = self.expr(x)?;
                let key = match xv.ty {
                    Ty::Str => xv.sql,
                    Ty::Int => d.int_to_string(&xv.sql),
                    Ty::Null => return Ok(Sx::null()),
                    other => return self.unsupported(x.span, &format!("`bucket` of a {} value", other.name())),
                };
                let input = format!("{} || {key}", d.string(&format!("{salt}:")));
                let h = d.sha256_u32(&format!("({input})"));
                // (h mod 10000) / 100 as an exact two-digit decimal.
                let dec = d.column_type(Ty::Decimal).unwrap_or("DECIMAL(38,18)");
                // `* 0.01`, not `/ 100`: DuckDB divides decimals in DOUBLE.
                let cent = decimal_literal(d, Decimal::new(1, 2));
                Ok(Sx::new(format!("(CAST(MOD({h}, 10000) AS {dec}) * {cent})"), Ty::Decimal))
            }
            Kind::Agg(agg) => self.aggregate(agg, None, n.span, n.ty),
            Kind::EventGet { agg, path } => self.aggregate(agg, Some(path), n.span, n.ty),
            Kind::InSegment(id) => {
                if !self.refs.iter().any(|r| r == &**id) {
                    self.refs.push(id.to_string());
                }
                // Membership is TRUE/FALSE, never UNKNOWN (SPEC §12).
                Ok(Sx::new(format!("COALESCE({}.value, FALSE)", d.ident(&format!("ref_{id}"))), Ty::Bool))
            }
            Kind::Coerce(x) => {
                let xv = self.expr(x)?;
                match (n.ty, xv.ty) {
                    (to, from) if to == from => Ok(xv),
                    (_, Ty::Null) => Ok(Sx::null()),
                    (Ty::Decimal, Ty::Int) => Ok(Sx::new(d.cast(&xv.sql, Ty::Decimal), Ty::Decimal)),
                    (Ty::Semver, Ty::Str) => Ok(Sx::new(xv.sql, Ty::Semver)),
                    (Ty::Timestamp, Ty::Date) => Ok(Sx::new(self.start_of_date(&xv.sql), Ty::Timestamp)),
                    (to, from) => {
                        self.unsupported(n.span, &format!("reading a {} value as {}", from.name(), to.name()))
                    }
                }
            }
        }
    }

    /// A boolean operand.
    fn boolean(&mut self, n: &Node) -> Res<String> {
        let x = self.expr(n)?;
        match x.ty {
            Ty::Bool => Ok(x.sql),
            Ty::Null => Ok("CAST(NULL AS BOOLEAN)".into()),
            other => self.unsupported(n.span, &format!("a {} value used as a condition", other.name())),
        }
    }

    fn column(&mut self, name: &str, ty: Ty, span: Span, event: bool, alias: &str) -> Res<Sx> {
        let what = if event { "event property" } else { "attribute" };
        let cols = if event { &mut self.columns.event } else { &mut self.columns.profile };
        let check = |cols: &mut BTreeMap<String, Ty>, col: &str, ty: Ty| -> Result<(), Ty> {
            match cols.get(col) {
                Some(&t) if t != ty => Err(t),
                _ => {
                    cols.insert(col.to_string(), ty);
                    Ok(())
                }
            }
        };
        match ty {
            Ty::Semver => {
                // Stored as text; read as a version where compared (SPEC §15).
                if let Err(prev) = check(cols, name, Ty::Str) {
                    let msg = format!("the {what} `{name}` read both as {} and as semver", prev.name());
                    return self.unsupported(span, &msg);
                }
                Ok(Sx::new(format!("{alias}.{}", self.d.ident(name)), Ty::Semver))
            }
            Ty::Bool | Ty::Int | Ty::Float | Ty::Decimal | Ty::Str | Ty::Timestamp | Ty::Date | Ty::Duration => {
                if let Err(prev) = check(cols, name, ty) {
                    let msg = format!("the {what} `{name}` read both as {} and as {}", prev.name(), ty.name());
                    return self.unsupported(span, &msg);
                }
                Ok(Sx::new(format!("{alias}.{}", self.d.ident(name)), ty))
            }
            Ty::Money => {
                let (amount, currency) = (format!("{name}_amount"), format!("{name}_currency"));
                let ok = check(cols, &amount, Ty::Decimal).is_ok() && check(cols, &currency, Ty::Str).is_ok();
                if !ok {
                    return self.unsupported(span, &format!("the money {what} `{name}` (its columns clash)"));
                }
                Ok(Sx::money(
                    format!("{alias}.{}", self.d.ident(&amount)),
                    format!("{alias}.{}", self.d.ident(&currency)),
                ))
            }
            Ty::Any | Ty::Null => self.unsupported(
                span,
                &format!("the {what} `{name}` has no declared type (SQL columns need a schema) and"),
            ),
            other => self.unsupported(span, &format!("the {} {what} `{name}`", other.name())),
        }
    }

    pub fn ts_literal(&self, micros: i64) -> String {
        self.d.instant(micros)
    }

    fn constant(&mut self, v: &Value, span: Span) -> Res<Sx> {
        let d = self.d;
        Ok(match v {
            Value::Null => Sx::null(),
            Value::Bool(b) => Sx::new(if *b { "TRUE" } else { "FALSE" }, Ty::Bool),
            Value::Int(i) => Sx::new(int_literal(d, *i), Ty::Int),
            Value::Float(f) => {
                Sx::new(format!("CAST({} AS {})", crate::value::format_float(*f), float_ty(d)), Ty::Float)
            }
            Value::Decimal(x) => Sx::new(decimal_literal(d, *x), Ty::Decimal),
            Value::Str(s) => {
                if s.contains('\0') {
                    return self.unsupported(span, "a string with a NUL character");
                }
                Sx::new(d.string(s), Ty::Str)
            }
            Value::Timestamp(t) => Sx::new(self.ts_literal(*t), Ty::Timestamp),
            Value::Date(x) => Sx::new(d.date(&x.to_string()), Ty::Date),
            Value::Duration(us) => Sx::new(int_literal(d, *us), Ty::Duration),
            Value::Money(m) => Sx::money(decimal_literal(d, m.amount), d.string(m.currency.as_str())),
            Value::Semver(v) => Sx { version: Some(v.clone()), ..Sx::new(d.string(&v.to_string()), Ty::Semver) },
            other => return self.unsupported(span, &format!("a {} literal", other.type_name())),
        })
    }

    /// `t` inside window `bounds`, never after `as_of` (SPEC §9).
    fn in_window(&self, t: &str, (start, end, inclusive): (i64, i64, bool)) -> String {
        let lo = self.ts_literal(start);
        if inclusive || end > self.as_of {
            let hi = self.ts_literal(end.min(self.as_of));
            format!("({t} >= {lo} AND {t} <= {hi})")
        } else {
            let hi = self.ts_literal(end);
            format!("({t} >= {lo} AND {t} < {hi})")
        }
    }

    /// The instant local date `day` starts in the segment's zone (SPEC §9). Engines resolve a
    /// skipped or repeated local midnight by their own rules (PostgreSQL takes the later of two
    /// midnights, SPEC §9 the earlier), so the dates where midnight is not a single instant are
    /// listed with the instant the core computes; every other date converts the same everywhere.
    fn start_of_date(&self, day: &str) -> String {
        let engine = self.d.start_of_local_date(day, &self.zone);
        let exceptions = time::irregular_midnights(&self.tz);
        if exceptions.is_empty() {
            return engine;
        }
        let mut arms = String::new();
        for (date, instant) in exceptions {
            arms.push_str(&format!(" WHEN {} THEN {}", self.d.date(&date.to_string()), self.ts_literal(instant)));
        }
        format!("(CASE {day}{arms} ELSE {engine} END)")
    }

    /// −1, 0 or 1: SemVer precedence of the version text `x` against literal `v` (SPEC §15);
    /// NULL when `x` is not a strict SemVer 2.0.0 version.
    fn semver_cmp(&self, x: &str, v: &Version) -> String {
        let d = self.d;
        let wide = d.wide_int();
        // Numbers beyond u64 are not versions (core) or compare as text (pre-release ids).
        let release = d.split_part(x, "+", 1);
        let core = d.split_part(&release, "-", 1);
        let part = |i: usize| d.split_part(&core, ".", i);
        let pre = d.after_first(&release, '-');
        let sign = |a: &str, b: &str| format!("WHEN {a} < {b} THEN -1 WHEN {a} > {b} THEN 1");
        let mut core_cmp = String::from("CASE");
        for (i, n) in [v.major, v.minor, v.patch].iter().enumerate() {
            core_cmp.push(' ');
            core_cmp.push_str(&sign(&format!("CAST({} AS {wide})", part(i + 1)), &n.to_string()));
        }
        core_cmp.push_str(" ELSE 0 END");
        let pre_cmp = if v.pre.is_empty() {
            // A release is above any pre-release of the same version.
            format!("CASE WHEN {pre} IS NULL THEN 0 ELSE -1 END")
        } else {
            let mut arms = format!("CASE WHEN {pre} IS NULL THEN 1");
            for (i, id) in v.pre.iter().enumerate() {
                let xi = d.split_part(&pre, ".", i + 1);
                let numeric = format!("({} AND {})", d.full_match(&xi, "[0-9]+"), d.fits_u64(&xi));
                // Fewer identifiers, all equal so far: lower precedence.
                arms.push_str(&format!(" WHEN {xi} = '' THEN -1"));
                match id {
                    PreId::Num(n) => arms.push_str(&format!(
                        " WHEN NOT {numeric} THEN 1 WHEN CAST({xi} AS {wide}) <> {n} THEN (CASE {} END)",
                        sign(&format!("CAST({xi} AS {wide})"), &n.to_string())
                    )),
                    PreId::Alpha(t) => {
                        let lit = d.string(t);
                        arms.push_str(&format!(
                            " WHEN {numeric} THEN -1 WHEN {xi} <> {lit} THEN (CASE WHEN {} THEN -1 ELSE 1 END)",
                            d.string_order(&xi, "<", &lit)
                        ));
                    }
                }
            }
            let more = d.split_part(&pre, ".", v.pre.len() + 1);
            arms.push_str(&format!(" WHEN {more} <> '' THEN 1 ELSE 0 END"));
            arms
        };
        let valid = self.semver_valid(x);
        format!(
            "(CASE WHEN {x} IS NULL OR NOT ({valid}) THEN NULL ELSE COALESCE(NULLIF({core_cmp}, 0), {pre_cmp}) END)"
        )
    }

    /// Whether text `x` is a strict SemVer 2.0.0 version whose numbers fit u64 (SPEC §15).
    fn semver_valid(&self, x: &str) -> String {
        let d = self.d;
        const ID: &str = "(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)";
        const NUM: &str = "(0|[1-9][0-9]*)";
        let re = format!("{NUM}[.]{NUM}[.]{NUM}(-{ID}([.]{ID})*)?([+][0-9A-Za-z-]+([.][0-9A-Za-z-]+)*)?");
        let core = d.split_part(&d.split_part(x, "+", 1), "-", 1);
        let parts: Vec<String> = (1..=3).map(|i| d.fits_u64(&d.split_part(&core, ".", i))).collect();
        format!("{} AND {}", d.full_match(x, &re), parts.join(" AND "))
    }

    fn compare(&mut self, op: CmpOp, a: &Sx, b: &Sx, span: Span) -> Res<String> {
        let d = self.d;
        let o = cmp_sql(op);
        use Ty::*;
        Ok(match (a.ty, b.ty) {
            (Null, _) | (_, Null) => "CAST(NULL AS BOOLEAN)".into(),
            (Int, Int) | (Float, Float) | (Decimal, Decimal) | (Int, Decimal) | (Decimal, Int) => {
                format!("({} {o} {})", a.sql, b.sql)
            }
            (Timestamp, Timestamp) | (Date, Date) | (Duration, Duration) => format!("({} {o} {})", a.sql, b.sql),
            (Str, Str) if matches!(op, CmpOp::Eq | CmpOp::Ne) => format!("({} {o} {})", a.sql, b.sql),
            (Str, Str) => format!("({})", d.string_order(&a.sql, o, &b.sql)),
            (Bool, Bool) if matches!(op, CmpOp::Eq | CmpOp::Ne) => format!("({} {o} {})", a.sql, b.sql),
            // Ordering booleans is UNKNOWN at run time (SPEC §6).
            (Bool, Bool) => "CAST(NULL AS BOOLEAN)".into(),
            (Int, Float) => int_float(d, &a.sql, o, &b.sql),
            (Float, Int) => int_float(d, &b.sql, flip(o), &a.sql),
            // A decimal meets a float as its nearest f64, as SQL casts do.
            (Decimal, Float) => format!("({} {o} {})", d.exact_to_double(&a.sql), b.sql),
            (Float, Decimal) => format!("({} {o} {})", a.sql, d.exact_to_double(&b.sql)),
            (Timestamp, Date) => {
                format!("({} {o} {})", a.sql, self.start_of_date(&b.sql))
            }
            (Date, Timestamp) => {
                format!("({} {o} {})", self.start_of_date(&a.sql), b.sql)
            }
            (Money, Money) => {
                let (ac, bc) = (a.currency.clone().unwrap_or_default(), b.currency.clone().unwrap_or_default());
                if ac == bc && ac.starts_with('\'') {
                    format!("({} {o} {})", a.sql, b.sql)
                } else {
                    let (ab, bb) = (self.to_base(a), self.to_base(b));
                    format!("(CASE WHEN {ac} = {bc} THEN {} {o} {} ELSE {ab} {o} {bb} END)", a.sql, b.sql)
                }
            }
            (Semver, Semver) => match (&a.version, &b.version) {
                (_, Some(v)) => format!("({} {o} 0)", self.semver_cmp(&a.sql, v)),
                (Some(v), None) => format!("({} {} 0)", self.semver_cmp(&b.sql, v), flip(o)),
                (None, None) => return self.unsupported(span, "comparing two versions that are not literals"),
            },
            (x, y) => return self.unsupported(span, &format!("comparing {} with {}", x.name(), y.name())),
        })
    }

    /// The amount of a money value in the segment's base currency (SPEC §10), failing the query
    /// with `fx_rate_missing` for a currency without a quote.
    fn to_base(&self, m: &Sx) -> String {
        let cur = m.currency.clone().unwrap_or_default();
        if cur == self.d.string(self.base.as_str()) {
            return m.sql.clone();
        }
        let (converted, _) = self.to_base_parts(m);
        // The raise must depend on the row, or PostgreSQL folds it while planning (a literal
        // currency is a constant): append an empty string cut from the entity id.
        let row = if self.in_event {
            format!("e.{}", self.d.ident("entity_id"))
        } else {
            format!("p.{}", self.d.ident("id"))
        };
        let raise = self.d.raise(&self.fx_message(), &format!("{cur} || substr({row}, 1, 0)"));
        format!(
            "(CASE WHEN {} IS NOT NULL AND {cur} IS NOT NULL AND ({converted}) IS NULL THEN {raise} ELSE {converted} END)",
            m.sql
        )
    }

    /// (amount in the base currency, NULL for an unquoted currency; the currency when it has no
    /// quote, else NULL). Raising is left to the caller, which decides when it runs.
    fn to_base_parts(&self, m: &Sx) -> (String, String) {
        let d = self.d;
        let cur = m.currency.clone().unwrap_or_default();
        let base = d.string(self.base.as_str());
        let mut arms = format!("WHEN {cur} = {base} THEN {}", m.sql);
        let mut quoted = vec![base];
        for (from, rate) in self.fx.quotes_to(self.base) {
            let code = d.string(from.as_str());
            arms.push_str(&format!(" WHEN {cur} = {code} THEN {} * {}", m.sql, decimal_literal(d, rate)));
            quoted.push(code);
        }
        let converted = format!("(CASE {arms} END)");
        let unquoted =
            format!("CASE WHEN {} IS NOT NULL AND {cur} NOT IN ({}) THEN {cur} END", m.sql, quoted.join(", "));
        (converted, unquoted)
    }

    fn fx_message(&self) -> String {
        format!("segcore fx_rate_missing: no FX rate to {} in the evaluation context for currency ", self.base.as_str())
    }

    fn arith(&mut self, op: ArithOp, a: Sx, b: Sx, span: Span) -> Res<Sx> {
        let d = self.d;
        let sym = match op {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        };
        use Ty::*;
        Ok(match (a.ty, b.ty, op) {
            (Null, _, _) | (_, Null, _) => Sx::null(),
            (Int, Int, ArithOp::Div) => {
                let x = d.cast(&a.sql, Float);
                let y = d.cast(&b.sql, Float);
                Sx::new(format!("({x} / NULLIF({y}, 0))"), Float)
            }
            // Cast back to 64 bits: engines may widen literal arithmetic, and SPEC §8 makes
            // overflow an error, not a wider result.
            (Int, Int, _) => Sx::new(d.int_op(&a.sql, sym, &b.sql), Int),
            (Float, Int | Float | Decimal, _) | (Int | Decimal, Float, _) if d == Dialect::Postgres => {
                return self.unsupported(
                    span,
                    "float arithmetic (PostgreSQL raises on overflow and underflow where SPEC §8 gives null or 0)",
                );
            }
            (Float, Int | Float | Decimal, _) | (Int | Decimal, Float, _) => {
                let x = if a.ty == Float { a.sql } else { d.exact_to_double(&a.sql) };
                let y = if b.ty == Float { b.sql } else { d.exact_to_double(&b.sql) };
                Sx::new(d.float_op(&x, sym, &y), Float)
            }
            (Int | Decimal, Int | Decimal, ArithOp::Add | ArithOp::Sub) => {
                Sx::new(format!("({} {sym} {})", a.sql, b.sql), Decimal)
            }
            (Int | Decimal, Int | Decimal, _) => {
                return self.unsupported(span, "decimal multiplication and division (28-digit rounding)")
            }
            (Timestamp, Duration, ArithOp::Add) | (Duration, Timestamp, ArithOp::Add) => {
                let (t, us) = if a.ty == Timestamp { (a.sql, b.sql) } else { (b.sql, a.sql) };
                Sx::new(d.add_micros(&t, &us), Timestamp)
            }
            (Timestamp, Duration, ArithOp::Sub) => Sx::new(d.add_micros(&a.sql, &format!("(- {})", b.sql)), Timestamp),
            (Timestamp, Timestamp, ArithOp::Sub) => {
                Sx::new(format!("({} - {})", d.epoch_micros(&a.sql), d.epoch_micros(&b.sql)), Duration)
            }
            (Duration, Duration, ArithOp::Add | ArithOp::Sub) => Sx::new(d.int_op(&a.sql, sym, &b.sql), Duration),
            (Duration, Int, ArithOp::Mul) | (Int, Duration, ArithOp::Mul) => {
                Sx::new(d.int_op(&a.sql, "*", &b.sql), Duration)
            }
            (Money, Money, ArithOp::Add | ArithOp::Sub) => {
                let (ac, bc) = (a.currency.clone().unwrap_or_default(), b.currency.clone().unwrap_or_default());
                let base = d.string(self.base.as_str());
                if ac == bc && ac.starts_with('\'') {
                    Sx::money(format!("({} {sym} {})", a.sql, b.sql), ac)
                } else {
                    let (ab, bb) = (self.to_base(&a), self.to_base(&b));
                    Sx::money(
                        format!("(CASE WHEN {ac} = {bc} THEN {} {sym} {} ELSE {ab} {sym} {bb} END)", a.sql, b.sql),
                        format!("(CASE WHEN {ac} = {bc} THEN {ac} ELSE {base} END)"),
                    )
                }
            }
            (Money, Int | Decimal, ArithOp::Mul) | (Int | Decimal, Money, ArithOp::Mul) => {
                return self.unsupported(span, "multiplying money (28-digit rounding)")
            }
            (x, y, _) => {
                return self.unsupported(span, &format!("`{sym}` between {} and {}", x.name(), y.name()));
            }
        })
    }

    fn call(&mut self, f: Func, args: &[Node], n: &Node) -> Res<Sx> {
        let d = self.d;
        if f == Func::Coalesce {
            let mut parts = Vec::new();
            let mut ty = Ty::Null;
            for a in args {
                let x = self.expr(a)?;
                if x.ty == Ty::Null {
                    continue;
                }
                if ty != Ty::Null && ty != x.ty || matches!(x.ty, Ty::Money | Ty::Semver) {
                    return self.unsupported(n.span, "`coalesce` over values of different types");
                }
                ty = x.ty;
                parts.push(x.sql);
            }
            return Ok(match parts.len() {
                0 => Sx::null(),
                _ => Sx::new(format!("COALESCE({})", parts.join(", ")), ty),
            });
        }
        let x = self.expr(&args[0])?;
        if x.ty == Ty::Null {
            return Ok(Sx::null());
        }
        let name = format!("{f:?}").to_lowercase();
        let bad = |g: &mut Gen, ty: Ty| g.unsupported(n.span, &format!("`{name}` of a {} value", ty.name()));
        let local = |g: &mut Gen, x: &Sx| -> Res<String> {
            match x.ty {
                Ty::Timestamp => Ok(g.d.local(&x.sql, &g.zone)),
                _ => Err(()),
            }
        };
        Ok(match f {
            Func::Length => match x.ty {
                Ty::Str => Sx::new(d.cast(&d.char_length(&x.sql), Ty::Int), Ty::Int),
                t => return bad(self, t),
            },
            Func::Fold => match x.ty {
                Ty::Str => {
                    if let Kind::Const(Value::Str(text)) = &args[0].kind {
                        // A literal folds once, here, with the same table.
                        return Ok(Sx::new(d.string(&crate::casefold::fold(text)), Ty::Str));
                    }
                    // ASCII text folds as `lower` does (A–Z only); anything else through the
                    // pinned Unicode table, one character to one character.
                    let (from, to): (String, String) = crate::casefold::pairs().unzip();
                    let table = format!("translate({}, {}, {})", x.sql, d.string(&from), d.string(&to));
                    let sql =
                        format!("(CASE WHEN {} THEN {} ELSE {table} END)", d.is_ascii(&x.sql), d.ascii_lower(&x.sql));
                    Sx::new(sql, Ty::Str)
                }
                t => return bad(self, t),
            },
            Func::Lower | Func::Upper => {
                return self.unsupported(n.span, &format!("`{name}` (Unicode full case mapping)"));
            }
            Func::Abs => match x.ty {
                Ty::Int => Sx::new(d.int_unary("abs", &x.sql), Ty::Int),
                Ty::Decimal | Ty::Float => Sx::new(format!("abs({})", x.sql), x.ty),
                t => return bad(self, t),
            },
            Func::Round | Func::Floor | Func::Ceil => match x.ty {
                Ty::Int => x,
                Ty::Decimal if f == Func::Round => {
                    let digits = match args.get(1).map(|a| &a.kind) {
                        Some(Kind::Const(Value::Int(k))) => (*k).clamp(0, 12),
                        _ => 0,
                    };
                    if d != Dialect::Postgres {
                        return self.unsupported(n.span, "`round` of a decimal (half away from zero)");
                    }
                    Sx::new(format!("round({}, {digits})", x.sql), Ty::Decimal)
                }
                Ty::Decimal | Ty::Float if f != Func::Round => {
                    let g = if f == Func::Floor { "floor" } else { "ceil" };
                    Sx::new(format!("{g}({})", x.sql), x.ty)
                }
                Ty::Float => return self.unsupported(n.span, "`round` of a float (through its shortest decimal)"),
                t => return bad(self, t),
            },
            Func::DaysSince => {
                let Ok(l) = local(self, &x) else { return bad(self, x.ty) };
                let Some(today) = time::local_date(self.as_of, &self.tz) else {
                    return self.unsupported(n.span, "`as_of` outside the calendar range");
                };
                let t = d.date(&today.to_string());
                Sx::new(d.cast(&d.date_diff(&t, &d.date_of_local(&l)), Ty::Int), Ty::Int)
            }
            Func::DayOfWeek => {
                let Ok(l) = local(self, &x) else { return bad(self, x.ty) };
                Sx::new(d.cast(&d.iso_day_of_week(&l), Ty::Int), Ty::Int)
            }
            Func::Hour => {
                let Ok(l) = local(self, &x) else { return bad(self, x.ty) };
                Sx::new(d.cast(&d.hour(&l), Ty::Int), Ty::Int)
            }
            Func::Date => match x.ty {
                Ty::Date => x,
                _ => {
                    let Ok(l) = local(self, &x) else { return bad(self, x.ty) };
                    Sx::new(d.date_of_local(&l), Ty::Date)
                }
            },
            Func::Timestamp => match x.ty {
                Ty::Timestamp => x,
                t => return bad(self, t),
            },
            Func::StartOfDay | Func::StartOfWeek | Func::StartOfMonth => {
                let Ok(l) = local(self, &x) else { return bad(self, x.ty) };
                let day = d.date_of_local(&l);
                let first = match f {
                    Func::StartOfDay => day,
                    Func::StartOfWeek => week_start(d, &day, &d.iso_day_of_week(&l)),
                    _ => month_start(d, &day),
                };
                Sx::new(self.start_of_date(&first), Ty::Timestamp)
            }
            Func::Semver => match x.ty {
                Ty::Str | Ty::Semver => Sx { ty: Ty::Semver, ..x },
                t => return bad(self, t),
            },
            Func::CosineSimilarity | Func::EuclideanDistance => {
                return self.unsupported(n.span, &format!("`{name}` (vectors)"));
            }
            Func::Coalesce => unreachable!("handled above"),
        })
    }

    /// An aggregate over the events table. Most become a column of the shared
    /// `event_aggregates` CTE (one GROUP BY pass, joined by entity); those that need a row
    /// (`first(e).p`) or whose filter may raise stay correlated subqueries, so they run only
    /// where the rule reaches them. Errors a pre-aggregate would raise eagerly (a missing FX
    /// quote, 64-bit overflow of a sum) are raised at the reference instead, lazily.
    fn aggregate(&mut self, agg: &Agg, get: Option<&Vec<PathSeg>>, span: Span, node_ty: Ty) -> Res<Sx> {
        let d = self.d;
        if self.in_event {
            return self.unsupported(span, "an aggregate inside an aggregate's `where`");
        }
        let mut conds = vec![format!("e.{} = {}", d.ident("name"), d.string(&agg.event))];
        let at = format!("e.{}", d.ident("at"));
        let earliest = match &agg.within {
            None => {
                conds.push(format!("{at} <= {}", self.ts_literal(self.as_of)));
                None
            }
            Some(w) => {
                let Some(bounds) = time::window_bounds(w, self.as_of, &self.tz) else {
                    return self.unsupported(span, "a window outside the representable time range");
                };
                conds.push(self.in_window(&at, bounds));
                Some(bounds.0)
            }
        };
        if let Some(filter) = &agg.filter {
            self.in_event = true;
            let f = self.boolean(filter);
            self.in_event = false;
            conds.push(format!("({}) IS TRUE", f?));
        }
        let cond = conds.join(" AND ");
        let correlated = agg.filter.as_ref().is_some_and(may_raise)
            || matches!((agg.func, get), (AggFn::First | AggFn::Last, Some(p)) if !is_at(p));
        // The property summed, averaged, … (a single key: events are flat rows).
        let prop = |g: &mut Gen, path: &[PathSeg], ty: Ty| -> Res<Sx> {
            match path {
                [PathSeg::Key(k)] if k == "at" && get.is_some() => Ok(Sx::new(at.clone(), Ty::Timestamp)),
                [PathSeg::Key(k)] => {
                    g.in_event = true;
                    let r = g.column(k, ty, span, true, "e");
                    g.in_event = false;
                    r
                }
                _ => g.unsupported(span, &format!("the property path `{}`", path_text(path).trim_start_matches('.'))),
            }
        };
        if correlated && agg.filter.as_ref().is_some_and(may_raise) && d != Dialect::Postgres {
            // Only PostgreSQL runs correlated subqueries lazily; the others decorrelate them
            // into joins that evaluate the filter for every event, raising where the
            // interpreter would not look.
            return self.unsupported(span, "an aggregate whose `where` may raise an error (it would run eagerly)");
        }
        if correlated {
            let from = format!(
                "FROM {} AS e WHERE e.{} = p.{} AND {cond}",
                self.events_table,
                d.ident("entity_id"),
                d.ident("id")
            );
            return Ok(match agg.func {
                AggFn::First | AggFn::Last if matches!(d, Dialect::BigQuery | Dialect::Snowflake) => {
                    return self.unsupported(span, "`first`/`last` of a property (a correlated subquery with LIMIT)");
                }
                AggFn::First | AggFn::Last => {
                    let dir = if agg.func == AggFn::First { "ASC" } else { "DESC" };
                    let order = format!("ORDER BY {at} {dir}, e.{} {dir} LIMIT 1", d.ident("seq"));
                    let value = match get {
                        None => Sx::new(at.clone(), Ty::Timestamp),
                        Some(path) => prop(self, path, node_ty)?,
                    };
                    if value.ty == Ty::Money {
                        return self.unsupported(span, "`first`/`last` of a money property");
                    }
                    Sx::new(format!("(SELECT {} {from} {order})", value.sql), value.ty)
                }
                AggFn::Count => Sx::new(format!("(SELECT count(*) {from})"), Ty::Int),
                AggFn::Exists => Sx::new(format!("EXISTS (SELECT 1 {from})"), Ty::Bool),
                _ => return self.unsupported(span, "an aggregate with a `where` that may raise an error"),
            });
        }
        self.columns.aggregated_events.insert(agg.event.to_string());
        match earliest {
            None => self.columns.unbounded_events = true,
            Some(t) => {
                self.columns.earliest_event = Some(self.columns.earliest_event.map_or(t, |e| e.min(t)));
            }
        }
        let when = |x: &str| format!("CASE WHEN {cond} THEN {x} END");
        Ok(match agg.func {
            AggFn::Count => {
                let c = self.pre_aggregate(format!("count({})", when("1")));
                Sx::new(format!("COALESCE({c}, 0)"), Ty::Int)
            }
            AggFn::Exists => {
                let c = self.pre_aggregate(format!("count({})", when("1")));
                Sx::new(format!("(COALESCE({c}, 0) > 0)"), Ty::Bool)
            }
            AggFn::First | AggFn::Last => {
                let f = if agg.func == AggFn::First { "min" } else { "max" };
                Sx::new(self.pre_aggregate(format!("{f}({})", when(&at))), Ty::Timestamp)
            }
            AggFn::Sum | AggFn::Avg | AggFn::Min | AggFn::Max | AggFn::DistinctCount => {
                let v = prop(self, &agg.path, agg.prop_ty)?;
                let name = format!("{:?}", agg.func).to_lowercase();
                match (agg.func, v.ty) {
                    (AggFn::Sum, Ty::Int) => {
                        // Summed wide (DuckDB HUGEINT, PostgreSQL numeric); 64-bit overflow is
                        // raised where the rule reads the sum.
                        let wide = format!("CAST({} AS {})", v.sql, d.wide_int());
                        let c = self.pre_aggregate(format!("sum({})", when(&wide)));
                        Sx::new(format!("COALESCE({}, 0)", d.cast(&c, Ty::Int)), Ty::Int)
                    }
                    (AggFn::Sum, Ty::Decimal) => {
                        let c = self.pre_aggregate(format!("sum({})", when(&v.sql)));
                        Sx::new(format!("COALESCE({c}, 0)"), Ty::Decimal)
                    }
                    (AggFn::Sum, Ty::Money) if agg.money_zero => {
                        let (converted, unquoted) = self.to_base_parts(&v);
                        let total = self.pre_aggregate(format!("sum({})", when(&converted)));
                        let missing = self.pre_aggregate(format!("min({})", when(&unquoted)));
                        let raise = d.raise(&self.fx_message(), &missing);
                        Sx::money(
                            format!("(CASE WHEN {missing} IS NOT NULL THEN {raise} ELSE COALESCE({total}, 0) END)"),
                            d.string(self.base.as_str()),
                        )
                    }
                    (AggFn::Avg, Ty::Int) => {
                        let fl = d.column_type(Ty::Float).unwrap_or("DOUBLE");
                        // (exact integer sum) / count, in f64: as the interpreter divides.
                        let sum = format!("sum({})", when(&format!("CAST({} AS {})", v.sql, d.wide_int())));
                        let s =
                            format!("CAST({} / NULLIF(count({}), 0) AS {fl})", d.exact_to_double(&sum), when(&v.sql));
                        Sx::new(self.pre_aggregate(s), Ty::Float)
                    }
                    // Floats too: the only tie SQL may break differently is -0.0 against 0.0, which
                    // are equal under every operator of the language.
                    (
                        AggFn::Min | AggFn::Max,
                        Ty::Int | Ty::Float | Ty::Decimal | Ty::Timestamp | Ty::Date | Ty::Duration,
                    ) => Sx::new(self.pre_aggregate(format!("{name}({})", when(&v.sql))), v.ty),
                    (AggFn::Min | AggFn::Max, Ty::Str) => {
                        let col = match d {
                            Dialect::Postgres => format!("{} COLLATE \"C\"", v.sql),
                            _ => v.sql.clone(),
                        };
                        Sx::new(self.pre_aggregate(format!("{name}({})", when(&col))), Ty::Str)
                    }
                    (AggFn::DistinctCount, Ty::Int | Ty::Str | Ty::Bool | Ty::Timestamp | Ty::Date | Ty::Duration) => {
                        let c = self.pre_aggregate(format!("count(DISTINCT {})", when(&v.sql)));
                        Sx::new(format!("COALESCE({c}, 0)"), Ty::Int)
                    }
                    (func, ty) => {
                        let what = format!("`{}` over a {} property", format!("{func:?}").to_lowercase(), ty.name());
                        return self.unsupported(span, &what);
                    }
                }
            }
        })
    }

    /// Adds a column to the shared `event_aggregates` CTE; returns the reference to it.
    fn pre_aggregate(&mut self, expr: String) -> String {
        if let Some((col, _)) = self.columns.aggregates.iter().find(|(_, e)| *e == expr) {
            return format!("a.{}", self.d.ident(col));
        }
        let col = format!("agg_{}", self.columns.aggregates.len() + 1);
        self.columns.aggregates.push((col.clone(), expr));
        self.uses_aggregates = true;
        format!("a.{}", self.d.ident(&col))
    }
}

fn is_at(path: &[PathSeg]) -> bool {
    matches!(path, [PathSeg::Key(k)] if k == "at")
}

/// Whether evaluating `n` can raise an error (overflow, missing FX quote): such operands of
/// `and`/`or` must not run once an earlier operand decided (SPEC §6).
fn may_raise(n: &Node) -> bool {
    let here = match &n.kind {
        Kind::Arith(..) | Kind::Neg(_) => true,
        Kind::Agg(a) => matches!(a.func, AggFn::Sum | AggFn::Avg) || a.filter.as_ref().is_some_and(may_raise),
        Kind::EventGet { agg, .. } => agg.filter.as_ref().is_some_and(may_raise),
        Kind::Cmp(_, a, b) => a.ty == Ty::Money || b.ty == Ty::Money,
        Kind::Call(Func::Abs, _) => true,
        _ => false,
    };
    here || n.children().into_iter().any(may_raise)
}

/// `a and b and …` (or `or`) with SQL's three-valued logic, which is SPEC §6's. Operands that
/// may raise are guarded by CASE so they run only when every earlier operand left the result
/// open, as the interpreter's left-to-right short circuit does.
fn logic_chain(and: bool, parts: Vec<(String, bool)>) -> String {
    let (kw, stop) = if and { ("AND", "FALSE") } else { ("OR", "TRUE") };
    // Folded from the right so each operand is written at most twice (the query stays linear
    // in the rule): `p1 kw rest` runs `rest` only when `p1` did not decide.
    let mut rest: Option<(String, bool)> = None;
    for (sql, raises) in parts.into_iter().rev() {
        rest = Some(match rest {
            None => (sql, raises),
            Some((tail, tail_raises)) if raises || tail_raises => {
                (format!("(CASE WHEN ({sql}) IS {stop} THEN {stop} ELSE (({sql}) {kw} {tail}) END)"), true)
            }
            Some((tail, tail_raises)) => (format!("{sql} {kw} {tail}"), tail_raises),
        });
    }
    match rest {
        Some((sql, _)) => format!("({sql})"),
        None => (if and { "TRUE" } else { "FALSE" }).to_string(),
    }
}

fn cmp_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn flip(op: &str) -> &'static str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        "=" => "=",
        _ => "<>",
    }
}

/// An int compared with a float exactly (SPEC §6: no rounding of large ints). When the int's
/// nearest double differs from the float, comparing doubles gives the exact answer; when equal,
/// the float is integral, and either 2^63 (above every int) or exactly a 64-bit int.
fn int_float(d: Dialect, i: &str, o: &str, f: &str) -> String {
    let fl = float_ty(d);
    let int = d.column_type(Ty::Int).unwrap_or("BIGINT");
    let above = if matches!(o, "<" | "<=" | "<>") { "TRUE" } else { "FALSE" };
    format!(
        "(CASE WHEN {i} IS NULL OR {f} IS NULL THEN NULL \
         WHEN CAST({i} AS {fl}) <> {f} THEN CAST({i} AS {fl}) {o} {f} \
         WHEN {f} >= CAST('9223372036854775808' AS {fl}) THEN {above} \
         ELSE {i} {o} CAST({f} AS {int}) END)"
    )
}

fn float_ty(d: Dialect) -> &'static str {
    d.column_type(Ty::Float).unwrap_or("DOUBLE")
}

fn int_literal(d: Dialect, i: i64) -> String {
    if i32::try_from(i).is_ok() {
        i.to_string()
    } else {
        format!("CAST({i} AS {})", d.column_type(Ty::Int).unwrap_or("BIGINT"))
    }
}

fn decimal_literal(d: Dialect, x: Decimal) -> String {
    let text = x.to_string();
    match d {
        // A bare `1.5` is FLOAT64 in BigQuery; spell the exact type.
        Dialect::BigQuery => format!("BIGNUMERIC '{text}'"),
        _ if text.starts_with('-') => format!("({text})"),
        _ => text,
    }
}

fn week_start(d: Dialect, day: &str, iso_dow: &str) -> String {
    match d {
        Dialect::DuckDb => format!("CAST({day} - CAST(({iso_dow} - 1) AS INTEGER) AS DATE)"),
        Dialect::Postgres => format!("({day} - CAST(({iso_dow} - 1) AS integer))"),
        Dialect::Spark => format!("date_sub({day}, CAST({iso_dow} - 1 AS INT))"),
        Dialect::BigQuery => format!("DATE_SUB({day}, INTERVAL ({iso_dow} - 1) DAY)"),
        Dialect::Snowflake => format!("DATEADD(day, -({iso_dow} - 1), {day})"),
    }
}

fn month_start(d: Dialect, day: &str) -> String {
    match d {
        Dialect::Postgres => format!("CAST(date_trunc('month', {day}) AS date)"),
        Dialect::BigQuery => format!("DATE_TRUNC({day}, MONTH)"),
        Dialect::Spark => format!("trunc({day}, 'MM')"),
        _ => format!("CAST(date_trunc('month', {day}) AS DATE)"),
    }
}

fn path_text(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                s.push('.');
                s.push_str(k)
            }
            PathSeg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}
