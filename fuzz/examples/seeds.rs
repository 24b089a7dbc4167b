//! Seed corpora from the conformance suite: `cargo run --example seeds -- <repo root> <corpus dir>`
//! writes `<corpus dir>/<target>/<hash>` for every target (scripts/fuzz.sh runs it). Corpora are
//! not committed: they are regenerated from the suite, which grows with the language.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value as J;

use segcore_fuzz::{fixtures, tape_writer};

#[derive(Default)]
struct Seeds {
    rule: BTreeSet<Vec<u8>>,
    definition: BTreeSet<Vec<u8>>,
    profile_json: BTreeSet<Vec<u8>>,
    tape: BTreeSet<Vec<u8>>,
    context: BTreeSet<Vec<u8>>,
    table: BTreeSet<Vec<u8>>,
    reconcile: BTreeSet<Vec<u8>>,
    import: BTreeSet<Vec<u8>>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, root, out] = args.as_slice() else {
        eprintln!("usage: seeds <repo root> <corpus dir>");
        std::process::exit(2);
    };
    let root = Path::new(root);
    let out = Path::new(out);
    let mut s = Seeds::default();

    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests/conformance"))
        .expect("tests/conformance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in &files {
        let v: J = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for case in v["cases"].as_array().into_iter().flatten() {
            add_case(&mut s, case);
        }
    }
    // The CLI's bundled demo definitions: real YAML files, comments and block scalars included.
    let demo = root.join("cli/src/demo");
    if let Ok(dir) = std::fs::read_dir(&demo) {
        for e in dir.flatten() {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                s.definition.insert(std::fs::read(e.path()).unwrap());
            }
        }
    }
    // The fixtures themselves.
    for (_, _, _, rule) in fixtures::SEGMENTS {
        s.rule.insert(rule.as_bytes().to_vec());
    }
    for (_, rule) in fixtures::CONTEXT_RULES {
        s.rule.insert(rule.as_bytes().to_vec());
    }
    for p in fixtures::PROFILES {
        add_profile(&mut s, &serde_json::from_str(p).unwrap());
    }
    for c in [fixtures::AS_OF, fixtures::FX, fixtures::SCHEMA, r#"{"vip": true, "churned": false}"#] {
        s.context.insert(c.as_bytes().to_vec());
    }
    for t in [
        "2026-03-15T12:00:00.123456789+05:30",
        "-009999-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59",
        "2024-02-29T24:00:00Z",
        "1970-01-01 00:00:00z",
    ] {
        s.context.insert(t.as_bytes().to_vec());
    }
    s.context.insert(
        b"attributes:\n  age: int\n  tags: list<string>\nevents:\n  purchase:\n    amount: money\n  login:\n".to_vec(),
    );

    // SPEC §24–25: sketches (mode 0), set pairs (1), id exports (2), identity maps (3).
    let key = segcore::reconcile::Key::default();
    for (ids, m) in [(vec!["u1", "u2"], 4usize), (vec![], 1), (vec!["a", "b", "c", "d"], 12)] {
        let mut seed = vec![0u8];
        seed.extend(segcore::reconcile::Sketch::new(&key, &ids, m).unwrap().to_bytes());
        s.reconcile.insert(seed);
    }
    for text in ["u1,u2,u3|u2,u3,u4", "a|b", ",,|x,y,z"] {
        s.reconcile.insert([&[1u8][..], text.as_bytes()].concat());
    }
    for text in ["\u{feff}id\r\nu1\r\n\r\nu1\r\n", "\"u1\"\n42\n{\"id\": \" u2\"}\n", "cafe\u{301}\nu1\n"] {
        s.reconcile.insert([&[2u8][..], text.as_bytes()].concat());
    }
    for text in ["a,b\nu1,d1\nu2,d1\n", "{\"a\": \"u1\", \"b\": \"e1\"}\n[\"e1\", \"u1\"]\n"] {
        s.reconcile.insert([&[3u8][..], text.as_bytes()].concat());
    }
    for (name, set) in [
        ("reconcile", &s.reconcile),
        ("import", &s.import),
        ("rule", &s.rule),
        ("definition", &s.definition),
        ("profile_json", &s.profile_json),
        ("tape", &s.tape),
        ("context", &s.context),
        ("table", &s.table),
    ] {
        let dir = out.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for seed in set {
            std::fs::write(dir.join(format!("seed-{:016x}", fnv(seed))), seed).unwrap();
        }
        println!("{name}: {} seeds", set.len());
    }
}

fn add_case(s: &mut Seeds, case: &J) {
    // SPEC §29 cases: their source rules seed the `import` target.
    if case["query"] == "import" {
        let prefix: &[u8] = match case["from"].as_str() {
            Some("growthbook") => b"gb:",
            Some("unleash") => b"un:",
            _ => b"",
        };
        let text = match case["source_text"].as_str() {
            Some(t) => t.to_string(),
            None => case["source"].to_string(),
        };
        s.import.insert([prefix, text.as_bytes()].concat());
        return;
    }
    if let Some(rule) = case["rule"].as_str() {
        s.rule.insert(rule.as_bytes().to_vec());
        // Rules with their own zone or currency also make a definition document.
        if case.get("timezone").is_some() || case.get("currency").is_some() {
            let mut d = serde_json::json!({"id": "case", "version": "1.0.0", "rule": rule});
            for k in ["timezone", "currency"] {
                if let Some(v) = case.get(k) {
                    d[k] = v.clone();
                }
            }
            add_definitions(s, &[d]);
        }
    }
    if let Some(d) = case.get("definition") {
        add_definitions(s, std::slice::from_ref(d));
    }
    if let Some(ds) = case["definitions"].as_array() {
        add_definitions(s, ds);
    }
    if let Some(p) = case.get("profile") {
        add_profile(s, p);
    }
    if let Some(t) = case["as_of"].as_str() {
        s.context.insert(t.as_bytes().to_vec());
    }
    for k in ["fx", "segments", "schema"] {
        if let Some(v) = case.get(k) {
            s.context.insert(serde_json::to_vec(v).unwrap());
            if k == "schema" {
                s.context.insert(yaml(v, 0).into_bytes());
            }
        }
    }
}

fn add_definitions(s: &mut Seeds, defs: &[J]) {
    for d in defs {
        if let Some(r) = d["rule"].as_str() {
            s.rule.insert(r.as_bytes().to_vec());
        }
        s.definition.insert(serde_json::to_vec_pretty(d).unwrap());
    }
    let docs: Vec<String> = defs.iter().map(|d| yaml(d, 0)).collect();
    s.definition.insert(docs.join("\n---\n").into_bytes());
}

fn add_profile(s: &mut Seeds, p: &J) {
    s.profile_json.insert(serde_json::to_vec(p).unwrap());
    s.table.insert(table_seed(p));
    let spec = fixtures::projection();
    for dates in [false, true] {
        s.tape.insert(tape_writer::whole(p, dates));
        if let Some(t) = tape_writer::projected(p, spec, dates) {
            s.tape.insert(t);
        }
    }
}

/// A small YAML emitter: block mappings, flow sequences, strings JSON-quoted (a JSON string is a
/// YAML double-quoted scalar) except a multi-line `rule`, written as a `|` block scalar.
fn yaml(v: &J, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let Some(map) = v.as_object() else {
        return v.to_string();
    };
    for (k, val) in map {
        match val {
            J::Object(m) if m.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
            J::Object(_) => out.push_str(&format!("{pad}{k}:\n{}", yaml(val, indent + 2))),
            J::String(r) if k == "rule" && r.contains('\n') && !r.contains('\r') && !r.starts_with([' ', '\t']) => {
                out.push_str(&format!("{pad}{k}: |\n"));
                for line in r.lines() {
                    out.push_str(&format!("{pad}  {line}\n"));
                }
            }
            _ => out.push_str(&format!("{pad}{k}: {val}\n")),
        }
    }
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// A `table` seed: JSONL (first byte 1) with the profile's events moved to the events table, or
/// CSV (first byte 0) of its scalar attributes when it has no events.
fn table_seed(p: &J) -> Vec<u8> {
    let id = p.get("id").cloned().unwrap_or(J::String("u1".into()));
    let events = p.get("events").and_then(J::as_array).cloned().unwrap_or_default();
    let attrs = p.get("attributes").and_then(J::as_object).cloned().unwrap_or_default();
    let scalar = attrs.values().all(|v| v.is_number() || v.is_string() || v.is_boolean());
    if events.is_empty() && scalar && id.is_string() {
        let mut out = vec![0u8];
        let names: Vec<&String> = attrs.keys().collect();
        let header = std::iter::once("id".to_string()).chain(names.iter().map(|n| n.to_string())).collect::<Vec<_>>();
        out.extend(header.join(",").as_bytes());
        out.push(b'\n');
        let cell = |v: &J| match v {
            J::String(s) => format!("\"{}\"", s.replace('"', "\"\"")),
            other => other.to_string(),
        };
        let row = std::iter::once(cell(&id)).chain(names.iter().map(|n| cell(&attrs[*n]))).collect::<Vec<_>>();
        out.extend(row.join(",").as_bytes());
        out.push(b'\n');
        return out;
    }
    let mut profile = p.clone();
    if let Some(o) = profile.as_object_mut() {
        o.remove("events");
    }
    let mut out = vec![1u8];
    out.extend(serde_json::to_vec(&profile).unwrap());
    out.push(b'\n');
    out.push(0);
    for e in events {
        let mut e = e.clone();
        if let Some(o) = e.as_object_mut() {
            o.insert("entity_id".into(), id.clone());
        }
        out.extend(serde_json::to_vec(&e).unwrap());
        out.push(b'\n');
    }
    out
}
