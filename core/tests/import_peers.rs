//! Imports against the reference engines (SPEC §29): every peer-suite case — JSON Logic's
//! tests.json and compat-tables (1,413 cases, json-logic-js 2.0.5), GrowthBook's `evalCondition`
//! cases (@growthbook/growthbook 1.8.0) — either imports and gives the engine's own answer on the
//! case's data, or is refused: never wrong. And (ignored by default, run by the README's test
//! command) generated corpora of rule × data pairs answered by the engines themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use segcore::import::{import_value, Format, Imported, Options, Status};
use segcore::{EvalContext, Outcome, Profile, Segment};
use serde_json::{json, Value as J};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/import")
}

fn reports() -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance");
    let _ = std::fs::create_dir_all(&out);
    out
}

/// The attribute paths a JSON Logic rule reads through constant `var`/`missing` operands.
fn jsonlogic_paths(rule: &J, out: &mut Vec<String>) {
    match rule {
        J::Array(a) => a.iter().for_each(|x| jsonlogic_paths(x, out)),
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
            jsonlogic_paths(v, out);
        }
        _ => {}
    }
}

/// The attribute paths a GrowthBook condition reads (its non-operator keys, through the logic).
fn growthbook_paths(cond: &J, out: &mut Vec<String>) {
    match cond {
        J::Object(o) => {
            for (k, v) in o {
                match k.as_str() {
                    "$or" | "$nor" | "$and" => {
                        v.as_array().into_iter().flatten().for_each(|c| growthbook_paths(c, out))
                    }
                    "$not" => growthbook_paths(v, out),
                    k if k.starts_with('$') => {}
                    k => out.push(k.to_string()),
                }
            }
        }
        J::Array(a) => a.iter().for_each(|x| growthbook_paths(x, out)),
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
fn schema_for(reads: &[String], data: &J, fallback: &str) -> J {
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
    for p in reads {
        if !p.is_empty() && !attrs.contains_key(p) {
            attrs.insert(p.clone(), J::String(fallback.into()));
        }
    }
    json!({ "attributes": attrs })
}

/// Imports with the first schema that translates; `Err(reason)` when refused with every one.
fn import_with(format: Format, rule: &J, reads: &[String], data: &J, groups: Option<&J>) -> Result<Imported, String> {
    let mut reason = String::new();
    for fallback in ["int", "string", "bool"] {
        let mut options =
            Options::new().schema_json(&schema_for(reads, data, fallback)).map_err(|e| format!("schema: {e}"))?;
        if let Some(g) = groups {
            options = options.saved_groups(g).map_err(|e| format!("saved groups: {e}"))?;
        }
        match import_value(format, rule, &options) {
            Ok(i) if i.report.status != Status::Refused => return Ok(i),
            Ok(i) => {
                if reason.is_empty() {
                    let r = &i.report.refusals[0];
                    reason = format!("`{}`: {}", r.construct, r.reason.split(':').next().unwrap_or(""));
                }
            }
            Err(e) => return Err(format!("invalid: {}", e.kind())),
        }
    }
    Err(reason)
}

/// Assumption V (SPEC §29) on a data version: strict SemVer, numbers below 100000, numeric
/// pre-release identifiers below 10000, no `-` inside one.
fn within_v(v: &str) -> bool {
    let re = regex::Regex::new(
        r"^(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})(-((0|[1-9]\d{0,3}|\d*[A-Za-z][0-9A-Za-z]*)(\.(0|[1-9]\d{0,3}|\d*[A-Za-z][0-9A-Za-z]*))*))?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$",
    )
    .unwrap();
    re.is_match(v)
}

fn as_of() -> EvalContext {
    EvalContext::parse("2026-01-01T00:00:00Z").unwrap()
}

/// A profile from the engine's data: GrowthBook's `id` attribute is the profile's id.
fn profile(attributes: &J) -> Result<Profile, String> {
    let mut attrs = attributes.clone();
    let id = match attrs.as_object_mut().and_then(|o| o.remove("id")) {
        Some(J::String(s)) => s,
        _ => "u1".into(),
    };
    Profile::from_json(&json!({"id": id, "attributes": attrs})).map_err(|e| e.to_string())
}

fn member(imported: &Imported, attributes: &J) -> Result<bool, String> {
    let def = imported.definition.clone().ok_or("no definition")?;
    let seg = Segment::compile(def, imported.schema.as_ref()).map_err(|e| e.to_string())?;
    let outcome = seg.evaluate(&profile(attributes)?, &as_of()).map_err(|e| e.to_string())?;
    if outcome == Outcome::Unknown {
        return Err("UNKNOWN (an imported rule must be total)".into());
    }
    Ok(outcome == Outcome::True)
}

/// One peer case, with the engine's own answer.
struct Peer {
    group: String,
    id: String,
    rule: J,
    data: J,
    expected: bool,
    throws: bool,
    groups: Option<J>,
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

/// Prints a suite's counts, its most frequent refusal reasons and every wrong case; the row the
/// conformance matrix shows.
fn show(group: &str, t: &Tally) -> J {
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
    for (r, n) in reasons.iter().take(14) {
        eprintln!("    refused {n:>4}  {r}");
    }
    for w in &t.wrong {
        eprintln!("  WRONG {w}");
    }
    json!({"suite": group, "cases": t.cases, "translated": t.folded + t.translated, "refused": t.refused, "wrong": t.wrong.len()})
}

/// Runs every case through import + evaluation; writes `import-peers-<name>.json`; fails on any
/// wrong answer.
fn check_peers(format: Format, name: &str, peers: Vec<Peer>) {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for p in peers {
        let t = tallies.entry(p.group.clone()).or_default();
        t.cases += 1;
        let mut reads = vec![];
        match format {
            Format::JsonLogic => jsonlogic_paths(&p.rule, &mut reads),
            _ => growthbook_paths(&p.rule, &mut reads),
        }
        // The engine's data is the profile's attributes: only an object (or nothing) maps; a
        // GrowthBook `id` read needs a string id (the profile's).
        let attributes = match &p.data {
            J::Object(_) => p.data.clone(),
            J::Null => json!({}),
            _ if reads.is_empty() && !p.rule.to_string().contains("\"var\"") => json!({}),
            _ => {
                t.refused += 1;
                *t.reasons.entry("data is not an object (no profile has it)".into()).or_default() += 1;
                continue;
            }
        };
        if format == Format::GrowthBook && reads.iter().any(|r| r == "id") && !attributes["id"].is_string() {
            t.refused += 1;
            *t.reasons.entry("`id` is the profile's id: the case's data has no string id".into()).or_default() += 1;
            continue;
        }
        let imported = match import_with(format, &p.rule, &reads, &attributes, p.groups.as_ref()) {
            Ok(i) => i,
            Err(reason) => {
                t.refused += 1;
                *t.reasons.entry(reason).or_default() += 1;
                continue;
            }
        };
        if p.throws {
            t.wrong.push(format!("{}: the engine throws but the import gave {:?}", p.id, imported.rule));
            continue;
        }
        // The import promises the engine's answer on data that keeps its assumptions: a case whose
        // data break V (GrowthBook's versions) is outside it, and counted as refused.
        if imported.report.assumptions.keys().any(|a| a.as_str() == "V")
            && imported.report.reads.iter().any(|r| attributes[r.as_str()].as_str().is_some_and(|v| !within_v(v)))
        {
            t.refused += 1;
            *t.reasons
                .entry("the case's data break assumption V (versions outside strict SemVer)".into())
                .or_default() += 1;
            continue;
        }
        match member(&imported, &attributes) {
            Ok(m) if m == p.expected => {}
            Ok(m) => t.wrong.push(format!(
                "{}: {} on {attributes} → {:?}: member {m}, the engine {}",
                p.id, p.rule, imported.rule, p.expected
            )),
            Err(e) => t.wrong.push(format!("{}: {e}", p.id)),
        }
        if imported.report.reads.is_empty() {
            t.folded += 1;
        } else {
            t.translated += 1;
        }
    }
    let rows: Vec<J> = tallies.iter().map(|(group, t)| show(group, t)).collect();
    let wrong: usize = tallies.values().map(|t| t.wrong.len()).sum();
    let _ = std::fs::write(
        reports().join(format!("import-peers-{name}.json")),
        serde_json::to_string_pretty(&rows).unwrap(),
    );
    assert_eq!(wrong, 0, "imports that disagree with the reference engine");
}

fn oracle(file: &str, engine: &str) -> Vec<J> {
    let text = std::fs::read_to_string(dir().join("peers").join(file)).expect("the oracle file");
    let oracle: J = serde_json::from_str(&text).expect("oracle JSON");
    assert_eq!(oracle["engine"], engine);
    oracle["cases"].as_array().unwrap().clone()
}

#[test]
fn jsonlogic_peer_suites_translate_or_refuse_never_wrong() {
    let cases = oracle("jsonlogic-oracle.json", "json-logic-js 2.0.5");
    assert_eq!(cases.len(), 1413, "every vendored peer case is checked");
    let peers = cases
        .into_iter()
        .map(|c| {
            let suite = c["suite"].as_str().unwrap().to_string();
            Peer {
                group: if suite.starts_with("jsonlogic/") { "jsonlogic tests.json" } else { "jsonlogic compat-tables" }
                    .into(),
                id: format!("{suite}#{}", c["index"]),
                rule: c["rule"].clone(),
                data: c["data"].clone(),
                expected: c["truthy"] == true,
                throws: c["throws"] == true,
                groups: None,
            }
        })
        .collect();
    check_peers(Format::JsonLogic, "jsonlogic", peers);
}

#[test]
fn growthbook_peer_suite_translates_or_refuses_never_wrong() {
    let cases = oracle("growthbook-oracle.json", "@growthbook/growthbook 1.8.0");
    assert_eq!(cases.len(), 248, "every vendored evalCondition case is checked");
    let peers = cases
        .into_iter()
        .map(|c| Peer {
            group: "growthbook evalCondition".into(),
            id: format!("#{} {}", c["index"], c["name"].as_str().unwrap_or("")),
            rule: c["condition"].clone(),
            data: c["attributes"].clone(),
            expected: c["result"] == true,
            throws: false,
            groups: c.get("savedGroups").filter(|g| g.is_object()).cloned(),
        })
        .collect();
    check_peers(Format::GrowthBook, "growthbook", peers);
}

/// The context fields a feature's constraints read, with whether a NUM_* operator reads them.
fn unleash_fields(state: &J, feature: &J) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut add = |c: &J| {
        if let Some(name) = c["contextName"].as_str() {
            let numeric = c["operator"].as_str().is_some_and(|o| o.starts_with("NUM_"));
            *out.entry(name.to_string()).or_insert(false) |= numeric;
        }
    };
    for s in feature["strategies"].as_array().into_iter().flatten() {
        s["constraints"].as_array().into_iter().flatten().for_each(&mut add);
        if s["name"] == "userWithId" {
            add(&json!({"contextName": "userId", "operator": "IN"}));
        }
        for id in s["segments"].as_array().into_iter().flatten() {
            let segs = state["segments"].as_array().into_iter().flatten();
            for seg in segs.filter(|g| g["id"] == *id) {
                seg["constraints"].as_array().into_iter().flatten().for_each(&mut add);
            }
        }
    }
    out
}

/// An Unleash context as profile attributes (SPEC §29.4), as yggdrasil reads it: a top-level
/// field when present (a top-level null hides the property), else the property; strings (numbers
/// and booleans as text); a field read by NUM_* as the number Rust's f64 parse reads (contract N).
fn unleash_attributes(context: &J, numeric: &BTreeMap<String, bool>) -> J {
    let text = |v: &J| match v {
        J::String(s) => Some(J::String(s.clone())),
        J::Number(n) => Some(J::String(n.to_string())),
        J::Bool(b) => Some(J::String(b.to_string())),
        _ => None,
    };
    let mut attrs = serde_json::Map::new();
    for (k, v) in context["properties"].as_object().into_iter().flatten() {
        if let Some(t) = text(v) {
            attrs.insert(k.clone(), t);
        }
    }
    for (k, v) in context.as_object().into_iter().flatten() {
        if k == "properties" {
            continue;
        }
        match text(v) {
            Some(t) => {
                attrs.insert(k.clone(), t);
            }
            None => {
                attrs.remove(k);
            }
        }
    }
    for (k, num) in numeric {
        if *num {
            match attrs.get(k).and_then(J::as_str).and_then(|t| t.parse::<f64>().ok()).filter(|x| x.is_finite()) {
                Some(x) => {
                    attrs.insert(k.clone(), json!(x));
                }
                None => {
                    attrs.remove(k);
                }
            }
        }
    }
    J::Object(attrs)
}

#[test]
fn unleash_peer_suite_translates_or_refuses_never_wrong() {
    let text = std::fs::read_to_string(dir().join("peers/unleash-oracle.json")).expect("the oracle file");
    let oracle: J = serde_json::from_str(&text).expect("oracle JSON");
    let cases = oracle["cases"].as_array().unwrap().clone();
    assert!(cases.len() > 150, "the Unleash oracle lists the suite's toggle tests");
    let mut t = Tally::default();
    for c in &cases {
        t.cases += 1;
        let file = c["file"].as_str().unwrap();
        let spec: J =
            serde_json::from_str(&std::fs::read_to_string(dir().join("peers/unleash").join(file)).unwrap()).unwrap();
        let state = &spec["state"];
        let toggle = c["toggle"].as_str().unwrap();
        let id = format!("{file}#{} {toggle}", c["index"]);
        if c["clock"] == true {
            t.refused += 1;
            *t.reasons.entry("the engine reads the wall clock".into()).or_default() += 1;
            continue;
        }
        let Some(feature) = state["features"].as_array().and_then(|fs| fs.iter().find(|f| f["name"] == toggle)) else {
            // A toggle the state does not have is off in every engine; nothing to import.
            t.refused += 1;
            *t.reasons.entry("no such toggle in the state".into()).or_default() += 1;
            continue;
        };
        let fields = unleash_fields(state, feature);
        let schema = json!({"attributes": fields.iter().map(|(k, num)| (k.clone(), json!(if *num { "number" } else { "string" }))).collect::<serde_json::Map<_, _>>()});
        let source = json!({"features": [feature], "segments": state["segments"].clone()});
        let options = Options::new().schema_json(&schema).unwrap();
        let imported = match import_value(Format::Unleash, &source, &options) {
            Ok(i) if i.report.status != Status::Refused => i,
            Ok(i) => {
                let r = &i.report.refusals[0];
                t.refused += 1;
                *t.reasons
                    .entry(format!("`{}`: {}", r.construct, r.reason.split(':').next().unwrap_or("")))
                    .or_default() += 1;
                continue;
            }
            Err(e) => {
                t.wrong.push(format!("{id}: {e}"));
                continue;
            }
        };
        let attributes = unleash_attributes(&c["context"], &fields);
        match member(&imported, &attributes) {
            Ok(m) if J::Bool(m) == c["enabled"] => {}
            Ok(m) => t
                .wrong
                .push(format!("{id}: on {attributes} → {:?}: member {m}, the engine {}", imported.rule, c["enabled"])),
            Err(e) => t.wrong.push(format!("{id}: {e}")),
        }
        if imported.report.reads.is_empty() {
            t.folded += 1;
        } else {
            t.translated += 1;
        }
    }
    let rows = json!([show("unleash client-specification", &t)]);
    let _ = std::fs::write(reports().join("import-peers-unleash.json"), serde_json::to_string_pretty(&rows).unwrap());
    assert!(t.wrong.is_empty(), "imports that disagree with yggdrasil");
}

/// A generated corpus: the engine's answer for every rule × data pair (JSONL: `{rule |
/// condition, schema, saved_groups?, data: [...], truthy | result: [...], throws?: [...]}`).
fn differential(format: Format, name: &str, var: &str) {
    let path = std::env::var(var).unwrap_or_else(|_| panic!("{var} names the corpus"));
    // Relative to the workspace root (cargo runs tests in core/).
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the corpus {}: {e}", path.display()));
    let (mut rules, mut imported_rules, mut pairs, mut checked, mut outside) = (0, 0, 0, 0, 0);
    let mut wrong = vec![];
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (rule_key, answer_key) = match format {
        Format::JsonLogic => ("rule", "truthy"),
        _ => ("condition", "result"),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: J = serde_json::from_str(line).expect("a JSON line");
        rules += 1;
        let data = row["data"].as_array().unwrap();
        pairs += data.len();
        let mut options = Options::new().schema_json(&row["schema"]).expect("schema");
        if let Some(g) = row.get("saved_groups").filter(|g| g.is_object()) {
            options = options.saved_groups(g).expect("saved groups");
        }
        let imported = import_value(format, &row[rule_key], &options).expect("the corpus reads");
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
            // An engine throw on this data: the import must have been refused.
            if row["throws"][i] == true {
                wrong.push(format!(
                    "{}: the engine throws on {d} but the import gave {:?}",
                    row[rule_key], imported.rule
                ));
                continue;
            }
            let got = profile(d).and_then(|p| seg.evaluate(&p, &as_of()).map_err(|e| e.to_string()));
            checked += 1;
            match got {
                Ok(Outcome::Unknown) => wrong.push(format!("{} on {d} → {:?}: UNKNOWN", row[rule_key], imported.rule)),
                Ok(o) if row[answer_key][i].as_bool() == Some(o == Outcome::True) => {}
                other => wrong.push(format!(
                    "{} on {d} → {:?}: {other:?}, the engine {}",
                    row[rule_key], imported.rule, row[answer_key][i]
                )),
            }
        }
    }
    eprintln!(
        "{name} differential: {rules} rules ({imported_rules} imported: {statuses:?}), {pairs} pairs, {checked} checked ({outside} outside the report's assumptions A3/A4 skipped), {} disagreements",
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
    let engine = format.reference();
    let report = json!({"engine": engine, "rules": rules, "imported": imported_rules, "pairs": pairs,
        "checked": checked, "outside_assumptions": outside, "disagreements": wrong.len()});
    let _ = std::fs::write(reports().join(format!("import-differential-{name}.json")), report.to_string());
    assert!(wrong.is_empty(), "{} disagreements with {engine}", wrong.len());
    assert!(checked >= 100_000, "the corpus must check at least 100,000 imported pairs, checked {checked}");
}

/// tests/import/jsonlogic-differential.mjs's corpus (scripts/test-all.sh generates it).
#[test]
#[ignore = "needs the corpus json-logic-js generates (scripts/test-all.sh runs it)"]
fn differential_jsonlogic() {
    differential(Format::JsonLogic, "jsonlogic", "SEGCORE_IMPORT_DIFFERENTIAL_JSONLOGIC");
}

/// tests/import/growthbook-differential.mjs's corpus (scripts/test-all.sh generates it).
#[test]
#[ignore = "needs the corpus @growthbook/growthbook generates (scripts/test-all.sh runs it)"]
fn differential_growthbook() {
    differential(Format::GrowthBook, "growthbook", "SEGCORE_IMPORT_DIFFERENTIAL_GROWTHBOOK");
}
