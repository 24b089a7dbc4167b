// segcore for browsers and Node via WebAssembly: the public API over the wasm-bindgen module.
// Same names, options and error fields as the Node binding (bindings-node/index.d.ts), so code
// moves between server and browser unchanged. Every membership decision is made by the Rust core;
// this file only shapes arguments, caches `asOf` contexts and turns module errors into error
// classes. Types and docs: index.d.ts.

import {
  DefinitionError,
  EvaluationError,
  Explanation,
  ParseError,
  SegmentError,
  TypeCheckError,
  call,
  convertError,
} from './common.mjs';
import { Tape, makeProjector, writeWhole } from './tape.mjs';

/** The tape's storage: the module's scratch buffer (it keeps its contents when it grows). */
function scratchStorage(glue) {
  const memory = glue.wasmMemory();
  let base = 0;
  let cap = 0;
  const view = () => new Uint8Array(memory.buffer, base, cap);
  return {
    reserve(capacity) {
      base = glue.scratchReserve(capacity) >>> 0;
      cap = capacity;
      return view();
    },
    current: (u8) => (u8.buffer === memory.buffer ? u8 : view()),
  };
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
 * Builds the public API over an initialised wasm-bindgen module (`glue`). `web.mjs` and
 * `node.mjs` call this once with their module; users import from those.
 */
export function createApi(glue) {
  const tape = new Tape(scratchStorage(glue));

  // -------------------------------------------------------------------------------------------
  // Evaluation options

  function newContext(options) {
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
    return call(() => new glue.WasmContext(text, ms, options.fx, options.segments));
  }

  /** An evaluation context parsed once: `asOf`, FX quotes and referenced segments' results. */
  class Context {
    constructor(options) {
      if (options === null || typeof options !== 'object') {
        throw new TypeError('Context takes an options object { asOf, fx?, segments? }');
      }
      this._ref = newContext(options);
    }
    /** `asOf` as an RFC 3339 string in UTC. */
    get asOf() {
      return this._ref.asOf;
    }
  }

  // One-entry cache: pages and services evaluate many profiles at the same `asOf`. Only contexts
  // made of `asOf` alone are cached (keyed by its value), so mutating an `fx` object is seen.
  let cachedKey;
  let cachedContext;

  function moduleContext(options) {
    if (options instanceof Context) return options._ref;
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
    const len = writeWhole(tape, profile);
    return glue.WasmProfile.fromTape(len);
  }

  /**
   * A profile converted once (every field), to evaluate many times against any segment or
   * registry: the fast path for pages that test one visitor's profile against many segments.
   */
  class Profile {
    constructor(profile) {
      // Any value goes to the core's parser, which reports a wrong shape (as the Node binding).
      this._ref = call(() => wholeProfile(profile));
    }
    /** Parses profile JSON text exactly: integers beyond 2^53 and `3.0` as a float survive. */
    static fromJSON(text) {
      if (typeof text !== 'string') throw new TypeError('Profile.fromJSON takes JSON text');
      const p = Object.create(Profile.prototype);
      p._ref = call(() => glue.WasmProfile.fromJson(text));
      return p;
    }
    get id() {
      return this._ref.id;
    }
    get eventCount() {
      return this._ref.eventCount;
    }
    /** Frees the module memory now (otherwise the garbage collector does, later). */
    free() {
      this._ref.free();
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
    if (profile instanceof Profile) return use(profile._ref);
    checkProfileArg(profile);
    const len = project(profile);
    const temp = len < 0 ? wholeProfile(profile) : owner.profileFromTape(len);
    try {
      return use(temp);
    } finally {
      temp.free();
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
   * or `.fromObject`. */
  class Segment {
    constructor(token, ref) {
      if (token !== SEGMENT_TOKEN) {
        throw new TypeError('use compile(), Segment.fromYAML(), fromJSON() or fromObject()');
      }
      this._ref = ref;
      const info = ref.info();
      Object.defineProperty(this, '_info', { value: info });
      Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
    }
    static fromYAML(text, options = {}) {
      return new Segment(SEGMENT_TOKEN, call(() => glue.WasmSegment.fromYaml(text, options.schema)));
    }
    static fromJSON(text, options = {}) {
      return new Segment(SEGMENT_TOKEN, call(() => glue.WasmSegment.fromJson(text, options.schema)));
    }
    static fromObject(definition, options = {}) {
      return new Segment(SEGMENT_TOKEN, call(() => glue.WasmSegment.fromObject(definition, options.schema)));
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
      try {
        if (profile instanceof Profile) return this._ref.evalHandle(profile._ref, cx);
        checkProfileArg(profile);
        const len = this._project(profile);
        if (len >= 0) return this._ref.evalTape(cx, len);
        const temp = wholeProfile(profile);
        try {
          return this._ref.evalHandle(temp, cx);
        } finally {
          temp.free();
        }
      } catch (e) {
        throw convertError(e);
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
      return new Explanation(call(() => withProfile(this._ref, this._project, profile, (p) => this._ref.explain(p, cx))));
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
    return new Segment(
      SEGMENT_TOKEN,
      call(() => glue.WasmSegment.compileRule(rule, o.id, o.version, o.timezone, o.currency, o.schema)),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Registries

  const REGISTRY_TOKEN = Symbol('segcore.registry');

  /** Definitions compiled together: references resolved, evaluated in dependency order. */
  class Registry {
    constructor(token, ref) {
      if (token !== REGISTRY_TOKEN) throw new TypeError('use Registry.fromDefinitions([...])');
      this._ref = ref;
      const info = ref.info();
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
      return new Registry(
        REGISTRY_TOKEN,
        call(() => glue.WasmRegistry.fromDefinitions(definitions, options.schema)),
      );
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
      const ref = this._ref.get(String(id));
      return ref ? new Segment(SEGMENT_TOKEN, ref) : undefined;
    }
    /** Every segment's id, version and definition hash, sorted by id. */
    segments() {
      return this._segments.map((s) => ({ ...s }));
    }
    /** Code bytes (0 false, 1 true, 2 unknown), one per segment in `ids` order. */
    _codes(profile, cx) {
      try {
        let n;
        if (profile instanceof Profile) n = this._ref.evalHandle(profile._ref, cx);
        else {
          checkProfileArg(profile);
          const len = this._project(profile);
          if (len >= 0) n = this._ref.evalTape(cx, len);
          else {
            const temp = wholeProfile(profile);
            try {
              n = this._ref.evalHandle(temp, cx);
            } finally {
              temp.free();
            }
          }
        }
        return tape.bytes(n);
      } catch (e) {
        throw convertError(e);
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
      const code = call(() => withProfile(this._ref, this._project, profile, (p) => this._ref.evalOne(String(id), p, cx)));
      return OUTCOMES[code];
    }
    /** Explains one segment for a profile. */
    explain(id, profile, options) {
      const cx = moduleContext(options);
      return new Explanation(
        call(() => withProfile(this._ref, this._project, profile, (p) => this._ref.explain(String(id), p, cx))),
      );
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
    const r = glue.resolveLocalTime(String(local), String(timeZone));
    if (r === null) {
      throw new TypeError(`${JSON.stringify(local)} in ${JSON.stringify(timeZone)}: expected YYYY-MM-DDTHH:MM[:SS] and an IANA time zone`);
    }
    return r;
  }

  /** The canonical formatting of a rule (what `segcore fmt` writes). */
  function formatRule(rule) {
    return call(() => glue.formatRule(rule));
  }

  /**
   * Validates definitions (YAML/JSON texts or objects) as one registry. Returns the diagnostics;
   * an empty array means valid. (Paths are for the Node binding: there is no filesystem here.)
   */
  function check(source, options = {}) {
    if (!Array.isArray(source)) {
      throw new TypeError('check takes an array of definitions (texts or objects) in the WebAssembly build');
    }
    return call(() => glue.check(source, options.schema));
  }

  const versions = glue.versions();

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
  };
}
