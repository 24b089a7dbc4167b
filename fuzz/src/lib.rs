//! Fuzz harnesses for segcore. Each `fuzz_targets/<name>.rs` is one line calling the function of
//! the same name here, so `tests/regressions.rs` can replay every committed reproducer through
//! exactly the code the fuzzer ran, with a plain `cargo test` (no sanitizer, no nightly flags).
//!
//! Errors are fine; what a harness must never see is a panic, a hang, a stack overflow or
//! unbounded memory. Besides "no panic", the harnesses assert properties the SPEC and
//! ARCHITECTURE state, so a wrong answer that does not crash is reported too:
//!
//! - `parse(fmt(ast)) == ast` and `fmt(fmt(x)) == fmt(x)` (SPEC §17); a formatted rule compiles to
//!   the same canonical JSON and hash as the rule it came from;
//! - the canonical JSON is valid JSON and the hash is its SHA-256;
//! - evaluating by name and evaluating a bound profile agree (ARCHITECTURE: "the conformance
//!   runner checks both paths agree"); a registry's results agree with `evaluate_one`;
//! - `explain` reports the outcome `evaluate` returns;
//! - a projected tape read with and without `named` gives the same values, and evaluating it by
//!   slot agrees with evaluating it by name;
//! - every error has at least one diagnostic with a message, and renders (text and JSON);
//! - a schema survives `from_json(to_json(s)) == s`, and an `as_of` survives format → parse.

use std::sync::OnceLock;

use segcore::binding::Projection;
use segcore::sql::{Dialect, SqlOptions};
use segcore::{Bound, Definition, Error, EvalContext, FxRates, Outcome, Phase, Profile, Registry, Schema, Segment};

pub mod arrow;
pub mod fixtures;
pub mod tape_writer;

use fixtures::*;

// ---------------------------------------------------------------------------------------------
// Shared checks

thread_local! {
    /// Length of the input the current harness call was given (for size bounds).
    static INPUT_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

pub(crate) fn start(data: &[u8]) {
    INPUT_LEN.with(|l| l.set(data.len()));
}

/// Known open issues whose harness-level checks are skipped, so a bounded run keeps exploring
/// instead of stopping at a bug already reported: `SEGCORE_FUZZ_KNOWN=id,id` (scripts/fuzz.sh
/// sets it from `fuzz/known_issues` for the fuzzing runs only; the regression test never does, so
/// a committed reproducer fails there until the core is fixed). Panics inside the core are never
/// skipped.
pub fn known(id: &str) -> bool {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            std::env::var("SEGCORE_FUZZ_KNOWN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|k| k == id)
}

/// How much diagnostic text an input of `len` bytes may produce: linear in the input. A rule
/// reported with a few diagnostics, each quoting its line, stays far below; one diagnostic per
/// list element, each quoting the whole line, grows with the square of the input.
fn diagnostic_budget(len: usize) -> usize {
    (1 << 20) + 64 * len
}

/// An error must carry at least one diagnostic with a message, hold diagnostic text linear in
/// the input (`error_amplification`), and render as text and JSON (the snippet and caret code
/// slices rule text by span: a bad span panics here).
pub(crate) fn check_error(e: &Error, phase: Phase) {
    assert!(!e.diagnostics().is_empty(), "an error without diagnostics");
    let held: usize = e.diagnostics().iter().map(|d| d.message.len() + d.snippet.as_ref().map_or(0, String::len)).sum();
    let len = INPUT_LEN.with(|l| l.get());
    let within_budget = held <= diagnostic_budget(len);
    if !within_budget && !known("error_amplification") {
        let first = &e.diagnostics()[0];
        panic!(
            "error_amplification: a {len}-byte input gave an error of {} diagnostics holding {held} bytes of \
             text (budget {}); first: [{}] {} (snippet {} bytes)",
            e.diagnostics().len(),
            diagnostic_budget(len),
            first.kind.as_str(),
            first.message.chars().take(200).collect::<String>(),
            first.snippet.as_ref().map_or(0, String::len),
        );
    }
    for d in e.diagnostics().iter().take(if within_budget { usize::MAX } else { 16 }) {
        assert!(!d.message.is_empty(), "a diagnostic without a message: {d:?}");
        let _ = d.to_string();
        let _ = d.to_json();
    }
    if within_budget {
        let _ = e.to_string();
        let _ = e.to_json(phase);
    }
    let _ = e.kind().as_str();
}

/// An evaluation result reduced to what must agree between two paths: the outcome, or the error
/// kind.
fn summary(r: &Result<Outcome, Error>) -> Result<Outcome, &'static str> {
    match r {
        Ok(o) => Ok(*o),
        Err(e) => {
            check_error(e, Phase::Evaluate);
            Err(e.kind().as_str())
        }
    }
}

/// Canonical JSON is valid JSON with the rule as an object; the hash is its SHA-256.
fn check_canonical(seg: &Segment) {
    let json = seg.canonical_json();
    // A rule at the nesting limit nests its canonical JSON deeper than serde_json's default
    // recursion limit (128): read it without one (the depth is bounded by the rule's).
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let v = <serde_json::Value as serde::Deserialize>::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .unwrap_or_else(|e| panic!("canonical JSON is not valid JSON ({e}): {json}"));
    assert!(v.get("rule").is_some_and(|r| r.is_object()), "canonical JSON without a rule object: {json}");
    assert_eq!(v.get("id").and_then(|i| i.as_str()), Some(seg.id()), "canonical JSON id: {json}");
    let hash = seg.definition_hash();
    assert_eq!(hash, segcore::binding::sha256_hex(json), "definition hash is not the SHA-256 of the canonical JSON");
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{hash}");
}

/// SPEC §17: `parse(fmt(ast)) = ast` and `fmt(fmt(x)) = fmt(x)`, for every rule that parses.
/// Returns the formatted rule.
fn check_round_trip(rule: &str) -> Option<String> {
    let ast = match Segment::parse_rule(rule) {
        Ok(ast) => ast,
        Err(e) => {
            check_error(&e, Phase::Compile);
            return None;
        }
    };
    let printed = segcore::binding::print_rule(&ast);
    if printed.len() > segcore::limits::MAX_RULE_BYTES {
        // Formatting may lengthen a rule (`exists` → `is not null`, escapes); a rule just under
        // the size limit may print over it. Not reachable with the fuzzer's input sizes.
        return None;
    }
    let again = match Segment::parse_rule(&printed) {
        Ok(again) => again,
        Err(e) => panic!("formatted rule does not parse\n  rule:    {rule:?}\n  printed: {printed:?}\n  {e}"),
    };
    let (a, b) = (segcore::binding::rule_json(&ast), segcore::binding::rule_json(&again));
    assert!(a == b, "parse(fmt(ast)) != ast\n  rule:    {rule:?}\n  printed: {printed:?}\n  ast:   {a}\n  again: {b}");
    let twice = segcore::binding::print_rule(&again);
    assert!(twice == printed, "fmt is not idempotent\n  rule: {rule:?}\n  fmt:  {printed:?}\n  fmt²: {twice:?}");
    Some(printed)
}

/// SQL generation in every dialect: a query, or located diagnostics; never a panic.
fn sql_everywhere(gen: impl Fn(&SqlOptions) -> Result<segcore::sql::SqlQuery, Error>, cx: &EvalContext) {
    for d in Dialect::ALL {
        let mut opts = SqlOptions::new(d, cx.as_of);
        opts.fx = cx.fx.clone();
        match gen(&opts) {
            Ok(q) => {
                assert!(!q.sql.is_empty());
                assert_eq!(q.profile_columns.first().map(|c| c.name.as_str()), Some("id"));
                let _ = q.ddl(&opts);
                let _ = q.to_json(&opts);
            }
            Err(e) => check_error(&e, Phase::Compile),
        }
    }
}

/// Evaluates one segment on one profile every way the bindings do and checks they agree.
fn evaluate_segment(seg: &Segment, p: &Profile, cx: &EvalContext) {
    let by_name = seg.evaluate(p, cx);
    let bound = seg.bind(p);
    let by_slot = seg.evaluate_bound(&bound, cx);
    let (a, b) = (summary(&by_name), summary(&by_slot));
    assert!(a == b, "evaluate by name {a:?} != by slot {b:?} for rule {:?}, profile {}", seg.definition().rule, p.id());
    match seg.explain(p, cx) {
        Ok(ex) => {
            let _ = ex.to_string();
            let _ = ex.to_json();
            let _ = ex.to_html();
            if let Ok(o) = a {
                assert!(
                    ex.outcome == o,
                    "explain says {:?}, evaluate says {o:?} for rule {:?}, profile {}",
                    ex.outcome,
                    seg.definition().rule,
                    p.id()
                );
            }
        }
        Err(e) => check_error(&e, Phase::Evaluate),
    }
}

/// `next_change` over a week (SPEC §22) holds to its definition wherever the interpreter can be
/// asked: the change is after `as_of` and within the horizon, its outcome is the outcome there,
/// and 1 µs before it the outcome is still the one at `as_of`.
fn check_next_change(seg: &Segment, p: &Profile, cx: &EvalContext) {
    const WEEK: i64 = 7 * 86_400_000_000;
    let at = |t: i64| seg.evaluate(p, &EvalContext { as_of: t, ..cx.clone() });
    match seg.next_change(p, cx, Some(WEEK)) {
        Ok(Some(c)) => {
            let rule = &seg.definition().rule;
            assert!(c.at > cx.as_of && c.at <= cx.as_of + WEEK, "next change outside (as_of, as_of + 7d] for {rule:?}");
            if let (Ok(now), Ok(then), Ok(before)) = (at(cx.as_of), at(c.at), at(c.at - 1)) {
                assert!(
                    then == c.outcome && now == c.previous,
                    "next change outcome disagrees with evaluate for {rule:?}"
                );
                assert!(before == now, "the outcome changed before the reported next change for {rule:?}");
            }
        }
        Ok(None) => {}
        Err(e) => check_error(&e, Phase::Evaluate),
    }
}

/// Everything a compiled segment offers: canonical form, the formatted rule compiling to the same
/// definition, evaluation on every fixed profile, explain, SQL in every dialect.
fn exercise_segment(seg: &Segment, schema: Option<&Schema>, cx: &EvalContext) {
    check_canonical(seg);
    for w in seg.warnings() {
        let _ = w.to_string();
    }
    let formatted = seg.formatted_rule();
    if formatted.len() <= segcore::limits::MAX_RULE_BYTES && seg.definition().source.is_none() {
        let mut def = seg.definition().clone();
        def.rule = formatted.clone();
        match Segment::compile(def, schema) {
            Ok(again) => assert!(
                again.canonical_json() == seg.canonical_json(),
                "the formatted rule compiles to another definition\n  rule: {:?}\n  fmt:  {formatted:?}",
                seg.definition().rule
            ),
            Err(e) => panic!(
                "the formatted rule does not compile\n  rule: {:?}\n  fmt:  {formatted:?}\n  {e}",
                seg.definition().rule
            ),
        }
    }
    let _ = seg.read_set();
    let _ = Projection::new(seg.layout(), seg.read_set()).to_json();
    for p in profiles() {
        evaluate_segment(seg, p, cx);
        check_next_change(seg, p, cx);
    }
    sql_everywhere(|o| segcore::sql::to_sql(&seg.program(), o), cx);
}

/// Every segment of a registry on one profile: the registry's results, bound and by name, and
/// per segment `evaluate_one` and explain.
fn evaluate_registry(reg: &Registry, p: &Profile, cx: &EvalContext) {
    let by_name = reg.evaluate(p, cx);
    let bound = reg.bind(p);
    let by_slot = reg.evaluate_bound(&bound, cx);
    check_registry_results(reg, p, cx, &by_name, &by_slot);
}

fn check_registry_results(
    reg: &Registry,
    p: &Profile,
    cx: &EvalContext,
    by_name: &Result<Vec<(&str, Outcome)>, Error>,
    by_slot: &Result<Vec<(&str, Outcome)>, Error>,
) {
    match (by_name, by_slot) {
        (Ok(a), Ok(b)) => {
            assert!(a == b, "registry by name {a:?} != by slot {b:?} for profile {}", p.id());
            for (id, o) in a {
                let one = reg.evaluate_one(id, p, cx);
                assert!(summary(&one) == Ok(*o), "evaluate_one({id}) = {:?}, the registry says {o:?}", summary(&one));
                match reg.explain(id, p, cx) {
                    Ok(ex) => {
                        let _ = ex.to_string();
                        let _ = ex.to_json();
                        assert!(ex.outcome == *o, "explain({id}) says {:?}, the registry says {o:?}", ex.outcome);
                    }
                    Err(e) => check_error(&e, Phase::Evaluate),
                }
            }
        }
        (Err(a), Err(b)) => {
            check_error(a, Phase::Evaluate);
            check_error(b, Phase::Evaluate);
            assert_eq!(a.kind().as_str(), b.kind().as_str(), "registry errors differ by name and by slot");
        }
        (a, b) => panic!(
            "registry by name and by slot disagree: {:?} vs {:?}",
            a.as_ref().map_err(|e| e.to_string()),
            b.as_ref().map_err(|e| e.to_string())
        ),
    }
}

fn exercise_registry(reg: &Registry, cx: &EvalContext) {
    for s in reg.segments() {
        check_canonical(s);
    }
    let _ = reg.dependency_order().count();
    let _ = Projection::new(reg.layout(), &reg.read_set()).to_json();
    for p in profiles() {
        evaluate_registry(reg, p, cx);
    }
    sql_everywhere(|o| segcore::sql::to_sql(reg.program(), o), cx);
}

/// Bytes as text: lossy, so every input reaches the parsers (invalid bytes become U+FFFD, which
/// also exercises spans over multi-byte characters).
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

// ---------------------------------------------------------------------------------------------
// Targets

/// `rule`: the bytes are rule text. Parse + SPEC §17 round trip; compile untyped (UTC, USD) and
/// typed against the fixed schema (America/New_York, EUR); every compiled segment is evaluated,
/// explained and turned into SQL in every dialect.
pub fn rule(data: &[u8]) {
    start(data);
    let rule = text(data);
    let printed = check_round_trip(&rule);
    let cx = fixtures::context();
    let untyped = Segment::compile(Definition::new("fuzz", "1.0.0", rule.as_ref()), None);
    match &untyped {
        Ok(seg) => {
            if let Some(printed) = &printed {
                assert!(*printed == seg.formatted_rule(), "the compiled segment formats its rule differently");
            }
            exercise_segment(seg, None, cx);
        }
        Err(e) => check_error(e, Phase::Compile),
    }
    // A schema types names the untyped compile leaves dynamic; a zone with DST and a base
    // currency other than the FX table's target shift literal folding and money conversion.
    let mut def = Definition::new("fuzz_typed", "1.0.0", rule.as_ref());
    def.timezone = "America/New_York".into();
    def.currency = "EUR".into();
    match Segment::compile(def, Some(schema())) {
        Ok(seg) => exercise_segment(&seg, Some(schema()), cx),
        Err(e) => check_error(&e, Phase::Compile),
    }
}

/// `definition`: the bytes are one or more definition documents separated by `\n---\n`, each
/// loaded as YAML and as JSON (from a string, and the first also from a file so errors map to
/// file positions); the loaded definitions are compiled one by one and together as a registry,
/// untyped and typed, then evaluated and turned into SQL.
pub fn definition(data: &[u8]) {
    start(data);
    let text = text(data);
    let cx = fixtures::context();
    let mut loaded: Vec<Result<Definition, Error>> = Vec::new();
    for (i, doc) in text.split("\n---\n").take(8).enumerate() {
        for r in [Definition::from_yaml_str(doc), Definition::from_json_str(doc)] {
            if let Err(e) = &r {
                check_error(e, Phase::Compile);
            }
            loaded.push(r);
        }
        if i == 0 {
            for ext in ["yaml", "json"] {
                match from_file(doc, ext) {
                    Ok(seg) => exercise_segment(&seg, None, cx),
                    Err(e) => check_error(&e, Phase::Compile),
                }
            }
        }
    }
    // YAML and JSON usually load the same document the same way (JSON is YAML): keep one copy of
    // each definition.
    let mut defs: Vec<Definition> = Vec::new();
    for d in loaded.iter().flatten() {
        if !defs.contains(d) {
            defs.push(d.clone());
        }
    }
    for d in &defs {
        for schema in [None, Some(schema())] {
            match Segment::compile(d.clone(), schema) {
                Ok(seg) => exercise_segment(&seg, schema, cx),
                Err(e) => check_error(&e, Phase::Compile),
            }
        }
    }
    let diags = Registry::check(loaded, Some(schema()));
    for d in &diags {
        let _ = d.to_string();
    }
    for schema in [None, Some(schema())] {
        match Registry::from_definitions(defs.clone(), schema) {
            Ok(reg) => exercise_registry(&reg, cx),
            Err(e) => check_error(&e, Phase::Compile),
        }
    }
}

/// Writes `doc` to a per-thread scratch file and loads it with `Segment::from_file` (which maps
/// rule positions to file positions).
fn from_file(doc: &str, ext: &str) -> Result<Segment, Error> {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("segcore-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        d
    });
    let path = dir.join(
        format!("{:?}.{ext}", std::thread::current().id()).replace(|c: char| !c.is_alphanumeric() && c != '.', "_"),
    );
    std::fs::write(&path, doc).expect("scratch file");
    Segment::from_file(&path, None)
}

/// `profile_json`: the bytes are a profile document; it is evaluated by a fixed registry of
/// conformance-like segments (untyped, and typed against the fixed schema).
pub fn profile_json(data: &[u8]) {
    start(data);
    let text = text(data);
    let p = match Profile::from_json_str(&text) {
        Ok(p) => p,
        Err(e) => {
            check_error(&e, Phase::Evaluate);
            return;
        }
    };
    let _ = p.attribute_names();
    let _ = p.event_count();
    let cx = fixtures::context();
    for reg in [registry(), typed_registry()] {
        evaluate_registry(reg, &p, cx);
    }
}

/// `tape`: the bytes are a tape (core/src/tape.rs), read three ways: as a whole profile object,
/// and as the projection of the fixed registry with and without `named`. Whatever decodes is
/// evaluated by the registry; the two projections must agree, and the slot path must agree with
/// the name path.
pub fn tape(data: &[u8]) {
    start(data);
    use segcore::tape::{read_projection, read_whole, TapeError};
    let cx = fixtures::context();
    let reg = registry();
    let check = |e: &TapeError| match e {
        TapeError::Type(m) => assert!(!m.is_empty()),
        TapeError::Profile(e) => check_error(e, Phase::Evaluate),
    };
    match read_whole(data) {
        Ok(p) => evaluate_registry(reg, &p, cx),
        Err(e) => check(&e),
    }
    let spec = projection();
    let plain = read_projection(data, spec, false);
    let named = read_projection(data, spec, true);
    match (&plain, &named) {
        (Ok((p1, v1)), Ok((p2, v2))) => {
            assert_eq!(v1, v2, "projected values differ with `named`");
            assert_eq!(p1.id(), p2.id());
            assert_eq!(p1.event_count(), p2.event_count());
            assert_eq!(v1.len(), reg.layout().attributes.len());
            let bound = Bound::with_attributes(reg.layout(), p1, v1.iter().collect())
                .expect("a projection read for this layout binds to it");
            let by_slot = reg.evaluate_bound(&bound, cx);
            // With `named`, the attributes are also set by name: evaluating by name must agree.
            let by_name = reg.evaluate(p2, cx);
            check_registry_results(reg, p2, cx, &by_name, &by_slot);
        }
        (Err(a), Err(b)) => {
            check(a);
            check(b);
            assert_eq!(a.to_string(), b.to_string(), "projection errors differ with `named`");
        }
        _ => panic!(
            "a projection reads with `named` {} and without {}",
            if named.is_ok() { "fine" } else { "not" },
            if plain.is_ok() { "fine" } else { "not" }
        ),
    }
}

/// `table`: the bytes are a profiles table and an events table (split at the first 0 byte; the
/// first byte's low bit picks CSV or JSONL), read by `segcore::ingest`, joined, and evaluated by
/// the batch driver, which must give each profile's one-profile answer, in input order.
pub fn table(data: &[u8]) {
    use segcore::batch::{evaluate, BatchOptions};
    use segcore::ingest::{read_events, read_profiles, Columns, TextFormat};
    start(data);
    let Some((&first, rest)) = data.split_first() else { return };
    let format = if first & 1 == 0 { TextFormat::Csv } else { TextFormat::Jsonl };
    let (profiles, events) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let cols = Columns::default();
    let mut table = match read_profiles(profiles, format, "profiles", &cols) {
        Ok(t) => t,
        Err(e) => return check_error(&e, Phase::Evaluate),
    };
    let rows = match read_events(events, format, "events", &cols) {
        Ok(rows) => rows,
        Err(e) => return check_error(&e, Phase::Evaluate),
    };
    if let Err(e) = table.attach_events(rows) {
        return check_error(&e, Phase::Evaluate);
    }
    let profiles = table.into_profiles();
    let cx = fixtures::context();
    let reg = registry();
    match evaluate(reg.program(), &profiles, cx, &BatchOptions { threads: 1, ..Default::default() }) {
        Ok(m) => {
            let mut rows = m.rows();
            for p in &profiles {
                let alone = reg.evaluate(p, cx).expect("the batch evaluated this profile");
                for (id, outcome) in alone {
                    let row = rows.next().expect("a row per profile and segment");
                    assert_eq!((row.entity_id, row.segment_id, row.outcome), (p.id(), id, outcome));
                }
            }
            assert!(rows.next().is_none(), "more rows than profiles × segments");
        }
        Err(e) => {
            check_error(&e, Phase::Evaluate);
            let at = e.first().data.as_deref().expect("a batch error is placed in the data");
            let row = at.row.expect("a batch error names its row") as usize;
            // The row named fails alone too (an evaluation error, not a batch artefact).
            assert!(reg.evaluate(&profiles[row], cx).is_err(), "row {row} evaluates alone but not in the batch");
        }
    }
}

pub use arrow::arrow;

/// `context`: the bytes are an evaluation-context input, read by every context parser: `as_of`
/// (the whole text), FX rates, referenced segments (`set_segments_json`), a schema (JSON and
/// YAML). Whatever parses is used: fixed rules compiled against the schema, evaluation and SQL at
/// the `as_of` / with the FX table.
pub fn context(data: &[u8]) {
    start(data);
    let text = text(data);
    let base = fixtures::context();

    match segcore::parse_as_of(&text) {
        Ok(t) => {
            let formatted = segcore::binding::format_timestamp(t);
            assert_eq!(segcore::parse_as_of(&formatted).ok(), Some(t), "as_of {text:?} formats as {formatted:?}");
            let cx = EvalContext { as_of: t, ..base.clone() };
            exercise_context(&cx, None);
        }
        Err(e) => check_error(&e, Phase::Evaluate),
    }

    match FxRates::from_json_str(&text) {
        Ok(fx) => {
            let _ = fx.len();
            let cx = base.clone().with_fx(fx);
            exercise_context(&cx, None);
        }
        Err(e) => check_error(&e, Phase::Evaluate),
    }

    let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    if let Some(v) = &json {
        let mut cx = base.clone();
        cx.segments.clear();
        if cx.set_segments_json(v).is_ok() {
            for seg in context_segments() {
                for p in profiles() {
                    evaluate_segment(seg, p, &cx);
                }
            }
        }
    }

    for schema in [Schema::from_json_str(&text), Schema::from_yaml_str(&text)] {
        match schema {
            Ok(s) => {
                let back = Schema::from_json(&s.to_json()).expect("a schema's own JSON reads back");
                assert!(back == s, "from_json(to_json(schema)) != schema for {text:?}");
                let _ = s.attribute_names().count() + s.event_names().count();
                exercise_context(base, Some(&s));
            }
            Err(e) => check_error(&e, Phase::Compile),
        }
    }
}

/// The fixed context rules, compiled (with `schema` when given), evaluated on every profile and
/// turned into SQL, at `cx`.
fn exercise_context(cx: &EvalContext, schema: Option<&Schema>) {
    let compiled;
    let segs: &[Segment] = match schema {
        None => context_segments(),
        Some(s) => {
            compiled = CONTEXT_RULES
                .iter()
                .filter_map(|(id, rule)| match Segment::compile(Definition::new(*id, "1.0.0", *rule), Some(s)) {
                    Ok(seg) => Some(seg),
                    Err(e) => {
                        check_error(&e, Phase::Compile);
                        None
                    }
                })
                .collect::<Vec<_>>();
            &compiled
        }
    };
    for seg in segs {
        for p in profiles() {
            evaluate_segment(seg, p, cx);
        }
        sql_everywhere(|o| segcore::sql::to_sql(&seg.program(), o), cx);
    }
}

/// SPEC §24–25 inputs from another system: sketch bytes, id exports, identity maps. The first
/// byte picks the reader; nothing may panic, errors have their kinds, and what is read holds its
/// invariants (a decoded difference equals the one the sets give; ids are distinct and non-empty).
pub fn reconcile(data: &[u8]) {
    use segcore::reconcile::{read_identity, read_ids, IdFormat, IdOptions, IdentityOptions, Key, Sketch};
    use segcore::ErrorKind;
    start(data);
    let Some((&first, rest)) = data.split_first() else { return };
    let key = Key::default();
    match first % 4 {
        0 => match Sketch::from_bytes(rest) {
            Ok(s) => {
                assert_eq!(Sketch::from_bytes(&s.to_bytes()).as_ref(), Ok(&s), "bytes round trip");
                let ours = Sketch::new(&key, &["u1", "u2", "u3"], s.len().min(64)).expect("a sketch");
                match ours.decode(&s) {
                    Ok(d) => assert!(d.symbols <= 64),
                    Err(e) => {
                        assert!(matches!(e.kind(), ErrorKind::SketchUndecodable | ErrorKind::KeyMismatch), "{e}");
                        check_error(&e, Phase::Evaluate);
                    }
                }
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::SketchInvalid, "{e}");
                check_error(&e, Phase::Evaluate);
            }
        },
        1 => {
            // Two sets cut from the input: the decoded difference is the sets' difference.
            let text = String::from_utf8_lossy(rest);
            let (a, b) = text.split_once('|').unwrap_or((&text, ""));
            let set = |t: &str| -> Vec<String> {
                let mut v: Vec<String> = t.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect();
                v.sort();
                v.dedup();
                v
            };
            let (a, b) = (set(a), set(b));
            let m = 1 + (rest.len() % 48);
            let (sa, sb) = (Sketch::new(&key, &a, m).unwrap(), Sketch::new(&key, &b, m).unwrap());
            if let Ok(d) = sa.decode(&sb) {
                let want_a: Vec<u64> = {
                    let mut v: Vec<u64> = a.iter().filter(|x| !b.contains(x)).map(|x| key.symbol(x)).collect();
                    v.sort_unstable();
                    v
                };
                assert_eq!(d.only_a, want_a, "a decoded difference must be the difference");
            }
        }
        2 => {
            let format = [IdFormat::Text, IdFormat::Csv, IdFormat::Jsonl][(rest.len() % 3) as usize];
            let opts = IdOptions { trim: rest.len() % 2 == 0, nfc: rest.len() % 5 == 0 };
            match read_ids("ids", rest, format, None, opts) {
                Ok(set) => {
                    let mut seen = std::collections::HashSet::new();
                    for id in &set.ids {
                        assert!(!id.is_empty(), "an empty id was kept");
                        assert!(seen.insert(id), "a duplicate id was kept: {id:?}");
                    }
                    let _ = set.report.warnings();
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidIds, "{e}");
                    check_error(&e, Phase::Evaluate);
                }
            }
        }
        _ => {
            let opts =
                IdentityOptions { prefer: vec!["u".into()], unique: vec!["u".into()], strict: rest.len() % 2 == 0 };
            match read_identity("map", rest, &opts) {
                Ok(m) => assert!(m.components() <= m.identifiers()),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidIdentity, "{e}");
                    check_error(&e, Phase::Evaluate);
                }
            }
        }
    }
}

/// `import`: the bytes are a JSON Logic rule, after `gb:` a GrowthBook condition, after `un:` an
/// Unleash document (SPEC §29).
/// Nothing panics; a source that does not read is `import_invalid`; a refusal names a JSON
/// pointer; an import compiles against its own schema and is total — never UNKNOWN — on profiles
/// that keep that schema (A1), for every attribute absent, null or set.
/// An import, or `None` when the source does not read — which must be `import_invalid`.
fn import_or_invalid(
    format: segcore::import::Format,
    text: &str,
    options: &segcore::import::Options,
) -> Option<segcore::import::Imported> {
    match segcore::import::import(format, text, options) {
        Ok(i) => Some(i),
        Err(e) => {
            assert_eq!(e.kind(), segcore::ErrorKind::ImportInvalid, "{e}");
            check_error(&e, Phase::Compile);
            None
        }
    }
}

/// SQL imports (SPEC §29.5): any text either reads (`import_invalid` otherwise) and imports or is
/// refused at an `L:C` position; what imports compiles against its schema and evaluates on
/// profiles with and without events, three-valued, with no error but S4's integer overflow.
fn import_sql(data: &[u8], dialect: &str) {
    use segcore::import::{Format, Options, Status};
    let text = text(data);
    let schema = serde_json::json!({
        "attributes": {"age": "int", "score": "float", "price": "decimal", "name": "string", "vip": "bool",
                       "signup_at": "timestamp", "birthday": "date"},
        "events": {"purchase": {"qty": "int", "sku": "string", "amount": "decimal"}, "login": {"device": "string"}}});
    let options = Options::new()
        .schema_json(&schema)
        .expect("the fixed schema")
        .dialect(dialect)
        .timezone(if data.len().is_multiple_of(2) { "UTC" } else { "America/New_York" });
    let Some(imported) = import_or_invalid(Format::Sql, &text, &options) else { return };
    if imported.report.status == Status::Refused {
        let r = &imported.report.refusals[0];
        let (l, c) = r.path.split_once(':').expect("an L:C position");
        assert!(l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok(), "an L:C position: {:?}", r.path);
        assert!(imported.definition.is_none() && imported.rule.is_none());
        return;
    }
    let def = imported.definition.clone().expect("an imported definition");
    let seg = Segment::compile(def, imported.schema.as_ref()).expect("an import compiles against its schema");
    let cx = EvalContext::parse("2026-03-30T09:30:00Z").expect("as_of");
    for profile in [
        r#"{"id": "u", "attributes": {}}"#,
        r#"{"id": "u", "attributes": {"age": 0, "score": 0.0, "price": "0.5", "name": "", "vip": false,
            "signup_at": "2026-03-29T04:00:00Z", "birthday": "2000-02-29"},
            "events": [{"name": "purchase", "at": "2026-03-30T09:30:00Z", "properties": {"qty": 2, "sku": "A1", "amount": "1.5"}},
                       {"name": "purchase", "at": "2026-01-01T00:00:00Z", "properties": {"qty": null}},
                       {"name": "login", "at": "2026-03-30T09:00:00Z", "properties": {"device": "ios"}}]}"#,
        r#"{"id": "u", "attributes": {"age": -9007199254740993, "score": 1e300, "name": "Zoë", "vip": true}}"#,
    ] {
        let p = Profile::from_json_str(profile).expect("profile");
        if let Err(e) = seg.evaluate(&p, &cx) {
            assert_eq!(e.kind(), segcore::ErrorKind::NumericOverflow, "{e} ({:?})", imported.rule);
            assert!(imported.report.assumptions.contains_key(&segcore::import::Assumption::S4), "{:?}", imported.rule);
        }
    }
}

pub fn import(data: &[u8]) {
    use segcore::import::{Format, Options, Status};
    start(data);
    for (prefix, dialect) in [(&b"sql:"[..], "duckdb"), (&b"pg:"[..], "postgres")] {
        if let Some(rest) = data.strip_prefix(prefix) {
            return import_sql(rest, dialect);
        }
    }
    let (format, data) = if let Some(rest) = data.strip_prefix(b"gb:") {
        (Format::GrowthBook, rest)
    } else if let Some(rest) = data.strip_prefix(b"un:") {
        (Format::Unleash, rest)
    } else {
        (Format::JsonLogic, data)
    };
    let text = text(data);
    let schema = serde_json::json!({"attributes": {
        "age": "int", "score": "float", "n": "number", "name": "string", "vip": "bool",
        "tags": "list<string>", "nums": "list<int>", "user.plan": "string", "user": "object",
        "userId": "string", "email": "string", "version": "string", "slicesLeft": "number"}});
    let groups = serde_json::json!({"g": ["a", 1], "v2": {"type": "list", "values": ["b"]}, "bad": 3});
    let options = Options::new().schema_json(&schema).and_then(|o| o.saved_groups(&groups)).expect("the fixed options");
    let Some(imported) = import_or_invalid(format, &text, &options) else { return };
    if imported.report.status == Status::Refused {
        let r = &imported.report.refusals[0];
        assert!(r.path.is_empty() || r.path.starts_with('/'), "a JSON pointer: {:?}", r.path);
        assert!(imported.definition.is_none() && imported.rule.is_none());
        let e = imported.report.error().expect("a refused report is an error");
        assert_eq!(e.kind(), segcore::ErrorKind::ImportRefused);
        return;
    }
    let def = imported.definition.clone().expect("an imported definition");
    let seg = Segment::compile(def, imported.schema.as_ref()).expect("an import compiles against its schema");
    let cx = EvalContext::parse("2026-01-01T00:00:00Z").expect("as_of");
    for attrs in [
        r#"{}"#,
        r#"{"age": null, "score": null, "n": null, "name": null, "vip": null, "tags": null, "nums": null, "user": null}"#,
        r#"{"age": 18, "score": 0.5, "n": 2.5, "name": "", "vip": false, "tags": [], "nums": [], "user": {}}"#,
        r#"{"age": -1, "score": 1e21, "n": 9007199254740993, "name": "0x10", "vip": true, "tags": ["a", null, ""],
            "nums": [0, null, 17], "user": {"plan": "pro"}}"#,
    ] {
        let p = Profile::from_json_str(&format!(r#"{{"id": "u", "attributes": {attrs}}}"#)).expect("profile");
        match seg.evaluate(&p, &cx) {
            Ok(Outcome::Unknown) => panic!("an imported rule was UNKNOWN on {attrs}: {:?}", imported.rule),
            Ok(_) => {}
            Err(e) => panic!("an imported rule failed on {attrs}: {e} ({:?})", imported.rule),
        }
    }
}
