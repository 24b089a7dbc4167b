//! The WebAssembly binding (wasm-bindgen): conversions between JavaScript values and the core's
//! types, and nothing else. Every decision about membership is made by `segcore` (the core crate).
//!
//! This module is private to the npm package: `js/api.mjs` wraps it with the public API, which
//! has the same shape as the Node binding's (`index.d.ts`), so code moves between server and
//! browser unchanged. Profiles cross on a [`tape`] written into a scratch buffer in the module's
//! memory (one call per profile, not one per value); definitions, options and results cross with
//! serde-wasm-bindgen, off the hot path.

#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
mod alloc;
mod errors;
pub mod tape;

use std::cell::RefCell;
use std::sync::Arc;

use segcore::binding::Projection;
use segcore::{Bound, Definition, EvalContext, FxRates, Outcome, Profile, Schema, Value};
use wasm_bindgen::prelude::*;

use errors::{compile_err, diagnostics_json, eval_err, type_error, WResult};

// The default wasm allocator (dlmalloc) made allocation the largest cost of a tape call; talc's
// own memory source made large profiles quadratic (see alloc.rs).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: alloc::Allocator = alloc::new();

thread_local! {
    /// The tape buffer: JavaScript writes a profile here, then calls in with where it starts and
    /// its length (a tape starts after another one's bytes when a getter called segcore while
    /// that one was being written). Results of registry calls (one code byte per segment) are
    /// written back where the tape started.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Makes the scratch buffer at least `capacity` bytes, keeping its contents, and returns its
/// address. The module's memory may grow here: callers refresh their views of it afterwards.
#[wasm_bindgen(js_name = scratchReserve)]
pub fn scratch_reserve(capacity: usize) -> *mut u8 {
    SCRATCH.with_borrow_mut(|s| {
        if s.len() < capacity {
            s.resize(capacity, 0);
        }
        s.as_mut_ptr()
    })
}

/// The module's linear memory (for the tape writer's views).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

fn with_tape<T>(base: usize, len: usize, f: impl FnOnce(&[u8]) -> WResult<T>) -> WResult<T> {
    SCRATCH.with_borrow(|s| match base.checked_add(len).and_then(|end| s.get(base..end)) {
        Some(bytes) => f(bytes),
        None => Err(type_error("internal: tape longer than the scratch buffer")),
    })
}

/// Writes one code byte per outcome into the scratch buffer from `at`; returns how many. The
/// caller made room (the buffer never moves here, so its views stay valid).
fn write_codes(at: usize, codes: impl ExactSizeIterator<Item = Outcome>) -> WResult<u32> {
    let n = codes.len();
    SCRATCH.with_borrow_mut(|s| match at.checked_add(n).and_then(|end| s.get_mut(at..end)) {
        Some(slots) => {
            for (slot, o) in slots.iter_mut().zip(codes) {
                *slot = outcome_code(o) as u8;
            }
            Ok(n as u32)
        }
        None => Err(type_error("internal: no room for the results in the scratch buffer")),
    })
}

fn outcome_code(o: Outcome) -> u32 {
    o.code().into()
}

/// serde_json → a JS value (plain objects, not `Map`s).
fn to_js(v: &serde_json::Value) -> WResult<JsValue> {
    use serde::Serialize;
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| type_error(format!("internal: {e}")))
}

/// A JS value → JSON (definitions, schemas, FX quotes): plain data only.
fn from_js(v: JsValue, what: &str) -> WResult<serde_json::Value> {
    serde_wasm_bindgen::from_value(v).map_err(|e| type_error(format!("{what} is not plain JSON data: {e}")))
}

fn is_nullish(v: &JsValue) -> bool {
    v.is_null() || v.is_undefined()
}

fn schema(v: JsValue) -> WResult<Option<Schema>> {
    if is_nullish(&v) {
        return Ok(None);
    }
    // Text is a schema file's contents (YAML or JSON).
    if let Some(text) = v.as_string() {
        return Schema::from_yaml_str(&text).map(Some).map_err(compile_err);
    }
    Schema::from_json(&from_js(v, "schema")?).map(Some).map_err(compile_err)
}

/// Definitions given as YAML/JSON texts or objects.
fn definitions(list: JsValue) -> WResult<Vec<Result<Definition, segcore::Error>>> {
    let items: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(list)
        .map_err(|_| type_error("definitions must be an array of texts or objects"))?;
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(text) => Ok(Definition::from_yaml_str(&text)),
            v @ serde_json::Value::Object(_) => Ok(Definition::from_json(&v)),
            _ => Err(type_error("a definition is YAML/JSON text or an object")),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Contexts and profiles

/// An evaluation context.
#[wasm_bindgen]
pub struct WasmContext {
    inner: Arc<EvalContext>,
}

#[wasm_bindgen]
impl WasmContext {
    /// `asOf` is RFC 3339 text, or (when `text` is absent) a `Date`'s time value in ms.
    #[wasm_bindgen(constructor)]
    pub fn new(text: Option<String>, ms: f64, fx: JsValue, segments: JsValue) -> WResult<WasmContext> {
        let micros = match text {
            Some(text) => segcore::parse_as_of(&text).map_err(eval_err)?,
            None => segcore::as_of_from_millis(ms).map_err(eval_err)?,
        };
        let mut cx = EvalContext::new(micros);
        if !is_nullish(&fx) {
            cx.fx = FxRates::from_json(&from_js(fx, "fx")?).map_err(eval_err)?;
        }
        if !is_nullish(&segments) {
            cx.set_segments_json(&from_js(segments, "segments")?).map_err(|e| type_error(e.first().message.clone()))?;
        }
        Ok(WasmContext { inner: Arc::new(cx) })
    }

    /// `asOf` as RFC 3339 (UTC).
    #[wasm_bindgen(getter, js_name = asOf)]
    pub fn as_of(&self) -> String {
        segcore::binding::format_timestamp(self.inner.as_of)
    }
}

/// A profile converted once.
#[wasm_bindgen]
pub struct WasmProfile {
    inner: Profile,
}

#[wasm_bindgen]
impl WasmProfile {
    /// A whole profile object written on the tape (every field checked by the core).
    #[wasm_bindgen(js_name = fromTape)]
    pub fn from_tape(base: usize, len: usize) -> WResult<WasmProfile> {
        with_tape(base, len, tape::full_profile).map(|inner| WasmProfile { inner })
    }

    /// A profile parsed from JSON text, exactly.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> WResult<WasmProfile> {
        Profile::from_json_str(text).map(|inner| WasmProfile { inner }).map_err(eval_err)
    }

    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    #[wasm_bindgen(getter, js_name = eventCount)]
    pub fn event_count(&self) -> usize {
        self.inner.event_count()
    }
}

fn explanation(ex: &segcore::Explanation) -> WResult<JsValue> {
    to_js(&serde_json::json!({ "json": ex.to_json(), "text": ex.to_string(), "html": ex.to_html() }))
}

/// The horizon text of `nextChange` (`"90d"`), or the default.
fn horizon(text: Option<String>) -> WResult<Option<i64>> {
    text.map(|h| segcore::temporal::parse_horizon(&h)).transpose().map_err(eval_err)
}

/// A projected profile bound to the layout its values were read for.
fn bind_parts<'p>(layout: &Arc<segcore::binding::Layout>, p: &'p Profile, values: &'p [Value]) -> WResult<Bound<'p>> {
    Bound::with_attributes(layout, p, values.iter().collect()).ok_or_else(|| type_error("internal: layout mismatch"))
}

// ---------------------------------------------------------------------------------------------
// Segments

/// A compiled segment with its projection.
#[wasm_bindgen]
pub struct WasmSegment {
    inner: segcore::Segment,
    spec: Projection,
}

fn segment(def: Result<Definition, segcore::Error>, schema_v: JsValue) -> WResult<WasmSegment> {
    let def = def.map_err(compile_err)?;
    let schema = schema(schema_v)?;
    let inner = segcore::Segment::compile(def, schema.as_ref()).map_err(compile_err)?;
    Ok(WasmSegment::new(inner))
}

impl WasmSegment {
    fn new(inner: segcore::Segment) -> WasmSegment {
        let spec = Projection::new(inner.layout(), inner.read_set());
        WasmSegment { inner, spec }
    }
}

#[wasm_bindgen]
impl WasmSegment {
    #[wasm_bindgen(js_name = fromYaml)]
    pub fn from_yaml(text: &str, schema: JsValue) -> WResult<WasmSegment> {
        segment(Definition::from_yaml_str(text), schema)
    }

    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str, schema: JsValue) -> WResult<WasmSegment> {
        segment(Definition::from_json_str(text), schema)
    }

    #[wasm_bindgen(js_name = fromObject)]
    pub fn from_object(definition: JsValue, schema: JsValue) -> WResult<WasmSegment> {
        segment(Definition::from_json(&from_js(definition, "the definition")?), schema)
    }

    /// A bare rule with metadata (what is not given: the core's defaults, `Definition::for_rule`).
    #[wasm_bindgen(js_name = compileRule)]
    pub fn compile_rule(
        rule: String,
        id: Option<String>,
        version: Option<String>,
        timezone: Option<String>,
        currency: Option<String>,
        schema: JsValue,
    ) -> WResult<WasmSegment> {
        let def =
            Definition::for_rule(rule, id.as_deref(), version.as_deref(), timezone.as_deref(), currency.as_deref());
        segment(Ok(def), schema)
    }

    /// Everything the wrapper caches about a segment, read once.
    pub fn info(&self) -> WResult<JsValue> {
        to_js(&segcore::binding::segment_info(&self.inner, &self.spec))
    }

    /// Outcome (0 false, 1 true, 2 unknown) of a projected profile on the tape.
    #[wasm_bindgen(js_name = evalTape)]
    pub fn eval_tape(&self, cx: &WasmContext, base: usize, len: usize) -> WResult<u32> {
        let (p, values) = with_tape(base, len, |b| tape::projected_profile(b, &self.spec, false))?;
        let bound = bind_parts(self.inner.layout(), &p, &values)?;
        self.inner.evaluate_bound(&bound, &cx.inner).map(outcome_code).map_err(eval_err)
    }

    /// Outcome of a profile handle.
    #[wasm_bindgen(js_name = evalHandle)]
    pub fn eval_handle(&self, p: &WasmProfile, cx: &WasmContext) -> WResult<u32> {
        self.inner.evaluate(&p.inner, &cx.inner).map(outcome_code).map_err(eval_err)
    }

    /// A projected profile on the tape as a profile with its attributes named (for explain).
    #[wasm_bindgen(js_name = profileFromTape)]
    pub fn profile_from_tape(&self, base: usize, len: usize) -> WResult<WasmProfile> {
        let (inner, _) = with_tape(base, len, |b| tape::projected_profile(b, &self.spec, true))?;
        Ok(WasmProfile { inner })
    }

    pub fn explain(&self, p: &WasmProfile, cx: &WasmContext) -> WResult<JsValue> {
        explanation(&self.inner.explain(&p.inner, &cx.inner).map_err(eval_err)?)
    }

    /// The next change of a profile's outcome (SPEC §22), or null.
    #[wasm_bindgen(js_name = nextChange)]
    pub fn next_change(&self, p: &WasmProfile, cx: &WasmContext, horizon: Option<String>) -> WResult<JsValue> {
        let c = self.inner.next_change(&p.inner, &cx.inner, self::horizon(horizon)?).map_err(eval_err)?;
        to_js(&c.as_ref().map_or(serde_json::Value::Null, segcore::binding::change_json))
    }

    /// The timeline of a profile's outcome from the context's instant to `to`.
    pub fn timeline(&self, p: &WasmProfile, cx: &WasmContext, to: String) -> WResult<JsValue> {
        let to = segcore::parse_as_of(&to).map_err(eval_err)?;
        let t = self.inner.timeline(&p.inner, cx.inner.as_of, to, &cx.inner).map_err(eval_err)?;
        to_js(&segcore::binding::timeline_json(self.inner.id(), &t))
    }
}

// ---------------------------------------------------------------------------------------------
// Registries

/// Definitions compiled together, with the projection of their shared layout.
#[wasm_bindgen]
pub struct WasmRegistry {
    inner: segcore::Registry,
    spec: Projection,
}

#[wasm_bindgen]
impl WasmRegistry {
    #[wasm_bindgen(js_name = fromDefinitions)]
    pub fn from_definitions(definitions: JsValue, schema: JsValue) -> WResult<WasmRegistry> {
        let defs = self::definitions(definitions)?.into_iter().collect::<Result<Vec<_>, _>>();
        let defs = defs.map_err(compile_err)?;
        let schema = self::schema(schema)?;
        let inner = segcore::Registry::from_definitions(defs, schema.as_ref()).map_err(compile_err)?;
        let spec = Projection::new(inner.layout(), &inner.read_set());
        Ok(WasmRegistry { inner, spec })
    }

    /// Loads a bundle (SPEC §27).
    #[wasm_bindgen(js_name = fromBundle)]
    pub fn from_bundle(text: &str) -> WResult<WasmRegistry> {
        let inner = segcore::Registry::from_bundle(text).map_err(compile_err)?;
        let spec = Projection::new(inner.layout(), &inner.read_set());
        Ok(WasmRegistry { inner, spec })
    }

    /// `[bundle hash, bundle text]` (`created` in µs).
    pub fn bundle(&self, created: f64) -> Vec<String> {
        vec![self.inner.bundle_hash(), self.inner.to_bundle(created as i64)]
    }

    /// `{ ids, segments, spec }` (ids sorted: the order of every code written by `evalTape`).
    pub fn info(&self) -> WResult<JsValue> {
        to_js(&segcore::binding::registry_info(&self.inner, &self.spec))
    }

    /// The compiled segment `id`.
    pub fn get(&self, id: &str) -> Option<WasmSegment> {
        self.inner.get(id).map(|s| WasmSegment::new(s.clone()))
    }

    /// Outcomes of every segment for a projected profile on the tape, written as code bytes
    /// where the tape started (`base`); returns how many.
    #[wasm_bindgen(js_name = evalTape)]
    pub fn eval_tape(&self, cx: &WasmContext, base: usize, len: usize) -> WResult<u32> {
        let (p, values) = with_tape(base, len, |b| tape::projected_profile(b, &self.spec, false))?;
        let bound = bind_parts(self.inner.layout(), &p, &values)?;
        let results = self.inner.evaluate_bound(&bound, &cx.inner).map_err(eval_err)?;
        write_codes(base, results.into_iter().map(|(_, o)| o))
    }

    /// Like `evalTape`, for a profile handle; the codes go into the scratch buffer from `at`.
    #[wasm_bindgen(js_name = evalHandle)]
    pub fn eval_handle(&self, p: &WasmProfile, cx: &WasmContext, at: usize) -> WResult<u32> {
        let bound = self.inner.bind(&p.inner);
        let results = self.inner.evaluate_bound(&bound, &cx.inner).map_err(eval_err)?;
        write_codes(at, results.into_iter().map(|(_, o)| o))
    }

    #[wasm_bindgen(js_name = evalOne)]
    pub fn eval_one(&self, id: &str, p: &WasmProfile, cx: &WasmContext) -> WResult<u32> {
        self.inner.evaluate_one(id, &p.inner, &cx.inner).map(outcome_code).map_err(eval_err)
    }

    #[wasm_bindgen(js_name = profileFromTape)]
    pub fn profile_from_tape(&self, base: usize, len: usize) -> WResult<WasmProfile> {
        let (inner, _) = with_tape(base, len, |b| tape::projected_profile(b, &self.spec, true))?;
        Ok(WasmProfile { inner })
    }

    pub fn explain(&self, id: &str, p: &WasmProfile, cx: &WasmContext) -> WResult<JsValue> {
        explanation(&self.inner.explain(id, &p.inner, &cx.inner).map_err(eval_err)?)
    }

    #[wasm_bindgen(js_name = nextChange)]
    pub fn next_change(
        &self,
        id: &str,
        p: &WasmProfile,
        cx: &WasmContext,
        horizon: Option<String>,
    ) -> WResult<JsValue> {
        let c = self.inner.program().next_change(id, &p.inner, &cx.inner, self::horizon(horizon)?).map_err(eval_err)?;
        to_js(&c.as_ref().map_or(serde_json::Value::Null, segcore::binding::change_json))
    }

    /// What changed from this registry to `new` (SPEC §26): `segcore::binding::diff_json`.
    #[wasm_bindgen(js_name = diffTo)]
    pub fn diff_to(&self, new: &WasmRegistry) -> WResult<JsValue> {
        to_js(&segcore::binding::diff_json(&segcore::diff::diff(&self.inner, &new.inner)))
    }

    /// Why two member sets differ (SPEC §25): `segcore::binding::reconcile_request_json`.
    pub fn reconcile(&self, request: &str) -> WResult<JsValue> {
        let req = serde_json::from_str(request)
            .map_err(|e| type_error(format!("internal: the request is not JSON ({e})")))?;
        to_js(&segcore::binding::reconcile_request_json(&self.inner, None, &req).map_err(eval_err)?)
    }

    /// [`WasmRegistry::reconcile`] with B's definitions in `other`.
    #[wasm_bindgen(js_name = reconcileWith)]
    pub fn reconcile_with(&self, other: &WasmRegistry, request: &str) -> WResult<JsValue> {
        let req = serde_json::from_str(request)
            .map_err(|e| type_error(format!("internal: the request is not JSON ({e})")))?;
        to_js(&segcore::binding::reconcile_request_json(&self.inner, Some(&other.inner), &req).map_err(eval_err)?)
    }

    /// Drift rows (SPEC §25): `segcore::binding::drift_request_json`.
    pub fn drift(&self, request: &str) -> WResult<JsValue> {
        let req = serde_json::from_str(request)
            .map_err(|e| type_error(format!("internal: the request is not JSON ({e})")))?;
        to_js(&segcore::binding::drift_request_json(&self.inner, &req).map_err(eval_err)?)
    }

    pub fn timeline(&self, id: &str, p: &WasmProfile, cx: &WasmContext, to: String) -> WResult<JsValue> {
        let to = segcore::parse_as_of(&to).map_err(eval_err)?;
        let t = self.inner.program().timeline(id, &p.inner, cx.inner.as_of, to, &cx.inner).map_err(eval_err)?;
        to_js(&segcore::binding::timeline_json(id, &t))
    }
}

// ---------------------------------------------------------------------------------------------
// Tools

/// A local date-time in a zone resolved as segcore resolves local times, or `null`.
#[wasm_bindgen(js_name = resolveLocalTime)]
pub fn resolve_local_time(local: &str, zone: &str) -> WResult<JsValue> {
    match segcore::binding::resolve_local_json(local, zone) {
        Some(v) => to_js(&v),
        None => Ok(JsValue::NULL),
    }
}

/// The canonical formatting of a rule.
#[wasm_bindgen(js_name = formatRule)]
pub fn format_rule(rule: &str) -> WResult<String> {
    segcore::Segment::parse_rule(rule).map(|ast| segcore::binding::print_rule(&ast)).map_err(compile_err)
}

/// An import (SPEC §29): the request and answer are `segcore::binding::import_request_json`'s.
#[wasm_bindgen(js_name = importRule)]
pub fn import_rule(req: &str) -> WResult<JsValue> {
    let req: serde_json::Value = serde_json::from_str(req).map_err(|e| {
        compile_err(segcore::Error::new(segcore::ErrorKind::ImportInvalid, format!("the import request: {e}")))
    })?;
    to_js(&segcore::binding::import_request_json(&req).map_err(compile_err)?)
}

/// Diagnostics of an array of definitions (texts or objects); empty when valid.
#[wasm_bindgen]
pub fn check(definitions: JsValue, schema: JsValue) -> WResult<JsValue> {
    let schema = self::schema(schema)?;
    let diags = segcore::Registry::check(self::definitions(definitions)?, schema.as_ref());
    to_js(&diagnostics_json(&diags))
}

/// Test-only (`__segcore_test_trap` in js/api.mjs, not part of the API): traps the module on
/// purpose, to prove the wrapper recovers. `0`: a Rust panic (an `unreachable` trap: panics abort
/// in this build); `1`: a stack overflow (unbounded recursion).
#[wasm_bindgen(js_name = testTrap)]
pub fn test_trap(kind: u32) -> u32 {
    #[inline(never)]
    fn recurse(n: u32) -> u32 {
        let frame = std::hint::black_box([n; 64]);
        // Never 0 again before the stack runs out (n counts up from 1).
        if std::hint::black_box(n) == 0 {
            return frame[1];
        }
        recurse(frame[(n % 64) as usize].wrapping_add(1)).wrapping_add(frame[0])
    }
    match kind {
        0 => panic!("segcore test trap"),
        _ => recurse(kind),
    }
}

/// Versions: the package, and the segment language it implements.
#[wasm_bindgen]
pub fn versions() -> WResult<JsValue> {
    to_js(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "languageVersion": segcore::LANGUAGE_VERSION,
        "casefoldUnicodeVersion": segcore::CASEFOLD_UNICODE_VERSION,
    }))
}

// ---------------------------------------------------------------------------------------------
// Reconciliation (SPEC §24): the same `segcore::binding` functions as the Node module.

fn strings(v: JsValue, what: &str) -> WResult<Vec<String>> {
    serde_wasm_bindgen::from_value(v).map_err(|_| type_error(format!("{what} must be an array of strings")))
}

fn optional_strings(v: JsValue, what: &str) -> WResult<Option<Vec<String>>> {
    if v.is_null() || v.is_undefined() {
        Ok(None)
    } else {
        strings(v, what).map(Some)
    }
}

/// The fingerprint text of a set of ids.
#[wasm_bindgen]
pub fn fingerprint(ids: JsValue, key: Option<String>) -> WResult<String> {
    segcore::binding::fingerprint_text(&strings(ids, "ids")?, key.as_deref()).map_err(eval_err)
}

/// The sum of fingerprint texts.
#[wasm_bindgen(js_name = fingerprintSum)]
pub fn fingerprint_sum(fps: JsValue) -> WResult<String> {
    segcore::binding::fingerprint_sum_text(&strings(fps, "fingerprints")?).map_err(eval_err)
}

/// A sketch's bytes.
#[wasm_bindgen(js_name = sketchNew)]
pub fn sketch_new(
    ids: JsValue,
    symbols: Option<u32>,
    differences: Option<u32>,
    key: Option<String>,
) -> WResult<Vec<u8>> {
    segcore::binding::sketch_bytes(&strings(ids, "ids")?, symbols, differences, key.as_deref()).map_err(eval_err)
}

/// `{symbols, fingerprint}` of a sketch's bytes.
#[wasm_bindgen(js_name = sketchInfo)]
pub fn sketch_info(bytes: &[u8]) -> WResult<JsValue> {
    to_js(&segcore::binding::sketch_info_json(bytes).map_err(eval_err)?)
}

/// The decoded difference of two sketches.
#[wasm_bindgen(js_name = sketchDecode)]
pub fn sketch_decode(a: &[u8], b: &[u8], ids_a: JsValue, ids_b: JsValue, key: Option<String>) -> WResult<JsValue> {
    let (ia, ib) = (optional_strings(ids_a, "ids")?, optional_strings(ids_b, "otherIds")?);
    let v =
        segcore::binding::sketch_decode_json(a, b, ia.as_deref(), ib.as_deref(), key.as_deref()).map_err(eval_err)?;
    to_js(&v)
}
