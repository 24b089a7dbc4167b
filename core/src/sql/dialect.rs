//! How each SQL dialect spells the few things that differ: types, literals, time-zone
//! conversion, string predicates, hashing, raising an error. Everything else is standard SQL
//! and lives in `expr.rs`.

use std::fmt;
use std::str::FromStr;

use crate::ir::Ty;

/// A SQL dialect `segcore sql` can generate.
///
/// ```
/// use segcore::sql::Dialect;
/// let d: Dialect = "postgres".parse().unwrap();
/// assert_eq!(d, Dialect::Postgres);
/// assert_eq!(d.name(), "postgres");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    /// DuckDB (`duckdb`); proven by the differential tests.
    DuckDb,
    /// PostgreSQL (`postgres`); proven by the differential tests.
    Postgres,
    /// Spark SQL (`spark`); needs the session settings of SPEC §21.
    Spark,
    /// BigQuery (`bigquery`); checked by golden files only.
    BigQuery,
    /// Snowflake (`snowflake`); checked by golden files only.
    Snowflake,
}

impl Dialect {
    /// Every dialect, in documentation order.
    pub const ALL: [Dialect; 5] =
        [Dialect::DuckDb, Dialect::Postgres, Dialect::Spark, Dialect::BigQuery, Dialect::Snowflake];

    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Spark => "spark",
            Dialect::BigQuery => "bigquery",
            Dialect::Snowflake => "snowflake",
        }
    }

    /// The column type that holds values of segcore type `ty`, if the dialect has one.
    pub fn column_type(self, ty: Ty) -> Option<&'static str> {
        use Dialect::*;
        Some(match (self, ty) {
            (DuckDb | Spark | Snowflake, Ty::Bool) => "BOOLEAN",
            (Postgres, Ty::Bool) => "boolean",
            (BigQuery, Ty::Bool) => "BOOL",
            (DuckDb | Spark, Ty::Int | Ty::Duration) => "BIGINT",
            (Postgres, Ty::Int | Ty::Duration) => "bigint",
            (BigQuery, Ty::Int | Ty::Duration) => "INT64",
            (Snowflake, Ty::Int | Ty::Duration) => "NUMBER(19,0)",
            (DuckDb | Spark, Ty::Float) => "DOUBLE",
            (Postgres, Ty::Float) => "double precision",
            (BigQuery, Ty::Float) => "FLOAT64",
            (Snowflake, Ty::Float) => "FLOAT",
            (DuckDb | Spark, Ty::Decimal) => "DECIMAL(38,18)",
            (Postgres, Ty::Decimal) => "numeric",
            (BigQuery, Ty::Decimal) => "BIGNUMERIC",
            (Snowflake, Ty::Decimal) => "NUMBER(38,18)",
            (DuckDb | Snowflake, Ty::Str) => "VARCHAR",
            (Postgres, Ty::Str) => "text",
            (Spark | BigQuery, Ty::Str) => "STRING",
            (DuckDb, Ty::Timestamp) => "TIMESTAMPTZ",
            (Postgres, Ty::Timestamp) => "timestamptz",
            (Spark | BigQuery, Ty::Timestamp) => "TIMESTAMP",
            (Snowflake, Ty::Timestamp) => "TIMESTAMP_TZ",
            (Postgres, Ty::Date) => "date",
            (_, Ty::Date) => "DATE",
            _ => return None,
        })
    }

    /// A quoted identifier (column or table name).
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::BigQuery | Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            // Snowflake folds unquoted names to upper case; quoting a lowercase name would then
            // miss a column created without quotes. Quote only names that need it.
            Dialect::Snowflake if is_plain_ident(name) && !SNOWFLAKE_RESERVED.contains(&name) => name.to_string(),
            // A quoted reserved word matches the column an unquoted DDL created: upper case.
            Dialect::Snowflake if is_plain_ident(name) => format!("\"{}\"", name.to_uppercase()),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A string literal.
    pub fn string(self, s: &str) -> String {
        match self {
            // These read backslash escapes inside quoted strings.
            Dialect::BigQuery | Dialect::Spark | Dialect::Snowflake => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
            _ => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// A timestamp literal for an instant written `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC.
    pub fn timestamp(self, utc: &str) -> String {
        match self {
            Dialect::DuckDb | Dialect::Postgres => format!("TIMESTAMPTZ '{utc}+00'"),
            Dialect::Spark => format!("TIMESTAMP '{utc}+00:00'"),
            Dialect::BigQuery => format!("TIMESTAMP '{utc}+00'"),
            Dialect::Snowflake => format!("TO_TIMESTAMP_TZ('{utc} +00:00')"),
        }
    }

    /// A timestamp literal for an instant (µs since the epoch).
    pub fn instant(self, micros: i64) -> String {
        let iso = crate::time::format_timestamp(micros);
        self.timestamp(&iso.trim_end_matches('Z').replacen('T', " ", 1))
    }

    /// Whether numeric text `t` (digits only) fits an unsigned 64-bit integer.
    pub fn fits_u64(self, t: &str) -> String {
        let max = self.string("18446744073709551615");
        format!("(length({t}) < 20 OR (length({t}) = 20 AND {}))", self.string_order(t, "<=", &max))
    }

    /// A date literal.
    pub fn date(self, ymd: &str) -> String {
        match self {
            Dialect::Snowflake => format!("TO_DATE('{ymd}')"),
            _ => format!("DATE '{ymd}'"),
        }
    }

    /// The local wall-clock time (a zone-less timestamp) of instant `x` in `zone`.
    pub fn local(self, x: &str, zone: &str) -> String {
        let z = self.string(zone);
        match self {
            Dialect::DuckDb => format!("timezone({z}, {x})"),
            Dialect::Postgres => format!("({x} AT TIME ZONE {z})"),
            // Spark's timestamps are instants shown in the session zone, which must be UTC.
            Dialect::Spark => format!("from_utc_timestamp({x}, {z})"),
            Dialect::BigQuery => format!("DATETIME({x}, {z})"),
            // The two-argument form reads the instant's own offset.
            Dialect::Snowflake => format!("CAST(CONVERT_TIMEZONE({z}, {x}) AS TIMESTAMP_NTZ)"),
        }
    }

    /// The instant at which local date `d` starts in `zone`.
    pub fn start_of_local_date(self, d: &str, zone: &str) -> String {
        let z = self.string(zone);
        match self {
            Dialect::DuckDb => format!("timezone({z}, CAST({d} AS TIMESTAMP))"),
            Dialect::Postgres => format!("(CAST({d} AS timestamp) AT TIME ZONE {z})"),
            Dialect::Spark => format!("to_utc_timestamp(CAST({d} AS TIMESTAMP), {z})"),
            Dialect::BigQuery => format!("TIMESTAMP(DATETIME({d}), {z})"),
            Dialect::Snowflake => format!("TIMESTAMP_TZ_FROM_PARTS(YEAR({d}), MONTH({d}), DAY({d}), 0, 0, 0, 0, {z})"),
        }
    }

    /// The calendar date of a zone-less local timestamp.
    pub fn date_of_local(self, local: &str) -> String {
        match self {
            Dialect::Postgres => format!("CAST({local} AS date)"),
            _ => format!("CAST({local} AS DATE)"),
        }
    }

    /// Days from date `b` to date `a` (an integer).
    pub fn date_diff(self, a: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("date_diff('day', {b}, {a})"),
            Dialect::Postgres => format!("CAST({a} - {b} AS bigint)"),
            Dialect::Spark => format!("datediff({a}, {b})"),
            Dialect::BigQuery => format!("DATE_DIFF({a}, {b}, DAY)"),
            Dialect::Snowflake => format!("DATEDIFF(day, {b}, {a})"),
        }
    }

    /// ISO day of week (Monday 1 … Sunday 7) of a local timestamp.
    pub fn iso_day_of_week(self, local: &str) -> String {
        match self {
            Dialect::DuckDb => format!("isodow({local})"),
            Dialect::Postgres => format!("CAST(EXTRACT(ISODOW FROM {local}) AS bigint)"),
            Dialect::Spark => format!("(MOD(dayofweek({local}) + 5, 7) + 1)"),
            Dialect::BigQuery => format!("(MOD(EXTRACT(DAYOFWEEK FROM {local}) + 5, 7) + 1)"),
            Dialect::Snowflake => format!("DAYOFWEEKISO({local})"),
        }
    }

    /// The hour (0–23) of a local timestamp.
    pub fn hour(self, local: &str) -> String {
        match self {
            Dialect::Postgres => format!("CAST(EXTRACT(HOUR FROM {local}) AS bigint)"),
            Dialect::DuckDb | Dialect::Spark | Dialect::Snowflake => format!("hour({local})"),
            Dialect::BigQuery => format!("EXTRACT(HOUR FROM {local})"),
        }
    }

    /// Microseconds since the Unix epoch of an instant.
    pub fn epoch_micros(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("epoch_us({x})"),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM {x}) * 1000000 AS bigint)"),
            Dialect::Spark => format!("unix_micros({x})"),
            Dialect::BigQuery => format!("UNIX_MICROS({x})"),
            Dialect::Snowflake => format!("DATE_PART(EPOCH_MICROSECOND, {x})"),
        }
    }

    /// Instant `x` plus `us` microseconds (an integer expression).
    pub fn add_micros(self, x: &str, us: &str) -> String {
        match self {
            Dialect::DuckDb => format!("({x} + to_microseconds({us}))"),
            Dialect::Postgres => format!("({x} + {us} * INTERVAL '1 microsecond')"),
            Dialect::Spark => format!("timestamp_micros(unix_micros({x}) + {us})"),
            Dialect::BigQuery => format!("TIMESTAMP_ADD({x}, INTERVAL {us} MICROSECOND)"),
            Dialect::Snowflake => format!("DATEADD(microsecond, {us}, {x})"),
        }
    }

    /// `s contains t`, on code points.
    pub fn contains(self, s: &str, t: &str) -> String {
        match self {
            Dialect::DuckDb | Dialect::Spark | Dialect::Snowflake => format!("contains({s}, {t})"),
            Dialect::Postgres => format!("(strpos({s}, {t}) > 0)"),
            Dialect::BigQuery => format!("(STRPOS({s}, {t}) > 0)"),
        }
    }

    /// `s starts_with t`.
    pub fn starts_with(self, s: &str, t: &str) -> String {
        match self {
            Dialect::Spark => format!("startswith({s}, {t})"),
            Dialect::Snowflake => format!("STARTSWITH({s}, {t})"),
            _ => format!("starts_with({s}, {t})"),
        }
    }

    /// `s ends_with t`.
    pub fn ends_with(self, s: &str, t: &str) -> String {
        match self {
            Dialect::DuckDb => format!("ends_with({s}, {t})"),
            Dialect::Postgres => format!("(right({s}, char_length({t})) = {t})"),
            Dialect::Spark => format!("endswith({s}, {t})"),
            Dialect::BigQuery => format!("ENDS_WITH({s}, {t})"),
            Dialect::Snowflake => format!("ENDSWITH({s}, {t})"),
        }
    }

    /// Length in Unicode scalar values.
    pub fn char_length(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => format!("length({s})"),
            Dialect::Postgres => format!("char_length({s})"),
            Dialect::Spark => format!("char_length({s})"),
            Dialect::BigQuery | Dialect::Snowflake => format!("LENGTH({s})"),
        }
    }

    /// Whether the regular expression `re` matches somewhere in `s` (SPEC §7: a search).
    pub fn regex_search(self, s: &str, re: &str) -> String {
        let re = self.string(re);
        match self {
            Dialect::DuckDb => format!("regexp_matches({s}, {re})"),
            Dialect::Postgres => format!("({s} ~ {re})"),
            Dialect::Spark => format!("({s} RLIKE {re})"),
            Dialect::BigQuery => format!("REGEXP_CONTAINS({s}, {re})"),
            Dialect::Snowflake => format!("(REGEXP_INSTR({s}, {re}) > 0)"),
        }
    }

    /// Whether all of `s` matches the regular expression `re` (only the syntax every engine
    /// shares: groups, alternation, bracket classes, `* + ?`).
    pub fn full_match(self, s: &str, re: &str) -> String {
        // Java's `$` also matches before a final newline; `\z` only at the very end.
        let anchored = self.string(&if self == Dialect::Spark { format!("^({re})\\z") } else { format!("^({re})$") });
        match self {
            Dialect::DuckDb => format!("regexp_full_match({s}, {})", self.string(re)),
            Dialect::Postgres => format!("({s} ~ {anchored})"),
            Dialect::Spark => format!("({s} RLIKE {anchored})"),
            Dialect::BigQuery => format!("REGEXP_CONTAINS({s}, {anchored})"),
            Dialect::Snowflake => format!("REGEXP_LIKE({s}, {})", self.string(re)),
        }
    }

    /// The `n`th (1-based) `sep`-separated part of `s`, `''` when there are fewer parts.
    pub fn split_part(self, s: &str, sep: &str, n: usize) -> String {
        let sep = self.string(sep);
        match self {
            Dialect::BigQuery => format!("COALESCE(SPLIT({s}, {sep})[SAFE_OFFSET({})], '')", n - 1),
            _ => format!("split_part({s}, {sep}, {n})"),
        }
    }

    /// What follows the first `sep` in `s`, NULL when there is none.
    pub fn after_first(self, s: &str, sep: char) -> String {
        let sep_lit = self.string(&sep.to_string());
        let pos = match self {
            Dialect::Spark => format!("instr({s}, {sep_lit})"),
            Dialect::Snowflake => format!("POSITION({sep_lit}, {s})"),
            _ => format!("strpos({s}, {sep_lit})"),
        };
        format!("(CASE WHEN {pos} > 0 THEN substr({s}, {pos} + 1) END)")
    }

    /// `lower` of an ASCII string (A–Z only), whatever the database's locale.
    pub fn ascii_lower(self, s: &str) -> String {
        match self {
            Dialect::Postgres => format!("lower({s} COLLATE \"C\")"),
            _ => format!("lower({s})"),
        }
    }

    /// Whether string `s` is all ASCII (bytes = characters).
    pub fn is_ascii(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => format!("strlen({s}) = length({s})"),
            Dialect::Postgres => format!("octet_length({s}) = char_length({s})"),
            Dialect::Spark => format!("octet_length({s}) = char_length({s})"),
            Dialect::BigQuery => format!("BYTE_LENGTH({s}) = CHAR_LENGTH({s})"),
            Dialect::Snowflake => format!("OCTET_LENGTH({s}) = LENGTH({s})"),
        }
    }

    /// `h` = the first four bytes of SHA-256 of the UTF-8 bytes of `s`, as an unsigned integer.
    pub fn sha256_u32(self, s: &str) -> String {
        self.hex_u32(&self.sha256_hex(s), 0)
    }

    /// The lowercase hex SHA-256 digest of the UTF-8 bytes of string `s` (64 characters).
    pub fn sha256_hex(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => format!("sha256({s})"),
            Dialect::Postgres => format!("encode(sha256(convert_to({s}, 'UTF8')), 'hex')"),
            Dialect::Spark => format!("sha2({s}, 256)"),
            Dialect::BigQuery => format!("TO_HEX(SHA256({s}))"),
            Dialect::Snowflake => format!("SHA2({s}, 256)"),
        }
    }

    /// The unsigned 32-bit integer spelled by hex digits `8·lane + 1 … 8·lane + 8` of `hex`
    /// (SPEC §24's lanes; lane 0 is `bucket`'s hash, §13).
    pub fn hex_u32(self, hex: &str, lane: usize) -> String {
        let from = 8 * lane + 1;
        match self {
            Dialect::DuckDb => format!("CAST(('0x' || substr({hex}, {from}, 8)) AS UBIGINT)"),
            Dialect::Postgres => format!("CAST(CAST(('x' || substr({hex}, {from}, 8)) AS bit(32)) AS bigint)"),
            Dialect::Spark => format!("CAST(conv(substr({hex}, {from}, 8), 16, 10) AS BIGINT)"),
            Dialect::BigQuery => format!("CAST(CONCAT('0x', SUBSTR({hex}, {from}, 8)) AS INT64)"),
            Dialect::Snowflake => format!("TO_NUMBER(SUBSTR({hex}, {from}, 8), 'XXXXXXXX')"),
        }
    }

    /// Any value as the dialect's string type.
    pub fn cast_string(self, x: &str) -> String {
        format!("CAST({x} AS {})", self.column_type(Ty::Str).unwrap_or("VARCHAR"))
    }

    /// An integer as a string (for the bucket hash input).
    pub fn int_to_string(self, x: &str) -> String {
        match self {
            Dialect::Postgres => format!("CAST({x} AS text)"),
            Dialect::Spark | Dialect::BigQuery => format!("CAST({x} AS STRING)"),
            _ => format!("CAST({x} AS VARCHAR)"),
        }
    }

    /// 64-bit integer arithmetic that fails on overflow (SPEC §8). DuckDB computes in 128 bits
    /// and casts back: its statistics optimizer folds comparisons over a 64-bit product that
    /// overflows instead of raising (DuckDB 2.0).
    pub fn int_op(self, a: &str, op: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST(CAST({a} AS HUGEINT) {op} CAST({b} AS HUGEINT) AS BIGINT)"),
            Dialect::Snowflake => self.int64_checked(&format!("({a} {op} {b})")),
            // Operands as 64 bits first: a bare literal is a 32-bit INTEGER, and 32-bit
            // arithmetic overflows where SPEC §8's 64-bit arithmetic does not.
            _ => self.cast(&format!("({} {op} {})", self.cast(a, Ty::Int), self.cast(b, Ty::Int)), Ty::Int),
        }
    }

    /// `-x` or `abs(x)` of a 64-bit integer, failing on overflow.
    pub fn int_unary(self, func: &str, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST({func}(CAST({x} AS HUGEINT)) AS BIGINT)"),
            Dialect::Snowflake => self.int64_checked(&format!("{func}({x})")),
            _ => self.cast(&format!("{func}({x})"), Ty::Int),
        }
    }

    /// A wide integer result narrowed to 64 bits, failing when it does not fit (Snowflake's
    /// NUMBER(19,0) holds up to 10^19 − 1, more than an i64).
    fn int64_checked(self, r: &str) -> String {
        let raise =
            self.raise("segcore numeric_overflow: integer result outside 64 bits: ", &format!("CAST({r} AS VARCHAR)"));
        format!(
            "(CASE WHEN {r} BETWEEN -9223372036854775808 AND 9223372036854775807 THEN CAST({r} AS NUMBER(19,0)) ELSE {raise} END)"
        )
    }

    /// An integer type wide enough for any sum of 64-bit integers.
    pub fn wide_int(self) -> &'static str {
        match self {
            Dialect::DuckDb => "HUGEINT",
            Dialect::Postgres => "numeric",
            Dialect::Spark => "DECIMAL(38,0)",
            Dialect::BigQuery => "BIGNUMERIC",
            Dialect::Snowflake => "NUMBER(38,0)",
        }
    }

    /// An exact number (integer or decimal) as its nearest double, rounded once.
    pub fn exact_to_double(self, x: &str) -> String {
        let fl = self.column_type(Ty::Float).unwrap_or("DOUBLE");
        match self {
            // DuckDB converts 128-bit integers and decimals to double in two roundings;
            // its text parser rounds once.
            Dialect::DuckDb => format!("CAST(CAST({x} AS VARCHAR) AS {fl})"),
            _ => format!("CAST({x} AS {fl})"),
        }
    }

    /// `a op b` on doubles, NULL where IEEE gives ±∞ or NaN (SPEC §8).
    pub fn float_op(self, a: &str, op: &str, b: &str) -> String {
        match (self, op) {
            // BigQuery raises on float overflow; its SAFE_ functions give NULL instead.
            (Dialect::BigQuery, "+") => format!("SAFE_ADD({a}, {b})"),
            (Dialect::BigQuery, "-") => format!("SAFE_SUBTRACT({a}, {b})"),
            (Dialect::BigQuery, "*") => format!("SAFE_MULTIPLY({a}, {b})"),
            (Dialect::BigQuery, _) => format!("SAFE_DIVIDE({a}, NULLIF({b}, 0))"),
            (_, "/") => self.finite(&format!("({a} / NULLIF({b}, 0))")),
            _ => self.finite(&format!("({a} {op} {b})")),
        }
    }

    /// A cast to the column type of `ty`.
    pub fn cast(self, x: &str, ty: Ty) -> String {
        format!("CAST({x} AS {})", self.column_type(ty).unwrap_or("VARCHAR"))
    }

    /// A string ordering comparison by code point, whatever the database's default collation.
    pub fn string_order(self, a: &str, op: &str, b: &str) -> String {
        match self {
            Dialect::Postgres => format!("{a} COLLATE \"C\" {op} {b}"),
            Dialect::Snowflake => format!("COLLATE({a}, 'utf8') {op} COLLATE({b}, 'utf8')"),
            _ => format!("{a} {op} {b}"),
        }
    }

    /// `x` when finite, else NULL (SPEC §8: NaN and ±∞ never escape).
    pub fn finite(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("(CASE WHEN isfinite({x}) THEN {x} END)"),
            Dialect::Postgres => {
                format!("(CASE WHEN {x} NOT IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) THEN {x} END)")
            }
            Dialect::Spark => format!("(CASE WHEN NOT isnan({x}) AND abs({x}) != double('infinity') THEN {x} END)"),
            Dialect::BigQuery => format!("(CASE WHEN NOT IS_NAN({x}) AND NOT IS_INF({x}) THEN {x} END)"),
            Dialect::Snowflake => {
                format!("(CASE WHEN {x} NOT IN ('inf'::FLOAT, '-inf'::FLOAT, 'nan'::FLOAT) THEN {x} END)")
            }
        }
    }

    /// An expression that fails the query with `message` when evaluated. `row` is any
    /// expression over the current row: it keeps planners from raising the error while
    /// folding constants (PostgreSQL evaluates constant CASE arms at plan time).
    pub fn raise(self, message: &str, row: &str) -> String {
        let m = self.string(message);
        match self {
            Dialect::DuckDb => format!("error({m} || {row})"),
            Dialect::Spark => format!("raise_error({m} || {row})"),
            Dialect::BigQuery => format!("ERROR(CONCAT({m}, {row}))"),
            // No raise function in plain SQL: a failing cast carries the message.
            Dialect::Postgres => format!("CAST({m} || {row} AS numeric)"),
            Dialect::Snowflake => format!("CAST({m} || {row} AS NUMBER)"),
        }
    }
}

/// Snowflake's reserved words (lowercase), which must be quoted as identifiers.
const SNOWFLAKE_RESERVED: &[&str] = &[
    "account",
    "all",
    "alter",
    "and",
    "any",
    "as",
    "between",
    "by",
    "case",
    "cast",
    "check",
    "column",
    "connect",
    "connection",
    "constraint",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "delete",
    "distinct",
    "drop",
    "else",
    "exists",
    "false",
    "following",
    "for",
    "from",
    "full",
    "grant",
    "group",
    "gscluster",
    "having",
    "ilike",
    "in",
    "increment",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "issue",
    "join",
    "lateral",
    "left",
    "like",
    "localtime",
    "localtimestamp",
    "minus",
    "natural",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "organization",
    "qualify",
    "regexp",
    "revoke",
    "right",
    "rlike",
    "row",
    "rows",
    "sample",
    "schema",
    "select",
    "set",
    "some",
    "start",
    "table",
    "tablesample",
    "then",
    "to",
    "trigger",
    "true",
    "try_cast",
    "union",
    "unique",
    "update",
    "using",
    "values",
    "view",
    "when",
    "whenever",
    "where",
    "with",
];

fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_')) && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Dialect, String> {
        Dialect::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| {
            format!("unknown SQL dialect {s:?} (expected one of duckdb, postgres, spark, bigquery, snowflake)")
        })
    }
}
