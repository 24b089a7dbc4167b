//! The bad-input matrix (tests/hostile/README.md), Rust core row: every hostile input gives the
//! expected error kind (or membership), nothing panics or overflows a stack, and the library
//! still evaluates the sanity segment afterwards. An error must also have the expected class
//! (`Error::class`, SPEC §18): `Phase::Compile` for the compile entry points (definitions,
//! schemas, segments), `Phase::Evaluate` for the evaluation ones (profiles, FX tables, `as_of`,
//! tables, evaluation). Tables (`"input": "table"`) are written as CSV text and read with
//! `segcore::ingest`, then evaluated by `segcore::batch::evaluate`, as the CLI does. Writes
//! `target/conformance/hostile-rust.json`, with the message of every error.
//!
//! Deep values are written as JSON text (a 100,000-deep `serde_json::Value` would itself overflow
//! a stack when dropped); the text entry points are what this runtime offers for them.

use std::path::Path;

use segcore::batch::{self, BatchOptions};
use segcore::ingest::{read_events, read_profiles, Columns, TextFormat};
use segcore::{Definition, EvalContext, FxRates, Phase, Profile, Schema, Segment};
use serde_json::{json, Value};

/// Concatenates a text template: a string, or parts that are strings or `{"repeat", "n"}`.
fn text(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                _ => p["repeat"].as_str().unwrap().repeat(p["n"].as_u64().unwrap() as usize),
            })
            .collect(),
        _ => panic!("bad template {t}"),
    }
}

/// The JSON text of a `deep` value, built without recursion.
fn deep_text(d: &Value) -> String {
    let n = d["n"].as_u64().unwrap() as usize;
    let leaf = d["leaf"].to_string();
    match d["kind"].as_str().unwrap() {
        "list" => format!("{}{leaf}{}", "[".repeat(n), "]".repeat(n)),
        _ => format!("{}{leaf}{}", "{\"a\":".repeat(n), "}".repeat(n)),
    }
}

/// `profile` with the deep value's text spliced in at `path`.
fn profile_text(base: &Value, path: &[Value], deep: &str) -> String {
    const MARK: &str = "@@segcore-deep@@";
    let mut p = base.clone();
    let mut slot = &mut p;
    for key in path {
        slot = match key {
            Value::String(k) => &mut slot[k.as_str()],
            _ => &mut slot[key.as_u64().unwrap() as usize],
        };
    }
    *slot = json!(MARK);
    p.to_string().replace(&format!("\"{MARK}\""), deep)
}

fn definition(base: &Value, rule: Option<&str>) -> Definition {
    let mut d = base.clone();
    if let Some(r) = rule {
        d["rule"] = json!(r);
    }
    Definition::from_json(&d).unwrap()
}

/// An error as observed: its kind, its class name (for the phase of the entry point that raised
/// it) and its message.
#[derive(Debug)]
struct Got {
    kind: String,
    class: String,
    message: String,
}

/// The error of a compile entry point (definitions, schemas, `Segment::compile`).
fn compiling(e: segcore::Error) -> Got {
    got(e, Phase::Compile)
}

/// The error of an evaluation entry point (profiles, FX, `as_of`, tables, evaluation).
fn evaluating(e: segcore::Error) -> Got {
    got(e, Phase::Evaluate)
}

fn got(e: segcore::Error, phase: Phase) -> Got {
    Got {
        kind: e.first().kind.as_str().to_string(),
        class: e.class(phase).name().to_string(),
        message: e.first().message.clone(),
    }
}

/// One CSV cell: a JSON string as is (quoted when it must be), a number as its JSON spelling,
/// `null` as an empty cell (absent).
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if s.contains([',', '"', '\n', '\r']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A column-oriented table (`{"column": [values…]}`) as CSV text (columns in `serde_json`'s key
/// order: the order of columns carries no meaning).
fn csv_text(table: &Value) -> String {
    let columns = table.as_object().unwrap();
    let rows = columns.values().map(|c| c.as_array().unwrap().len()).max().unwrap_or(0);
    let mut out = columns.keys().map(|k| csv_cell(&json!(k))).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in 0..rows {
        let cells: Vec<String> = columns.values().map(|c| csv_cell(c.get(r).unwrap_or(&Value::Null))).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A `table` case: the tables read by `segcore::ingest` from CSV text (events first, as the CLI
/// does), the definition evaluated over them by the batch driver; the membership of the first
/// profile row.
fn run_table(case: &Value, def: Definition, cx: EvalContext) -> Result<bool, Got> {
    let cols = Columns::default();
    let seg = Segment::compile(def, None).map_err(compiling)?;
    let events = match case.get("events") {
        Some(e) => read_events(csv_text(e).as_bytes(), TextFormat::Csv, "events.csv", &cols).map_err(evaluating)?,
        None => Vec::new(),
    };
    let profiles = csv_text(&case["profiles"]);
    let mut table = read_profiles(profiles.as_bytes(), TextFormat::Csv, "profiles.csv", &cols).map_err(evaluating)?;
    table.attach_events(events).map_err(evaluating)?;
    let profiles = table.into_profiles();
    let run = batch::evaluate(&seg.program(), &profiles, &cx, &BatchOptions::default()).map_err(evaluating)?;
    let member = run.rows().next().expect("a table of at least one profile").member;
    Ok(member)
}

/// What happened: the error, or `Ok(member)`.
fn run(case: &Value, base: &Value) -> Result<bool, Got> {
    let rule = case.get("rule").and_then(Value::as_str);
    let as_of = base["as_of"].as_str().unwrap();
    let evaluate = |def: Definition, profile: Profile, cx: EvalContext| -> Result<bool, Got> {
        let seg = Segment::compile(def, None).map_err(compiling)?;
        seg.evaluate(&profile, &cx).map(|o| o.is_member()).map_err(evaluating)
    };
    let base_profile = || Profile::from_json(&base["profile"]).unwrap();
    let cx = || EvalContext::parse(as_of).unwrap();
    match case["input"].as_str().unwrap() {
        "rule" => {
            let def = definition(&base["definition"], Some(&text(&case["text"])));
            evaluate(def, base_profile(), cx())
        }
        "definition_yaml" => {
            evaluate(Definition::from_yaml_str(&text(&case["text"])).map_err(compiling)?, base_profile(), cx())
        }
        "definition_json" => {
            evaluate(Definition::from_json_str(&text(&case["text"])).map_err(compiling)?, base_profile(), cx())
        }
        "profile" => {
            let path = case["path"].as_array().unwrap();
            let p = profile_text(&base["profile"], path, &deep_text(&case["deep"]));
            let profile = Profile::from_json_str(&p).map_err(evaluating)?;
            evaluate(definition(&base["definition"], rule), profile, cx())
        }
        "profile_json" => {
            let profile = Profile::from_json_str(&text(&case["text"])).map_err(evaluating)?;
            evaluate(definition(&base["definition"], rule), profile, cx())
        }
        "fx" => {
            let fx = FxRates::from_json_str(&format!("{{\"EUR/USD\": {}}}", deep_text(&case["deep"])))
                .map_err(evaluating)?;
            evaluate(definition(&base["definition"], rule), base_profile(), cx().with_fx(fx))
        }
        "schema" => {
            let schema =
                Schema::from_json_str(&format!("{{\"attributes\": {{\"age\": {}}}}}", deep_text(&case["deep"])))
                    .map_err(compiling)?;
            let seg = Segment::compile(definition(&base["definition"], rule), Some(&schema)).map_err(compiling)?;
            seg.evaluate(&base_profile(), &cx()).map(|o| o.is_member()).map_err(evaluating)
        }
        "as_of" => {
            let cx = EvalContext::parse(&text(&case["text"])).map_err(evaluating)?;
            evaluate(definition(&base["definition"], rule), base_profile(), cx)
        }
        "table" => run_table(case, definition(&base["definition"], rule), cx()),
        other => panic!("unknown input {other}"),
    }
}

fn sanity(doc: &Value) -> bool {
    let s = &doc["sanity"];
    let seg = Segment::compile(Definition::from_json(&s["definition"]).unwrap(), None).unwrap();
    let profile = Profile::from_json(&s["profile"]).unwrap();
    let cx = EvalContext::parse(s["as_of"].as_str().unwrap()).unwrap();
    seg.evaluate(&profile, &cx).unwrap().is_member() == s["expect"].as_bool().unwrap()
}

#[test]
fn hostile_inputs_give_the_expected_error_and_nothing_crashes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/hostile/cases.json")).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    let mut messages = serde_json::Map::new();
    let mut total = 0;
    for case in cases {
        if let Some(rt) = case.get("runtimes") {
            if !rt.as_array().unwrap().iter().any(|r| r == "rust") {
                continue;
            }
        }
        total += 1;
        let name = case["name"].as_str().unwrap();
        let got = run(case, &doc["base"]);
        if let Err(g) = &got {
            messages.insert(name.to_string(), json!(g.message));
        }
        let ok = match (&case["expect"], &got) {
            (Value::String(k), Err(g)) => *k == g.kind && case["class"].as_str() == Some(g.class.as_str()),
            (Value::Object(m), Ok(member)) => m["member"].as_bool() == Some(*member),
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(member) => json!({"member": member}),
                Err(g) => json!({"kind": g.kind, "class": g.class, "message": g.message}),
            };
            failures.push(json!({"name": name, "expected": case["expect"], "class": case["class"], "got": got}));
        }
        assert!(sanity(&doc), "sanity evaluation failed after {name}");
    }
    let report = json!({
        "runtime": "rust",
        "passed": total - failures.len(),
        "total": total,
        "failures": failures,
        "messages": messages,
    });
    let out = root.join("target/conformance");
    let _ = std::fs::create_dir_all(&out);
    std::fs::write(out.join("hostile-rust.json"), report.to_string()).unwrap();
    assert!(
        failures.is_empty(),
        "{} of {total} hostile cases failed:\n{}",
        failures.len(),
        serde_json::to_string_pretty(&failures).unwrap()
    );
}
