//! SQL generation: the same compiled definitions the interpreter runs, as one query per registry
//! for DuckDB, PostgreSQL, Spark, BigQuery and Snowflake.
//!
//! The query reads two documented input tables and returns the membership table:
//!
//! - `profiles(id, <one column per attribute read>)`
//! - `events(entity_id, seq, name, at, <one column per event property read>)`: long form, one
//!   row per event; `seq` is the event's position in its profile's input (ties of `first`/`last`).
//! - result: `entity_id, segment_id, version, definition_hash, as_of, member, outcome`.
//!
//! Money columns are two columns, `<name>_amount` (decimal) and `<name>_currency` (ISO code).
//! The evaluation context (`as_of`, FX quotes) is fixed at generation time and written into the
//! query as literals, exactly as the interpreter receives it; window bounds and literals read
//! in a segment's time zone are computed by the core, not by the database.
//!
//! Anything a dialect cannot express with the interpreter's exact meaning is refused with a
//! [`crate::ErrorKind::SqlUnsupported`] diagnostic naming the construct, the dialect and its position.
//!
//! ```
//! use segcore::{Definition, Registry, Schema};
//! use segcore::sql::{to_sql, Dialect, SqlOptions};
//!
//! let schema = Schema::from_json_str(r#"{"attributes": {"age": "int"}, "events": {}}"#).unwrap();
//! let reg = Registry::from_definitions(vec![Definition::new("adults", "1.0.0", "age >= 18")], Some(&schema)).unwrap();
//! let opts = SqlOptions::new(Dialect::DuckDb, segcore::parse_as_of("2026-03-15T00:00:00Z").unwrap());
//! let query = to_sql(reg.program(), &opts).unwrap();
//! assert!(query.sql.contains(r#"(p."age" >= 18)"#));
//! assert_eq!(query.profile_columns[1].name, "age");
//! ```

mod dialect;
mod expr;
mod fingerprint;
mod format;
mod regex;

use std::fmt::Write as _;

pub use dialect::Dialect;
pub use fingerprint::{fingerprint_sql, FingerprintSource};

use crate::context::FxRates;
use crate::error::{Diagnostic, Error};
use crate::ir::Ty;
use crate::program::Program;
use crate::segment::Segment;
use expr::{Columns, Gen};

/// What to generate: the dialect, the evaluation context, and the input table names.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// The SQL dialect to generate.
    pub dialect: Dialect,
    /// The evaluation instant (µs since the epoch, UTC).
    pub as_of: i64,
    /// FX quotes for money conversion (SPEC §10).
    pub fx: FxRates,
    /// Name of the profiles table (default `profiles`), written as given (may be qualified).
    pub profiles_table: String,
    /// Name of the events table (default `events`).
    pub events_table: String,
}

impl SqlOptions {
    /// Options for an evaluation context (its `as_of` and FX quotes; referenced segments'
    /// results do not apply: the query computes them), from a dialect name; an unknown name is
    /// `sql_unsupported`, listing the dialects.
    pub fn from_context(dialect: &str, cx: &crate::EvalContext) -> Result<SqlOptions, Error> {
        let d = dialect.parse().map_err(|m: String| Error::new(crate::ErrorKind::SqlUnsupported, m))?;
        let mut opts = SqlOptions::new(d, cx.as_of);
        opts.fx = cx.fx.clone();
        Ok(opts)
    }

    /// Options with no FX quotes and the default table names.
    pub fn new(dialect: Dialect, as_of: i64) -> SqlOptions {
        SqlOptions {
            dialect,
            as_of,
            fx: FxRates::new(),
            profiles_table: "profiles".into(),
            events_table: "events".into(),
        }
    }
}

/// One input column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name: the attribute or property (money: `<name>_amount` and `<name>_currency`).
    pub name: String,
    /// The segcore type of its values.
    pub ty: Ty,
    /// The dialect's column type.
    pub sql_type: String,
}

/// A generated query and the input columns it reads.
#[derive(Debug, Clone)]
pub struct SqlQuery {
    /// The dialect it was generated for.
    pub dialect: Dialect,
    /// The query text, ending with a newline (no trailing semicolon).
    pub sql: String,
    /// Columns of the profiles table: `id` first, then attributes by name.
    pub profile_columns: Vec<Column>,
    /// Columns of the events table: `entity_id, seq, name, at`, then properties by name.
    pub event_columns: Vec<Column>,
}

impl SqlQuery {
    /// The query as JSON for the JS bindings: `{dialect, sql, ddl, profileColumns,
    /// eventColumns}`, columns as `{name, type, sqlType}`.
    pub fn to_json(&self, opts: &SqlOptions) -> serde_json::Value {
        let cols = |cs: &[Column]| -> Vec<serde_json::Value> {
            cs.iter().map(|c| serde_json::json!({"name": c.name, "type": c.ty.name(), "sqlType": c.sql_type})).collect()
        };
        serde_json::json!({
            "dialect": self.dialect.name(),
            "sql": self.sql,
            "ddl": self.ddl(opts),
            "profileColumns": cols(&self.profile_columns),
            "eventColumns": cols(&self.event_columns),
        })
    }

    /// `CREATE TABLE` statements for the input tables (for tests and loading scripts).
    pub fn ddl(&self, opts: &SqlOptions) -> String {
        let mut out = String::new();
        for (table, cols) in [(&opts.profiles_table, &self.profile_columns), (&opts.events_table, &self.event_columns)]
        {
            let body: Vec<String> =
                cols.iter().map(|c| format!("  {} {}", self.dialect.ident(&c.name), c.sql_type)).collect();
            let _ = writeln!(out, "CREATE TABLE {table} (\n{}\n);", body.join(",\n"));
        }
        out
    }
}

/// Generates the membership query for every segment of a program (dependencies first, as
/// CTEs). All unsupported constructs of all segments are reported together. `in_segment` needs
/// the referenced segment in the same program.
pub fn to_sql(program: &Program, opts: &SqlOptions) -> Result<SqlQuery, Error> {
    // The query's `as_of` is a literal: the versions in force then are the ones generated (SPEC §1).
    generate(program.at(opts.as_of).dependency_order().collect(), opts)
}

fn generate(segments: Vec<&Segment>, opts: &SqlOptions) -> Result<SqlQuery, Error> {
    generate_at_width(segments, opts, format::WIDTH)
}

/// `width`: where rule expressions are broken into lines (tests compare against no breaks).
fn generate_at_width(segments: Vec<&Segment>, opts: &SqlOptions, width: usize) -> Result<SqlQuery, Error> {
    let d = opts.dialect;
    let mut columns = Columns::default();
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut ctes = Vec::new();
    let known: Vec<&str> = segments.iter().map(|s| s.id()).collect();
    for seg in &segments {
        let mut g = Gen::new(d, seg, opts.as_of, &opts.fx, &mut columns, &opts.events_table);
        let value = if seg.is_effective(opts.as_of) { g.rule(seg.ir()) } else { Ok("FALSE".into()) };
        let refs = std::mem::take(&mut g.refs);
        let uses_aggregates = g.uses_aggregates;
        errors.append(&mut g.errors);
        for r in &refs {
            if !known.contains(&r.as_str()) {
                errors.push(
                    Diagnostic::new(
                        crate::ErrorKind::SqlUnsupported,
                        format!("`in_segment(\"{r}\")` needs the segment `{r}` in the same registry"),
                    )
                    .with_origin(seg.id()),
                );
            }
        }
        if let Ok(value) = value {
            ctes.push((seg, value, refs, uses_aggregates));
        }
    }
    if !errors.is_empty() {
        return Err(Error::from_diagnostics(errors));
    }
    let profile_columns = table_columns(d, &[("id", Ty::Str)], &columns.profile);
    let event_columns = table_columns(
        d,
        &[("entity_id", Ty::Str), ("seq", Ty::Int), ("name", Ty::Str), ("at", Ty::Timestamp)],
        &columns.event,
    );
    if columns.profile.contains_key("id") {
        return Err(Error::new(crate::ErrorKind::SqlUnsupported, "an attribute named `id` (the profiles' id column)"));
    }
    for fixed in ["entity_id", "seq", "name", "at"] {
        if columns.event.contains_key(fixed) {
            let msg = format!("an event property named `{fixed}` (a column of the events table)");
            return Err(Error::new(crate::ErrorKind::SqlUnsupported, msg));
        }
    }

    let as_of_text = crate::time::format_timestamp(opts.as_of);
    let as_of_sql = d.instant(opts.as_of);
    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- Generated by segcore {} from {} segment definition(s); do not edit.",
        env!("CARGO_PKG_VERSION"),
        segments.len()
    );
    let _ = writeln!(sql, "-- dialect: {} · as_of: {as_of_text} · FX quotes: {}", d.name(), opts.fx.len());
    let _ = writeln!(sql, "-- reads {}({})", opts.profiles_table, names(&profile_columns));
    let _ = writeln!(sql, "--   and {}({})", opts.events_table, names(&event_columns));
    let id = d.ident("id");
    let entity = d.ident("entity_id");
    sql.push_str("WITH\n");
    if !columns.aggregates.is_empty() {
        // Every aggregate of every segment, in one pass over the events: entity by entity.
        let _ = writeln!(sql, "{} AS (", d.ident("event_aggregates"));
        let _ = writeln!(sql, "  SELECT e.{entity},");
        for (i, (col, expr)) in columns.aggregates.iter().enumerate() {
            let sep = if i + 1 < columns.aggregates.len() { "," } else { "" };
            let _ = writeln!(sql, "    {expr} AS {}{sep}", d.ident(col));
        }
        let names: Vec<String> = columns.aggregated_events.iter().map(|n| d.string(n)).collect();
        let _ = writeln!(sql, "  FROM {} AS e", opts.events_table);
        // Only events some aggregate can select: by name, not after as_of, not before the
        // earliest window (lets engines skip row groups; every aggregate still applies its own).
        let at = format!("e.{}", d.ident("at"));
        let _ = write!(sql, "  WHERE e.{} IN ({}) AND {at} <= {as_of_sql}", d.ident("name"), names.join(", "));
        match (columns.unbounded_events, columns.earliest_event) {
            (false, Some(t)) => {
                let _ = writeln!(sql, " AND {at} >= {}", d.instant(t));
            }
            _ => sql.push('\n'),
        }
        let _ = writeln!(sql, "  GROUP BY e.{entity}");
        sql.push_str("),\n");
    }
    // Ids must be unique (SPEC §19): the last branch of the output has a row only for a repeated
    // id, and that row's segment_id raises `duplicate_profile_id`.
    let _ = writeln!(sql, "{} AS (", d.ident("duplicate_profile_ids"));
    let _ = writeln!(sql, "  SELECT p.{id} FROM {} AS p GROUP BY p.{id} HAVING COUNT(*) > 1", opts.profiles_table);
    sql.push_str("),\n");
    for (i, (seg, value, refs, uses_aggregates)) in ctes.iter().enumerate() {
        let _ = writeln!(sql, "{} AS (", d.ident(&format!("seg_{}", seg.id())));
        let _ = writeln!(sql, "  -- {} {}: {}", seg.id(), seg.version(), one_line(&seg.formatted_rule()));
        let _ = writeln!(sql, "  SELECT p.{id} AS {entity},");
        let _ = writeln!(sql, "    {} AS value", format::pretty(value, 4, d, width));
        let _ = writeln!(sql, "  FROM {} AS p", opts.profiles_table);
        if *uses_aggregates {
            let _ = writeln!(sql, "  LEFT JOIN {} AS a ON a.{entity} = p.{id}", d.ident("event_aggregates"));
        }
        for r in refs {
            let alias = d.ident(&format!("ref_{r}"));
            let _ =
                writeln!(sql, "  LEFT JOIN {} AS {alias} ON {alias}.{entity} = p.{id}", d.ident(&format!("seg_{r}")));
        }
        sql.push_str(if i + 1 < ctes.len() { "),\n" } else { ")\n" });
    }
    for (i, (seg, ..)) in ctes.iter().enumerate() {
        if i > 0 {
            sql.push_str("UNION ALL\n");
        }
        let _ = writeln!(
            sql,
            "SELECT {entity}, {} AS segment_id, {} AS version, {} AS definition_hash, {as_of_sql} AS as_of,\n  COALESCE(value, FALSE) AS member,\n  CASE WHEN value THEN 'true' WHEN NOT value THEN 'false' ELSE 'unknown' END AS outcome\nFROM {}",
            d.string(seg.id()),
            d.string(seg.version()),
            d.string(seg.definition_hash()),
            d.ident(&format!("seg_{}", seg.id())),
        );
    }
    let raise = d.raise("segcore duplicate_profile_id: two profiles have the id ", &format!("dup.{id}"));
    let _ = writeln!(
        sql,
        "UNION ALL\nSELECT dup.{id}, {}, NULL, NULL, NULL, NULL, NULL\nFROM {} AS dup",
        d.cast_string(&raise),
        d.ident("duplicate_profile_ids"),
    );
    Ok(SqlQuery { dialect: d, sql, profile_columns, event_columns })
}

fn table_columns(d: Dialect, fixed: &[(&str, Ty)], read: &std::collections::BTreeMap<String, Ty>) -> Vec<Column> {
    let col = |name: &str, ty: Ty| Column {
        name: name.to_string(),
        ty,
        sql_type: d.column_type(ty).unwrap_or("VARCHAR").to_string(),
    };
    let mut out: Vec<Column> = fixed.iter().map(|(n, t)| col(n, *t)).collect();
    out.extend(read.iter().map(|(n, t)| col(n, *t)));
    out
}

fn names(cols: &[Column]) -> String {
    cols.iter().map(|c| format!("{} {}", c.name, c.sql_type)).collect::<Vec<_>>().join(", ")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Definition, ErrorKind, Registry, Schema};

    fn schema() -> Schema {
        Schema::from_json_str(
            r#"{"attributes": {"age": "int", "name": "string", "tags": "list<string>", "seen": "timestamp"},
                "events": {"purchase": {"amount": "money"}}}"#,
        )
        .unwrap()
    }

    fn sql(rules: &[(&str, &str)], dialect: Dialect) -> Result<SqlQuery, Error> {
        let defs = rules.iter().map(|(id, rule)| Definition::new(*id, "1.0.0", *rule)).collect();
        let reg = Registry::from_definitions(defs, Some(&schema())).unwrap();
        to_sql(reg.program(), &SqlOptions::new(dialect, crate::parse_as_of("2026-03-15T00:00:00Z").unwrap()))
    }

    #[test]
    fn every_unsupported_construct_is_reported_with_its_position_and_dialect() {
        let err = sql(&[("a", "age > 1 and\n  tags[0] = \"x\""), ("b", r#"name matches "\\bA""#)], Dialect::Snowflake)
            .unwrap_err();
        let found: Vec<(String, u32, u32)> = err
            .diagnostics()
            .iter()
            .map(|d| {
                assert_eq!(d.kind, ErrorKind::SqlUnsupported);
                assert!(d.message.ends_with("cannot be expressed exactly in snowflake SQL"), "{}", d.message);
                let loc = d.location.unwrap();
                (d.origin.clone().unwrap(), loc.line, loc.column)
            })
            .collect();
        assert_eq!(found, vec![("a".to_string(), 2, 3), ("b".to_string(), 1, 1)]);
    }

    #[test]
    fn attributes_without_a_declared_type_need_a_schema() {
        let reg = Registry::from_definitions(vec![Definition::new("a", "1.0.0", "score > 1")], None).unwrap();
        let err = to_sql(reg.program(), &SqlOptions::new(Dialect::DuckDb, 0)).unwrap_err();
        assert!(err.first().message.contains("`score` has no declared type"), "{}", err.first().message);
    }

    #[test]
    fn a_single_segment_cannot_reference_another() {
        let reg = Registry::from_definitions(
            vec![Definition::new("a", "1.0.0", "age > 1"), Definition::new("b", "1.0.0", "in_segment(\"a\")")],
            Some(&schema()),
        )
        .unwrap();
        let err = to_sql(&reg.get("b").unwrap().program(), &SqlOptions::new(Dialect::Postgres, 0)).unwrap_err();
        assert!(err.first().message.contains("needs the segment `a` in the same registry"));
    }

    #[test]
    fn columns_are_the_ones_read_with_dialect_types() {
        let q = sql(&[("a", "age > 1 and sum(purchase.amount) > 5 USD")], Dialect::BigQuery).unwrap();
        let profile: Vec<(&str, &str)> =
            q.profile_columns.iter().map(|c| (c.name.as_str(), c.sql_type.as_str())).collect();
        assert_eq!(profile, vec![("id", "STRING"), ("age", "INT64")]);
        let events: Vec<&str> = q.event_columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(events, vec!["entity_id", "seq", "name", "at", "amount_amount", "amount_currency"]);
    }

    #[test]
    fn a_missing_fx_quote_is_raised_in_the_query() {
        let q = sql(&[("a", "sum(purchase.amount) > 5 USD")], Dialect::Postgres).unwrap();
        assert!(q.sql.contains("segcore fx_rate_missing: no FX rate to USD"), "{}", q.sql);
    }

    #[test]
    fn skipped_and_repeated_midnights_are_listed_with_the_spec_instant() {
        // Havana: clocks jump from 00:00 to 01:00 CDT on 2026-03-08 (the day starts at
        // 05:00Z), and fall back from 01:00 CDT to 00:00 CST on 2025-11-02 (midnight occurs at
        // 04:00Z and again at 05:00Z; SPEC §9 takes the earlier).
        let tz = crate::time::zone("America/Havana").unwrap();
        let listed = crate::time::irregular_midnights(&tz);
        let find = |d: &str| {
            let d: jiff::civil::Date = d.parse().unwrap();
            listed.iter().find(|(x, _)| *x == d).map(|(_, t)| crate::time::format_timestamp(*t))
        };
        assert_eq!(find("2026-03-08").as_deref(), Some("2026-03-08T05:00:00Z"));
        assert_eq!(find("2025-11-02").as_deref(), Some("2025-11-02T04:00:00Z"));
        assert_eq!(find("2026-03-09"), None);
        assert!(crate::time::irregular_midnights(&crate::time::zone("UTC").unwrap()).is_empty());
        // New York's clocks change at 02:00, never at midnight since 1900.
        let ny = crate::time::irregular_midnights(&crate::time::zone("America/New_York").unwrap());
        assert!(ny.iter().all(|(d, _)| d.year() < 1900), "{ny:?}");
    }

    #[test]
    fn line_breaks_change_only_whitespace() {
        let rules = [
            ("a", "age > 1 and name matches \"(?i)^a'b (c)$\" and (age + 1 > 2 or name in [\"x y\", \"it's\"])"),
            ("b", "in_segment(\"a\") and sum(purchase.amount within 30d) > 5 USD and not (seen within today)"),
            ("c", "age * 2 > 3 and age / 2 > 1 or age between 3 and 9 and name != \"AND (\" and seen after \"2026-01-01T00:00:00Z\""),
        ];
        let defs: Vec<Definition> = rules.iter().map(|(id, r)| Definition::new(*id, "1.0.0", *r)).collect();
        let reg = Registry::from_definitions(defs, Some(&schema())).unwrap();
        let collapse =
            |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(" )", ")");
        for d in Dialect::ALL {
            let opts = SqlOptions::new(d, crate::parse_as_of("2026-03-15T00:00:00Z").unwrap());
            let segs: Vec<&Segment> = reg.dependency_order().collect();
            let pretty = generate(segs.clone(), &opts).unwrap().sql;
            let flat = generate_at_width(segs, &opts, usize::MAX).unwrap().sql;
            assert_ne!(pretty, flat, "{d}: something was broken into lines");
            assert_eq!(collapse(&pretty), collapse(&flat), "{d}");
            assert!(pretty.lines().all(|l| l.len() < 400), "{d}: {pretty}");
        }
    }

    /// Found by fuzzing (fuzz/regressions/rule/sql-snowflake-nested-negation-oom): Snowflake's
    /// overflow check writes its operand three times, so 16 nested minus signs asked for 1 GB.
    #[test]
    fn geometric_sql_growth_is_refused_not_allocated() {
        let deep = format!("{}age > 0", "- ".repeat(16));
        let err = sql(&[("a", &deep)], Dialect::Snowflake).unwrap_err();
        assert_eq!(err.first().kind, crate::ErrorKind::SqlUnsupported);
        assert!(err.first().message.contains("would exceed 256 KiB"), "{}", err.first().message);
        // A few levels are fine, and short everywhere else.
        assert!(sql(&[("a", &format!("{}age > 0", "- ".repeat(4)))], Dialect::Snowflake).is_ok());
        for d in [Dialect::DuckDb, Dialect::Postgres, Dialect::Spark, Dialect::BigQuery] {
            assert!(sql(&[("a", &deep)], d).unwrap().sql.len() < 64 << 10);
        }
    }

    #[test]
    fn dialect_names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(d.name().parse::<Dialect>(), Ok(d));
        }
        assert!("oracle".parse::<Dialect>().unwrap_err().contains("duckdb, postgres"));
    }
}
