//! Regression tests of the hardening issue's CLI items: a closed stdout (5), where `--out` may
//! point (8), duplicate profile ids (9), unterminated CSV quotes (10), bounded input records and
//! stale temporary files (13).
//!
//! Device and symlink cases use nodes inside the test's own folder (a symlink to `/dev/full`, a
//! FIFO), never the system's `/dev` entries, so a regression cannot replace `/dev/full` or
//! `/dev/stdout` on the machine running the tests.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");
const AS_OF: &str = "2026-03-15T00:00:00Z";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segcore-hardening-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs segcore under a 1 GiB address-space limit and a deadline: a reader that buffers without
/// bound fails or is killed instead of taking the machine's memory.
fn run_bounded(args: &[&str], cwd: &Path, deadline: Duration) -> Output {
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -v 1048576; exec \"$@\"", "sh", BIN])
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("segcore {args:?} still running after {deadline:?}; killed. {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn segcore(args: &[&str], cwd: &Path) -> Output {
    run_bounded(args, cwd, Duration::from_secs(60))
}

/// Runs segcore with a standard output whose reading end is closed as soon as it has started
/// (before it has read its inputs; outputs larger than a pipe buffer fail even if it were not).
fn with_closed_stdout(args: &[&str], cwd: &Path) -> Output {
    let mut child =
        Command::new(BIN).args(args).current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// A registry of `n` definitions whose canonical JSON together is larger than a pipe buffer.
fn big_registry(dir: &Path, n: usize) {
    for i in 0..n {
        write(
            dir,
            &format!("segs/s{i:03}.yaml"),
            &format!("id: s{i:03}\nversion: 1.0.0\nrule: |\n  age   >=   {i}  and country = \"US\" and plan in [\"pro\", \"team\"]\n"),
        );
    }
}

fn eval_args<'a>(profiles: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["eval", "--segments", "segs", "--profiles", profiles, "--as-of", AS_OF, "--out", out]
}

// ---------------------------------------------------------------------------------------------
// Item 5: a closed standard output.

#[test]
fn closed_stdout_is_a_quiet_exit_zero_for_every_printing_command() {
    let dir = tmp("pipe");
    big_registry(&dir, 300);
    write(&dir, "schema.yaml", "attributes:\n  age: int\n  country: string\n  plan: string\n");
    write(&dir, "p.jsonl", "{\"id\": \"a\", \"attributes\": {\"age\": 30, \"country\": \"US\", \"plan\": \"pro\"}}\n");
    let cases: Vec<Vec<&str>> = vec![
        vec!["hash", "segs"],
        vec!["hash", "--canonical", "segs"],
        vec!["fmt", "--stdout", "segs"],
        vec!["fmt", "--rule", "a = 1"],
        vec!["check", "segs"],
        vec!["sql", "--dialect", "duckdb", "--segments", "segs", "--schema", "schema.yaml", "--as-of", AS_OF],
        vec![
            "explain",
            "--segments",
            "segs",
            "--segment",
            "s007",
            "--profiles",
            "p.jsonl",
            "--entity",
            "a",
            "--as-of",
            AS_OF,
        ],
        vec![
            "explain",
            "--segments",
            "segs",
            "--segment",
            "s007",
            "--profiles",
            "p.jsonl",
            "--entity",
            "a",
            "--as-of",
            AS_OF,
            "--json",
        ],
        eval_args("p.jsonl", "o.jsonl"),
    ];
    for args in cases {
        let out = with_closed_stdout(&args, &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    // The work of eval is done in full even though its summary could not be printed.
    assert_eq!(std::fs::read_to_string(dir.join("o.jsonl")).unwrap().lines().count(), 300);
}

#[test]
fn closed_stdout_does_not_stop_fmt_from_formatting_every_file() {
    let dir = tmp("pipefmt");
    big_registry(&dir, 20);
    let out = with_closed_stdout(&["fmt", "segs"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let check = segcore(&["fmt", "--check", "segs"], &dir);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn a_full_stdout_is_an_io_error_not_a_panic() {
    let dir = tmp("fullstdout");
    big_registry(&dir, 300);
    let out = Command::new(BIN)
        .args(["hash", "--canonical", "segs"])
        .current_dir(&dir)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error[io]") && !err.contains("panicked"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Item 8: where --out may point.

fn eval_fixture(name: &str) -> PathBuf {
    let dir = tmp(name);
    write(&dir, "segs/adult.yaml", "id: adult\nversion: 1.0.0\nrule: age >= 18\n");
    write(
        &dir,
        "p.jsonl",
        "{\"id\": \"a\", \"attributes\": {\"age\": 30}}\n{\"id\": \"b\", \"attributes\": {\"age\": 3}}\n",
    );
    write(&dir, "e.jsonl", "{\"entity_id\": \"a\", \"name\": \"x\", \"at\": \"2026-03-01T00:00:00Z\"}\n");
    dir
}

#[test]
fn out_naming_an_input_file_is_refused_before_anything_is_written() {
    let dir = eval_fixture("sameinput");
    let profiles = std::fs::read_to_string(dir.join("p.jsonl")).unwrap();
    let events = std::fs::read_to_string(dir.join("e.jsonl")).unwrap();
    std::os::unix::fs::symlink("p.jsonl", dir.join("link.jsonl")).unwrap();
    std::fs::hard_link(dir.join("e.jsonl"), dir.join("hard.jsonl")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for out in ["p.jsonl", "./p.jsonl", "sub/../p.jsonl", "link.jsonl", "e.jsonl", "hard.jsonl"] {
        let mut args = eval_args("p.jsonl", out);
        args.extend(["--events", "e.jsonl"]);
        let o = segcore(&args, &dir);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "--out {out}: {t}");
        assert!(t.contains("error[io]") && t.contains("is the same file as --"), "--out {out}: {t}");
        assert_eq!(std::fs::read_to_string(dir.join("p.jsonl")).unwrap(), profiles, "--out {out}");
        assert_eq!(std::fs::read_to_string(dir.join("e.jsonl")).unwrap(), events, "--out {out}");
        assert!(std::fs::symlink_metadata(dir.join("link.jsonl")).unwrap().file_type().is_symlink());
    }
    // The same rule for the FX table and the schema, and for segcore sql.
    write(&dir, "fx.json", "{}");
    let mut args = eval_args("p.jsonl", "fx.json");
    args.extend(["--fx", "fx.json", "--format", "jsonl"]);
    let o = segcore(&args, &dir);
    assert!(o.status.code() == Some(1) && text(&o).contains("is the same file as --fx"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.join("fx.json")).unwrap(), "{}");
    write(&dir, "schema.yaml", "attributes:\n  age: int\n");
    let o = segcore(
        &[
            "sql",
            "--dialect",
            "duckdb",
            "--segments",
            "segs",
            "--schema",
            "schema.yaml",
            "--as-of",
            AS_OF,
            "--out",
            "./schema.yaml",
        ],
        &dir,
    );
    assert!(o.status.code() == Some(1) && text(&o).contains("is the same file as --schema"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.join("schema.yaml")).unwrap(), "attributes:\n  age: int\n");
    // A definition file, in the --segments folder or named as --segments.
    let definition = std::fs::read_to_string(dir.join("segs/adult.yaml")).unwrap();
    for (segments, out) in [("segs", "segs/adult.yaml"), ("segs/adult.yaml", "./segs/adult.yaml")] {
        let o = segcore(
            &[
                "eval",
                "--segments",
                segments,
                "--profiles",
                "p.jsonl",
                "--as-of",
                AS_OF,
                "--out",
                out,
                "--format",
                "jsonl",
            ],
            &dir,
        );
        assert!(o.status.code() == Some(1) && text(&o).contains("is the same file as --segments"), "{}", text(&o));
        assert_eq!(std::fs::read_to_string(dir.join("segs/adult.yaml")).unwrap(), definition);
    }
}

#[test]
fn out_to_a_device_writes_to_the_device_and_reports_its_errors() {
    let dir = eval_fixture("device");
    // A symlink to /dev/full in the test folder: the device is written through the link (ENOSPC),
    // and neither the link nor the device is replaced by a regular file.
    std::os::unix::fs::symlink("/dev/full", dir.join("full.jsonl")).unwrap();
    let o = segcore(&eval_args("p.jsonl", "full.jsonl"), &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error[io]") && t.contains("No space left on device"), "{t}");
    assert!(std::fs::symlink_metadata(dir.join("full.jsonl")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_link(dir.join("full.jsonl")).unwrap(), Path::new("/dev/full"));
    assert!(!std::fs::metadata("/dev/full").unwrap().is_file());

    // A symlink to /dev/stdout: the rows arrive on standard output.
    std::os::unix::fs::symlink("/dev/stdout", dir.join("stdout.jsonl")).unwrap();
    let o = segcore(&eval_args("p.jsonl", "stdout.jsonl"), &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    // Only the rows: the summary goes to stderr when the output is stdout.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows[0].starts_with("{\"entity_id\":\"a\",\"segment_id\":\"adult\""), "{stdout}");
    assert!(rows[1].starts_with("{\"entity_id\":\"b\",\"segment_id\":\"adult\""), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("segment    members"), "{t}");
    assert!(std::fs::symlink_metadata(dir.join("stdout.jsonl")).unwrap().file_type().is_symlink());
    // Standard output redirected to a file: the rows land in that file (not in a new file renamed
    // over it behind the shell's back), the summary on stderr.
    let captured = dir.join("captured.txt");
    let o = Command::new(BIN)
        .args(eval_args("p.jsonl", "stdout.jsonl"))
        .current_dir(&dir)
        .stdout(std::fs::File::create(&captured).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all = std::fs::read_to_string(&captured).unwrap();
    assert_eq!(all.lines().count(), 2, "{all}");
    assert!(all.starts_with("{\"entity_id\":\"a\",\"segment_id\":\"adult\""), "{all}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 rows written to stdout.jsonl"), "{}", text(&o));
    assert!(!has_temp_files(&dir), "temporary files left behind");
}

#[test]
fn out_to_a_fifo_streams_into_it() {
    let dir = eval_fixture("fifo");
    let fifo = dir.join("rows.csv");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            std::fs::File::open(fifo).unwrap().read_to_string(&mut s).unwrap();
            s
        })
    };
    let o = segcore(&eval_args("p.jsonl", "rows.csv"), &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Checked before joining: a FIFO replaced by a regular file would leave the reader blocked.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    let rows = reader.join().unwrap();
    assert!(
        rows.starts_with("entity_id,segment_id,version,definition_hash,as_of,member,outcome\na,adult,1.0.0,"),
        "{rows}"
    );
    assert_eq!(rows.lines().count(), 3, "{rows}");
    assert!(!has_temp_files(&dir));
}

#[test]
fn out_through_a_symlink_replaces_the_target_and_keeps_the_link_and_mode() {
    let dir = eval_fixture("outlink");
    write(&dir, "real/rows.jsonl", "old\n");
    std::fs::set_permissions(dir.join("real/rows.jsonl"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real/rows.jsonl", dir.join("rows.jsonl")).unwrap();
    let o = segcore(&eval_args("p.jsonl", "rows.jsonl"), &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::symlink_metadata(dir.join("rows.jsonl")).unwrap().file_type().is_symlink());
    let rows = std::fs::read_to_string(dir.join("real/rows.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 2, "{rows}");
    assert_eq!(std::fs::metadata(dir.join("real/rows.jsonl")).unwrap().mode() & 0o7777, 0o640);
    // A dangling link: the file is created where the link points.
    std::os::unix::fs::symlink("real/new.jsonl", dir.join("new.jsonl")).unwrap();
    let o = segcore(&eval_args("p.jsonl", "new.jsonl"), &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::symlink_metadata(dir.join("new.jsonl")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.join("real/new.jsonl")).unwrap().lines().count(), 2);
    assert!(!has_temp_files(&dir) && !has_temp_files(&dir.join("real")));
}

#[test]
fn fmt_writes_through_symlinks_and_keeps_the_file_mode() {
    let dir = tmp("fmtlink");
    let messy = "rule: \"age>=18\"\nid: a\nversion: 1.0.0\n";
    write(&dir, "defs/a.yaml", messy);
    std::fs::set_permissions(dir.join("defs/a.yaml"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(dir.join("segs")).unwrap();
    std::os::unix::fs::symlink("../defs/a.yaml", dir.join("segs/a.yaml")).unwrap();
    write(&dir, "segs/b.yaml", messy.replace("id: a", "id: b").as_str());
    std::fs::set_permissions(dir.join("segs/b.yaml"), std::fs::Permissions::from_mode(0o751)).unwrap();
    let o = segcore(&["fmt", "segs"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::symlink_metadata(dir.join("segs/a.yaml")).unwrap().file_type().is_symlink());
    let formatted = std::fs::read_to_string(dir.join("defs/a.yaml")).unwrap();
    assert!(formatted.starts_with("id: a\nversion: 1.0.0\n"), "{formatted}");
    assert_eq!(std::fs::metadata(dir.join("defs/a.yaml")).unwrap().mode() & 0o7777, 0o600);
    assert_eq!(std::fs::metadata(dir.join("segs/b.yaml")).unwrap().mode() & 0o7777, 0o751);
    assert_eq!(segcore(&["fmt", "--check", "segs"], &dir).status.code(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// Item 9: duplicate profile ids.

#[test]
fn duplicate_profile_ids_are_an_error_naming_both_rows() {
    let dir = eval_fixture("dupes");
    write(
        &dir,
        "d.jsonl",
        "{\"id\": \"a\", \"attributes\": {\"age\": 30}}\n{\"id\": \"b\"}\n\n{\"id\": \"a\", \"attributes\": {\"age\": 3}}\n",
    );
    let mut args = eval_args("d.jsonl", "o.jsonl");
    args.extend(["--events", "e.jsonl"]);
    let o = segcore(&args, &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("error[duplicate_profile_id] d.jsonl:4: profile id `a` appears twice: d.jsonl:1 and d.jsonl:4"),
        "{t}"
    );
    assert!(!dir.join("o.jsonl").exists());

    // CSV: the line numbers are the file's lines (header is line 1; a quoted cell spans two).
    write(&dir, "d.csv", "id,age,note\na,30,\"two\nlines\"\nb,4,\na,5,\n");
    let o = segcore(&eval_args("d.csv", "o.csv"), &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("error[duplicate_profile_id] d.csv:5: profile id `a` appears twice: d.csv:2 and d.csv:5"),
        "{t}"
    );
    assert!(!dir.join("o.csv").exists());
}

// ---------------------------------------------------------------------------------------------
// Item 10: an unterminated CSV quote.

#[test]
fn an_unterminated_csv_quote_is_an_error_at_the_line_it_opened() {
    let dir = eval_fixture("quote");
    write(&dir, "q.csv", "id,age,note\na,30,ok\nb,40,\"never closed\nc,50,x\nd,60,y\n");
    let o = segcore(&eval_args("q.csv", "o.jsonl"), &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error[invalid_profile] q.csv:3: "), "{t}");
    assert!(t.contains("quote") && t.contains("never closed"), "{t}");
    assert!(!dir.join("o.jsonl").exists());
    // Events CSV, too.
    write(&dir, "e.csv", "entity_id,name,at,p\na,x,2026-03-01T00:00:00Z,\"open\na,x,2026-03-01T00:00:00Z,1\n");
    let mut args = eval_args("p.jsonl", "o.jsonl");
    args.extend(["--events", "e.csv"]);
    let o = segcore(&args, &dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error[invalid_profile] e.csv:2: "), "{t}");
    // A closed quote spanning lines, and doubled quotes, are fine.
    write(&dir, "ok.csv", "id,age,note\na,30,\"two\nlines, \"\"quoted\"\"\"\nb,4,x\n");
    let o = segcore(&eval_args("ok.csv", "o.jsonl"), &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.join("o.jsonl")).unwrap().lines().count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Item 13: bounded records, stale temporary files.

#[test]
fn endless_input_lines_stop_at_the_record_limit() {
    let dir = eval_fixture("zero");
    for (format, flag) in [("jsonl", "--profiles"), ("csv", "--profiles"), ("jsonl", "--events"), ("csv", "--events")] {
        let mut args =
            vec!["eval", "--segments", "segs", "--as-of", AS_OF, "--out", "o.jsonl", "--input-format", format];
        if flag == "--profiles" {
            args.extend(["--profiles", "/dev/zero"]);
        } else {
            args.extend(["--profiles", "p.jsonl", "--events", "/dev/zero"]);
        }
        let o = run_bounded(&args, &dir, Duration::from_secs(20));
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{format} {flag}: {t}");
        assert!(t.contains("error[limit_exceeded] /dev/zero:1: "), "{format} {flag}: {t}");
        assert!(t.contains("33554432"), "{format} {flag}: {t}");
    }
    // FX tables, schemas and single profile documents are bounded the same way.
    let o = run_bounded(
        &[
            "eval",
            "--segments",
            "segs",
            "--profiles",
            "p.jsonl",
            "--as-of",
            AS_OF,
            "--out",
            "o.jsonl",
            "--fx",
            "/dev/zero",
        ],
        &dir,
        Duration::from_secs(20),
    );
    assert!(o.status.code() == Some(1) && text(&o).contains("error[limit_exceeded] /dev/zero: "), "{}", text(&o));
    let o = run_bounded(&["check", "segs", "--schema", "/dev/zero"], &dir, Duration::from_secs(20));
    assert!(o.status.code() == Some(1) && text(&o).contains("error[limit_exceeded] /dev/zero: "), "{}", text(&o));
    let o = run_bounded(
        &["explain", "--segments", "segs", "--segment", "adult", "--profile", "/dev/zero", "--as-of", AS_OF],
        &dir,
        Duration::from_secs(20),
    );
    assert!(o.status.code() == Some(1) && text(&o).contains("error[limit_exceeded] /dev/zero: "), "{}", text(&o));
}

#[test]
fn a_line_just_over_the_record_limit_fails_fast() {
    let dir = eval_fixture("bigline");
    let limit = 32 << 20;
    // Valid JSON, one byte over the limit (the newline is not counted).
    let head = "{\"id\": \"big\", \"attributes\": {\"s\": \"";
    let tail = "\"}}";
    let mut line = String::with_capacity(limit + 2);
    line.push_str(head);
    line.push_str(&"x".repeat(limit + 1 - head.len() - tail.len()));
    line.push_str(tail);
    assert_eq!(line.len(), limit + 1);
    std::fs::write(dir.join("big.jsonl"), format!("{{\"id\": \"a\"}}\n{line}\n{{\"id\": \"c\"}}\n")).unwrap();
    let o = run_bounded(&eval_args("big.jsonl", "o.jsonl"), &dir, Duration::from_secs(20));
    let _ = std::fs::remove_file(dir.join("big.jsonl"));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error[limit_exceeded] big.jsonl:2: "), "{t}");
    assert!(!dir.join("o.jsonl").exists());
    // (the 33 MiB inputs are deleted before asserting, so a failure leaves none behind)
    // A CSV row over the limit.
    let cell = "y".repeat(limit);
    std::fs::write(dir.join("big.csv"), format!("id,s\na,1\nb,{cell}\n")).unwrap();
    let o = run_bounded(&eval_args("big.csv", "o.jsonl"), &dir, Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(&dir);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error[limit_exceeded] big.csv:3: "), "{t}");
}

#[test]
fn event_rows_are_held_to_the_data_nesting_limit() {
    // The events JSONL is the CLI's own format: its property values obey the same 100-level
    // limit as profile values (SPEC §19), and deeper text is refused before parsing.
    let dir = eval_fixture("eventdepth");
    let event = |n: usize| {
        format!(
            "{{\"entity_id\": \"a\", \"name\": \"x\", \"at\": \"2026-03-01T00:00:00Z\", \"properties\": {{\"p\": {}1{}}}}}\n",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    for (n, ok) in [(100, true), (101, false), (100_000, false)] {
        write(&dir, "deep.jsonl", &event(n));
        let mut args = eval_args("p.jsonl", "o.jsonl");
        args.extend(["--events", "deep.jsonl"]);
        let o = segcore(&args, &dir);
        let t = text(&o);
        if ok {
            assert_eq!(o.status.code(), Some(0), "{n}: {t}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{n}: {t}");
            assert!(t.contains("error[limit_exceeded] deep.jsonl:1: "), "{n}: {t}");
        }
    }
}

fn has_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).any(|e| {
        let n = e.file_name().to_string_lossy().to_string();
        n.contains(".segcore-tmp.") || n.contains(".tmp-")
    })
}

#[test]
fn stale_temporary_files_of_dead_runs_are_removed_by_the_next_run() {
    let dir = eval_fixture("stale");
    // pid_max is at most 2^22, so these pids belong to no process.
    let stale = write(&dir, "out/.rows.jsonl.segcore-tmp.99999999", "half a file");
    let legacy = write(&dir, "out/.rows.jsonl.tmp-99999998", "half a file");
    // A temporary file of a live process (this test) and one of another output stay.
    let live = write(&dir, &format!("out/.rows.jsonl.segcore-tmp.{}", std::process::id()), "busy");
    let other = write(&dir, "out/.other.jsonl.segcore-tmp.99999999", "not ours");
    let o = segcore(&eval_args("p.jsonl", "out/rows.jsonl"), &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!stale.exists() && !legacy.exists(), "stale temporary files were left");
    assert!(live.exists() && other.exists());
    assert_eq!(std::fs::read_to_string(dir.join("out/rows.jsonl")).unwrap().lines().count(), 2);
}
