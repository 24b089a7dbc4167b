//! `segcore serve` (SPEC §28): a registry folder or bundle published over HTTP.
//!
//! One watcher thread loads the source when its files change and publishes each new bundle hash;
//! the HTTP side (`http.rs`) only reads the current publication — one `Arc` per request — so a
//! response never mixes two bundles. Publications are appended to the audit log and posted to
//! webhooks (`notify.rs`) off the request path.

mod http;
mod notify;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use segcore::Registry;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::io::CliResult;

/// Arguments of `segcore serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Registry folder or bundle file to publish; watched, and republished when it changes.
    pub source: PathBuf,
    /// Entity schema for a registry folder (a bundle carries its own).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Address to listen on (port 0: any free port, printed on the first line of output).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// How often to look at SOURCE for changes, e.g. `1s`, `250ms`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub poll: Duration,
    /// Append every publication (bundle hash, time, diff summary) as a JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// POST each publication's summary to this URL (http:// only; repeatable). Retried with
    /// exponential backoff; never blocks the service.
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// Attempts per webhook delivery before it is given up (and counted in /metrics).
    #[arg(long, default_value_t = 6)]
    pub notify_attempts: u32,
    /// Allow browsers on this origin (or `*`) to call the service (CORS).
    #[arg(long, value_name = "ORIGIN")]
    pub cors: Option<String>,
    /// Largest request body accepted (bytes); larger ones get 413 `body_too_large`.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Time a client has to send its request headers (then the connection is closed) and,
    /// separately, its body (then 408 `request_timeout`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub client_timeout: Duration,
    /// Connections served at once; more wait to be accepted (the service's file descriptors stay
    /// bounded however many clients hold long polls or stall).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 500ms, 2s or 1m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{s}`: the unit must be ms, s or m")),
    }
}

/// One published bundle and everything a response needs from it, rendered once.
pub(crate) struct Publication {
    pub seq: u64,
    pub hash: String,
    pub registry: Arc<Registry>,
    pub bundle: axum::body::Bytes,
    pub segments: axum::body::Bytes,
    /// The publication summary (SPEC §28): what `/changes`, the audit log and webhooks carry.
    pub summary: Value,
    pub published: String,
    /// Every version this service has published per id, as of this publication.
    pub history: Arc<BTreeMap<String, Vec<SeenVersion>>>,
}

/// A version of a segment this service has published.
#[derive(Clone)]
pub(crate) struct SeenVersion {
    pub version: String,
    pub definition_hash: String,
    pub bundle: String,
    pub published: String,
}

/// State shared by the watcher and the request handlers.
pub(crate) struct Shared {
    pub current: watch::Sender<Arc<Publication>>,
    pub last_error: Mutex<Option<Value>>,
    pub source: String,
    pub metrics: http::Metrics,
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

fn entry_json(seg: &segcore::Segment) -> Value {
    json!({"id": seg.id(), "version": seg.version(), "definition_hash": seg.definition_hash()})
}

/// The §28 summary of publishing `new` after `old`.
fn summary(seq: u64, old: &Registry, old_hash: Option<&str>, new: &Registry, hash: &str, published: &str) -> Value {
    use segcore::diff::Change;
    let d = segcore::diff::diff(old, new);
    // A diff entry names a segment, or `id@version` for versions side by side (SPEC §26): the
    // definition it describes is that exact version.
    let find = |reg: &'_ Registry, entry: &str, version: &Option<String>| {
        let id = entry.split('@').next().unwrap_or(entry);
        reg.versions().into_iter().find(|s| s.id() == id && version.as_deref() == Some(s.version())).map(entry_json)
    };
    let (mut added, mut changed, mut removed) = (vec![], vec![], vec![]);
    for s in &d.segments {
        let detail = |mut e: Value| {
            e["from"] = json!(s.versions.0);
            e["fields"] = json!(s.fields);
            e["bump"] = json!(s.required.as_str());
            e["problem"] = s.problem.as_ref().map_or(Value::Null, |(k, m)| json!({"kind": k, "message": m}));
            e
        };
        match s.change {
            // An added version compared with the one before it carries that comparison too.
            Change::Added if s.versions.0.is_some() => added.extend(find(new, &s.id, &s.versions.1).map(detail)),
            Change::Added => added.extend(find(new, &s.id, &s.versions.1)),
            Change::Removed => removed.extend(find(old, &s.id, &s.versions.0)),
            Change::Changed => changed.extend(find(new, &s.id, &s.versions.1).map(detail)),
            _ => {}
        }
    }
    json!({
        "seq": seq, "bundle": hash, "previous": old_hash, "published": published,
        "segments": new.len(), "required": d.required().as_str(),
        "added": added, "changed": changed, "removed": removed,
    })
}

/// The versions side by side of segment `id` in `reg` (SPEC §1), in time order.
pub(crate) fn versions_json(reg: &Registry, id: &str) -> Value {
    let ts = |t: Option<i64>| t.map(segcore::binding::format_timestamp);
    reg.versions()
        .into_iter()
        .filter(|s| s.id() == id)
        .map(|s| {
            let d = s.definition();
            json!({"version": s.version(), "definition_hash": s.definition_hash(),
                "effective_from": ts(d.effective_from), "effective_until": ts(d.effective_until)})
        })
        .collect()
}

fn segments_json(reg: &Registry, hash: &str) -> Value {
    let ts = |t: Option<i64>| t.map(segcore::binding::format_timestamp);
    let segs: Vec<Value> = reg
        .segments()
        .iter()
        .map(|s| {
            let d = s.definition();
            let rs = s.read_set();
            json!({
                "id": s.id(), "version": s.version(), "status": d.status.as_str(), "owner": d.owner,
                "definition_hash": s.definition_hash(),
                "effective_from": ts(d.effective_from), "effective_until": ts(d.effective_until),
                "read_set": {"attributes": rs.attributes, "events": rs.events, "segments": rs.segments},
                "versions": versions_json(reg, s.id()),
            })
        })
        .collect();
    json!({"bundle": hash, "segments": segs})
}

/// What the service remembers of its publication log: the last publication and each segment's
/// published versions.
#[derive(Default)]
struct LogState {
    seq: u64,
    last_hash: Option<String>,
    versions: BTreeMap<String, Vec<SeenVersion>>,
}

fn remember(versions: &mut BTreeMap<String, Vec<SeenVersion>>, summary: &Value) {
    let (Some(bundle), Some(published)) = (summary["bundle"].as_str(), summary["published"].as_str()) else {
        return;
    };
    for e in
        summary["added"].as_array().into_iter().flatten().chain(summary["changed"].as_array().into_iter().flatten())
    {
        let (Some(id), Some(v), Some(h)) = (e["id"].as_str(), e["version"].as_str(), e["definition_hash"].as_str())
        else {
            continue;
        };
        let seen = versions.entry(id.to_string()).or_default();
        // A definition already in the history (a restart that could not diff) is not new.
        if seen.iter().any(|s| s.definition_hash == h) {
            continue;
        }
        seen.push(SeenVersion {
            version: v.to_string(),
            definition_hash: h.to_string(),
            bundle: bundle.to_string(),
            published: published.to_string(),
        });
    }
}

fn read_log(path: &Path) -> CliResult<LogState> {
    let mut state = LogState::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(state),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    // A last line without its newline was cut by a crash mid-write: it never happened.
    let whole = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    if whole.len() < text.len() {
        // Cut it off, so the next record does not glue onto it.
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(whole.len() as u64))
            .map_err(|e| format!("{}: cannot cut its torn last line: {e}", path.display()))?;
    }
    for (n, line) in whole.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not a publication record: {e}", path.display(), n + 1))?;
        state.seq = v["seq"].as_u64().unwrap_or(state.seq + 1);
        state.last_hash = v["bundle"].as_str().map(str::to_string);
        remember(&mut state.versions, &v);
    }
    Ok(state)
}

/// Where the last published bundle is kept beside the audit log: a restart diffs against it.
fn last_bundle_path(audit: &Path) -> PathBuf {
    let mut name = audit.file_name().unwrap_or_default().to_os_string();
    name.push(".last-bundle.json");
    audit.with_file_name(name)
}

fn append_log(path: &Path, summary: &Value) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // One write per record: a reader never sees half a line from us.
    f.write_all(format!("{summary}\n").as_bytes())?;
    f.sync_data()
}

/// What changes when a source changes: the files a registry load reads (a bundle, or a folder's
/// own files — not its subfolders, as `Registry::load_dir`), each with its length, modification
/// and change times and inode (an edit that keeps the size and a coarse mtime still shows).
fn stamp(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>, i64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let files: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(_) => vec![path.to_path_buf()],
    };
    let mut out: Vec<_> = files
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
            Some((p, meta.len(), meta.modified().ok(), meta.ctime_nsec() + meta.ctime() * 1_000_000_000, meta.ino()))
        })
        .collect();
    out.sort();
    out
}

fn publish(log: &mut LogState, old: &Registry, new: Registry) -> Arc<Publication> {
    let hash = new.bundle_hash();
    let created = now_micros();
    let published = segcore::binding::format_timestamp(created);
    log.seq += 1;
    let summary = summary(log.seq, old, log.last_hash.as_deref(), &new, &hash, &published);
    log.last_hash = Some(hash.clone());
    remember(&mut log.versions, &summary);
    Arc::new(Publication {
        seq: log.seq,
        bundle: new.to_bundle(created).into(),
        segments: segments_json(&new, &hash).to_string().into(),
        registry: Arc::new(new),
        hash,
        summary,
        published,
        history: Arc::new(log.versions.clone()),
    })
}

/// Where a publication goes besides the HTTP side: the audit log and the webhooks.
struct Recorder {
    audit: Option<PathBuf>,
    notifier: notify::Notifier,
}

impl Recorder {
    /// Before a publication is served: the audit record and the last bundle (a crash after
    /// serving can then never leave a served bundle unlogged).
    fn persist(&self, p: &Publication) {
        if let Some(path) = &self.audit {
            if let Err(e) = append_log(path, &p.summary) {
                errln!("segcore serve: cannot append to {}: {e}", path.display());
            }
            let last = last_bundle_path(path);
            let tmp = last.with_extension("tmp");
            if let Err(e) = std::fs::write(&tmp, &p.bundle).and_then(|()| std::fs::rename(&tmp, &last)) {
                errln!("segcore serve: cannot keep the last bundle in {}: {e}", last.display());
            }
        }
    }

    /// Once a publication is served: webhooks and the log line.
    fn announce(&self, p: &Publication) {
        self.notifier.send(&p.summary);
        errln!(
            "segcore serve: published {} (#{}, {} segment(s), required bump {})",
            p.hash,
            p.seq,
            p.registry.len(),
            p.summary["required"].as_str().unwrap_or("none")
        );
    }
}

/// Runs the service until it is interrupted.
pub fn serve(args: &ServeArgs) -> CliResult<()> {
    for url in &args.notify {
        notify::check_url(url)?;
    }
    let schema = crate::load_schema(args.schema.as_deref())?;
    let load = {
        let source = args.source.clone();
        move || crate::load_registry(&source, schema.as_ref())
    };
    // The first load must succeed: there is nothing to serve otherwise.
    let first = load()?;
    let mut log = match &args.audit {
        Some(p) => read_log(p)?,
        None => LogState::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the service's runtime: {e}"))?;
    let notifier = notify::Notifier::start(&runtime, &args.notify, args.notify_attempts);

    let empty = Registry::from_definitions(vec![], None).map_err(|e| e.to_string())?;
    let recorder = Recorder { audit: args.audit.clone(), notifier };
    let first_hash = first.bundle_hash();
    // `fresh`: a new publication (to log and announce), not a restart on the bundle last logged.
    let (initial, fresh) = if log.last_hash.as_deref() == Some(first_hash.as_str()) {
        // A restart on the bundle last logged: the same publication, not a new one.
        let summary = json!({"seq": log.seq, "bundle": first_hash, "previous": null,
            "published": segcore::binding::format_timestamp(now_micros()), "segments": first.len(),
            "required": "none", "added": [], "changed": [], "removed": []});
        let published = summary["published"].as_str().unwrap_or_default().to_string();
        let p = Arc::new(Publication {
            seq: log.seq,
            bundle: first.to_bundle(now_micros()).into(),
            segments: segments_json(&first, &first_hash).to_string().into(),
            registry: Arc::new(first),
            hash: first_hash,
            summary,
            published,
            history: Arc::new(log.versions.clone()),
        });
        (p, false)
    } else {
        // The bundle last published (kept beside the log) is what this publication changes; if
        // it cannot be read, the diff is against nothing and names no previous bundle.
        let previous = args.audit.as_deref().and_then(|a| {
            let text = std::fs::read_to_string(last_bundle_path(a)).ok()?;
            let reg = Registry::from_bundle(&text).ok()?;
            (Some(reg.bundle_hash()) == log.last_hash).then_some(reg)
        });
        if previous.is_none() {
            log.last_hash = None;
        }
        (publish(&mut log, previous.as_ref().unwrap_or(&empty), first), true)
    };
    // Listening first: a publication is recorded (logged, announced) only once it is served.
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    if fresh {
        recorder.persist(&initial);
        recorder.announce(&initial);
    }
    let (tx, _) = watch::channel(initial);
    let shared = Arc::new(Shared {
        current: tx,
        last_error: Mutex::new(None),
        source: args.source.display().to_string(),
        metrics: http::Metrics::default(),
    });
    productln!("segcore serve: listening on http://{local}")?;

    // The watcher: a plain thread (loading is file reading and compiling, not async work).
    {
        let shared = shared.clone();
        let source = args.source.clone();
        let poll = args.poll;
        std::thread::spawn(move || {
            let mut seen = stamp(&source);
            let mut last_failure: Option<String> = None;
            loop {
                std::thread::sleep(poll);
                let now = stamp(&source);
                // A source that failed to load is tried again at every poll until it loads.
                if now == seen && last_failure.is_none() {
                    continue;
                }
                // A bug must not stop publishing silently: a panic is a failed load.
                let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let reg = load()?;
                    let old = shared.current.borrow().clone();
                    if reg.bundle_hash() == old.hash {
                        return Ok(None);
                    }
                    Ok(Some(publish(&mut log, &old.registry, reg)))
                }))
                .unwrap_or_else(|_| Err("internal: loading the source panicked (a bug in segcore)".to_string()));
                match attempt {
                    Ok(published) => {
                        seen = now;
                        last_failure = None;
                        *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        if let Some(p) = published {
                            recorder.persist(&p);
                            shared.current.send_replace(p.clone());
                            shared.metrics.publications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            recorder.announce(&p);
                        }
                    }
                    Err(msg) => {
                        if last_failure.as_deref() != Some(msg.as_str()) {
                            shared.metrics.failed_loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            errln!("segcore serve: not published (still serving the last good bundle): {msg}");
                            *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(json!({
                                "message": msg,
                                "at": segcore::binding::format_timestamp(now_micros()),
                            }));
                        }
                        last_failure = Some(msg);
                    }
                }
            }
        });
    }

    let cfg = http::Config {
        max_body: args.max_body,
        body_timeout: args.client_timeout,
        cors: args.cors.clone(),
        max_connections: args.max_connections as usize,
    };
    runtime.block_on(http::run(listener, shared, cfg, args.client_timeout))
}
