//! `segcore drift` (SPEC §25) over 30 days of demo data: each day's members equal an independent
//! batch evaluation (`segcore eval`) at that day's local midnight, entered − exited equals the
//! day-over-day change, DST days are 23 hours long, and the CSV/Parquet/HTML outputs hold the same
//! table.

mod common;

use std::collections::BTreeMap;

use common::format_secs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-drift-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], dir: &Path) -> Output {
    let o = Command::new(BIN).args(args).current_dir(dir).output().expect("segcore runs");
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn demo(d: &Path) {
    run(&["demo", "--out", "data", "--profiles", "1500", "--format", "jsonl"], d);
}

fn segments() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo").display().to_string()
}

/// Members per segment from `segcore eval` at `as_of`.
fn eval_members(d: &Path, as_of: &str) -> BTreeMap<String, u64> {
    let segs = segments();
    run(
        &[
            "eval",
            "--segments",
            &segs,
            "--profiles",
            "data/profiles.jsonl",
            "--events",
            "data/events.jsonl",
            "--fx",
            "data/fx.json",
            "--as-of",
            as_of,
            "--out",
            "m.jsonl",
        ],
        d,
    );
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(d.join("m.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *out.entry(v["segment_id"].as_str().unwrap().to_string()).or_default() +=
            u64::from(v["member"].as_bool().unwrap());
    }
    out
}

fn rows(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn thirty_days_reconcile_with_batch_evaluation() {
    let d = tmp("thirty");
    demo(&d);
    let segs = segments();
    let o = run(
        &[
            "drift",
            "--segments",
            &segs,
            "--profiles",
            "data/profiles.jsonl",
            "--events",
            "data/events.jsonl",
            "--fx",
            "data/fx.json",
            "--from",
            "2026-02-13",
            "--to",
            "2026-03-15",
            "--json",
            "--csv",
            "d.csv",
            "--parquet",
            "d.parquet",
            "--html",
            "d.html",
        ],
        &d,
    );
    let rows = rows(&o);
    assert_eq!(rows.len(), 11 * 30);
    let mut by_segment: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
    for r in &rows {
        by_segment.entry(r["segment"].as_str().unwrap().to_string()).or_default().push(r);
    }
    // entered − exited is the day-over-day change, and the causes add up.
    let mut moves = 0;
    for (seg, days) in &by_segment {
        for w in days.windows(2) {
            let (a, b) = (w[0], w[1]);
            let delta = b["members"].as_i64().unwrap() - a["members"].as_i64().unwrap();
            assert_eq!(delta, a["entered"].as_i64().unwrap() - a["exited"].as_i64().unwrap(), "{seg} {}", a["day"]);
        }
        for r in days {
            let by = |k: &str| r[k].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>();
            assert_eq!(by("entered_by"), r["entered"].as_u64().unwrap());
            assert_eq!(by("exited_by"), r["exited"].as_u64().unwrap());
            moves += r["entered"].as_u64().unwrap() + r["exited"].as_u64().unwrap();
        }
    }
    assert!(moves > 1000, "the demo data moves: {moves}");
    // Members at each step equal an independent batch evaluation at that instant (every 6th day
    // and the end of the range, to keep the test short).
    for (i, day) in ["2026-02-13", "2026-02-19", "2026-02-25", "2026-03-03", "2026-03-09"].iter().enumerate() {
        let want = eval_members(&d, &format!("{day}T00:00:00Z"));
        for (seg, n) in &want {
            let got = by_segment[seg][i * 6]["members"].as_u64().unwrap();
            assert_eq!(got, *n, "{seg} on {day}");
        }
    }
    let want = eval_members(&d, "2026-03-15T00:00:00Z");
    for (seg, days) in &by_segment {
        let last = days.last().unwrap();
        let end =
            last["members"].as_u64().unwrap() + last["entered"].as_u64().unwrap() - last["exited"].as_u64().unwrap();
        assert_eq!(end, want[seg], "{seg} at the end of the range");
    }
    // The CSV holds the same table; the Parquet file has one row per line.
    let csv = std::fs::read_to_string(d.join("d.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    let second: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(second[0], rows[0]["segment"].as_str().unwrap());
    assert_eq!(second[3], rows[0]["members"].to_string());
    let file = std::fs::File::open(d.join("d.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let n: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(n, rows.len());
    let html = std::fs::read_to_string(d.join("d.html")).unwrap();
    assert_eq!(html.matches("<svg class=\"drift\"").count(), 11);
}

#[test]
fn parquet_and_jsonl_inputs_give_the_same_rows() {
    // The demo writes the same seeded data in both formats; the Parquet route reads only the
    // columns the segments read.
    let d = tmp("formats");
    run(&["demo", "--out", "j", "--profiles", "800", "--format", "jsonl"], &d);
    run(&["demo", "--out", "p", "--profiles", "800", "--format", "parquet"], &d);
    let segs = segments();
    let rows_of = |dir: &str, ext: &str| {
        let (p, e) = (format!("{dir}/profiles.{ext}"), format!("{dir}/events.{ext}"));
        rows(&run(
            &[
                "drift",
                "--segments",
                &segs,
                "--profiles",
                &p,
                "--events",
                &e,
                "--fx",
                "j/fx.json",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-15",
                "--json",
            ],
            &d,
        ))
    };
    let (j, p) = (rows_of("j", "jsonl"), rows_of("p", "parquet"));
    assert_eq!(j.len(), 11 * 14);
    assert_eq!(j, p);
}

#[test]
fn local_days_follow_the_zone_across_dst() {
    let d = tmp("dst");
    demo(&d);
    let segs = segments();
    let o = run(
        &[
            "drift",
            "--segments",
            &segs,
            "--segment",
            "high_value",
            "--profiles",
            "data/profiles.jsonl",
            "--events",
            "data/events.jsonl",
            "--fx",
            "data/fx.json",
            "--from",
            "2026-03-06",
            "--to",
            "2026-03-11",
            "--zone",
            "America/New_York",
            "--json",
        ],
        &d,
    );
    let dst = rows(&o);
    let starts: Vec<&str> = dst.iter().map(|r| r["start"].as_str().unwrap()).collect();
    // EST (UTC−5) until Sunday 8 March 2026 02:00, then EDT (UTC−4): the 8th has 23 hours.
    assert_eq!(
        starts,
        [
            "2026-03-06T05:00:00Z",
            "2026-03-07T05:00:00Z",
            "2026-03-08T05:00:00Z",
            "2026-03-09T04:00:00Z",
            "2026-03-10T04:00:00Z"
        ]
    );
    // Weekly steps; bad ranges are refused.
    let o = run(
        &[
            "drift",
            "--segments",
            &segs,
            "--segment",
            "high_value",
            "--profiles",
            "data/profiles.jsonl",
            "--events",
            "data/events.jsonl",
            "--fx",
            "data/fx.json",
            "--from",
            "2026-02-01",
            "--to",
            "2026-03-01",
            "--every",
            "7d",
            "--json",
        ],
        &d,
    );
    assert_eq!(
        rows(&o).iter().map(|r| r["day"].as_str().unwrap()).collect::<Vec<_>>(),
        ["2026-02-01", "2026-02-08", "2026-02-15", "2026-02-22"]
    );
    for bad in [["--from", "2026-03-01", "--to", "2026-02-01"], ["--from", "2026-02-30", "--to", "2026-03-01"]] {
        let mut args = vec!["drift", "--segments", &segs, "--profiles", "data/profiles.jsonl"];
        args.extend(bad);
        let o = Command::new(BIN).args(&args).current_dir(&d).output().unwrap();
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("error[invalid_context]"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn drift_from_a_membership_log_equals_drift_from_the_data() {
    // A stream's log holds the same transitions a batch timeline finds (SPEC §23's stream =
    // snapshot), so counting them gives the same daily rows.
    let d = tmp("log");
    std::fs::create_dir_all(d.join("segs")).unwrap();
    std::fs::write(d.join("segs/active.yaml"), "id: active\nversion: 1.0.0\nrule: count(login within 2d) >= 1\n")
        .unwrap();
    std::fs::write(
        d.join("segs/spender.yaml"),
        "id: spender\nversion: 1.0.0\nrule: sum(purchase.amount within 5d) > 100\n",
    )
    .unwrap();
    let (mut stream, mut events, mut profiles) = (String::new(), String::new(), String::new());
    let mut x: u64 = 0x5EED;
    let t0 = 1_772_323_200i64; // 2026-03-01T00:00:00Z
    for k in 0..3000i64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let who = (x >> 33) % 150;
        let at = t0 + k * 345 + (x >> 50) as i64 % 300;
        let at = format_secs(at);
        let (name, props) = if (x >> 20) % 3 == 0 {
            ("purchase", format!(r#"{{"amount": {}}}"#, (x >> 40) % 90))
        } else {
            ("login", "{}".into())
        };
        stream.push_str(&format!(
            "{{\"id\": \"u{who}\", \"name\": \"{name}\", \"at\": \"{at}\", \"properties\": {props}}}\n"
        ));
        events.push_str(&format!(
            "{{\"entity_id\": \"u{who}\", \"name\": \"{name}\", \"at\": \"{at}\", \"properties\": {props}}}\n"
        ));
    }
    stream.push_str("{\"watermark\": \"2026-03-14T00:00:00Z\"}\n");
    for who in 0..150 {
        profiles.push_str(&format!("{{\"id\": \"u{who}\"}}\n"));
    }
    std::fs::write(d.join("stream.jsonl"), stream).unwrap();
    std::fs::write(d.join("events.jsonl"), events).unwrap();
    std::fs::write(d.join("profiles.jsonl"), profiles).unwrap();
    let stream_args =
        ["stream", "--segments", "segs", "--events", "stream.jsonl", "--log", "log", "--start", "2026-03-01T00:00:00Z"];
    run(&[&stream_args[..], &["--watermark-delay", "1m"]].concat(), &d);
    let range = ["--from", "2026-03-02", "--to", "2026-03-12", "--json"];
    let mut from_log = vec!["drift", "--log", "log"];
    from_log.extend(range);
    let mut from_data = vec!["drift", "--segments", "segs", "--profiles", "profiles.jsonl", "--events", "events.jsonl"];
    from_data.extend(range);
    let (a, b) = (rows(&run(&from_log, &d)), rows(&run(&from_data, &d)));
    assert_eq!(a.len(), 2 * 10);
    let moves: u64 = a.iter().map(|r| r["entered"].as_u64().unwrap() + r["exited"].as_u64().unwrap()).sum();
    assert!(moves > 100, "the data moves: {moves}");
    assert_eq!(a, b);
    // Past the log's watermark: refused, saying why.
    let o = Command::new(BIN)
        .args(["drift", "--log", "log", "--from", "2026-03-10", "--to", "2026-03-20"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("watermark"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
