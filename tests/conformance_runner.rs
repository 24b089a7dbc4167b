//! Runs every case of `tests/conformance/*.json` through the Rust core (see the README there).
//! Prints a summary line, writes `target/conformance/rust.json` for the runtime matrix, and fails
//! on any case that does not give the expected result. No case is ever skipped.

use std::path::{Path, PathBuf};

use segcore::{Definition, EvalContext, FxRates, Profile, Registry, Schema, Segment};
use serde_json::Value as J;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

struct Failure {
    id: String,
    why: String,
}

fn definition_of(case: &J) -> Result<Vec<Definition>, String> {
    let tz = case.get("timezone").and_then(J::as_str);
    let cur = case.get("currency").and_then(J::as_str);
    if let Some(rule) = case.get("rule").and_then(J::as_str) {
        let mut d = Definition::new("case", "1.0.0", rule);
        if let Some(tz) = tz {
            d.timezone = tz.to_string();
        }
        if let Some(c) = cur {
            d.currency = c.to_string();
        }
        return Ok(vec![d]);
    }
    if let Some(def) = case.get("definition") {
        return Definition::from_json(def)
            .map(|d| vec![d])
            .map_err(|e| format!("compile:{}", e.kind()) + "\u{0}" + &e.to_string());
    }
    if let Some(defs) = case.get("definitions").and_then(J::as_array) {
        let mut out = Vec::new();
        for d in defs {
            out.push(Definition::from_json(d).map_err(|e| format!("compile:{}", e.kind()) + "\u{0}" + &e.to_string())?);
        }
        return Ok(out);
    }
    Err("case has no rule, definition or definitions".into())
}

/// What happened: `Ok(outcome string)` or `Err((phase, error))`.
enum Got {
    Outcome(String),
    Error(&'static str, segcore::Error),
    Canonical(String, String),
    Format(String),
    /// `next_change`: (instant µs, outcome, cause) or none.
    Next(Option<(i64, String, String)>),
    /// `timeline`: the outcome at `from` and each change.
    Timeline(String, Vec<(i64, String, String)>),
    /// SPEC §24: a fingerprint's text form.
    Fingerprint(String),
    /// SPEC §24: a sketch's bytes in hex.
    Sketch(String),
    /// SPEC §24: a decoded difference as ids (sorted).
    Difference(Vec<String>, Vec<String>),
    /// SPEC §26: a registry diff as `segcore::binding::diff_json` gives it.
    Diff(J),
}

/// Whether a registry diff (`diff_json`'s shape) has what a case expects: the required bump and,
/// per segment in order, id, change, bump, problem kind, and `fields`/`rule_changes` when given.
fn diff_matches(want: &J, got: &J) -> bool {
    if want["required"] != got["required"] {
        return false;
    }
    let (Some(w), Some(g)) = (want["segments"].as_array(), got["segments"].as_array()) else { return false };
    w.len() == g.len()
        && w.iter().zip(g).all(|(w, g)| {
            let problem = g["problem"].get("kind").cloned().unwrap_or(J::Null);
            w["id"] == g["id"]
                && w["change"] == g["change"]
                && w["bump"] == g["bump"]
                && w["problem"] == problem
                && ["fields", "rule_changes"].iter().all(|k| w.get(*k).is_none_or(|v| *v == g[*k]))
        })
}

fn strings(case: &J, key: &str) -> Result<Vec<String>, String> {
    case.get(key)
        .and_then(J::as_array)
        .ok_or(format!("case needs `{key}`"))?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or(format!("`{key}` holds strings")))
        .collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        // An odd-length hex case is a truncated sketch: keep the whole bytes.
        return unhex(&s[..s.len() - 1]);
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

/// SPEC §24's queries: fingerprint, fingerprint_sum, sketch, sketch_diff, sketch_decode.
fn run_reconcile(q: &str, case: &J) -> Result<Got, String> {
    use segcore::reconcile::{Fingerprint, Key, Sketch, SymbolIndex};
    let key = match Key::new(case.get("key").and_then(J::as_str).unwrap_or(Key::DEFAULT)) {
        Ok(k) => k,
        Err(e) => return Ok(Got::Error("evaluate", e)),
    };
    let symbols = |name: &str| case.get(name).or(case.get("symbols")).and_then(J::as_u64).map(|n| n as usize);
    let out = match q {
        "fingerprint" => Ok(Got::Fingerprint(key.fingerprint(&strings(case, "ids")?).to_string())),
        "fingerprint_sum" => {
            let fps: Result<Vec<Fingerprint>, _> =
                strings(case, "fingerprints")?.iter().map(|t| t.parse::<Fingerprint>()).collect();
            fps.and_then(|f| Fingerprint::sum(&f))
                .map(|f| Got::Fingerprint(f.map(|f| f.to_string()).unwrap_or_default()))
        }
        "sketch" => {
            let m = symbols("symbols").ok_or("sketch case needs `symbols`")?;
            Sketch::new(&key, &strings(case, "ids")?, m)
                .map(|s| Got::Sketch(s.to_bytes().iter().map(|b| format!("{b:02x}")).collect()))
        }
        "sketch_diff" => {
            let (a, b) = (strings(case, "a")?, strings(case, "b")?);
            let ma = symbols("symbols_a").ok_or("sketch_diff needs `symbols`")?;
            let mb = symbols("symbols_b").ok_or("sketch_diff needs `symbols`")?;
            let sa = Sketch::new(&key, &a, ma).map_err(|e| e.to_string())?;
            let sb = Sketch::new(&key, &b, mb).map_err(|e| e.to_string())?;
            // Through the bytes, as two systems exchange them.
            let sb = Sketch::from_bytes(&sb.to_bytes()).map_err(|e| e.to_string())?;
            sa.decode(&sb).map(|d| {
                let (ia, ib) = (SymbolIndex::new(&key, &a), SymbolIndex::new(&key, &b));
                let mut only_a: Vec<String> =
                    d.only_a.iter().flat_map(|s| ia.resolve(*s)).map(|&i| a[i as usize].clone()).collect();
                let mut only_b: Vec<String> =
                    d.only_b.iter().flat_map(|s| ib.resolve(*s)).map(|&i| b[i as usize].clone()).collect();
                only_a.sort();
                only_b.sort();
                Got::Difference(only_a, only_b)
            })
        }
        "sketch_decode" => {
            let read = |k: &str| -> Result<Result<Sketch, segcore::Error>, String> {
                let hex = case.get(k).and_then(J::as_str).ok_or(format!("case needs `{k}`"))?;
                Ok(Sketch::from_bytes(&unhex(hex)?))
            };
            match (read("sketch_a")?, read("sketch_b")?) {
                (Ok(a), Ok(b)) => a.decode(&b).map(|d| {
                    Got::Difference(
                        d.only_a.iter().map(|s| segcore::reconcile::symbol_hex(*s)).collect(),
                        d.only_b.iter().map(|s| segcore::reconcile::symbol_hex(*s)).collect(),
                    )
                }),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        other => return Err(format!("unknown reconcile query {other:?}")),
    };
    Ok(out.unwrap_or_else(|e| Got::Error("evaluate", e)))
}

fn change_of(c: &segcore::temporal::Change) -> (i64, String, String) {
    (c.at, c.outcome.as_str().to_string(), c.cause.kind.as_str().to_string())
}

/// A `next_change` or `timeline` case (SPEC §22).
fn run_over_time(
    query: &str,
    case: &J,
    registry: Option<&Registry>,
    segment: Option<&Segment>,
    profile: &Profile,
    mut cx: EvalContext,
) -> Result<Got, String> {
    let target = case.get("target").and_then(J::as_str);
    let got = match query {
        "next_change" => {
            let horizon = match case.get("horizon").and_then(J::as_str) {
                Some(h) => match segcore::temporal::parse_horizon(h) {
                    Ok(h) => Some(h),
                    Err(e) => return Ok(Got::Error("evaluate", e)),
                },
                None => None,
            };
            let r = match (registry, segment) {
                (Some(reg), _) => {
                    reg.program().next_change(target.ok_or("registry case needs `target`")?, profile, &cx, horizon)
                }
                (_, Some(seg)) => seg.next_change(profile, &cx, horizon),
                _ => unreachable!(),
            };
            r.map(|c| Got::Next(c.as_ref().map(change_of)))
        }
        "timeline" => {
            let instant = |k: &str| {
                case.get(k)
                    .and_then(J::as_str)
                    .and_then(segcore::binding::parse_instant)
                    .ok_or(format!("timeline case needs `{k}` (RFC 3339)"))
            };
            let (from, to) = (instant("from")?, instant("to")?);
            cx.as_of = from;
            let r = match (registry, segment) {
                (Some(reg), _) => {
                    reg.program().timeline(target.ok_or("registry case needs `target`")?, profile, from, to, &cx)
                }
                (_, Some(seg)) => seg.timeline(profile, from, to, &cx),
                _ => unreachable!(),
            };
            r.map(|t| Got::Timeline(t.outcome.as_str().to_string(), t.changes.iter().map(change_of).collect()))
        }
        q => return Err(format!("unknown query `{q}`")),
    };
    Ok(got.unwrap_or_else(|e| Got::Error("evaluate", e)))
}

fn expected_change(j: &J) -> Result<(i64, String, String), String> {
    let at = j
        .get("at")
        .and_then(J::as_str)
        .and_then(segcore::binding::parse_instant)
        .ok_or("expected change needs `at`")?;
    let s = |k: &str| j.get(k).and_then(J::as_str).map(str::to_string).ok_or(format!("expected change needs `{k}`"));
    Ok((at, s("outcome")?, s("cause")?))
}

fn show_change(c: &(i64, String, String)) -> String {
    format!("{} {} ({})", segcore::binding::format_timestamp(c.0), c.1, c.2)
}

fn run(case: &J) -> Result<Got, String> {
    let expect = case.get("expect").ok_or("case has no expect")?;
    if let Some(q @ ("fingerprint" | "fingerprint_sum" | "sketch" | "sketch_diff" | "sketch_decode")) =
        case.get("query").and_then(J::as_str)
    {
        return run_reconcile(q, case);
    }
    if case.get("query").and_then(J::as_str) == Some("diff") {
        let registry = |key: &str| -> Result<Registry, String> {
            let defs = case.get(key).and_then(J::as_array).ok_or(format!("diff case needs `{key}`"))?;
            let defs =
                defs.iter().map(Definition::from_json).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
            Registry::from_definitions(defs, None).map_err(|e| e.to_string())
        };
        let (old, new) = (registry("old")?, registry("new")?);
        return Ok(Got::Diff(segcore::binding::diff_json(&segcore::diff::diff(&old, &new))));
    }
    if expect.get("format").is_some() {
        let rule = case.get("rule").and_then(J::as_str).ok_or("format case needs `rule`")?;
        return Ok(match Segment::parse_rule(rule) {
            Ok(ast) => Got::Format(segcore::binding::print_rule(&ast)),
            Err(e) => Got::Error("compile", e),
        });
    }
    let defs = match definition_of(case) {
        Ok(d) => d,
        Err(e) if e.starts_with("compile:") => {
            let (_, msg) = e.split_once('\u{0}').unwrap_or(("", ""));
            let kind = e.trim_start_matches("compile:").split('\u{0}').next().unwrap_or("");
            // Re-create the definition error to report it like other errors.
            let def = case.get("definition").cloned().or_else(|| {
                case.get("definitions")
                    .and_then(J::as_array)
                    .and_then(|a| a.iter().find(|d| Definition::from_json(d).is_err()).cloned())
            });
            let err = def.and_then(|d| Definition::from_json(&d).err());
            return match err {
                Some(err) => Ok(Got::Error("compile", err)),
                None => Err(format!("definition error {kind}: {msg}")),
            };
        }
        Err(e) => return Err(e),
    };
    let schema = match case.get("schema") {
        Some(s) => Some(Schema::from_json(s).map_err(|e| format!("bad schema in case: {e}"))?),
        None => None,
    };
    let multi = case.get("definitions").is_some();
    let registry = if multi {
        match Registry::from_definitions(defs.clone(), schema.as_ref()) {
            Ok(r) => Some(r),
            Err(e) => return Ok(Got::Error("compile", e)),
        }
    } else {
        None
    };
    let segment = if multi {
        None
    } else {
        match Segment::compile(defs[0].clone(), schema.as_ref()) {
            Ok(s) => Some(s),
            Err(e) => return Ok(Got::Error("compile", e)),
        }
    };
    if expect.get("canonical_json").is_some() {
        let s = segment.as_ref().ok_or("canonical case needs a single definition")?;
        return Ok(Got::Canonical(s.canonical_json().to_string(), s.definition_hash().to_string()));
    }
    if expect.get("error").and_then(|e| e.get("phase")).and_then(J::as_str) == Some("compile") {
        return Ok(Got::Outcome("compiled".into()));
    }
    let profile = match Profile::from_json(case.get("profile").ok_or("evaluation case needs `profile`")?) {
        Ok(p) => p,
        Err(e) => return Ok(Got::Error("evaluate", e)),
    };
    let query = case.get("query").and_then(J::as_str);
    let as_of = match query {
        Some("timeline") => case.get("from").and_then(J::as_str).ok_or("timeline case needs `from`")?,
        _ => case.get("as_of").and_then(J::as_str).ok_or("evaluation case needs `as_of`")?,
    };
    let mut cx = EvalContext::parse(as_of).map_err(|e| e.to_string())?;
    if let Some(fx) = case.get("fx") {
        cx = cx.with_fx(FxRates::from_json(fx).map_err(|e| e.to_string())?);
    }
    if let Some(segs) = case.get("segments").and_then(J::as_object) {
        for (k, v) in segs {
            cx = cx.with_segment(k.clone(), v.as_bool().ok_or("`segments` values must be booleans")?);
        }
    }
    if let Some(q) = query {
        return run_over_time(q, case, registry.as_ref(), segment.as_ref(), &profile, cx);
    }
    let r = match (&registry, &segment) {
        (Some(reg), _) => {
            let target = case.get("target").and_then(J::as_str).ok_or("registry case needs `target`")?;
            reg.evaluate_one(target, &profile, &cx)
        }
        (_, Some(seg)) => {
            // Both read paths must agree: by name, and through a profile bound to the layout.
            let by_name = seg.evaluate(&profile, &cx);
            let bound = seg.evaluate_bound(&seg.bind(&profile), &cx);
            let same = match (&by_name, &bound) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => a.kind() == b.kind(),
                _ => false,
            };
            if !same {
                return Err(format!("by-name ({by_name:?}) and bound ({bound:?}) evaluation disagree"));
            }
            by_name
        }
        _ => unreachable!(),
    };
    Ok(match r {
        Ok(o) => Got::Outcome(o.as_str().to_string()),
        Err(e) => Got::Error("evaluate", e),
    })
}

/// SPEC §29: import the source, then compare status, assumptions and refusal paths, and evaluate
/// the imported definition on each `members` profile.
fn check_import(case: &J) -> Result<(), String> {
    use segcore::import::{import, import_value, Format, Options};
    let expect = &case["expect"];
    let format: Format = case["from"].as_str().unwrap_or("").parse().map_err(|e: segcore::Error| e.to_string())?;
    let mut options = Options::new();
    if let Some(schema) = case.get("schema") {
        options = options.schema_json(schema).map_err(|e| format!("bad schema in case: {e}"))?;
    }
    if let Some(groups) = case.get("saved_groups") {
        options = options.saved_groups(groups).map_err(|e| format!("bad saved groups in case: {e}"))?;
    }
    if let Some(t) = case.get("toggle").and_then(J::as_str) {
        options = options.toggle(t);
    }
    if let Some(d) = case.get("dialect").and_then(J::as_str) {
        options = options.dialect(d);
    }
    if let Some(z) = case.get("timezone").and_then(J::as_str) {
        options = options.timezone(z);
    }
    if let Some(t) = case.get("tables") {
        options = options.tables(t).map_err(|e| format!("bad tables in case: {e}"))?;
    }
    let imported = match case.get("source_text").and_then(J::as_str) {
        Some(text) => import(format, text, &options),
        None => import_value(format, &case["source"], &options),
    };
    if let Some(err) = expect.get("error") {
        let kind = err["kind"].as_str().unwrap_or("");
        return match (kind, &imported) {
            ("import_invalid", Err(e)) if e.kind().as_str() == "import_invalid" => Ok(()),
            ("import_refused", Ok(i)) if i.report.status == segcore::import::Status::Refused => {
                let path = &i.report.refusals[0].path;
                match err.get("path").and_then(J::as_str) {
                    Some(want) if want != path => {
                        Err(format!("refused at {path}, expected at {want}: {:?}", i.report.refusals))
                    }
                    _ => Ok(()),
                }
            }
            (_, Err(e)) => Err(format!("expected {kind}, got error {e}")),
            (_, Ok(i)) => Err(format!("expected {kind}, got {} with rule {:?}", i.report.status.as_str(), i.rule)),
        };
    }
    let imported = imported.map_err(|e| format!("import failed: {e}"))?;
    let want = &expect["import"];
    let report = imported.report.to_json();
    if report["status"] != want["status"] {
        return Err(format!(
            "status {} (want {}); report {report}; rule {:?}",
            report["status"], want["status"], imported.rule
        ));
    }
    let got_assumptions: Vec<J> =
        report["assumptions"].as_array().into_iter().flatten().map(|a| a["id"].clone()).collect();
    let want_assumptions = want.get("assumptions").cloned().unwrap_or(J::Array(vec![]));
    if J::Array(got_assumptions.clone()) != want_assumptions {
        return Err(format!("assumptions {got_assumptions:?}, want {want_assumptions}; rule {:?}", imported.rule));
    }
    let def = imported.definition.ok_or("no definition")?;
    let segment = Segment::compile(def, imported.schema.as_ref())
        .map_err(|e| format!("imported definition does not compile: {e}"))?;
    // SQL (SPEC §29.5): whole profiles at the case's `as_of`, three-valued outcomes.
    if let Some(outcomes) = want.get("outcomes").and_then(J::as_array) {
        let as_of = case["as_of"].as_str().ok_or("an SQL case needs `as_of`")?;
        let cx = segcore::EvalContext::parse(as_of).map_err(|e| e.to_string())?;
        for (i, o) in outcomes.iter().enumerate() {
            let mut profile = o["profile"].clone();
            profile["id"] = J::String(format!("u{i}"));
            let p = segcore::Profile::from_json(&profile).map_err(|e| format!("bad profile: {e}"))?;
            let got = segment.evaluate(&p, &cx).map_err(|e| format!("evaluation error {e} on {}", o["profile"]))?;
            if got.as_str() != o["outcome"].as_str().unwrap_or("") {
                return Err(format!(
                    "{} gives {}, want {}; rule {:?}",
                    o["profile"],
                    got.as_str(),
                    o["outcome"],
                    imported.rule
                ));
            }
        }
        return Ok(());
    }
    let cx = segcore::EvalContext::parse("2026-01-01T00:00:00Z").map_err(|e| e.to_string())?;
    for m in want["members"].as_array().into_iter().flatten() {
        // A GrowthBook `id` attribute is the profile's id (SPEC §29.2).
        let mut attributes = m["attributes"].clone();
        let id = match attributes.as_object_mut().and_then(|o| o.remove("id")) {
            Some(J::String(s)) => s,
            _ => "u1".to_string(),
        };
        let profile = serde_json::json!({"id": id, "attributes": attributes});
        let profile = segcore::Profile::from_json(&profile).map_err(|e| format!("bad profile: {e}"))?;
        let outcome =
            segment.evaluate(&profile, &cx).map_err(|e| format!("evaluation error {e} on {}", m["attributes"]))?;
        let member = outcome == segcore::Outcome::True;
        if J::Bool(member) != m["member"] {
            return Err(format!(
                "{} gives member={member}, want {}; rule {:?}",
                m["attributes"], m["member"], imported.rule
            ));
        }
        if outcome == segcore::Outcome::Unknown {
            return Err(format!(
                "{} gives UNKNOWN: an imported rule must be total; rule {:?}",
                m["attributes"], imported.rule
            ));
        }
    }
    Ok(())
}

fn check(case: &J) -> Result<(), String> {
    if case.get("query").and_then(J::as_str) == Some("import") {
        return check_import(case);
    }
    let expect = &case["expect"];
    let got = run(case)?;
    let describe = |g: &Got| match g {
        Got::Outcome(o) => format!("outcome {o}"),
        Got::Error(p, e) => format!("{p} error {}", e.to_string().replace('\n', "\n      ")),
        Got::Canonical(c, _) => format!("canonical {c}"),
        Got::Format(f) => format!("format {f:?}"),
        Got::Next(None) => "no next change".to_string(),
        Got::Next(Some(c)) => format!("next change {}", show_change(c)),
        Got::Timeline(o, cs) => {
            format!("timeline {o} then [{}]", cs.iter().map(show_change).collect::<Vec<_>>().join(", "))
        }
        Got::Fingerprint(f) => format!("fingerprint {f}"),
        Got::Sketch(s) => format!("sketch {s}"),
        Got::Difference(a, b) => format!("difference only_a {a:?} only_b {b:?}"),
        Got::Diff(j) => format!("diff {j}"),
    };
    if let Some(err) = expect.get("error") {
        let kind = err.get("kind").and_then(J::as_str).unwrap_or("");
        let phase = err.get("phase").and_then(J::as_str).unwrap_or("");
        let line = err.get("line").and_then(J::as_u64);
        let column = err.get("column").and_then(J::as_u64);
        if let Got::Error(p, e) = &got {
            let hit = e.diagnostics().iter().any(|d| {
                d.kind.as_str() == kind
                    && line.is_none_or(|l| d.location.map(|x| x.line as u64) == Some(l))
                    && column.is_none_or(|c| d.location.map(|x| x.column as u64) == Some(c))
            });
            if hit && (phase.is_empty() || *p == phase) {
                return Ok(());
            }
        }
        let pos = match (line, column) {
            (Some(l), Some(c)) => format!(" at {l}:{c}"),
            _ => String::new(),
        };
        return Err(format!("expected {phase} error {kind}{pos}, got {}", describe(&got)));
    }
    if let Some(want) = expect.get("canonical_json").and_then(J::as_str) {
        if let Got::Canonical(c, h) = &got {
            if c != want {
                return Err(format!("canonical JSON differs:\n      want {want}\n      got  {c}"));
            }
            if let Some(wh) = expect.get("definition_hash").and_then(J::as_str) {
                if wh != h {
                    return Err(format!("hash differs: want {wh}, got {h}"));
                }
            }
            return Ok(());
        }
        return Err(format!("expected canonical JSON, got {}", describe(&got)));
    }
    if let Some(want) = expect.get("format").and_then(J::as_str) {
        return match &got {
            Got::Format(f) if f == want => Ok(()),
            g => Err(format!("expected format {want:?}, got {}", describe(g))),
        };
    }
    for (name, want) in [("fingerprint", expect.get("fingerprint")), ("sketch", expect.get("sketch"))] {
        if let Some(want) = want.and_then(J::as_str) {
            return match &got {
                Got::Fingerprint(g) | Got::Sketch(g) if g == want => Ok(()),
                g => Err(format!("expected {name} {want}, got {}", describe(g))),
            };
        }
    }
    if let Some(want) = expect.get("diff") {
        return match &got {
            Got::Diff(g) if diff_matches(want, g) => Ok(()),
            g => Err(format!("expected diff {want}, got {}", describe(g))),
        };
    }
    if let Some(want) = expect.get("difference") {
        let want_a = strings(want, "only_a")?;
        let want_b = strings(want, "only_b")?;
        return match &got {
            Got::Difference(a, b) if *a == want_a && *b == want_b => Ok(()),
            g => Err(format!("expected difference only_a {want_a:?} only_b {want_b:?}, got {}", describe(g))),
        };
    }
    if let Some(want) = expect.get("next_change") {
        let want = if want.is_null() { None } else { Some(expected_change(want)?) };
        return match &got {
            Got::Next(c) if *c == want => Ok(()),
            g => Err(format!(
                "expected {}, got {}",
                want.as_ref().map_or("no next change".to_string(), |c| format!("next change {}", show_change(c))),
                describe(g)
            )),
        };
    }
    if let Some(want) = expect.get("timeline") {
        let outcome = want.get("outcome").and_then(J::as_str).ok_or("timeline expectation needs `outcome`")?;
        let changes = want.get("changes").and_then(J::as_array).ok_or("timeline expectation needs `changes`")?;
        let changes = changes.iter().map(expected_change).collect::<Result<Vec<_>, _>>()?;
        return match &got {
            Got::Timeline(o, cs) if o == outcome && *cs == changes => Ok(()),
            g => Err(format!(
                "expected timeline {outcome} then [{}], got {}",
                changes.iter().map(show_change).collect::<Vec<_>>().join(", "),
                describe(g)
            )),
        };
    }
    let want_outcome = expect.get("outcome").and_then(J::as_str);
    let want_member = expect.get("member").and_then(J::as_bool);
    match &got {
        Got::Outcome(o) => {
            if let Some(w) = want_outcome {
                if w != o {
                    return Err(format!("expected outcome {w}, got {o}"));
                }
                return Ok(());
            }
            if let Some(m) = want_member {
                if m != (o == "true") {
                    return Err(format!("expected member {m}, got outcome {o}"));
                }
                return Ok(());
            }
            Err("case has no recognised expectation".into())
        }
        g => Err(format!(
            "expected {}, got {}",
            want_outcome.map(|o| format!("outcome {o}")).unwrap_or_else(|| format!("member {want_member:?}")),
            describe(g)
        )),
    }
}

#[test]
fn conformance_suite() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite_dir())
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures: Vec<Failure> = Vec::new();
    let mut per_suite = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable suite");
        let suite: J = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let cases = suite["cases"].as_array().unwrap_or_else(|| panic!("{} has no cases", file.display()));
        let mut failed_here = 0;
        for case in cases {
            total += 1;
            let id = case["id"].as_str().unwrap_or("<no id>").to_string();
            if !ids.insert(id.clone()) {
                failures.push(Failure { id: id.clone(), why: "duplicate case id".into() });
                failed_here += 1;
                continue;
            }
            let result = std::panic::catch_unwind(|| check(case)).unwrap_or_else(|_| Err("PANIC".into()));
            if let Err(why) = result {
                failed_here += 1;
                failures.push(Failure { id, why });
            }
        }
        per_suite.push((suite["suite"].as_str().unwrap_or("?").to_string(), cases.len(), failed_here));
    }
    let passed = total - failures.len();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance");
    let _ = std::fs::create_dir_all(&out_dir);
    let report = serde_json::json!({
        "runtime": "Rust",
        "passed": passed,
        "total": total,
        "failed": failures.iter().map(|f| &f.id).collect::<Vec<_>>(),
    });
    let _ = std::fs::write(out_dir.join("rust.json"), serde_json::to_string_pretty(&report).unwrap_or_default());
    for (suite, n, failed) in &per_suite {
        eprintln!("  {suite:<12} {:>4}/{n}", n - failed);
    }
    for f in failures.iter().take(400) {
        eprintln!("FAIL {}: {}", f.id, f.why);
    }
    eprintln!("conformance (Rust): {passed} passed, {} failed, of {total}", failures.len());
    assert!(total >= 400, "the suite must have at least 400 cases, found {total}");
    assert!(failures.is_empty(), "{} conformance case(s) failed", failures.len());
}
