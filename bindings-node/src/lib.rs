//! The Node.js binding (napi-rs): conversions between JavaScript values and the core's types, and
//! nothing else. Every decision about membership is made by `segcore` (the core crate).
//!
//! This module is private to the npm package: `index.js` wraps it with the public, documented API
//! (options objects, error classes, caching of `asOf` contexts). See `index.d.ts` for that API.

mod convert;
mod errors;

use std::path::Path;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{Env, JsObject, JsString, JsUnknown, Task, ValueType};
use napi_derive::napi;
use segcore::{Definition, EvalContext, FxRates, Outcome, Profile, Schema};

use convert::Keys;
use errors::{compile_err, eval_err, type_error};

fn outcome_code(o: Outcome) -> u32 {
    match o {
        Outcome::False => 0,
        Outcome::True => 1,
        Outcome::Unknown => 2,
    }
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
        Some(v) => Schema::from_json(&convert::to_json(v)?).map(Some).map_err(compile_err),
    }
}

/// A definition given as YAML/JSON text or as an object.
fn definition(v: JsUnknown) -> Result<std::result::Result<Definition, segcore::Error>> {
    Ok(match v.get_type()? {
        ValueType::String => Definition::from_yaml_str(&convert::string(unsafe { v.cast::<JsString>() })?),
        ValueType::Object => Definition::from_json(&convert::to_json(v)?),
        _ => return Err(type_error("a definition is YAML/JSON text or an object")),
    })
}

fn definitions(list: JsObject) -> Result<Vec<std::result::Result<Definition, segcore::Error>>> {
    if !list.is_array()? {
        return Err(type_error("definitions must be an array of texts or objects"));
    }
    (0..list.get_array_length()?).map(|i| definition(list.get_element::<JsUnknown>(i)?)).collect()
}

/// An evaluation context: `asOf`, FX quotes and referenced segments' results, parsed once.
#[napi]
pub struct NativeContext {
    inner: Arc<EvalContext>,
}

#[napi]
impl NativeContext {
    /// `asOf` is a `Date` or an RFC 3339 string with an offset; anything else is a `TypeError`.
    #[napi(constructor)]
    pub fn new(as_of: JsUnknown, fx: Option<JsUnknown>, segments: Option<JsUnknown>) -> Result<NativeContext> {
        let micros = match as_of.get_type()? {
            ValueType::String => {
                segcore::parse_as_of(&convert::string(unsafe { as_of.cast::<JsString>() })?).map_err(eval_err)?
            }
            ValueType::Object if as_of.is_date()? => convert::date_micros(unsafe { as_of.cast::<napi::JsDate>() })?,
            ValueType::Undefined | ValueType::Null => {
                return Err(type_error(
                    "asOf is required (a Date or an RFC 3339 string with an offset); segcore never reads the clock",
                ))
            }
            _ => return Err(type_error("asOf must be a Date or an RFC 3339 string with an offset")),
        };
        let mut cx = EvalContext::new(micros);
        if let Some(fx) = fx.filter(|f| !matches!(f.get_type(), Ok(ValueType::Null | ValueType::Undefined))) {
            cx.fx = FxRates::from_json(&convert::to_json(fx)?).map_err(eval_err)?;
        }
        if let Some(segs) = segments.filter(|s| !matches!(s.get_type(), Ok(ValueType::Null | ValueType::Undefined))) {
            match convert::to_json(segs)? {
                serde_json::Value::Object(map) => {
                    for (id, v) in map {
                        let member = v.as_bool().ok_or_else(|| {
                            type_error(format!("segments.{id} must be a boolean (the referenced segment's membership)"))
                        })?;
                        cx.segments.insert(id, member);
                    }
                }
                _ => return Err(type_error("segments must be an object of booleans, e.g. { vip: true }")),
            }
        }
        Ok(NativeContext { inner: Arc::new(cx) })
    }

    /// `asOf` as an RFC 3339 string (UTC).
    #[napi(getter)]
    pub fn as_of(&self) -> String {
        segcore::time::format_timestamp(self.inner.as_of)
    }
}

/// A profile converted once (every field), to evaluate many times against any segment.
#[napi]
pub struct NativeProfile {
    inner: Arc<Profile>,
}

#[napi]
impl NativeProfile {
    #[napi(constructor)]
    pub fn new(profile: JsUnknown) -> Result<NativeProfile> {
        Ok(NativeProfile { inner: Arc::new(convert::full_profile(profile)?) })
    }

    /// Parses profile JSON text exactly (integers beyond 2^53, `3.0` as a float).
    #[napi(factory)]
    pub fn from_json(text: String) -> Result<NativeProfile> {
        Ok(NativeProfile { inner: Arc::new(Profile::from_json_str(&text).map_err(eval_err)?) })
    }

    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    #[napi(getter)]
    pub fn event_count(&self) -> u32 {
        self.inner.event_count() as u32
    }
}

/// Profiles for a batch: handles as they are, objects converted (read set only) on the JS thread.
fn profiles(env: &Env, list: JsObject, keys: &Keys) -> Result<Vec<Arc<Profile>>> {
    if !list.is_array()? {
        return Err(type_error("profiles must be an array"));
    }
    let n = list.get_array_length()?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let v: JsUnknown = list.get_element(i)?;
        out.push(profile_arg(env, v, keys)?);
    }
    Ok(out)
}

/// One profile argument: a `Profile` handle, or a plain object converted through the read set.
fn profile_arg(env: &Env, v: JsUnknown, keys: &Keys) -> Result<Arc<Profile>> {
    if v.get_type()? != ValueType::Object {
        return Err(type_error("a profile is an object { id, attributes, events } or a Profile"));
    }
    let obj = unsafe { v.cast::<JsObject>() };
    if let Ok(handle) = env.unwrap::<NativeProfile>(&obj) {
        return Ok(Arc::clone(&handle.inner));
    }
    Ok(Arc::new(profile_object(env, obj, keys)?))
}

/// A plain profile object; `index.js` sends objects with keys other than id/attributes/events
/// to the full path so that the core reports them.
fn profile_object(env: &Env, obj: JsObject, keys: &Keys) -> Result<Profile> {
    convert::profile(env, obj, keys)
}

/// A compiled segment definition.
#[napi]
pub struct NativeSegment {
    inner: Arc<segcore::Segment>,
    keys: Arc<Keys>,
}

impl NativeSegment {
    fn wrap(inner: segcore::Segment) -> NativeSegment {
        let keys = Arc::new(Keys::new(inner.read_set()));
        NativeSegment { inner: Arc::new(inner), keys }
    }

    fn compile(def: std::result::Result<Definition, segcore::Error>, schema_v: Option<JsUnknown>) -> Result<Self> {
        let def = def.map_err(compile_err)?;
        let schema = schema(schema_v)?;
        segcore::Segment::compile(def, schema.as_ref()).map(NativeSegment::wrap).map_err(compile_err)
    }
}

#[napi]
impl NativeSegment {
    #[napi(factory)]
    pub fn from_yaml(text: String, schema: Option<JsUnknown>) -> Result<NativeSegment> {
        NativeSegment::compile(Definition::from_yaml_str(&text), schema)
    }

    #[napi(factory)]
    pub fn from_json(text: String, schema: Option<JsUnknown>) -> Result<NativeSegment> {
        NativeSegment::compile(Definition::from_json_str(&text), schema)
    }

    #[napi(factory)]
    pub fn from_object(definition: JsUnknown, schema: Option<JsUnknown>) -> Result<NativeSegment> {
        NativeSegment::compile(Definition::from_json(&convert::to_json(definition)?), schema)
    }

    #[napi(factory)]
    pub fn load(path: String, schema: Option<JsUnknown>) -> Result<NativeSegment> {
        NativeSegment::compile(Definition::from_file(Path::new(&path)), schema)
    }

    /// A bare rule with metadata.
    #[napi(factory)]
    pub fn compile_rule(
        rule: String,
        id: String,
        version: String,
        timezone: String,
        currency: String,
        schema: Option<JsUnknown>,
    ) -> Result<NativeSegment> {
        let mut def = Definition::new(id, version, rule);
        def.timezone = timezone;
        def.currency = currency;
        NativeSegment::compile(Ok(def), schema)
    }

    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }
    #[napi(getter)]
    pub fn version(&self) -> String {
        self.inner.version().to_string()
    }
    #[napi(getter)]
    pub fn definition_hash(&self) -> String {
        self.inner.definition_hash().to_string()
    }
    #[napi(getter)]
    pub fn canonical_json(&self) -> String {
        self.inner.canonical_json().to_string()
    }
    #[napi(getter)]
    pub fn rule(&self) -> String {
        self.inner.formatted_rule()
    }
    /// The original rule text as written in the definition.
    #[napi(getter)]
    pub fn source_rule(&self) -> String {
        self.inner.definition().rule.clone()
    }
    #[napi(getter)]
    pub fn read_set(&self, env: Env) -> Result<JsUnknown> {
        let rs = self.inner.read_set();
        json_to_js(
            &env,
            &serde_json::json!({
                "attributes": rs.attributes,
                "events": rs.events,
                "segments": rs.segments,
            }),
        )
    }
    #[napi(getter)]
    pub fn warnings(&self, env: Env) -> Result<JsUnknown> {
        json_to_js(&env, &errors::diagnostics_json(self.inner.warnings()))
    }

    /// 0 false, 1 true, 2 unknown.
    #[napi]
    pub fn outcome(&self, env: Env, profile: JsUnknown, cx: &NativeContext) -> Result<u32> {
        let p = profile_arg(&env, profile, &self.keys)?;
        self.inner.evaluate(&p, &cx.inner).map(outcome_code).map_err(eval_err)
    }

    /// Membership of a plain object (converted through the read set).
    #[napi]
    pub fn evaluate_object(&self, env: Env, profile: JsObject, cx: &NativeContext) -> Result<bool> {
        let p = profile_object(&env, profile, &self.keys)?;
        self.inner.evaluate(&p, &cx.inner).map(Outcome::is_member).map_err(eval_err)
    }

    /// Membership of a `Profile` handle.
    #[napi]
    pub fn evaluate_handle(&self, profile: &NativeProfile, cx: &NativeContext) -> Result<bool> {
        self.inner.evaluate(&profile.inner, &cx.inner).map(Outcome::is_member).map_err(eval_err)
    }

    #[napi]
    pub fn explain(&self, env: Env, profile: JsUnknown, cx: &NativeContext) -> Result<JsUnknown> {
        let p = profile_arg(&env, profile, &self.keys)?;
        let ex = self.inner.explain(&p, &cx.inner).map_err(eval_err)?;
        explanation(&env, &ex)
    }

    /// Outcomes of many profiles on the libuv thread pool: resolves to a string of '0'/'1'/'2'.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn evaluate_many(&self, env: Env, profiles: JsObject, cx: &NativeContext) -> Result<AsyncTask<EvaluateMany>> {
        let profiles = self::profiles(&env, profiles, &self.keys)?;
        Ok(AsyncTask::new(EvaluateMany {
            work: Work::Segment(Arc::clone(&self.inner)),
            profiles,
            cx: Arc::clone(&cx.inner),
        }))
    }
}

fn explanation(env: &Env, ex: &segcore::Explanation) -> Result<JsUnknown> {
    let mut obj = env.create_object()?;
    obj.set_named_property("json", json_to_js(env, &ex.to_json())?)?;
    obj.set_named_property("text", env.create_string(&ex.to_string())?)?;
    obj.set_named_property("html", env.create_string(&ex.to_html())?)?;
    Ok(obj.into_unknown())
}

enum Work {
    Segment(Arc<segcore::Segment>),
    Registry(Arc<segcore::Registry>),
}

/// `evaluateMany`: profiles converted on the JS thread, evaluated on the libuv pool.
pub struct EvaluateMany {
    work: Work,
    profiles: Vec<Arc<Profile>>,
    cx: Arc<EvalContext>,
}

impl Task for EvaluateMany {
    type Output = String;
    type JsValue = JsString;

    fn compute(&mut self) -> Result<String> {
        let cx = &self.cx;
        let mut out = String::new();
        match &self.work {
            Work::Segment(seg) => {
                out.reserve(self.profiles.len());
                for p in &self.profiles {
                    out.push(outcome_char(seg.evaluate(p, cx).map_err(eval_err)?));
                }
            }
            Work::Registry(reg) => {
                out.reserve(self.profiles.len() * reg.len());
                for p in &self.profiles {
                    for (_, o) in reg.evaluate(p, cx).map_err(eval_err)? {
                        out.push(outcome_char(o));
                    }
                }
            }
        }
        Ok(out)
    }

    fn resolve(&mut self, env: Env, output: String) -> Result<JsString> {
        env.create_string(&output)
    }
}

/// Definitions compiled together (references resolved, evaluated in dependency order).
#[napi]
pub struct NativeRegistry {
    inner: Arc<segcore::Registry>,
    keys: Arc<Keys>,
}

impl NativeRegistry {
    fn wrap(inner: segcore::Registry) -> NativeRegistry {
        let keys = Arc::new(Keys::new(&inner.read_set()));
        NativeRegistry { inner: Arc::new(inner), keys }
    }
}

#[napi]
impl NativeRegistry {
    #[napi(factory)]
    pub fn load(dir: String, schema: Option<JsUnknown>) -> Result<NativeRegistry> {
        let schema = self::schema(schema)?;
        segcore::Registry::load_dir(Path::new(&dir), schema.as_ref()).map(NativeRegistry::wrap).map_err(compile_err)
    }

    #[napi(factory)]
    pub fn from_definitions(definitions: JsObject, schema: Option<JsUnknown>) -> Result<NativeRegistry> {
        let defs = self::definitions(definitions)?.into_iter().collect::<std::result::Result<Vec<_>, _>>();
        let defs = defs.map_err(compile_err)?;
        let schema = self::schema(schema)?;
        segcore::Registry::from_definitions(defs, schema.as_ref()).map(NativeRegistry::wrap).map_err(compile_err)
    }

    /// Segment ids, sorted (the order of every per-segment result string).
    #[napi(getter)]
    pub fn ids(&self) -> Vec<String> {
        self.inner.segments().iter().map(|s| s.id().to_string()).collect()
    }

    /// The compiled segment `id`, or `null`.
    #[napi]
    pub fn get(&self, id: String) -> Option<NativeSegment> {
        self.inner.get(&id).map(|s| NativeSegment::wrap(s.clone()))
    }

    /// One character per segment (in `ids` order): '0' false, '1' true, '2' unknown.
    #[napi]
    pub fn outcomes(&self, env: Env, profile: JsUnknown, cx: &NativeContext) -> Result<String> {
        let p = profile_arg(&env, profile, &self.keys)?;
        let results = self.inner.evaluate(&p, &cx.inner).map_err(eval_err)?;
        Ok(results.into_iter().map(|(_, o)| outcome_char(o)).collect())
    }

    #[napi]
    pub fn evaluate_one(&self, env: Env, id: String, profile: JsUnknown, cx: &NativeContext) -> Result<u32> {
        let p = profile_arg(&env, profile, &self.keys)?;
        self.inner.evaluate_one(&id, &p, &cx.inner).map(outcome_code).map_err(eval_err)
    }

    #[napi]
    pub fn explain(&self, env: Env, id: String, profile: JsUnknown, cx: &NativeContext) -> Result<JsUnknown> {
        let p = profile_arg(&env, profile, &self.keys)?;
        let ex = self.inner.explain(&id, &p, &cx.inner).map_err(eval_err)?;
        explanation(&env, &ex)
    }

    /// Outcomes of many profiles on the libuv pool: `ids.length` characters per profile.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn evaluate_many(&self, env: Env, profiles: JsObject, cx: &NativeContext) -> Result<AsyncTask<EvaluateMany>> {
        let profiles = self::profiles(&env, profiles, &self.keys)?;
        Ok(AsyncTask::new(EvaluateMany {
            work: Work::Registry(Arc::clone(&self.inner)),
            profiles,
            cx: Arc::clone(&cx.inner),
        }))
    }
}

/// The canonical formatting of a rule.
#[napi]
pub fn format_rule(rule: String) -> Result<String> {
    segcore::Segment::parse_rule(&rule).map(|ast| segcore::printer::print(&ast)).map_err(compile_err)
}

/// Diagnostics of a folder or file path, or of an array of definitions (texts or objects).
#[napi]
pub fn check(env: Env, source: JsUnknown, schema: Option<JsUnknown>) -> Result<JsUnknown> {
    let schema = self::schema(schema)?;
    let diags = match source.get_type()? {
        ValueType::String => {
            let path = convert::string(unsafe { source.cast::<JsString>() })?;
            let path = Path::new(&path);
            let result = if path.is_dir() {
                segcore::Registry::load_dir(path, schema.as_ref()).map(|_| ())
            } else {
                Definition::from_file(path)
                    .and_then(|d| segcore::Registry::from_definitions(vec![d], schema.as_ref()).map(|_| ()))
            };
            match result {
                Ok(()) => Vec::new(),
                Err(e) => e.diagnostics().to_vec(),
            }
        }
        ValueType::Object => {
            segcore::Registry::check(definitions(unsafe { source.cast::<JsObject>() })?, schema.as_ref())
        }
        _ => return Err(type_error("check takes a path or an array of definitions")),
    };
    json_to_js(&env, &errors::diagnostics_json(&diags))
}

/// Versions: the package, and the segment language it implements.
#[napi]
pub fn versions(env: Env) -> Result<JsUnknown> {
    json_to_js(
        &env,
        &serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "languageVersion": segcore::LANGUAGE_VERSION,
            "casefoldUnicodeVersion": segcore::CASEFOLD_UNICODE_VERSION,
        }),
    )
}
