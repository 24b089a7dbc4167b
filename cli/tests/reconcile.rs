//! `segcore fingerprint`, `sketch`, `reconcile` and `sql --fingerprint` (SPEC §24). Expected
//! fingerprints are the hashlib-derived values of the conformance suite; expected differences are
//! the planted ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_segcore");
/// The fingerprint of {"u1"} under the default key (tests/conformance/reconcile.json, derived by
/// tests/conformance/derive/reconcile.py from SPEC §24 with hashlib).
const FP_U1: &str = "sfp1:14de38cf:1:1761758575:612197395:1972634671:2703318733";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-reconcile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("segcore runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn fingerprint_of_every_format_is_the_spec_value() {
    let d = tmp("formats");
    std::fs::write(d.join("a.txt"), "u1\n").unwrap();
    std::fs::write(d.join("b.csv"), "\u{feff}id\r\nu1\r\n").unwrap();
    std::fs::write(d.join("c.jsonl"), "{\"id\": \"u1\"}\n\n").unwrap();
    std::fs::write(d.join("d.csv"), "email,user\nx@y,u1\n").unwrap();
    for (file, extra) in [("a.txt", None), ("b.csv", None), ("c.jsonl", None), ("d.csv", Some("user"))] {
        let mut args = vec!["fingerprint", file];
        if let Some(c) = extra {
            args.extend(["--column", c]);
        }
        let o = run(&args, &d);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{file}: {err}");
        assert_eq!(out.trim(), FP_U1, "{file}");
        if file == "b.csv" {
            assert!(err.contains("byte-order mark"), "{err}");
        }
        if file == "c.jsonl" {
            assert!(err.contains("1 blank line(s) skipped (line 2)"), "{err}");
        }
    }
    // Parquet: strings, integers (their decimal text) and dictionary-encoded strings.
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Int64Array, RecordBatch, StringArray};
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from(vec!["u1", "42"]))),
        ("num", Arc::new(Int64Array::from(vec![42, 1]))),
        ("dict", Arc::new(vec!["u1", "42"].into_iter().collect::<DictionaryArray<Int32Type>>())),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let file = std::fs::File::create(d.join("m.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let mut seen = Vec::new();
    for col in ["id", "num", "dict"] {
        let o = run(&["fingerprint", "m.parquet", "--column", col], &d);
        assert!(o.status.success(), "{}", text(&o).1);
        seen.push(text(&o).0);
    }
    assert_eq!(seen[0], seen[2], "dictionary strings read as their values");
    std::fs::write(d.join("same.txt"), "42\n1\n").unwrap();
    assert_eq!(seen[1], text(&run(&["fingerprint", "same.txt"], &d)).0, "integers are their decimal text");
    let o = run(&["fingerprint", "m.parquet", "--column", "nope"], &d);
    assert!(!o.status.success() && text(&o).1.contains("no column \"nope\""), "{}", text(&o).1);
}

#[test]
fn reconcile_lists_exactly_the_planted_differences_by_ids_and_by_sketch() {
    let d = tmp("planted");
    let common: Vec<String> = (0..5000).map(|i| format!("user-{i}")).collect();
    let a: Vec<String> = common.iter().cloned().chain((0..37).map(|i| format!("crm-only-{i}"))).collect();
    let b: Vec<String> = common.iter().skip(11).cloned().chain((0..5).map(|i| format!("wh-only-{i}"))).collect();
    std::fs::write(d.join("a.txt"), a.join("\n") + "\n").unwrap();
    std::fs::write(d.join("b.txt"), b.join("\n") + "\n").unwrap();
    let mut want_a: Vec<String> =
        (0..37).map(|i| format!("crm-only-{i}")).chain((0..11).map(|i| format!("user-{i}"))).collect();
    want_a.sort();
    let mut want_b: Vec<String> = (0..5).map(|i| format!("wh-only-{i}")).collect();
    want_b.sort();
    let json = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", text(o).1);
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let ids = |j: &serde_json::Value, side: &str| -> Vec<String> {
        j["differences"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["side"] == side)
            .map(|d| d["raw"].as_str().unwrap().to_string())
            .collect()
    };
    let j = json(&run(&["reconcile", "a.txt", "b.txt", "--json"], &d));
    assert_eq!(ids(&j, "a"), want_a);
    assert_eq!(ids(&j, "b"), want_b);
    assert_eq!(j["both"], 4989);
    assert_eq!(j["differing"], 53);
    assert_eq!(j["compared_by"], "ids");
    // The warehouse sends a sketch; the CRM side resolves its own ids, the other side's come as
    // symbols, one per planted id.
    let o = run(&["sketch", "b.txt", "--out", "b.sketch", "--differences", "100"], &d);
    assert!(o.status.success(), "{}", text(&o).1);
    let size = std::fs::metadata(d.join("b.sketch")).unwrap().len();
    assert!(size < 4000, "a 100-difference sketch is {size} bytes");
    let j = json(&run(&["reconcile", "a.txt", "b.sketch", "--json"], &d));
    assert_eq!(ids(&j, "a"), want_a);
    assert_eq!(ids(&j, "b").len(), 5);
    assert!(ids(&j, "b").iter().all(|s| s.starts_with('#') && s.len() == 17));
    assert_eq!(j["compared_by"], "sketch");
    // Too small a sketch: an error that says so, never a partial list.
    run(&["sketch", "b.txt", "--out", "tiny.sketch", "--symbols", "8"], &d);
    let o = run(&["reconcile", "a.txt", "tiny.sketch"], &d);
    let (out, err) = text(&o);
    assert!(!o.status.success() && out.is_empty(), "{out}");
    assert!(err.contains("error[sketch_undecodable]") && err.contains("exchange sketches of"), "{err}");
    // --max-diff: 53 differ of a union of 5042.
    assert!(run(&["reconcile", "a.txt", "b.txt", "--max-diff", "53"], &d).status.success());
    let o = run(&["reconcile", "a.txt", "b.txt", "--max-diff", "1%"], &d);
    assert!(!o.status.success());
    assert!(text(&o).0.contains("FAILED") && text(&o).1.contains("more than --max-diff allows (50)"), "{:?}", text(&o));
    assert!(run(&["reconcile", "a.txt", "b.txt", "--max-diff", "2%"], &d).status.success());
    // --html with id lists and no setting: a page, every difference unexplained (nothing to
    // evaluate); with a sketch side: refused, saying why.
    let o = run(&["reconcile", "a.txt", "b.txt", "--html", "plain.html", "--json"], &d);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["causes"]["unexplained"], 53, "{j}");
    assert!(std::fs::read_to_string(d.join("plain.html")).unwrap().contains("crm-only-0"));
    let o = run(&["reconcile", "a.txt", "b.sketch", "--html", "x.html"], &d);
    assert!(!o.status.success() && text(&o).1.contains("b.sketch is a sketch"), "{}", text(&o).1);
    let o = run(&["reconcile", "a.txt", "b.txt", "--max-diff", "lots"], &d);
    assert!(text(&o).1.contains("--max-diff \"lots\""), "{}", text(&o).1);
}

#[test]
fn hostile_exports_and_sketches_are_reported_or_refused() {
    let d = tmp("hostile");
    std::fs::write(d.join("a.jsonl"), "\"u1\"\n42\n\"42\"\n\"  u2\"\n\"cafe\u{301}\"\n").unwrap();
    let o = run(&["fingerprint", "a.jsonl"], &d);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for want in [
        "duplicate id(s)",
        "\"42\" at lines 2 and 3",
        "1 integer and 4 string ids",
        "white space",
        "not in Unicode NFC",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let plain = out.clone();
    let o = run(&["fingerprint", "a.jsonl", "--trim", "--nfc"], &d);
    assert_ne!(text(&o).0, plain, "--trim/--nfc change ids, so the fingerprint");
    std::fs::write(d.join("n.txt"), "u2\ncaf\u{e9}\nu1\n42\n").unwrap();
    assert_eq!(text(&o).0, text(&run(&["fingerprint", "n.txt"], &d)).0);
    for (file, body, want) in [
        ("null.jsonl", "\"u1\"\nnull\n", "null.jsonl:2: the id is null"),
        ("bad.txt", "u1\n\u{0}\n\u{ff}\n", ""),
        ("nohead.csv", "", "has no header row"),
    ] {
        std::fs::write(d.join(file), body).unwrap();
        let o = run(&["fingerprint", file], &d);
        if want.is_empty() {
            assert!(o.status.success());
        } else {
            assert!(!o.status.success() && text(&o).1.contains(want), "{file}: {}", text(&o).1);
            assert!(text(&o).1.contains("error[invalid_ids]"), "{}", text(&o).1);
        }
    }
    std::fs::write(d.join("latin1.txt"), b"u1\n\xe9t\xe9\n").unwrap();
    let o = run(&["fingerprint", "latin1.txt"], &d);
    assert!(text(&o).1.contains("latin1.txt:2: the line is not UTF-8"), "{}", text(&o).1);
    // Sketches: another key, truncated, damaged.
    std::fs::write(d.join("ids.txt"), "u1\nu2\n").unwrap();
    run(&["sketch", "ids.txt", "--out", "k1.sketch"], &d);
    run(&["sketch", "ids.txt", "--out", "k2.sketch", "--key", "crm"], &d);
    let o = run(&["reconcile", "k1.sketch", "k2.sketch"], &d);
    assert!(text(&o).1.contains("error[key_mismatch]"), "{}", text(&o).1);
    let bytes = std::fs::read(d.join("k1.sketch")).unwrap();
    std::fs::write(d.join("cut.sketch"), &bytes[..bytes.len() - 30]).unwrap();
    let o = run(&["reconcile", "ids.txt", "cut.sketch"], &d);
    assert!(text(&o).1.contains("error[sketch_invalid]") && text(&o).1.contains("truncated"), "{}", text(&o).1);
    let mut bad = bytes.clone();
    bad[100] ^= 1;
    std::fs::write(d.join("bad.sketch"), &bad).unwrap();
    let o = run(&["reconcile", "ids.txt", "bad.sketch"], &d);
    assert!(text(&o).1.contains("checksum"), "{}", text(&o).1);
    let o = run(&["fingerprint", "ids.txt", "--key", "no:colons"], &d);
    assert!(text(&o).1.contains("error[invalid_key]"), "{}", text(&o).1);
    let o = run(&["sketch", "ids.txt", "--out", "ids.txt"], &d);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(d.join("ids.txt")).unwrap(), "u1\nu2\n", "an input is never overwritten");
}

#[test]
fn sql_fingerprint_wraps_the_membership_query() {
    let d = tmp("sql");
    let (segments, schema) = (d.join("segments"), d.join("schema.yaml"));
    std::fs::create_dir_all(&segments).unwrap();
    std::fs::write(segments.join("adults.yaml"), "id: adults\nversion: 1.0.0\nrule: age >= 18\n").unwrap();
    std::fs::write(&schema, "attributes:\n  age: int\nevents: {}\n").unwrap();
    for dialect in ["duckdb", "postgres", "spark", "bigquery", "snowflake"] {
        let o = run(
            &[
                "sql",
                "--dialect",
                dialect,
                "--segments",
                segments.to_str().unwrap(),
                "--schema",
                schema.to_str().unwrap(),
                "--as-of",
                "2026-03-15T00:00:00Z",
                "--fingerprint",
            ],
            &d,
        );
        let (out, err) = text(&o);
        assert!(o.status.success(), "{dialect}: {err}");
        assert!(out.starts_with("SELECT segment_id, CONCAT('sfp1:14de38cf:'"), "{dialect}: {}", &out[..200]);
        assert!(out.contains("GROUP BY segment_id"), "{dialect}");
    }
}

#[test]
fn reconcile_gives_each_difference_its_cause_with_explanations() {
    let d = tmp("why");
    std::fs::create_dir_all(d.join("segs")).unwrap();
    std::fs::write(d.join("segs/hv90.yaml"), "id: hv90\nversion: 1.0.0\nrule: sum(purchase.amount within 90d) > 500\n")
        .unwrap();
    std::fs::write(d.join("segs/hv60.yaml"), "id: hv60\nversion: 1.0.0\nrule: sum(purchase.amount within 60d) > 500\n")
        .unwrap();
    let p = |id: &str, at: Option<&str>, amount: u32| {
        match at {
        Some(at) => format!(
            "{{\"id\": \"{id}\", \"events\": [{{\"name\": \"purchase\", \"at\": \"{at}\", \"properties\": {{\"amount\": {amount}}}}}]}}\n"
        ),
        None => format!("{{\"id\": \"{id}\"}}\n"),
    }
    };
    // user:1 spent 73 days before (90d only: definition); user:3 60 days minus 21 hours before
    // A's as_of, out of 60 days by B's (time); user:4's purchase is missing from B's data (data);
    // user:2 is in both, B keyed by email (identity); user:5 is in B's export for no reason.
    let a_data = [
        p("user:1", Some("2026-01-01T00:00:00Z"), 600),
        p("user:2", Some("2026-03-05T00:00:00Z"), 900),
        p("user:3", Some("2026-01-14T03:00:00Z"), 600),
        p("user:4", Some("2026-03-01T00:00:00Z"), 900),
        p("user:5", None, 0),
    ]
    .concat();
    let b_data = a_data.replace(&p("user:4", Some("2026-03-01T00:00:00Z"), 900), &p("user:4", None, 0));
    std::fs::write(d.join("a.jsonl"), a_data).unwrap();
    std::fs::write(d.join("b.jsonl"), b_data).unwrap();
    std::fs::write(d.join("a.csv"), "id\nuser:1\nuser:2\nuser:3\nuser:4\n").unwrap();
    std::fs::write(d.join("b.csv"), "id\nemail:b@x\nuser:5\n").unwrap();
    std::fs::write(d.join("map.csv"), "a,b\nuser:2,email:b@x\n").unwrap();
    let args = [
        "reconcile",
        "a.csv",
        "b.csv",
        "--segments",
        "segs",
        "--segment",
        "hv90",
        "--segment-b",
        "hv60",
        "--as-of",
        "2026-03-15T00:00:00Z",
        "--as-of-b",
        "2026-03-15T07:00:00Z",
        "--profiles",
        "a.jsonl",
        "--profiles-b",
        "b.jsonl",
        "--identity",
        "map.csv",
        "--prefer",
        "user:",
        "--html",
        "r.html",
        "--json",
    ];
    let o = run(&args, &d);
    assert!(o.status.success(), "{}", text(&o).1);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cause_of: std::collections::BTreeMap<String, String> = j["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["raw"].as_str().unwrap().to_string(), x["cause"].as_str().unwrap().to_string()))
        .collect();
    let want: std::collections::BTreeMap<String, String> = [
        ("user:1", "definition"),
        ("user:2", "identity"),
        ("email:b@x", "identity"),
        ("user:3", "time"),
        ("user:4", "data"),
        ("user:5", "unexplained"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(cause_of, want);
    assert_eq!(j["both"], 1);
    assert_eq!(j["differing"], 4, "identity-explained ids are not differences");
    let time = j["differences"].as_array().unwrap().iter().find(|x| x["raw"] == "user:3").unwrap();
    assert_eq!(time["change"]["cause"], "window");
    assert_eq!(time["change"]["transition"], "exited");
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg id=\"causes\""), "{}", &html[..200]);
    assert!(html.contains("user:4") && html.contains("B&#39;s data") || html.contains("B's data"));
    // --max-diff counts what still differs after the identity map: 4 of a union of 5.
    let mut strict = args.to_vec();
    strict.truncate(strict.len() - 1);
    strict.extend(["--max-diff", "3"]);
    let o = run(&strict, &d);
    assert!(!o.status.success() && text(&o).1.contains("more than --max-diff allows (3)"), "{}", text(&o).1);
    // A side computed from its setting (`-`): A's members are hv90 over A's data.
    let o = run(
        &[
            "reconcile",
            "-",
            "a.csv",
            "--segments",
            "segs",
            "--segment",
            "hv90",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--profiles",
            "a.jsonl",
            "--json",
        ],
        &d,
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o).1));
    assert_eq!(j["differing"], 0, "{j}");
    // A conflicting identity map, strict: refused naming the identifiers.
    std::fs::write(d.join("bad.csv"), "a,b\nuser:1,dev:x\nuser:2,dev:x\n").unwrap();
    let o =
        run(&["reconcile", "a.csv", "b.csv", "--identity", "bad.csv", "--unique", "user:", "--strict-identity"], &d);
    assert!(text(&o).1.contains("error[invalid_identity]") && text(&o).1.contains("user:1, user:2"), "{}", text(&o).1);
    // audit: the two definitions side by side, and their overlap on A's data at A's as_of —
    // hv90 holds users 1–4, hv60 users 2–4 (user:1's purchase is 73 days old).
    let o = run(
        &[
            "audit",
            "segs/hv90.yaml",
            "segs/hv60.yaml",
            "--profiles",
            "a.jsonl",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--json",
        ],
        &d,
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o).1));
    let differing: Vec<&str> = j["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["same"] == false)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(differing, ["rule", "id", "definition_hash"]);
    assert_eq!(j["members"], serde_json::json!([4, 3]));
    assert_eq!(j["overlap"][0]["both"], 3);
    assert_eq!(j["overlap"][0]["jaccard"], 0.75);
    let o = run(&["audit", "segs/hv90.yaml"], &d);
    assert!(!o.status.success());
    // eval --identity: user:1's purchases under two identifiers add up to one member.
    std::fs::write(
        d.join("split.jsonl"),
        [
            p("user:1", Some("2026-03-01T00:00:00Z"), 300),
            p("email:a@x", Some("2026-03-02T00:00:00Z"), 300),
            p("user:2", Some("2026-03-01T00:00:00Z"), 300),
        ]
        .concat(),
    )
    .unwrap();
    std::fs::write(d.join("im.csv"), "a,b\nuser:1,email:a@x\n").unwrap();
    let eval = |extra: &[&str]| -> Vec<(String, bool)> {
        let mut args = vec![
            "eval",
            "--segments",
            "segs",
            "--profiles",
            "split.jsonl",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--out",
            "m.jsonl",
        ];
        args.extend(extra);
        let o = run(&args, &d);
        assert!(o.status.success(), "{}", text(&o).1);
        std::fs::read_to_string(d.join("m.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["segment_id"] == "hv90")
            .map(|v| (v["entity_id"].as_str().unwrap().to_string(), v["member"].as_bool().unwrap()))
            .collect()
    };
    assert_eq!(eval(&[]), [("user:1".into(), false), ("email:a@x".into(), false), ("user:2".into(), false)]);
    assert_eq!(
        eval(&["--identity", "im.csv", "--prefer", "user:"]),
        [("user:1".into(), true), ("user:2".into(), false)]
    );
    // The same map as a Parquet table (a warehouse's identity graph).
    {
        use arrow_array::{ArrayRef, RecordBatch, StringArray};
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("user_id", std::sync::Arc::new(StringArray::from(vec!["user:1"]))),
            ("email", std::sync::Arc::new(StringArray::from(vec!["email:a@x"]))),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let file = std::fs::File::create(d.join("im.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    assert_eq!(
        eval(&["--identity", "im.parquet", "--prefer", "user:"]),
        [("user:1".into(), true), ("user:2".into(), false)]
    );
    // Parquet profiles and events with --identity: merged on the row path, the same answer.
    {
        use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
        let write = |name: &str, cols: Vec<(&str, ArrayRef)>| {
            let batch = RecordBatch::try_from_iter(cols).unwrap();
            let file = std::fs::File::create(d.join(name)).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
        };
        write(
            "sp.parquet",
            vec![("id", std::sync::Arc::new(StringArray::from(vec!["user:1", "email:a@x", "user:2"])))],
        );
        let at = |s: &str| segcore::parse_as_of(s).unwrap();
        let times = vec![at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"), at("2026-03-01T00:00:00Z")];
        write(
            "se.parquet",
            vec![
                ("entity_id", std::sync::Arc::new(StringArray::from(vec!["user:1", "email:a@x", "user:2"]))),
                ("name", std::sync::Arc::new(StringArray::from(vec!["purchase"; 3]))),
                ("at", std::sync::Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC"))),
                ("amount", std::sync::Arc::new(Int64Array::from(vec![300, 300, 300]))),
            ],
        );
        let mut args = vec!["eval", "--segments", "segs", "--profiles", "sp.parquet", "--events", "se.parquet"];
        args.extend([
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--out",
            "mp.jsonl",
            "--identity",
            "im.csv",
            "--prefer",
            "user:",
        ]);
        let o = run(&args, &d);
        assert!(o.status.success(), "{}", text(&o).1);
        let members: Vec<(String, bool)> = std::fs::read_to_string(d.join("mp.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["segment_id"] == "hv90")
            .map(|v| (v["entity_id"].as_str().unwrap().to_string(), v["member"].as_bool().unwrap()))
            .collect();
        assert_eq!(members, [("user:1".to_string(), true), ("user:2".to_string(), false)]);
    }
    std::fs::write(d.join("broken.csv"), "a,b\nuser:1\n").unwrap();
    let o = run(&["reconcile", "a.csv", "b.csv", "--identity", "broken.csv"], &d);
    assert!(text(&o).1.contains("broken.csv:2"), "{}", text(&o).1);
}
