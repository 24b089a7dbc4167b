//! Replays every committed input under `fuzz/regressions/<target>/` through the harness the
//! fuzzer ran (`segcore_fuzz::<target>`), without libFuzzer or a sanitizer:
//! `cargo test --manifest-path fuzz/Cargo.toml`. A minimised crasher (`cargo fuzz tmin`) goes in
//! the folder of its target; it fails here until the core is fixed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

type Harness = fn(&[u8]);

const TARGETS: &[(&str, Harness)] = &[
    ("rule", segcore_fuzz::rule),
    ("definition", segcore_fuzz::definition),
    ("profile_json", segcore_fuzz::profile_json),
    ("tape", segcore_fuzz::tape),
    ("context", segcore_fuzz::context),
];

fn replay(target: &str, harness: Harness) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(_) => return 0,
    };
    files.sort();
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| harness(&data))) {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let first: String = msg.lines().next().unwrap_or("").chars().take(160).collect();
            failed.push(format!("{}: {first}", f.display()));
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {} inputs panic:\n  {}", failed.len(), files.len(), failed.join("\n  "));
    files.len()
}

#[test]
fn rule() {
    replay("rule", TARGETS[0].1);
}
#[test]
fn definition() {
    replay("definition", TARGETS[1].1);
}
#[test]
fn profile_json() {
    replay("profile_json", TARGETS[2].1);
}
#[test]
fn tape() {
    replay("tape", TARGETS[3].1);
}
#[test]
fn context() {
    replay("context", TARGETS[4].1);
}

/// Every target has a folder, and the fixtures every harness leans on build.
#[test]
fn every_target_has_regressions_and_the_fixtures_build() {
    for (name, _) in TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(name);
        assert!(dir.is_dir(), "missing {}", dir.display());
    }
    assert_eq!(segcore_fuzz::fixtures::registry().len(), segcore_fuzz::fixtures::SEGMENTS.len());
    assert_eq!(segcore_fuzz::fixtures::typed_registry().len(), segcore_fuzz::fixtures::SEGMENTS.len());
    assert_eq!(segcore_fuzz::fixtures::profiles().len(), segcore_fuzz::fixtures::PROFILES.len());
    assert_eq!(segcore_fuzz::fixtures::context_segments().len(), segcore_fuzz::fixtures::CONTEXT_RULES.len());
    // Every fixture segment decides something on the rich profile (none is UNKNOWN-only by typo).
    let cx = segcore_fuzz::fixtures::context();
    let out = segcore_fuzz::fixtures::registry().evaluate(&segcore_fuzz::fixtures::profiles()[0], cx).unwrap();
    let unknown: Vec<&str> = out.iter().filter(|(_, o)| *o == segcore::Outcome::Unknown).map(|(id, _)| *id).collect();
    assert!(unknown.is_empty(), "fixture segments UNKNOWN on the rich profile: {unknown:?}");
}
