//! The Node.js binding (napi-rs): conversions between JavaScript values and the core's types, and
//! nothing else. Every decision about membership is made by `segcore` (the core crate).
//!
//! This module is private to the npm package: `index.js` wraps it with the public, documented API
//! (classes, options objects, error classes, caching of `asOf` contexts); see `index.d.ts`. Here,
//! compiled segments, registries, profiles and contexts cross as napi externals, which cost a type
//! check to unwrap, rather than as wrapped class instances, whose unwrap is a property lookup.
//!
//! Every entry point runs its body in [`guard`]: a Rust panic becomes a segcore error of kind
//! `internal` instead of unwinding into Node (which aborts the process).

mod convert;
mod errors;

use std::path::Path;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{Env, JsObject, JsString, JsUnknown, NapiRaw, Task, ValueType};
use napi_derive::napi;
use segcore::{Bound, Definition, EvalContext, FxRates, Outcome, Phase, Profile, Schema, Value};

use errors::{compile_err, eval_err, guard, type_error};
use segcore::binding::Projection as Spec;
use segcore::tape::TapeError;

fn outcome_code(o: Outcome) -> u32 {
    o.code().into()
}

fn outcome_char(o: Outcome) -> char {
    char::from(b'0' + outcome_code(o) as u8)
}

/// serde_json → a JS value (explanations, definitions, diagnostics).
fn json_to_js(env: &Env, v: &serde_json::Value) -> Result<JsUnknown> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => env.get_null()?.into_unknown(),
        J::Bool(b) => env.get_boolean(*b)?.into_unknown(),
        J::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= (1 << 53) => env.create_int64(i)?.into_unknown(),
            _ => env.create_double(n.as_f64().unwrap_or(f64::NAN))?.into_unknown(),
        },
        J::String(s) => env.create_string(s)?.into_unknown(),
        J::Array(items) => {
            let mut arr = env.create_array_with_length(items.len())?;
            for (i, item) in items.iter().enumerate() {
                arr.set_element(i as u32, json_to_js(env, item)?)?;
            }
            arr.into_unknown()
        }
        J::Object(map) => {
            let mut obj = env.create_object()?;
            for (k, item) in map {
                obj.set_named_property(k, json_to_js(env, item)?)?;
            }
            obj.into_unknown()
        }
    })
}

fn schema(v: Option<JsUnknown>) -> Result<Option<Schema>> {
    match v {
        None => Ok(None),
        Some(v) if matches!(v.get_type()?, ValueType::Null | ValueType::Undefined) => Ok(None),
        // Text is a schema file's contents (YAML or JSON).
        Some(v) if v.get_type()? == ValueType::String => {
            Schema::from_yaml_str(&convert::string(unsafe { v.cast::<JsString>() })?).map(Some).map_err(compile_err)
        }
        Some(v) => {
            Schema::from_json(&convert::to_json(v, "the schema", Phase::Compile)?).map(Some).map_err(compile_err)
        }
    }
}

/// A definition given as YAML/JSON text or as an object.
fn definition(v: JsUnknown) -> Result<std::result::Result<Definition, segcore::Error>> {
    Ok(match v.get_type()? {
        ValueType::String => Definition::from_yaml_str(&convert::string(unsafe { v.cast::<JsString>() })?),
        ValueType::Object => Definition::from_json(&convert::to_json(v, "the definition", Phase::Compile)?),
        _ => return Err(type_error("a definition is YAML/JSON text or an object")),
    })
}

fn definitions(list: JsObject) -> Result<Vec<std::result::Result<Definition, segcore::Error>>> {
    if !list.is_array()? {
        return Err(type_error("definitions must be an array of texts or objects"));
    }
    (0..list.get_array_length()?).map(|i| definition(list.get_element::<JsUnknown>(i)?)).collect()
}

type SegmentRef = External<Arc<CompiledSegment>>;
type RegistryRef = External<Arc<CompiledRegistry>>;
type ProfileRef = External<Arc<Profile>>;
type ContextRef = External<Arc<EvalContext>>;

/// A registry with the projection spec of its shared layout.
pub struct CompiledRegistry {
    inner: segcore::Registry,
    spec: Spec,
}

/// A segment with the projection spec of its layout.
pub struct CompiledSegment {
    inner: segcore::Segment,
    spec: Spec,
    /// The segment as a program of one, made on the first `evaluateMany`.
    program: std::sync::OnceLock<segcore::Program>,
}

impl std::ops::Deref for CompiledSegment {
    type Target = segcore::Segment;
    fn deref(&self) -> &segcore::Segment {
        &self.inner
    }
}

fn segment_ref(inner: segcore::Segment) -> SegmentRef {
    let spec = Spec::new(inner.layout(), inner.read_set());
    External::new(Arc::new(CompiledSegment { inner, spec, program: Default::default() }))
}

fn none_if_nullish(v: Option<JsUnknown>) -> Option<JsUnknown> {
    v.filter(|v| !matches!(v.get_type(), Ok(ValueType::Null | ValueType::Undefined)))
}

// ---------------------------------------------------------------------------------------------
// Contexts and profiles

/// An evaluation context. `asOf` is a `Date` or an RFC 3339 string with an offset.
#[napi]
pub fn context_new(as_of: JsUnknown, fx: Option<JsUnknown>, segments: Option<JsUnknown>) -> Result<ContextRef> {
    guard(|| {
        let micros = match as_of.get_type()? {
            ValueType::String => {
                segcore::parse_as_of(&convert::string(unsafe { as_of.cast::<JsString>() })?).map_err(eval_err)?
            }
            ValueType::Object if as_of.is_date()? => {
                segcore::as_of_from_millis(unsafe { as_of.cast::<napi::JsDate>() }.value_of()?).map_err(eval_err)?
            }
            ValueType::Undefined | ValueType::Null => {
                return Err(type_error(
                    "asOf is required (a Date or an RFC 3339 string with an offset); segcore never reads the clock",
                ))
            }
            _ => return Err(type_error("asOf must be a Date or an RFC 3339 string with an offset")),
        };
        let mut cx = EvalContext::new(micros);
        if let Some(fx) = none_if_nullish(fx) {
            cx.fx = FxRates::from_json(&convert::to_json(fx, "the FX table", Phase::Evaluate)?).map_err(eval_err)?;
        }
        if let Some(segs) = none_if_nullish(segments) {
            cx.set_segments_json(&convert::to_json(segs, "the segments option", Phase::Evaluate)?)
                .map_err(|e| type_error(e.first().message.clone()))?;
        }
        Ok(External::new(Arc::new(cx)))
    })
}

/// `asOf` of a context as RFC 3339 (UTC).
#[napi]
pub fn context_as_of(cx: ContextRef) -> Result<String> {
    guard(|| Ok(segcore::binding::format_timestamp(cx.as_of)))
}

/// A profile handle that tells V8 roughly how much Rust memory it holds, so the garbage collector
/// frees handles of a busy service promptly.
fn profile_ref(p: Profile) -> ProfileRef {
    let hint = 128 + p.event_count() * 96 + p.attribute_names().len() * 64;
    External::new_with_size_hint(Arc::new(p), hint)
}

/// A whole profile object written on a tape (every field checked by the core's parser).
#[napi]
pub fn profile_from_tape(tape: Uint8Array, base: u32, len: u32) -> Result<ProfileRef> {
    guard(|| Ok(profile_ref(segcore::tape::read_whole(tape_bytes(&tape, base, len)?).map_err(tape_err)?)))
}

/// A profile parsed from JSON text, exactly.
#[napi]
pub fn profile_from_json(text: String) -> Result<ProfileRef> {
    guard(|| Ok(profile_ref(Profile::from_json_str(&text).map_err(eval_err)?)))
}

/// `{ id, eventCount }` of a profile.
#[napi]
pub fn profile_info(env: Env, p: ProfileRef) -> Result<JsUnknown> {
    guard(|| json_to_js(&env, &serde_json::json!({ "id": p.id(), "eventCount": p.event_count() })))
}

// ---------------------------------------------------------------------------------------------
// Segments

fn compile_segment(
    def: std::result::Result<Definition, segcore::Error>,
    schema_v: Option<JsUnknown>,
) -> Result<SegmentRef> {
    let def = def.map_err(compile_err)?;
    let schema = schema(schema_v)?;
    segcore::Segment::compile(def, schema.as_ref()).map(segment_ref).map_err(compile_err)
}

#[napi]
pub fn segment_from_yaml(text: String, schema: Option<JsUnknown>) -> Result<SegmentRef> {
    guard(|| compile_segment(Definition::from_yaml_str(&text), schema))
}

#[napi]
pub fn segment_from_json(text: String, schema: Option<JsUnknown>) -> Result<SegmentRef> {
    guard(|| compile_segment(Definition::from_json_str(&text), schema))
}

#[napi]
pub fn segment_from_object(definition: JsUnknown, schema: Option<JsUnknown>) -> Result<SegmentRef> {
    guard(|| {
        compile_segment(Definition::from_json(&convert::to_json(definition, "the definition", Phase::Compile)?), schema)
    })
}

#[napi]
pub fn segment_load(path: String, schema: Option<JsUnknown>) -> Result<SegmentRef> {
    guard(|| compile_segment(Definition::from_file(Path::new(&path)), schema))
}

/// A bare rule with metadata (what is not given: the core's defaults, `Definition::for_rule`).
#[napi]
pub fn segment_compile_rule(
    rule: String,
    id: Option<String>,
    version: Option<String>,
    timezone: Option<String>,
    currency: Option<String>,
    schema: Option<JsUnknown>,
) -> Result<SegmentRef> {
    guard(|| {
        let def =
            Definition::for_rule(rule, id.as_deref(), version.as_deref(), timezone.as_deref(), currency.as_deref());
        compile_segment(Ok(def), schema)
    })
}

/// Everything index.js caches about a segment, read once.
#[napi]
pub fn segment_info(env: Env, seg: SegmentRef) -> Result<JsUnknown> {
    guard(|| json_to_js(&env, &segcore::binding::segment_info(&seg.inner, &seg.spec)))
}

/// The `len` bytes of a tape from `base` (see `segcore::tape`; written by tape.mjs; a tape starts
/// after another one's bytes when a getter called segcore while that one was written).
fn tape_bytes(tape: &[u8], base: u32, len: u32) -> Result<&[u8]> {
    let (base, len) = (base as usize, len as usize);
    base.checked_add(len)
        .and_then(|end| tape.get(base..end))
        .ok_or_else(|| type_error("internal: tape shorter than its length"))
}

fn tape_err(e: TapeError) -> napi::Error {
    match e {
        TapeError::Type(m) => type_error(m),
        TapeError::Profile(e) => eval_err(e),
    }
}

/// A projected profile read from a tape: the profile and its attribute values in slot order.
fn read_projection(tape: &[u8], base: u32, len: u32, spec: &Spec, named: bool) -> Result<(Profile, Vec<Value>)> {
    segcore::tape::read_projection(tape_bytes(tape, base, len)?, spec, named).map_err(tape_err)
}

/// Outcome (0 false, 1 true, 2 unknown) of a projected plain profile on a tape.
#[napi]
pub fn segment_eval_tape(seg: SegmentRef, cx: ContextRef, tape: Uint8Array, base: u32, len: u32) -> Result<u32> {
    guard(|| {
        let (p, values) = read_projection(&tape, base, len, &seg.spec, false)?;
        let bound = bind_parts(seg.layout(), &p, &values)?;
        seg.evaluate_bound(&bound, &cx).map(outcome_code).map_err(eval_err)
    })
}

/// A projected profile bound to the layout its values were read for.
fn bind_parts<'p>(layout: &Arc<segcore::binding::Layout>, p: &'p Profile, values: &'p [Value]) -> Result<Bound<'p>> {
    Bound::with_attributes(layout, p, values.iter().collect()).ok_or_else(|| type_error("internal: layout mismatch"))
}

/// Outcome of a profile handle.
#[napi]
pub fn segment_eval_handle(seg: SegmentRef, p: ProfileRef, cx: ContextRef) -> Result<u32> {
    guard(|| seg.evaluate(&p, &cx).map(outcome_code).map_err(eval_err))
}

/// Explanation of a profile handle.
#[napi]
pub fn segment_explain(env: Env, seg: SegmentRef, p: ProfileRef, cx: ContextRef) -> Result<JsUnknown> {
    guard(|| {
        let ex = seg.explain(&p, &cx).map_err(eval_err)?;
        explanation(&env, &ex)
    })
}

/// The horizon text of `nextChange` (`"90d"`), or the default.
fn horizon(text: Option<String>) -> Result<Option<i64>> {
    text.map(|h| segcore::temporal::parse_horizon(&h)).transpose().map_err(eval_err)
}

/// The next change of a profile handle's outcome (SPEC §22), or null.
#[napi]
pub fn segment_next_change(
    env: Env,
    seg: SegmentRef,
    p: ProfileRef,
    cx: ContextRef,
    horizon: Option<String>,
) -> Result<JsUnknown> {
    guard(|| {
        let c = seg.next_change(&p, &cx, self::horizon(horizon)?).map_err(eval_err)?;
        json_to_js(&env, &c.as_ref().map_or(serde_json::Value::Null, segcore::binding::change_json))
    })
}

/// The timeline of a profile handle's outcome from the context's instant to `to`.
#[napi]
pub fn segment_timeline(env: Env, seg: SegmentRef, p: ProfileRef, cx: ContextRef, to: String) -> Result<JsUnknown> {
    guard(|| {
        let to = segcore::parse_as_of(&to).map_err(eval_err)?;
        let t = seg.timeline(&p, cx.as_of, to, &cx).map_err(eval_err)?;
        json_to_js(&env, &segcore::binding::timeline_json(seg.id(), &t))
    })
}

/// One profile of a batch: a handle (evaluated by name), or a stretch of the batch's tape — a
/// projection (evaluated through the slot layout) or a whole object (an unusual shape, for the
/// core's parser). Tapes are decoded on the thread pool.
pub enum Item {
    Handle(Arc<Profile>),
    Projection(std::ops::Range<usize>),
    Whole(std::ops::Range<usize>),
}

/// A batch: `kinds[i]` is 0 (projection), 1 (whole object) or 2 (a handle, taken in order from
/// `handles`); `ends[i]` is where item i's bytes end on `tape` (for kinds 0 and 1).
fn batch_items(env: &Env, tape: &[u8], kinds: &[u8], ends: &[u32], handles: JsObject) -> Result<(Vec<u8>, Vec<Item>)> {
    if kinds.len() != ends.len() {
        return Err(type_error("internal: batch kinds and ends differ in length"));
    }
    let mut items = Vec::with_capacity(kinds.len());
    let (mut start, mut handle) = (0usize, 0u32);
    for (&kind, &end) in kinds.iter().zip(ends) {
        let end = end as usize;
        match kind {
            2 => {
                let h: JsUnknown = handles.get_element(handle)?;
                handle += 1;
                let h = unsafe { ProfileRef::from_napi_value(env.raw(), h.raw())? };
                items.push(Item::Handle(Arc::clone(&h)));
                continue;
            }
            0 | 1 if end >= start && end <= tape.len() => {
                items.push(if kind == 0 { Item::Projection(start..end) } else { Item::Whole(start..end) });
                start = end;
            }
            _ => return Err(type_error("internal: malformed batch")),
        }
    }
    // The tape buffer is reused by the next call: the task keeps its own copy.
    Ok((tape[..start].to_vec(), items))
}

/// Outcomes of many profiles on the libuv thread pool: resolves to a string of '0'/'1'/'2'.
#[napi(ts_return_type = "Promise<string>")]
pub fn segment_eval_many(
    env: Env,
    seg: SegmentRef,
    cx: ContextRef,
    tape: Uint8Array,
    kinds: Uint8Array,
    ends: Uint32Array,
    handles: JsObject,
) -> Result<AsyncTask<EvaluateMany>> {
    guard(|| {
        let (bytes, profiles) = batch_items(&env, &tape, &kinds, &ends, handles)?;
        Ok(AsyncTask::new(EvaluateMany { work: Work::Segment(Arc::clone(&seg)), bytes, profiles, cx: Arc::clone(&cx) }))
    })
}

fn explanation(env: &Env, ex: &segcore::Explanation) -> Result<JsUnknown> {
    let mut obj = env.create_object()?;
    obj.set_named_property("json", json_to_js(env, &ex.to_json())?)?;
    obj.set_named_property("text", env.create_string(&ex.to_string())?)?;
    obj.set_named_property("html", env.create_string(&ex.to_html())?)?;
    Ok(obj.into_unknown())
}

enum Work {
    Segment(Arc<CompiledSegment>),
    Registry(Arc<CompiledRegistry>),
}

/// `evaluateMany`: profiles written on the JS thread, decoded and evaluated on the libuv pool.
pub struct EvaluateMany {
    work: Work,
    bytes: Vec<u8>,
    profiles: Vec<Item>,
    cx: Arc<EvalContext>,
}

impl Task for EvaluateMany {
    type Output = String;
    type JsValue = JsString;

    // On a libuv thread: a panic there must not unwind out of the task either.
    fn compute(&mut self) -> Result<String> {
        guard(|| self.evaluate_all())
    }

    fn resolve(&mut self, env: Env, output: String) -> Result<JsString> {
        env.create_string(&output)
    }
}

impl EvaluateMany {
    /// Decodes every item (tapes on this thread), then runs the core's batch driver over them.
    fn evaluate_all(&self) -> Result<String> {
        let (program, spec) = match &self.work {
            Work::Segment(seg) => (seg.program.get_or_init(|| seg.inner.program()), &seg.spec),
            Work::Registry(reg) => (reg.inner.program(), &reg.spec),
        };
        enum Decoded<'a> {
            Handle(&'a Profile),
            Projection(Profile, Vec<Value>),
            Whole(Profile),
        }
        let mut decoded = Vec::with_capacity(self.profiles.len());
        for item in &self.profiles {
            decoded.push(match item {
                Item::Handle(p) => Decoded::Handle(p),
                Item::Projection(range) => {
                    let (p, values) =
                        segcore::tape::read_projection(&self.bytes[range.clone()], spec, false).map_err(tape_err)?;
                    Decoded::Projection(p, values)
                }
                Item::Whole(range) => {
                    Decoded::Whole(segcore::tape::read_whole(&self.bytes[range.clone()]).map_err(tape_err)?)
                }
            });
        }
        let layout = program.layout();
        let bound: Vec<Bound> = decoded
            .iter()
            .map(|d| match d {
                Decoded::Handle(p) => Ok(program.bind(p)),
                Decoded::Whole(p) => Ok(program.bind(p)),
                Decoded::Projection(p, values) => bind_parts(layout, p, values),
            })
            .collect::<Result<_>>()?;
        // One thread: the libuv pool is this task's parallelism.
        let opts = segcore::batch::BatchOptions { threads: 1, ..Default::default() };
        let m = segcore::batch::evaluate_bound(program, &bound, &self.cx, &opts).map_err(eval_err)?;
        let mut out = String::with_capacity(m.len() * program.len());
        for row in m.rows() {
            out.push(outcome_char(row.outcome));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Registries

fn registry_ref(inner: segcore::Registry) -> RegistryRef {
    let spec = Spec::new(inner.layout(), &inner.read_set());
    External::new(Arc::new(CompiledRegistry { inner, spec }))
}

#[napi]
pub fn registry_load(dir: String, schema: Option<JsUnknown>) -> Result<RegistryRef> {
    guard(|| {
        let schema = self::schema(schema)?;
        segcore::Registry::load_dir(Path::new(&dir), schema.as_ref()).map(registry_ref).map_err(compile_err)
    })
}

#[napi]
pub fn registry_from_definitions(definitions: JsObject, schema: Option<JsUnknown>) -> Result<RegistryRef> {
    guard(|| {
        let defs = self::definitions(definitions)?.into_iter().collect::<std::result::Result<Vec<_>, _>>();
        let defs = defs.map_err(compile_err)?;
        let schema = self::schema(schema)?;
        segcore::Registry::from_definitions(defs, schema.as_ref()).map(registry_ref).map_err(compile_err)
    })
}

/// `{ ids, segments, spec }` of a registry (ids sorted: the order of every per-segment result
/// string; segments: id, version and definition hash of each).
#[napi]
pub fn registry_info(env: Env, reg: RegistryRef) -> Result<JsUnknown> {
    guard(|| json_to_js(&env, &segcore::binding::registry_info(&reg.inner, &reg.spec)))
}

fn sql_options(cx: &EvalContext, dialect: &str, tables: Option<Vec<String>>) -> Result<segcore::sql::SqlOptions> {
    let mut opts =
        segcore::sql::SqlOptions::from_context(dialect, cx).map_err(|e| type_error(e.first().message.clone()))?;
    if let Some(t) = tables {
        if let [profiles, events] = t.as_slice() {
            opts.profiles_table = profiles.clone();
            opts.events_table = events.clone();
        }
    }
    Ok(opts)
}

/// The membership query of every segment (SPEC §21) as `{dialect, sql, ddl, profileColumns,
/// eventColumns}`; `tables` is `[profiles, events]`.
#[napi]
pub fn registry_to_sql(
    env: Env,
    reg: RegistryRef,
    cx: ContextRef,
    dialect: String,
    tables: Option<Vec<String>>,
) -> Result<JsUnknown> {
    guard(|| {
        let opts = sql_options(&cx, &dialect, tables)?;
        let q = segcore::sql::to_sql(reg.inner.program(), &opts).map_err(compile_err)?;
        json_to_js(&env, &q.to_json(&opts))
    })
}

/// One segment's membership query (see `registryToSql`).
#[napi]
pub fn segment_to_sql(
    env: Env,
    seg: SegmentRef,
    cx: ContextRef,
    dialect: String,
    tables: Option<Vec<String>>,
) -> Result<JsUnknown> {
    guard(|| {
        let opts = sql_options(&cx, &dialect, tables)?;
        let q = segcore::sql::to_sql(&seg.inner.program(), &opts).map_err(compile_err)?;
        json_to_js(&env, &q.to_json(&opts))
    })
}

/// The compiled segment `id`, or `null`.
#[napi]
pub fn registry_get(reg: RegistryRef, id: String) -> Result<Option<SegmentRef>> {
    guard(|| Ok(reg.inner.get(&id).map(|s| segment_ref(s.clone()))))
}

fn registry_codes(reg: &CompiledRegistry, bound: &Bound, cx: &EvalContext) -> Result<String> {
    let results = reg.inner.evaluate_bound(bound, cx).map_err(eval_err)?;
    Ok(results.into_iter().map(|(_, o)| outcome_char(o)).collect())
}

/// One character per segment (in `ids` order): '0' false, '1' true, '2' unknown.
#[napi]
pub fn registry_eval_tape(reg: RegistryRef, cx: ContextRef, tape: Uint8Array, base: u32, len: u32) -> Result<String> {
    guard(|| {
        let (p, values) = read_projection(&tape, base, len, &reg.spec, false)?;
        let bound = bind_parts(reg.inner.layout(), &p, &values)?;
        registry_codes(&reg, &bound, &cx)
    })
}

#[napi]
pub fn registry_eval_handle(reg: RegistryRef, p: ProfileRef, cx: ContextRef) -> Result<String> {
    guard(|| {
        let bound = reg.inner.bind(&p);
        registry_codes(&reg, &bound, &cx)
    })
}

#[napi]
pub fn registry_eval_one(reg: RegistryRef, id: String, p: ProfileRef, cx: ContextRef) -> Result<u32> {
    guard(|| reg.inner.evaluate_one(&id, &p, &cx).map(outcome_code).map_err(eval_err))
}

#[napi]
pub fn registry_explain(env: Env, reg: RegistryRef, id: String, p: ProfileRef, cx: ContextRef) -> Result<JsUnknown> {
    guard(|| {
        let ex = reg.inner.explain(&id, &p, &cx).map_err(eval_err)?;
        explanation(&env, &ex)
    })
}

#[napi]
pub fn registry_next_change(
    env: Env,
    reg: RegistryRef,
    id: String,
    p: ProfileRef,
    cx: ContextRef,
    horizon: Option<String>,
) -> Result<JsUnknown> {
    guard(|| {
        let c = reg.inner.program().next_change(&id, &p, &cx, self::horizon(horizon)?).map_err(eval_err)?;
        json_to_js(&env, &c.as_ref().map_or(serde_json::Value::Null, segcore::binding::change_json))
    })
}

#[napi]
pub fn registry_timeline(
    env: Env,
    reg: RegistryRef,
    id: String,
    p: ProfileRef,
    cx: ContextRef,
    to: String,
) -> Result<JsUnknown> {
    guard(|| {
        let to = segcore::parse_as_of(&to).map_err(eval_err)?;
        let t = reg.inner.program().timeline(&id, &p, cx.as_of, to, &cx).map_err(eval_err)?;
        json_to_js(&env, &segcore::binding::timeline_json(&id, &t))
    })
}

/// Outcomes of many profiles on the libuv pool: `ids.length` characters per profile.
#[napi(ts_return_type = "Promise<string>")]
pub fn registry_eval_many(
    env: Env,
    reg: RegistryRef,
    cx: ContextRef,
    tape: Uint8Array,
    kinds: Uint8Array,
    ends: Uint32Array,
    handles: JsObject,
) -> Result<AsyncTask<EvaluateMany>> {
    guard(|| {
        let (bytes, profiles) = batch_items(&env, &tape, &kinds, &ends, handles)?;
        Ok(AsyncTask::new(EvaluateMany {
            work: Work::Registry(Arc::clone(&reg)),
            bytes,
            profiles,
            cx: Arc::clone(&cx),
        }))
    })
}

/// A projected profile on a tape as a full profile (attributes set by name), for explain and
/// evaluateOne.
#[napi]
pub fn profile_from_projection(
    env: Env,
    spec_of: JsUnknown,
    tape: Uint8Array,
    base: u32,
    len: u32,
) -> Result<ProfileRef> {
    guard(|| {
        if spec_of.get_type()? != ValueType::External {
            return Err(type_error("internal: spec owner must be a segment or registry"));
        }
        let (raw, env_raw) = (unsafe { spec_of.raw() }, env.raw());
        let (p, _) = if let Ok(seg) = unsafe { SegmentRef::from_napi_value(env_raw, raw) } {
            read_projection(&tape, base, len, &seg.spec, true)?
        } else {
            let reg = unsafe { RegistryRef::from_napi_value(env_raw, raw)? };
            read_projection(&tape, base, len, &reg.spec, true)?
        };
        Ok(profile_ref(p))
    })
}

/// A local date-time in a zone resolved as segcore resolves local times, or `null`.
#[napi]
pub fn resolve_local_time(env: Env, local: String, zone: String) -> Result<JsUnknown> {
    guard(|| match segcore::binding::resolve_local_json(&local, &zone) {
        Some(v) => json_to_js(&env, &v),
        None => Ok(env.get_null()?.into_unknown()),
    })
}

/// The canonical formatting of a rule.
#[napi]
pub fn format_rule(rule: String) -> Result<String> {
    guard(|| segcore::Segment::parse_rule(&rule).map(|ast| segcore::binding::print_rule(&ast)).map_err(compile_err))
}

/// Diagnostics of a folder or file path, or of an array of definitions (texts or objects).
#[napi]
pub fn check(env: Env, source: JsUnknown, schema: Option<JsUnknown>) -> Result<JsUnknown> {
    guard(|| {
        let schema = self::schema(schema)?;
        let diags = match source.get_type()? {
            ValueType::String => {
                let path = convert::string(unsafe { source.cast::<JsString>() })?;
                match segcore::Registry::load(Path::new(&path), schema.as_ref()) {
                    Ok(_) => Vec::new(),
                    Err(e) => e.diagnostics().to_vec(),
                }
            }
            ValueType::Object => {
                segcore::Registry::check(definitions(unsafe { source.cast::<JsObject>() })?, schema.as_ref())
            }
            _ => return Err(type_error("check takes a path or an array of definitions")),
        };
        json_to_js(&env, &errors::diagnostics_json(&diags))
    })
}

/// Test-only (`__segcore_test_trap` in index.js): panics inside the guard every entry point runs
/// in, to prove a panic becomes the error `internal` and never takes the process down.
#[napi]
pub fn test_panic() -> Result<()> {
    guard(|| panic!("segcore test panic (__segcore_test_trap)"))
}

/// Versions: the package, and the segment language it implements.
#[napi]
pub fn versions(env: Env) -> Result<JsUnknown> {
    guard(|| {
        json_to_js(
            &env,
            &serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "languageVersion": segcore::LANGUAGE_VERSION,
                "casefoldUnicodeVersion": segcore::CASEFOLD_UNICODE_VERSION,
            }),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Reconciliation (SPEC §24): ids cross as strings (js/api.mjs turns integers into their decimal
// text), sketches as bytes; everything else is `segcore::binding`'s.

/// The fingerprint text of a set of ids.
#[napi]
pub fn fingerprint(ids: Vec<String>, key: Option<String>) -> Result<String> {
    guard(|| segcore::binding::fingerprint_text(&ids, key.as_deref()).map_err(eval_err))
}

/// The sum of fingerprint texts.
#[napi]
pub fn fingerprint_sum(fps: Vec<String>) -> Result<String> {
    guard(|| segcore::binding::fingerprint_sum_text(&fps).map_err(eval_err))
}

/// A sketch's bytes.
#[napi]
pub fn sketch_new(
    ids: Vec<String>,
    symbols: Option<u32>,
    differences: Option<u32>,
    key: Option<String>,
) -> Result<Buffer> {
    guard(|| {
        segcore::binding::sketch_bytes(&ids, symbols, differences, key.as_deref()).map(Buffer::from).map_err(eval_err)
    })
}

/// `{symbols, fingerprint}` of a sketch's bytes.
#[napi]
pub fn sketch_info(env: Env, bytes: Uint8Array) -> Result<JsUnknown> {
    guard(|| json_to_js(&env, &segcore::binding::sketch_info_json(&bytes).map_err(eval_err)?))
}

/// The decoded difference of two sketches.
#[napi]
pub fn sketch_decode(
    env: Env,
    a: Uint8Array,
    b: Uint8Array,
    ids_a: Option<Vec<String>>,
    ids_b: Option<Vec<String>>,
    key: Option<String>,
) -> Result<JsUnknown> {
    guard(|| {
        let v = segcore::binding::sketch_decode_json(&a, &b, ids_a.as_deref(), ids_b.as_deref(), key.as_deref())
            .map_err(eval_err)?;
        json_to_js(&env, &v)
    })
}

fn request(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| type_error(format!("internal: the request is not JSON ({e})")))
}

/// An import (SPEC §29): the request and answer are `segcore::binding::import_request_json`'s.
#[napi]
pub fn import_rule(env: Env, req: String) -> Result<JsUnknown> {
    guard(|| {
        let v = segcore::binding::import_request_json(&request(&req)?).map_err(compile_err)?;
        json_to_js(&env, &v)
    })
}

/// Why two member sets differ (SPEC §25): the request is `segcore::binding::reconcile_request_json`'s.
#[napi]
pub fn registry_reconcile(env: Env, reg: RegistryRef, reg_b: Option<RegistryRef>, req: String) -> Result<JsUnknown> {
    guard(|| {
        let other = reg_b.as_ref().map(|r| &r.inner);
        let v = segcore::binding::reconcile_request_json(&reg.inner, other, &request(&req)?).map_err(eval_err)?;
        json_to_js(&env, &v)
    })
}

/// Drift rows (SPEC §25): the request is `segcore::binding::drift_request_json`'s.
#[napi]
pub fn registry_drift(env: Env, reg: RegistryRef, req: String) -> Result<JsUnknown> {
    guard(|| {
        let v = segcore::binding::drift_request_json(&reg.inner, &request(&req)?).map_err(eval_err)?;
        json_to_js(&env, &v)
    })
}

/// What changed between two registries (SPEC §26): `segcore::binding::diff_json`.
#[napi]
pub fn registry_diff(env: Env, old: RegistryRef, new: RegistryRef) -> Result<JsUnknown> {
    guard(|| json_to_js(&env, &segcore::binding::diff_json(&segcore::diff::diff(&old.inner, &new.inner))))
}

/// Loads a bundle (SPEC §27).
#[napi]
pub fn registry_from_bundle(text: String) -> Result<RegistryRef> {
    guard(|| segcore::Registry::from_bundle(&text).map(registry_ref).map_err(compile_err))
}

/// A registry's bundle hash and bundle text (`created` in µs).
#[napi]
pub fn registry_bundle(reg: RegistryRef, created: f64) -> Result<Vec<String>> {
    guard(|| Ok(vec![reg.inner.bundle_hash(), reg.inner.to_bundle(created as i64)]))
}
