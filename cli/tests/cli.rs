//! End-to-end tests of the `segcore` binary: exit codes, messages, and atomic output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn segcore(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segcore")).args(args).current_dir(cwd).output().expect("segcore runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segcore-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn check_reports_every_error_with_file_line_and_column() {
    let dir = tmp("check");
    write(&dir, "segs/good.yaml", "id: good\nversion: 1.0.0\nrule: age >= 18\n");
    write(&dir, "segs/bad.yaml", "id: bad\nversion: 1.0.0\nrule: |\n  age >=\n");
    write(&dir, "segs/typo.yaml", "id: typo\nversion: 1.0.0\nrul: age > 1\n");
    let out = segcore(&["check", "segs"], &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("error[syntax_error] segs/bad.yaml:4:9: expected an expression, found end of rule"), "{t}");
    assert!(t.contains("error[unknown_definition_field]"), "{t}");
    assert!(t.contains("segs/typo.yaml"), "{t}");
    std::fs::remove_file(dir.join("segs/bad.yaml")).unwrap();
    std::fs::remove_file(dir.join("segs/typo.yaml")).unwrap();
    let out = segcore(&["check", "segs"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 definition(s)"));
}

#[test]
fn schema_drift_is_a_check_error() {
    let dir = tmp("schema");
    write(&dir, "segs/a.yaml", "id: a\nversion: 1.0.0\nrule: last_purchase_date within 30d\n");
    write(&dir, "schema.yaml", "attributes:\n  purchase_last_date: timestamp\n");
    let out = segcore(&["check", "segs", "--schema", "schema.yaml"], &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("unknown_field") && t.contains("last_purchase_date"), "{t}");
}

#[test]
fn eval_writes_rows_and_a_failure_leaves_no_output() {
    let dir = tmp("eval");
    write(&dir, "segs/hv.yaml", "id: hv\nversion: 1.0.0\nrule: sum(purchase.amount within 90d) > 500 USD\n");
    write(&dir, "profiles.jsonl", "{\"id\": \"a\", \"attributes\": {}}\n{\"id\": \"b\", \"attributes\": {}}\n");
    write(
        &dir,
        "events.csv",
        "entity_id,name,at,amount\na,purchase,2026-03-01T00:00:00Z,600 USD\nb,purchase,2026-03-01T00:00:00Z,100 USD\n",
    );
    let out = segcore(
        &[
            "eval",
            "--segments",
            "segs",
            "--profiles",
            "profiles.jsonl",
            "--events",
            "events.csv",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--out",
            "out.csv",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "entity_id,segment_id,version,definition_hash,as_of,member,outcome");
    assert!(lines[1].starts_with("a,hv,1.0.0,") && lines[1].ends_with(",2026-03-15T00:00:00Z,true,true"), "{csv}");
    assert!(lines[2].starts_with("b,hv,1.0.0,") && lines[2].ends_with(",false,false"), "{csv}");
    // EUR without a rate: an error naming the quote, and no output file at all.
    write(&dir, "events.csv", "entity_id,name,at,amount\na,purchase,2026-03-01T00:00:00Z,600 EUR\n");
    let out = segcore(
        &[
            "eval",
            "--segments",
            "segs",
            "--profiles",
            "profiles.jsonl",
            "--events",
            "events.csv",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--out",
            "out2.jsonl",
        ],
        &dir,
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("no FX rate EUR/USD"), "{t}");
    assert!(!dir.join("out2.jsonl").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".segcore-tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn bad_input_gets_a_one_line_error_naming_file_and_line() {
    let dir = tmp("badinput");
    write(&dir, "segs/a.yaml", "id: a\nversion: 1.0.0\nrule: age > 1\n");
    write(&dir, "p.jsonl", "{\"id\": \"a\"}\n{\"id\": \n");
    let out = segcore(
        &["eval", "--segments", "segs", "--profiles", "p.jsonl", "--as-of", "2026-03-15T00:00:00Z", "--out", "o.jsonl"],
        &dir,
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(t.contains("segcore: error[invalid_profile] p.jsonl:2: profile is not valid JSON"), "{t}");
    let out = segcore(
        &[
            "eval",
            "--segments",
            "segs",
            "--profiles",
            "missing.jsonl",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--out",
            "o.jsonl",
        ],
        &dir,
    );
    assert!(text(&out).contains("error[io] missing.jsonl: cannot open"), "{}", text(&out));
    let out = segcore(
        &["eval", "--segments", "segs", "--profiles", "p.jsonl", "--as-of", "2026-03-15", "--out", "o.jsonl"],
        &dir,
    );
    assert!(
        text(&out).contains(
            "error[invalid_context] --as-of: as_of \"2026-03-15\" must be an RFC 3339 timestamp with an offset"
        ),
        "{}",
        text(&out)
    );
    let out = segcore(&["eval", "--no-such-flag"], &dir);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fmt_is_canonical_and_idempotent_and_check_mode_changes_nothing() {
    let dir = tmp("fmt");
    let messy = "# Owned by growth.\nrule: \"(age>=18)   and country='x'\"\nid: a\nversion: 1.0.0\n";
    write(&dir, "a.yaml", &messy.replace('\'', "\\\""));
    let out = segcore(&["fmt", "--check", "a.yaml"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(dir.join("a.yaml")).unwrap(), messy.replace('\'', "\\\""));
    assert_eq!(segcore(&["fmt", "a.yaml"], &dir).status.code(), Some(0));
    let formatted = std::fs::read_to_string(dir.join("a.yaml")).unwrap();
    assert_eq!(
        formatted,
        "# Owned by growth.\nid: a\nversion: 1.0.0\nstatus: active\ntimezone: UTC\ncurrency: USD\nrule: |\n  age >= 18 and country = \"x\"\n"
    );
    assert_eq!(segcore(&["fmt", "--check", "a.yaml"], &dir).status.code(), Some(0));
    let out = segcore(&["fmt", "--rule", "not(a=1)"], &dir);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "not (a = 1)\n");
}

#[test]
fn hash_is_the_sha256_of_the_canonical_json() {
    let dir = tmp("hash");
    write(&dir, "a.yaml", "id: a\nversion: 1.0.0\nrule: x = 1\n");
    let canonical = segcore(&["hash", "--canonical", "a.yaml"], &dir);
    let json = String::from_utf8_lossy(&canonical.stdout).trim().to_string();
    assert_eq!(
        json,
        r#"{"id":"a","version":"1.0.0","name":"","description":"","owner":"","status":"active","effective_from":null,"effective_until":null,"timezone":"UTC","currency":"USD","tags":[],"rule":{"op":"=","args":[{"attr":["x"]},{"int":1}]}}"#
    );
    let hash = segcore(&["hash", "a.yaml"], &dir);
    let line = String::from_utf8_lossy(&hash.stdout).to_string();
    // SHA-256 of the string above, computed independently (sha256sum).
    assert!(line.starts_with("293a906f"), "{line}");
}

#[test]
fn demo_bundled_definitions_are_formatted_and_type_check() {
    let dir = tmp("demo");
    let out = segcore(&["demo", "--out", "d", "--profiles", "500", "--format", "jsonl"], &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("high_value") && t.contains("share"), "{t}");
    let rows = std::fs::read_to_string(dir.join("d/memberships.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 500 * 11);
    assert_eq!(segcore(&["check", "d/segments", "--schema", "d/schema.yaml"], &dir).status.code(), Some(0));
    assert_eq!(
        segcore(&["fmt", "--check", "d/segments"], &dir).status.code(),
        Some(0),
        "{}",
        text(&segcore(&["fmt", "--check", "d/segments"], &dir))
    );
}

/// The arguments that evaluate a demo folder `p/` (its segments, schema, as_of and FX table);
/// the FX table comes last.
const DEMO_EVAL: [&str; 8] =
    ["--segments", "p/segments", "--schema", "p/schema.yaml", "--as-of", "2026-03-15T12:00:00Z", "--fx", "p/fx.json"];

#[test]
fn demo_parquet_through_the_columnar_engine_gives_the_jsonl_answers_byte_for_byte() {
    let dir = tmp("demo-parquet");
    // The same generated data in both formats (one generator, two writers).
    let out = segcore(&["demo", "--out", "j", "--profiles", "3000", "--format", "jsonl"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = segcore(&["demo", "--out", "p", "--profiles", "3000"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.join("p/memberships.parquet").is_file() && dir.join("p/profiles.parquet").is_file());
    assert!(text(&out).contains("profiles.parquet"), "{}", text(&out));
    // Parquet in, JSONL out: exactly the row path's membership file.
    let common = DEMO_EVAL;
    let args = [
        &["eval"][..],
        &common,
        &["--profiles", "p/profiles.parquet", "--events", "p/events.parquet", "--out", "m.jsonl"],
    ]
    .concat();
    let out = segcore(&args, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let want = std::fs::read_to_string(dir.join("j/memberships.jsonl")).unwrap();
    let got = std::fs::read_to_string(dir.join("m.jsonl")).unwrap();
    assert_eq!(got.lines().count(), 3000 * 11);
    assert!(got == want, "Parquet input gave other memberships than JSONL input");
    // Evaluated 701 profiles at a time (5 chunks, the last one short): the same file.
    let chunked: Vec<&str> = args.iter().map(|a| if *a == "m.jsonl" { "c.jsonl" } else { a }).collect();
    let out = segcore(&[&chunked[..], &["--chunk-rows", "701"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(std::fs::read_to_string(dir.join("c.jsonl")).unwrap() == want, "chunks changed the memberships");
    // Failures in chunks: with an empty FX table (no quote the demo data needs), the errors
    // (rows numbered in the whole file), the rows written and the first error without
    // --keep-going are the same whole or in chunks.
    write(&dir, "fx-short.json", "{}");
    let failing = |extra: &[&str], out: &str| {
        let args = [
            &["eval"][..],
            &DEMO_EVAL[..6],
            &["--fx", "fx-short.json", "--profiles", "p/profiles.parquet", "--events", "p/events.parquet"],
            &["--out", out],
            extra,
        ]
        .concat();
        segcore(&args, &dir)
    };
    let whole = failing(&["--keep-going", "--errors", "e-whole.jsonl"], "k-whole.jsonl");
    let chunked = failing(&["--keep-going", "--errors", "e-chunks.jsonl", "--chunk-rows", "333"], "k-chunks.jsonl");
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole));
    let errors = std::fs::read_to_string(dir.join("e-whole.jsonl")).unwrap();
    assert!(errors.lines().count() > 10, "{errors}");
    assert!(errors.lines().any(|l| l.contains("fx_rate_missing")), "{errors}");
    assert_eq!(errors, std::fs::read_to_string(dir.join("e-chunks.jsonl")).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.join("k-whole.jsonl")).unwrap(),
        std::fs::read_to_string(dir.join("k-chunks.jsonl")).unwrap()
    );
    let errors_shown =
        |o: &Output| text(o).lines().filter(|l| l.contains("error[")).map(String::from).collect::<Vec<_>>();
    assert_eq!(errors_shown(&whole), errors_shown(&chunked));
    let whole = failing(&[], "f-whole.jsonl");
    let chunked = failing(&["--chunk-rows", "333"], "f-chunks.jsonl");
    assert_eq!(chunked.status.code(), Some(1));
    assert!(text(&whole).contains("error[fx_rate_missing]"), "{}", text(&whole));
    assert_eq!(errors_shown(&whole), errors_shown(&chunked));
    assert!(!dir.join("f-chunks.jsonl").exists() && !dir.join("f-whole.jsonl").exists());
    // One Parquet input and one JSONL input is refused, saying so.
    let args = [
        &["eval"][..],
        &common,
        &["--profiles", "p/profiles.parquet", "--events", "j/events.jsonl", "--out", "x.jsonl"],
    ]
    .concat();
    let out = segcore(&args, &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("must both be Parquet"), "{}", text(&out));
    // explain reads the Parquet tables too.
    let args = [
        &["explain"][..],
        &common,
        &[
            "--segment",
            "high_value",
            "--profiles",
            "p/profiles.parquet",
            "--events",
            "p/events.parquet",
            "--entity",
            "u000042",
        ],
    ]
    .concat();
    let out = segcore(&args, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let args = [
        &["explain"][..],
        &common,
        &[
            "--segment",
            "high_value",
            "--profiles",
            "j/profiles.jsonl",
            "--events",
            "j/events.jsonl",
            "--entity",
            "u000042",
        ],
    ]
    .concat();
    assert_eq!(text(&out), text(&segcore(&args, &dir)));
}

#[test]
fn hostile_parquet_inputs_are_clear_errors_not_crashes() {
    let dir = tmp("parquet-hostile");
    let out = segcore(&["demo", "--out", "p", "--profiles", "200"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let good = std::fs::read(dir.join("p/profiles.parquet")).unwrap();
    // Garbage, an empty file, and a real file cut in half.
    std::fs::write(dir.join("garbage.parquet"), b"PAR1 this is not a parquet file at all").unwrap();
    std::fs::write(dir.join("empty.parquet"), b"").unwrap();
    std::fs::write(dir.join("cut.parquet"), &good[..good.len() / 2]).unwrap();
    // Events whose `at` column is missing: the Arrow reader's message.
    std::fs::copy(dir.join("p/profiles.parquet"), dir.join("as_events.parquet")).unwrap();
    let common = DEMO_EVAL;
    for (profiles, events, says) in [
        ("garbage.parquet", "p/events.parquet", "garbage.parquet"),
        ("empty.parquet", "p/events.parquet", "empty.parquet"),
        ("cut.parquet", "p/events.parquet", "cut.parquet"),
        ("p/profiles.parquet", "as_events.parquet", "the events frame needs the columns"),
    ] {
        let args =
            [&["eval"][..], &common, &["--profiles", profiles, "--events", events, "--out", "m.parquet"]].concat();
        let out = segcore(&args, &dir);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{profiles}: {t}");
        assert!(t.contains(says), "{profiles}: {t}");
        assert!(!t.contains("panicked"), "{profiles}: {t}");
        assert!(!dir.join("m.parquet").exists(), "{profiles}: no output on failure");
    }
}

#[test]
fn sql_writes_a_query_and_refuses_what_a_dialect_cannot_express() {
    let dir = tmp("sql");
    write(&dir, "segs/adults.yaml", "id: adults\nversion: 1.0.0\nrule: age >= 18\n");
    write(
        &dir,
        "segs/us_adults.yaml",
        "id: us_adults\nversion: 2.0.0\nrule: in_segment(\"adults\") and country = \"US\"\n",
    );
    write(&dir, "schema.yaml", "attributes:\n  age: int\n  country: string\n  tags: list<string>\n");
    let args = ["sql", "--dialect", "postgres", "--segments", "segs", "--schema", "schema.yaml"];
    let out = segcore(&[&args[..], &["--as-of", "2026-03-15T00:00:00Z", "--ddl", "--out", "q.sql"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sql = std::fs::read_to_string(dir.join("q.sql")).unwrap();
    assert!(
        sql.starts_with("CREATE TABLE profiles (\n  \"id\" text,\n  \"age\" bigint,\n  \"country\" text\n);"),
        "{sql}"
    );
    // The referenced segment's CTE comes first and is joined by entity.
    let (adults, us) = (sql.find("\"seg_adults\" AS (").unwrap(), sql.find("\"seg_us_adults\" AS (").unwrap());
    assert!(adults < us, "{sql}");
    assert!(sql.contains("LEFT JOIN \"seg_adults\" AS \"ref_adults\""), "{sql}");
    assert!(sql.contains("TIMESTAMPTZ '2026-03-15 00:00:00+00' AS as_of"), "{sql}");
    assert!(sql.trim_end().ends_with(';'), "{sql}");

    write(&dir, "segs/tagged.yaml", "id: tagged\nversion: 1.0.0\nrule: |\n  age > 1 and tags[0] = \"x\"\n");
    let out = segcore(&[&args[..], &["--as-of", "2026-03-15T00:00:00Z"]].concat(), &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("error[sql_unsupported] segs/tagged.yaml:4:15: the nested path `tags[0]` cannot be expressed exactly in postgres SQL"),
        "{t}"
    );
    let out =
        segcore(&["sql", "--dialect", "oracle", "--segments", "segs", "--schema", "schema.yaml", "--as-of", "x"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn columns_named_otherwise_are_mapped_and_embedded_events_are_counted() {
    let dir = tmp("columns");
    write(&dir, "segs/buyer.yaml", "id: buyer\nversion: 1.0.0\nrule: count(purchase) >= 2\n");
    write(&dir, "profiles.csv", "user,age\na,30\nb,40\n");
    write(
        &dir,
        "events.csv",
        "user_id,event,ts\na,purchase,2026-03-01T00:00:00Z\na,purchase,2026-03-02T00:00:00Z\nb,purchase,2026-03-02T00:00:00Z\n",
    );
    let args = ["eval", "--segments", "segs", "--profiles", "profiles.csv", "--events", "events.csv"];
    let tail = ["--as-of", "2026-03-15T00:00:00Z", "--out", "out.csv"];
    // With the default names the events file is refused, naming the columns it has.
    let out = segcore(&[&args[..], &tail[..]].concat(), &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("error[invalid_profile] events.csv: an events CSV needs the columns entity_id, name, at (found: user_id, event, ts)"), "{t}");
    let mapping = ["--id-column", "user", "--entity-column", "user_id", "--name-column", "event", "--at-column", "ts"];
    let out = segcore(&[&args[..], &tail[..], &mapping[..]].concat(), &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("loaded 2 profiles and 3 events"), "{t}");
    let csv = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    assert!(
        csv.contains("\na,buyer,1.0.0,") && csv.contains(",true,true\nb,buyer,") && csv.ends_with(",false,false\n"),
        "{csv}"
    );
    // Events embedded in JSONL profile lines are counted as events.
    write(
        &dir,
        "profiles.jsonl",
        r#"{"id": "a", "events": [{"name": "purchase", "at": "2026-03-01T00:00:00Z"}, {"name": "purchase", "at": "2026-03-02T00:00:00Z"}]}"#,
    );
    let out = segcore(
        &["eval", "--segments", "segs", "--profiles", "profiles.jsonl", tail[0], tail[1], "--out", "out.jsonl"],
        &dir,
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("loaded 1 profiles and 2 events"), "{t}");
    let rows = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    assert!(rows.contains(r#""member":true,"outcome":"true"}"#), "{rows}");
}

#[test]
fn fmt_check_says_whether_the_rule_or_only_the_metadata_layout_differs() {
    let dir = tmp("fmtcheck");
    write(&dir, "a.yaml", "version: 1.0.0\nid: a\nrule: age >= 18\n");
    write(&dir, "b.yaml", "id: b\nversion: 1.0.0\nrule: age>=18\n");
    let out = segcore(&["fmt", "--check", "a.yaml", "b.yaml"], &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("would reformat a.yaml: the metadata layout only"), "{t}");
    assert!(t.contains("would reformat b.yaml: the rule"), "{t}");
    assert!(t.contains("2 file(s) are not formatted") && t.contains("metadata is written in canonical order"), "{t}");
}

#[test]
fn keep_going_writes_every_row_that_evaluates_and_lists_the_failures() {
    let dir = tmp("keep-going");
    write(&dir, "segs/rich.yaml", "id: rich\nversion: 1.0.0\nrule: wealth > 100 USD\n");
    write(&dir, "segs/rich_adults.yaml", "id: rich_adults\nversion: 1.0.0\nrule: in_segment(\"rich\") and age >= 18\n");
    write(&dir, "segs/adults.yaml", "id: adults\nversion: 1.0.0\nrule: age >= 18\n");
    // `b` holds GBP and the FX table has no GBP/USD quote.
    write(
        &dir,
        "p.jsonl",
        concat!(
            "{\"id\":\"a\",\"attributes\":{\"age\":30,\"wealth\":{\"amount\":\"500\",\"currency\":\"EUR\"}}}\n",
            "{\"id\":\"b\",\"attributes\":{\"age\":40,\"wealth\":{\"amount\":\"500\",\"currency\":\"GBP\"}}}\n",
            "{\"id\":\"c\",\"attributes\":{\"age\":10,\"wealth\":{\"amount\":\"5\",\"currency\":\"USD\"}}}\n",
        ),
    );
    write(&dir, "fx.json", "{\"EUR/USD\": \"1.10\"}");
    let base =
        ["eval", "--segments", "segs", "--profiles", "p.jsonl", "--fx", "fx.json", "--as-of", "2026-03-15T00:00:00Z"];

    // Default: the first error stops the run, and nothing is written.
    let out = segcore(&[&base[..], &["--out", "m.csv"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[fx_rate_missing]"), "{}", text(&out));
    assert!(!dir.join("m.csv").exists());

    // --keep-going: 3 profiles × 3 segments = 9 cells; b fails in `rich` (no GBP/USD quote) and
    // so in `rich_adults` (which reads it): 7 rows, exit status 1, the errors listed.
    let out = segcore(&[&base[..], &["--out", "m.csv", "--keep-going", "--errors", "errors.jsonl"]].concat(), &dir);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("2 profile × segment evaluations failed and have no membership row"), "{t}");
    assert!(t.contains("error[fx_rate_missing]"), "{t}");
    let rows = std::fs::read_to_string(dir.join("m.csv")).unwrap();
    let cells: Vec<(&str, &str, &str)> = rows
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[1], f[6])
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("a", "adults", "true"),
            ("a", "rich", "true"),
            ("a", "rich_adults", "true"),
            ("b", "adults", "true"),
            ("c", "adults", "false"),
            ("c", "rich", "false"),
            ("c", "rich_adults", "false"),
        ]
    );
    let errors: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("errors.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0]["entity_id"].as_str(), errors[0]["segment_id"].as_str()), (Some("b"), Some("rich")));
    assert_eq!(errors[0]["kind"], "fx_rate_missing");
    assert_eq!(errors[0]["row"], 1);
    assert_eq!((errors[1]["entity_id"].as_str(), errors[1]["segment_id"].as_str()), (Some("b"), Some("rich_adults")));
    assert_eq!(errors[1]["kind"], "segment_result_missing");

    // --errors without --keep-going is a usage error.
    let out = segcore(&[&base[..], &["--out", "m2.csv", "--errors", "e.jsonl"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn next_change_and_timeline_say_when_membership_changes_and_why() {
    let dir = tmp("over-time");
    write(&dir, "segs/recent.yaml", "id: recent\nversion: 1.0.0\nrule: exists(purchase within 30d)\n");
    write(&dir, "segs/vip.yaml", "id: vip\nversion: 2.0.0\nrule: in_segment(\"recent\") and age >= 18\n");
    let one = write(
        &dir,
        "u1.json",
        r#"{"id": "u1", "attributes": {"age": 30}, "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}"#,
    );
    write(
        &dir,
        "profiles.jsonl",
        "{\"id\": \"u1\", \"attributes\": {\"age\": 30}}\n{\"id\": \"u2\", \"attributes\": {\"age\": 12}}\n",
    );
    write(
        &dir,
        "events.jsonl",
        "{\"entity_id\": \"u1\", \"name\": \"purchase\", \"at\": \"2026-03-01T10:00:00Z\"}\n\
         {\"entity_id\": \"u2\", \"name\": \"purchase\", \"at\": \"2026-04-10T00:00:00Z\"}\n",
    );

    // One profile: a line per segment. The purchase leaves the 30-day window 1 µs after
    // 03-31T10:00Z (SPEC §9 inclusive bound), and vip follows through its reference.
    let o = segcore(
        &["next-change", "--segments", "segs", "--profile", one.to_str().unwrap(), "--as-of", "2026-03-15T00:00:00Z"],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "recent: true until 2026-03-31T10:00:00.000001Z, then false (window: purchase at 2026-03-01T10:00:00Z)\n\
         vip: true until 2026-03-31T10:00:00.000001Z, then false (reference: segment recent)\n"
    );

    // A table: JSON lines per profile × segment; u2's purchase (04-10) makes it recent, not vip (age 12).
    let base = ["--segments", "segs", "--profiles", "profiles.jsonl", "--events", "events.jsonl"];
    let o = segcore(
        &[&["next-change"][..], &base, &["--as-of", "2026-03-15T00:00:00Z", "--segment", "recent"]].concat(),
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["entity_id"], "u2");
    assert_eq!(rows[1]["outcome"], "false");
    assert_eq!(rows[1]["next_change"]["at"], "2026-04-10T00:00:00Z");
    assert_eq!(rows[1]["next_change"]["cause"], "event");
    assert_eq!(rows[1]["next_change"]["transition"], "entered");

    // Timeline over a table with a plot: u1 enters and exits, u2 enters; vip only for u1.
    let o = segcore(
        &[
            &["timeline"][..],
            &base,
            &["--from", "2026-02-01T00:00:00Z", "--to", "2026-05-01T00:00:00Z", "--out", "tl.jsonl", "--plot", "m.svg"],
        ]
        .concat(),
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("tl.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
            (s("entity_id"), s("segment_id"), s("at"), s("transition"))
        })
        .collect();
    let want = [
        ("u1", "recent", "2026-03-01T10:00:00Z", "entered"),
        ("u1", "recent", "2026-03-31T10:00:00.000001Z", "exited"),
        ("u1", "vip", "2026-03-01T10:00:00Z", "entered"),
        ("u1", "vip", "2026-03-31T10:00:00.000001Z", "exited"),
        ("u2", "recent", "2026-04-10T00:00:00Z", "entered"),
    ];
    assert_eq!(got, want.map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into())));
    let svg = std::fs::read_to_string(dir.join("m.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">recent (1)</text>") && svg.contains(">vip (0)</text>"), "{svg}");

    // Bad input: an unknown segment, a bad horizon, an unordered span.
    let o = segcore(
        &[
            "next-change",
            "--segments",
            "segs",
            "--profile",
            "u1.json",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--segment",
            "nope",
        ],
        &dir,
    );
    assert!(!o.status.success() && text(&o).contains("no segment `nope`"), "{}", text(&o));
    let o = segcore(
        &[
            "next-change",
            "--segments",
            "segs",
            "--profile",
            "u1.json",
            "--as-of",
            "2026-03-15T00:00:00Z",
            "--horizon",
            "0d",
        ],
        &dir,
    );
    assert!(
        !o.status.success() && text(&o).contains("invalid_context") && text(&o).contains("--horizon"),
        "{}",
        text(&o)
    );
    let o = segcore(
        &[
            "timeline",
            "--segments",
            "segs",
            "--profile",
            "u1.json",
            "--from",
            "2026-03-15T00:00:00Z",
            "--to",
            "2026-03-01T00:00:00Z",
        ],
        &dir,
    );
    assert!(!o.status.success() && text(&o).contains("`from` before `to`"), "{}", text(&o));
    let o = segcore(
        &[
            &["timeline"][..],
            &base,
            &["--from", "2026-02-01T00:00:00Z", "--to", "2026-05-01T00:00:00Z", "--plot", "events.jsonl"],
        ]
        .concat(),
        &dir,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(dir.join("events.jsonl")).unwrap().contains("\"u2\""), "an input was overwritten");
}
