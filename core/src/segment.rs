//! A compiled segment: a definition, its syntax tree, typed IR, read set and hash. This is the
//! main entry point of the library.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::ast::Expr;
use crate::compile::{compile, Env, ReadSet};
use crate::context::FxRates;
use crate::definition::Definition;
use crate::error::{Diagnostic, Error, ErrorKind, Severity};
use crate::eval::{eval_bool, Ctx, Slots};
use crate::ir::{Layout, Node};
use crate::ops::{Fault, Semantics};
use crate::profile::Profile;
use crate::schema::Schema;
use crate::value::Currency;

/// The three-valued result of a rule (SPEC §16). Membership is `True` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    True,
    False,
    /// The rule evaluated to null because data was missing, null or unreadable.
    Unknown,
}

impl Outcome {
    /// `"true"`, `"false"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::Unknown => "unknown",
        }
    }
    /// Whether the profile is a member.
    pub fn is_member(self) -> bool {
        self == Outcome::True
    }
    fn from_tri(t: Option<bool>) -> Outcome {
        match t {
            Some(true) => Outcome::True,
            Some(false) => Outcome::False,
            None => Outcome::Unknown,
        }
    }
}

/// What an evaluation depends on besides the profile. `as_of` has no default: evaluation never
/// reads the wall clock.
///
/// ```
/// let cx = segcore::EvalContext::parse("2026-03-15T12:00:00Z").unwrap()
///     .with_fx(segcore::FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap());
/// assert_eq!(cx.fx.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    /// Evaluation instant, microseconds since the epoch.
    pub as_of: i64,
    pub fx: FxRates,
    /// Results of referenced segments, for single-segment evaluation.
    pub segments: BTreeMap<String, bool>,
}

impl EvalContext {
    /// A context at `as_of` (microseconds since the epoch).
    pub fn new(as_of: i64) -> EvalContext {
        EvalContext { as_of, fx: FxRates::new(), segments: BTreeMap::new() }
    }
    /// A context at an RFC 3339 instant with offset.
    pub fn parse(as_of: &str) -> Result<EvalContext, Error> {
        Ok(EvalContext::new(crate::context::parse_as_of(as_of)?))
    }
    /// Sets the FX quotes.
    pub fn with_fx(mut self, fx: FxRates) -> EvalContext {
        self.fx = fx;
        self
    }
    /// Passes the membership of a referenced segment.
    pub fn with_segment(mut self, id: impl Into<String>, member: bool) -> EvalContext {
        self.segments.insert(id.into(), member);
        self
    }
    /// Sets referenced segments' memberships from a JSON object of booleans (`{"vip": true}`), as
    /// the bindings receive them. The message names what is wrong (the bindings raise it as their
    /// `TypeError`).
    ///
    /// ```
    /// let mut cx = segcore::EvalContext::new(0);
    /// cx.set_segments_json(&serde_json::json!({"vip": true})).unwrap();
    /// assert_eq!(cx.segments.get("vip"), Some(&true));
    /// assert!(cx.set_segments_json(&serde_json::json!({"vip": "yes"})).is_err());
    /// ```
    pub fn set_segments_json(&mut self, v: &serde_json::Value) -> Result<(), String> {
        let map = v.as_object().ok_or("segments must be an object of booleans, e.g. { vip: true }")?;
        for (id, member) in map {
            let member = member
                .as_bool()
                .ok_or_else(|| format!("segments.{id} must be a boolean (the referenced segment's membership)"))?;
            self.segments.insert(id.clone(), member);
        }
        Ok(())
    }
}

/// A profile bound to a layout: the values a segment (or registry) reads, looked up once.
#[derive(Debug, Clone)]
pub struct Bound<'p> {
    profile: &'p Profile,
    layout: Arc<Layout>,
    slots: Slots<'p>,
}

impl<'p> Bound<'p> {
    pub(crate) fn new(layout: &Arc<Layout>, profile: &'p Profile) -> Bound<'p> {
        static NULL: crate::value::Value = crate::value::Value::Null;
        let attributes = layout.attributes.iter().map(|n| profile.attribute(n).unwrap_or(&NULL)).collect();
        let events = layout.events.iter().map(|n| profile.events(n)).collect();
        Bound { profile, layout: Arc::clone(layout), slots: Slots { attributes, events } }
    }
    /// Binds a profile whose attribute values the caller already holds, in the order of
    /// `layout.attributes` (a binding that read them positionally from its runtime, say); event
    /// groups come from `profile`, whose own attributes are not read. `None` when the number of
    /// values is not the layout's.
    ///
    /// ```
    /// use segcore::{Bound, Definition, EvalContext, Profile, Segment, Value};
    /// let seg = Segment::compile(Definition::new("a", "1.0.0", "age >= 18"), None).unwrap();
    /// let p = Profile::new("u1");
    /// let age = Value::Int(30);
    /// let bound = Bound::with_attributes(seg.layout(), &p, vec![&age]).unwrap();
    /// let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    /// assert!(seg.evaluate_bound(&bound, &cx).unwrap().is_member());
    /// ```
    pub fn with_attributes(
        layout: &Arc<Layout>,
        profile: &'p Profile,
        attributes: Vec<&'p crate::value::Value>,
    ) -> Option<Bound<'p>> {
        if attributes.len() != layout.attributes.len() {
            return None;
        }
        let events = layout.events.iter().map(|n| profile.events(n)).collect();
        Some(Bound { profile, layout: Arc::clone(layout), slots: Slots { attributes, events } })
    }
    /// The underlying profile.
    pub fn profile(&self) -> &'p Profile {
        self.profile
    }
}

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
        let currency = Currency::parse(&definition.currency).ok_or_else(|| {
            Error::new(ErrorKind::InvalidCurrency, format!("invalid currency {:?}", definition.currency))
                .with_origin(&origin)
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

    /// Evaluates the rule for one profile: TRUE, FALSE or UNKNOWN.
    pub fn evaluate(&self, profile: &Profile, cx: &EvalContext) -> Result<Outcome, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        self.evaluate_with(profile, cx.as_of, &cx.fx, &lookup)
    }

    /// Whether the profile is a member (outcome TRUE).
    pub fn is_member(&self, profile: &Profile, cx: &EvalContext) -> Result<bool, Error> {
        Ok(self.evaluate(profile, cx)?.is_member())
    }

    /// Evaluates with an explicit lookup for referenced segments.
    pub fn evaluate_with(
        &self,
        profile: &Profile,
        as_of: i64,
        fx: &FxRates,
        segments: &dyn Fn(&str) -> Option<bool>,
    ) -> Result<Outcome, Error> {
        self.run(self.ctx(profile, as_of, fx, segments))
    }

    /// The one evaluation entry: effective window, then the rule.
    fn run(&self, cx: Ctx<'_>) -> Result<Outcome, Error> {
        if !self.is_effective(cx.as_of) {
            return Ok(Outcome::False);
        }
        eval_bool(&self.ir, &cx).map(Outcome::from_tri).map_err(|e| self.eval_error(*e))
    }

    pub(crate) fn ctx<'a>(
        &'a self,
        profile: &'a Profile,
        as_of: i64,
        fx: &'a FxRates,
        segments: &'a dyn Fn(&str) -> Option<bool>,
    ) -> Ctx<'a> {
        Ctx {
            profile,
            as_of,
            sem: Semantics { tz: &self.tz, currency: self.currency, fx },
            segments,
            event: None,
            bound: None,
        }
    }

    pub(crate) fn eval_error(&self, e: Fault) -> Error {
        let mut d = Diagnostic::new(e.kind, e.message);
        d.span = e.span;
        Error::from(d.locate(&self.definition.rule).with_origin(&self.definition.id))
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

    /// Evaluates a bound profile (see [`Segment::bind`]). A profile bound to another layout is
    /// evaluated by name, with the same result.
    pub fn evaluate_bound(&self, bound: &Bound, cx: &EvalContext) -> Result<Outcome, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        self.evaluate_bound_with(bound, cx.as_of, &cx.fx, &lookup)
    }

    /// Evaluates a bound profile with an explicit lookup for referenced segments.
    pub fn evaluate_bound_with(
        &self,
        bound: &Bound,
        as_of: i64,
        fx: &FxRates,
        segments: &dyn Fn(&str) -> Option<bool>,
    ) -> Result<Outcome, Error> {
        let mut cx = self.ctx(bound.profile, as_of, fx, segments);
        if Arc::ptr_eq(&bound.layout, &self.layout) {
            cx.bound = Some(&bound.slots);
        }
        self.run(cx)
    }

    /// Explains the outcome for one profile: every sub-expression with its value.
    pub fn explain(&self, profile: &Profile, cx: &EvalContext) -> Result<crate::explain::Explanation, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        crate::explain::explain(self, profile, cx.as_of, &cx.fx, &lookup)
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
