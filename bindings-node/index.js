'use strict';
// segcore for Node.js: the public API over the native module (segcore.node, built from
// bindings-node/src with napi-rs). Every membership decision is made by the Rust core; this file
// only shapes arguments, caches `asOf` contexts and turns native errors into error classes.
// Types and docs: index.d.ts.

const path = require('node:path');
// The tape writer, shared with the WASM build (copied here by scripts/build-node.sh). ES modules:
// `require` of ESM needs Node >= 20.19.
const { Tape, heapStorage, makeProjector, writeProfile, writeWhole } = require('./tape.mjs');
// Error classes, their decoding and Explanation, shared with the WASM build the same way.
const {
  SegmentError,
  ParseError,
  TypeCheckError,
  DefinitionError,
  EvaluationError,
  Explanation,
  call,
  convertError,
} = require('./common.mjs');

let native;
try {
  native = require(path.join(__dirname, 'segcore.node'));
} catch (e) {
  const err = new Error(
    `segcore: the native module is not built (${e.message}). Build it with scripts/build-node.sh ` +
      '(cargo build --release -p segcore-node, then copy the library to bindings-node/segcore.node).',
  );
  err.cause = e;
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Evaluation options

/**
 * An evaluation context parsed once: `asOf`, FX quotes and referenced segments' results.
 * Pass it wherever options are accepted to skip re-parsing.
 */
class Context {
  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('Context takes an options object { asOf, fx?, segments? }');
    }
    this._ref = call(() => native.contextNew(options.asOf, options.fx, options.segments));
  }
  /** `asOf` as an RFC 3339 string in UTC. */
  get asOf() {
    return native.contextAsOf(this._ref);
  }
}

// One-entry cache: services evaluate many profiles at the same `asOf`. Only contexts made of
// `asOf` alone are cached (keyed by its value), so mutating an `fx` object is always seen.
let cachedKey;
let cachedContext;

function nativeContext(options) {
  if (options instanceof Context) return options._ref;
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object { asOf, fx?, segments? } or a Context');
  }
  const { asOf } = options;
  if (options.fx == null && options.segments == null) {
    const key = asOf instanceof Date ? asOf.getTime() : typeof asOf === 'string' ? asOf : undefined;
    if (key !== undefined && key === cachedKey) return cachedContext;
    const cx = call(() => native.contextNew(asOf, undefined, undefined));
    if (key !== undefined) {
      cachedKey = key;
      cachedContext = cx;
    }
    return cx;
  }
  return call(() => native.contextNew(asOf, options.fx, options.segments));
}

function sqlArgs(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object { asOf, fx?, profilesTable?, eventsTable? }');
  }
  const cx = call(() => native.contextNew(options.asOf, options.fx, undefined));
  const tables = [String(options.profilesTable ?? 'profiles'), String(options.eventsTable ?? 'events')];
  return { cx, tables };
}

// ---------------------------------------------------------------------------------------------
// Profiles

/**
 * A profile converted once (every field), to evaluate many times against any segment or registry:
 * the fast path for services that test one request's profile against many segments.
 */
class Profile {
  constructor(profile) {
    this._ref = call(() => wholeProfile(profile));
  }
  /** Parses profile JSON text exactly: integers beyond 2^53 and `3.0` as a float survive. */
  static fromJSON(text) {
    if (typeof text !== 'string') throw new TypeError('Profile.fromJSON takes JSON text');
    const p = Object.create(Profile.prototype);
    p._ref = call(() => native.profileFromJson(text));
    return p;
  }
  get id() {
    return native.profileInfo(this._ref).id;
  }
  get eventCount() {
    return native.profileInfo(this._ref).eventCount;
  }
  toString() {
    return `Profile(${this.id}, ${this.eventCount} events)`;
  }
}

// One tape for the module. Every write is a session (tape.open/close), so a getter that calls
// segcore while a profile is being written gets a tape of its own after the outer one's bytes.
const tape = new Tape(heapStorage());

/** A whole profile object through the core's parser (exact errors for any shape). */
function wholeProfile(profile) {
  const saved = tape.open();
  try {
    const len = writeWhole(tape, profile);
    return native.profileFromTape(tape.u8, tape.base, len);
  } finally {
    tape.close(saved);
  }
}

function checkProfileArg(profile) {
  if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) {
    throw new TypeError('a profile is an object { id, attributes, events } or a Profile');
  }
}

/** A native profile handle for `profile` (a Profile, or a plain object read for `owner`). */
function profileRef(owner, project, profile) {
  if (profile instanceof Profile) return profile._ref;
  checkProfileArg(profile);
  const saved = tape.open();
  try {
    const len = project(profile);
    if (len < 0) return wholeProfile(profile);
    return native.profileFromProjection(owner, tape.u8, tape.base, len);
  } catch (e) {
    throw convertError(e);
  } finally {
    tape.close(saved);
  }
}

/**
 * A batch on one tape: per profile a kind (0 projection, 1 whole object, 2 handle) and where its
 * bytes end; handles in order. `run(bytes, kinds, ends, handles)` starts the native call (which
 * copies the bytes and decodes them on the pool) while the tape session is open.
 */
function batchTape(project, profiles, run) {
  if (!Array.isArray(profiles)) throw new TypeError('profiles must be an array');
  const n = profiles.length;
  const kinds = new Uint8Array(n);
  const ends = new Uint32Array(n);
  const handles = [];
  const saved = tape.open();
  try {
    // Each item is written at the end of the batch so far: begin() once, then keep appending.
    tape.begin();
    for (let i = 0; i < n; i++) {
      const p = profiles[i];
      if (p instanceof Profile) {
        kinds[i] = 2;
        handles.push(p._ref);
        ends[i] = tape.pos - tape.base;
        continue;
      }
      checkProfileArg(p);
      const start = tape.pos;
      if (project(p, true) < 0) {
        tape.pos = start;
        writeProfile(tape, p);
        kinds[i] = 1;
      }
      ends[i] = tape.pos - tape.base;
    }
    return run(tape.u8.subarray(tape.base, tape.pos), kinds, ends, handles);
  } catch (e) {
    throw convertError(e);
  } finally {
    tape.close(saved);
  }
}

const OUTCOMES = ['false', 'true', 'unknown'];

/**
 * Builders of a registry's result objects from its code string ('0'/'1'/'2' per segment, from
 * `at`): generated once per registry as object literals, so every result has one fixed shape (a
 * loop of `out[id] = …` makes a dictionary-mode object, several times slower to build and read).
 */
function makeRowBuilders(ids) {
  const key = (id) => JSON.stringify(id);
  const members = ids.map((id, i) => `[${key(id)}]: c.charCodeAt(at + ${i}) === 49`).join(', ');
  const outcomes = ids.map((id, i) => `[${key(id)}]: o[c.charCodeAt(at + ${i}) - 48]`).join(', ');
  return {
    members: new Function('c', 'at', `return { ${members} };`),
    outcomes: new Function('c', 'at', 'o', `return { ${outcomes} };`),
  };
}

// ---------------------------------------------------------------------------------------------
// Segments

const SEGMENT_TOKEN = Symbol('segcore.segment');

/** A compiled segment definition. Build one with `compile`, `Segment.fromYAML`, `.fromJSON`,
 * `.fromObject` or `.load`. */
class Segment {
  constructor(token, ref) {
    if (token !== SEGMENT_TOKEN) {
      throw new TypeError('use compile(), Segment.fromYAML(), fromJSON(), fromObject() or load()');
    }
    this._ref = ref;
    const info = native.segmentInfo(ref);
    Object.defineProperty(this, '_info', { value: info });
    Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
  }
  static fromYAML(text, options = {}) {
    return new Segment(SEGMENT_TOKEN, call(() => native.segmentFromYaml(text, options.schema)));
  }
  static fromJSON(text, options = {}) {
    return new Segment(SEGMENT_TOKEN, call(() => native.segmentFromJson(text, options.schema)));
  }
  static fromObject(definition, options = {}) {
    return new Segment(SEGMENT_TOKEN, call(() => native.segmentFromObject(definition, options.schema)));
  }
  static load(file, options = {}) {
    return new Segment(SEGMENT_TOKEN, call(() => native.segmentLoad(String(file), options.schema)));
  }
  get id() {
    return this._info.id;
  }
  get version() {
    return this._info.version;
  }
  get definitionHash() {
    return this._info.definitionHash;
  }
  get canonicalJson() {
    return this._info.canonicalJson;
  }
  /** The rule, canonically formatted. */
  get rule() {
    return this._info.rule;
  }
  /** What the rule reads: attributes, events and referenced segments. */
  get readSet() {
    return structuredClone(this._info.readSet);
  }
  get warnings() {
    return structuredClone(this._info.warnings);
  }
  _code(profile, options) {
    const cx = nativeContext(options);
    if (profile instanceof Profile) return call(() => native.segmentEvalHandle(this._ref, profile._ref, cx));
    checkProfileArg(profile);
    const saved = tape.open();
    try {
      const len = this._project(profile);
      if (len < 0) return native.segmentEvalHandle(this._ref, wholeProfile(profile), cx);
      return native.segmentEvalTape(this._ref, cx, tape.u8, tape.base, len);
    } catch (e) {
      throw convertError(e);
    } finally {
      tape.close(saved);
    }
  }
  /** Whether the profile is a member (the rule is TRUE) at `options.asOf`. */
  evaluate(profile, options) {
    return this._code(profile, options) === 1;
  }
  /** The three-valued outcome: 'true', 'false' or 'unknown'. */
  outcome(profile, options) {
    return OUTCOMES[this._code(profile, options)];
  }
  /** Every sub-expression with its value for this profile. */
  explain(profile, options) {
    const cx = nativeContext(options);
    const ref = profileRef(this._ref, this._project, profile);
    return new Explanation(call(() => native.segmentExplain(this._ref, ref, cx)));
  }
  /** This segment's membership query in `dialect` (SPEC §21). */
  toSql(dialect, options) {
    const { cx, tables } = sqlArgs(options);
    return call(() => native.segmentToSql(this._ref, cx, String(dialect), tables));
  }
  /**
   * Membership of many profiles, evaluated on the libuv thread pool (the event loop stays free).
   * Profiles are read on the calling thread first. Resolves to booleans, aligned with the input.
   */
  async evaluateMany(profiles, options) {
    const out = await this.outcomesMany(profiles, options);
    return out.map((o) => o === 'true');
  }
  /** Like `evaluateMany`, with three-valued outcomes. */
  async outcomesMany(profiles, options) {
    const cx = nativeContext(options);
    const pending = batchTape(this._project, profiles, (bytes, kinds, ends, handles) =>
      native.segmentEvalMany(this._ref, cx, bytes, kinds, ends, handles),
    );
    let codes;
    try {
      codes = await pending;
    } catch (e) {
      throw convertError(e);
    }
    const out = new Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = OUTCOMES[codes.charCodeAt(i) - 48];
    return out;
  }
  /** The definition as a plain object (canonical metadata plus the rule text). */
  toJSON() {
    return { ...JSON.parse(this._info.canonicalJson), rule: this._info.sourceRule };
  }
  toString() {
    return `Segment(${this.id}@${this.version} ${this.definitionHash.slice(0, 12)})`;
  }
}

/** Compiles a bare rule with default metadata (id 'rule', version 1.0.0, UTC, USD). */
function compile(rule, options = {}) {
  const o = { id: 'rule', version: '1.0.0', timezone: 'UTC', currency: 'USD', ...options };
  return new Segment(
    SEGMENT_TOKEN,
    call(() => native.segmentCompileRule(rule, o.id, o.version, o.timezone, o.currency, o.schema)),
  );
}

// ---------------------------------------------------------------------------------------------
// Registries

const REGISTRY_TOKEN = Symbol('segcore.registry');

/** Definitions compiled together: references resolved, evaluated in dependency order. */
class Registry {
  constructor(token, ref) {
    if (token !== REGISTRY_TOKEN) {
      throw new TypeError('use Registry.load(dir) or Registry.fromDefinitions([...])');
    }
    this._ref = ref;
    const info = native.registryInfo(ref);
    this._ids = info.ids;
    Object.defineProperty(this, '_segments', { value: info.segments });
    Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
    Object.defineProperty(this, '_rows', { value: makeRowBuilders(info.ids) });
  }
  /** Loads every `*.yaml`, `*.yml` and `*.json` file of a folder (not recursive). */
  static load(dir, options = {}) {
    return new Registry(REGISTRY_TOKEN, call(() => native.registryLoad(String(dir), options.schema)));
  }
  /** Compiles definitions given as YAML/JSON texts or objects. */
  static fromDefinitions(definitions, options = {}) {
    return new Registry(REGISTRY_TOKEN, call(() => native.registryFromDefinitions(definitions, options.schema)));
  }
  /** Segment ids, sorted. */
  get ids() {
    return this._ids.slice();
  }
  get size() {
    return this._ids.length;
  }
  has(id) {
    return this._ids.includes(id);
  }
  /** The compiled segment `id`, or `undefined`. */
  get(id) {
    const ref = native.registryGet(this._ref, String(id));
    return ref ? new Segment(SEGMENT_TOKEN, ref) : undefined;
  }
  /** Every segment's id, version and definition hash, sorted by id. */
  segments() {
    return this._segments.map((s) => ({ ...s }));
  }
  _codes(profile, options) {
    const cx = nativeContext(options);
    if (profile instanceof Profile) return call(() => native.registryEvalHandle(this._ref, profile._ref, cx));
    checkProfileArg(profile);
    const saved = tape.open();
    try {
      const len = this._project(profile);
      if (len < 0) return native.registryEvalHandle(this._ref, wholeProfile(profile), cx);
      return native.registryEvalTape(this._ref, cx, tape.u8, tape.base, len);
    } catch (e) {
      throw convertError(e);
    } finally {
      tape.close(saved);
    }
  }
  /** Membership in every segment: `{ [id]: boolean }`. */
  evaluate(profile, options) {
    return this._rows.members(this._codes(profile, options), 0);
  }
  /** Three-valued outcomes of every segment: `{ [id]: 'true' | 'false' | 'unknown' }`. */
  outcomes(profile, options) {
    return this._rows.outcomes(this._codes(profile, options), 0, OUTCOMES);
  }
  /** The ids of the segments the profile belongs to, sorted. */
  members(profile, options) {
    const codes = this._codes(profile, options);
    const ids = this._ids;
    const out = [];
    for (let i = 0; i < ids.length; i++) if (codes.charCodeAt(i) === 49) out.push(ids[i]);
    return out;
  }
  /** The outcome of one segment (evaluating only what it depends on). */
  evaluateOne(id, profile, options) {
    const cx = nativeContext(options);
    const ref = profileRef(this._ref, this._project, profile);
    return OUTCOMES[call(() => native.registryEvalOne(this._ref, String(id), ref, cx))];
  }
  /** Explains one segment for a profile. */
  explain(id, profile, options) {
    const cx = nativeContext(options);
    const ref = profileRef(this._ref, this._project, profile);
    return new Explanation(call(() => native.registryExplain(this._ref, String(id), ref, cx)));
  }
  /** One query computing every segment's membership in `dialect` (SPEC §21). */
  toSql(dialect, options) {
    const { cx, tables } = sqlArgs(options);
    return call(() => native.registryToSql(this._ref, cx, String(dialect), tables));
  }
  /** Membership of many profiles in every segment, on the libuv thread pool. */
  async evaluateMany(profiles, options) {
    const cx = nativeContext(options);
    const pending = batchTape(this._project, profiles, (bytes, kinds, ends, handles) =>
      native.registryEvalMany(this._ref, cx, bytes, kinds, ends, handles),
    );
    let codes;
    try {
      codes = await pending;
    } catch (e) {
      throw convertError(e);
    }
    const n = this._ids.length;
    const out = new Array(profiles.length);
    for (let r = 0; r < profiles.length; r++) out[r] = this._rows.members(codes, r * n);
    return out;
  }
  toString() {
    return `Registry(${this._ids.length} segments)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Tools

/**
 * A wall time (`YYYY-MM-DDTHH:MM[:SS]`) in an IANA time zone, resolved exactly as segcore resolves
 * local times (bundled time-zone database; a time in a DST gap moves forward, one that occurs
 * twice takes the earlier instant): `{ instant, offsetSeconds, resolution }`. For tools that pick
 * an `asOf` in a zone; never the host's zone rules.
 */
function resolveLocalTime(local, timeZone) {
  const r = native.resolveLocalTime(String(local), String(timeZone));
  if (r === null) {
    throw new TypeError(`${JSON.stringify(local)} in ${JSON.stringify(timeZone)}: expected YYYY-MM-DDTHH:MM[:SS] and an IANA time zone`);
  }
  return r;
}

/** The canonical formatting of a rule (what `segcore fmt` writes). */
function formatRule(rule) {
  return call(() => native.formatRule(rule));
}

/**
 * Validates a folder or file path, or an array of definitions (YAML/JSON texts or objects).
 * Returns the diagnostics; an empty array means valid.
 */
function check(source, options = {}) {
  return call(() => native.check(source, options.schema));
}

const versions = native.versions();

/**
 * Test-only: panics inside the native module, to show that a panic becomes a `SegmentError` with
 * code `internal` (and never takes the process down). Not part of the API.
 */
function testTrap() {
  return call(() => native.testPanic());
}

exports.compile = compile;
exports.Segment = Segment;
exports.Registry = Registry;
exports.Profile = Profile;
exports.Context = Context;
exports.Explanation = Explanation;
exports.formatRule = formatRule;
exports.resolveLocalTime = resolveLocalTime;
exports.check = check;
exports.SegmentError = SegmentError;
exports.ParseError = ParseError;
exports.TypeCheckError = TypeCheckError;
exports.DefinitionError = DefinitionError;
exports.EvaluationError = EvaluationError;
exports.version = versions.version;
exports.languageVersion = versions.languageVersion;
exports.__segcore_test_trap = testTrap;
