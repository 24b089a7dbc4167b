//! What a binding (Python, Node, WASM, the CLI) needs besides the main types: the translations
//! between the core's values and documents and a host's, in one place. Nothing here decides
//! semantics; a binding that needs something not listed should add it here rather than reach
//! into the core's internals (cedar-policy's `ffi` module plays the same role).
//!
//! ```
//! use segcore::binding::{format_timestamp, print_rule};
//! assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
//! let ast = segcore::Segment::parse_rule("age>=18   and plan=\"pro\"").unwrap();
//! assert_eq!(print_rule(&ast), "age >= 18 and plan = \"pro\"");
//! ```

pub use crate::canonical::{rule_json, sha256_hex, write_str};
pub use crate::casefold::fold;
pub use crate::document::{check_value_depth, parse_json, parse_yaml, DuplicateKeys};
pub use crate::error::diagnostics_json;
pub use crate::explain::html_escape;
pub use crate::ir::Layout;
pub use crate::ops::bucket;
pub use crate::printer::print as print_rule;
pub use crate::profile::{parse_event, parse_event_time, EventGroup, EventProblem, Properties};
pub use crate::projection::Projection;
pub use crate::semver::Version;
pub use crate::time::{format_timestamp, parse_instant, resolve_local, resolve_local_json, to_timestamp, Resolution};
pub use crate::value::{float_value, parse_decimal, parse_money_text};

use crate::{Registry, Segment};

/// What a JS binding caches about a compiled segment, read once: `id`, `version`,
/// `definitionHash`, `canonicalJson`, `rule` (formatted), `sourceRule`, `readSet`, `warnings`
/// and `spec` (the projection its profiles are written with). Node and WASM hand this same object
/// to the shared JS API.
///
/// ```
/// use segcore::{binding::{segment_info, Projection}, Definition, Segment};
/// let seg = Segment::compile(Definition::new("adults", "1.0.0", "age>=18"), None).unwrap();
/// let info = segment_info(&seg, &Projection::new(seg.layout(), seg.read_set()));
/// assert_eq!(info["rule"], "age >= 18");
/// assert_eq!(info["readSet"]["attributes"][0], "age");
/// ```
pub fn segment_info(seg: &Segment, spec: &Projection) -> serde_json::Value {
    let rs = seg.read_set();
    serde_json::json!({
        "id": seg.id(),
        "version": seg.version(),
        "definitionHash": seg.definition_hash(),
        "canonicalJson": seg.canonical_json(),
        "rule": seg.formatted_rule(),
        "sourceRule": seg.definition().rule,
        "readSet": { "attributes": rs.attributes, "events": rs.events, "segments": rs.segments },
        "warnings": diagnostics_json(seg.warnings()),
        "spec": spec.to_json(),
    })
}

/// What a JS binding caches about a registry: `ids` (sorted: the order of every per-segment
/// result), `segments` (`id`, `version`, `definitionHash` of each; an id's latest version),
/// `versions` (every version side by side, SPEC §1, with `effectiveFrom` and `effectiveUntil`)
/// and `spec`.
pub fn registry_info(reg: &Registry, spec: &Projection) -> serde_json::Value {
    let segments = reg.segments();
    let ids: Vec<&str> = segments.iter().map(|s| s.id()).collect();
    let infos: Vec<serde_json::Value> = segments
        .iter()
        .map(|s| serde_json::json!({ "id": s.id(), "version": s.version(), "definitionHash": s.definition_hash() }))
        .collect();
    let ts = |t: Option<i64>| t.map(crate::time::format_timestamp);
    let versions: Vec<serde_json::Value> = reg
        .versions()
        .into_iter()
        .map(|s| {
            let d = s.definition();
            serde_json::json!({
                "id": s.id(), "version": s.version(), "definitionHash": s.definition_hash(),
                "effectiveFrom": ts(d.effective_from), "effectiveUntil": ts(d.effective_until),
            })
        })
        .collect();
    serde_json::json!({ "ids": ids, "segments": infos, "versions": versions, "spec": spec.to_json() })
}

/// A change of outcome (SPEC §22) as the JavaScript bindings return it: `at` (RFC 3339, exact to
/// the microsecond), `previous`, `outcome`, `member`, `transition` (`entered`/`exited`/null),
/// `cause`, `causeSegment`, `causeEvent`, `causeEventAt`.
///
/// ```
/// use segcore::{binding::change_json, Definition, EvalContext, Profile, Segment};
/// let seg = Segment::compile(Definition::new("a", "1.0.0", "exists(purchase within 30d)"), None).unwrap();
/// let p = Profile::from_json_str(r#"{"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}"#).unwrap();
/// let c = seg.next_change(&p, &EvalContext::parse("2026-03-15T00:00:00Z").unwrap(), None).unwrap().unwrap();
/// assert_eq!(change_json(&c)["at"], "2026-03-31T10:00:00.000001Z");
/// assert_eq!(change_json(&c)["transition"], "exited");
/// ```
pub fn change_json(c: &crate::temporal::Change) -> serde_json::Value {
    use crate::time::format_timestamp as ts;
    serde_json::json!({
        "at": ts(c.at),
        "previous": c.previous.as_str(),
        "outcome": c.outcome.as_str(),
        "member": c.outcome.is_member(),
        "transition": c.transition(),
        "cause": c.cause.kind.as_str(),
        "causeSegment": c.cause.segment,
        "causeEvent": c.cause.event.as_ref().map(|e| e.0.as_str()),
        "causeEventAt": c.cause.event.as_ref().map(|e| ts(e.1)),
    })
}

/// A timeline (SPEC §22) as the JavaScript bindings return it: `segment`, `from`, `to`,
/// `outcome` (at `from`), `changes` (see [`change_json`]) and the membership `intervals`
/// (`[{from, to}]`).
pub fn timeline_json(segment: &str, t: &crate::temporal::Timeline) -> serde_json::Value {
    use crate::time::format_timestamp as ts;
    serde_json::json!({
        "segment": segment,
        "from": ts(t.from),
        "to": ts(t.to),
        "outcome": t.outcome.as_str(),
        "changes": t.changes.iter().map(change_json).collect::<Vec<_>>(),
        "intervals": t.member_intervals().into_iter().map(|(a, b)| serde_json::json!({"from": ts(a), "to": ts(b)})).collect::<Vec<_>>(),
    })
}

/// SPEC §24 for the JavaScript bindings: the fingerprint text of `ids` under `key` (default
/// `segcore`).
///
/// ```
/// let fp = segcore::binding::fingerprint_text(&["u1".to_string()], None).unwrap();
/// assert!(fp.starts_with("sfp1:14de38cf:1:"));
/// ```
pub fn fingerprint_text(ids: &[String], key: Option<&str>) -> Result<String, crate::Error> {
    let key = crate::reconcile::Key::new(key.unwrap_or(crate::reconcile::Key::DEFAULT))?;
    Ok(key.fingerprint(ids).to_string())
}

/// The sum of fingerprint texts (shards of one set); `invalid_fingerprint` for an empty list.
pub fn fingerprint_sum_text(fps: &[String]) -> Result<String, crate::Error> {
    let parsed = fps.iter().map(|t| t.parse()).collect::<Result<Vec<crate::reconcile::Fingerprint>, _>>()?;
    crate::reconcile::Fingerprint::sum(&parsed)?
        .map(|f| f.to_string())
        .ok_or_else(|| crate::Error::new(crate::ErrorKind::InvalidFingerprint, "no fingerprints to add"))
}

/// A sketch's bytes: `symbols` coded symbols, or enough for about `differences` (default 1,000).
pub fn sketch_bytes(
    ids: &[String],
    symbols: Option<u32>,
    differences: Option<u32>,
    key: Option<&str>,
) -> Result<Vec<u8>, crate::Error> {
    use crate::reconcile::{Key, Sketch};
    let key = Key::new(key.unwrap_or(Key::DEFAULT))?;
    let m = symbols.map_or_else(|| Sketch::symbols_for(differences.unwrap_or(1000) as usize), |s| s as usize);
    Ok(Sketch::new(&key, ids, m)?.to_bytes())
}

/// `{symbols, fingerprint}` of a sketch's bytes (`sketch_invalid` for anything else).
pub fn sketch_info_json(bytes: &[u8]) -> Result<serde_json::Value, crate::Error> {
    let s = crate::reconcile::Sketch::from_bytes(bytes)?;
    Ok(serde_json::json!({"symbols": s.len(), "fingerprint": s.fingerprint().to_string()}))
}

/// The decoded difference of two sketches' bytes as `{onlyA, onlyB, symbols}`: ids where that
/// side's ids are given, else `#` and 16 hex digits per symbol (see
/// [`crate::reconcile::resolve_symbols`]).
pub fn sketch_decode_json(
    a: &[u8],
    b: &[u8],
    ids_a: Option<&[String]>,
    ids_b: Option<&[String]>,
    key: Option<&str>,
) -> Result<serde_json::Value, crate::Error> {
    use crate::reconcile::{resolve_symbols, symbol_hex, Key, Sketch};
    let (sa, sb) = (Sketch::from_bytes(a)?, Sketch::from_bytes(b)?);
    let d = sa.decode(&sb)?;
    let key = Key::new(key.unwrap_or(Key::DEFAULT))?;
    let names = |ids: Option<&[String]>, symbols: &[u64]| match ids {
        Some(ids) => resolve_symbols(&key, ids, symbols),
        None => Ok(symbols.iter().map(|s| format!("#{}", symbol_hex(*s))).collect()),
    };
    Ok(serde_json::json!({
        "onlyA": names(ids_a, &d.only_a)?,
        "onlyB": names(ids_b, &d.only_b)?,
        "symbols": d.symbols,
    }))
}

/// One side of [`reconcile_json`]: its ids (`None`: computed from the setting) and the setting
/// parts given (SPEC §25; B's missing parts are A's).
#[derive(Default)]
pub struct ReconcileSide<'a> {
    /// The claimed members (raw ids).
    pub ids: Option<Vec<String>>,
    /// The registry holding the segment.
    pub registry: Option<&'a Registry>,
    /// The segment id.
    pub segment: Option<String>,
    /// `as_of` (µs).
    pub as_of: Option<i64>,
    /// The side's profiles.
    pub profiles: Option<Vec<crate::Profile>>,
}

/// A reconciliation (SPEC §25) as the bindings return it: `{a, b, both, jaccard, differing,
/// causes: {cause: n}, differences: [{raw, id, side, cause, chain, change}]}` — one-word keys, the
/// same in Python and JavaScript. Profiles are merged by the identity map first.
pub fn reconcile_json(
    a: ReconcileSide<'_>,
    b: ReconcileSide<'_>,
    fx: &crate::FxRates,
    identity: Option<&crate::reconcile::IdentityMap>,
) -> Result<serde_json::Value, crate::Error> {
    use crate::reconcile::{reconcile, ProfileIndex, SideInput};
    let merge = |ps: Option<Vec<crate::Profile>>| match identity {
        Some(m) => ps.map(|ps| m.merge_profiles(ps).0),
        None => ps,
    };
    let (pa, pb) = (merge(a.profiles), merge(b.profiles));
    fn index(ps: &Option<Vec<crate::Profile>>) -> Option<ProfileIndex<'_>> {
        ps.as_ref().map(|ps| ps.iter().map(|p| (p.id(), p)).collect())
    }
    let (ia, ib) = (index(&pa), index(&pb));
    let sa = SideInput {
        claimed: a.ids.as_deref(),
        definition: a.registry.zip(a.segment.as_deref()),
        as_of: a.as_of,
        fx: Some(fx),
        profiles: ia.as_ref(),
    };
    let sb = SideInput {
        claimed: b.ids.as_deref(),
        definition: b.registry.or(a.registry).zip(b.segment.as_deref().or(a.segment.as_deref())),
        as_of: b.as_of,
        fx: Some(fx),
        profiles: ib.as_ref(),
    };
    let r = reconcile(&sa, &sb, identity)?;
    Ok(reconciliation_json(&r))
}

/// See [`reconcile_json`].
pub fn reconciliation_json(r: &crate::reconcile::Reconciliation) -> serde_json::Value {
    let union = r.count_a + r.count_b - r.both;
    serde_json::json!({
        "a": r.count_a,
        "b": r.count_b,
        "both": r.both,
        "jaccard": if union == 0 { 1.0 } else { r.both as f64 / union as f64 },
        "differing": r.differing(),
        "causes": r.by_cause().iter().map(|(c, n)| (c.as_str().to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        "differences": r.differences.iter().map(|d| serde_json::json!({
            "raw": d.raw, "id": d.id, "side": if d.only_a { "a" } else { "b" }, "cause": d.cause.as_str(),
            "chain": d.chain, "change": d.change.as_ref().map(change_json),
        })).collect::<Vec<_>>(),
    })
}

/// Drift rows (SPEC §25) as the bindings return them: `{segment, day, start, members, entered,
/// exited, churn, entered_by: {definition, data, time}, exited_by, z, alert}`.
pub fn drift_json(rows: &[crate::reconcile::DriftRow]) -> serde_json::Value {
    use crate::reconcile::DriftCause;
    let by = |v: &[u64; 3]| {
        DriftCause::ALL
            .iter()
            .zip(v)
            .map(|(c, n)| (c.as_str().to_string(), serde_json::json!(n)))
            .collect::<serde_json::Map<_, _>>()
    };
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "segment": r.segment, "day": r.day, "start": crate::time::format_timestamp(r.start),
                    "members": r.members, "entered": r.entered_total(), "exited": r.exited_total(),
                    "churn": r.churn, "entered_by": by(&r.entered), "exited_by": by(&r.exited),
                    "z": r.z, "alert": r.alert,
                })
            })
            .collect(),
    )
}

fn request_field<'v>(req: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    req.get(key).filter(|v| !v.is_null())
}

fn request_error(why: String) -> crate::Error {
    crate::Error::new(crate::ErrorKind::InvalidContext, why)
}

fn request_strings(req: &serde_json::Value, key: &str) -> Result<Option<Vec<String>>, crate::Error> {
    let Some(v) = request_field(req, key) else { return Ok(None) };
    let items = v.as_array().ok_or_else(|| request_error(format!("{key} must be an array")))?;
    items
        .iter()
        .map(|x| match x {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Number(n) if n.is_i64() => Ok(n.to_string()),
            other => Err(crate::Error::new(
                crate::ErrorKind::InvalidIds,
                format!("{key} holds {other}, not a string or an integer"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn request_profiles(req: &serde_json::Value, key: &str) -> Result<Option<Vec<crate::Profile>>, crate::Error> {
    let Some(v) = request_field(req, key) else { return Ok(None) };
    let items = v.as_array().ok_or_else(|| request_error(format!("{key} must be an array of profiles")))?;
    items.iter().map(crate::Profile::from_json).collect::<Result<Vec<_>, _>>().map(Some)
}

fn request_instant(req: &serde_json::Value, key: &str) -> Result<Option<i64>, crate::Error> {
    match request_field(req, key) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => crate::parse_as_of(s).map(Some),
        Some(_) => Err(request_error(format!("{key} must be an RFC 3339 text"))),
    }
}

fn request_fx(req: &serde_json::Value) -> Result<crate::FxRates, crate::Error> {
    request_field(req, "fx").map_or_else(|| Ok(crate::FxRates::new()), crate::FxRates::from_json)
}

/// [`reconcile_json`] for the JavaScript bindings: one JSON request `{a, b, segment, segmentB,
/// asOf, asOfB, profiles, profilesB, fx, identity: {pairs: [[x, y]], prefer, unique, strict}}`
/// against `registry` (and `registry_b` for B, default the same).
pub fn reconcile_request_json(
    registry: &Registry,
    registry_b: Option<&Registry>,
    req: &serde_json::Value,
) -> Result<serde_json::Value, crate::Error> {
    let text = |key: &str| request_field(req, key).and_then(|v| v.as_str()).map(str::to_string);
    let identity = match request_field(req, "identity") {
        None => None,
        Some(m) => {
            let pairs = m
                .get("pairs")
                .and_then(|p| p.as_array())
                .ok_or_else(|| request_error("identity.pairs must be an array of [id, id]".into()))?;
            let pairs = pairs
                .iter()
                .map(|p| match p.as_array().map(|x| x.as_slice()) {
                    Some([serde_json::Value::String(a), serde_json::Value::String(b)]) => Ok((a.clone(), b.clone())),
                    _ => Err(crate::Error::new(
                        crate::ErrorKind::InvalidIdentity,
                        format!("identity pair {p} is not [id, id]"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let opts = crate::reconcile::IdentityOptions {
                prefer: request_strings(m, "prefer")?.unwrap_or_default(),
                unique: request_strings(m, "unique")?.unwrap_or_default(),
                strict: m.get("strict").and_then(|s| s.as_bool()).unwrap_or(false),
            };
            Some(crate::reconcile::IdentityMap::from_pairs(pairs, &opts)?)
        }
    };
    let a = ReconcileSide {
        ids: request_strings(req, "a")?,
        registry: Some(registry),
        segment: text("segment"),
        as_of: request_instant(req, "asOf")?,
        profiles: request_profiles(req, "profiles")?,
    };
    let b = ReconcileSide {
        ids: request_strings(req, "b")?,
        registry: Some(registry_b.unwrap_or(registry)),
        segment: text("segmentB").or_else(|| text("segment")),
        as_of: request_instant(req, "asOfB")?,
        profiles: request_profiles(req, "profilesB")?,
    };
    reconcile_json(a, b, &request_fx(req)?, identity.as_ref())
}

/// [`drift_json`] for the JavaScript bindings: one JSON request `{profiles, start, end, every,
/// zone, window, z, ids, fx}`.
pub fn drift_request_json(registry: &Registry, req: &serde_json::Value) -> Result<serde_json::Value, crate::Error> {
    let text = |key: &str| request_field(req, key).and_then(|v| v.as_str()).map(str::to_string);
    let defaults = crate::reconcile::DriftOptions::default();
    let opts = crate::reconcile::DriftOptions {
        zone: text("zone").unwrap_or(defaults.zone),
        from: text("start").ok_or_else(|| request_error("start (YYYY-MM-DD) is required".into()))?,
        to: text("end").ok_or_else(|| request_error("end (YYYY-MM-DD) is required".into()))?,
        every: request_field(req, "every")
            .and_then(|v| v.as_u64())
            .map_or(Ok(1), |v| u32::try_from(v).map_err(|_| request_error("every is too large".into())))?,
        window: request_field(req, "window").and_then(|v| v.as_u64()).map_or(defaults.window, |v| v as usize),
        z: request_field(req, "z").and_then(|v| v.as_f64()).unwrap_or(defaults.z),
    };
    let profiles = request_profiles(req, "profiles")?.unwrap_or_default();
    let ids = request_strings(req, "ids")?
        .unwrap_or_else(|| registry.segments().iter().map(|s| s.id().to_string()).collect());
    let targets: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rows = crate::reconcile::drift(registry.program(), &targets, &profiles, &request_fx(req)?, &opts)?;
    Ok(drift_json(&rows))
}

/// A registry diff (SPEC §26) as the bindings return it: `{required, segments: [{id, change,
/// versions: [old, new], fields, rule_changes: [[old, new]], bump, reasons, problem: {kind,
/// message} | null}]}`.
pub fn diff_json(d: &crate::diff::RegistryDiff) -> serde_json::Value {
    serde_json::json!({
        "required": d.required().as_str(),
        "segments": d.segments.iter().map(|s| serde_json::json!({
            "id": s.id,
            "change": s.change.as_str(),
            "versions": [s.versions.0, s.versions.1],
            "fields": s.fields,
            "rule_changes": s.rule_changes.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
            "bump": s.required.as_str(),
            "reasons": s.reasons,
            "problem": s.problem.as_ref().map(|(k, m)| serde_json::json!({"kind": k, "message": m})),
        })).collect::<Vec<_>>(),
    })
}

/// An import (SPEC §29) for every binding: the request `{from, source | source_text, schema, id,
/// saved_groups, toggle, dialect, timezone, tables, partial}` (`source` a JSON value, `source_text` its text; an
/// SQL query is text; `dialect`/`timezone`/`tables` are SQL's, §29.5) gives `{format, reference, dialect, status,
/// assumptions, refusals, reads, rule, definition, schema}` — `definition` the YAML text and
/// `schema` the one it compiles against (both `null` when refused). A refused import is the error
/// `import_refused` unless `partial` is true; a source that does not read is `import_invalid`.
///
/// ```
/// let req = serde_json::json!({"from": "jsonlogic", "source": {"==": [1, "1"]}});
/// let out = segcore::binding::import_request_json(&req).unwrap();
/// assert_eq!(out["status"], "exact");
/// assert_eq!(out["rule"], "true");
/// ```
pub fn import_request_json(req: &serde_json::Value) -> Result<serde_json::Value, crate::Error> {
    use crate::import::{import, import_value, Format, Options};
    let invalid = |why: &str| crate::Error::new(crate::ErrorKind::ImportInvalid, why.to_string());
    let format: Format = request_field(req, "from")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid("the import request needs `from`: the source format (jsonlogic)"))?
        .parse()?;
    let mut options = Options::new();
    if let Some(schema) = request_field(req, "schema") {
        options = options.schema_json(schema)?;
    }
    if let Some(id) = request_field(req, "id").and_then(|v| v.as_str()) {
        options = options.id(id);
    }
    if let Some(groups) = request_field(req, "saved_groups") {
        options = options.saved_groups(groups)?;
    }
    if let Some(toggle) = request_field(req, "toggle").and_then(|v| v.as_str()) {
        options = options.toggle(toggle);
    }
    if let Some(dialect) = request_field(req, "dialect").and_then(|v| v.as_str()) {
        options = options.dialect(dialect);
    }
    if let Some(zone) = request_field(req, "timezone").and_then(|v| v.as_str()) {
        options = options.timezone(zone);
    }
    if let Some(tables) = request_field(req, "tables") {
        options = options.tables(tables)?;
    }
    let imported = match (request_field(req, "source_text").and_then(|v| v.as_str()), req.get("source")) {
        (Some(text), _) => import(format, text, &options)?,
        (None, Some(source)) => import_value(format, source, &options)?,
        (None, None) => return Err(invalid("the import request needs `source` (a JSON value) or `source_text`")),
    };
    let partial = request_field(req, "partial").and_then(|v| v.as_bool()).unwrap_or(false);
    if let (Some(e), false) = (imported.report.error(), partial) {
        return Err(e);
    }
    let mut out = imported.report.to_json();
    out["rule"] = imported.rule.clone().map_or(serde_json::Value::Null, serde_json::Value::String);
    out["definition"] = imported.yaml.clone().map_or(serde_json::Value::Null, serde_json::Value::String);
    out["schema"] = imported.schema.as_ref().map_or(serde_json::Value::Null, |s| s.to_json());
    Ok(out)
}
