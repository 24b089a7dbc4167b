//! Versions of one segment side by side (SPEC §1) in the CLI: `check` holds each later version to
//! the bump its change requires (§26), `eval` reports the version in force at `--as-of`, `diff`
//! matches versions, a bundle carries them all.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-versions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("reg")).unwrap();
    d
}

fn segcore(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("segcore runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn registry(dir: &Path, v2: &str) {
    std::fs::write(dir.join("reg/adult.yaml"), "id: adult\nversion: 1.0.0\nrule: age >= 18\n").unwrap();
    std::fs::write(
        dir.join("reg/adult_next.yaml"),
        format!("id: adult\nversion: {v2}\neffective_from: 2026-03-05T00:00:00Z\nrule: age >= 21\n"),
    )
    .unwrap();
}

#[test]
fn check_holds_a_later_version_to_its_bump() {
    let dir = tmp("check");
    registry(&dir, "1.0.1");
    let o = segcore(&["check", "reg"], &dir);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("version_bump_required") && err.contains("1.0.0 → 1.0.1 is a patch bump, minor required"),
        "{err}"
    );
    registry(&dir, "1.1.0");
    let o = segcore(&["check", "reg"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("2 definition(s) (1 segments; 1 later version(s) side by side)"));
    // Two versions starting at one instant cannot stand side by side.
    std::fs::write(
        dir.join("reg/adult_again.yaml"),
        "id: adult\nversion: 1.2.0\neffective_from: 2026-03-05T00:00:00Z\nrule: age >= 30\n",
    )
    .unwrap();
    let o = segcore(&["check", "reg"], &dir);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("duplicate_segment"), "{}", text(&o.stderr));
}

#[test]
fn eval_reports_the_version_in_force() {
    let dir = tmp("eval");
    registry(&dir, "1.1.0");
    std::fs::write(dir.join("p.jsonl"), "{\"id\": \"a\", \"attributes\": {\"age\": 19}}\n").unwrap();
    let row = |as_of: &str| -> serde_json::Value {
        let o = segcore(
            &[
                "eval",
                "--segments",
                "reg",
                "--profiles",
                "p.jsonl",
                "--as-of",
                as_of,
                "--out",
                "/dev/stdout",
                "--format",
                "jsonl",
            ],
            &dir,
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap()
    };
    let before = row("2026-03-04T23:59:59.999999Z");
    let after = row("2026-03-05T00:00:00Z");
    assert_eq!((before["version"].as_str(), before["member"].as_bool()), (Some("1.0.0"), Some(true)));
    assert_eq!((after["version"].as_str(), after["member"].as_bool()), (Some("1.1.0"), Some(false)));
    assert_ne!(before["definition_hash"], after["definition_hash"]);
}

#[test]
fn diff_and_bundles_see_every_version() {
    let dir = tmp("diff");
    std::fs::create_dir_all(dir.join("old")).unwrap();
    std::fs::write(dir.join("old/adult.yaml"), "id: adult\nversion: 1.0.0\nrule: age >= 18\n").unwrap();
    registry(&dir, "1.1.0");
    let o = segcore(&["diff", "old", "reg", "--json"], &dir);
    let out = text(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let ids: Vec<&str> = v["segments"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["adult@1.0.0", "adult@1.1.0"], "{out}");
    assert_eq!(v["segments"][1]["change"], "added");
    assert_eq!(v["segments"][1]["bump"], "minor");
    // The impact on data is per segment, shown on the version in force at --as-of; the gate holds.
    std::fs::write(dir.join("p.jsonl"), "{\"id\": \"a\", \"attributes\": {\"age\": 19}}\n").unwrap();
    let o =
        segcore(&["diff", "old", "reg", "--json", "--profiles", "p.jsonl", "--as-of", "2026-03-06T00:00:00Z"], &dir);
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["segments"][0].get("impact"), None, "{v}");
    assert_eq!(v["segments"][1]["impact"]["leaving"], serde_json::json!(["a"]));
    assert_eq!(
        (v["segments"][1]["impact"]["old"].as_u64(), v["segments"][1]["impact"]["new"].as_u64()),
        (Some(1), Some(0))
    );
    let o = segcore(
        &["diff", "old", "reg", "--profiles", "p.jsonl", "--as-of", "2026-03-06T00:00:00Z", "--max-change", "0%"],
        &dir,
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("adult: 0 entering and 1 leaving"), "{}", text(&o.stderr));
    // Before the handover 1.0.0 is in force and unchanged: no movement, the gate passes.
    let o = segcore(
        &["diff", "old", "reg", "--profiles", "p.jsonl", "--as-of", "2026-03-04T00:00:00Z", "--max-change", "0%"],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // `hash` lists every version.
    let o = segcore(&["hash", "reg"], &dir);
    assert_eq!(text(&o.stdout).lines().count(), 2);
    let o = segcore(&["bundle", "reg", "--out", "b.json"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("b.json")).unwrap()).unwrap();
    assert_eq!(b["definitions"].as_array().unwrap().len(), 2);
    let o = segcore(&["check", "b.json"], &dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
