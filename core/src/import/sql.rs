//! SQL `WHERE` clauses (SPEC §29.5): a query over a profiles table and an events table, as DuckDB
//! 2.0 or PostgreSQL 15 runs it at `as_of`, becomes a segcore rule with the same three-valued
//! outcome. SQL is Kleene logic like segcore (§6), so the translation is structural: each node
//! maps to one segcore expression of a known type, or is refused where the two disagree.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, DateTimeField, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, Ident, InTarget, ObjectName, ObjectNamePart, Query, Select, SelectFlavor, SelectItem, SetExpr,
    Spanned, Statement, TableFactor, TimezoneInfo, UnaryOperator, Value,
};
use sqlparser::dialect::{Dialect as ParserDialect, DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use super::{Assumption, Refusal};
use crate::error::{Error, ErrorKind};
use crate::syntax::printer::{is_ident, quote};

/// The engine whose semantics an SQL import reproduces (SPEC §29.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// DuckDB 2.0.
    DuckDb,
    /// PostgreSQL 15.
    Postgres,
}

impl Dialect {
    /// `duckdb` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Postgres => "postgres",
        }
    }
    /// The reference engine.
    pub fn reference(self) -> &'static str {
        match self {
            Dialect::DuckDb => "DuckDB 2.0",
            Dialect::Postgres => "PostgreSQL 15",
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = Error;
    fn from_str(s: &str) -> Result<Dialect, Error> {
        match s {
            "duckdb" => Ok(Dialect::DuckDb),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            other => Err(Error::new(
                ErrorKind::ImportInvalid,
                format!("unknown SQL dialect `{other}` for import (dialects: duckdb, postgres; others have no established semantics yet)"),
            )),
        }
    }
}

/// Table and column names of an SQL import (SPEC §29.5); the defaults are the tables segcore's
/// own SQL generation writes.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub profiles: String,
    pub events: String,
    pub id: String,
    pub entity_id: String,
    pub name: String,
    pub at: String,
    /// Column → attribute, where they differ.
    pub columns: BTreeMap<String, String>,
}

impl Default for Tables {
    fn default() -> Tables {
        Tables {
            profiles: "profiles".into(),
            events: "events".into(),
            id: "id".into(),
            entity_id: "entity_id".into(),
            name: "name".into(),
            at: "at".into(),
            columns: BTreeMap::new(),
        }
    }
}

impl Tables {
    /// Reads `{profiles, events, id, entity_id, name, at, columns: {COL: ATTR}}`.
    pub(crate) fn from_json(v: &serde_json::Value) -> Result<Tables, Error> {
        let bad = |m: String| Error::new(ErrorKind::ImportInvalid, m);
        let obj = v.as_object().ok_or_else(|| bad("`tables` must be an object".into()))?;
        let mut t = Tables::default();
        for (k, val) in obj {
            if k == "columns" {
                let cols = val.as_object().ok_or_else(|| bad("`tables.columns` must map column → attribute".into()))?;
                for (c, a) in cols {
                    let a = a.as_str().ok_or_else(|| bad(format!("`tables.columns.{c}` must be a string")))?;
                    t.columns.insert(c.clone(), a.to_string());
                }
                continue;
            }
            let s = val.as_str().ok_or_else(|| bad(format!("`tables.{k}` must be a string")))?.to_string();
            match k.as_str() {
                "profiles" => t.profiles = s,
                "events" => t.events = s,
                "id" => t.id = s,
                "entity_id" => t.entity_id = s,
                "name" => t.name = s,
                "at" => t.at = s,
                other => {
                    return Err(bad(format!(
                        "unknown `tables` field `{other}` (fields: profiles, events, id, entity_id, name, at, columns)"
                    )))
                }
            }
        }
        Ok(t)
    }
}

/// What an SQL import needs besides the text.
pub(crate) struct SqlImport<'a> {
    pub dialect: Dialect,
    pub zone: &'a str,
    pub tables: &'a Tables,
    pub schema: Option<&'a serde_json::Value>,
}

/// A translated query.
pub(crate) struct SqlTranslation {
    pub rule: String,
    pub assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    pub reads: BTreeSet<String>,
}

/// Column types an SQL import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Bool,
    Int,
    Float,
    Dec,
    Str,
    Ts,
    Date,
    Dur,
    Null,
}

impl T {
    /// The type with its article, for messages: "an integer".
    fn name(self) -> &'static str {
        match self {
            T::Bool => "a boolean",
            T::Int => "an integer",
            T::Float => "a double",
            T::Dec => "a decimal",
            T::Str => "a string",
            T::Ts => "a timestamp",
            T::Date => "a date",
            T::Dur => "an interval",
            T::Null => "NULL",
        }
    }
    fn numeric(self) -> bool {
        matches!(self, T::Int | T::Float | T::Dec)
    }
    fn parse(s: &str) -> Option<T> {
        Some(match s.trim() {
            "bool" => T::Bool,
            "int" => T::Int,
            "float" => T::Float,
            "decimal" => T::Dec,
            "string" => T::Str,
            "timestamp" => T::Ts,
            "date" => T::Date,
            _ => return None,
        })
    }
}

/// A literal's value, where a construct depends on it.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    No,
    Null,
    Int(i64),
    Num(rust_decimal::Decimal),
    Str(String),
}

/// Forms that only some contexts accept.
#[derive(Debug, Clone, PartialEq)]
enum K {
    Plain,
    /// `CURRENT_DATE` minus this many days.
    CurDate(i64),
    /// An interval: exact microseconds, and the number of calendar days when it is whole days.
    Interval {
        micros: i64,
        days: Option<i64>,
    },
    /// `NULLIF(y, 0)`.
    NullIfZero,
    /// A scalar `SUM` subquery; the plain `sum(...)` for `COALESCE(…, 0)`.
    Sum(String),
}

/// A translated expression.
#[derive(Debug, Clone)]
struct E {
    text: String,
    ty: T,
    lit: Lit,
    kind: K,
    /// Carries PostgreSQL's `COLLATE "C"`.
    collate_c: bool,
    /// Reads no column.
    constant: bool,
}

impl Lit {
    /// A literal 0 or 0.0.
    fn is_zero(&self) -> bool {
        matches!(self, Lit::Int(0)) || matches!(self, Lit::Num(d) if d.is_zero())
    }
}

impl E {
    fn new(text: impl Into<String>, ty: T) -> E {
        E { text: text.into(), ty, lit: Lit::No, kind: K::Plain, collate_c: false, constant: false }
    }
    fn constant(mut self) -> E {
        self.constant = true;
        self
    }
    fn with_lit(mut self, lit: Lit) -> E {
        self.lit = lit;
        self.constant = true;
        self
    }
}

type R<T> = Result<T, Refusal>;

/// Translates one SQL query or `WHERE` expression. `Err(Error)` when the text does not parse
/// (`import_invalid`); `Ok(Err(refusal))` when a construct has no exact counterpart.
pub(crate) fn translate(source: &str, opts: &SqlImport) -> Result<R<SqlTranslation>, Error> {
    let invalid = |m: String| Error::new(ErrorKind::ImportInvalid, m);
    let dialect: Box<dyn ParserDialect> = match opts.dialect {
        Dialect::DuckDb => Box::new(DuckDbDialect {}),
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
    };
    let zone = crate::time::zone(opts.zone)
        .ok_or_else(|| invalid(format!("unknown time zone `{}` for the SQL session", opts.zone)))?;
    let schema = match SqlSchema::read(opts.schema) {
        Ok(s) => s,
        Err(r) => return Ok(Err(r)),
    };
    let parser_err = |e: sqlparser::parser::ParserError| {
        let text = e.to_string();
        let text = text.strip_prefix("sql parser error: ").unwrap_or(&text).to_string();
        invalid(format!("the SQL does not parse ({}): {text}", opts.dialect.as_str()))
    };
    let mut tr = Tr {
        d: opts.dialect,
        tables: opts.tables,
        schema: &schema,
        zone,
        zone_name: opts.zone,
        // A bare expression is the WHERE of `SELECT id FROM profiles AS p`.
        outer: vec!["p".into()],
        assumptions: BTreeMap::new(),
        reads: BTreeSet::new(),
        event: None,
        depth: 0,
    };
    let starts_select = operator_runs(source, dialect.as_ref()).map_err(invalid)?;
    let statements;
    let bare;
    let where_expr: Option<&Expr> = if starts_select {
        statements = Parser::new(dialect.as_ref())
            .with_recursion_limit(crate::limits::MAX_DEPTH)
            .try_with_sql(source)
            .and_then(|mut p| p.parse_statements())
            .map_err(parser_err)?;
        let [Statement::Query(q)] = statements.as_slice() else {
            return Ok(Err(refuse_at(
                sqlparser::tokenizer::Location { line: 1, column: 1 },
                "statement",
                "one `SELECT id FROM profiles WHERE …` statement is imported",
            )));
        };
        match tr.outer_query(q) {
            Ok(w) => w,
            Err(r) => return Ok(Err(r)),
        }
    } else {
        let mut p = Parser::new(dialect.as_ref())
            .with_recursion_limit(crate::limits::MAX_DEPTH)
            .try_with_sql(source)
            .map_err(parser_err)?;
        bare = p.parse_expr().map_err(parser_err)?;
        p.expect_token(&sqlparser::tokenizer::Token::EOF).map_err(parser_err)?;
        Some(&bare)
    };
    let rule = match &where_expr {
        None => Ok("true".to_string()),
        Some(w) => tr.expr(w).and_then(|e| match e.ty {
            T::Bool | T::Null => Ok(e.text),
            other => Err(refuse_at(start(w), "WHERE", &format!("the condition is {}, not a boolean", other.name()))),
        }),
    };
    Ok(rule.map(|rule| SqlTranslation { rule: strip_parens(rule), assumptions: tr.assumptions, reads: tr.reads }))
}

fn strip_parens(s: String) -> String {
    // `(a and b)` at the top: the outer pair only if it encloses everything.
    if s.starts_with('(') && s.ends_with(')') {
        let mut depth = 0i32;
        let mut in_str = false;
        let mut esc = false;
        for (i, c) in s.char_indices() {
            if in_str {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, '\\') => esc = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i != s.len() - 1 {
                        return s;
                    }
                }
                _ => {}
            }
        }
        return s[1..s.len() - 1].to_string();
    }
    s
}

/// The import schema: attribute and event-property types by name.
struct SqlSchema {
    attributes: BTreeMap<String, T>,
    events: BTreeMap<String, BTreeMap<String, T>>,
}

impl SqlSchema {
    fn read(schema: Option<&serde_json::Value>) -> R<SqlSchema> {
        let mut s = SqlSchema { attributes: BTreeMap::new(), events: BTreeMap::new() };
        let Some(schema) = schema else { return Ok(s) };
        let ty = |where_: String, v: &serde_json::Value| -> R<T> {
            let text = v.as_str().unwrap_or_default();
            T::parse(text).ok_or_else(|| Refusal {
                path: String::new(),
                construct: "schema".into(),
                reason: format!(
                    "{where_} is declared `{text}`, which an SQL column cannot hold exactly (SQL import types: bool, int, float, decimal, string, timestamp, date; SPEC §29.5)"
                ),
            })
        };
        if let Some(attrs) = schema.get("attributes").and_then(|a| a.as_object()) {
            for (name, v) in attrs {
                s.attributes.insert(name.clone(), ty(format!("attribute `{name}`"), v)?);
            }
        }
        if let Some(events) = schema.get("events").and_then(|a| a.as_object()) {
            for (event, props) in events {
                let mut m = BTreeMap::new();
                for (p, v) in props.as_object().into_iter().flatten() {
                    m.insert(p.clone(), ty(format!("property `{event}.{p}`"), v)?);
                }
                s.events.insert(event.clone(), m);
            }
        }
        Ok(s)
    }
}

fn refuse_at(loc: sqlparser::tokenizer::Location, construct: &str, reason: &str) -> Refusal {
    Refusal { path: format!("{}:{}", loc.line, loc.column), construct: construct.into(), reason: reason.into() }
}

/// Where a node starts, found without `Spanned::span`, which walks the whole subtree (and a
/// chain of 2,000 operators is that deep).
trait At {
    fn at(&self) -> Location;
}

impl At for Expr {
    fn at(&self) -> Location {
        start(self)
    }
}

impl At for Query {
    fn at(&self) -> Location {
        match self.body.as_ref() {
            SetExpr::Select(s) => s.select_token.0.span.start,
            _ => Location { line: 1, column: 1 },
        }
    }
}

impl At for TableFactor {
    fn at(&self) -> Location {
        match self {
            TableFactor::Table { name, .. } => object_name(name)
                .and_then(|p| p.first().map(|i| i.span.start))
                .unwrap_or(Location { line: 1, column: 1 }),
            _ => Location { line: 1, column: 1 },
        }
    }
}

fn refuse(e: &impl At, construct: &str, reason: &str) -> Refusal {
    refuse_at(e.at(), construct, reason)
}

fn pos(e: &impl At) -> String {
    let l = e.at();
    format!("{}:{}", l.line, l.column)
}

/// The event being aggregated: its name and the events table's alias.
struct EventScope {
    name: String,
    aliases: Vec<String>,
}

struct Tr<'a> {
    d: Dialect,
    tables: &'a Tables,
    schema: &'a SqlSchema,
    zone: TimeZone,
    zone_name: &'a str,
    /// Names that qualify a profiles column (the table's name and its alias).
    outer: Vec<String>,
    assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    reads: BTreeSet<String>,
    event: Option<EventScope>,
    depth: usize,
}

/// SQL AND/OR chains are left-deep: flattened without recursion.
fn flatten<'e>(e: &'e Expr, op: &BinaryOperator, out: &mut Vec<&'e Expr>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::BinaryOp { left, op: o, right } if o == op => {
                stack.push(right);
                stack.push(left);
            }
            Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: o, .. } if o == op) => {
                stack.push(inner)
            }
            other => out.push(other),
        }
    }
}

fn object_name(n: &ObjectName) -> Option<Vec<&Ident>> {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            _ => None,
        })
        .collect()
}

impl<'a> Tr<'a> {
    fn assume(&mut self, a: Assumption, at: String) {
        self.assumptions.entry(a).or_default().insert(at);
    }

    /// An identifier names `name` under the dialect's rules.
    fn names(&self, ident: &Ident, name: &str) -> bool {
        match (ident.quote_style, self.d) {
            (_, Dialect::DuckDb) => ident.value.eq_ignore_ascii_case(name),
            (Some(_), Dialect::Postgres) => ident.value == name,
            (None, Dialect::Postgres) => ident.value.to_ascii_lowercase() == name,
        }
    }

    /// The outer statement: `SELECT id FROM profiles [AS p] [WHERE …]`.
    fn outer_query<'q>(&mut self, q: &'q Query) -> R<Option<&'q Expr>> {
        let sel = self.plain_select(q, "the statement")?;
        let (alias, _) = self.single_table(sel, &self.tables.profiles.clone(), "the profiles table")?;
        // An alias hides the table's own name (`FROM profiles p … profiles.age` does not run).
        self.outer = vec![alias.unwrap_or_else(|| self.tables.profiles.clone())];
        match sel.projection.as_slice() {
            [SelectItem::UnnamedExpr(e)] | [SelectItem::ExprWithAlias { expr: e, .. }]
                if self.is_profile_column(e, &self.tables.id.clone()) => {}
            _ => {
                return Err(refuse(
                    q,
                    "SELECT",
                    &format!("the statement must select the id column `{}` (one row per member)", self.tables.id),
                ))
            }
        }
        Ok(sel.selection.as_ref())
    }

    /// A query that is one plain SELECT: no WITH, ORDER BY, LIMIT, set operations….
    fn plain_select<'q>(&self, q: &'q Query, what: &str) -> R<&'q Select> {
        let Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = q;
        let extra = if with.is_some() {
            Some("WITH")
        } else if order_by.is_some() {
            Some("ORDER BY")
        } else if limit_clause.is_some() || fetch.is_some() {
            Some("LIMIT")
        } else if !locks.is_empty() || for_clause.is_some() || settings.is_some() || format_clause.is_some() {
            Some("FOR")
        } else if !pipe_operators.is_empty() {
            Some("|>")
        } else {
            None
        };
        if let Some(c) = extra {
            return Err(refuse(q, c, &format!("{what} must be a plain SELECT: `{c}` changes which rows it returns")));
        }
        let SetExpr::Select(sel) = body.as_ref() else {
            return Err(refuse(q, "set operation", &format!("{what} must be one SELECT (no UNION, VALUES…)")));
        };
        let Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection: _,
            exclude,
            into,
            from: _,
            lateral_views,
            prewhere,
            selection: _,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = sel.as_ref();
        let grouped = match group_by {
            GroupByExpr::All(_) => true,
            GroupByExpr::Expressions(e, m) => !e.is_empty() || !m.is_empty(),
        };
        let extra = if distinct.is_some() {
            Some("DISTINCT")
        } else if grouped || having.is_some() {
            Some("GROUP BY")
        } else if top.is_some() {
            Some("TOP")
        } else if qualify.is_some() || !named_window.is_empty() {
            Some("WINDOW")
        } else if !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || exclude.is_some()
            || into.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || value_table_mode.is_some()
            || !matches!(flavor, SelectFlavor::Standard)
        {
            Some("SELECT clause")
        } else {
            None
        };
        if let Some(c) = extra {
            return Err(refuse(
                q,
                c,
                &format!("{what} must be a plain SELECT … FROM … WHERE: `{c}` is outside the subset"),
            ));
        }
        Ok(sel)
    }

    /// `FROM <table> [AS alias]`, one table, no joins; returns the alias.
    fn single_table(&self, sel: &Select, table: &str, what: &str) -> R<(Option<String>, ())> {
        let [twj] = sel.from.as_slice() else {
            let at = sel.from.get(1).map(|t| t.relation.span().start).unwrap_or_else(|| sel.span().start);
            return Err(refuse_at(
                at,
                "FROM",
                &format!("{what} must be the one table in FROM (no joins, no comma lists)"),
            ));
        };
        if let Some(j) = twj.joins.first() {
            return Err(refuse(&j.relation, "JOIN", "joins are outside the subset: membership is per profile row"));
        }
        match &twj.relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                with_ordinality: false,
                partitions,
                json_path: None,
                sample: None,
                index_directives,
                inheritance: None,
            } if with_hints.is_empty() && partitions.is_empty() && index_directives.is_empty() => {
                let parts = object_name(name).unwrap_or_default();
                let ok = matches!(parts.as_slice(), [t] if self.names(t, table));
                if !ok {
                    return Err(refuse(
                        &twj.relation,
                        "FROM",
                        &format!("{what} is `{table}` (set the table names with `tables`); `{name}` is not known"),
                    ));
                }
                if let Some(a) = alias {
                    if !a.columns.is_empty() {
                        return Err(refuse(
                            &twj.relation,
                            "FROM",
                            "column aliases on the table are outside the subset",
                        ));
                    }
                    // PostgreSQL folds an unquoted alias like any identifier.
                    let name = match (a.name.quote_style, self.d) {
                        (None, Dialect::Postgres) => a.name.value.to_ascii_lowercase(),
                        _ => a.name.value.clone(),
                    };
                    return Ok((Some(name), ()));
                }
                Ok((None, ()))
            }
            other => Err(refuse(other, "FROM", &format!("{what} must be a plain table name"))),
        }
    }

    fn is_profile_column(&self, e: &Expr, column: &str) -> bool {
        match e {
            // Inside a subquery an unqualified name is the events' column when they have one.
            Expr::Identifier(i) if self.event.is_some() && self.is_events_name(i) => false,
            Expr::Identifier(i) => self.names(i, column),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => self.outer.iter().any(|o| self.names(q, o)) && self.names(c, column),
                _ => false,
            },
            Expr::Nested(inner) => self.is_profile_column(inner, column),
            _ => false,
        }
    }

    /// Whether a name is a column of the events table (a role column or any event's property).
    fn is_events_name(&self, i: &Ident) -> bool {
        let t = self.tables;
        [t.entity_id.as_str(), t.name.as_str(), t.at.as_str(), "seq"].iter().any(|c| self.names(i, c))
            || self.schema.events.values().flat_map(|p| p.keys()).any(|p| self.names(i, p))
    }

    fn is_event_column(&self, e: &Expr, column: &str) -> bool {
        let aliases: &[String] = match &self.event {
            Some(s) => &s.aliases,
            None => return false,
        };
        match e {
            Expr::Identifier(i) => self.names(i, column),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => aliases.iter().any(|o| self.names(q, o)) && self.names(c, column),
                _ => false,
            },
            Expr::Nested(inner) => self.is_event_column(inner, column),
            _ => false,
        }
    }

    fn expr(&mut self, e: &Expr) -> R<E> {
        self.depth += 1;
        if self.depth > crate::limits::MAX_DEPTH {
            self.depth -= 1;
            return Err(refuse_at(start(e), "nesting", "nested deeper than segcore's rule nesting limit (SPEC §19)"));
        }
        let out = self.expr_inner(e);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &Expr) -> R<E> {
        match e {
            Expr::Nested(inner) => {
                let mut x = self.expr(inner)?;
                if !matches!(x.kind, K::Plain) {
                    return Ok(x);
                }
                if !(x.text.starts_with('(') || x.lit != Lit::No) {
                    x.text = format!("({})", x.text);
                }
                Ok(x)
            }
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => self.column(e),
            Expr::Value(v) => self.value(e, &v.value),
            Expr::TypedString(ts) => {
                let Some(text) = string_value(&ts.value.value) else {
                    return Err(refuse(e, "typed literal", "the literal's value must be a quoted string"));
                };
                self.typed_literal(e, &ts.data_type, &text)
            }
            Expr::BinaryOp { op: op @ (BinaryOperator::And | BinaryOperator::Or), .. } => {
                let mut parts = Vec::new();
                flatten(e, op, &mut parts);
                let word = if *op == BinaryOperator::And { " and " } else { " or " };
                let mut texts = Vec::with_capacity(parts.len());
                let mut constant = true;
                for p in parts {
                    let x = self.expr(p)?;
                    if !matches!(x.ty, T::Bool | T::Null) || x.kind != K::Plain {
                        return Err(refuse(p, "operand", &format!("`{}` needs booleans, not {}", word.trim(), x.ty.name())));
                    }
                    constant &= x.constant;
                    texts.push(x.text);
                }
                let mut out = E::new(format!("({})", texts.join(word)), T::Bool);
                out.constant = constant;
                Ok(out)
            }
            Expr::BinaryOp { left, op, right } => self.binary(e, left, op, right),
            Expr::UnaryOp { op, expr } => {
                let x = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => {
                        if !matches!(x.ty, T::Bool | T::Null) || x.kind != K::Plain {
                            return Err(refuse(e, "NOT", &format!("NOT needs a boolean, not {}", x.ty.name())));
                        }
                        let c = x.constant;
                        let mut out = E::new(format!("(not {})", x.text), T::Bool);
                        out.constant = c;
                        Ok(out)
                    }
                    UnaryOperator::Plus if x.ty.numeric() && x.kind == K::Plain => Ok(x),
                    UnaryOperator::Minus if x.ty.numeric() && x.kind == K::Plain => match x.lit {
                        Lit::Int(i) => match i.checked_neg() {
                            Some(n) => Ok(E::new(n.to_string(), T::Int).with_lit(Lit::Int(n))),
                            None => Err(refuse(e, "-", "the negated integer does not fit 64 bits")),
                        },
                        Lit::Num(d) => {
                            let n = -d;
                            Ok(E::new(number_text(&n), x.ty).with_lit(Lit::Num(n)))
                        }
                        _ => {
                            if x.ty == T::Int {
                                self.assume(Assumption::S4, pos(e));
                            }
                            let c = x.constant;
                            let mut out = E::new(format!("(-{})", x.text), x.ty);
                            out.constant = c;
                            Ok(out)
                        }
                    },
                    other => Err(refuse(e, &other.to_string(), "this operator has no segcore counterpart")),
                }
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let v = self.expr(x)?;
                self.plain(x, &v)?;
                let not = if matches!(e, Expr::IsNotNull(_)) { " not" } else { "" };
                let mut out = E::new(format!("({} is{not} null)", v.text), T::Bool);
                out.constant = v.constant;
                Ok(out)
            }
            Expr::IsTrue(x) | Expr::IsNotTrue(x) | Expr::IsFalse(x) | Expr::IsNotFalse(x) => {
                let v = self.boolean(x)?;
                let text = match e {
                    Expr::IsTrue(_) => format!("coalesce({}, false)", v.text),
                    Expr::IsNotTrue(_) => format!("(not coalesce({}, false))", v.text),
                    Expr::IsFalse(_) => format!("coalesce(not {}, false)", v.text),
                    _ => format!("(not coalesce(not {}, false))", v.text),
                };
                let mut out = E::new(text, T::Bool);
                out.constant = v.constant;
                Ok(out)
            }
            Expr::IsUnknown(x) | Expr::IsNotUnknown(x) => {
                let v = self.boolean(x)?;
                let not = if matches!(e, Expr::IsNotUnknown(_)) { " not" } else { "" };
                let mut out = E::new(format!("({} is{not} null)", v.text), T::Bool);
                out.constant = v.constant;
                Ok(out)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (l, r) = (self.expr(a)?, self.expr(b)?);
                let not_distinct = if l.lit == Lit::Null {
                    format!("({} is null)", r.text)
                } else if r.lit == Lit::Null {
                    format!("({} is null)", l.text)
                } else if l.lit != Lit::No || r.lit != Lit::No {
                    // One side is a non-null constant: equal exactly when the comparison is TRUE.
                    let eq = self.compare(e, &BinaryOperator::Eq, l.clone(), r.clone())?;
                    format!("coalesce({}, false)", eq.text)
                } else {
                    let eq = self.compare(e, &BinaryOperator::Eq, l.clone(), r.clone())?;
                    format!("(({} is null and {} is null) or coalesce({}, false))", l.text, r.text, eq.text)
                };
                let text = if matches!(e, Expr::IsDistinctFrom(..)) { format!("(not {not_distinct})") } else { not_distinct };
                let mut out = E::new(text, T::Bool);
                out.constant = l.constant && r.constant;
                Ok(out)
            }
            Expr::In { expr, target, negated, global: false } => match target {
                InTarget::List(items) => self.in_list(e, expr, items, *negated),
                InTarget::Subquery(q) => {
                    if !self.is_profile_column(expr, &self.tables.id.clone()) || self.event.is_some() {
                        return Err(refuse(
                            e,
                            "IN (SELECT …)",
                            "only `id IN (SELECT entity_id FROM events …)` is imported (a subquery over the events of this profile)",
                        ));
                    }
                    let exists = self.events_subquery(e, q, Mode::Ids)?;
                    Ok(if *negated { E::new(format!("(not {})", exists.text), T::Bool) } else { exists })
                }
                _ => Err(refuse(e, "IN", "IN takes a list of values or a subquery over the events table")),
            },
            Expr::Between { expr, negated, low, high } => {
                let x = self.expr(expr)?;
                let lo = self.expr(low)?;
                let hi = self.expr(high)?;
                let a = self.compare(e, &BinaryOperator::GtEq, x.clone(), lo)?;
                let b = self.compare(e, &BinaryOperator::LtEq, x, hi)?;
                let both = format!("({} and {})", a.text, b.text);
                let mut out = E::new(if *negated { format!("(not {both})") } else { both }, T::Bool);
                out.constant = a.constant && b.constant;
                Ok(out)
            }
            Expr::Like { negated, any: false, expr, pattern, escape_char: None } => {
                self.like(e, expr, pattern, *negated)
            }
            Expr::Like { .. } => Err(refuse(e, "LIKE", "LIKE ANY and an ESCAPE clause are outside the subset")),
            Expr::ILike { .. } => Err(refuse(
                e,
                "ILIKE",
                "the engines' case mapping (simple lower case, no final sigma) differs from segcore's lower() and fold()",
            )),
            Expr::SimilarTo { .. } | Expr::RLike { .. } => Err(refuse(
                e,
                "SIMILAR TO",
                "SQL regular expressions (POSIX, RE2) differ from segcore's; not imported yet",
            )),
            Expr::Case { operand, conditions, else_result, .. } => {
                self.case(e, operand.as_deref(), conditions, else_result.as_deref())
            }
            Expr::Cast { kind: CastKind::Cast | CastKind::DoubleColon, expr, data_type, format: None } => {
                self.cast(e, expr, data_type)
            }
            Expr::Collate { expr, collation } => {
                let c = object_name(collation).unwrap_or_default();
                let is_c = matches!(c.as_slice(), [i] if i.value == "C" || i.value == "POSIX");
                if self.d != Dialect::Postgres || !is_c {
                    return Err(refuse(e, "COLLATE", "only PostgreSQL's `COLLATE \"C\"` (code-point order) is imported"));
                }
                let mut x = self.expr(expr)?;
                if x.ty != T::Str {
                    return Err(refuse(e, "COLLATE", "COLLATE applies to strings"));
                }
                x.collate_c = true;
                Ok(x)
            }
            Expr::Function(_) => self.function(e),
            Expr::Exists { subquery, negated } => {
                let x = self.events_subquery(e, subquery, Mode::Exists)?;
                Ok(if *negated { E::new(format!("(not {})", x.text), T::Bool) } else { x })
            }
            Expr::Subquery(q) => self.events_subquery(e, q, Mode::Scalar),
            Expr::Interval(iv) => self.interval(e, iv),
            other => Err(refuse(other, construct_name(other), "this SQL construct is outside the imported subset (SPEC §29.5)")),
        }
    }

    fn plain(&self, at: &Expr, x: &E) -> R<()> {
        match x.kind {
            K::Plain | K::Sum(_) => Ok(()),
            _ => Err(refuse(at, construct_name(at), "this value is only imported inside a comparison with a column")),
        }
    }

    fn boolean(&mut self, x: &Expr) -> R<E> {
        let v = self.expr(x)?;
        if !matches!(v.ty, T::Bool | T::Null) || v.kind != K::Plain {
            return Err(refuse(x, "IS", &format!("IS TRUE/FALSE/UNKNOWN needs a boolean, not {}", v.ty.name())));
        }
        Ok(v)
    }

    fn column(&mut self, e: &Expr) -> R<E> {
        let (qualifier, ident) = match e {
            Expr::Identifier(i) => (None, i),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => (Some(q), c),
                _ => return Err(refuse(e, "column", "a column is `name` or `table.name`")),
            },
            _ => unreachable!("column() is called on identifiers"),
        };
        let matches_any = |names: &[String], q: &Ident| names.iter().any(|n| self.names(q, n));
        // Inside an events subquery, its columns come first (SQL scoping).
        if let Some(scope) = &self.event {
            let event_q = qualifier.is_none_or(|q| matches_any(&scope.aliases, q));
            if event_q {
                if self.names(ident, &self.tables.at) {
                    return Ok(E::new("at", T::Ts));
                }
                for role in [&self.tables.entity_id, &self.tables.name] {
                    if self.names(ident, role) {
                        return Err(refuse(
                            e,
                            role,
                            "the events' id and name columns are read only as `e.entity_id = p.id` and `e.name = '…'`",
                        ));
                    }
                }
                let props = self.schema.events.get(&scope.name);
                let found: Vec<(&String, &T)> =
                    props.into_iter().flatten().filter(|(p, _)| self.names(ident, p)).collect();
                match found.as_slice() {
                    [(p, t)] => {
                        if !is_ident(p) || matches!(p.as_str(), "id" | "at" | "as_of") {
                            return Err(refuse(
                                e,
                                p,
                                "the property's name is not one a segcore filter can read (an identifier other than `id`, `at`, `as_of`)",
                            ));
                        }
                        let text = (*p).clone();
                        self.assume(Assumption::S1, pos(e));
                        return Ok(E::new(text, **t));
                    }
                    [] if qualifier.is_some() => {
                        return Err(refuse(
                            e,
                            &ident.value,
                            &format!("`{}` is not a property of `{}` in the schema", ident.value, scope.name),
                        ))
                    }
                    [] => {}
                    _ => {
                        return Err(refuse(
                            e,
                            &ident.value,
                            "the column matches several properties that differ only by case",
                        ))
                    }
                }
            }
            if qualifier.is_none_or(|q| matches_any(&self.outer, q)) {
                return Err(refuse(
                    e,
                    &ident.value,
                    "an aggregate's filter reads only the event's own columns (segcore filters cannot read attributes)",
                ));
            }
            return Err(refuse(e, &ident.value, "unknown table qualifier"));
        }
        if self.d == Dialect::DuckDb
            && qualifier.is_none()
            && ident.quote_style.is_none()
            && ident.value.eq_ignore_ascii_case("at")
        {
            return Err(refuse(e, "at", "`at` is a reserved word in DuckDB: qualify or quote it"));
        }
        if let Some(q) = qualifier {
            if !matches_any(&self.outer, q) {
                return Err(refuse(e, &q.value, "unknown table qualifier (the profiles table or its alias)"));
            }
        }
        if self.names(ident, &self.tables.id) {
            self.assume(Assumption::S1, pos(e));
            return Ok(E::new("id", T::Str));
        }
        let mapped: Vec<(String, String)> = self
            .tables
            .columns
            .iter()
            .filter(|(c, _)| self.names(ident, c))
            .map(|(c, a)| (c.clone(), a.clone()))
            .chain(
                self.schema
                    .attributes
                    .keys()
                    .filter(|a| !self.tables.columns.values().any(|m| m == *a))
                    .filter(|a| self.names(ident, a))
                    .map(|a| (a.clone(), a.clone())),
            )
            .collect();
        let attr = match mapped.as_slice() {
            [(_, a)] => a.clone(),
            [] => {
                return Err(refuse(
                    e,
                    &ident.value,
                    &format!("the column `{}` is not an attribute in the schema", ident.value),
                ))
            }
            _ => return Err(refuse(e, &ident.value, "the column matches several attributes that differ only by case")),
        };
        let Some(ty) = self.schema.attributes.get(&attr).copied() else {
            return Err(refuse(e, &ident.value, &format!("the attribute `{attr}` is not in the schema")));
        };
        if !is_ident(&attr) || matches!(attr.as_str(), "id" | "as_of") {
            return Err(refuse(
                e,
                &attr,
                "the attribute's name is not one a segcore rule can read (an identifier other than `id`, `as_of`)",
            ));
        }
        self.assume(Assumption::S1, pos(e));
        self.reads.insert(attr.clone());
        Ok(E::new(attr, ty))
    }

    fn value(&mut self, e: &Expr, v: &Value) -> R<E> {
        match v {
            Value::Null => Ok(E::new("null", T::Null).with_lit(Lit::Null)),
            Value::Boolean(b) => Ok(E::new(b.to_string(), T::Bool).constant()),
            Value::Number(text, false) => self.number(e, text),
            _ => match string_value(v) {
                Some(s) => Ok(E::new(quote(&s), T::Str).with_lit(Lit::Str(s))),
                None => Err(refuse(e, "literal", "this kind of literal is outside the subset")),
            },
        }
    }

    fn number(&mut self, e: &Expr, text: &str) -> R<E> {
        use rust_decimal::Decimal;
        // Digit separators (`1_000`: DuckDB only) and hex (`0x10`) are outside the subset.
        if !text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
            return Err(refuse(e, text, "a numeric literal with digit separators or in another base"));
        }
        let exp = text.contains(['e', 'E']);
        if exp && self.d == Dialect::DuckDb {
            // DuckDB reads `1e3` as a DOUBLE: the value is the double nearest the text.
            let x: f64 = text.parse().map_err(|_| refuse(e, text, "not a number"))?;
            let lit = super::cases::number_literal(x, &pos(e)).map_err(|_| {
                refuse(e, text, "the double has no segcore decimal spelling within 28 significant digits")
            })?;
            let d = Decimal::from_str_exact(&lit).ok();
            let mut out = E::new(lit.clone(), T::Float).constant();
            if let Some(d) = d {
                out.lit = Lit::Num(d);
            }
            return Ok(out);
        }
        if exp || text.contains('.') {
            let beyond = || refuse(e, text, "a decimal beyond segcore's 28 significant digits (or 28 places)");
            let d = if exp { Decimal::from_scientific(text) } else { Decimal::from_str_exact(text) }
                .map_err(|_| beyond())?;
            let digits = text.split(['e', 'E']).next().unwrap_or(text);
            if digits.trim_start_matches(['0', '.']).chars().filter(|c| c.is_ascii_digit()).count() > 28 {
                return Err(beyond());
            }
            // DuckDB types `0.1234…` as DECIMAL(p, scale) and widens an operand to DECIMAL(38, scale):
            // beyond 18 places a BIGINT or a DECIMAL(38,18) no longer fits and the query fails.
            if self.d == Dialect::DuckDb && !exp && d.scale() > 18 {
                return Err(refuse(
                    e,
                    text,
                    "DuckDB compares with a decimal of more than 18 places by widening the other side to DECIMAL(38, places), which fails for large values",
                ));
            }
            let d = d.normalize();
            // What segcore reads back: `1e27` is written `1000000000000000000000000000.0`, 29 digits.
            let written = number_text(&d);
            if written.trim_start_matches(['-', '0', '.']).bytes().filter(u8::is_ascii_digit).count() > 28 {
                return Err(beyond());
            }
            return Ok(E::new(written, T::Dec).with_lit(Lit::Num(d)));
        }
        match text.parse::<i64>() {
            Ok(i) => Ok(E::new(i.to_string(), T::Int).with_lit(Lit::Int(i))),
            Err(_) => {
                Err(refuse(e, text, "an integer literal beyond 64 bits (the engines widen it; segcore does not)"))
            }
        }
    }

    fn typed_literal(&mut self, e: &Expr, ty: &DataType, text: &str) -> R<E> {
        match ty {
            DataType::Date => Ok(E::new(date_text(e, text)?, T::Date).constant()),
            DataType::Timestamp(Some(_), _) => Err(refuse(
                e,
                "TIMESTAMP",
                "a timestamp type with a precision rounds the literal (PostgreSQL) or is ignored (DuckDB)",
            )),
            DataType::Timestamp(None, tz) => {
                let with_zone = matches!(tz, TimezoneInfo::Tz | TimezoneInfo::WithTimeZone);
                let t = self.timestamp_text(e, text, with_zone)?;
                Ok(E::new(format!("timestamp(\"{t}\")"), T::Ts).constant())
            }
            _ => Err(refuse(e, &ty.to_string(), "typed literals other than DATE and TIMESTAMP are outside the subset")),
        }
    }

    /// An instant from SQL timestamp text, in segcore's RFC 3339 form (UTC, `Z`).
    fn timestamp_text(&self, e: &Expr, text: &str, with_zone: bool) -> R<String> {
        let t = text.trim().replacen(' ', "T", 1);
        let has_offset = {
            let tail = t.split_once('T').map(|(_, r)| r).unwrap_or("");
            tail.ends_with('Z') || tail.ends_with('z') || tail.contains(['+', '-'])
        };
        if has_offset && !with_zone {
            return Err(refuse(
                e,
                "TIMESTAMP",
                "a TIMESTAMP (without time zone) literal with an offset: the engines drop the offset and read the local time; write TIMESTAMPTZ",
            ));
        }
        let instant = if has_offset {
            // `+00` and `+05:30` offsets; jiff wants `+00:00`.
            let fixed = fix_offset(&t);
            fixed
                .parse::<jiff::Timestamp>()
                .map_err(|_| refuse(e, "TIMESTAMP", "the timestamp literal does not read"))?
        } else {
            let dt: jiff::civil::DateTime = t
                .parse()
                .or_else(|_| t.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
                .map_err(|_| refuse(e, "TIMESTAMP", "the timestamp literal does not read"))?;
            let amb = self.zone.to_ambiguous_timestamp(dt);
            match amb.unambiguous() {
                Ok(ts) => ts,
                Err(_) => {
                    return Err(refuse(
                        e,
                        "TIMESTAMP",
                        &format!(
                            "`{text}` is skipped or repeated in {} (a DST change): the engines and SPEC §9 resolve it differently",
                            self.zone_name
                        ),
                    ))
                }
            }
        };
        if instant.to_zoned(jiff::tz::TimeZone::UTC).year() < 1 {
            return Err(refuse(
                e,
                "TIMESTAMP",
                "an instant before year 1 (the engines and segcore count those years differently)",
            ));
        }
        if instant.subsec_nanosecond() % 1000 != 0 {
            return Err(refuse(e, "TIMESTAMP", "finer than microseconds"));
        }
        Ok(instant.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
    }

    fn interval(&mut self, e: &Expr, iv: &sqlparser::ast::Interval) -> R<E> {
        let bad = || {
            refuse(e, "INTERVAL", "only whole seconds, minutes, hours, days and weeks are imported (months and years are calendar arithmetic)")
        };
        if iv.last_field.is_some() || iv.leading_precision.is_some() || iv.fractional_seconds_precision.is_some() {
            return Err(bad());
        }
        let (n, unit): (String, String) = match (iv.value.as_ref(), &iv.leading_field) {
            (Expr::Value(v), None) => {
                let s = string_value(&v.value).ok_or_else(bad)?;
                let mut it = s.split_whitespace();
                let (Some(n), Some(u), None) = (it.next(), it.next(), it.next()) else { return Err(bad()) };
                (n.to_string(), u.to_lowercase())
            }
            (Expr::Value(v), Some(f))
                if self.d == Dialect::DuckDb || matches!(v.value, Value::SingleQuotedString(_)) =>
            {
                let n = match &v.value {
                    Value::Number(n, _) => n.clone(),
                    other => string_value(other).ok_or_else(bad)?,
                };
                let unit = match f {
                    DateTimeField::Second | DateTimeField::Seconds => "second",
                    DateTimeField::Minute | DateTimeField::Minutes => "minute",
                    DateTimeField::Hour | DateTimeField::Hours => "hour",
                    DateTimeField::Day | DateTimeField::Days => "day",
                    DateTimeField::Week(None) | DateTimeField::Weeks => "week",
                    _ => return Err(bad()),
                };
                (n.trim().to_string(), unit.to_string())
            }
            _ => return Err(bad()),
        };
        let n: i64 = n.parse().map_err(|_| bad())?;
        let unit = unit.trim_end_matches('s');
        let (secs, days, suffix) = match unit {
            "second" | "sec" => (1i64, None, "s"),
            "minute" | "min" => (60, None, "m"),
            "hour" => (3600, None, "h"),
            "day" => (86_400, Some(n), "d"),
            "week" => (7 * 86_400, n.checked_mul(7), "w"),
            _ => return Err(bad()),
        };
        let micros = n.checked_mul(secs).and_then(|s| s.checked_mul(1_000_000)).ok_or_else(bad)?;
        let mut out = E::new(format!("{n}{suffix}"), T::Dur).constant();
        out.kind = K::Interval { micros, days };
        Ok(out)
    }

    /// Whether the zone never changes its offset (so a day interval is 24 hours).
    fn fixed_zone(&self) -> bool {
        let Ok(start) = jiff::Timestamp::from_second(-5_364_662_400) else { return false };
        self.zone.following(start).next().is_none()
    }

    fn function(&mut self, e: &Expr) -> R<E> {
        let Expr::Function(f) = e else { unreachable!("function() is called on calls") };
        let name = call_name(f);
        if !plain_call(f) {
            return Err(refuse(e, &name, "window functions and aggregate modifiers are outside the subset"));
        }
        if !matches!(f.parameters, FunctionArguments::None) || f.uses_odbc_syntax {
            return Err(refuse(e, &name, "outside the subset"));
        }
        let args: Vec<&Expr> = match &f.args {
            FunctionArguments::None => vec![],
            FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => {
                let mut out = vec![];
                for a in &l.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => out.push(x),
                        _ => return Err(refuse(e, &name, "named or wildcard arguments are outside the subset")),
                    }
                }
                out
            }
            _ => return Err(refuse(e, &name, "outside the subset")),
        };
        let no_parens = matches!(f.args, FunctionArguments::None);
        match (name.as_str(), args.as_slice()) {
            // The spellings each engine accepts (`current_timestamp()` is a syntax error in both).
            _ if now_call(self.d, f) => Ok(E::new("as_of", T::Ts).constant()),
            ("current_date", []) if no_parens => {
                let mut out = E::new("date(as_of)", T::Date).constant();
                out.kind = K::CurDate(0);
                Ok(out)
            }
            ("coalesce", [_, ..]) => self.coalesce(e, &args),
            ("nullif", [y, z]) => {
                let y = self.expr(y)?;
                let z = self.expr(z)?;
                if !(y.ty.numeric() && z.lit.is_zero()) {
                    return Err(refuse(e, "NULLIF", "only `NULLIF(y, 0)` as a divisor is imported"));
                }
                let mut out = E::new(y.text, y.ty);
                out.kind = K::NullIfZero;
                Ok(out)
            }
            ("starts_with", [a, b]) | ("contains" | "ends_with" | "suffix", [a, b])
                if name == "starts_with" || self.d == Dialect::DuckDb =>
            {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                if !matches!(a.ty, T::Str | T::Null) || !matches!(b.ty, T::Str | T::Null) {
                    return Err(refuse(e, &name, &format!("`{name}` of strings only")));
                }
                let op = match name.as_str() {
                    "starts_with" => "starts_with",
                    "contains" => "contains",
                    _ => "ends_with",
                };
                let mut out = E::new(format!("({} {op} {})", a.text, b.text), T::Bool);
                out.constant = a.constant && b.constant;
                Ok(out)
            }
            ("count" | "sum" | "avg" | "min" | "max", _) => Err(refuse(
                e,
                &name,
                "an aggregate is imported only as a scalar subquery over the events table: `(SELECT COUNT(*) FROM events e WHERE e.entity_id = p.id AND …)`",
            )),
            _ => Err(refuse(e, &name, &format!("the function `{name}` is outside the imported subset (SPEC §29.5)"))),
        }
    }

    fn coalesce(&mut self, e: &Expr, args: &[&Expr]) -> R<E> {
        let mut xs = Vec::new();
        for a in args {
            xs.push(self.expr(a)?);
        }
        // COALESCE((SELECT SUM …), 0): segcore's own sum of nothing is 0.
        if let ([first, second], K::Sum(plain)) = (xs.as_slice(), &xs[0].kind) {
            if matches!(second.lit, Lit::Int(0)) && matches!(first.ty, T::Int | T::Dec) {
                return Ok(E::new(plain.clone(), first.ty));
            }
        }
        let mut ty = T::Null;
        for (x, a) in xs.iter().zip(args) {
            self.plain(a, x)?;
            if x.ty == T::Null {
                continue;
            }
            if ty == T::Null {
                ty = x.ty;
            } else if ty != x.ty {
                return Err(refuse(
                    e,
                    "COALESCE",
                    &format!(
                        "COALESCE of {} and {}: the engines promote to a common type; import needs one type",
                        ty.name(),
                        x.ty.name()
                    ),
                ));
            }
        }
        let texts: Vec<&str> = xs.iter().map(|x| x.text.as_str()).collect();
        let mut out = E::new(format!("coalesce({})", texts.join(", ")), ty);
        out.constant = xs.iter().all(|x| x.constant);
        Ok(out)
    }

    fn cast(&mut self, e: &Expr, x: &Expr, ty: &DataType) -> R<E> {
        let v = self.expr(x)?;
        match ty {
            // FLOAT is 4 bytes in DuckDB (and `real` in PostgreSQL up to FLOAT(24)); DOUBLE is not a
            // PostgreSQL type.
            DataType::Float8 | DataType::DoublePrecision if matches!(v.ty, T::Int | T::Float) => self.double_cast(v),
            DataType::Double(sqlparser::ast::ExactNumberInfo::None)
                if self.d == Dialect::DuckDb && matches!(v.ty, T::Int | T::Float) =>
            {
                self.double_cast(v)
            }
            DataType::Date | DataType::Timestamp(None, _) if matches!(v.lit, Lit::Str(_)) => {
                let Lit::Str(s) = &v.lit else { unreachable!() };
                self.typed_literal(e, ty, &s.clone())
            }
            _ => Err(refuse(
                e,
                "CAST",
                &format!(
                    "CAST of {} to {ty} is outside the subset (the engines round and parse differently)",
                    v.ty.name()
                ),
            )),
        }
    }

    fn double_cast(&self, v: E) -> R<E> {
        if v.ty == T::Float {
            return Ok(v);
        }
        let c = v.constant;
        let mut out = E::new(format!("({} / 1)", v.text), T::Float);
        out.constant = c;
        Ok(out)
    }

    fn case(
        &mut self,
        e: &Expr,
        operand: Option<&Expr>,
        conditions: &[sqlparser::ast::CaseWhen],
        else_: Option<&Expr>,
    ) -> R<E> {
        let subject = match operand {
            Some(o) => Some(self.expr(o)?),
            None => None,
        };
        let mut arms = Vec::new();
        for w in conditions {
            let cond = match &subject {
                Some(s) => {
                    let k = self.expr(&w.condition)?;
                    self.compare(&w.condition, &BinaryOperator::Eq, s.clone(), k)?
                }
                None => self.expr(&w.condition)?,
            };
            if !matches!(cond.ty, T::Bool | T::Null) || cond.kind != K::Plain {
                return Err(refuse(&w.condition, "CASE", "a WHEN condition must be a boolean"));
            }
            let v = self.expr(&w.result)?;
            if !matches!(v.ty, T::Bool | T::Null) || v.kind != K::Plain {
                return Err(refuse(&w.result, "CASE", "only CASE with boolean results is imported (in a condition)"));
            }
            arms.push((cond.text, v.text));
        }
        let mut acc = match else_ {
            Some(x) => {
                let v = self.expr(x)?;
                if !matches!(v.ty, T::Bool | T::Null) || v.kind != K::Plain {
                    return Err(refuse(x, "CASE", "only CASE with boolean results is imported (in a condition)"));
                }
                v.text
            }
            None => "null".to_string(),
        };
        for (c, v) in arms.into_iter().rev() {
            acc = format!("((coalesce({c}, false) and {v}) or (not coalesce({c}, false) and {acc}))");
        }
        let _ = e;
        Ok(E::new(acc, T::Bool))
    }

    fn in_list(&mut self, e: &Expr, x: &Expr, items: &[Expr], negated: bool) -> R<E> {
        let subject = self.expr(x)?;
        self.plain(x, &subject)?;
        let mut values = Vec::new();
        for i in items {
            values.push(self.expr(i)?);
        }
        // The short form where no item needs a conversion: `x in [a, b, null]` (SPEC §6 gives it
        // SQL's meaning, NULL items included).
        let same = values.iter().all(|v| v.lit != Lit::No && (v.ty == subject.ty || v.ty == T::Null))
            && matches!(subject.ty, T::Int | T::Str | T::Bool | T::Dec)
            && values.iter().any(|v| v.ty != T::Null);
        let text = if same {
            let list: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
            format!("({} in [{}])", subject.text, list.join(", "))
        } else {
            let mut parts = Vec::new();
            for (v, i) in values.into_iter().zip(items) {
                parts.push(self.compare(i, &BinaryOperator::Eq, subject.clone(), v)?.text);
            }
            format!("({})", parts.join(" or "))
        };
        let _ = e;
        let mut out = E::new(if negated { format!("(not {text})") } else { text }, T::Bool);
        out.constant = subject.constant;
        Ok(out)
    }

    fn like(&mut self, e: &Expr, x: &Expr, pattern: &Expr, negated: bool) -> R<E> {
        let s = self.expr(x)?;
        if !matches!(s.ty, T::Str | T::Null) {
            return Err(refuse(e, "LIKE", &format!("LIKE of {}", s.ty.name())));
        }
        let p = self.expr(pattern)?;
        let Lit::Str(pat) = &p.lit else {
            return Err(refuse(pattern, "LIKE", "the pattern must be a string literal"));
        };
        // Decode the pattern into segments of literal text split at `%`.
        let mut segs: Vec<String> = vec![String::new()];
        let mut chars = pat.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => segs.push(String::new()),
                '_' => {
                    return Err(refuse(
                        e,
                        "LIKE",
                        "`_` (one character) needs a regular expression; only `%` at the ends is imported",
                    ))
                }
                '\\' if self.d == Dialect::Postgres => match chars.next() {
                    Some(n) => segs.last_mut().expect("non-empty").push(n),
                    None => return Err(refuse(e, "LIKE", "the pattern ends with the escape character")),
                },
                c => segs.last_mut().expect("non-empty").push(c),
            }
        }
        let lit = |t: &str| quote(t);
        // `%%` is one `%`: only the first, the last and the non-empty middle segments matter.
        let n = segs.len();
        let middle: Vec<&String> = segs[1..n.saturating_sub(1).max(1)].iter().filter(|t| !t.is_empty()).collect();
        let (first, last) = (&segs[0], &segs[n - 1]);
        let body = match (n, first.is_empty(), last.is_empty(), middle.as_slice()) {
            (1, ..) => format!("{} = {}", s.text, lit(first)),
            (_, true, true, []) => format!("{} starts_with \"\"", s.text),
            (_, false, true, []) => format!("{} starts_with {}", s.text, lit(first)),
            (_, true, false, []) => format!("{} ends_with {}", s.text, lit(last)),
            (_, true, true, [m]) => format!("{} contains {}", s.text, lit(m)),
            _ => {
                return Err(refuse(
                    e,
                    "LIKE",
                    "`%` inside the pattern needs a regular expression; only `abc`, `abc%`, `%abc`, `%abc%` and `%` are imported",
                ))
            }
        };
        let text = if negated { format!("(not ({body}))") } else { format!("({body})") };
        let mut out = E::new(text, T::Bool);
        out.constant = s.constant;
        Ok(out)
    }

    fn binary(&mut self, e: &Expr, left: &Expr, op: &BinaryOperator, right: &Expr) -> R<E> {
        use BinaryOperator as B;
        match op {
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                let comparison = |x: &Expr| {
                    matches!(x, Expr::BinaryOp { op: B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq, .. })
                };
                if comparison(left) || comparison(right) {
                    return Err(refuse(e, cmp_sym(op), "chained comparisons (`a = b = c`) do not run in the engines"));
                }
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.compare(e, op, l, r)
            }
            B::PGLikeMatch | B::PGNotLikeMatch => self.like(e, left, right, *op == B::PGNotLikeMatch),
            B::PGStartsWith => {
                let (a, b) = (self.expr(left)?, self.expr(right)?);
                if !matches!(a.ty, T::Str | T::Null) || !matches!(b.ty, T::Str | T::Null) {
                    return Err(refuse(e, "^@", "`^@` of strings only"));
                }
                let mut out = E::new(format!("({} starts_with {})", a.text, b.text), T::Bool);
                out.constant = a.constant && b.constant;
                Ok(out)
            }
            B::Plus | B::Minus | B::Multiply | B::Divide => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.arith(e, op, l, r)
            }
            other => Err(refuse(e, &other.to_string(), "this operator has no exact segcore counterpart (SPEC §29.5)")),
        }
    }

    fn arith(&mut self, e: &Expr, op: &BinaryOperator, l: E, r: E) -> R<E> {
        use BinaryOperator as B;
        let sym = match op {
            B::Plus => "+",
            B::Minus => "-",
            B::Multiply => "*",
            _ => "/",
        };
        // Time: CURRENT_DATE - n days, NOW() ± INTERVAL, ts ± INTERVAL.
        if let K::CurDate(n) = l.kind {
            let days = match (&r.kind, &r.lit, op) {
                (K::Interval { days: Some(d), .. }, _, B::Minus) => Some(*d),
                (K::Plain, Lit::Int(d), B::Minus) => Some(*d),
                _ => None,
            };
            return match days.and_then(|d| n.checked_add(d)).filter(|t| (0..=i64::from(i32::MAX)).contains(t)) {
                Some(total) => {
                    let mut out = E::new(format!("(date(as_of) - {total}d)"), T::Date).constant();
                    out.kind = K::CurDate(total);
                    Ok(out)
                }
                None => Err(refuse(
                    e,
                    "CURRENT_DATE",
                    "only `CURRENT_DATE - n` and `CURRENT_DATE - INTERVAL 'n days'` are imported",
                )),
            };
        }
        if let K::Interval { micros: _, days } = &r.kind {
            if l.ty == T::Ts && matches!(op, B::Plus | B::Minus) && l.kind == K::Plain {
                if days.is_some() && !self.fixed_zone() {
                    return Err(refuse(
                        e,
                        &format!("INTERVAL '{}'", r.text),
                        &format!(
                            "a day interval is a calendar day in the session zone {}, which changes its offset (DST): write hours (`INTERVAL '720 hours'`) or import in a fixed zone",
                            self.zone_name
                        ),
                    ));
                }
                let mut out = E::new(format!("({} {sym} {})", l.text, r.text), T::Ts);
                out.constant = l.constant;
                return Ok(out);
            }
            return Err(refuse(e, "INTERVAL", "an interval is imported only added to or subtracted from a timestamp"));
        }
        self.plain(e, &l)?;
        if r.kind == K::NullIfZero && *op == B::Divide {
            // x / NULLIF(y, 0): NULL where segcore gives null for a zero divisor.
        } else {
            self.plain(e, &r)?;
        }
        if !l.ty.numeric() && l.ty != T::Null || !r.ty.numeric() && r.ty != T::Null {
            return Err(refuse(e, sym, &format!("`{sym}` of {} and {}", l.ty.name(), r.ty.name())));
        }
        let over_data = !(l.constant && r.constant);
        // DuckDB's `1e3` is a DOUBLE; segcore has no double literals, only exact decimals, and
        // would compute `0.1e0 + 0.2e0` exactly where DuckDB rounds.
        if [&l, &r].iter().any(|x| x.ty == T::Float && x.lit != Lit::No) {
            return Err(refuse(
                e,
                sym,
                "arithmetic on a DOUBLE literal (`1e3` in DuckDB): segcore's literals are exact decimals",
            ));
        }
        // Integer literals are 32-bit INTEGERs in both engines, and so is arithmetic on two of
        // them: fold it, refusing what overflows there (the engines fail on every row).
        if let (Lit::Int(a), Lit::Int(b), true) = (&l.lit, &r.lit, *op != B::Divide) {
            let v = match op {
                B::Plus => a.checked_add(*b),
                B::Minus => a.checked_sub(*b),
                _ => a.checked_mul(*b),
            };
            let int32 = |x: i64| i32::try_from(x).is_ok();
            return match v {
                Some(v) if int32(v) || !(int32(*a) && int32(*b)) => {
                    Ok(E::new(v.to_string(), T::Int).with_lit(Lit::Int(v)))
                }
                _ => Err(refuse(e, sym, "integer literals overflow here in the engines (32-bit INTEGER, or 64 bits), which fail on every row")),
            };
        }
        let ty = match (l.ty, r.ty) {
            (T::Float, _) | (_, T::Float) => T::Float,
            (T::Dec, _) | (_, T::Dec) => T::Dec,
            (T::Null, t) | (t, T::Null) => t,
            _ => T::Int,
        };
        let (lt, rt) = match ty {
            // A double operation: an int operand is first rounded to a double, as SQL casts it.
            T::Float => (self.as_double(&l), self.as_double(&r)),
            _ => (l.text.clone(), r.text.clone()),
        };
        if *op == B::Divide {
            match (self.d, l.ty, r.ty) {
                (Dialect::Postgres, T::Int, T::Int) => {
                    return Err(refuse(
                        e,
                        "/",
                        "PostgreSQL divides integers by truncating (7 / 2 = 3); segcore's `/` gives 3.5",
                    ))
                }
                (_, T::Dec, _) | (_, _, T::Dec) => {
                    return Err(refuse(e, "/", "decimal division rounds differently in each engine"))
                }
                _ => {}
            }
            if r.lit.is_zero() {
                return Err(refuse(e, "/", "division by a constant zero: DuckDB gives ±inf or NaN, segcore null"));
            }
            // An integer over a non-zero integer (or NULLIF(y, 0)) is finite; a double may overflow.
            let safe_divisor =
                l.ty == T::Int && r.ty == T::Int && (r.kind == K::NullIfZero || matches!(r.lit, Lit::Int(i) if i != 0));
            let finite = safe_divisor || (l.constant && r.constant && l.ty == T::Int);
            if !finite {
                self.assume(Assumption::S5, pos(e));
            }
            let mut out = E::new(format!("({lt} / {rt})"), T::Float);
            out.constant = !over_data;
            return Ok(out);
        }
        if over_data {
            match ty {
                T::Int => self.assume(Assumption::S4, pos(e)),
                T::Float => self.assume(Assumption::S5, pos(e)),
                T::Dec if *op == B::Multiply => {
                    return Err(refuse(e, "*", "decimal multiplication widens the scale in the engines; not imported"))
                }
                T::Dec => self.assume(Assumption::S4, pos(e)),
                _ => {}
            }
        }
        let mut out = E::new(format!("({lt} {sym} {rt})"), ty);
        out.constant = !over_data;
        Ok(out)
    }

    /// The operand as the double SQL converts it to.
    fn as_double(&self, x: &E) -> String {
        match (&x.ty, &x.lit) {
            (T::Int, Lit::Int(i)) if i.unsigned_abs() <= 1 << 53 => x.text.clone(),
            (T::Int, _) => format!("({} / 1)", x.text),
            _ => x.text.clone(),
        }
    }

    fn compare(&mut self, e: &Expr, op: &BinaryOperator, l: E, r: E) -> R<E> {
        use BinaryOperator as B;
        let sym = cmp_sym(op);
        // CURRENT_DATE against a column: calendar days in the session zone.
        if matches!(l.kind, K::CurDate(_)) || matches!(r.kind, K::CurDate(_)) {
            let (col, n, op) = match (&l.kind, &r.kind) {
                (K::Plain, K::CurDate(n)) => (l.clone(), *n, op.clone()),
                (K::CurDate(n), K::Plain) => (r.clone(), *n, flip(op)),
                _ => return Err(refuse(e, "CURRENT_DATE", "CURRENT_DATE is imported compared with a column")),
            };
            if !crate::time::irregular_midnights(&self.zone).is_empty() {
                return Err(refuse(
                    e,
                    "CURRENT_DATE",
                    &format!("some local midnight in {} is skipped or repeated: the engines and SPEC §9 place that day's start differently", self.zone_name),
                ));
            }
            return match (col.ty, &op) {
                (T::Ts, B::GtEq) => Ok(E::new(format!("(days_since({}) <= {n})", col.text), T::Bool)),
                (T::Ts, B::Lt) => Ok(E::new(format!("(days_since({}) > {n})", col.text), T::Bool)),
                (T::Date, _) if n == 0 => {
                    let sym = cmp_sym(&op);
                    Ok(E::new(format!("({} {sym} date(as_of))", col.text), T::Bool))
                }
                _ => Err(refuse(
                    e,
                    "CURRENT_DATE",
                    "a timestamp is imported compared with CURRENT_DATE [- n days] by `>=` or `<` (whole local days); other forms depend on the time of day",
                )),
            };
        }
        self.plain(e, &l)?;
        self.plain(e, &r)?;
        let constant = l.constant && r.constant;
        let done = |text: String| {
            let mut out = E::new(text, T::Bool);
            out.constant = constant;
            Ok(out)
        };
        if l.ty == T::Null || r.ty == T::Null {
            return done("null".into());
        }
        let (lt, rt) =
            match (l.ty, r.ty) {
                (a, b) if a == b && a != T::Float => {
                    if a == T::Bool && !matches!(op, B::Eq | B::NotEq) {
                        return Err(refuse(e, sym, "booleans are not ordered in segcore"));
                    }
                    if a == T::Dur {
                        return Err(refuse(e, sym, "interval comparisons are outside the subset"));
                    }
                    let ordered = !matches!(op, B::Eq | B::NotEq);
                    if a == T::Str && ordered && !l.collate_c && !r.collate_c {
                        self.assume(Assumption::S3, pos(e));
                    }
                    (l.text.clone(), r.text.clone())
                }
                (T::Int | T::Dec, T::Int | T::Dec) => (l.text.clone(), r.text.clone()),
                (T::Float, T::Float) => (l.text.clone(), r.text.clone()),
                (T::Float, T::Int) | (T::Int, T::Float) => (self.as_double(&l), self.as_double(&r)),
                (T::Float, T::Dec) | (T::Dec, T::Float) => {
                    let dec = if l.ty == T::Dec { &l } else { &r };
                    // A decimal literal of up to 18 digits rounds correctly to a double in both
                    // engines; a decimal column goes through DuckDB's two-step conversion.
                    match &dec.lit {
                        Lit::Num(d) if significant_digits(d) <= 18 || self.d == Dialect::Postgres => {}
                        _ => return Err(refuse(
                            e,
                            sym,
                            "a decimal compared with a double: exact only for decimal literals of at most 18 digits",
                        )),
                    }
                    (l.text.clone(), r.text.clone())
                }
                (T::Ts, T::Date) | (T::Date, T::Ts) => {
                    if !crate::time::irregular_midnights(&self.zone).is_empty() {
                        return Err(refuse(e, sym, "a date against a timestamp in a zone with irregular midnights"));
                    }
                    (l.text.clone(), r.text.clone())
                }
                (T::Ts, T::Str) | (T::Str, T::Ts) | (T::Date, T::Str) | (T::Str, T::Date) => {
                    // A string literal compared with a time column is read as that type.
                    let (col_ty, s) = if l.ty == T::Str { (r.ty, &l) } else { (l.ty, &r) };
                    let Lit::Str(text) = &s.lit else {
                        return Err(refuse(e, sym, "a string column compared with a time column"));
                    };
                    let lit = if col_ty == T::Ts {
                        let t = self.timestamp_text(e, text, true)?; // TIMESTAMPTZ (S1): an offset counts
                        format!("timestamp(\"{t}\")")
                    } else {
                        date_text(e, text)?
                    };
                    if l.ty == T::Str {
                        (lit, r.text.clone())
                    } else {
                        (l.text.clone(), lit)
                    }
                }
                (a, b) => {
                    return Err(refuse(
                        e,
                        sym,
                        &format!(
                            "{} compared with {}: the engines convert implicitly or refuse; import does neither",
                            a.name(),
                            b.name()
                        ),
                    ))
                }
            };
        done(format!("({lt} {sym} {rt})"))
    }

    /// A subquery over the events table: EXISTS, a scalar aggregate, or `id IN (SELECT entity_id …)`.
    fn events_subquery(&mut self, e: &Expr, q: &Query, mode: Mode) -> R<E> {
        if self.event.is_some() {
            return Err(refuse(e, "subquery", "nested subqueries are outside the subset"));
        }
        let sel = self.plain_select(q, "a subquery")?;
        let events = self.tables.events.clone();
        let (alias, _) = self.single_table(sel, &events, "a subquery's table").map_err(|mut r| {
            r.reason = format!("{} (a subquery over the profiles table compares profiles with each other)", r.reason);
            r
        })?;
        let aliases = vec![alias.unwrap_or_else(|| events.clone())];
        // An inner alias that is also the outer one shadows it: `p.id` would read the events.
        if aliases.iter().any(|a| self.outer.iter().any(|o| o.eq_ignore_ascii_case(a))) {
            return Err(refuse(
                q,
                "subquery",
                "the subquery's table alias hides the profiles table's: SQL reads the inner one (rename it)",
            ));
        }
        let Some(selection) = &sel.selection else {
            return Err(refuse(q, "subquery", "the subquery needs `WHERE e.entity_id = p.id AND e.name = '…'`"));
        };
        let mut conjuncts = Vec::new();
        flatten(selection, &BinaryOperator::And, &mut conjuncts);
        // Sort the conjuncts: correlation, the event name, window bounds, the rest.
        self.event = Some(EventScope { name: String::new(), aliases: aliases.clone() });
        let result = self.events_subquery_body(e, q, sel, &conjuncts, mode);
        self.event = None;
        result
    }

    fn events_subquery_body(&mut self, e: &Expr, q: &Query, sel: &Select, conjuncts: &[&Expr], mode: Mode) -> R<E> {
        let (entity, name_col, at_col, id_col) =
            (self.tables.entity_id.clone(), self.tables.name.clone(), self.tables.at.clone(), self.tables.id.clone());
        let mut correlated = false;
        let mut event_name: Option<String> = None;
        let mut lower: Option<String> = None;
        let mut upper_inclusive = false;
        let mut rest: Vec<&Expr> = Vec::new();
        for c in conjuncts {
            if let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = c {
                let corr = (self.is_event_column(left, &entity) && self.is_profile_column(right, &id_col))
                    || (self.is_event_column(right, &entity) && self.is_profile_column(left, &id_col));
                if corr {
                    if correlated {
                        return Err(refuse(*c, "subquery", "the subquery correlates twice"));
                    }
                    correlated = true;
                    continue;
                }
                let name_lit = |a: &Expr, b: &Expr| -> Option<String> {
                    if !self.is_event_column(a, &name_col) {
                        return None;
                    }
                    match b {
                        Expr::Value(v) => match &v.value {
                            Value::Number(..) | Value::Null | Value::Boolean(_) => None,
                            other => string_value(other),
                        },
                        _ => None,
                    }
                };
                if let Some(n) = name_lit(left, right).or_else(|| name_lit(right, left)) {
                    if event_name.is_some() {
                        return Err(refuse(*c, "subquery", "the subquery names its event twice"));
                    }
                    event_name = Some(n);
                    continue;
                }
            }
            // Window bounds: e.at >= NOW() - INTERVAL '…' and e.at <= NOW().
            if let Some(strict) = self.upper_bound(c, &at_col) {
                // `e.at <= NOW()` is segcore's own bound (§11); `e.at < NOW()` stays a filter too.
                upper_inclusive = true;
                if strict {
                    rest.push(c);
                }
                continue;
            }
            if let Expr::BinaryOp { left, op, right } = c {
                if self.is_event_column(left, &at_col) && *op == BinaryOperator::GtEq && lower.is_none() {
                    if let Some(d) = self.now_minus(right) {
                        lower = Some(d);
                        continue;
                    }
                }
            }
            if let Expr::Between { expr, negated: false, low, high } = c {
                if self.is_event_column(expr, &at_col) && self.is_now(high) && lower.is_none() {
                    if let Some(d) = self.now_minus(low) {
                        lower = Some(d);
                        upper_inclusive = true;
                        continue;
                    }
                }
            }
            rest.push(c);
        }
        let needs_correlation = mode != Mode::Ids;
        if needs_correlation && !correlated {
            return Err(refuse(
                q,
                "subquery",
                &format!("the subquery must be correlated with `{}.{entity} = p.{id_col}` (uncorrelated subqueries compare profiles with each other)", self.tables.events),
            ));
        }
        let Some(event) = event_name else {
            return Err(refuse(
                q,
                "subquery",
                &format!("the subquery must name one event: `e.{name_col} = 'purchase'`"),
            ));
        };
        if !self.schema.events.contains_key(&event) {
            return Err(refuse(q, &event, &format!("the event `{event}` is not in the schema's `events`")));
        }
        if let Some(s) = self.event.as_mut() {
            s.name = event.clone();
        }
        let mut filters = Vec::new();
        for c in rest {
            let x = self.expr(c)?;
            if !matches!(x.ty, T::Bool | T::Null) || x.kind != K::Plain {
                return Err(refuse(c, "WHERE", "a subquery condition must be a boolean"));
            }
            filters.push(x.text);
        }
        if !upper_inclusive {
            // segcore never sees an event after `as_of`; the table may hold some.
            self.assume(Assumption::S2, pos(e));
        }
        self.assume(Assumption::S1, pos(e));
        let ev = if is_ident(&event) { event.clone() } else { quote(&event) };
        let tail = |extra: Option<String>| {
            let mut fs = filters.clone();
            if let Some(x) = extra {
                fs.push(x);
            }
            let mut t = String::new();
            if !fs.is_empty() {
                t.push_str(" where ");
                t.push_str(&fs.join(" and "));
            }
            if let Some(w) = &lower {
                t.push_str(" within ");
                t.push_str(w);
            }
            t
        };
        let projection = match sel.projection.as_slice() {
            [SelectItem::UnnamedExpr(p)] | [SelectItem::ExprWithAlias { expr: p, .. }] => Some(p),
            _ => None,
        };
        match mode {
            Mode::Exists => Ok(E::new(format!("exists({ev}{})", tail(None)), T::Bool)),
            Mode::Ids => {
                if !projection.is_some_and(|p| self.is_event_column(p, &entity)) {
                    return Err(refuse(q, "IN (SELECT …)", &format!("the subquery must select `{entity}`")));
                }
                Ok(E::new(format!("exists({ev}{})", tail(None)), T::Bool))
            }
            Mode::Scalar => {
                let Some(Expr::Function(f)) = projection else {
                    return Err(refuse(
                        q,
                        "subquery",
                        "a scalar subquery must select one aggregate: COUNT, SUM, MIN or MAX",
                    ));
                };
                let fname = call_name(f);
                let p = projection.expect("checked");
                if !plain_call(f) {
                    return Err(refuse(p, &fname, "window functions and aggregate modifiers are outside the subset"));
                }
                let FunctionArguments::List(list) = &f.args else {
                    return Err(refuse(p, &fname, "an aggregate takes an argument list"));
                };
                if !list.clauses.is_empty() {
                    return Err(refuse(p, &fname, "aggregate clauses (ORDER BY …) are outside the subset"));
                }
                let distinct = matches!(list.duplicate_treatment, Some(sqlparser::ast::DuplicateTreatment::Distinct));
                let arg = match list.args.as_slice() {
                    [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] => None,
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))] => Some(x),
                    _ => return Err(refuse(p, &fname, "an aggregate of one column")),
                };
                let column = match arg {
                    Some(Expr::Value(v)) if matches!(&v.value, Value::Number(n, _) if n == "1") => None,
                    Some(x) => {
                        let c = self.expr(x)?;
                        if c.text == "at" || !is_ident(&c.text) {
                            return Err(refuse(x, &fname, "an aggregate of one property column"));
                        }
                        Some(c)
                    }
                    None => None,
                };
                match (fname.as_str(), column, distinct) {
                    ("count", None, false) => Ok(E::new(format!("count({ev}{})", tail(None)), T::Int)),
                    ("count", Some(c), false) => {
                        Ok(E::new(format!("count({ev}{})", tail(Some(format!("{} is not null", c.text)))), T::Int))
                    }
                    ("count", Some(c), true) if c.ty != T::Float => {
                        Ok(E::new(format!("distinct_count({ev}.{}{})", c.text, tail(None)), T::Int))
                    }
                    ("sum", Some(c), false) if matches!(c.ty, T::Int | T::Dec) => {
                        self.assume(Assumption::S4, pos(p));
                        let plain = format!("sum({ev}.{}{})", c.text, tail(None));
                        // SQL's SUM of no non-null value is NULL, segcore's 0 (§11): `max(…) * 0`
                        // is NULL exactly then, and 0 otherwise.
                        let guarded = format!("({plain} + max({ev}.{}{}) * 0)", c.text, tail(None));
                        let mut out = E::new(guarded, c.ty);
                        out.kind = K::Sum(plain);
                        Ok(out)
                    }
                    ("min" | "max", Some(c), false) if c.ty != T::Bool => {
                        if c.ty == T::Str {
                            self.assume(Assumption::S3, pos(p));
                        }
                        Ok(E::new(format!("{fname}({ev}.{}{})", c.text, tail(None)), c.ty))
                    }
                    ("avg", ..) => Err(refuse(p, "AVG", "the engines round averages differently (DuckDB: a double of a 128-bit sum; PostgreSQL: numeric)")),
                    ("sum", Some(c), _) if c.ty == T::Float => {
                        Err(refuse(p, "SUM", "a sum of doubles depends on the engine's summation order"))
                    }
                    _ => Err(refuse(p, &fname, "outside the imported aggregates (COUNT, COUNT(DISTINCT), SUM of integers or decimals, MIN, MAX)")),
                }
            }
        }
    }

    fn is_now(&self, e: &Expr) -> bool {
        let e = match e {
            Expr::Nested(x) => x.as_ref(),
            x => x,
        };
        matches!(e, Expr::Function(f) if now_call(self.d, f))
    }

    /// `e.at <= NOW()` (`Some(false)`) or `e.at < NOW()` (`Some(true)`), either way round.
    fn upper_bound(&self, c: &Expr, at_col: &str) -> Option<bool> {
        let c = match c {
            Expr::Nested(x) => x.as_ref(),
            x => x,
        };
        let Expr::BinaryOp { left, op, right } = c else { return None };
        let (col, op, now) = if self.is_now(left) { (right, flip(op), left) } else { (left, op.clone(), right) };
        if !self.is_event_column(col, at_col) || !self.is_now(now) {
            return None;
        }
        match op {
            BinaryOperator::LtEq => Some(false),
            BinaryOperator::Lt => Some(true),
            _ => None,
        }
    }

    /// `NOW() - INTERVAL 'n unit'` → the segcore duration `n<unit>`.
    fn now_minus(&mut self, e: &Expr) -> Option<String> {
        let e = match e {
            Expr::Nested(x) => x.as_ref(),
            x => x,
        };
        let Expr::BinaryOp { left, op: BinaryOperator::Minus, right } = e else { return None };
        if !self.is_now(left) {
            return None;
        }
        let Expr::Interval(iv) = right.as_ref() else { return None };
        let x = self.interval(right, iv).ok()?;
        match x.kind {
            K::Interval { days: Some(_), .. } if !self.fixed_zone() => None,
            K::Interval { micros, .. } if micros >= 0 => Some(x.text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exists,
    Scalar,
    Ids,
}

/// A function's name, lower case (`""` for a qualified or computed name).
fn call_name(f: &sqlparser::ast::Function) -> String {
    object_name(&f.name)
        .and_then(|p| match p.as_slice() {
            [i] => Some(i.value.to_lowercase()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A call without window, filter or other modifiers.
fn plain_call(f: &sqlparser::ast::Function) -> bool {
    f.over.is_none() && f.filter.is_none() && f.within_group.is_empty() && f.null_treatment.is_none()
}

/// The spellings of "now" each engine runs (`current_timestamp()` is a syntax error in both,
/// `get_current_timestamp()` is DuckDB's only).
fn now_call(d: Dialect, f: &sqlparser::ast::Function) -> bool {
    let (parens, args) = match &f.args {
        FunctionArguments::None => (false, true),
        FunctionArguments::List(l) => {
            (true, l.args.is_empty() && l.clauses.is_empty() && l.duplicate_treatment.is_none())
        }
        FunctionArguments::Subquery(_) => (true, false),
    };
    if !args || !plain_call(f) || !matches!(f.parameters, FunctionArguments::None) {
        return false;
    }
    match call_name(f).as_str() {
        "now" | "transaction_timestamp" => parens,
        "get_current_timestamp" => parens && d == Dialect::DuckDb,
        "current_timestamp" => !parens,
        _ => false,
    }
}

/// Where an expression starts, without `Spanned::span`'s walk over the whole subtree: down the
/// left operands of the chains SQL parses in a loop, then the leaf's own span.
fn start(e: &Expr) -> sqlparser::tokenizer::Location {
    let mut x = e;
    loop {
        x = match x {
            Expr::BinaryOp { left, .. } => left,
            Expr::IsNull(a)
            | Expr::IsNotNull(a)
            | Expr::IsTrue(a)
            | Expr::IsNotTrue(a)
            | Expr::IsFalse(a)
            | Expr::IsNotFalse(a)
            | Expr::IsUnknown(a)
            | Expr::IsNotUnknown(a)
            | Expr::IsDistinctFrom(a, _)
            | Expr::IsNotDistinctFrom(a, _) => a,
            Expr::Like { expr, .. } | Expr::ILike { expr, .. } | Expr::Between { expr, .. } | Expr::In { expr, .. } => {
                expr
            }
            Expr::Collate { expr, .. } => expr,
            Expr::Cast { kind: CastKind::DoubleColon, expr, .. } => expr,
            Expr::Nested(inner) => inner,
            // Nodes whose span would be the union of a whole subquery or argument list.
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => return subquery.at(),
            Expr::Function(f) => {
                return object_name(&f.name)
                    .and_then(|p| p.first().map(|i| i.span.start))
                    .unwrap_or(Location { line: 1, column: 1 })
            }
            Expr::Case { case_token, .. } => return case_token.0.span.start,
            other => return other.span().start,
        };
    }
}

/// The parser builds a chain of infix operators (`a OR b OR …`, `x + 1 + 1 …`) in a loop, as a
/// tree as deep as the chain; dropping or walking it recurses that deep. Long runs are refused
/// before parsing, so no run is deeper than this at one level of parentheses.
const MAX_OPERATOR_RUN: usize = 2_000;

/// Checks the runs of operators, and tells whether the text is a statement (`SELECT`, `WITH`)
/// rather than a bare expression.
fn operator_runs(source: &str, dialect: &dyn ParserDialect) -> Result<bool, String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    // Tokenizer errors surface from the parser, with its position.
    let Ok(tokens) = Tokenizer::new(dialect, source).tokenize() else { return Ok(false) };
    let statement = tokens
        .iter()
        .find(|t| !matches!(t, Token::Whitespace(_)))
        .is_some_and(|t| matches!(t, Token::Word(w) if matches!(w.keyword, Keyword::SELECT | Keyword::WITH)));
    let mut runs: Vec<usize> = vec![0];
    for t in &tokens {
        let operator = match t {
            Token::LParen | Token::LBracket => {
                runs.push(0);
                false
            }
            Token::RParen | Token::RBracket => {
                if runs.len() > 1 {
                    runs.pop();
                }
                false
            }
            Token::Word(w) => matches!(
                w.keyword,
                Keyword::AND
                    | Keyword::OR
                    | Keyword::IS
                    | Keyword::LIKE
                    | Keyword::ILIKE
                    | Keyword::BETWEEN
                    | Keyword::IN
                    | Keyword::COLLATE
                    | Keyword::SIMILAR
                    | Keyword::AT
            ),
            Token::Whitespace(_)
            | Token::Comma
            | Token::Period
            | Token::SemiColon
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::EOF => false,
            _ => true,
        };
        if operator {
            let n = runs.last_mut().expect("never empty");
            *n += 1;
            if *n > MAX_OPERATOR_RUN {
                return Err(format!(
                    "more than {MAX_OPERATOR_RUN} operators in a row at one level of parentheses: too long a chain to import (use `IN (…)` for long lists of values)"
                ));
            }
        }
    }
    Ok(statement)
}

/// A DATE literal's text as segcore's `date("…")`.
fn date_text(e: &Expr, text: &str) -> R<String> {
    let d: jiff::civil::Date =
        text.trim().parse().map_err(|_| refuse(e, "DATE", "the date literal is not YYYY-MM-DD"))?;
    if d.year() < 1 {
        return Err(refuse(e, "DATE", "a date before year 1 (the engines and segcore count those years differently)"));
    }
    Ok(format!("date(\"{d}\")"))
}

fn flip(op: &BinaryOperator) -> BinaryOperator {
    use BinaryOperator as B;
    match op {
        B::Lt => B::Gt,
        B::LtEq => B::GtEq,
        B::Gt => B::Lt,
        B::GtEq => B::LtEq,
        other => other.clone(),
    }
}

fn cmp_sym(op: &BinaryOperator) -> &'static str {
    use BinaryOperator as B;
    match op {
        B::Eq => "=",
        B::NotEq => "!=",
        B::Lt => "<",
        B::LtEq => "<=",
        B::Gt => ">",
        _ => ">=",
    }
}

fn string_value(v: &Value) -> Option<String> {
    match v {
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) | Value::UnicodeStringLiteral(s) => {
            Some(s.clone())
        }
        Value::DollarQuotedString(d) => Some(d.value.clone()),
        _ => None,
    }
}

/// `+00` → `+00:00`, `+0530` → `+05:30` at the end of an RFC 3339-like text.
fn fix_offset(t: &str) -> String {
    let Some(i) = t.rfind(['+', '-']).filter(|i| t[..*i].contains('T') && *i > 10) else { return t.to_string() };
    let (head, off) = t.split_at(i);
    let digits: String = off[1..].chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = &off[..1];
    match digits.len() {
        2 => format!("{head}{sign}{digits}:00"),
        4 => format!("{head}{sign}{}:{}", &digits[..2], &digits[2..]),
        _ => t.to_string(),
    }
}

/// A decimal as segcore reads it back as a decimal: always with a point (`1e20` is
/// `100000000000000000000.0`, not an integer literal beyond 64 bits).
fn number_text(d: &rust_decimal::Decimal) -> String {
    let t = d.to_string();
    if t.contains('.') {
        t
    } else {
        format!("{t}.0")
    }
}

fn significant_digits(d: &rust_decimal::Decimal) -> usize {
    d.normalize().mantissa().unsigned_abs().to_string().trim_end_matches('0').len().max(1)
}

fn construct_name(e: &Expr) -> &'static str {
    match e {
        Expr::Extract { .. } => "EXTRACT",
        Expr::AtTimeZone { .. } => "AT TIME ZONE",
        Expr::Substring { .. } => "SUBSTRING",
        Expr::Trim { .. } => "TRIM",
        Expr::Position { .. } => "POSITION",
        Expr::Ceil { .. } => "CEIL",
        Expr::Floor { .. } => "FLOOR",
        Expr::Tuple(_) => "tuple",
        Expr::Array(_) => "ARRAY",
        Expr::AnyOp { .. } => "ANY",
        Expr::AllOp { .. } => "ALL",
        Expr::Cast { .. } => "CAST",
        Expr::Convert { .. } => "CONVERT",
        Expr::Interval(_) => "INTERVAL",
        Expr::Function(_) => "function",
        Expr::Subquery(_) => "subquery",
        Expr::Case { .. } => "CASE",
        _ => "expression",
    }
}

#[cfg(test)]
mod tests {
    use crate::import::{import, Format, Options, Status};
    use crate::ErrorKind;

    fn options() -> Options {
        let schema = serde_json::json!({"attributes": {"age": "int"}, "events": {"purchase": {"qty": "int"}}});
        Options::new().schema_json(&schema).unwrap()
    }

    /// Hostile shapes on a 1 MiB stack (WebAssembly's default): long left-deep chains are built
    /// by the parser in a loop, and walking, cloning or dropping them must not recurse past it.
    /// A 1 MiB stack (WebAssembly's default) in optimised builds; unoptimised frames are several
    /// times larger, so debug runs get 16 MiB (`cargo test --release` checks the 1 MiB claim).
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        let size = if cfg!(debug_assertions) { 16 << 20 } else { 1 << 20 };
        std::thread::Builder::new().stack_size(size).spawn(f).unwrap().join().unwrap();
    }

    // Hostile shapes: long left-deep chains are built by the parser in a loop, and walking or
    // dropping them must not recurse past the stack.
    #[test]
    fn a_wide_or_on_a_small_stack() {
        on_small_stack(|| {
            let ors = (0..1000).map(|i| format!("age = {i}")).collect::<Vec<_>>().join(" OR ");
            let wide = import(Format::Sql, &ors, &options()).unwrap();
            assert_eq!(wide.report.status, Status::ExactUnder);
        });
    }

    #[test]
    fn a_deep_sum_on_a_small_stack() {
        on_small_stack(|| {
            let sums = format!("age{} > 0", " + 1".repeat(1999));
            let deep = import(Format::Sql, &sums, &options()).unwrap();
            assert_eq!(deep.report.refusals[0].construct, "nesting");
            assert_eq!(deep.report.refusals[0].path, "1:1");
        });
    }

    #[test]
    fn too_long_and_too_nested_do_not_read() {
        on_small_stack(|| {
            let o = options();
            let too_long = format!("age{} > 0", " + 1".repeat(2001));
            assert_eq!(import(Format::Sql, &too_long, &o).unwrap_err().kind(), ErrorKind::ImportInvalid);
            let parens = format!("{}age > 0{}", "(".repeat(100), ")".repeat(100));
            assert_eq!(import(Format::Sql, &parens, &o).unwrap_err().kind(), ErrorKind::ImportInvalid);
        });
    }

    #[test]
    fn many_nots_on_a_small_stack() {
        on_small_stack(|| {
            let nots = format!("{}age > 0", "NOT ".repeat(3000));
            assert!(import(Format::Sql, &nots, &options()).is_err());
        });
    }

    #[test]
    fn a_deep_filter_on_a_small_stack() {
        on_small_stack(|| {
            let sub = format!(
                "EXISTS (SELECT 1 FROM events e WHERE e.entity_id = p.id AND e.name = 'purchase' AND e.qty{} > 0)",
                " + 1".repeat(1990)
            );
            assert_eq!(import(Format::Sql, &sub, &options()).unwrap().report.refusals[0].construct, "nesting");
        });
    }

    fn refused(text: &str, dialect: &str, schema: serde_json::Value) -> Option<String> {
        let o = Options::new().schema_json(&schema).unwrap().dialect(dialect);
        let out = import(Format::Sql, text, &o).unwrap();
        out.report.refusals.first().map(|r| r.construct.clone())
    }

    /// What the engines reject or compute otherwise, found by review against DuckDB 2.0.1 and
    /// PostgreSQL 15 (each checked there): refused, never imported.
    #[test]
    fn what_the_engines_reject_is_refused() {
        let s = serde_json::json!({"attributes": {"age": "int", "b": "bool"},
                                   "events": {"purchase": {"id": "string", "qty": "int"}}});
        // 32-bit INTEGER literals overflow in both engines, on every row.
        assert_eq!(refused("2147483647 + 1 > age", "postgres", s.clone()).as_deref(), Some("+"));
        assert_eq!(refused("100000 * 100000 > age", "duckdb", s.clone()).as_deref(), Some("*"));
        assert_eq!(refused("-9223372036854775807 - 2 < age", "duckdb", s.clone()).as_deref(), Some("-"));
        // A BIGINT literal keeps 64-bit arithmetic: 3000000000 * 2 runs.
        assert_eq!(refused("3000000000 * 2 > age", "duckdb", s.clone()), None);
        // Chained comparisons do not parse in the engines.
        assert_eq!(refused("age = 1 = b", "duckdb", s.clone()).as_deref(), Some("="));
        // `current_timestamp()` is a syntax error; `get_current_timestamp()` is DuckDB's only.
        assert!(refused("current_timestamp() > TIMESTAMPTZ '2026-01-01 00:00:00+00'", "duckdb", s.clone()).is_some());
        assert!(
            refused("get_current_timestamp() > TIMESTAMPTZ '2026-01-01 00:00:00+00'", "postgres", s.clone()).is_some()
        );
        // DOUBLE is not a PostgreSQL type; TIMESTAMP(0) rounds the literal there.
        assert!(refused("CAST(age AS DOUBLE) > 1", "postgres", s.clone()).is_some());
        assert!(refused("CAST(age AS DOUBLE) > 1", "duckdb", s.clone()).is_none());
        assert!(refused(
            "TIMESTAMP(0) '2026-01-01 10:00:00.7' < TIMESTAMPTZ '2026-01-01 00:00:00+00'",
            "postgres",
            s.clone()
        )
        .is_some());
        // The bare expression's table is `p`: `profiles.age` does not resolve there.
        assert!(refused("profiles.age > 1", "postgres", s.clone()).is_some());
        // `at` is reserved in DuckDB; a property named `id` would read segcore's entity id.
        let e = serde_json::json!({"attributes": {"at": "int"}, "events": {"purchase": {"id": "string"}}});
        assert_eq!(refused("at > 1", "duckdb", e.clone()).as_deref(), Some("at"));
        assert_eq!(refused("at > 1", "postgres", e.clone()), None);
        let sub = "EXISTS (SELECT 1 FROM events e WHERE e.entity_id = p.id AND e.name = 'purchase' AND e.id = 'x' AND e.at <= NOW())";
        assert_eq!(refused(sub, "duckdb", e).as_deref(), Some("id"));
        // A DuckDB decimal with more than 18 places fails for large BIGINTs there.
        assert!(refused("age < 1.0000000000000000001", "duckdb", s.clone()).is_some());
        assert!(refused("age < 1.0000000000000000001", "postgres", s).is_none());
    }
}
