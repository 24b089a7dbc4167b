//! Importing rules written for other engines (SPEC §29): a source rule becomes a canonical
//! definition that gives the reference engine's membership on every input the report allows, or
//! it is refused with the construct, where it is, and why. Never an approximation.
//!
//! ```
//! use segcore::import::{import, Format, Options, Status};
//! let schema = serde_json::json!({"attributes": {"age": "int"}});
//! let out = import(Format::JsonLogic, r#"{"<": [{"var": "age"}, 18]}"#,
//!                  &Options::new().schema_json(&schema).unwrap()).unwrap();
//! // json-logic-js reads a missing age as 0 (ToNumber(null)), so it is below 18.
//! assert_eq!(out.rule.as_deref(), Some("age is null or coalesce(age < 18, false)"));
//! assert_eq!(out.report.status, Status::ExactUnder);
//! ```

mod cases;
mod export;
mod formula;
mod growthbook;
mod growthbook_eval;
mod js;
mod jsonlogic;
mod jsonlogic_eval;
#[cfg(feature = "import-sql")]
mod sql;
mod unleash;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::document::{self, DuplicateKeys};
use crate::error::{Error, ErrorKind};
use crate::{Definition, Schema};

pub use export::Exported;
#[cfg(feature = "import-sql")]
pub use sql::Dialect;

/// The Unleash engine whose behaviour imports reproduce.
const UNLEASH_ENGINE: &str = "yggdrasil-engine 2.0.0";

/// A source format and its reference engine (SPEC §29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// JSON Logic, as json-logic-js 2.0.5 evaluates it.
    JsonLogic,
    /// A GrowthBook targeting condition, as `evalCondition` of @growthbook/growthbook 1.8.0
    /// evaluates it.
    GrowthBook,
    /// An Unleash feature toggle (strategies, constraints, segments), as yggdrasil evaluates it.
    Unleash,
    /// An SQL `WHERE` clause over a profiles and an events table, as DuckDB 2.0 or PostgreSQL 15
    /// runs it at `as_of` (SPEC §29.5; the dialect is an option).
    Sql,
}

impl Format {
    /// The format's name on the command line and in reports: `jsonlogic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JsonLogic => "jsonlogic",
            Format::GrowthBook => "growthbook",
            Format::Unleash => "unleash",
            Format::Sql => "sql",
        }
    }
    /// The engine whose behaviour an import reproduces.
    pub fn reference(self) -> &'static str {
        match self {
            Format::JsonLogic => "json-logic-js 2.0.5",
            Format::GrowthBook => "@growthbook/growthbook 1.8.0",
            Format::Unleash => UNLEASH_ENGINE,
            Format::Sql => "DuckDB 2.0 or PostgreSQL 15, by dialect",
        }
    }
    /// The source's notion of a match, as written into the definition.
    pub fn convention(self) -> &'static str {
        match self {
            Format::JsonLogic => "a member is a profile whose attributes make the rule's result truthy",
            Format::GrowthBook => "a member is a profile whose attributes make evalCondition return true",
            Format::Unleash => "a member is a profile whose context has the toggle enabled",
            Format::Sql => "a member is a profile whose row the query returns when run at as_of (NOW() and CURRENT_TIMESTAMP are as_of, CURRENT_DATE its date) in a session whose TimeZone is the definition's timezone; the outcome is the WHERE clause's three-valued value",
        }
    }
    /// Every format, in a stable order.
    pub fn all() -> &'static [Format] {
        &[Format::JsonLogic, Format::GrowthBook, Format::Unleash, Format::Sql]
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format, Error> {
        match s {
            "jsonlogic" | "json-logic" => Ok(Format::JsonLogic),
            "growthbook" => Ok(Format::GrowthBook),
            "unleash" => Ok(Format::Unleash),
            "sql" => Ok(Format::Sql),
            other => Err(Error::new(
                ErrorKind::ImportInvalid,
                format!("unknown import format `{other}` (formats: jsonlogic, growthbook, unleash, sql)"),
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An assumption an import may rest on (SPEC §29): a contract on the data that segcore does
/// not check at evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Assumption {
    /// Attribute values have their declared types.
    A1,
    /// Arithmetic on data stays finite.
    A2,
    /// Strings ordered against each other do not mix characters beyond U+FFFF with U+E000–U+FFFF.
    A3,
    /// A value that is not there is absent, not JSON `null`.
    A4,
    /// Version strings are SemVer within GrowthBook's padding (SPEC §29 V).
    V,
    /// Numeric Unleash properties arrive as numbers (SPEC §29 N).
    N,
    /// SQL: the tables are the profiles (SPEC §29.5).
    S1,
    /// SQL: the events table holds no event after `as_of`.
    S2,
    /// SQL: strings order by code point.
    S3,
    /// SQL: integer arithmetic and sums stay within 64 bits, decimal ones within 28 digits.
    S4,
    /// SQL: float arithmetic and DuckDB division over data never divide by zero nor overflow.
    S5,
}

impl Assumption {
    /// `A1` … `A4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Assumption::A1 => "A1",
            Assumption::A2 => "A2",
            Assumption::A3 => "A3",
            Assumption::A4 => "A4",
            Assumption::V => "V",
            Assumption::N => "N",
            Assumption::S1 => "S1",
            Assumption::S2 => "S2",
            Assumption::S3 => "S3",
            Assumption::S4 => "S4",
            Assumption::S5 => "S5",
        }
    }
    /// What the data must keep to.
    pub fn statement(self) -> &'static str {
        match self {
            Assumption::A1 => "attribute values have their declared types",
            Assumption::A2 => "arithmetic on data stays finite",
            Assumption::A3 => {
                "strings ordered against each other do not mix characters beyond U+FFFF with U+E000-U+FFFF"
            }
            Assumption::A4 => "a value that is not there is absent, not null",
            Assumption::V => "version strings are strict SemVer with numbers below 100000 and numeric pre-release identifiers below 10000",
            Assumption::N => "a numeric context property is the finite number Rust's f64 parse reads from its text, absent when that fails",
            Assumption::S1 => "the tables are the profiles: one row per profile with a unique non-NULL id, each column the attribute with its declared type (NULL = missing), each events row one event of its non-NULL entity_id with non-NULL name and time",
            Assumption::S2 => "the events table holds no event after as_of",
            Assumption::S3 => "strings are ordered by code point (PostgreSQL: a C, POSIX or C.UTF-8 collation; DuckDB: no default collation)",
            Assumption::S4 => "integer arithmetic and integer sums stay within 64 bits, decimal ones within 28 significant digits",
            Assumption::S5 => "float arithmetic and DuckDB division over data never divide by zero nor overflow",
        }
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exact with no assumption (the rule reads no data).
    Exact,
    /// Exact given the assumptions listed.
    ExactUnder,
    /// Something in the source has no exact counterpart.
    Refused,
}

impl Status {
    /// `exact`, `exact_under`, `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Exact => "exact",
            Status::ExactUnder => "exact_under",
            Status::Refused => "refused",
        }
    }
}

/// A construct of the source that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Where in the source: a JSON pointer (`/and/1`) to the node whose operator is refused.
    pub path: String,
    /// The operator or construct (`%`, `var`, …).
    pub construct: String,
    /// Why it has no exact counterpart.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The source format.
    pub format: Format,
    /// exact / exact_under / refused.
    pub status: Status,
    /// Each assumption used, with the source paths that needed it.
    pub assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    /// The refused constructs (empty unless refused).
    pub refusals: Vec<Refusal>,
    /// The attributes the rule reads (segcore paths), sorted.
    pub reads: Vec<String>,
    /// The SQL dialect (`duckdb`, `postgres`) of an SQL import.
    pub dialect: Option<&'static str>,
}

impl Report {
    /// The report as JSON: `{format, reference, status, assumptions: [{id, statement, paths}],
    /// refusals: [{path, construct, reason}], reads, dialect}` (`dialect` null but for SQL).
    pub fn to_json(&self) -> serde_json::Value {
        let reference = match (self.format, self.dialect) {
            (Format::Sql, Some("postgres")) => "PostgreSQL 15",
            (Format::Sql, Some(_)) => "DuckDB 2.0",
            (f, _) => f.reference(),
        };
        let mut out = serde_json::json!({
            "format": self.format.as_str(),
            "reference": reference,
            "status": self.status.as_str(),
            "assumptions": self.assumptions.iter().map(|(a, paths)| serde_json::json!({
                "id": a.as_str(), "statement": a.statement(), "paths": paths,
            })).collect::<Vec<_>>(),
            "refusals": self.refusals.iter().map(|r| serde_json::json!({
                "path": r.path, "construct": r.construct, "reason": r.reason,
            })).collect::<Vec<_>>(),
            "reads": self.reads,
        });
        out["dialect"] = self.dialect.map_or(serde_json::Value::Null, |d| serde_json::Value::String(d.to_string()));
        out
    }

    /// The refusals as an `import_refused` error (one diagnostic each), or `None`.
    pub fn error(&self) -> Option<Error> {
        if self.refusals.is_empty() {
            return None;
        }
        let diags = self
            .refusals
            .iter()
            .map(|r| {
                let at = if r.path.is_empty() { "/" } else { r.path.as_str() };
                crate::Diagnostic::new(ErrorKind::ImportRefused, format!("{at}: `{}`: {}", r.construct, r.reason))
            })
            .collect();
        Some(Error::from_diagnostics(diags))
    }
}

/// The declared type of a read, as imports use it (SPEC §29 "Schema").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Float,
    Number,
    Str,
    Obj,
    List(Elem),
}

/// The element type of a `list<T>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    Bool,
    Int,
    Float,
    Number,
    Str,
}

impl Elem {
    pub(crate) fn ty(self) -> Ty {
        match self {
            Elem::Bool => Ty::Bool,
            Elem::Int => Ty::Int,
            Elem::Float => Ty::Float,
            Elem::Number => Ty::Number,
            Elem::Str => Ty::Str,
        }
    }
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Number => "number",
            Ty::Str => "string",
            Ty::Obj => "object",
            Ty::List(_) => "list",
        }
    }
    fn parse(s: &str) -> Option<Ty> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return Some(Ty::List(match Ty::parse(inner)? {
                Ty::Bool => Elem::Bool,
                Ty::Int => Elem::Int,
                Ty::Float => Elem::Float,
                Ty::Number => Elem::Number,
                Ty::Str => Elem::Str,
                _ => return None,
            }));
        }
        Some(match s {
            "bool" => Ty::Bool,
            "int" => Ty::Int,
            "float" => Ty::Float,
            "number" => Ty::Number,
            "string" => Ty::Str,
            "object" => Ty::Obj,
            _ => return None,
        })
    }
}

/// Attribute types by dotted path, read from a §18 schema document.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImportSchema {
    types: BTreeMap<String, Ty>,
    /// Declared names whose type imports cannot use (timestamp, money…): reading them is refused.
    pub(crate) other: BTreeMap<String, String>,
}

impl ImportSchema {
    pub(crate) fn get(&self, path: &str) -> Option<Ty> {
        self.types.get(path).copied()
    }
    fn has_prefix(&self, prefix: &str) -> bool {
        let p = format!("{prefix}.");
        self.types.keys().chain(self.other.keys()).any(|k| k.starts_with(&p))
    }
}

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    schema: Option<serde_json::Value>,
    id: Option<String>,
    saved_groups: Option<serde_json::Value>,
    toggle: Option<String>,
    dialect: Option<String>,
    timezone: Option<String>,
    tables: Option<serde_json::Value>,
}

impl Options {
    /// No schema (only rules that read no data import), id `imported`.
    pub fn new() -> Options {
        Options::default()
    }
    /// The import schema: a §18 schema document whose attribute names may be dotted paths.
    pub fn schema_json(mut self, schema: &serde_json::Value) -> Result<Options, Error> {
        Schema::from_json(&compile_schema(schema)?)?;
        self.schema = Some(schema.clone());
        Ok(self)
    }
    /// The import schema as YAML or JSON text (see [`Options::schema_json`]).
    pub fn schema_str(self, text: &str) -> Result<Options, Error> {
        let v = document::parse_yaml(text, ErrorKind::InvalidSchema, "the schema", DuplicateKeys::Refuse)?;
        self.schema_json(&v)
    }
    /// GrowthBook's saved groups (`{"group id": [values]}` or `{"group id": {"type": "list",
    /// "values": [...]}}`), inlined into `$inGroup`/`$notInGroup` as they are at import time.
    pub fn saved_groups(mut self, groups: &serde_json::Value) -> Result<Options, Error> {
        if !groups.is_object() {
            return Err(Error::new(ErrorKind::ImportInvalid, "saved groups must be an object of group id → values"));
        }
        self.saved_groups = Some(groups.clone());
        Ok(self)
    }
    /// The Unleash feature to import from a document with several (default: the only one).
    pub fn toggle(mut self, name: &str) -> Options {
        self.toggle = Some(name.to_string());
        self
    }
    /// SQL: the dialect whose semantics the import reproduces, `duckdb` or `postgres` (SPEC §29.5;
    /// default `duckdb`).
    ///
    /// ```
    /// use segcore::import::{import, Format, Options};
    /// let schema = serde_json::json!({"attributes": {"age": "int"}});
    /// let pg = Options::new().schema_json(&schema).unwrap().dialect("postgres");
    /// // PostgreSQL divides integers by truncating (7 / 2 = 3); segcore's `/` does not: refused.
    /// let out = import(Format::Sql, "age / 2 > 10", &pg).unwrap();
    /// assert_eq!(out.report.refusals[0].construct, "/");
    /// // DuckDB divides them as doubles, like segcore.
    /// let out = import(Format::Sql, "age / 2 > 10", &pg.dialect("duckdb")).unwrap();
    /// assert_eq!(out.rule.as_deref(), Some("(age / 2) > 10"));
    /// ```
    pub fn dialect(mut self, dialect: &str) -> Options {
        self.dialect = Some(dialect.to_string());
        self
    }
    /// SQL: the session's TimeZone, written into the definition as its `timezone` (default `UTC`).
    pub fn timezone(mut self, zone: &str) -> Options {
        self.timezone = Some(zone.to_string());
        self
    }
    /// SQL: table and column names, `{profiles, events, id, entity_id, name, at, columns: {COL:
    /// ATTR}}` (defaults: the tables `segcore sql` writes).
    pub fn tables(mut self, tables: &serde_json::Value) -> Result<Options, Error> {
        if !tables.is_object() {
            return Err(Error::new(ErrorKind::ImportInvalid, "`tables` must be an object"));
        }
        self.tables = Some(tables.clone());
        Ok(self)
    }
    /// The definition's id (default `imported`).
    pub fn id(mut self, id: &str) -> Options {
        self.id = Some(id.to_string());
        self
    }
}

/// What an import produced: the report, and the rule and definition unless refused.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The report.
    pub report: Report,
    /// The segcore rule, unless refused.
    pub rule: Option<String>,
    /// The definition as YAML text, unless refused.
    pub yaml: Option<String>,
    /// The definition, unless refused.
    pub definition: Option<Definition>,
    /// The schema the definition compiles against (nested paths' roots declared `object`).
    pub schema: Option<Schema>,
}

impl Imported {
    /// A refused import: the report names the refusal; nothing is written.
    fn refused(format: Format, refusal: Refusal) -> Imported {
        let report = Report {
            format,
            status: Status::Refused,
            assumptions: BTreeMap::new(),
            refusals: vec![refusal],
            reads: vec![],
            dialect: None,
        };
        Imported { report, rule: None, yaml: None, definition: None, schema: None }
    }
}

/// The schema a definition compiles against: dotted names become their root, declared `object`.
fn compile_schema(schema: &serde_json::Value) -> Result<serde_json::Value, Error> {
    let mut out = schema.clone();
    if let Some(attrs) = schema.get("attributes").and_then(|a| a.as_object()) {
        let mut flat = serde_json::Map::new();
        for (name, ty) in attrs {
            match name.split_once('.') {
                Some((root, _)) => {
                    flat.insert(root.to_string(), serde_json::json!("object"));
                }
                None => {
                    flat.insert(name.clone(), ty.clone());
                }
            }
        }
        out["attributes"] = serde_json::Value::Object(flat);
    }
    Ok(out)
}

fn import_schema(schema: Option<&serde_json::Value>) -> ImportSchema {
    let mut s = ImportSchema::default();
    if let Some(attrs) = schema.and_then(|v| v.get("attributes")).and_then(|a| a.as_object()) {
        for (name, ty) in attrs {
            let text = ty.as_str().unwrap_or_default();
            match Ty::parse(text) {
                Some(t) => {
                    s.types.insert(name.clone(), t);
                }
                None => {
                    s.other.insert(name.clone(), text.to_string());
                }
            }
        }
    }
    s
}

/// Imports one rule (SPEC §29). `Err` only when the source does not read (`import_invalid`);
/// a refusal is a report with status `refused` (see [`Report::error`]).
pub fn import(format: Format, source: &str, options: &Options) -> Result<Imported, Error> {
    if format == Format::Sql {
        return import_sql(source, options);
    }
    let value =
        document::parse_json(source, ErrorKind::ImportInvalid, "the rule", DuplicateKeys::Refuse).map_err(invalid)?;
    import_value(format, &value, options)
}

/// A source over a size or nesting limit does not read: `import_invalid`, like malformed JSON.
fn invalid(e: Error) -> Error {
    if e.kind() == ErrorKind::ImportInvalid {
        e
    } else {
        Error::new(ErrorKind::ImportInvalid, e.first().message.clone())
    }
}

/// [`import`] of a rule already read as JSON.
pub fn import_value(format: Format, source: &serde_json::Value, options: &Options) -> Result<Imported, Error> {
    if format == Format::Sql {
        return match source.as_str() {
            Some(text) => import_sql(source_text_limit(text)?, options),
            None => Err(Error::new(ErrorKind::ImportInvalid, "an SQL source is text (a string), not a JSON value")),
        };
    }
    document::check_value_depth(source, "the rule").map_err(invalid)?;
    let schema = import_schema(options.schema.as_ref());
    let translated = match format {
        Format::JsonLogic => jsonlogic::translate(source, &schema),
        Format::GrowthBook => growthbook::translate(source, &schema, options.saved_groups.as_ref()),
        Format::Unleash => unleash::translate(source, options.toggle.as_deref(), &schema),
        Format::Sql => unreachable!("SQL imports read text"),
    };
    let t = match translated {
        Ok(t) => t,
        Err(refusal) => return Ok(Imported::refused(format, refusal)),
    };
    let reads = t.reads.keys().cloned().collect();
    finish(format, None, t.rule, t.assumptions, reads, options, None)
}

fn source_text_limit(text: &str) -> Result<&str, Error> {
    if text.len() > crate::limits::MAX_RULE_BYTES {
        return Err(Error::new(
            ErrorKind::ImportInvalid,
            format!(
                "the source is {} bytes, more than the {} a rule may be (SPEC §19)",
                text.len(),
                crate::limits::MAX_RULE_BYTES
            ),
        ));
    }
    Ok(text)
}

#[cfg(feature = "import-sql")]
fn import_sql(source: &str, options: &Options) -> Result<Imported, Error> {
    let source = source_text_limit(source)?;
    let dialect: Dialect = options.dialect.as_deref().unwrap_or("duckdb").parse()?;
    let zone = options.timezone.clone().unwrap_or_else(|| "UTC".into());
    let tables = match &options.tables {
        Some(t) => sql::Tables::from_json(t)?,
        None => sql::Tables::default(),
    };
    let request = sql::SqlImport { dialect, zone: &zone, tables: &tables, schema: options.schema.as_ref() };
    let refused = |refusal: Refusal| {
        let mut out = Imported::refused(Format::Sql, refusal);
        out.report.dialect = Some(dialect.as_str());
        out
    };
    let t = match sql::translate(source, &request)? {
        Ok(t) => t,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let reads = t.reads.into_iter().collect();
    let zone = (zone != "UTC").then_some(zone);
    finish(Format::Sql, Some(dialect), t.rule, t.assumptions, reads, options, zone)
}

#[cfg(not(feature = "import-sql"))]
fn import_sql(_source: &str, _options: &Options) -> Result<Imported, Error> {
    Err(Error::new(ErrorKind::ImportInvalid, "this build of segcore has no SQL import (feature `import-sql`)"))
}

#[cfg(not(feature = "import-sql"))]
type Dialect = ();

/// The definition around a translated rule, checked by compiling it.
fn finish(
    format: Format,
    dialect: Option<Dialect>,
    rule: String,
    assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    reads: Vec<String>,
    options: &Options,
    timezone: Option<String>,
) -> Result<Imported, Error> {
    #[cfg(feature = "import-sql")]
    let dialect_name = dialect.map(|d| d.as_str());
    #[cfg(not(feature = "import-sql"))]
    let dialect_name: Option<&'static str> = dialect.map(|_| "");
    let refused = |refusal: Refusal| {
        let mut out = Imported::refused(format, refusal);
        out.report.dialect = dialect_name;
        out
    };
    let id = options.id.clone().unwrap_or_else(|| "imported".into());
    if rule.len() > crate::limits::MAX_RULE_BYTES {
        let refusal = Refusal {
            path: String::new(),
            construct: "rule".into(),
            reason: format!(
                "the translation is {} bytes, more than the {} a rule may be (SPEC §19); split the rule into several segments",
                rule.len(),
                crate::limits::MAX_RULE_BYTES
            ),
        };
        return Ok(refused(refusal));
    }
    let status = if assumptions.is_empty() { Status::Exact } else { Status::ExactUnder };
    let report = Report { format, status, assumptions, refusals: vec![], reads, dialect: dialect_name };
    let mut description = format!(
        "Imported from {} ({}); {}.",
        match format {
            Format::JsonLogic => "JSON Logic",
            Format::GrowthBook => "a GrowthBook condition",
            Format::Unleash => "an Unleash feature toggle",
            Format::Sql => "an SQL WHERE clause",
        },
        report.to_json()["reference"].as_str().unwrap_or_default(),
        format.convention()
    );
    if !report.assumptions.is_empty() {
        description.push_str(" Exact under SPEC §29 assumptions:");
        for a in report.assumptions.keys() {
            description.push_str(&format!(" {} ({});", a.as_str(), a.statement()));
        }
        description.pop();
        description.push('.');
    }
    let mut def_json = serde_json::json!({
        "id": id,
        "version": "1.0.0",
        "description": description,
        "tags": [format!("imported:{}", format.as_str())],
        "rule": rule,
    });
    if let Some(zone) = &timezone {
        def_json["timezone"] = serde_json::Value::String(zone.clone());
    }
    let definition = Definition::from_json(&def_json)?;
    let compile = match &options.schema {
        Some(s) => Some(Schema::from_json(&compile_schema(s)?)?),
        None => None,
    };
    // The import's own check: the rule it wrote must compile against the schema. A translation
    // over one of segcore's limits (regular expressions' size, nesting) is refused; anything else
    // would be a bug.
    if let Err(e) = crate::Segment::compile(definition.clone(), compile.as_ref()) {
        if matches!(e.kind(), ErrorKind::RegexTooLarge | ErrorKind::LimitExceeded) {
            let refusal = Refusal {
                path: String::new(),
                construct: "rule".into(),
                reason: format!("the translation is over a limit of segcore's (SPEC §19): {}", e.first().message),
            };
            return Ok(refused(refusal));
        }
        return Err(Error::new(ErrorKind::Internal, format!("an imported rule did not compile ({e}); rule: {rule}")));
    }
    let yaml = definition_yaml(&def_json);
    Ok(Imported { report, rule: Some(rule), yaml: Some(yaml), definition: Some(definition), schema: compile })
}

/// The definition as YAML, fields in the order SPEC §1 lists them.
fn definition_yaml(def: &serde_json::Value) -> String {
    // A JSON string is a YAML double-quoted scalar, except that YAML allows fewer characters
    // raw (its printable set): the others are written as `\u` escapes.
    let q = |s: &str| {
        let json = serde_json::to_string(s).unwrap_or_default();
        let printable = |c: char| {
            matches!(c, '\t' | '\n' | '\r' | '\u{85}' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                || c >= '\u{10000}'
        };
        json.chars()
            .map(|c| if printable(c) { c.to_string() } else { format!("\\u{:04X}", c as u32) })
            .collect::<String>()
    };
    let mut out = String::new();
    out.push_str(&format!("id: {}\n", def["id"].as_str().unwrap_or_default()));
    out.push_str(&format!("version: {}\n", def["version"].as_str().unwrap_or_default()));
    out.push_str(&format!("description: {}\n", q(def["description"].as_str().unwrap_or_default())));
    if let Some(zone) = def["timezone"].as_str() {
        out.push_str(&format!("timezone: {}\n", q(zone)));
    }
    let tags: Vec<String> = def["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str()).map(q).collect();
    out.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    out.push_str(&format!("rule: {}\n", q(def["rule"].as_str().unwrap_or_default())));
    out
}

/// Exports a definition to JSON Logic (SPEC §29.3): a rule json-logic-js 2.0.5 finds truthy
/// exactly when the definition's outcome is TRUE, given an import schema typing every attribute it
/// reads; `export_refused` (with the construct) for what JSON Logic cannot express exactly.
///
/// ```
/// use segcore::import::{export_jsonlogic, Options};
/// use segcore::Definition;
/// let def = Definition::new("minors", "1.0.0", "age < 18");
/// let options = Options::new().schema_json(&serde_json::json!({"attributes": {"age": "int"}})).unwrap();
/// let out = export_jsonlogic(&def, &options).unwrap();
/// // A missing age is UNKNOWN in segcore, not a member: JSON Logic must not read it as 0.
/// assert_eq!(out.rule, serde_json::json!({"and": [{"!=": [{"var": "age"}, null]}, {"<": [{"var": "age"}, 18]}]}));
/// ```
pub fn export_jsonlogic(def: &Definition, options: &Options) -> Result<Exported, Error> {
    if def.effective_from.is_some() || def.effective_until.is_some() {
        return Err(Error::new(
            ErrorKind::ExportRefused,
            format!("`{}`: effective dates depend on the evaluation instant, which JSON Logic does not have", def.id),
        ));
    }
    let schema = import_schema(options.schema.as_ref());
    export::export_rule(&def.rule, &schema).map_err(|e| {
        if e.kind() == ErrorKind::ExportRefused {
            Error::new(ErrorKind::ExportRefused, format!("`{}`: {}", def.id, e.first().message))
        } else {
            e
        }
    })
}
