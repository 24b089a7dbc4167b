//! `segcore stream` / `members` / `transitions` (SPEC §23): crash safety under `kill -9`, damaged
//! logs, dead letters.

mod common;

use std::path::{Path, PathBuf};

use common::{format_secs, Rng};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo")
}

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo_schema.yaml")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` events over ~`n` × 2 minutes from 2026-03-01, 2% of them 30 minutes late, a few
/// malformed lines and a stale watermark.
fn events(n: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let t0: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    let mut out = String::new();
    for k in 0..n {
        let mut at = t0 + (k as i64) * 120 + rng.below(60) as i64;
        if rng.below(50) == 0 {
            at -= 1_800;
        }
        let at = format_secs(at);
        let who = rng.below(400);
        match rng.below(4) {
            0 => out.push_str(&format!(
                r#"{{"id": "u{who}", "name": "purchase", "at": "{at}", "properties": {{"amount": {{"amount": "{}.50", "currency": "USD"}}}}}}"#,
                rng.below(300)
            )),
            _ => out.push_str(&format!(r#"{{"id": "u{who}", "name": "login", "at": "{at}"}}"#)),
        }
        out.push('\n');
        if k % 997 == 500 {
            out.push_str("{\"id\": \"u1\", \"name\": \"login\", \"at\": \"not a time\"}\n");
        }
        if k == 1_234 {
            out.push_str("{\"watermark\": \"2020-01-01T00:00:00Z\"}\n");
        }
    }
    out
}

fn stream_args<'a>(events: &'a str, log: &'a str) -> Vec<&'a str> {
    vec![
        "stream",
        "--segments",
        demo().to_str().unwrap().to_owned().leak(),
        "--schema",
        schema().to_str().unwrap().to_owned().leak(),
        "--events",
        events,
        "--log",
        log,
        "--watermark-delay",
        "5m",
        "--commit-every",
        "300",
    ]
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("segcore runs")
}

fn members(log: &Path, at: &str) -> String {
    let o = run(&["members", "--log", log.to_str().unwrap(), "--at", at]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn kill_9_at_twenty_points_leaves_the_log_an_uninterrupted_run_writes() {
    let dir = tmp("crash");
    let events_path = dir.join("events.jsonl");
    std::fs::write(&events_path, events(4_000, 7)).unwrap();
    let ev = events_path.to_str().unwrap();

    let reference = dir.join("reference");
    let o = run(&stream_args(ev, reference.to_str().unwrap()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want_log = std::fs::read(reference.join("transitions.log")).unwrap();
    let want_dead = std::fs::read(reference.join("dead-letter.jsonl")).unwrap();
    assert!(want_log.len() > 10_000, "the reference run wrote transitions");

    let mut rng = Rng(99);
    let (mut kills, mut runs) = (0, 0);
    while kills < 20 {
        let log = dir.join(format!("crashed-{runs}"));
        runs += 1;
        let (mut restarts, mut last_size) = (0, 0);
        loop {
            let mut child = Command::new(BIN)
                .args(stream_args(ev, log.to_str().unwrap()))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                // Counted only when the run got somewhere since the last kill: a kill while it
                // consumes, not while it starts.
                let size = std::fs::metadata(log.join("transitions.log")).map_or(0, |m| m.len());
                if size > last_size {
                    kills += 1;
                }
                last_size = size;
                restarts += 1;
                assert!(restarts < 200, "the stream makes no progress between kills");
                continue;
            }
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            break;
        }
        assert_eq!(std::fs::read(log.join("transitions.log")).unwrap(), want_log, "run {runs}: the log differs");
        assert_eq!(std::fs::read(log.join("dead-letter.jsonl")).unwrap(), want_dead, "run {runs}: dead letters differ");
        for at in ["2026-03-02T00:00:00Z", "2026-03-04T12:00:00Z", "2026-03-06T00:00:00Z"] {
            assert_eq!(members(&log, at), members(&reference, at));
        }
    }
    eprintln!("{kills} kill -9 points over {runs} run(s): every log byte-identical to the uninterrupted run's");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_tail_is_read_up_to_the_last_good_record_and_cut_on_restart() {
    let dir = tmp("damage");
    let events_path = dir.join("events.jsonl");
    std::fs::write(&events_path, events(600, 3)).unwrap();
    let log = dir.join("log");
    let args = stream_args(events_path.to_str().unwrap(), log.to_str().unwrap());
    assert!(run(&args).status.success());
    let at = "2026-03-01T12:00:00Z";
    let before = members(&log, at);
    let path = log.join("transitions.log");
    let good = std::fs::read(&path).unwrap();

    // Garbage appended (a torn write): readers stop there and say so.
    let mut torn = good.clone();
    torn.extend_from_slice(&[7, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&path, &torn).unwrap();
    let o = run(&["members", "--log", log.to_str().unwrap(), "--at", at]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8(o.stdout).unwrap(), before);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("read up to byte {}", good.len())) && err.contains("truncated"), "{err}");

    // A flipped byte inside the last commit record: a checksum mismatch; the earlier commit holds.
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 3] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let o = run(&["transitions", "--log", log.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch"), "{}", String::from_utf8_lossy(&o.stderr));

    // A restart cuts the log back to the snapshot's commit and goes on: the same bytes again.
    std::fs::write(&path, &torn).unwrap();
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&path).unwrap(), good);

    // Not a log at all.
    std::fs::write(&path, b"hello").unwrap();
    let o = run(&["members", "--log", log.to_str().unwrap(), "--at", at]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[io]"), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_records_go_to_the_dead_letters_and_the_stream_goes_on() {
    let dir = tmp("dead");
    let ev = dir.join("events.jsonl");
    std::fs::write(
        &ev,
        concat!(
            "{\"id\": \"u1\", \"name\": \"login\", \"at\": \"2026-03-01T10:00:00Z\"}\n",
            "not json\n",
            "{\"name\": \"login\", \"at\": \"2026-03-01T10:00:00Z\"}\n",
            "{\"id\": \"u2\", \"name\": \"login\", \"at\": \"9999-01-01T00:00:00Z\"}\n",
            "{\"id\": \"u2\", \"name\": \"login\", \"at\": \"2026-03-01T07:00:00Z\"}\n",
            "{\"watermark\": \"2026-03-01T12:00:00Z\"}\n",
            "{\"watermark\": \"2026-03-01T11:00:00Z\"}\n",
            "{\"id\": \"u3\", \"name\": \"login\", \"at\": \"2026-03-01T11:30:00Z\"}\n",
        ),
    )
    .unwrap();
    let log = dir.join("log");
    let segs = dir.join("segments");
    std::fs::create_dir_all(&segs).unwrap();
    std::fs::write(segs.join("seen.yaml"), "id: seen\nversion: 1.0.0\nrule: exists(login within 1d)\n").unwrap();
    let o = run(&[
        "stream",
        "--segments",
        segs.to_str().unwrap(),
        "--events",
        ev.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = String::from_utf8_lossy(&o.stderr);
    // Start = first event − 1 h lateness = 09:00. u2 at 07:00 is before W − L = 08:00 (too late);
    // year 9999 is past W + 7 days; u3 at 11:30 is late (W = 12:00) within the hour.
    assert!(
        summary.contains("2 event(s) applied (1 late), 1 too late, 1 too far ahead, 2 malformed, 1 stale watermark(s)"),
        "{summary}"
    );
    let dead = std::fs::read_to_string(log.join("dead-letter.jsonl")).unwrap();
    let reasons: Vec<String> = dead
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}", v["position"], v["reason"].as_str().unwrap())
        })
        .collect();
    assert_eq!(reasons, ["1 malformed", "2 malformed", "3 future", "4 too_late"]);
    // u1 from 10:00, u3 from its late login at 11:30; u2's logins were rejected.
    assert_eq!(members(&log, "2026-03-01T11:29:59Z"), "seen\tu1\n");
    assert_eq!(members(&log, "2026-03-01T11:30:00Z"), "seen\tu1\nseen\tu3\n");
    let o = run(&["members", "--log", log.to_str().unwrap(), "--at", "2026-03-01T12:00:00.000001Z"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[invalid_context]"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn changed_definitions_take_effect_on_restart_as_definition_transitions() {
    let dir = tmp("swap");
    let segs = dir.join("segments");
    std::fs::create_dir_all(&segs).unwrap();
    let def =
        |version: &str, window: &str| format!("id: seen\nversion: {version}\nrule: exists(login within {window})\n");
    std::fs::write(segs.join("seen.yaml"), def("1.0.0", "7d")).unwrap();
    let ev = dir.join("events.jsonl");
    std::fs::write(
        &ev,
        "{\"id\": \"u1\", \"name\": \"login\", \"at\": \"2026-03-01T10:00:00Z\"}\n\
         {\"id\": \"u2\", \"name\": \"login\", \"at\": \"2026-03-02T20:00:00Z\"}\n\
         {\"watermark\": \"2026-03-03T00:00:00Z\"}\n",
    )
    .unwrap();
    let log = dir.join("log");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["stream", "--segments", segs.to_str().unwrap(), "--events", ev.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(["--log", log.to_str().unwrap()].iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run_with = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = run(&refs);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    run_with(&[]);
    // Version 2 narrows the window to one day, from 2026-03-03T06:00Z; more events follow.
    std::fs::write(segs.join("seen.yaml"), def("2.0.0", "1d")).unwrap();
    let mut more = std::fs::read_to_string(&ev).unwrap();
    more.push_str("{\"watermark\": \"2026-03-05T00:00:00Z\"}\n");
    std::fs::write(&ev, more).unwrap();
    let err = run_with(&["--effective", "2026-03-03T06:00:00Z"]);
    assert!(err.contains("the definitions changed"), "{err}");
    let o = run(&["transitions", "--log", log.to_str().unwrap()]);
    let lines: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"emit\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {} {} {}", v["entity_id"], v["version"], v["kind"], v["at"], v["cause"]["kind"])
                .replace('"', "")
        })
        .collect();
    // At 06:00 on the 3rd u1's login is 44 h old (out of 1d: exits, by definition), u2's 10 h
    // (stays); u2 leaves 1 µs after 2026-03-03T20:00 under version 2.
    assert_eq!(
        lines,
        [
            "u1 1.0.0 entered 2026-03-01T10:00:00Z event",
            "u2 1.0.0 entered 2026-03-02T20:00:00Z event",
            "u1 2.0.0 exited 2026-03-03T06:00:00Z definition",
            "u2 2.0.0 exited 2026-03-03T20:00:00.000001Z window",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_stream_inputs_are_clear_errors() {
    let dir = tmp("hostile");
    let segs = dir.join("segments");
    std::fs::create_dir_all(&segs).unwrap();
    std::fs::write(segs.join("seen.yaml"), "id: seen\nversion: 1.0.0\nrule: exists(login within 1d)\n").unwrap();
    let ev = dir.join("events.jsonl");
    let log = dir.join("log");
    let stream = |extra: &[&str]| {
        let mut a = vec!["stream", "--segments", segs.to_str().unwrap(), "--events", ev.to_str().unwrap()];
        a.extend(["--log", log.to_str().unwrap()]);
        a.extend(extra);
        run(&a)
    };
    // A duration without digits is not zero.
    std::fs::write(&ev, "").unwrap();
    let o = stream(&["--lateness", "d"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("error[invalid_context] --lateness"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A line past 32 MiB (SPEC §19) stops the stream naming the line; what came before it is
    // committed, and a line that is not UTF-8 is a dead letter, not the end.
    let mut text = String::from("{\"id\": \"u1\", \"name\": \"login\", \"at\": \"2026-03-01T10:00:00Z\"}\n");
    text.push_str("{\"watermark\": \"2026-03-01T12:00:00Z\"}\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe not text\n");
    bytes.extend(std::iter::repeat_n(b'x', (32 << 20) + 1));
    bytes.push(b'\n');
    std::fs::write(&ev, &bytes).unwrap();
    let o = stream(&[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error[limit_exceeded]") && err.contains(":4"), "{err}");
    assert_eq!(members(&log, "2026-03-01T11:00:00Z"), "seen\tu1\n");
    let dead = std::fs::read_to_string(log.join("dead-letter.jsonl")).unwrap();
    assert!(dead.contains("\"position\":2") && dead.contains("malformed"), "{dead}");

    // A snapshot that is not one: a clear error, the log left alone.
    std::fs::write(log.join("state.json"), "{not json").unwrap();
    let o = stream(&[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a stream snapshot"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_without_a_snapshot_is_started_over_not_appended_to() {
    // A kill after the first commit record reached the log but before the first `state.json`
    // was written leaves committed-looking records and no snapshot. The restart starts from the
    // first input record, so it must discard them: the log ends as the uninterrupted run's.
    // (Found by the kill -9 test under load: the restart appended a second copy.)
    let dir = tmp("nosnapshot");
    let events_path = dir.join("events.jsonl");
    std::fs::write(&events_path, events(900, 5)).unwrap();
    let ev = events_path.to_str().unwrap();
    let reference = dir.join("reference");
    assert!(run(&stream_args(ev, reference.to_str().unwrap())).status.success());
    let want = std::fs::read(reference.join("transitions.log")).unwrap();
    let crashed = dir.join("crashed");
    assert!(run(&stream_args(ev, crashed.to_str().unwrap())).status.success());
    std::fs::remove_file(crashed.join("state.json")).unwrap();
    let o = run(&stream_args(ev, crashed.to_str().unwrap()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(crashed.join("transitions.log")).unwrap(), want, "the log was appended to");
    let _ = std::fs::remove_dir_all(&dir);
}
