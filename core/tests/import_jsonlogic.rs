//! `import --from jsonlogic` against the reference engine (SPEC §29.1): every peer-suite case
//! (JSON Logic tests.json and the compat-tables, 1,413 cases) either imports and gives
//! json-logic-js's membership on the case's data, or is refused — never wrong; and (ignored by
//! default, run by the README's test command) a generated corpus of rule × data pairs answered by
//! json-logic-js itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use segcore::import::{import_value, Format, Options, Status};
use segcore::{EvalContext, Outcome, Profile, Segment};
use serde_json::{json, Value as J};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/import")
}

/// The attribute paths a rule reads through constant `var`/`missing` operands.
fn read_paths(rule: &J, out: &mut Vec<String>) {
    match rule {
        J::Array(a) => a.iter().for_each(|x| read_paths(x, out)),
        J::Object(o) if o.len() == 1 => {
            let (op, v) = o.iter().next().unwrap();
            match (op.as_str(), v) {
                ("var", J::String(s)) => out.push(s.clone()),
                ("var", J::Array(a)) => {
                    if let Some(J::String(s)) = a.first() {
                        out.push(s.clone());
                    }
                }
                ("missing", J::Array(a)) => a.iter().filter_map(J::as_str).for_each(|s| out.push(s.into())),
                ("missing_some", J::Array(a)) => {
                    if let Some(J::Array(keys)) = a.get(1) {
                        keys.iter().filter_map(J::as_str).for_each(|s| out.push(s.into()));
                    }
                }
                _ => {}
            }
            read_paths(v, out);
        }
        _ => {}
    }
}

/// The type a JSON value declares (None for null: decided by trying).
fn type_of(v: &J) -> Option<String> {
    Some(match v {
        J::Bool(_) => "bool".into(),
        J::Number(n) if n.is_i64() || n.is_u64() => "int".into(),
        J::Number(_) => "float".into(),
        J::String(_) => "string".into(),
        J::Array(a) => {
            let kinds: Vec<String> = a.iter().filter_map(type_of).collect();
            let elem = match kinds.first() {
                Some(k) if kinds.iter().all(|x| x == k) && !k.starts_with("list") && k != "object" => k.clone(),
                Some(_) if kinds.iter().all(|x| x == "int" || x == "float") => "number".into(),
                None => "int".into(),
                // A list of objects or of mixed kinds: a type imports do not read (refused).
                _ => return Some("list".into()),
            };
            format!("list<{elem}>")
        }
        J::Object(_) => "object".into(),
        J::Null => return None,
    })
}

/// The case's schema: types from its data (nested objects as dotted paths); read paths absent
/// or null in the data get `fallback`.
fn schema_for(rule: &J, data: &J, fallback: &str) -> J {
    let mut attrs = serde_json::Map::new();
    fn walk(prefix: &str, v: &J, attrs: &mut serde_json::Map<String, J>) {
        if let J::Object(o) = v {
            for (k, x) in o {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if let Some(t) = type_of(x) {
                    attrs.insert(path.clone(), J::String(t));
                }
                walk(&path, x, attrs);
            }
        }
    }
    walk("", data, &mut attrs);
    let mut reads = vec![];
    read_paths(rule, &mut reads);
    for p in reads {
        if !p.is_empty() && !attrs.contains_key(&p) {
            attrs.insert(p, J::String(fallback.into()));
        }
    }
    json!({ "attributes": attrs })
}

#[derive(Default)]
struct Tally {
    cases: usize,
    folded: usize,
    translated: usize,
    refused: usize,
    wrong: Vec<String>,
    reasons: BTreeMap<String, usize>,
}

fn as_of() -> EvalContext {
    EvalContext::parse("2026-01-01T00:00:00Z").unwrap()
}

/// Imports `rule` with the first schema that translates; `None` when refused with every one.
fn import_with(rule: &J, data: &J) -> (Option<(segcore::import::Imported, J)>, String) {
    let mut reason = String::new();
    for fallback in ["int", "string", "bool"] {
        let schema = schema_for(rule, data, fallback);
        let options = match Options::new().schema_json(&schema) {
            Ok(o) => o,
            Err(e) => return (None, format!("schema: {e}")),
        };
        match import_value(Format::JsonLogic, rule, &options) {
            Ok(i) if i.report.status != Status::Refused => return (Some((i, schema)), String::new()),
            Ok(i) => {
                if reason.is_empty() {
                    let r = &i.report.refusals[0];
                    reason = format!("`{}`: {}", r.construct, r.reason.split(':').next().unwrap_or(""));
                }
            }
            Err(e) => return (None, format!("invalid: {}", e.kind())),
        }
    }
    (None, reason)
}

fn member(imported: &segcore::import::Imported, data: &J) -> Result<bool, String> {
    let def = imported.definition.clone().ok_or("no definition")?;
    let seg = Segment::compile(def, imported.schema.as_ref()).map_err(|e| e.to_string())?;
    let profile = Profile::from_json(&json!({"id": "u1", "attributes": data})).map_err(|e| e.to_string())?;
    let outcome = seg.evaluate(&profile, &as_of()).map_err(|e| e.to_string())?;
    if outcome == Outcome::Unknown {
        return Err("UNKNOWN (an imported rule must be total)".into());
    }
    Ok(outcome == Outcome::True)
}

#[test]
fn peer_suites_translate_or_refuse_never_wrong() {
    let text = std::fs::read_to_string(dir().join("peers/jsonlogic-oracle.json")).expect("the oracle file");
    let oracle: J = serde_json::from_str(&text).expect("oracle JSON");
    assert_eq!(oracle["engine"], "json-logic-js 2.0.5");
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for case in oracle["cases"].as_array().unwrap() {
        let suite = case["suite"].as_str().unwrap();
        let group = if suite.starts_with("jsonlogic/") { "jsonlogic tests.json" } else { "jsonlogic compat-tables" };
        let t = tallies.entry(group.to_string()).or_default();
        t.cases += 1;
        let (rule, data) = (&case["rule"], &case["data"]);
        let id = format!("{suite}#{}", case["index"]);
        // The engine's data is the profile's attributes: only an object (or nothing) maps.
        let attributes = match data {
            J::Object(_) => data.clone(),
            J::Null => json!({}),
            _ => {
                let mut reads = vec![];
                read_paths(rule, &mut reads);
                if !reads.is_empty() || rule.to_string().contains("\"var\"") {
                    t.refused += 1;
                    *t.reasons.entry("data is not an object (no profile has it)".into()).or_default() += 1;
                    continue;
                }
                json!({})
            }
        };
        let (imported, reason) = import_with(rule, &attributes);
        let Some((imported, _schema)) = imported else {
            t.refused += 1;
            *t.reasons.entry(reason).or_default() += 1;
            continue;
        };
        if case["throws"] == true {
            t.wrong.push(format!("{id}: json-logic-js throws but the import gave {:?}", imported.rule));
            continue;
        }
        match member(&imported, &attributes) {
            Ok(m) if J::Bool(m) == case["truthy"] => {}
            Ok(m) => t.wrong.push(format!(
                "{id}: rule {rule} on {attributes} → {:?}: member {m}, json-logic-js {}",
                imported.rule, case["truthy"]
            )),
            Err(e) => t.wrong.push(format!("{id}: {e}")),
        }
        if imported.report.reads.is_empty() {
            t.folded += 1;
        } else {
            t.translated += 1;
        }
    }
    let mut rows = vec![];
    let mut wrong = 0;
    for (group, t) in &tallies {
        eprintln!(
            "{group}: {} cases — {} imported ({} constant, {} reading data), {} refused, {} wrong",
            t.cases,
            t.folded + t.translated,
            t.folded,
            t.translated,
            t.refused,
            t.wrong.len()
        );
        let mut reasons: Vec<_> = t.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (r, n) in reasons.iter().take(12) {
            eprintln!("    refused {n:>4}  {r}");
        }
        for w in &t.wrong {
            eprintln!("  WRONG {w}");
        }
        wrong += t.wrong.len();
        rows.push(json!({"suite": group, "cases": t.cases, "translated": t.folded + t.translated,
            "refused": t.refused, "wrong": t.wrong.len()}));
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("import-peers-jsonlogic.json"), serde_json::to_string_pretty(&rows).unwrap());
    assert_eq!(wrong, 0, "imports that disagree with json-logic-js");
    let total: usize = tallies.values().map(|t| t.cases).sum();
    assert_eq!(total, 1413, "every vendored peer case is checked");
}

/// The generated corpus (tests/import/jsonlogic-differential.mjs): json-logic-js's answer for
/// every rule × data pair. Run by scripts/test-all.sh with `SEGCORE_IMPORT_DIFFERENTIAL=<file>`.
#[test]
#[ignore = "needs the corpus json-logic-js generates (scripts/test-all.sh runs it)"]
fn differential_against_json_logic_js() {
    let path = std::env::var("SEGCORE_IMPORT_DIFFERENTIAL").expect("SEGCORE_IMPORT_DIFFERENTIAL names the corpus");
    // Relative to the workspace root (cargo runs tests in core/).
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the corpus {}: {e}", path.display()));
    let (mut rules, mut imported_rules, mut pairs, mut checked, mut outside) = (0, 0, 0, 0, 0);
    let mut wrong = vec![];
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<&'static str, usize> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: J = serde_json::from_str(line).expect("a JSON line");
        rules += 1;
        let data = row["data"].as_array().unwrap();
        pairs += data.len();
        let options = Options::new().schema_json(&row["schema"]).expect("schema");
        let imported = import_value(Format::JsonLogic, &row["rule"], &options).expect("the corpus is valid JSON Logic");
        *statuses.entry(imported.report.status.as_str()).or_default() += 1;
        if imported.report.status == Status::Refused {
            let r = &imported.report.refusals[0];
            *reasons.entry(format!("`{}`: {}", r.construct, r.reason.split(':').next().unwrap_or(""))).or_default() +=
                1;
            continue;
        }
        imported_rules += 1;
        let def = imported.definition.clone().unwrap();
        let seg = Segment::compile(def, imported.schema.as_ref()).expect("imported rules compile");
        let used = |a: &str| imported.report.assumptions.keys().any(|x| x.as_str() == a);
        for (i, d) in data.iter().enumerate() {
            // Data outside the report's assumptions is outside the promise: A4 (no explicit
            // nulls) and A3 (no characters at or beyond U+E000 in strings ordered together).
            let values = || d.as_object().into_iter().flat_map(|o| o.values());
            let a4 = used("A4") && values().any(J::is_null);
            let a3 = used("A3") && d.to_string().chars().any(|c| c >= '\u{E000}');
            if a3 || a4 {
                outside += 1;
                continue;
            }
            // A json-logic-js throw on this data: the import must have been refused.
            if row["throws"][i] == true {
                wrong.push(format!(
                    "{}: json-logic-js throws on {d} but the import gave {:?}",
                    row["rule"], imported.rule
                ));
                continue;
            }
            let profile = Profile::from_json(&json!({"id": "u1", "attributes": d})).expect("profile");
            let got = seg.evaluate(&profile, &as_of()).map(|o| o == Outcome::True);
            checked += 1;
            if got.as_ref().ok() != row["truthy"][i].as_bool().as_ref() {
                wrong.push(format!(
                    "{} on {d} → {:?}: {got:?}, json-logic-js {}",
                    row["rule"], imported.rule, row["truthy"][i]
                ));
            }
        }
    }
    eprintln!(
        "jsonlogic differential: {rules} rules ({imported_rules} imported: {statuses:?}), {pairs} pairs, {checked} checked ({outside} outside the report's assumptions A3/A4 skipped), {} disagreements",
        wrong.len()
    );
    let mut rs: Vec<_> = reasons.iter().collect();
    rs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (r, n) in rs.iter().take(15) {
        eprintln!("    refused {n:>5}  {r}");
    }
    for w in wrong.iter().take(30) {
        eprintln!("  WRONG {w}");
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance");
    let _ = std::fs::create_dir_all(&out);
    let report = json!({"engine": "json-logic-js 2.0.5", "rules": rules, "imported": imported_rules, "pairs": pairs,
        "checked": checked, "outside_assumptions": outside, "disagreements": wrong.len()});
    let _ = std::fs::write(out.join("import-differential-jsonlogic.json"), report.to_string());
    assert!(wrong.is_empty(), "{} disagreements with json-logic-js", wrong.len());
    assert!(checked >= 100_000, "the corpus must check at least 100,000 imported pairs, checked {checked}");
}
