//! The HTTP side of `segcore serve` (SPEC §28): routes, errors with stable kinds, CORS, metrics.
//! Every handler takes one snapshot of the current publication and answers from it alone.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt as _;
use segcore::{EvalContext, FxRates, Phase, Profile};
use serde_json::{json, Value};

use super::notify::DELIVERIES;
use super::{now_micros, Publication, Shared};
use crate::io::CliResult;

pub(crate) struct Config {
    pub max_body: usize,
    pub body_timeout: Duration,
    pub cors: Option<String>,
    pub max_connections: usize,
}

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    cfg: Arc<Config>,
    /// One permit per connection being served.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Bodies above this are evaluated off the async worker's task queue (see `evaluate`).
const LARGE_BODY: usize = 64 * 1024;
/// The longest a `/changes` request may wait.
const MAX_WAIT: Duration = Duration::from_secs(60);
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What `/metrics` reports.
#[derive(Default)]
pub(crate) struct Metrics {
    pub publications: AtomicU64,
    pub failed_loads: AtomicU64,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    fn observe(&self, route: &str, status: u16, took: Duration) {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((route.to_string(), status)).or_default() += 1;
        let secs = took.as_secs_f64();
        let mut lat = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = lat.entry(route.to_string()).or_default();
        h.count += 1;
        h.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
    }

    fn render(&self, p: &Publication) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP segcore_requests_total HTTP requests by route and status.");
        let _ = writeln!(out, "# TYPE segcore_requests_total counter");
        for ((route, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "segcore_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP segcore_request_duration_seconds Time from request to response head.");
        let _ = writeln!(out, "# TYPE segcore_request_duration_seconds histogram");
        for (route, h) in self.latency.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for (le, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "segcore_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}");
            }
            let _ =
                writeln!(out, "segcore_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "segcore_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "segcore_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        let counters = [
            ("segcore_publications_total", "Bundles published since start.", self.publications.load(Ordering::Relaxed)),
            (
                "segcore_failed_loads_total",
                "Source changes that did not load (not published).",
                self.failed_loads.load(Ordering::Relaxed),
            ),
            (
                "segcore_webhook_deliveries_total",
                "Webhook notices delivered.",
                DELIVERIES.delivered.load(Ordering::Relaxed),
            ),
            (
                "segcore_webhook_failed_attempts_total",
                "Webhook attempts that failed.",
                DELIVERIES.failed_attempts.load(Ordering::Relaxed),
            ),
            (
                "segcore_webhook_given_up_total",
                "Webhook notices given up after every attempt.",
                DELIVERIES.given_up.load(Ordering::Relaxed),
            ),
            (
                "segcore_webhook_dropped_total",
                "Webhook notices dropped from a full queue.",
                DELIVERIES.dropped.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, n) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {n}");
        }
        let _ = writeln!(out, "# HELP segcore_bundle_info The bundle being served.\n# TYPE segcore_bundle_info gauge");
        let _ = writeln!(out, "segcore_bundle_info{{bundle=\"{}\",seq=\"{}\"}} 1", p.hash, p.seq);
        out
    }
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    json_bytes(status, Bytes::from(v.to_string()))
}

/// A request refused: its status and its `{"error": …}` body.
struct Refusal(StatusCode, Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        json_response(self.0, &self.1)
    }
}

/// An error of the service's own (SPEC §28 kinds).
fn refuse(status: StatusCode, kind: &str, message: impl Into<String>) -> Refusal {
    Refusal(status, json!({"error": {"kind": kind, "message": message.into()}}))
}

fn fail(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    refuse(status, kind, message).into_response()
}

/// A core error in a request: 422 with the error's §18 kind and fields.
fn core_fail(err: &segcore::Error, phase: Phase) -> Refusal {
    Refusal(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": err.to_json(phase)}))
}

fn with_bundle(mut r: Response, p: &Publication) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", p.hash)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// Whether an `If-None-Match`/`If-Match` list names `hash` (or is `*`).
fn names(list: &str, hash: &str) -> bool {
    list.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == hash)
}

fn current(app: &App) -> Arc<Publication> {
    app.shared.current.borrow().clone()
}

async fn bundle(State(app): State<App>, headers: HeaderMap) -> Response {
    let p = current(&app);
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|l| names(l, &p.hash));
    let mut r =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { json_bytes(StatusCode::OK, p.bundle.clone()) };
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_bundle(r, &p)
}

async fn segments(State(app): State<App>) -> Response {
    let p = current(&app);
    with_bundle(json_bytes(StatusCode::OK, p.segments.clone()), &p)
}

async fn segment(State(app): State<App>, Path(id): Path<String>) -> Response {
    let p = current(&app);
    let versions = p.history.get(&id).cloned().unwrap_or_default();
    let Some(seg) = p.registry.get(&id) else {
        let hint = match versions.last() {
            Some(v) => format!("; version {} was published in bundle {}", v.version, v.bundle),
            None => String::new(),
        };
        return fail(
            StatusCode::NOT_FOUND,
            "unknown_segment",
            format!("bundle {} has no segment `{id}`{hint}", p.hash),
        );
    };
    let d = seg.definition();
    let rs = seg.read_set();
    let ts = |t: Option<i64>| t.map(segcore::binding::format_timestamp);
    let body = json!({
        "bundle": p.hash, "id": seg.id(), "version": seg.version(), "name": d.name,
        "description": d.description, "owner": d.owner, "status": d.status.as_str(),
        "effective_from": ts(d.effective_from), "effective_until": ts(d.effective_until),
        "timezone": d.timezone, "currency": d.currency, "definition_hash": seg.definition_hash(),
        "rule": seg.formatted_rule(),
        "read_set": {"attributes": rs.attributes, "events": rs.events, "segments": rs.segments},
        "versions": super::versions_json(&p.registry, seg.id()),
        "history": versions.iter().map(|v| json!({
            "version": v.version, "definition_hash": v.definition_hash, "bundle": v.bundle, "published": v.published,
        })).collect::<Vec<_>>(),
    });
    with_bundle(json_response(StatusCode::OK, &body), &p)
}

async fn changes(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let mut after = None;
    let mut wait = DEFAULT_WAIT;
    for pair in query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "after" => after = Some(v.trim_matches('"').to_string()),
            "wait" => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => wait = Duration::from_secs_f64(s.min(MAX_WAIT.as_secs_f64())),
                _ => {
                    return fail(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        format!("wait={v}: not a number of seconds"),
                    )
                }
            },
            _ => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("unknown parameter `{k}` (after, wait)"),
                )
            }
        }
    }
    let mut rx = app.shared.current.subscribe();
    let p = rx.borrow_and_update().clone();
    if after.as_deref() != Some(p.hash.as_str()) {
        return with_bundle(json_response(StatusCode::OK, &p.summary), &p);
    }
    match tokio::time::timeout(wait, rx.changed()).await {
        Ok(Ok(())) => {
            let p = rx.borrow_and_update().clone();
            with_bundle(json_response(StatusCode::OK, &p.summary), &p)
        }
        _ => with_bundle(StatusCode::NO_CONTENT.into_response(), &p),
    }
}

async fn health(State(app): State<App>) -> Response {
    let p = current(&app);
    let last_error = app.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let body = json!({
        "status": "ok", "bundle": p.hash, "segments": p.registry.len(), "published": p.published,
        "seq": p.seq, "source": app.shared.source, "last_error": last_error,
    });
    with_bundle(json_response(StatusCode::OK, &body), &p)
}

async fn metrics(State(app): State<App>) -> Response {
    let p = current(&app);
    let open = app.cfg.max_connections - app.slots.available_permits();
    let mut text = app.shared.metrics.render(&p);
    text.push_str(&format!(
        "# HELP segcore_connections_open Connections being served.\n# TYPE segcore_connections_open gauge\nsegcore_connections_open {open}\n"
    ));
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

async fn read_body(body: Body, headers: &HeaderMap, cfg: &Config) -> Result<Bytes, Refusal> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {} bytes", cfg.max_body),
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(cfg.body_timeout, http_body_util::Limited::new(body, cfg.max_body).collect()).await {
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the body did not arrive within {:?}", cfg.body_timeout),
        )),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => {
            Err(refuse(StatusCode::BAD_REQUEST, "invalid_request", format!("the body could not be read: {e}")))
        }
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// The evaluation of one request against one publication; `Err` is the response to send.
fn evaluate_on(p: &Publication, body: &[u8]) -> Result<Value, Refusal> {
    let bad = |m: String| refuse(StatusCode::BAD_REQUEST, "invalid_request", m);
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    segcore::binding::check_value_depth(&v, "the request").map_err(|e| core_fail(&e, Phase::Evaluate))?;
    let Value::Object(req) = &v else { return Err(bad("the body must be a JSON object".into())) };
    if let Some(k) = req.keys().find(|k| !["profile", "as_of", "fx", "segments"].contains(&k.as_str())) {
        return Err(bad(format!("unknown field `{k}` (profile, as_of, fx, segments)")));
    }
    let profile = req.get("profile").ok_or_else(|| bad("`profile` is required".into()))?;
    let as_of = match req.get("as_of") {
        Some(Value::String(s)) if s == "now" => now_micros(),
        Some(Value::String(s)) => segcore::parse_as_of(s).map_err(|e| core_fail(&e, Phase::Evaluate))?,
        Some(_) => return Err(bad("`as_of` must be a string: an RFC 3339 instant with offset, or \"now\"".into())),
        None => return Err(bad("`as_of` is required: an RFC 3339 instant with offset, or \"now\"".into())),
    };
    let mut cx = EvalContext::new(as_of);
    if let Some(fx) = req.get("fx").filter(|f| !f.is_null()) {
        cx = cx.with_fx(FxRates::from_json(fx).map_err(|e| core_fail(&e, Phase::Evaluate))?);
    }
    let wanted: Option<std::collections::BTreeSet<&str>> = match req.get("segments") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .map(|i| i.as_str().ok_or_else(|| bad("`segments` must be a list of segment ids".into())))
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(bad("`segments` must be a list of segment ids".into())),
    };
    if let Some(missing) = wanted.iter().flatten().find(|id| p.registry.get(id).is_none()) {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "unknown_segment",
            format!("bundle {} has no segment `{missing}`", p.hash),
        ));
    }
    let profile = Profile::from_json(profile).map_err(|e| core_fail(&e, Phase::Evaluate))?;
    // Only the segments asked for, and what they reference: an error elsewhere is not theirs.
    let program = p.registry.program();
    let only: Option<std::collections::BTreeSet<usize>> = wanted
        .as_ref()
        .map(|w| w.iter().filter_map(|id| program.position(id)).flat_map(|i| program.closure(i)).collect());
    let outcomes = program
        .evaluate_bound(&p.registry.bind(&profile), &cx, only.as_ref())
        .map_err(|e| core_fail(&e, Phase::Evaluate))?;
    let mut members = vec![];
    let mut map = serde_json::Map::new();
    for (seg, o) in program.segments().iter().zip(outcomes) {
        let (id, Some(o)) = (seg.id(), o) else { continue };
        if wanted.as_ref().is_some_and(|w| !w.contains(id)) {
            continue;
        }
        if o.is_member() {
            members.push(id);
        }
        map.insert(id.to_string(), o.as_str().into());
    }
    Ok(json!({
        "bundle": p.hash, "as_of": segcore::binding::format_timestamp(as_of),
        "members": members, "outcomes": map,
    }))
}

async fn evaluate(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    // One snapshot for the whole request: a publication mid-request cannot mix two bundles.
    let p = current(&app);
    if let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        if !names(wanted, &p.hash) {
            return with_bundle(
                fail(
                    StatusCode::PRECONDITION_FAILED,
                    "bundle_mismatch",
                    format!("this service serves bundle {}, not {wanted}", p.hash),
                ),
                &p,
            );
        }
    }
    let bytes = match read_body(body, &headers, &app.cfg).await {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    // No panic may take the connection down with it: it becomes a 500 `internal`.
    let work = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evaluate_on(&p, &bytes))).unwrap_or_else(|_| {
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a bug in segcore: please report it"))
        })
    };
    // A typical profile takes microseconds: inline. A large body (up to --max-body) can take
    // milliseconds: the worker first hands its other tasks (health, long polls) to another thread.
    let result = if bytes.len() > LARGE_BODY { tokio::task::block_in_place(work) } else { work() };
    let r = match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(r) => r.into_response(),
    };
    with_bundle(r, &p)
}

async fn not_found(req: Request) -> Response {
    fail(StatusCode::NOT_FOUND, "not_found", format!("no route {} (see SPEC §28)", req.uri().path()))
}

async fn not_allowed(req: Request) -> Response {
    fail(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// Metrics, CORS and preflights around every route.
async fn observe(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("other", |m| m.as_str()).to_string();
    let preflight = req.method() == Method::OPTIONS && app.cfg.cors.is_some();
    let mut r = if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    if let Some(origin) = app.cfg.cors.as_deref().and_then(|o| HeaderValue::from_str(o).ok()) {
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("etag"));
        if preflight {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, if-match, if-none-match"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
    app.shared.metrics.observe(&route, r.status().as_u16(), start.elapsed());
    r
}

/// Serves until SIGINT or SIGTERM.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    cfg: Config,
    header_timeout: Duration,
) -> CliResult<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections));
    let app = App { shared, cfg: Arc::new(cfg), slots: slots.clone() };
    let router: Router = Router::new()
        .route("/bundle", get(bundle).fallback(not_allowed))
        .route("/segments", get(segments).fallback(not_allowed))
        .route("/segments/{id}", get(segment).fallback(not_allowed))
        .route("/changes", get(changes).fallback(not_allowed))
        .route("/evaluate", post(evaluate).fallback(not_allowed))
        .route("/health", get(health).fallback(not_allowed))
        .route("/metrics", get(metrics).fallback(not_allowed))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch for SIGTERM: {e}"))?;
    loop {
        // A free slot first: beyond --max-connections, clients wait in the listen backlog.
        let permit = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        };
        let (stream, _) = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait and go on, never fall over.
                    errln!("segcore serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            let _ = conn.await;
            drop(permit);
        });
    }
}
