//! Errors as values: a stable kind, a message, and (for rule text) a location.

use std::fmt;

/// A byte range in rule text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span over `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// 1-based line and column; columns count Unicode scalar values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in Unicode scalar values.
    pub column: u32,
}

impl Location {
    /// The location of byte `offset` in `source`.
    pub fn of(source: &str, offset: u32) -> Location {
        let offset = (offset as usize).min(source.len());
        let mut line = 1;
        let mut line_start = 0;
        for (i, b) in source.as_bytes()[..offset].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = i + 1;
            }
        }
        // `offset` may fall inside a multi-byte character only if a span is wrong; be lenient.
        let column = source.get(line_start..offset).map(|s| s.chars().count()).unwrap_or(offset - line_start) + 1;
        Location { line, column: column as u32 }
    }
}

/// The stable kind of an error. Its `as_str` spelling is part of the public contract (SPEC §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The rule text does not parse (SPEC §3).
    SyntaxError,
    /// A string escape other than `\"` `\\` `\n` `\t` `\r` `\u{…}` (SPEC §2).
    InvalidEscape,
    /// A number beyond its type: an int outside i64, a decimal over 28 digits, a too-long window.
    NumberOutOfRange,
    /// A call to a function the language does not have.
    UnknownFunction,
    /// A function called with the wrong number of arguments.
    Arity,
    /// Types that cannot combine, or an expression where a literal is required (SPEC §6).
    TypeMismatch,
    /// An attribute or event property the schema does not declare (schema drift, SPEC §18).
    UnknownField,
    /// An event name the schema does not declare.
    UnknownEvent,
    /// A timestamp literal, `effective_from` or `effective_until` that does not parse (SPEC §9).
    InvalidTimestamp,
    /// A date literal that is not a valid `YYYY-MM-DD`.
    InvalidDate,
    /// A definition's `timezone` that is not an IANA zone of segcore's bundled tzdb.
    InvalidTimezone,
    /// A currency that is not three uppercase ASCII letters (`5 ABCD`, a definition's `currency`).
    InvalidCurrency,
    /// A version literal or a definition's `version` that is not strict SemVer 2.0.0 (SPEC §15).
    InvalidSemver,
    /// A `matches` pattern the `regex` crate rejects.
    RegexInvalid,
    /// A `matches` pattern with look-around or back-references, refused at compile time (SPEC §7).
    RegexUnsupported,
    /// A pattern over 1 KiB of source or 1 MiB compiled (SPEC §19).
    RegexTooLarge,
    /// `in_segment` of an id the registry does not have (SPEC §12).
    UnknownSegment,
    /// Segments whose `in_segment` references form a cycle.
    SegmentCycle,
    /// Two definitions with the same id in one registry.
    DuplicateSegment,
    /// A definition document of the wrong shape, or with an invalid field value (SPEC §1).
    InvalidDefinition,
    /// A definition field SPEC §1 does not list: a typo must never silently drop a field.
    UnknownDefinitionField,
    /// A size, nesting or count limit of SPEC §19 was crossed (at compile or evaluation time).
    LimitExceeded,
    /// A money conversion needs a quote the context lacks (SPEC §10); never read as 0.
    FxRateMissing,
    /// Integer or decimal arithmetic overflowed (SPEC §8); nothing wraps around.
    NumericOverflow,
    /// Evaluating one segment whose `in_segment` result the context does not carry (SPEC §12).
    SegmentResultMissing,
    /// Profile or event data that cannot be read (`at` without an offset, an unclosed CSV quote).
    InvalidProfile,
    /// A schema document of the wrong shape, or with an unknown type name (SPEC §18).
    InvalidSchema,
    /// An unusable evaluation context: `as_of` without an offset, a malformed FX table.
    InvalidContext,
    /// A construct the chosen SQL dialect cannot express exactly (`segcore sql`).
    SqlUnsupported,
    /// A rule whose outcome depends on `as_of` in a way `next_change`/`timeline` cannot place in
    /// time (SPEC §22), or a lone definition with `in_segment` (its references change only in a
    /// registry).
    NextChangeUnsupported,
    /// A file or folder that cannot be read (missing, not a regular file, not UTF-8).
    Io,
    /// Two input rows (profiles) carry the same id: every route refuses rather than guessing
    /// which row the events belong to (SPEC §11).
    DuplicateProfileId,
    /// A reconciliation key outside SPEC §24's alphabet (1–64 of `A–Z a–z 0–9 . _ -`).
    InvalidKey,
    /// A fingerprint that is not SPEC §24's text form `sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>`.
    InvalidFingerprint,
    /// Fingerprints or sketches made with different keys: they cannot be compared (SPEC §24).
    KeyMismatch,
    /// Bytes that are not a whole, intact segcore sketch (magic, length, varint or checksum).
    SketchInvalid,
    /// The sketches hold more differences than their coded symbols can decode (SPEC §24): exchange
    /// longer sketches or the id lists. Never a partial difference.
    SketchUndecodable,
    /// An id export that cannot be read exactly (SPEC §24): an empty id, a null or float id, a
    /// missing id column or field, a line that is not UTF-8.
    InvalidIds,
    /// An identity map that cannot be read, or (strict) joins identifiers that must stay apart
    /// (SPEC §25).
    InvalidIdentity,
    /// A bundle that cannot be loaded whole (SPEC §27): not JSON, another format, a definition
    /// that fails to compile, or a hash that does not match its contents.
    BundleInvalid,
    /// A rule handed to `import` that does not read: malformed JSON, nested or sized beyond the
    /// limits (SPEC §29).
    ImportInvalid,
    /// A construct of an imported rule with no exact segcore counterpart (SPEC §29): refused,
    /// never approximated.
    ImportRefused,
    /// A definition `export --to jsonlogic` cannot express exactly (SPEC §29.3).
    ExportRefused,
    /// A bug in segcore, caught at a binding boundary (a panic turned into an error value). No
    /// input is meant to reach it; tests check none does.
    Internal,
}

impl ErrorKind {
    /// The stable snake_case name used in diagnostics, bindings and the conformance suite.
    pub fn as_str(self) -> &'static str {
        use ErrorKind::*;
        match self {
            SyntaxError => "syntax_error",
            InvalidEscape => "invalid_escape",
            NumberOutOfRange => "number_out_of_range",
            UnknownFunction => "unknown_function",
            Arity => "arity",
            TypeMismatch => "type_mismatch",
            UnknownField => "unknown_field",
            UnknownEvent => "unknown_event",
            InvalidTimestamp => "invalid_timestamp",
            InvalidDate => "invalid_date",
            InvalidTimezone => "invalid_timezone",
            InvalidCurrency => "invalid_currency",
            InvalidSemver => "invalid_semver",
            RegexInvalid => "regex_invalid",
            RegexUnsupported => "regex_unsupported",
            RegexTooLarge => "regex_too_large",
            UnknownSegment => "unknown_segment",
            SegmentCycle => "segment_cycle",
            DuplicateSegment => "duplicate_segment",
            InvalidDefinition => "invalid_definition",
            UnknownDefinitionField => "unknown_definition_field",
            LimitExceeded => "limit_exceeded",
            FxRateMissing => "fx_rate_missing",
            NumericOverflow => "numeric_overflow",
            SegmentResultMissing => "segment_result_missing",
            InvalidProfile => "invalid_profile",
            InvalidSchema => "invalid_schema",
            InvalidContext => "invalid_context",
            SqlUnsupported => "sql_unsupported",
            NextChangeUnsupported => "next_change_unsupported",
            Io => "io",
            DuplicateProfileId => "duplicate_profile_id",
            InvalidKey => "invalid_key",
            InvalidFingerprint => "invalid_fingerprint",
            KeyMismatch => "key_mismatch",
            SketchInvalid => "sketch_invalid",
            SketchUndecodable => "sketch_undecodable",
            InvalidIds => "invalid_ids",
            InvalidIdentity => "invalid_identity",
            BundleInvalid => "bundle_invalid",
            ImportInvalid => "import_invalid",
            ImportRefused => "import_refused",
            ExportRefused => "export_refused",
            Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails the operation.
    Error,
    /// Reported but not fatal (see `Segment::warnings`).
    Warning,
}

/// One problem found while loading, compiling or evaluating a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The stable kind: what programs and tests match on (SPEC §18).
    pub kind: ErrorKind,
    /// Whether it failed the operation or is only reported.
    pub severity: Severity,
    /// The explanation for people; match on `kind`, not on this text.
    pub message: String,
    /// Where in the rule text, when the problem is in the rule.
    pub span: Option<Span>,
    /// Line and column of `span` in the rule text.
    pub location: Option<Location>,
    /// The definition id (or file) this belongs to, when known.
    pub origin: Option<String>,
    /// A caret snippet of the offending rule line, ready to print.
    pub snippet: Option<String>,
    /// Where the problem is in the definition *file*, when the definition came from one.
    pub file_location: Option<Location>,
    /// Where the problem is in the *data* (a file or frame, its row or line, column, entity),
    /// when it was found reading or evaluating a batch.
    pub data: Option<Box<DataLocation>>,
}

/// A position in input data: which input (`source`: a file name, or `profiles`/`events` for a
/// frame), the 1-based `line` of a text file or the 0-based `row` of a frame, the column, the
/// entity id of the profile concerned and the segment being evaluated, as far as known.
///
/// ```
/// use segcore::{DataLocation, Error, ErrorKind};
/// let at = DataLocation { source: Some("events.csv".into()), line: Some(3), ..Default::default() };
/// let err = Error::new(ErrorKind::InvalidProfile, "`at` is not a timestamp").at_data(at);
/// assert_eq!(err.first().data.as_ref().unwrap().line, Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataLocation {
    /// The input: a file name, or `profiles`/`events` for a frame.
    pub source: Option<String>,
    /// 1-based line of a text file (for CSV, the line its record starts on).
    pub line: Option<u64>,
    /// 0-based row of a frame (an Arrow table), when there is no line.
    pub row: Option<u64>,
    /// The name of the column at fault.
    pub column: Option<String>,
    /// The id of the profile concerned.
    pub entity: Option<String>,
    /// The id of the segment being evaluated.
    pub segment: Option<String>,
}

impl DataLocation {
    /// The place as diagnostics print it: `events.csv:3` (a line of a file), `profiles row 2,
    /// column `age`` (a frame's row), with ` (id `u1`)` when the entity is known; `None` when
    /// nothing but the segment is known (a diagnostic names its segment already).
    ///
    /// ```
    /// use segcore::DataLocation;
    /// let at = DataLocation { source: Some("profiles".into()), row: Some(2), entity: Some("u1".into()), ..Default::default() };
    /// assert_eq!(at.place().unwrap(), "profiles row 2 (id `u1`)");
    /// ```
    pub fn place(&self) -> Option<String> {
        let source = self.source.as_deref().unwrap_or("input");
        let mut out = match (self.line, self.row) {
            (Some(line), _) => format!("{source}:{line}"),
            (None, Some(row)) => format!("{source} row {row}"),
            (None, None) if self.source.is_some() || self.column.is_some() => source.to_string(),
            (None, None) if self.entity.is_some() => "profile".to_string(),
            (None, None) => return None,
        };
        if let Some(c) = &self.column {
            let sep = if self.line.is_some() || self.row.is_some() { "," } else { "" };
            out.push_str(&format!("{sep} column `{c}`"));
        }
        if let Some(e) = &self.entity {
            out.push_str(&format!(" (id `{e}`)"));
        }
        Some(out)
    }
}

impl Diagnostic {
    /// An error with no location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            location: None,
            origin: None,
            snippet: None,
            file_location: None,
            data: None,
        }
    }
    /// An error at `span` (resolved to line:col later by [`Diagnostic::locate`]).
    pub fn at(kind: ErrorKind, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { span: Some(span), ..Diagnostic::new(kind, message) }
    }
    /// Makes this a warning.
    pub fn warning(mut self) -> Diagnostic {
        self.severity = Severity::Warning;
        self
    }
    /// Sets the origin (definition id or file name).
    pub fn with_origin(mut self, origin: impl Into<String>) -> Diagnostic {
        if self.origin.is_none() {
            self.origin = Some(origin.into());
        }
        self
    }
    /// Fills `location` and `snippet` from the rule text the span points into.
    pub fn locate(mut self, source: &str) -> Diagnostic {
        if let Some(span) = self.span {
            let loc = Location::of(source, span.start);
            self.location = Some(loc);
            self.snippet = Some(snippet(source, span, loc));
        }
        self
    }
}

/// Characters of the rule line shown before and after the span in a snippet: one long line (a
/// 64 KiB rule) must not be copied into every diagnostic.
const SNIPPET_CONTEXT: usize = 40;
/// Carets drawn at most (a span may cover most of a long line).
const SNIPPET_CARETS: usize = 80;

fn snippet(source: &str, span: Span, loc: Location) -> String {
    let line_text = source.lines().nth(loc.line as usize - 1).unwrap_or("");
    let width = {
        let start = span.start as usize;
        let end = (span.end as usize).max(start).min(source.len());
        let text = source.get(start..end).unwrap_or("");
        let first_line = text.split('\n').next().unwrap_or("");
        first_line.chars().take(SNIPPET_CARETS).count().max(1)
    };
    let col = loc.column as usize - 1;
    let skip = col.saturating_sub(SNIPPET_CONTEXT);
    let shown: String = line_text.chars().skip(skip).take(col - skip + width + SNIPPET_CONTEXT).collect();
    let (head, tail) = (
        if skip > 0 { "…" } else { "" },
        if skip + shown.chars().count() < line_text.chars().count() { "…" } else { "" },
    );
    let pad: String = std::iter::repeat_n(' ', head.chars().count())
        .chain(line_text.chars().skip(skip).take(col - skip).map(|c| if c == '\t' { '\t' } else { ' ' }))
        .collect();
    format!("{head}{shown}{tail}\n{pad}{}", "^".repeat(width))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]", self.kind)?;
        if let Some(origin) = &self.origin {
            write!(f, " {origin}")?;
            if let Some(loc) = self.file_location.or(self.location) {
                write!(f, ":{}:{}", loc.line, loc.column)?;
            }
        } else if let Some(loc) = self.location {
            write!(f, " {}:{}", loc.line, loc.column)?;
        }
        if let Some(place) = self.data.as_deref().and_then(DataLocation::place) {
            let sep = if self.origin.is_some() || self.location.is_some() { ": " } else { " " };
            write!(f, "{sep}{place}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(snippet) = &self.snippet {
            for line in snippet.lines() {
                write!(f, "\n    | {line}")?;
            }
        }
        Ok(())
    }
}

/// The error type of every fallible public function: one or more diagnostics.
///
/// ```
/// let err = segcore::Segment::parse_rule("age >=").unwrap_err();
/// assert_eq!(err.kind(), segcore::ErrorKind::SyntaxError);
/// assert_eq!(err.diagnostics()[0].location.unwrap().column, 7);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    diagnostics: Vec<Diagnostic>,
}

impl Error {
    /// An error made of these diagnostics (at least one).
    pub fn from_diagnostics(mut diagnostics: Vec<Diagnostic>) -> Error {
        if diagnostics.is_empty() {
            diagnostics.push(Diagnostic::new(ErrorKind::InvalidDefinition, "unknown error"));
        }
        Error { diagnostics }
    }
    /// A single-diagnostic error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { diagnostics: vec![Diagnostic::new(kind, message)] }
    }
    /// The kind of the first error.
    pub fn kind(&self) -> ErrorKind {
        self.first().kind
    }
    /// The first error diagnostic.
    pub fn first(&self) -> &Diagnostic {
        self.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap_or(&self.diagnostics[0])
    }
    /// Every diagnostic, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
    /// Sets the origin of every diagnostic, replacing any.
    pub fn with_file(self, file: &str) -> Error {
        Error {
            diagnostics: self
                .diagnostics
                .into_iter()
                .map(|mut d| {
                    d.origin = Some(file.to_string());
                    d
                })
                .collect(),
        }
    }
    /// Sets the origin of every diagnostic that has none.
    pub fn with_origin(self, origin: &str) -> Error {
        Error { diagnostics: self.diagnostics.into_iter().map(|d| d.with_origin(origin)).collect() }
    }
    /// Adds `by` to every profile row a diagnostic names (not to an events row): the rows of a
    /// chunk of a larger profiles table, placed in the whole table.
    #[cfg(feature = "arrow")]
    pub(crate) fn shift_profile_rows(self, by: usize) -> Error {
        let shift = |mut d: Diagnostic| {
            if let Some(at) = d.data.as_mut() {
                if at.source.as_deref() != Some("events") {
                    at.row = at.row.map(|r| r + by as u64);
                }
            }
            d
        };
        Error { diagnostics: self.diagnostics.into_iter().map(shift).collect() }
    }
    /// Places every diagnostic in the data: fields of `at` fill the ones a diagnostic does not
    /// have yet (an inner, more precise position wins).
    pub fn at_data(self, at: DataLocation) -> Error {
        let place = |d: Diagnostic| {
            let mut d = d;
            let old = d.data.take().map(|b| *b).unwrap_or_default();
            d.data = Some(Box::new(DataLocation {
                source: old.source.or_else(|| at.source.clone()),
                line: old.line.or(at.line),
                row: old.row.or(at.row),
                column: old.column.or_else(|| at.column.clone()),
                entity: old.entity.or_else(|| at.entity.clone()),
                segment: old.segment.or_else(|| at.segment.clone()),
            }));
            d
        };
        Error { diagnostics: self.diagnostics.into_iter().map(place).collect() }
    }
}

/// Where an error was raised: while compiling definitions or while evaluating a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Loading or compiling definitions.
    Compile,
    /// Evaluating profiles: bad data or context is [`ErrorClass::Data`], the rest mostly
    /// [`ErrorClass::Evaluation`] (see [`ErrorKind::class`]).
    Evaluate,
}

/// The exception class every binding maps an error to, so Python, Node and WASM agree on it
/// (SPEC §18, "Error classes").
///
/// The class is decided per kind ([`ErrorKind::class`]); the few kinds that can be found in rule
/// text and in a definition document alike (a bad timestamp, currency, version or zone, a size
/// limit) take the class of the input they were found in.
///
/// ```
/// use segcore::{ErrorClass, Phase, Segment};
/// let err = Segment::parse_rule("age >=").unwrap_err();
/// assert_eq!(err.class(Phase::Compile), ErrorClass::Parse);
/// assert_eq!(ErrorClass::Parse.name(), "ParseError");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The rule text is not valid syntax.
    Parse,
    /// The rule does not type-check, or segment references are wrong.
    TypeCheck,
    /// The definition document (metadata, YAML/JSON shape, schema, files) is invalid.
    Definition,
    /// Evaluation failed for this profile or context (a missing FX quote, an overflow).
    Evaluation,
    /// The data or the context handed in cannot be read: a malformed profile, table, frame or
    /// `as_of`, a repeated id. A subclass of `EvaluationError` in the bindings.
    Data,
    /// A bug in segcore (`internal`): the bindings' base class `SegmentError`.
    Internal,
}

impl ErrorClass {
    /// The class name the bindings use (`ParseError`, `TypeCheckError`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Parse => "ParseError",
            ErrorClass::TypeCheck => "TypeCheckError",
            ErrorClass::Definition => "DefinitionError",
            ErrorClass::Evaluation => "EvaluationError",
            ErrorClass::Data => "DataError",
            ErrorClass::Internal => "SegmentError",
        }
    }
}

impl ErrorKind {
    /// The class of an error of this kind. `in_rule` says whether it was found in rule text
    /// (it has a rule position) rather than in a definition document; `phase` whether it was
    /// raised while compiling definitions or while evaluating profiles. Every kind is listed: a
    /// new kind must be given its class here.
    ///
    /// ```
    /// use segcore::{ErrorClass, ErrorKind, Phase};
    /// // `2026-13-01T00:00:00Z` in a rule is a type error; in `effective_from` a definition error.
    /// assert_eq!(ErrorKind::InvalidTimestamp.class(true, Phase::Compile), ErrorClass::TypeCheck);
    /// assert_eq!(ErrorKind::InvalidTimestamp.class(false, Phase::Compile), ErrorClass::Definition);
    /// assert_eq!(ErrorKind::InvalidProfile.class(false, Phase::Evaluate), ErrorClass::Data);
    /// ```
    pub fn class(self, in_rule: bool, phase: Phase) -> ErrorClass {
        use ErrorClass as C;
        use ErrorKind::*;
        let compiling = phase == Phase::Compile;
        match self {
            // Reading the rule text.
            SyntaxError | InvalidEscape | NumberOutOfRange | ImportInvalid => C::Parse,
            // Meaning of the rule text and of segment references.
            UnknownFunction | Arity | UnknownField | UnknownEvent | InvalidDate | RegexInvalid | RegexUnsupported
            | RegexTooLarge | UnknownSegment | SegmentCycle | DuplicateSegment => C::TypeCheck,
            // Documents and files.
            InvalidDefinition | UnknownDefinitionField | InvalidSchema | Io | BundleInvalid => C::Definition,
            // Rule text or a definition's field (`effective_from`, `currency`, `version`, `timezone`).
            // (Outside rule text at evaluation time: a value handed in, e.g. a bad FX currency.)
            InvalidTimestamp | InvalidTimezone | InvalidCurrency | InvalidSemver => match (in_rule, compiling) {
                (true, _) => C::TypeCheck,
                (false, true) => C::Definition,
                (false, false) => C::Data,
            },
            // A rule nested too deep is unreadable text (at its position); a document, schema or
            // rule field over a size limit is a bad document (compiling), a value bad data.
            LimitExceeded if in_rule => C::Parse,
            LimitExceeded if compiling => C::Definition,
            LimitExceeded => C::Data,
            // Found by the type checker, or by an operation on values at evaluation time.
            TypeMismatch if compiling => C::TypeCheck,
            TypeMismatch => C::Evaluation,
            // A construct the SQL dialect cannot express: a property of the rule.
            SqlUnsupported | NextChangeUnsupported | ImportRefused | ExportRefused => C::TypeCheck,
            // Evaluation of good data.
            FxRateMissing | NumericOverflow | SegmentResultMissing => C::Evaluation,
            // The input handed in.
            InvalidProfile | InvalidContext | DuplicateProfileId => C::Data,
            // Reconciliation inputs (SPEC §24): ids, keys, fingerprints and sketches handed in.
            InvalidKey | InvalidFingerprint | KeyMismatch | SketchInvalid | SketchUndecodable | InvalidIds
            | InvalidIdentity => C::Data,
            Internal => C::Internal,
        }
    }
}

impl Error {
    /// The binding exception class of this error, raised during `phase`: the class of its first
    /// diagnostic's kind (see [`ErrorKind::class`]).
    pub fn class(&self, phase: Phase) -> ErrorClass {
        let first = self.first();
        first.kind.class(first.span.is_some(), phase)
    }
}

impl Diagnostic {
    /// The diagnostic as a JSON object, with the field names the JavaScript bindings (Node and
    /// WASM) expose: `kind`, `severity`, `message`, `line`, `column`, `origin`, `fileLine`,
    /// `fileColumn` (absent positions are `null`); a diagnostic placed in data adds `source`,
    /// `dataLine`, `row`, `columnName`, `entity` and `segment`.
    ///
    /// ```
    /// let err = segcore::Segment::parse_rule("age >=").unwrap_err();
    /// let json = err.first().to_json();
    /// assert_eq!(json["kind"], "syntax_error");
    /// assert_eq!(json["line"], 1);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "kind": self.kind.as_str(),
            "severity": match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            "message": self.message,
            "line": self.location.map(|l| l.line),
            "column": self.location.map(|l| l.column),
            "origin": self.origin,
            "fileLine": self.file_location.map(|l| l.line),
            "fileColumn": self.file_location.map(|l| l.column),
        });
        if let (Some(at), serde_json::Value::Object(map)) = (&self.data, &mut json) {
            map.insert("source".into(), at.source.clone().into());
            map.insert("dataLine".into(), at.line.into());
            map.insert("row".into(), at.row.into());
            map.insert("columnName".into(), at.column.clone().into());
            map.insert("entity".into(), at.entity.clone().into());
            map.insert("segment".into(), at.segment.clone().into());
        }
        json
    }
}

/// Diagnostics as a JSON array of [`Diagnostic::to_json`] objects (what `check` returns in the
/// JavaScript bindings).
pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::Value::Array(diagnostics.iter().map(Diagnostic::to_json).collect())
}

impl Error {
    /// Everything a JavaScript binding needs to raise this error: the first diagnostic's fields
    /// (see [`Diagnostic::to_json`]), plus `class` (see [`Error::class`]), the stable `code` and
    /// every diagnostic under `diagnostics`. Node and WASM both build their errors from this, so
    /// they agree field for field.
    ///
    /// ```
    /// use segcore::{Phase, Segment};
    /// let err = Segment::parse_rule("age >=").unwrap_err();
    /// let json = err.to_json(Phase::Compile);
    /// assert_eq!(json["class"], "ParseError");
    /// assert_eq!(json["code"], "syntax_error");
    /// ```
    pub fn to_json(&self, phase: Phase) -> serde_json::Value {
        let mut details = self.first().to_json();
        if let serde_json::Value::Object(map) = &mut details {
            map.insert("class".into(), self.class(phase).name().into());
            map.insert("code".into(), self.first().kind.as_str().into());
            map.insert("diagnostics".into(), diagnostics_json(&self.diagnostics));
        }
        details
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Error {
        Error { diagnostics: vec![d] }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod snippet_tests {
    use super::*;

    #[test]
    fn snippets_of_long_lines_show_a_window_with_the_caret_aligned() {
        let src = format!("{} and zz > 1 and {}", "a > 1 and ".repeat(300), "b > 1 and ".repeat(300));
        let start = src.find("zz").unwrap();
        let d = Diagnostic::at(ErrorKind::UnknownField, Span { start: start as u32, end: start as u32 + 2 }, "x")
            .locate(&src);
        let snip = d.snippet.unwrap();
        let (line, carets) = snip.split_once('\n').unwrap();
        assert!(line.starts_with('…') && line.ends_with('…'), "{line}");
        assert!(line.chars().count() <= 2 * SNIPPET_CONTEXT + 4, "{line}");
        let at = carets.chars().take_while(|&c| c == ' ').count();
        assert_eq!(line.chars().skip(at).take(2).collect::<String>(), "zz", "{snip}");
        assert_eq!(carets.trim_start(), "^^");
        // A short line is shown whole.
        let d = Diagnostic::at(ErrorKind::UnknownField, Span { start: 0, end: 1 }, "x").locate("a > 1");
        assert_eq!(d.snippet.unwrap(), "a > 1\n^");
    }
}
