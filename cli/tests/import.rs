//! `segcore import` (SPEC §29): one rule → a definition that `check` accepts and `eval` agrees
//! with; refusals and bad input exit non-zero with the path and the kind (`--partial` exits 0);
//! `--audit` inventories a folder of rules and writes a registry folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("rules")).unwrap();
    std::fs::write(d.join("schema.yaml"), "attributes:\n  age: int\n  country: string\n  churned: bool\n").unwrap();
    d
}

fn segcore(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("segcore runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_rule_imports_and_evaluates_like_json_logic_js() {
    let dir = tmp("one");
    // json-logic-js: a missing age is 0 (< 18); `!` of a missing `churned` is true.
    std::fs::write(dir.join("rules/r.json"), r#"{"and": [{"<": [{"var": "age"}, 18]}, {"!": {"var": "churned"}}]}"#)
        .unwrap();
    let o =
        segcore(&["import", "--from", "jsonlogic", "--schema", "schema.yaml", "--id", "minors", "rules/r.json"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let yaml = text(&o.stdout);
    assert!(yaml.starts_with("id: minors\nversion: 1.0.0\n"), "{yaml}");
    assert!(yaml.contains("imported:jsonlogic") && yaml.contains("A1"), "{yaml}");
    assert!(text(&o.stderr).contains("exact under A1"), "{}", text(&o.stderr));
    std::fs::create_dir_all(dir.join("reg")).unwrap();
    std::fs::write(dir.join("reg/minors.yaml"), &yaml).unwrap();
    let o = segcore(&["check", "--schema", "schema.yaml", "reg"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Evaluate: {} (member), age 20 (not), age 10 churned (not), age 10 churned false (member).
    std::fs::write(
        dir.join("p.jsonl"),
        "{\"id\":\"a\",\"attributes\":{}}\n{\"id\":\"b\",\"attributes\":{\"age\":20}}\n\
         {\"id\":\"c\",\"attributes\":{\"age\":10,\"churned\":true}}\n{\"id\":\"d\",\"attributes\":{\"age\":null,\"churned\":false}}\n",
    )
    .unwrap();
    let o = segcore(
        &[
            "eval",
            "--segments",
            "reg",
            "--profiles",
            "p.jsonl",
            "--as-of",
            "2026-01-01T00:00:00Z",
            "--out",
            "out.jsonl",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let members: Vec<&str> = rows
        .lines()
        .filter(|l| l.contains("\"member\":true"))
        .map(|l| {
            if l.contains("\"a\"") {
                "a"
            } else if l.contains("\"d\"") {
                "d"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(members, ["a", "d"], "{rows}");
}

#[test]
fn refusals_and_bad_input_exit_non_zero_with_the_place() {
    let dir = tmp("refuse");
    std::fs::write(dir.join("rules/mod.json"), r#"{"and": [true, {"%": [{"var": "age"}, 2]}]}"#).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "--schema", "schema.yaml", "rules/mod.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "nothing refused is written");
    let err = text(&o.stderr);
    assert!(err.contains("error[import_refused]") && err.contains("/and/1") && err.contains('%'), "{err}");
    // --partial: reported, exit 0, still nothing written.
    let o = segcore(&["import", "--from", "jsonlogic", "--partial", "--schema", "schema.yaml", "rules/mod.json"], &dir);
    assert!(o.status.success() && o.stdout.is_empty(), "{}", text(&o.stderr));
    // An untyped read without a schema.
    std::fs::write(dir.join("rules/age.json"), r#"{">": [{"var": "age"}, 1]}"#).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "rules/age.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no declared type"), "{}", text(&o.stderr));
    // Malformed JSON, an unknown format, deep nesting.
    std::fs::write(dir.join("rules/bad.json"), r#"{"==": [1, 1}"#).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "rules/bad.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[import_invalid]"), "{}", text(&o.stderr));
    let o = segcore(&["import", "--from", "cobol", "rules/bad.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("unknown import format"), "{}", text(&o.stderr));
    // Huge lists and wide rules: refused at once with the place, never a long wait or a crash.
    let list: Vec<String> = (0..20_000).map(|i| format!("\"c{i}\"")).collect();
    std::fs::write(dir.join("rules/huge.json"), format!(r#"{{"in": [{{"var": "country"}}, [{}]]}}"#, list.join(",")))
        .unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "--schema", "schema.yaml", "rules/huge.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/in/1") && text(&o.stderr).contains("20000 elements"), "{}", text(&o.stderr));
    let ors: Vec<String> = (0..300).map(|i| format!(r#"{{"==": [{{"var": "age"}}, {i}]}}"#)).collect();
    std::fs::write(dir.join("rules/wide.json"), format!(r#"{{"or": [{}]}}"#, ors.join(","))).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "--schema", "schema.yaml", "rules/wide.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("more than 256 cases"), "{}", text(&o.stderr));
    let deep = format!("{}true{}", "{\"!\": [".repeat(300), "]}".repeat(300));
    std::fs::write(dir.join("rules/deep.json"), deep).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "rules/deep.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[import_invalid]"), "{}", text(&o.stderr));
}

#[test]
fn a_rule_from_standard_input_with_a_json_report() {
    let dir = tmp("stdin");
    let mut child = Command::new(BIN)
        .args(["import", "--from", "jsonlogic", "--report", "report.json", "-"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"==": [1, "1"]}"#).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // `1 == "1"` is true in json-logic-js: the rule folds to `true`, exactly.
    assert!(text(&o.stdout).contains("rule: \"true\""), "{}", text(&o.stdout));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "exact");
    assert_eq!(report["reference"], "json-logic-js 2.0.5");
}

#[test]
fn audit_inventories_a_folder_and_writes_a_registry() {
    let dir = tmp("audit");
    std::fs::write(
        dir.join("rules/Adults NA.json"),
        r#"{"and": [{">=": [{"var": "age"}, 18]}, {"in": [{"var": "country"}, ["US", "CA"]]}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("rules/odd.jsonlogic.json"), r#"{"%": [{"var": "age"}, 2]}"#).unwrap();
    std::fs::write(dir.join("rules/broken.json"), "{").unwrap();
    std::fs::write(dir.join("rules/notes.txt"), "not a rule").unwrap();
    let o = segcore(
        &["import", "--audit", "rules", "--schema", "schema.yaml", "--out", "reg", "--report", "inv.json"],
        &dir,
    );
    assert_eq!(o.status.code(), Some(1), "something was refused: {}", text(&o.stderr));
    let table = text(&o.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "a header and one row per rule file: {table}");
    assert!(
        lines[1].contains("rules/Adults NA.json") && lines[1].contains("adults_na") && lines[1].contains("exact_under"),
        "{table}"
    );
    assert!(lines[1].contains("age, country"), "{table}");
    assert!(lines[2].contains("broken") && lines[2].contains("invalid"), "{table}");
    assert!(lines[3].contains("odd") && lines[3].contains("refused") && lines[3].contains('%'), "{table}");
    assert!(text(&o.stderr).contains("3 rules: 1 imported"), "{}", text(&o.stderr));
    // Only what imported is written, and it is a registry `check` accepts.
    let written: Vec<String> = std::fs::read_dir(dir.join("reg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, ["adults_na.yaml"]);
    let o = segcore(&["check", "--schema", "schema.yaml", "reg"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let inv: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("inv.json")).unwrap()).unwrap();
    let statuses: Vec<&str> = inv["rules"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["exact_under", "invalid", "refused"]);
    // --partial: the same inventory, exit 0.
    let o = segcore(&["import", "--audit", "rules", "--schema", "schema.yaml", "--out", "reg2", "--partial"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn growthbook_conditions_with_saved_groups() {
    let dir = tmp("growthbook");
    // GrowthBook: a missing age is 0 (`null < 30`), and `$inGroup` reads the groups as they are now.
    std::fs::write(
        dir.join("rules/beta.growthbook.json"),
        r#"{"age": {"$lt": 30}, "country": {"$inGroup": "launch"}, "$not": {"churned": true}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("groups.json"), r#"{"launch": ["US", "CA"]}"#).unwrap();
    let o = segcore(
        &[
            "import",
            "--from",
            "growthbook",
            "--schema",
            "schema.yaml",
            "--saved-groups",
            "groups.json",
            "rules/beta.growthbook.json",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let yaml = text(&o.stdout);
    assert!(yaml.contains("imported:growthbook") && yaml.contains("@growthbook/growthbook 1.8.0"), "{yaml}");
    assert!(yaml.contains(r#"country in [\"US\", \"CA\"]"#), "{yaml}");
    // --audit picks the format from the file name.
    std::fs::write(dir.join("rules/vip.json"), r#"{"==": [{"var": "churned"}, false]}"#).unwrap();
    let o = segcore(
        &["import", "--audit", "rules", "--schema", "schema.yaml", "--saved-groups", "groups.json", "--out", "reg"],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("growthbook") && table.contains("jsonlogic"), "{table}");
    let o = segcore(&["check", "--schema", "schema.yaml", "reg"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Without the groups, an unknown group is empty: `$inGroup` matches nobody — still exact.
    let o = segcore(&["import", "--from", "growthbook", "--schema", "schema.yaml", "rules/beta.growthbook.json"], &dir);
    assert!(o.status.success() && text(&o.stdout).contains("rule: \"false\""), "{}", text(&o.stdout));
}

#[test]
fn export_to_json_logic_and_refusals() {
    let dir = tmp("export");
    std::fs::create_dir_all(dir.join("reg")).unwrap();
    std::fs::write(dir.join("reg/adults.yaml"), "id: adults\nversion: 1.0.0\nrule: age >= 18 and not churned\n")
        .unwrap();
    let o = segcore(&["export", "--to", "jsonlogic", "--schema", "schema.yaml", "reg/adults.yaml"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rule: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // A missing age is not a member in segcore: the export guards it (json-logic-js reads null as 0).
    assert_eq!(
        rule,
        serde_json::json!({"and": [{"!=": [{"var": "age"}, null]}, {">=": [{"var": "age"}, 18]}, {"===": [{"var": "churned"}, false]}]})
    );
    // The export imports back, exactly.
    std::fs::write(dir.join("rules/back.json"), &o.stdout).unwrap();
    let o = segcore(&["import", "--from", "jsonlogic", "--schema", "schema.yaml", "rules/back.json"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A folder: {id: rule}; what JSON Logic cannot say is refused (exit 1, or left out with --partial).
    std::fs::write(dir.join("reg/buyers.yaml"), "id: buyers\nversion: 1.0.0\nrule: count(purchase within 30d) > 2\n")
        .unwrap();
    let o = segcore(&["export", "--to", "jsonlogic", "--schema", "schema.yaml", "reg"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[export_refused]") && text(&o.stderr).contains("buyers"),
        "{}",
        text(&o.stderr)
    );
    let o = segcore(&["export", "--to", "jsonlogic", "--schema", "schema.yaml", "--partial", "reg"], &dir);
    assert!(o.status.success());
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(all.get("adults").is_some() && all.get("buyers").is_none(), "{all}");
    let o = segcore(&["export", "--to", "sql", "reg"], &dir);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn unleash_toggles_as_yggdrasil_evaluates_them() {
    let dir = tmp("unleash");
    std::fs::write(dir.join("schema.yaml"), "attributes:\n  email: string\n  country: string\n  appVersion: string\n")
        .unwrap();
    // A toggle with a segment, an inverted constraint and a version: NOT_IN passes a missing field.
    std::fs::write(
        dir.join("rules/beta.unleash.json"),
        r#"{"features": [{"name": "beta", "enabled": true, "strategies": [{"name": "default", "parameters": {},
            "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"], "inverted": true},
                            {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0"}],
            "segments": [1]}]}],
            "segments": [{"id": 1, "constraints": [{"contextName": "country", "operator": "NOT_IN", "values": ["FR"]}]}]}"#,
    )
    .unwrap();
    let o = segcore(&["import", "--from", "unleash", "--schema", "schema.yaml", "rules/beta.unleash.json"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let yaml = text(&o.stdout);
    assert!(yaml.contains("imported:unleash") && yaml.contains("yggdrasil-engine"), "{yaml}");
    assert!(yaml.contains("semver(appVersion) >= ") && yaml.contains("not coalesce(country = "), "{yaml}");
    // A partial rollout is murmur3 bucketing: refused with the strategy's place.
    std::fs::write(
        dir.join("rules/half.unleash.json"),
        r#"{"name": "half", "enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "half"}}]}"#,
    )
    .unwrap();
    let o = segcore(&["import", "--from", "unleash", "--schema", "schema.yaml", "rules/half.unleash.json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/strategies/0") && text(&o.stderr).contains("rollout"), "{}", text(&o.stderr));
}

/// SQL (SPEC §29.5): a query file with renamed tables, the session zone and the dialect; the
/// definition carries the zone, `check` accepts it and `sql` writes it back for DuckDB.
#[test]
fn an_sql_query_imports_with_its_tables_zone_and_dialect() {
    let dir = tmp("sql");
    std::fs::write(
        dir.join("sql-schema.yaml"),
        "attributes:\n  age: int\n  seen: timestamp\nevents:\n  purchase:\n    qty: int\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tables.json"),
        r#"{"profiles": "users", "events": "activity", "columns": {"last_seen": "seen"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("q.sql"),
        "-- adults seen since yesterday (New York) who bought\nSELECT u.id\nFROM users u\nWHERE u.age >= 18\n  AND last_seen >= CURRENT_DATE - INTERVAL '1 day'\n  AND EXISTS (SELECT 1 FROM activity a WHERE a.entity_id = u.id AND a.name = 'purchase'\n              AND a.at >= NOW() - INTERVAL '48 hours' AND a.at <= NOW())\n",
    )
    .unwrap();
    let args = [
        "import",
        "--from",
        "sql",
        "--dialect",
        "postgres",
        "--timezone",
        "America/New_York",
        "--tables",
        "tables.json",
        "--schema",
        "sql-schema.yaml",
        "--id",
        "active_adults",
        "--report",
        "report.json",
        "q.sql",
    ];
    let o = segcore(&args, &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let yaml = text(&o.stdout);
    assert!(yaml.contains("timezone: \"America/New_York\"\n"), "{yaml}");
    assert!(
        yaml.contains(r#"rule: "(age >= 18) and (days_since(seen) <= 1) and exists(purchase within 48h)""#),
        "{yaml}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["dialect"], "postgres");
    assert_eq!(report["reference"], "PostgreSQL 15");
    assert_eq!(report["assumptions"][0]["id"], "S1");
    assert_eq!(report["assumptions"][0]["paths"][0], "4:7", "the first column read: `u.age` on line 4");
    std::fs::create_dir_all(dir.join("reg")).unwrap();
    std::fs::write(dir.join("reg/active_adults.yaml"), &yaml).unwrap();
    let o = segcore(&["check", "--schema", "sql-schema.yaml", "reg"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The same text in the other dialect: day intervals in New York are calendar days, refused
    // for `NOW()` (here only `CURRENT_DATE`'s, which are exact) — so DuckDB imports it too.
    let mut duck = args.to_vec();
    duck[4] = "duckdb";
    assert!(segcore(&duck, &dir).status.success());
    // Refused: the position is line:column in the file (an interval is spanned by its value
    // text); exit 1, nothing written.
    std::fs::write(
        dir.join("bad.sql"),
        "SELECT id FROM users\nWHERE age >= 18\n  AND last_seen >= NOW() - INTERVAL '1 month'\n",
    )
    .unwrap();
    let o = segcore(
        &["import", "--from", "sql", "--tables", "tables.json", "--schema", "sql-schema.yaml", "bad.sql"],
        &dir,
    );
    assert!(!o.status.success() && o.stdout.is_empty());
    let err = text(&o.stderr);
    assert!(err.contains("error[import_refused]") && err.contains("3:37") && err.contains("INTERVAL"), "{err}");
    // Text that does not parse: import_invalid with the parser's position.
    std::fs::write(dir.join("broken.sql"), "SELECT id FROM users WHERE age >=").unwrap();
    let o = segcore(&["import", "--from", "sql", "--schema", "sql-schema.yaml", "broken.sql"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[import_invalid]"), "{}", text(&o.stderr));
}

/// `--audit` reads `*.sql` files, the dialect from `*.duckdb.sql` / `*.postgres.sql`.
#[test]
fn an_audit_reads_sql_files_per_dialect() {
    let dir = tmp("sqlaudit");
    // DuckDB divides integers as doubles (exact under S5 here); PostgreSQL truncates: refused.
    std::fs::write(dir.join("rules/ratio.duckdb.sql"), "SELECT id FROM profiles WHERE age / 2 > 10").unwrap();
    std::fs::write(dir.join("rules/ratio_pg.postgres.sql"), "SELECT id FROM profiles WHERE age / 2 > 10").unwrap();
    std::fs::write(dir.join("rules/us.sql"), "country = 'US'").unwrap();
    let o = segcore(
        &[
            "import",
            "--audit",
            "rules",
            "--out",
            "reg",
            "--schema",
            "schema.yaml",
            "--report",
            "audit.json",
            "--partial",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("audit.json")).unwrap()).unwrap();
    let rows = report.as_array().or_else(|| report["rules"].as_array()).expect("rows");
    let status =
        |id: &str| rows.iter().find(|r| r["id"] == id).map(|r| (r["status"].clone(), r["dialect"].clone())).expect(id);
    assert_eq!(status("ratio"), (serde_json::json!("exact_under"), serde_json::json!("duckdb")));
    assert_eq!(status("ratio_pg"), (serde_json::json!("refused"), serde_json::json!("postgres")));
    assert_eq!(status("us"), (serde_json::json!("exact_under"), serde_json::json!("duckdb")));
    assert!(dir.join("reg/ratio.yaml").exists() && !dir.join("reg/ratio_pg.yaml").exists());
}
