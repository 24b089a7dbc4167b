//! Replays every committed input under `fuzz/regressions/<target>/` through the harness the
//! fuzzer ran (`segcore_fuzz::<target>`), without libFuzzer or a sanitizer:
//! `cargo test --manifest-path fuzz/Cargo.toml`. A minimised crasher (`cargo fuzz tmin`) goes in
//! the folder of its target; it fails here until the core is fixed.
//!
//! Each input runs in a child process (this test binary, re-run with `SEGCORE_FUZZ_REPLAY` set),
//! under the same limits the fuzzer applies: 2 GiB of live heap (an allocation past it fails and
//! aborts the child) and 10 s. So an out-of-memory or stack-overflow reproducer fails its test
//! instead of taking the machine or the whole test binary down.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The fuzzer's `-rss_limit_mb=2048`, as live heap bytes.
const HEAP_LIMIT: usize = 2048 << 20;
/// The fuzzer's `-timeout=10`.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The system allocator, refusing allocations past `HEAP_LIMIT` once armed (in a child only).
struct Capped;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) && LIVE.load(Ordering::Relaxed) + layout.size() > HEAP_LIMIT {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

type Harness = fn(&[u8]);

const TARGETS: &[(&str, Harness)] = &[
    ("rule", segcore_fuzz::rule),
    ("definition", segcore_fuzz::definition),
    ("profile_json", segcore_fuzz::profile_json),
    ("tape", segcore_fuzz::tape),
    ("context", segcore_fuzz::context),
    ("table", segcore_fuzz::table),
    ("arrow", segcore_fuzz::arrow),
    ("reconcile", segcore_fuzz::reconcile),
    ("import", segcore_fuzz::import),
];

fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target)
}

/// In a child: replays the one input named by `SEGCORE_FUZZ_REPLAY=<target>:<path>`; a panic
/// fails this test (exit code 101), an allocation past the cap or a stack overflow aborts.
#[test]
fn replay_child() {
    let Ok(spec) = std::env::var("SEGCORE_FUZZ_REPLAY") else {
        return;
    };
    let (target, path) = spec.split_once(':').expect("SEGCORE_FUZZ_REPLAY=<target>:<path>");
    let harness = TARGETS.iter().find(|(t, _)| *t == target).expect("known target").1;
    let data = std::fs::read(path).unwrap();
    ARMED.store(true, Ordering::Relaxed);
    harness(&data);
}

fn replay(target: &str) -> usize {
    let mut files: Vec<_> = match std::fs::read_dir(dir(target)) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(_) => return 0,
    };
    files.sort();
    let exe = std::env::current_exe().unwrap();
    let mut failed = Vec::new();
    for f in &files {
        let mut child = Command::new(&exe)
            .args(["--exact", "replay_child", "--nocapture", "--test-threads=1"])
            .env("SEGCORE_FUZZ_REPLAY", format!("{target}:{}", f.display()))
            .env_remove("SEGCORE_FUZZ_KNOWN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        match status {
            Some(s) if s.success() => {}
            Some(s) => {
                // The panic message (the line after "panicked at"), or how the child died.
                let lines: Vec<&str> = stderr.lines().collect();
                let why = lines
                    .iter()
                    .position(|l| l.contains("panicked at"))
                    .and_then(|i| lines.get(i + 1))
                    .or_else(|| lines.iter().find(|l| l.contains("memory allocation") || l.contains("overflow")))
                    .map(|l| l.chars().take(200).collect::<String>())
                    .unwrap_or_else(|| format!("child exited with {s}"));
                failed.push(format!("{}: {why}", f.display()));
            }
            None => failed.push(format!("{}: still running after {TIMEOUT:?} (a hang)", f.display())),
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {} inputs fail:\n  {}", failed.len(), files.len(), failed.join("\n  "));
    files.len()
}

#[test]
fn rule() {
    replay("rule");
}
#[test]
fn definition() {
    replay("definition");
}
#[test]
fn profile_json() {
    replay("profile_json");
}
#[test]
fn tape() {
    replay("tape");
}
#[test]
fn context() {
    replay("context");
}
#[test]
fn table() {
    replay("table");
}
#[test]
fn arrow() {
    replay("arrow");
}
#[test]
fn reconcile() {
    replay("reconcile");
}
#[test]
fn import() {
    replay("import");
}

/// Every target has a folder, and the fixtures every harness leans on build.
#[test]
fn every_target_has_regressions_and_the_fixtures_build() {
    for (name, _) in TARGETS {
        assert!(dir(name).is_dir(), "missing {}", dir(name).display());
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
