//! The columnar engine against the interpreter, on the conformance suite as Arrow tables:
//! - every evaluation case as a batch of one must give the case's expected outcome or error kind
//!   (this writes `target/conformance/rust-columnar.json`, the matrix's "Rust columnar" row);
//! - every case's program over a table of *all* its suite's profiles (the case's own among
//!   unrelated rows) must give, cell by cell, what the batch driver gives over the same profiles
//!   read from JSON: outcome, failure and error kind, with and without `keep_going`.
//!
//! A case whose profile has no exact Arrow form (a list of mixed items, say) cannot be a frame:
//! it is counted and listed as such, never as a pass.

#[path = "../../tests/arrow_json.rs"]
mod arrow_json;

use std::path::Path;

use segcore::batch::{self, BatchOptions, Memberships};
use segcore::ingest::Columns;
use segcore::{columnar, Definition, EvalContext, FxRates, Profile, Program, Registry, Schema, Segment};
use serde_json::Value as J;

struct Case {
    suite: String,
    id: String,
    program: Program,
    target: usize,
    profile: J,
    cx: EvalContext,
    /// `Ok(outcome)` or `Err(error kind)`.
    expect: Result<String, String>,
}

/// The suite's evaluation cases that compile (compile-phase, format and canonical cases are not
/// about evaluation).
fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let doc: J = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let suite = doc["suite"].as_str().unwrap_or("?").to_string();
        for c in doc["cases"].as_array().into_iter().flatten() {
            if c.get("query").is_some() {
                continue; // membership over time (SPEC §22) is the interpreter's search, not a batch
            }
            let e = &c["expect"];
            let expect = if let Some(o) = e.get("outcome").and_then(J::as_str) {
                Ok(o.to_string())
            } else if e.pointer("/error/phase").and_then(J::as_str) == Some("evaluate") {
                Err(e.pointer("/error/kind").and_then(J::as_str).unwrap_or("?").to_string())
            } else {
                continue;
            };
            let (Some(profile), Some(as_of)) = (c.get("profile"), c.get("as_of").and_then(J::as_str)) else { continue };
            let schema = c.get("schema").map(|s| Schema::from_json(s).unwrap());
            let (program, target) = if let Some(rule) = c.get("rule").and_then(J::as_str) {
                let mut d = Definition::new("case", "1.0.0", rule);
                if let Some(tz) = c.get("timezone").and_then(J::as_str) {
                    d.timezone = tz.into();
                }
                if let Some(cur) = c.get("currency").and_then(J::as_str) {
                    d.currency = cur.into();
                }
                let Ok(s) = Segment::compile(d, schema.as_ref()) else { continue };
                (s.program(), 0)
            } else if let Some(def) = c.get("definition") {
                let Ok(d) = Definition::from_json(def) else { continue };
                let Ok(s) = Segment::compile(d, schema.as_ref()) else { continue };
                (s.program(), 0)
            } else if let Some(defs) = c.get("definitions").and_then(J::as_array) {
                let Ok(defs) = defs.iter().map(Definition::from_json).collect::<Result<Vec<_>, _>>() else { continue };
                let Ok(reg) = Registry::from_definitions(defs, schema.as_ref()) else { continue };
                let program = reg.program().clone();
                let Some(t) = c.get("target").and_then(J::as_str).and_then(|t| program.position(t)) else { continue };
                (program, t)
            } else {
                continue;
            };
            let mut cx = EvalContext::parse(as_of).unwrap();
            if let Some(fx) = c.get("fx") {
                cx = cx.with_fx(FxRates::from_json(fx).unwrap());
            }
            for (k, v) in c.get("segments").and_then(J::as_object).into_iter().flatten() {
                cx = cx.with_segment(k.clone(), v.as_bool().unwrap());
            }
            let id = c["id"].as_str().unwrap_or("?").to_string();
            out.push(Case { suite: suite.clone(), id, program, target, profile: profile.clone(), cx, expect });
        }
    }
    out
}

fn keep_going() -> BatchOptions<'static> {
    BatchOptions { keep_going: true, ..Default::default() }
}

/// Segment `k` at `row`: `Ok(outcome)` or `Err(kind)` of a `keep_going` run.
fn cell(m: &Memberships, k: usize, row: usize) -> Result<String, String> {
    if m.failed(k, row) {
        let e = m.errors().iter().find(|e| e.row == row && e.segment == k).expect("a failed cell has its error");
        return Err(e.error.kind().as_str().to_string());
    }
    Ok(m.outcomes(k)[row].as_str().to_string())
}

#[test]
fn every_conformance_case_as_a_batch_of_one() {
    let cases = cases();
    let (mut passed, mut not_arrow, mut failures) = (0usize, Vec::new(), Vec::new());
    let mut columnar_runs = 0usize;
    let mut by_suite: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for c in &cases {
        // A profile the JSON reader refuses is no table (the Arrow reader has its own cases).
        let tables = Profile::from_json(&c.profile).ok().and_then(|_| arrow_json::tables(&[&c.profile]));
        let Some((p, e)) = tables else {
            not_arrow.push(c.id.clone());
            continue;
        };
        let got = columnar::evaluate(&c.program, &p, Some(&e), &Columns::default(), &c.cx, &keep_going())
            .map(|m| {
                if m.engine() == batch::Engine::Columnar {
                    columnar_runs += 1;
                }
                cell(&m, c.target, 0)
            })
            .unwrap_or_else(|e| Err(e.kind().as_str().to_string()));
        let entry = by_suite.entry(c.suite.clone()).or_default();
        entry.1 += 1;
        if got == c.expect {
            passed += 1;
            entry.0 += 1;
        } else {
            failures.push(format!("{}: expected {:?}, columnar gave {:?}", c.id, c.expect, got));
        }
    }
    let total = passed + failures.len();
    println!(
        "conformance (Rust columnar): {passed}/{total} passed ({columnar_runs} in the columnar engine, the rest declined \
         to the row path); {} cases have no exact Arrow form: {}",
        not_arrow.len(),
        not_arrow.join(", ")
    );
    for (suite, (p, t)) in &by_suite {
        println!("  {suite:<12} {p}/{t}");
    }
    let report = serde_json::json!({
        "runtime": "rust-columnar",
        "passed": passed,
        "total": total,
        "not_arrow": not_arrow,
        "columnar_runs": columnar_runs,
        "failures": failures,
        "suites": by_suite.iter().map(|(s, (p, t))| (s.clone(), serde_json::json!({"passed": p, "total": t}))).collect::<serde_json::Map<_, _>>(),
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("rust-columnar.json"), serde_json::to_string_pretty(&report).unwrap());
    // The row path is the engine's escape hatch, not its main road: nearly every case must run
    // in the columnar engine itself.
    assert!(columnar_runs * 20 >= total * 19, "only {columnar_runs} of {total} cases ran columnar");
    assert!(failures.is_empty(), "{} cases differ:\n{}", failures.len(), failures.join("\n"));
    // Most cases are plain frames; a suite that stopped being one is a regression of this test.
    assert!(not_arrow.len() * 10 < cases.len(), "{} of {} cases have no Arrow form", not_arrow.len(), cases.len());
}

#[test]
fn every_program_over_its_whole_suite_matches_the_batch_driver() {
    let cases = cases();
    let mut compared = 0usize;
    for suite in cases.iter().map(|c| c.suite.clone()).collect::<std::collections::BTreeSet<_>>() {
        let members: Vec<&Case> = cases.iter().filter(|c| c.suite == suite).collect();
        // Every readable profile of the suite, renamed so ids are unique in the table.
        let mut rows: Vec<J> = Vec::new();
        for (i, c) in members.iter().enumerate() {
            let mut p = c.profile.clone();
            if Profile::from_json(&p).is_err() || arrow_json::tables(&[&p]).is_none() {
                continue;
            }
            p["id"] = J::String(format!("row{i}"));
            rows.push(p);
        }
        let refs: Vec<&J> = rows.iter().collect();
        let Some((pb, eb)) = arrow_json::tables(&refs) else { panic!("suite {suite}: no Arrow form") };
        let profiles: Vec<Profile> = rows.iter().map(|p| Profile::from_json(p).unwrap()).collect();
        for c in &members {
            let cols = Columns::default();
            let want = batch::evaluate(&c.program, &profiles, &c.cx, &keep_going());
            let got = columnar::evaluate(&c.program, &pb, Some(&eb), &cols, &c.cx, &keep_going());
            let (want, got) = match (want, got) {
                (Ok(w), Ok(g)) => (w, g),
                (Err(w), Err(g)) => {
                    assert_eq!(w.kind(), g.kind(), "{}: errors differ: {w} / {g}", c.id);
                    continue;
                }
                (w, g) => panic!("{}: batch driver {:?}, columnar {:?}", c.id, w.err(), g.err()),
            };
            for k in 0..c.program.len() {
                for row in 0..profiles.len() {
                    assert_eq!(cell(&want, k, row), cell(&got, k, row), "{}: segment {k}, row {row}", c.id);
                    compared += 1;
                }
            }
            // Without keep_going: the same first error (kind and message), or the same table.
            let want = batch::evaluate(&c.program, &profiles, &c.cx, &BatchOptions::default());
            let got = columnar::evaluate(&c.program, &pb, Some(&eb), &cols, &c.cx, &BatchOptions::default());
            match (want, got) {
                (Ok(_), Ok(_)) => {}
                (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "{}", c.id),
                (w, g) => panic!("{}: batch driver {:?}, columnar {:?}", c.id, w.err(), g.err()),
            }
        }
    }
    println!("columnar vs batch driver: {compared} cells identical");
    assert!(compared > 100_000, "only {compared} cells compared");
}
