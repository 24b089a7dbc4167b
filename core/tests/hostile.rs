//! The bad-input matrix (tests/hostile/README.md), Rust core row: every hostile input gives the
//! expected error kind (or membership), nothing panics or overflows a stack, and the library
//! still evaluates the sanity segment afterwards. Writes `target/conformance/hostile-rust.json`.
//!
//! Deep values are written as JSON text (a 100,000-deep `serde_json::Value` would itself overflow
//! a stack when dropped); the text entry points are what this runtime offers for them.

use std::path::Path;

use segcore::{Definition, EvalContext, FxRates, Profile, Schema, Segment};
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

/// What happened: `Err(kind)` or `Ok(member)`.
fn run(case: &Value, base: &Value) -> Result<bool, String> {
    let kind = |e: segcore::Error| e.first().kind.as_str().to_string();
    let rule = case.get("rule").and_then(Value::as_str);
    let as_of = base["as_of"].as_str().unwrap();
    let evaluate = |def: Definition, profile: Profile, cx: EvalContext| -> Result<bool, String> {
        let seg = Segment::compile(def, None).map_err(kind)?;
        seg.evaluate(&profile, &cx).map(|o| o.is_member()).map_err(kind)
    };
    let base_profile = || Profile::from_json(&base["profile"]).unwrap();
    let cx = || EvalContext::parse(as_of).unwrap();
    match case["input"].as_str().unwrap() {
        "rule" => {
            let def = definition(&base["definition"], Some(&text(&case["text"])));
            evaluate(def, base_profile(), cx())
        }
        "definition_yaml" => {
            evaluate(Definition::from_yaml_str(&text(&case["text"])).map_err(kind)?, base_profile(), cx())
        }
        "definition_json" => {
            evaluate(Definition::from_json_str(&text(&case["text"])).map_err(kind)?, base_profile(), cx())
        }
        "profile" => {
            let path = case["path"].as_array().unwrap();
            let p = profile_text(&base["profile"], path, &deep_text(&case["deep"]));
            let profile = Profile::from_json_str(&p).map_err(kind)?;
            evaluate(definition(&base["definition"], rule), profile, cx())
        }
        "profile_json" => {
            let profile = Profile::from_json_str(&text(&case["text"])).map_err(kind)?;
            evaluate(definition(&base["definition"], rule), profile, cx())
        }
        "fx" => {
            let fx = FxRates::from_json_str(&format!("{{\"EUR/USD\": {}}}", deep_text(&case["deep"]))).map_err(kind)?;
            evaluate(definition(&base["definition"], rule), base_profile(), cx().with_fx(fx))
        }
        "schema" => {
            let schema =
                Schema::from_json_str(&format!("{{\"attributes\": {{\"age\": {}}}}}", deep_text(&case["deep"])))
                    .map_err(kind)?;
            let seg = Segment::compile(definition(&base["definition"], rule), Some(&schema)).map_err(kind)?;
            seg.evaluate(&base_profile(), &cx()).map(|o| o.is_member()).map_err(kind)
        }
        "as_of" => {
            let cx = EvalContext::parse(&text(&case["text"])).map_err(kind)?;
            evaluate(definition(&base["definition"], rule), base_profile(), cx)
        }
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
        let ok = match (&case["expect"], &got) {
            (Value::String(k), Err(g)) => k == g,
            (Value::Object(m), Ok(member)) => m["member"].as_bool() == Some(*member),
            _ => false,
        };
        if !ok {
            failures.push(json!({"name": name, "expected": case["expect"], "got": format!("{got:?}")}));
        }
        assert!(sanity(&doc), "sanity evaluation failed after {name}");
    }
    let report = json!({"runtime": "rust", "passed": total - failures.len(), "total": total, "failures": failures});
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
