// segcore for browsers and Node via WebAssembly: the public API over the wasm-bindgen module.
// Same names, options and error fields as the Node binding (bindings-node/index.d.ts), so code
// moves between server and browser unchanged. Every membership decision is made by the Rust core;
// this file only shapes arguments, caches `asOf` contexts and turns module errors into error
// classes. Types and docs: index.d.ts.
//
// Traps. A WebAssembly trap (a Rust panic aborts in this build; a stack overflow) leaves the
// instance's memory in an unknown state, so every call into the module goes through `native`: a
// trap (`WebAssembly.RuntimeError`, or a `RangeError` for an exhausted stack) discards the instance,
// makes a fresh one from the same compiled module (fresh memory) and throws `SegmentError` with
// code `internal` for that call only. Every object this API hands out remembers how it was built
// (definitions, options, a profile's source) and rebuilds its module object in the new instance
// the next time it is used (`Native`, keyed by the instance's generation).
//
// Values are checked before they cross: definitions, schemas and options are copied to plain
// data here (reading any getters once, in JavaScript) with the nesting limit checked on the way,
// profiles are written on the tape (tape.mjs, which checks its limits), so no input reaches
// recursive code in the module deeper than the core allows.

import {
  DefinitionError,
  EvaluationError,
  Explanation,
  ParseError,
  SegmentError,
  TypeCheckError,
  convertError,
  limitExceeded,
  segcoreError,
} from './common.mjs';
import { MAX_VALUE_DEPTH, Tape, makeProjector, writeWhole } from './tape.mjs';

const isContainer = (v) => v !== null && typeof v === 'object' && !(v instanceof Date);

/**
 * `value` as plain data (arrays and objects copied, getters read once; members that are
 * `undefined` left out, as the Node binding does), without recursion. `limit_exceeded` when it
 * nests more than MAX_VALUE_DEPTH lists/objects (the value itself counts, as in the core): a
 * `DefinitionError` for definitions and schemas, else an `EvaluationError`.
 */
function plainData(value, what, definition = false) {
  if (!isContainer(value)) return value;
  const tooDeep = () => limitExceeded(`${what} is nested more than ${MAX_VALUE_DEPTH} levels deep`, definition);
  const shell = (v) => (Array.isArray(v) ? new Array(v.length) : {});
  const root = shell(value);
  const stack = [[value, root, 1]];
  while (stack.length > 0) {
    const [from, to, depth] = stack.pop();
    const put = (key, v) => {
      if (!isContainer(v)) {
        to[key] = v;
        return;
      }
      if (depth >= MAX_VALUE_DEPTH) throw tooDeep();
      const copy = shell(v);
      to[key] = copy;
      stack.push([v, copy, depth + 1]);
    };
    if (Array.isArray(from)) {
      for (let i = 0; i < from.length; i++) put(i, from[i]);
    } else {
      for (const k of Object.keys(from)) {
        const v = from[k];
        if (v !== undefined) put(k, v);
      }
    }
  }
  return root;
}

/** A schema option: text as is, an object as plain data. */
const schemaArg = (schema) => (typeof schema === 'string' ? schema : plainData(schema, 'the schema', true));

/** Definitions: texts as they are, objects as plain data (the list itself is not a level). */
function definitionsArg(definitions) {
  if (!Array.isArray(definitions)) return definitions;
  return definitions.map((d) => (typeof d === 'string' ? d : plainData(d, 'the definition', true)));
}

const OUTCOMES = ['false', 'true', 'unknown'];

/**
 * Builders of a registry's result objects from its code bytes: generated once per registry as
 * object literals, so every result has one fixed shape (a loop of `out[id] = …` makes a
 * dictionary-mode object, several times slower to build and to read).
 */
function makeRowBuilders(ids) {
  const key = (id) => JSON.stringify(id);
  const members = ids.map((id, i) => `[${key(id)}]: c[${i}] === 1`).join(', ');
  const outcomes = ids.map((id, i) => `[${key(id)}]: o[c[${i}]]`).join(', ');
  return {
    members: new Function('c', `return { ${members} };`),
    outcomes: new Function('c', 'o', `return { ${outcomes} };`),
  };
}

const NO_FILESYSTEM =
  'reads files, which the WebAssembly build cannot do: read the texts yourself and pass them to ' +
  'Segment.fromYAML / Registry.fromDefinitions';

/**
 * Builds the public API over an initialised wasm-bindgen module (`first`, from the factory in
 * pkg/glue.mjs); `instantiate()` returns a fresh one synchronously (same compiled module, new
 * memory), used after a trap. `web.mjs` and `node.mjs` call this once; users import from those.
 */
export function createApi(first, instantiate) {
  /** The live instance, and how many times it was replaced. */
  let glue = first;
  let generation = 0;

  /** The tape's storage: the instance's scratch buffer (it keeps its contents when it grows). */
  function scratchStorage(g) {
    const memory = g.wasmMemory();
    let base = 0;
    let cap = 0;
    const view = () => new Uint8Array(memory.buffer, base, cap);
    return {
      reserve(capacity) {
        base = native(() => g.scratchReserve(capacity)) >>> 0;
        cap = capacity;
        return view();
      },
      current: (u8) => (u8.buffer === memory.buffer ? u8 : view()),
    };
  }

  /** Replaces a trapped instance with a fresh one. */
  function restart() {
    const old = glue;
    // Objects of the old instance must never free into the new one (see build-wasm.sh).
    old.discard();
    glue = instantiate();
    generation++;
    cachedKey = undefined;
    cachedContext = undefined;
    tape.reattach(scratchStorage(glue));
  }

  const isTrap = (e) => e instanceof WebAssembly.RuntimeError || e instanceof RangeError;

  function trapError(e) {
    return segcoreError(
      SegmentError,
      'internal',
      `internal error in segcore (a bug; please report it): the WebAssembly module trapped (${e?.message ?? e}); ` +
        'it was replaced by a fresh instance, and everything made before keeps working',
    );
  }

  /** A module error as the public class; a trap restarts the module and is `internal`. */
  function moduleError(e) {
    if (isTrap(e)) {
      restart();
      return trapError(e);
    }
    return convertError(e);
  }

  /** Runs a call into the module (see `moduleError`). */
  function native(fn) {
    try {
      return fn();
    } catch (e) {
      throw moduleError(e);
    }
  }

  /** The tape lost its bytes: the module was replaced while they were written (by a getter). */
  function checkTape() {
    if (tape.lost) {
      throw segcoreError(SegmentError, 'internal', 'the WebAssembly module was replaced after a trap while this profile was written; call again');
    }
  }

  /**
   * A module object that `build` makes (in the live instance) and makes again, in the fresh
   * instance, the first time it is used after a trap. `first`: the object already built.
   */
  class Native {
    constructor(build, first) {
      this.build = build;
      this.gen = generation;
      this.ref = first ?? native(build);
    }
    get() {
      if (this.gen !== generation) {
        if (this.build === null) throw new TypeError('this segcore object was freed');
        this.ref = native(this.build);
        this.gen = generation;
      }
      return this.ref;
    }
    free() {
      // An object of a discarded instance is gone with it.
      if (this.gen === generation && this.build !== null) this.ref.free();
      this.build = null;
      this.gen = -1;
    }
  }

  const tape = new Tape(scratchStorage(glue));

  // -------------------------------------------------------------------------------------------
  // Evaluation options

  /** The arguments of a module context: asOf as text or a Date's time value, plain options. */
  function contextArgs(options) {
    const { asOf } = options;
    let text;
    let ms = 0;
    if (typeof asOf === 'string') text = asOf;
    else if (asOf instanceof Date) ms = asOf.getTime();
    else if (asOf == null) {
      throw new TypeError(
        'asOf is required (a Date or an RFC 3339 string with an offset); segcore never reads the clock',
      );
    } else throw new TypeError('asOf must be a Date or an RFC 3339 string with an offset');
    const fx = plainData(options.fx, 'the FX table');
    const segments = plainData(options.segments, 'the segments option');
    return [text, ms, fx, segments];
  }

  function newContext(options) {
    const args = contextArgs(options);
    return native(() => new glue.WasmContext(...args));
  }

  /** An evaluation context parsed once: `asOf`, FX quotes and referenced segments' results. */
  class Context {
    constructor(options) {
      if (options === null || typeof options !== 'object') {
        throw new TypeError('Context takes an options object { asOf, fx?, segments? }');
      }
      const args = contextArgs(options);
      Object.defineProperty(this, '_n', { value: new Native(() => new glue.WasmContext(...args)) });
    }
    /** `asOf` as an RFC 3339 string in UTC. */
    get asOf() {
      return native(() => this._n.get().asOf);
    }
  }

  // One-entry cache: pages and services evaluate many profiles at the same `asOf`. Only contexts
  // made of `asOf` alone are cached (keyed by its value), so mutating an `fx` object is seen.
  let cachedKey;
  let cachedContext;

  function moduleContext(options) {
    if (options instanceof Context) return options._n.get();
    if (options === null || typeof options !== 'object') {
      throw new TypeError('options must be an object { asOf, fx?, segments? } or a Context');
    }
    if (options.fx == null && options.segments == null) {
      const { asOf } = options;
      const key = asOf instanceof Date ? asOf.getTime() : typeof asOf === 'string' ? asOf : undefined;
      if (key !== undefined && key === cachedKey) return cachedContext;
      const cx = newContext(options);
      if (key !== undefined) {
        cachedKey = key;
        cachedContext = cx;
      }
      return cx;
    }
    return newContext(options);
  }

  // -------------------------------------------------------------------------------------------
  // Profiles

  function checkProfileArg(profile) {
    if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) {
      throw new TypeError('a profile is an object { id, attributes, events } or a Profile');
    }
  }

  /** A whole profile object through the core's parser (exact errors for any shape). */
  function wholeProfile(profile) {
    const saved = tape.open();
    try {
      const len = writeWhole(tape, profile);
      checkTape();
      return native(() => glue.WasmProfile.fromTape(tape.base, len));
    } finally {
      tape.close(saved);
    }
  }

  /** A module profile from tape bytes written before (a Profile's retained source). */
  function profileFromBytes(bytes) {
    const saved = tape.open();
    try {
      tape.begin();
      tape.ensure(bytes.length);
      tape.u8.set(bytes, tape.pos);
      tape.pos += bytes.length;
      return native(() => glue.WasmProfile.fromTape(tape.base, bytes.length));
    } finally {
      tape.close(saved);
    }
  }

  /** Frees a temporary module object (one of a discarded instance is gone already). */
  function release(ref, gen) {
    if (gen === generation) ref.free();
  }

  /**
   * A profile converted once (every field), to evaluate many times against any segment or
   * registry: the fast path for pages that test one visitor's profile against many segments.
   * It keeps its source (the JSON text, or the object's bytes as written on the tape) to rebuild
   * itself if the module is replaced after a trap.
   */
  class Profile {
    constructor(profile) {
      // Any value goes to the core's parser, which reports a wrong shape (as the Node binding).
      let bytes;
      const saved = tape.open();
      try {
        const len = writeWhole(tape, profile);
        checkTape();
        bytes = tape.bytes(tape.base, len).slice();
      } finally {
        tape.close(saved);
      }
      Object.defineProperty(this, '_n', { value: new Native(() => profileFromBytes(bytes)) });
    }
    /** Parses profile JSON text exactly: integers beyond 2^53 and `3.0` as a float survive. */
    static fromJSON(text) {
      if (typeof text !== 'string') throw new TypeError('Profile.fromJSON takes JSON text');
      const p = Object.create(Profile.prototype);
      Object.defineProperty(p, '_n', { value: new Native(() => glue.WasmProfile.fromJson(text)) });
      return p;
    }
    get _ref() {
      return this._n.get();
    }
    get id() {
      return native(() => this._ref.id);
    }
    get eventCount() {
      return native(() => this._ref.eventCount);
    }
    /** Frees the module memory now (otherwise the garbage collector does, later). */
    free() {
      this._n.free();
    }
    toString() {
      return `Profile(${this.id}, ${this.eventCount} events)`;
    }
  }

  /**
   * Runs `use` with a module profile for `profile` (a Profile, or a plain object projected for
   * `owner`); a temporary one is freed afterwards.
   */
  function withProfile(owner, project, profile, use) {
    if (profile instanceof Profile) return native(() => use(owner.get(), profile._ref));
    checkProfileArg(profile);
    let temp;
    const saved = tape.open();
    try {
      const len = project(profile);
      if (len < 0) temp = wholeProfile(profile);
      else {
        checkTape();
        temp = native(() => owner.get().profileFromTape(tape.base, len));
      }
    } finally {
      tape.close(saved);
    }
    const gen = generation;
    try {
      return native(() => use(owner.get(), temp));
    } finally {
      release(temp, gen);
    }
  }

  /** Yields to the event loop so long batches keep a page responsive. */
  const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));
  const now = () => performance.now();

  /** Runs `one(i)` for every index, yielding every ~8 ms. */
  async function inSlices(n, one) {
    let deadline = now() + 8;
    for (let i = 0; i < n; i++) {
      one(i);
      if ((i & 63) === 63 && now() > deadline) {
        await breathe();
        deadline = now() + 8;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Segments

  const SEGMENT_TOKEN = Symbol('segcore.segment');

  /** A compiled segment definition. Build one with `compile`, `Segment.fromYAML`, `.fromJSON`
   * or `.fromObject`. `build` makes its module object (again, after a trap). */
  class Segment {
    constructor(token, build, first) {
      if (token !== SEGMENT_TOKEN) {
        throw new TypeError('use compile(), Segment.fromYAML(), fromJSON() or fromObject()');
      }
      const n = new Native(build, first);
      const info = native(() => n.ref.info());
      Object.defineProperty(this, '_n', { value: n });
      Object.defineProperty(this, '_info', { value: info });
      Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
    }
    static fromYAML(text, options = {}) {
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => glue.WasmSegment.fromYaml(text, schema));
    }
    static fromJSON(text, options = {}) {
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => glue.WasmSegment.fromJson(text, schema));
    }
    static fromObject(definition, options = {}) {
      const def = plainData(definition, 'the definition', true);
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => glue.WasmSegment.fromObject(def, schema));
    }
    static load() {
      throw new TypeError(`Segment.load ${NO_FILESYSTEM}`);
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
    _code(profile, cx) {
      if (profile instanceof Profile) return native(() => this._n.get().evalHandle(profile._ref, cx));
      checkProfileArg(profile);
      const saved = tape.open();
      try {
        const len = this._project(profile);
        if (len >= 0) {
          checkTape();
          return native(() => this._n.get().evalTape(cx, tape.base, len));
        }
        const temp = wholeProfile(profile);
        const gen = generation;
        try {
          return native(() => this._n.get().evalHandle(temp, cx));
        } finally {
          release(temp, gen);
        }
      } finally {
        tape.close(saved);
      }
    }
    /** Whether the profile is a member (the rule is TRUE) at `options.asOf`. */
    evaluate(profile, options) {
      return this._code(profile, moduleContext(options)) === 1;
    }
    /** The three-valued outcome: 'true', 'false' or 'unknown'. */
    outcome(profile, options) {
      return OUTCOMES[this._code(profile, moduleContext(options))];
    }
    /** Every sub-expression with its value for this profile. */
    explain(profile, options) {
      const cx = moduleContext(options);
      return new Explanation(withProfile(this._n, this._project, profile, (seg, p) => seg.explain(p, cx)));
    }
    /**
     * Membership of many profiles. There are no threads here: profiles are evaluated in slices
     * that yield to the event loop, so a page stays responsive. Resolves to booleans, aligned.
     */
    async evaluateMany(profiles, options) {
      const out = await this.outcomesMany(profiles, options);
      return out.map((o) => o === 'true');
    }
    /** Like `evaluateMany`, with three-valued outcomes. */
    async outcomesMany(profiles, options) {
      if (!Array.isArray(profiles)) throw new TypeError('profiles must be an array');
      const cx = moduleContext(options);
      const out = new Array(profiles.length);
      await inSlices(profiles.length, (i) => {
        out[i] = OUTCOMES[this._code(profiles[i], cx)];
      });
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
    const schema = schemaArg(o.schema);
    return new Segment(SEGMENT_TOKEN, () =>
      glue.WasmSegment.compileRule(rule, o.id, o.version, o.timezone, o.currency, schema),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Registries

  const REGISTRY_TOKEN = Symbol('segcore.registry');

  /** Definitions compiled together: references resolved, evaluated in dependency order. */
  class Registry {
    constructor(token, build) {
      if (token !== REGISTRY_TOKEN) throw new TypeError('use Registry.fromDefinitions([...])');
      const n = new Native(build);
      const info = native(() => n.ref.info());
      Object.defineProperty(this, '_n', { value: n });
      this._ids = info.ids;
      Object.defineProperty(this, '_segments', { value: info.segments });
      Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
      Object.defineProperty(this, '_rows', { value: makeRowBuilders(info.ids) });
    }
    static load() {
      throw new TypeError(`Registry.load ${NO_FILESYSTEM}`);
    }
    /** Compiles definitions given as YAML/JSON texts or objects. */
    static fromDefinitions(definitions, options = {}) {
      const defs = definitionsArg(definitions);
      const schema = schemaArg(options.schema);
      return new Registry(REGISTRY_TOKEN, () => glue.WasmRegistry.fromDefinitions(defs, schema));
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
      const key = String(id);
      const ref = native(() => this._n.get().get(key));
      return ref ? new Segment(SEGMENT_TOKEN, () => this._n.get().get(key), ref) : undefined;
    }
    /** Every segment's id, version and definition hash, sorted by id. */
    segments() {
      return this._segments.map((s) => ({ ...s }));
    }
    /**
     * Code bytes (0 false, 1 true, 2 unknown), one per segment in `ids` order: the module writes
     * them into the scratch buffer where this call's tape starts (room made first).
     */
    _codes(profile, cx) {
      const count = this._ids.length;
      const saved = tape.open();
      try {
        let n;
        if (profile instanceof Profile) {
          tape.ensure(count);
          n = native(() => this._n.get().evalHandle(profile._ref, cx, tape.base));
        } else {
          checkProfileArg(profile);
          const len = this._project(profile);
          if (len >= 0) {
            tape.ensure(count);
            checkTape();
            n = native(() => this._n.get().evalTape(cx, tape.base, len));
          } else {
            const temp = wholeProfile(profile);
            const gen = generation;
            try {
              tape.ensure(count);
              n = native(() => this._n.get().evalHandle(temp, cx, tape.base));
            } finally {
              release(temp, gen);
            }
          }
        }
        return tape.bytes(tape.base, n);
      } finally {
        tape.close(saved);
      }
    }
    /** Membership in every segment: `{ [id]: boolean }`. */
    evaluate(profile, options) {
      return this._rows.members(this._codes(profile, moduleContext(options)));
    }
    /** Three-valued outcomes of every segment: `{ [id]: 'true' | 'false' | 'unknown' }`. */
    outcomes(profile, options) {
      return this._rows.outcomes(this._codes(profile, moduleContext(options)), OUTCOMES);
    }
    /** The ids of the segments the profile belongs to, sorted. */
    members(profile, options) {
      const codes = this._codes(profile, moduleContext(options));
      const ids = this._ids;
      const out = [];
      for (let i = 0; i < ids.length; i++) if (codes[i] === 1) out.push(ids[i]);
      return out;
    }
    /** The outcome of one segment (evaluating only what it depends on). */
    evaluateOne(id, profile, options) {
      const cx = moduleContext(options);
      const code = withProfile(this._n, this._project, profile, (reg, p) => reg.evalOne(String(id), p, cx));
      return OUTCOMES[code];
    }
    /** Explains one segment for a profile. */
    explain(id, profile, options) {
      const cx = moduleContext(options);
      return new Explanation(withProfile(this._n, this._project, profile, (reg, p) => reg.explain(String(id), p, cx)));
    }
    /** Membership of many profiles in every segment, in slices that yield to the event loop. */
    async evaluateMany(profiles, options) {
      if (!Array.isArray(profiles)) throw new TypeError('profiles must be an array');
      const cx = moduleContext(options);
      const out = new Array(profiles.length);
      await inSlices(profiles.length, (r) => {
        out[r] = this._rows.members(this._codes(profiles[r], cx));
      });
      return out;
    }
    toString() {
      return `Registry(${this._ids.length} segments)`;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Tools

  /**
   * A wall time (`YYYY-MM-DDTHH:MM[:SS]`) in an IANA time zone, resolved exactly as segcore resolves
   * local times (bundled time-zone database; a time in a DST gap moves forward, one that occurs
   * twice takes the earlier instant): `{ instant, offsetSeconds, resolution }`. For tools that pick
   * an `asOf` in a zone; never the host's zone rules.
   */
  function resolveLocalTime(local, timeZone) {
    const r = native(() => glue.resolveLocalTime(String(local), String(timeZone)));
    if (r === null) {
      throw new TypeError(`${JSON.stringify(local)} in ${JSON.stringify(timeZone)}: expected YYYY-MM-DDTHH:MM[:SS] and an IANA time zone`);
    }
    return r;
  }

  /** The canonical formatting of a rule (what `segcore fmt` writes). */
  function formatRule(rule) {
    return native(() => glue.formatRule(rule));
  }

  /**
   * Validates definitions (YAML/JSON texts or objects) as one registry. Returns the diagnostics;
   * an empty array means valid. (Paths are for the Node binding: there is no filesystem here.)
   */
  function check(source, options = {}) {
    if (!Array.isArray(source)) {
      throw new TypeError('check takes an array of definitions (texts or objects) in the WebAssembly build');
    }
    const defs = definitionsArg(source);
    const schema = schemaArg(options.schema);
    return native(() => glue.check(defs, schema));
  }

  const versions = glue.versions();

  /**
   * Test-only, not part of the API: traps the module on purpose (`kind` 0: a Rust panic, 1: a
   * stack overflow) to show the recovery. Always throws `SegmentError` with code `internal`.
   */
  function testTrap(kind = 0) {
    return native(() => glue.testTrap(kind));
  }

  return {
    compile,
    Segment,
    Registry,
    Profile,
    Context,
    Explanation,
    formatRule,
    resolveLocalTime,
    check,
    SegmentError,
    ParseError,
    TypeCheckError,
    DefinitionError,
    EvaluationError,
    version: versions.version,
    languageVersion: versions.languageVersion,
    __segcore_test_trap: testTrap,
  };
}
