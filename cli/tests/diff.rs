//! `segcore diff` and `segcore check --against` (SPEC §26) on a real git repository fixture:
//! commits that should pass and fail the version rules, and the impact of a change on data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn segcore(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("segcore runs")
}

fn git(args: &[&str], dir: &Path) {
    let o = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn def(dir: &Path, id: &str, version: &str, rule: &str, extra: &str) {
    std::fs::write(
        dir.join(format!("segments/{id}.yaml")),
        format!("id: {id}\nversion: {version}\n{extra}rule: {rule}\n"),
    )
    .unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_against_a_git_ref_holds_changes_to_the_version_rules() {
    let d = tmp("git");
    std::fs::create_dir_all(d.join("segments")).unwrap();
    git(&["init", "-q", "-b", "main"], &d);
    def(&d, "hv", "1.0.0", "ltv > 500", "");
    def(&d, "top", "1.0.0", "in_segment(\"hv\") and vip", "");
    git(&["add", "segments"], &d);
    git(&["commit", "-q", "-m", "v1"], &d);
    let check = |d: &Path| segcore(&["check", "segments", "--against", "HEAD"], d);
    // Nothing changed: ok.
    let o = check(&d);
    assert!(o.status.success(), "{}", stderr(&o));
    // A new threshold released as a patch: refused, naming the bump.
    def(&d, "hv", "1.0.1", "ltv > 600", "");
    let o = check(&d);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("error[version_bump_required] hv: the rule changes over the same inputs; 1.0.0 → 1.0.1 is a patch bump, minor required"), "{}", stderr(&o));
    // Released as a minor: ok; committed.
    def(&d, "hv", "1.1.0", "ltv > 600", "");
    let o = check(&d);
    assert!(o.status.success(), "{}", stderr(&o));
    git(&["commit", "-q", "-am", "hv 1.1.0"], &d);
    // The read set grows (country): major, and `top` (which references hv) too.
    def(&d, "hv", "2.0.0", "ltv > 600 and country = \"DE\"", "");
    def(&d, "top", "1.0.1", "in_segment(\"hv\") and vip", "name: Top customers\n");
    let o = check(&d);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("top: metadata changes (name); it references `hv`, which has a major change; 1.0.0 → 1.0.1 is a patch bump, major required"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error[version_bump_required] hv:"), "hv's 2.0.0 is enough: {}", stderr(&o));
    // A reused version, and a version that goes down.
    def(&d, "top", "1.0.0", "in_segment(\"hv\") and vip", "name: Top customers\n");
    let o = check(&d);
    assert!(
        stderr(&o).contains("error[version_reused] top: version 1.0.0 now names another definition"),
        "{}",
        stderr(&o)
    );
    def(&d, "top", "0.9.0", "in_segment(\"hv\") and vip", "name: Top customers\n");
    assert!(stderr(&check(&d)).contains("error[version_regression] top"));
    // Deprecating hv while the active top still references it.
    def(&d, "hv", "1.2.0", "ltv > 600", "status: deprecated\n");
    def(&d, "top", "1.0.0", "in_segment(\"hv\") and vip", "");
    let o = check(&d);
    assert!(
        stderr(&o).contains("error[deprecated_reference] top: the active segment references `hv`, which is deprecated"),
        "{}",
        stderr(&o)
    );
    // diff against the ref, as JSON.
    let o = segcore(&["diff", "segments", "--against", "HEAD", "--json"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["required"], "minor");
    assert_eq!(j["segments"][0]["id"], "hv");
    assert_eq!(j["segments"][0]["fields"], serde_json::json!(["version", "status"]));
    // A ref that does not exist: a clear error.
    let o = segcore(&["check", "segments", "--against", "no-such-ref"], &d);
    assert!(!o.status.success() && stderr(&o).contains("git ls-tree"), "{}", stderr(&o));
}

#[test]
fn diff_on_data_lists_who_enters_and_leaves() {
    let d = tmp("data");
    for (dir, rule) in [("old", "ltv > 500"), ("new", "ltv > 300")] {
        std::fs::create_dir_all(d.join(dir)).unwrap();
        std::fs::write(
            d.join(format!("{dir}/hv.yaml")),
            format!("id: hv\nversion: {}\nrule: {rule}\n", if dir == "old" { "1.0.0" } else { "1.1.0" }),
        )
        .unwrap();
    }
    std::fs::write(
        d.join("p.jsonl"),
        "{\"id\": \"a\", \"attributes\": {\"ltv\": 900}}\n{\"id\": \"b\", \"attributes\": {\"ltv\": 400}}\n{\"id\": \"c\", \"attributes\": {\"ltv\": 350}}\n{\"id\": \"d\", \"attributes\": {\"ltv\": 100}}\n",
    )
    .unwrap();
    let o = segcore(&["diff", "old", "new", "--profiles", "p.jsonl", "--as-of", "2026-03-15T00:00:00Z", "--json"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let i = &j["segments"][0]["impact"];
    assert_eq!((i["old"].as_u64(), i["new"].as_u64()), (Some(1), Some(3)));
    assert_eq!(i["entering"], serde_json::json!(["b", "c"]));
    assert_eq!(i["leaving"], serde_json::json!([]));
    assert_eq!(j["segments"][0]["rule_changes"], serde_json::json!([["500", "300"]]));
    // Two of one old member entering: more than 50% → exit 1.
    let o = segcore(
        &["diff", "old", "new", "--profiles", "p.jsonl", "--as-of", "2026-03-15T00:00:00Z", "--max-change", "50%"],
        &d,
    );
    assert!(
        !o.status.success() && stderr(&o).contains("hv: 2 entering and 0 leaving of 1 members, more than 50%"),
        "{}",
        stderr(&o)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("members 1 → 3: +2 −0") && text.contains("entering: b, c"), "{text}");
}

#[test]
fn deps_graph_readers_and_what_a_schema_change_breaks() {
    let d = tmp("deps");
    std::fs::create_dir_all(d.join("segments")).unwrap();
    def(&d, "hv", "1.0.0", "sum(purchase.amount within 90d) > 500", "");
    def(&d, "top", "1.0.0", "in_segment(\"hv\") and tier = \"gold\"", "");
    def(&d, "fresh", "1.0.0", "count(login within 7d) >= 1", "");
    let o = segcore(&["deps", "segments"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<String> = text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(
        lines,
        [
            "attribute tier top",
            "event login fresh",
            "event purchase hv",
            "property purchase.amount hv",
            "segment hv top"
        ]
    );
    let dot = String::from_utf8_lossy(&segcore(&["deps", "segments", "--format", "dot"], &d).stdout).into_owned();
    assert!(dot.starts_with("digraph segments {") && dot.contains("\"top\" -> \"hv\";"), "{dot}");
    let mermaid =
        String::from_utf8_lossy(&segcore(&["deps", "segments", "--format", "mermaid"], &d).stdout).into_owned();
    assert!(mermaid.contains("s2[\"top\"] --> s1[\"hv\"]"), "{mermaid}");
    let o = segcore(&["deps", "segments", "--format", "svg", "--out", "deps.svg"], &d);
    assert!(o.status.success());
    let svg = std::fs::read_to_string(d.join("deps.svg")).unwrap();
    assert_eq!(svg.matches("<rect").count(), 3);
    assert_eq!(svg.matches("<line").count(), 1);
    // A schema without purchase.amount breaks hv, and top through its reference; fresh is fine.
    std::fs::write(
        d.join("old.yaml"),
        "attributes:\n  tier: string\nevents:\n  purchase:\n    amount: int\n  login: {}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("new.yaml"),
        "attributes:\n  tier: string\nevents:\n  purchase:\n    total: int\n  login: {}\n",
    )
    .unwrap();
    assert!(segcore(&["check", "segments", "--schema", "old.yaml"], &d).status.success());
    let o = segcore(&["check", "segments", "--schema", "new.yaml"], &d);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("the schema breaks 2 of 3 segment(s):"), "{err}");
    assert!(err.contains("  hv: [unknown_field]"), "{err}");
    assert!(err.contains("  top: it references `hv`, which the schema breaks"), "{err}");
    assert!(!err.contains("  fresh:"), "{err}");
}

#[test]
fn a_bundle_is_a_registry_every_command_reads() {
    let d = tmp("bundle");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (demo, schema) = (root.join("src/demo"), root.join("src/demo_schema.yaml"));
    let o = segcore(&["bundle", demo.to_str().unwrap(), "--schema", schema.to_str().unwrap(), "--out", "b.json"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let hash = String::from_utf8_lossy(&o.stdout).split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(hash.len(), 64);
    // The same hashes per definition, read from the bundle or the folder.
    let from_folder = String::from_utf8_lossy(&segcore(&["hash", demo.to_str().unwrap()], &d).stdout).into_owned();
    let from_bundle = String::from_utf8_lossy(&segcore(&["hash", "b.json"], &d).stdout).into_owned();
    assert_eq!(from_folder, from_bundle);
    assert_eq!(from_folder.lines().count(), 11);
    // Bundling again gives the same hash (the creation time is not part of it).
    let o = segcore(&["bundle", demo.to_str().unwrap(), "--schema", schema.to_str().unwrap(), "--out", "b2.json"], &d);
    assert!(String::from_utf8_lossy(&o.stdout).contains(&hash));
    // Two bundles diff like two folders.
    let changed = d.join("changed");
    std::fs::create_dir_all(&changed).unwrap();
    for e in std::fs::read_dir(&demo).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let text = if e.file_name() == "high_value.yaml" {
            text.replace("version: 1.0.0", "version: 1.1.0").replace("> 500 USD", "> 600 USD")
        } else {
            text
        };
        std::fs::write(changed.join(e.file_name()), text).unwrap();
    }
    let o =
        segcore(&["bundle", changed.to_str().unwrap(), "--schema", schema.to_str().unwrap(), "--out", "c.json"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = segcore(&["diff", "b.json", "c.json", "--json"], &d);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    assert_eq!(j["required"], "minor");
    let hv = j["segments"].as_array().unwrap().iter().find(|s| s["id"] == "high_value").unwrap();
    assert_eq!(hv["rule_changes"], serde_json::json!([["500 USD", "600 USD"]]));
    assert_eq!(hv["problem"], serde_json::Value::Null);
    // An edited bundle is refused whole.
    let text = std::fs::read_to_string(d.join("b.json")).unwrap().replace("> 500", "> 400");
    std::fs::write(d.join("edited.json"), text).unwrap();
    let o = segcore(&["hash", "edited.json"], &d);
    assert!(
        !o.status.success() && stderr(&o).contains("error[bundle_invalid]") && stderr(&o).contains("contents hash to"),
        "{}",
        stderr(&o)
    );
}
