//! `segcore serve` (SPEC §28) as a real process on 127.0.0.1, driven over raw TCP so that slow,
//! oversize and malformed requests can be sent exactly: publication and the change feed, ETags,
//! evaluation equal to the core's, the audit log across a restart, webhooks with retries, bad
//! input answered with stable kinds, and no response mixing two bundles under load.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segcore-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("reg")).unwrap();
    d
}

/// Writes a file the watcher can never see half-written (a temporary file renamed over it).
fn put(path: &Path, text: &str) {
    let tmp = path.parent().unwrap().parent().unwrap().join("put.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn write_defs(dir: &Path, threshold: u32, version: &str) {
    put(&dir.join("reg/adults.yaml"), "id: adults\nversion: 1.0.0\nowner: crm\nrule: age >= 18\n");
    put(
        &dir.join("reg/big_spender.yaml"),
        &format!("id: big_spender\nversion: {version}\nrule: sum(purchase.amount within 30d) > {threshold}\n"),
    );
}

/// A bundle of the test registry at `threshold`, written atomically (rename) to `dir/live.json`.
fn publish_bundle(dir: &Path, threshold: u32, version: &str) {
    write_defs(dir, threshold, version);
    let out = dir.join("next.json");
    let o = Command::new(BIN)
        .args(["bundle", dir.join("reg").to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::rename(&out, dir.join("live.json")).unwrap();
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(source: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", source.to_str().unwrap(), "--listen", "127.0.0.1:0", "--poll", "50ms"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("segcore serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line:?}"));
    Server { child, port }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
    fn kind(&self) -> String {
        self.json()["error"]["kind"].as_str().unwrap_or_default().to_string()
    }
}

fn read_response(s: &mut TcpStream) -> Resp {
    let mut raw = vec![];
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no header end: {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Resp { status, headers, body: body.to_string() }
}

fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    read_response(&mut s)
}

fn get(port: u16, path: &str) -> Resp {
    request(port, "GET", path, &[], "")
}

fn profile(as_of: &str) -> String {
    json!({
        "profile": {"id": "u1", "attributes": {"age": 30},
            "events": [{"name": "purchase", "at": "2026-03-10T00:00:00Z", "properties": {"amount": 550}}]},
        "as_of": as_of,
    })
    .to_string()
}

fn wait_for(port: u16, hash: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(port, "/health").json()["bundle"] != hash {
        assert!(Instant::now() < deadline, "bundle {hash} was never published");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn bundle_hash(dir: &Path) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("live.json")).unwrap()).unwrap();
    v["hash"].as_str().unwrap().to_string()
}

#[test]
fn bundle_etag_segments_and_evaluation() {
    let dir = tmp("basic");
    publish_bundle(&dir, 500, "1.0.0");
    let hash = bundle_hash(&dir);
    let srv = start(&dir.join("live.json"), &[]);

    let b = get(srv.port, "/bundle");
    assert_eq!(b.status, 200);
    assert_eq!(b.header("etag"), Some(format!("\"{hash}\"").as_str()));
    assert_eq!(b.json()["hash"], hash.as_str());
    // The served bundle loads in the core to the same registry.
    assert_eq!(segcore::Registry::from_bundle(&b.body).unwrap().bundle_hash(), hash);
    let tag = format!("\"{hash}\"");
    for inm in [tag.as_str(), "*", &format!("W/\"x\", {tag}")] {
        let r = request(srv.port, "GET", "/bundle", &[("If-None-Match", inm)], "");
        assert_eq!((r.status, r.body.as_str()), (304, ""), "If-None-Match: {inm}");
    }
    assert_eq!(request(srv.port, "GET", "/bundle", &[("If-None-Match", "\"old\"")], "").status, 200);

    let segs = get(srv.port, "/segments").json();
    let ids: Vec<&str> = segs["segments"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["adults", "big_spender"]);
    let one = get(srv.port, "/segments/big_spender").json();
    assert_eq!(one["rule"], "sum(purchase.amount within 30d) > 500");
    assert_eq!(one["read_set"]["events"], json!(["purchase"]));
    assert_eq!(one["history"].as_array().unwrap().len(), 1);
    assert_eq!(one["versions"][0]["version"], "1.0.0");
    let missing = get(srv.port, "/segments/nope");
    assert_eq!((missing.status, missing.kind().as_str()), (404, "unknown_segment"));

    // Evaluation: the core's outcomes for the same profile, context and bundle.
    let r = request(
        srv.port,
        "POST",
        "/evaluate",
        &[("Content-Type", "application/json")],
        &profile("2026-03-20T00:00:00Z"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["bundle"], hash.as_str());
    assert_eq!(v["members"], json!(["adults", "big_spender"]));
    // Forty days later the purchase has left the 30-day window.
    let later = request(srv.port, "POST", "/evaluate", &[], &profile("2026-04-20T00:00:00+02:00")).json();
    assert_eq!(later["members"], json!(["adults"]));
    assert_eq!(later["as_of"], "2026-04-19T22:00:00Z");
    assert_eq!(later["outcomes"]["big_spender"], "false");
    // Unknown: the attribute is missing.
    let body = json!({"profile": {"id": "u2"}, "as_of": "2026-03-20T00:00:00Z", "segments": ["adults"]}).to_string();
    let v = request(srv.port, "POST", "/evaluate", &[], &body).json();
    assert_eq!(v["outcomes"], json!({"adults": "unknown"}));
    assert_eq!(v["members"], json!([]));
    // `now` is the service's clock, echoed back.
    let v = request(srv.port, "POST", "/evaluate", &[], &profile("now")).json();
    assert!(v["as_of"].as_str().unwrap().starts_with("20"), "{v}");

    let health = get(srv.port, "/health").json();
    assert_eq!((health["bundle"].as_str(), health["segments"].as_u64()), (Some(hash.as_str()), Some(2)));
    let metrics = get(srv.port, "/metrics").body;
    assert!(metrics.contains("segcore_requests_total{route=\"/evaluate\",status=\"200\"} 4"), "{metrics}");
    assert!(metrics.contains("segcore_requests_total{route=\"/bundle\",status=\"304\"} 3"), "{metrics}");
    assert!(metrics.contains(&format!("segcore_bundle_info{{bundle=\"{hash}\",seq=\"1\"}} 1")), "{metrics}");
}

#[test]
fn bad_requests_get_stable_kinds_and_the_service_stays_up() {
    let dir = tmp("bad");
    publish_bundle(&dir, 500, "1.0.0");
    let hash = bundle_hash(&dir);
    let srv = start(&dir.join("live.json"), &["--max-body", "4096", "--client-timeout", "1s"]);
    let p = srv.port;
    let cases: Vec<(Resp, u16, &str)> = vec![
        (request(p, "POST", "/evaluate", &[], "{not json"), 400, "invalid_request"),
        (request(p, "POST", "/evaluate", &[], "[1, 2]"), 400, "invalid_request"),
        (request(p, "POST", "/evaluate", &[], r#"{"as_of": "now"}"#), 400, "invalid_request"),
        (request(p, "POST", "/evaluate", &[], r#"{"profile": {}, "as_of": "now", "asof": 1}"#), 400, "invalid_request"),
        (request(p, "POST", "/evaluate", &[], r#"{"profile": {}, "as_of": 5}"#), 400, "invalid_request"),
        (
            request(p, "POST", "/evaluate", &[], r#"{"profile": {}, "as_of": "2026-03-01T00:00:00"}"#),
            422,
            "invalid_context",
        ),
        (
            request(
                p,
                "POST",
                "/evaluate",
                &[],
                r#"{"profile": {"id": "u", "events": [{"name": "x", "at": "2026-01-01"}]}, "as_of": "now"}"#,
            ),
            422,
            "invalid_profile",
        ),
        (
            request(p, "POST", "/evaluate", &[], r#"{"profile": {}, "as_of": "now", "segments": ["nope"]}"#),
            404,
            "unknown_segment",
        ),
        (request(p, "POST", "/evaluate", &[("If-Match", "\"0000\"")], &profile("now")), 412, "bundle_mismatch"),
        (request(p, "POST", "/evaluate", &[], &"x".repeat(5000)), 413, "body_too_large"),
        (request(p, "GET", "/evaluate", &[], ""), 405, "method_not_allowed"),
        (request(p, "DELETE", "/bundle", &[], ""), 405, "method_not_allowed"),
        (request(p, "GET", "/nowhere", &[], ""), 404, "not_found"),
        (request(p, "GET", "/changes?wait=soon", &[], ""), 400, "invalid_request"),
        (request(p, "GET", "/changes?since=x", &[], ""), 400, "invalid_request"),
    ];
    // A wait beyond any duration is clamped (60 s), not a crash: without `after` it answers at once.
    assert_eq!(get(p, "/changes?wait=1e300").status, 200);
    for (i, (r, status, kind)) in cases.iter().enumerate() {
        assert_eq!((r.status, r.kind().as_str()), (*status, *kind), "case {i}: {}", r.body);
    }
    // Deep nesting is refused by the language's limits, not by a stack overflow.
    let deep = format!(
        r#"{{"profile": {{"id": "u", "attributes": {{"a": {}1{}}}}}, "as_of": "now"}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let r = request(p, "POST", "/evaluate", &[], &deep);
    assert!(r.status == 422 || r.status == 400, "{} {}", r.status, r.body);

    // A chunked body without a length, larger than the limit.
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    s.write_all(b"POST /evaluate HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    for _ in 0..3 {
        let _ = s.write_all(format!("800\r\n{}\r\n", "y".repeat(0x800)).as_bytes());
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let r = read_response(&mut s);
    assert_eq!((r.status, r.kind().as_str()), (413, "body_too_large"));

    // A body that never arrives: 408 after the client timeout.
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    s.write_all(b"POST /evaluate HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{\"pro")
        .unwrap();
    let started = Instant::now();
    let r = read_response(&mut s);
    assert_eq!((r.status, r.kind().as_str()), (408, "request_timeout"));
    assert!(started.elapsed() < Duration::from_secs(8));

    // Headers that never end: the connection is closed after the header timeout.
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut rest = vec![];
    let _ = s.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(8), "the slow client was not cut off");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));

    // Garbage instead of HTTP.
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    s.write_all(b"\x00\x01\x02 hello\r\n\r\n").unwrap();
    let mut rest = vec![];
    let _ = s.read_to_end(&mut rest);

    // After all of it the service answers as before.
    let r = request(p, "POST", "/evaluate", &[("If-Match", &format!("\"{hash}\""))], &profile("2026-03-20T00:00:00Z"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(p, "/health").json()["status"], "ok");
}

#[test]
fn publications_feed_audit_log_and_restart() {
    let dir = tmp("publish");
    write_defs(&dir, 500, "1.0.0");
    let audit = dir.join("audit.jsonl");
    let reg = dir.join("reg");
    let args = ["--audit", audit.to_str().unwrap()];
    let srv = start(&reg, &args);
    let first = get(srv.port, "/health").json()["bundle"].as_str().unwrap().to_string();

    // A long poll waits for the next publication...
    let port = srv.port;
    let after = first.clone();
    let poll = std::thread::spawn(move || get(port, &format!("/changes?after={after}&wait=20")));
    std::thread::sleep(Duration::from_millis(300));
    write_defs(&dir, 600, "1.1.0");
    let change = poll.join().unwrap();
    assert_eq!(change.status, 200, "{}", change.body);
    let c = change.json();
    assert_eq!(c["previous"], first.as_str());
    assert_eq!(c["seq"], 2);
    assert_eq!(c["required"], "minor");
    assert_eq!(c["changed"][0]["id"], "big_spender");
    assert_eq!(c["changed"][0]["from"], "1.0.0");
    assert_eq!(c["changed"][0]["version"], "1.1.0");
    assert_eq!(c["changed"][0]["fields"], json!(["version", "rule"]));
    let second = c["bundle"].as_str().unwrap().to_string();
    assert_eq!(change.header("etag"), Some(format!("\"{second}\"").as_str()));
    // ...and answers at once when the caller is behind; 204 when nothing comes.
    assert_eq!(get(port, &format!("/changes?after={first}&wait=20")).json()["bundle"], second.as_str());
    let idle = get(port, &format!("/changes?after={second}&wait=0.2"));
    assert_eq!(idle.status, 204);

    // A source that does not compile is not published; the last good bundle stays.
    put(&reg.join("broken.yaml"), "id: broken\nversion: 1.0.0\nrule: age >=\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        let h = get(port, "/health").json();
        if !h["last_error"].is_null() {
            break h;
        }
        assert!(Instant::now() < deadline, "the broken source was never reported");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(health["bundle"], second.as_str());
    assert!(health["last_error"]["message"].as_str().unwrap().contains("broken.yaml"), "{health}");
    let r = request(port, "POST", "/evaluate", &[], &profile("2026-03-20T00:00:00Z")).json();
    assert_eq!((r["bundle"].as_str(), &r["members"]), (Some(second.as_str()), &json!(["adults"])));
    std::fs::remove_file(reg.join("broken.yaml")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !get(port, "/health").json()["last_error"].is_null() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(get(port, "/metrics").body.contains("segcore_failed_loads_total 1"));

    let versions = get(port, "/segments/big_spender").json()["history"].clone();
    let seen: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(seen, ["1.0.0", "1.1.0"]);
    drop(srv);

    // The audit log: one line per publication, each the §28 summary.
    let lines: Vec<Value> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["seq"].as_u64(), lines[0]["previous"].is_null()), (Some(1), true));
    assert_eq!(lines[0]["added"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1]["bundle"], second.as_str());

    // A restart on the same source publishes nothing new and remembers the versions.
    let srv = start(&reg, &args);
    let h = get(srv.port, "/health").json();
    assert_eq!((h["bundle"].as_str(), h["seq"].as_u64()), (Some(second.as_str()), Some(2)));
    assert_eq!(get(srv.port, "/segments/big_spender").json()["history"], versions);
    assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 2);
    // A removed segment says when it was last published.
    std::fs::remove_file(reg.join("adults.yaml")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(srv.port, "/health").json()["seq"] != 3 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone_bundle = get(srv.port, "/health").json()["bundle"].as_str().unwrap().to_string();
    let gone = get(srv.port, "/segments/adults");
    assert_eq!(gone.status, 404);
    assert!(gone.json()["error"]["message"].as_str().unwrap().contains("version 1.0.0 was published"), "{}", gone.body);
    let last: Value = serde_json::from_str(std::fs::read_to_string(&audit).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!((last["seq"].as_u64(), last["removed"][0]["id"].as_str()), (Some(3), Some("adults")));
    assert_eq!(last["required"], "major");
    drop(srv);

    // A restart on a changed source diffs against the bundle last published (kept beside the
    // log): here big_spender starts reading an event (major), adults is unchanged.
    put(
        &reg.join("big_spender.yaml"),
        "id: big_spender\nversion: 2.0.0\nrule: sum(purchase.amount within 30d) > 600 and not exists(refund within 30d)\n",
    );
    // A torn last line (a crash mid-write) is cut off, not a refusal to start.
    std::fs::OpenOptions::new().append(true).open(&audit).unwrap().write_all(b"{\"seq\": 9, \"bund").unwrap();
    let srv = start(&reg, &args);
    let h = get(srv.port, "/health").json();
    assert_eq!(h["seq"], 4);
    let text = std::fs::read_to_string(&audit).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(last["previous"].as_str(), Some(gone_bundle.as_str()));
    assert_eq!(last["added"], json!([]));
    assert_eq!(last["changed"][0]["id"], "big_spender");
    assert_eq!(last["required"], "major");
    assert_eq!(get(srv.port, "/segments/big_spender").json()["history"].as_array().unwrap().len(), 3);
}

/// A webhook target on 127.0.0.1: answers each POST with the next status of `script` (then 200)
/// and hands the bodies to the test.
fn webhook_target(script: Vec<u16>) -> (u16, std::sync::mpsc::Receiver<(u16, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let status = script.next().unwrap_or(200);
            let _ = s
                .write_all(format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
            let _ = tx.send((status, serde_json::from_slice(&body).unwrap()));
        }
    });
    (port, rx)
}

#[test]
fn webhooks_retry_with_backoff_and_never_block() {
    let dir = tmp("hooks");
    publish_bundle(&dir, 500, "1.0.0");
    let (hook, received) = webhook_target(vec![500, 503]);
    // A second target that refuses connections: given up after its attempts, service unaffected.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let srv = start(
        &dir.join("live.json"),
        &[
            "--notify",
            &format!("http://127.0.0.1:{hook}/hook"),
            "--notify",
            &format!("http://127.0.0.1:{dead_port}/"),
            "--notify-attempts",
            "3",
        ],
    );
    // The first publication: two failures, then delivered on the third attempt.
    let first = bundle_hash(&dir);
    let statuses: Vec<u16> = (0..3)
        .map(|_| received.recv_timeout(Duration::from_secs(20)).unwrap())
        .map(|(s, v)| {
            assert_eq!(v["bundle"], first.as_str());
            s
        })
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
    // Meanwhile and after, the service answers and publishes.
    assert_eq!(get(srv.port, "/health").status, 200);
    publish_bundle(&dir, 600, "1.1.0");
    let second = bundle_hash(&dir);
    let (status, v) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(
        (status, v["bundle"].as_str(), v["previous"].as_str()),
        (200, Some(second.as_str()), Some(first.as_str()))
    );
    assert_eq!(v["changed"][0]["id"], "big_spender");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = get(srv.port, "/metrics").body;
        if m.contains("segcore_webhook_given_up_total 2") {
            assert!(m.contains("segcore_webhook_deliveries_total 2"), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "{m}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // https is refused at start-up, with the reason.
    let o = Command::new(BIN)
        .args(["serve", dir.join("live.json").to_str().unwrap(), "--notify", "https://example.invalid/x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("https targets are not supported"));
}

#[test]
fn a_publication_under_load_fails_no_request_and_mixes_no_bundles() {
    let dir = tmp("load");
    publish_bundle(&dir, 500, "1.0.0");
    let a = bundle_hash(&dir);
    let srv = start(&dir.join("live.json"), &[]);
    let port = srv.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = vec![];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = request(port, "POST", "/evaluate", &[], &profile("2026-03-20T00:00:00Z"));
                    assert_eq!(r.status, 200, "{}", r.body);
                    let v = r.json();
                    let bundle = v["bundle"].as_str().unwrap().to_string();
                    assert_eq!(r.header("etag"), Some(format!("\"{bundle}\"").as_str()));
                    seen.push((bundle, v["outcomes"]["big_spender"].as_str().unwrap().to_string()));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    publish_bundle(&dir, 600, "1.1.0");
    let b = bundle_hash(&dir);
    wait_for(port, &b);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen: Vec<(String, String)> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    // Bundle A (> 500) admits the 550 spender, bundle B (> 600) does not: an answer naming one
    // bundle with the other's outcome would be a mixed response.
    let on_a = seen.iter().filter(|(h, _)| *h == a).count();
    let on_b = seen.iter().filter(|(h, _)| *h == b).count();
    assert!(on_a > 0 && on_b > 0, "{on_a} on A, {on_b} on B");
    assert_eq!(on_a + on_b, seen.len());
    for (h, outcome) in &seen {
        assert_eq!(outcome, if *h == a { "true" } else { "false" }, "bundle {h}");
    }
}

#[test]
fn versions_side_by_side_are_listed_and_evaluated_by_as_of() {
    let dir = tmp("versions");
    write_defs(&dir, 500, "1.0.0");
    // 2.0.0 takes over on 2026-04-01 (SPEC §1): 550 is no longer enough.
    put(
        &dir.join("reg/big_spender_v2.yaml"),
        "id: big_spender\nversion: 2.0.0\neffective_from: 2026-04-01T00:00:00Z\nrule: sum(purchase.amount within 30d) > 600\n",
    );
    let srv = start(&dir.join("reg"), &[]);
    let segs = get(srv.port, "/segments").json();
    let big = &segs["segments"][1];
    assert_eq!((big["id"].as_str(), big["version"].as_str()), (Some("big_spender"), Some("2.0.0")));
    let listed: Vec<(&str, &Value)> = big["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), &v["effective_from"]))
        .collect();
    assert_eq!(listed, [("1.0.0", &Value::Null), ("2.0.0", &json!("2026-04-01T00:00:00Z"))]);
    // The publication lists both versions, each with its own hash; the later one is held to the
    // version rules against the earlier (rule changes: minor; 2.0.0 carries it).
    let first = get(srv.port, "/changes").json();
    let added: Vec<(&str, &str)> = first["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["version"].as_str().unwrap()))
        .collect();
    assert_eq!(added, [("adults", "1.0.0"), ("big_spender", "1.0.0"), ("big_spender", "2.0.0")]);
    assert_eq!(first["added"][2]["from"], "1.0.0");
    assert_eq!(first["added"][2]["problem"], Value::Null);
    let history = get(srv.port, "/segments/big_spender").json()["history"].clone();
    assert_eq!(history.as_array().unwrap().len(), 2);
    let before = request(srv.port, "POST", "/evaluate", &[], &profile("2026-03-31T23:59:59Z")).json();
    let after = request(srv.port, "POST", "/evaluate", &[], &profile("2026-04-01T00:00:00Z")).json();
    assert_eq!(before["outcomes"]["big_spender"], "true");
    assert_eq!(after["outcomes"]["big_spender"], "false");
    assert_eq!(before["bundle"], after["bundle"]);
}

#[test]
fn connections_beyond_the_limit_wait_and_are_served_when_a_slot_frees() {
    let dir = tmp("limit");
    publish_bundle(&dir, 500, "1.0.0");
    let srv = start(&dir.join("live.json"), &["--max-connections", "2", "--client-timeout", "2s"]);
    // Two clients that connect and send nothing hold both slots...
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(("127.0.0.1", srv.port)).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    // ...so a third is not answered while they hold them,
    let mut third = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    third.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    third.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let mut first = [0u8; 1];
    assert!(third.read(&mut first).is_err(), "answered beyond the connection limit");
    // and is served once the header timeout closes the stalled ones.
    third.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let r = read_response(&mut third);
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(8));
    drop(idle);
    let m = get(srv.port, "/metrics").body;
    let open: u32 = m
        .lines()
        .find_map(|l| l.strip_prefix("segcore_connections_open "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{m}"));
    assert!((1..=2).contains(&open), "{m}");
}
