//! A compiled segment: a definition, its syntax tree, typed IR, read set and hash. This is the
//! main entry point of the library.

use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::ast::Expr;
use crate::bind::Bound;
use crate::compile::{compile, Env, ReadSet};
use crate::definition::Definition;
use crate::error::{Diagnostic, Error, ErrorKind, Severity};
use crate::ir::{Layout, Node};
use crate::profile::Profile;
use crate::schema::Schema;
use crate::value::Currency;

/// A compiled, ready-to-evaluate segment.
///
/// ```
/// use segcore::{Definition, EvalContext, Profile, Segment};
/// let seg = Segment::compile(Definition::new("adults", "1.0.0", "age >= 18"), None).unwrap();
/// let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"age": 30}}"#).unwrap();
/// let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
/// assert!(seg.evaluate(&p, &cx).unwrap().is_member());
/// ```
#[derive(Debug, Clone)]
pub struct Segment {
    definition: Definition,
    ast: Expr,
    ir: Node,
    tz: TimeZone,
    currency: Currency,
    read_set: ReadSet,
    layout: Arc<Layout>,
    canonical_json: String,
    hash: String,
    warnings: Vec<Diagnostic>,
    /// The interpreter's compiled `matches` patterns (the IR keeps each as text and a slot).
    regexes: Vec<regex::Regex>,
}

impl Segment {
    /// Parses rule text into a syntax tree (for formatting and tools).
    pub fn parse_rule(rule: &str) -> Result<Expr, Error> {
        crate::parser::parse(rule).map_err(|d| Error::from(d.locate(rule)))
    }

    /// Validates and compiles a definition, optionally type-checking against a schema.
    pub fn compile(definition: Definition, schema: Option<&Schema>) -> Result<Segment, Error> {
        Segment::compile_in(definition, schema, None, None)
    }

    pub(crate) fn compile_in(
        definition: Definition,
        schema: Option<&Schema>,
        known_segment: Option<&dyn Fn(&str) -> bool>,
        layout: Option<Arc<Layout>>,
    ) -> Result<Segment, Error> {
        let origin = match &definition.source {
            Some(src) => src.path.clone(),
            None => definition.id.clone(),
        };
        let rule = definition.rule.clone();
        let source = definition.source.clone();
        let locate = |d: Diagnostic| {
            let mut d = d.locate(&rule).with_origin(&origin);
            if let (Some(src), Some(loc)) = (&source, d.location) {
                d.file_location = Some(src.map(loc));
            }
            d
        };
        let ast = crate::parser::parse(&rule).map_err(|d| Error::from(locate(d)))?;
        let tz = crate::time::zone(&definition.timezone).ok_or_else(|| {
            Error::from(Diagnostic::new(
                ErrorKind::InvalidTimezone,
                format!("unknown time zone {:?}", definition.timezone),
            ))
            .with_origin(&origin)
        })?;
        let currency = Currency::parse(&definition.currency)
            .filter(|_| crate::data::iso4217::is_active(&definition.currency))
            .ok_or_else(|| {
                let msg = format!("invalid currency {:?}: not an ISO 4217 code (e.g. USD, EUR)", definition.currency);
                Error::new(ErrorKind::InvalidCurrency, msg).with_origin(&origin)
            })?;
        let env = Env { tz: &tz, schema, known_segment, layout: layout.as_deref() };
        let compiled = compile(&ast, &env);
        let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
            compiled.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
        let (errors, warnings) = (cap_diagnostics(errors), cap_diagnostics(warnings));
        let errors: Vec<Diagnostic> = errors.into_iter().map(locate).collect();
        let warnings: Vec<Diagnostic> = warnings.into_iter().map(locate).collect();
        if !errors.is_empty() {
            return Err(Error::from_diagnostics(errors));
        }
        let canonical_json = crate::canonical::definition_json(&definition, &ast);
        let hash = crate::canonical::sha256_hex(&canonical_json);
        Ok(Segment {
            definition,
            ast,
            ir: compiled.root,
            tz,
            currency,
            read_set: compiled.read_set,
            layout: layout.unwrap_or_else(|| Arc::new(compiled.layout)),
            canonical_json,
            hash,
            warnings,
            regexes: compiled.regexes,
        })
    }

    /// A diagnostic at `span` of this segment's rule, located like compile errors are (rule
    /// line:col, snippet, origin, and the position in the definition file when it came from one).
    pub fn diagnostic_at(&self, kind: ErrorKind, span: crate::error::Span, message: impl Into<String>) -> Diagnostic {
        let origin = match &self.definition.source {
            Some(src) => src.path.clone(),
            None => self.definition.id.clone(),
        };
        let mut d = Diagnostic::at(kind, span, message).locate(&self.definition.rule).with_origin(origin);
        if let (Some(src), Some(loc)) = (&self.definition.source, d.location) {
            d.file_location = Some(src.map(loc));
        }
        d
    }

    /// The compiled `matches` patterns, by the slot their IR nodes name.
    pub(crate) fn regexes(&self) -> &Vec<regex::Regex> {
        &self.regexes
    }

    /// The base currency (`currency` field, SPEC §10).
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Loads and compiles a definition file (`.yaml`, `.yml`, `.json`).
    pub fn from_file(path: &Path, schema: Option<&Schema>) -> Result<Segment, Error> {
        let def = Definition::from_file(path)?;
        Segment::compile(def, schema).map_err(|e| e.with_origin(&path.display().to_string()))
    }

    /// The definition id.
    pub fn id(&self) -> &str {
        &self.definition.id
    }
    /// The definition version.
    pub fn version(&self) -> &str {
        &self.definition.version
    }
    /// The definition as loaded.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }
    /// The rule's syntax tree.
    pub fn ast(&self) -> &Expr {
        &self.ast
    }
    /// The typed IR (input of every backend).
    pub fn ir(&self) -> &Node {
        &self.ir
    }
    /// What the rule reads from a profile.
    pub fn read_set(&self) -> &ReadSet {
        &self.read_set
    }
    /// The canonical JSON (SPEC §17).
    pub fn canonical_json(&self) -> &str {
        &self.canonical_json
    }
    /// The definition hash: hex SHA-256 of the canonical JSON.
    pub fn definition_hash(&self) -> &str {
        &self.hash
    }
    /// The rule, canonically formatted.
    pub fn formatted_rule(&self) -> String {
        crate::printer::print(&self.ast)
    }
    /// Non-fatal findings from compilation.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
    /// The segment's time zone.
    pub fn timezone(&self) -> &TimeZone {
        &self.tz
    }

    /// Whether the segment applies at `as_of` (its effective window).
    pub fn is_effective(&self, as_of: i64) -> bool {
        self.definition.effective_from.is_none_or(|f| as_of >= f)
            && self.definition.effective_until.is_none_or(|u| as_of < u)
    }

    /// The slot layout this segment reads through (shared by every segment of a registry).
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Binds a profile to this segment's layout: its attributes and event groups looked up once,
    /// so evaluating it (by this segment, or any segment of the same registry) reads by index.
    ///
    /// ```
    /// use segcore::{Definition, EvalContext, Profile, Segment};
    /// let seg = Segment::compile(Definition::new("a", "1.0.0", "age >= 18"), None).unwrap();
    /// let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"age": 30}}"#).unwrap();
    /// let bound = seg.bind(&p);
    /// let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    /// assert!(seg.evaluate_bound(&bound, &cx).unwrap().is_member());
    /// ```
    pub fn bind<'p>(&self, profile: &'p Profile) -> Bound<'p> {
        Bound::new(&self.layout, profile)
    }
}

/// At most [`crate::limits::MAX_DIAGNOSTICS`] diagnostics of one severity per rule, then one that
/// counts the rest: a rule of 10,000 list elements must not make 10,000 errors (found by fuzzing:
/// with a snippet each, a 30 KB rule became a 600 MB error).
fn cap_diagnostics(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let max = crate::limits::MAX_DIAGNOSTICS;
    if diags.len() > max {
        let more = diags.len() - max;
        let (kind, severity) = (diags[max].kind, diags[max].severity);
        diags.truncate(max);
        let mut d = Diagnostic::new(kind, format!("… and {more} more like the above in this rule"));
        d.severity = severity;
        diags.push(d);
    }
    diags
}

#[cfg(test)]
mod diagnostic_tests {
    use super::*;

    /// Found by fuzzing (fuzz/regressions/rule/error-amplification-list-type-mismatch): one error
    /// per list element, each carrying the whole 30 KB line, made a 600 MB error.
    #[test]
    fn many_errors_on_one_long_line_stay_small() {
        let rule = format!("x in [{}]", vec!["0"; 5_000].join(", "));
        let schema = Schema::from_json_str(r#"{"attributes": {"x": "string"}}"#).unwrap();
        let e = Segment::compile(Definition::new("a", "1.0.0", rule.as_str()), Some(&schema)).unwrap_err();
        let diags = e.diagnostics();
        assert_eq!(diags.len(), crate::limits::MAX_DIAGNOSTICS + 1);
        assert!(diags.last().unwrap().message.contains("4900 more"), "{}", diags.last().unwrap().message);
        let text = e.to_string();
        assert!(text.len() < 100 * 400, "{} bytes", text.len());
        // The snippet keeps a window around the span (here the list), cut with an ellipsis.
        let snip = diags[50].snippet.as_deref().unwrap();
        let (line, carets) = snip.split_once('\n').unwrap();
        assert!(line.ends_with('…') && line.chars().count() < 150, "{line}");
        let col = carets.find('^').unwrap();
        assert_eq!(line.chars().nth(carets[..col].chars().count()), Some('['), "{snip}");
    }
}
