//! The bad-input matrix (`tests/hostile/cases.json`, README there), CLI row: every case that has a
//! CLI entry point is written to files and run through the real `segcore` binary — `check` for
//! rules, definitions and schemas, `eval` for profiles, FX tables, `as_of` and tables (and for
//! every `{"member": …}` expectation); a table is written as `profiles.csv` (and `events.csv`) and
//! run with `eval --profiles profiles.csv --events events.csv`. The error kind is read from the
//! first `error[kind]` on stderr (the CLI has no error classes: a case's `class` is not checked
//! here); errors must exit non-zero (never 101, a panic). After each case the `sanity` definition
//! and profile are evaluated and must be members. Writes `target/conformance/hostile-cli.json`,
//! with the message of every error (the first diagnostic's, without its location prefix).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `text` field: a string, or parts (strings and `{"repeat": s, "n": N}`) concatenated.
fn template(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                _ => p["repeat"].as_str().unwrap().repeat(p["n"].as_u64().unwrap() as usize),
            })
            .collect(),
        _ => panic!("bad text template {v}"),
    }
}

/// A `deep` field as JSON text, built iteratively (`[[…leaf…]]` or `{"a": {"a": … leaf …}}`).
fn deep_json(d: &Value) -> String {
    let n = d["n"].as_u64().unwrap() as usize;
    let leaf = d["leaf"].to_string();
    let (open, close) = match d["kind"].as_str().unwrap() {
        "list" => ("[", "]"),
        "object" => ("{\"a\":", "}"),
        k => panic!("unknown deep kind {k}"),
    };
    let mut s = String::with_capacity(n * (open.len() + close.len()) + leaf.len());
    for _ in 0..n {
        s.push_str(open);
    }
    s.push_str(&leaf);
    for _ in 0..n {
        s.push_str(close);
    }
    s
}

const HOLE: &str = "\u{1}deep value goes here\u{1}";

/// `doc` with the JSON text `deep` at `path` (the document is serialized with a placeholder
/// there, which is then replaced: no recursive code ever sees the deep value).
fn with_deep(doc: &Value, path: &[Value], deep: &str) -> String {
    let mut doc = doc.clone();
    let mut slot = &mut doc;
    for key in path {
        slot = match key {
            Value::String(k) => &mut slot[k.as_str()],
            Value::Number(i) => &mut slot[i.as_u64().unwrap() as usize],
            _ => panic!("bad path element {key}"),
        };
    }
    *slot = Value::String(HOLE.into());
    let text = doc.to_string();
    let hole = Value::String(HOLE.into()).to_string();
    assert_eq!(text.matches(&hole).count(), 1);
    text.replacen(&hole, deep, 1)
}

fn run(args: &[&str], cwd: &Path) -> Result<Output, String> {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Read both pipes while waiting, so a chatty child never blocks.
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    let deadline = Duration::from_secs(60);
    if rx.recv_timeout(deadline).is_err() {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        let _ = waiter.join();
        return Err(format!("timed out after {deadline:?} (killed)"));
    }
    waiter.join().unwrap().map_err(|e| e.to_string())
}

/// The first `error[kind]` on stderr.
fn first_kind(stderr: &str) -> Option<String> {
    let start = stderr.find("error[")? + "error[".len();
    let end = stderr[start..].find(']')? + start;
    Some(stderr[start..end].to_string())
}

/// The message of the first diagnostic on stderr: the line `error[kind] <origin>: <place>:
/// <message>` without the kind, the origin (`segs/h.json:1:5`, `--as-of`) and the data place
/// (`p.csv:3`, `profiles row 2, column `age``, `... (id `p1`)`), each present or not.
fn first_message(stderr: &str) -> Option<String> {
    let start = stderr.find("error[")?;
    let line = stderr[start..].lines().next()?;
    let rest = &line[line.find(']')? + 1..];
    if let Some(message) = rest.strip_prefix(": ") {
        return Some(message.to_string());
    }
    // ` <origin or place>: ` — neither contains `: `.
    let (_, mut message) = rest.split_once(": ")?;
    // A data place after an origin: `<source>:<line>` or `<source> row <n>`, then `, column ...`
    // and ` (id ...)`.
    if let Some((head, tail)) = message.split_once(": ") {
        let place = head.split([',', ' ']).next().unwrap_or("");
        let is_line =
            place.rsplit_once(':').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if is_line || head.contains(" row ") || head.starts_with("profile (id ") {
            message = tail;
        }
    }
    Some(message.to_string())
}

/// A column-oriented table (`{"column": [values…]}`) as CSV text: strings as they are (quoted
/// when they must be), numbers in their JSON spelling, `null` as an empty cell (absent).
fn csv_table(table: &Value) -> String {
    let cell = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) if s.contains([',', '"', '\n', '\r']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let columns = table.as_object().unwrap();
    let rows = columns.values().map(|c| c.as_array().unwrap().len()).max().unwrap_or(0);
    let mut out = columns.keys().map(|k| cell(&Value::String(k.clone()))).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in 0..rows {
        out.push_str(&columns.values().map(|c| cell(c.get(r).unwrap_or(&Value::Null))).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// The id of a table's first profile row: the entity whose membership a `table` case expects.
fn first_id(case: &Value) -> String {
    let profiles = case["profiles"].as_object().unwrap();
    match profiles.get("id").and_then(|c| c.get(0)) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The `member` of the row for `entity` in an eval output (JSONL).
fn member(out_file: &Path, entity: &str) -> Option<bool> {
    let text = std::fs::read_to_string(out_file).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|row| row["entity_id"] == entity)
        .and_then(|row| row["member"].as_bool())
}

fn short(s: &str) -> String {
    let s = s.trim();
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &s[..cut])
    } else {
        s.to_string()
    }
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(dir: PathBuf) -> Files {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("segs")).unwrap();
        Files { dir }
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).unwrap();
    }
}

/// Runs one case: `Ok(())` or a description of what went wrong, and the message of the error
/// the CLI printed, if any.
fn run_case(case: &Value, base: &Value, dir: PathBuf) -> (Result<(), String>, Option<String>) {
    let mut message = None;
    let result = run_case_in(case, base, dir, &mut message);
    (result, message)
}

fn run_case_in(case: &Value, base: &Value, dir: PathBuf, message: &mut Option<String>) -> Result<(), String> {
    let files = Files::new(dir);
    let input = case["input"].as_str().unwrap();
    let expect = &case["expect"];
    let mut definition = base["definition"].clone();
    if let Some(rule) = case.get("rule") {
        definition["rule"] = rule.clone();
    }
    let mut profile = base["profile"].to_string();
    let mut as_of = base["as_of"].as_str().unwrap().to_string();
    let mut extra: Vec<String> = Vec::new();
    let mut profiles_file = "p.jsonl";
    match input {
        "rule" => definition["rule"] = Value::String(template(&case["text"])),
        "definition_yaml" | "definition_json" => {}
        "profile" => {
            let path = case["path"].as_array().unwrap();
            profile = with_deep(&base["profile"], path, &deep_json(&case["deep"]));
        }
        "profile_json" => profile = template(&case["text"]),
        "fx" => {
            files.write("fx.json", &format!("{{\"EUR/USD\": {}}}", deep_json(&case["deep"])));
            extra.extend(["--fx".into(), "fx.json".into()]);
        }
        "schema" => {
            files.write("schema.json", &format!("{{\"attributes\": {{\"age\": {}}}}}", deep_json(&case["deep"])));
            extra.extend(["--schema".into(), "schema.json".into()]);
        }
        "as_of" => as_of = template(&case["text"]),
        "table" => {
            files.write("profiles.csv", &csv_table(&case["profiles"]));
            profiles_file = "profiles.csv";
            if let Some(events) = case.get("events") {
                files.write("events.csv", &csv_table(events));
                extra.extend(["--events".into(), "events.csv".into()]);
            }
        }
        other => return Err(format!("unknown input {other}")),
    }
    match input {
        "definition_yaml" => files.write("segs/h.yaml", &template(&case["text"])),
        "definition_json" => files.write("segs/h.json", &template(&case["text"])),
        _ => files.write("segs/h.json", &definition.to_string()),
    }
    assert!(!profile.contains('\n'), "a JSONL profile is one line");
    files.write("p.jsonl", &format!("{profile}\n"));

    let data_input = matches!(input, "profile" | "profile_json" | "fx" | "as_of" | "table");
    let evaluate = data_input || expect.get("member").is_some();
    let mut args: Vec<String> = if evaluate {
        ["eval", "--segments", "segs", "--profiles", profiles_file, "--as-of", &as_of, "--out", "out.jsonl"]
            .map(String::from)
            .to_vec()
    } else {
        ["check", "segs"].map(String::from).to_vec()
    };
    args.extend(extra);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv, &files.dir)?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out.status.code();
    *message = first_message(&stderr);
    let got = || format!("exit {code:?}, stderr: {}", short(&stderr));
    if code == Some(101) || stderr.contains("panicked") || code.is_none() {
        return Err(format!("crashed: {}", got()));
    }
    match expect {
        Value::String(kind) => {
            if code == Some(0) {
                return Err(format!("expected error[{kind}], got success: {}", got()));
            }
            match first_kind(&stderr) {
                Some(k) if k == *kind => {}
                Some(k) => return Err(format!("expected error[{kind}], got error[{k}]: {}", got())),
                None => return Err(format!("expected error[{kind}], no error kind printed: {}", got())),
            }
        }
        _ => {
            let want = expect["member"].as_bool().unwrap();
            if code != Some(0) {
                return Err(format!("expected member={want}, got an error: {}", got()));
            }
            let id = match input {
                "table" => first_id(case),
                _ => base["profile"]["id"].as_str().unwrap().to_string(),
            };
            match member(&files.dir.join("out.jsonl"), &id) {
                Some(m) if m == want => {}
                m => return Err(format!("expected member={want}, got {m:?}")),
            }
        }
    }
    Ok(())
}

/// Evaluates the sanity definition and profile; `Ok(())` when the profile is a member.
fn sanity(sane: &Value, dir: PathBuf) -> Result<(), String> {
    let files = Files::new(dir);
    files.write("segs/sane.json", &sane["definition"].to_string());
    files.write("p.jsonl", &format!("{}\n", sane["profile"]));
    let as_of = sane["as_of"].as_str().unwrap();
    let out = run(
        &["eval", "--segments", "segs", "--profiles", "p.jsonl", "--as-of", as_of, "--out", "out.jsonl"],
        &files.dir,
    )?;
    let id = sane["profile"]["id"].as_str().unwrap();
    let want = sane["expect"].as_bool().unwrap();
    match member(&files.dir.join("out.jsonl"), id) {
        Some(m) if out.status.success() && m == want => Ok(()),
        m => Err(format!(
            "sanity failed after the case: exit {:?}, member {m:?}, stderr: {}",
            out.status.code(),
            short(&String::from_utf8_lossy(&out.stderr))
        )),
    }
}

#[test]
fn hostile_inputs_are_refused_with_the_expected_kind() {
    let start = Instant::now();
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/hostile/cases.json")).unwrap()).unwrap();
    let work = std::env::temp_dir().join(format!("segcore-hostile-cli-{}", std::process::id()));
    let applicable: Vec<&Value> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c.get("runtimes").and_then(Value::as_array).is_none_or(|r| r.iter().any(|x| x == "cli"))
                && matches!(
                    c["input"].as_str(),
                    Some(
                        "rule"
                            | "definition_yaml"
                            | "definition_json"
                            | "profile"
                            | "profile_json"
                            | "fx"
                            | "schema"
                            | "as_of"
                            | "table"
                    )
                )
        })
        .collect();
    // Two workers: the cases are independent processes.
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Outcome = (String, Result<(), String>, Option<String>);
    let results: Vec<Outcome> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (next, applicable, cases, work) = (&next, &applicable, &cases, &work);
                s.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(case) = applicable.get(i) else { break };
                        let name = case["name"].as_str().unwrap().to_string();
                        let (mut result, message) = run_case(case, &cases["base"], work.join(&name));
                        if let Err(e) = sanity(&cases["sanity"], work.join(format!("sanity-{w}"))) {
                            result = Err(match result {
                                Ok(()) => e,
                                Err(r) => format!("{r}; {e}"),
                            });
                        }
                        let _ = std::fs::remove_dir_all(work.join(&name));
                        out.push((i, name, result, message));
                    }
                    out
                })
            })
            .collect();
        let mut all: Vec<_> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        all.sort_by_key(|(i, _, _, _)| *i);
        all.into_iter().map(|(_, n, r, m)| (n, r, m)).collect()
    });
    let _ = std::fs::remove_dir_all(&work);
    let failures: Vec<Value> =
        results.iter().filter_map(|(name, r, _)| r.as_ref().err().map(|e| json!({"name": name, "error": e}))).collect();
    let messages: serde_json::Map<String, Value> =
        results.iter().filter_map(|(name, _, m)| m.as_ref().map(|m| (name.clone(), json!(m)))).collect();
    let report = json!({
        "runtime": "cli",
        "passed": results.len() - failures.len(),
        "total": results.len(),
        "failures": failures,
        "messages": messages,
    });
    let out_dir = root().join("target/conformance");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("hostile-cli.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!(
        "hostile (cli): {}/{} in {:.1}s",
        results.len() - failures.len(),
        results.len(),
        start.elapsed().as_secs_f64()
    );
    for f in &failures {
        println!("  FAIL {}: {}", f["name"].as_str().unwrap(), f["error"].as_str().unwrap());
    }
    assert!(failures.is_empty(), "{} of {} hostile cases failed (see above)", failures.len(), results.len());
}
