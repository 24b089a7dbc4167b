// segcore's public JavaScript API, written once for every JS runtime: the Node binding
// (bindings-node/index.js, over the napi module) and the WebAssembly build (js/backend.mjs, over
// the wasm-bindgen module, used by js/web.mjs, js/init.mjs and js/node.mjs). Same names, options, results and
// error fields everywhere, so code moves between server and browser unchanged. Every membership
// decision is made by the Rust core; this file only shapes arguments, writes profiles on the tape
// (tape.mjs), caches `asOf` contexts and turns module errors into error classes (common.mjs).
// Types and docs: index.d.ts (this folder).
//
// This folder is a package of its own (segcore-js-api, see package.json): it lives here, inside
// the WebAssembly package, because a browser follows only relative URLs from js/web.mjs; the Node
// package depends on it with `file:` and bundles it (bundleDependencies), so both packages work
// when installed and nothing is copied by a build script.
//
// A runtime supplies a *backend*: the module calls used below, how arguments are copied before
// they cross (`plain`, `contextArgs`), and what differs, said explicitly:
//   files    Segment.load / Registry.load / check(path) read files (Node); else they throw.
//   sql      segments and registries have toSql (the WebAssembly build leaves SQL out).
//   batches  evaluateMany hands the whole batch to one asynchronous module call (Node: the libuv
//            pool); else profiles are evaluated in slices that yield to the event loop.
//   trap     null, or how the module recovers from a trap (WebAssembly): `is(e)`, `restart()`
//            (a fresh instance) and `message(e)`. Then every object this API hands out remembers
//            how it was built (definitions, options, a profile's bytes) and rebuilds its module
//            object in the new instance the next time it is used (`Native`, keyed by the
//            instance's generation), and Profile has free().
// Module objects are opaque refs to this file; registry results are "codes" (one per segment:
// 0 false, 1 true, 2 unknown) that the backend spells as the JS expression `codeSource(index)`
// over `c` (a string of digits for napi, bytes in WebAssembly memory for wasm).

import {
  DefinitionError,
  EvaluationError,
  DataError,
  Explanation,
  ParseError,
  SegmentError,
  TypeCheckError,
  convertError,
  segcoreError,
} from './common.mjs';
import { Tape, makeProjector, writeProfile, writeWhole } from './tape.mjs';
import { subscribe } from './subscribe.mjs';

// The Node binding's tape storage (a plain buffer); the WebAssembly adapter imports relatively.
export { heapStorage } from './tape.mjs';

const OUTCOMES = ['false', 'true', 'unknown'];

/**
 * Builders of a registry's result objects from its codes (from offset `at`): generated once per
 * registry as object literals, so every result has one fixed shape (a loop of `out[id] = …` makes
 * a dictionary-mode object, several times slower to build and to read).
 */
function makeRowBuilders(ids, code) {
  const key = (id) => JSON.stringify(id);
  const members = ids.map((id, i) => `[${key(id)}]: ${code(`at + ${i}`)} === 1`).join(', ');
  const outcomes = ids.map((id, i) => `[${key(id)}]: o[${code(`at + ${i}`)}]`).join(', ');
  return {
    members: new Function('c', 'at', `return { ${members} };`),
    outcomes: new Function('c', 'at', 'o', `return { ${outcomes} };`),
  };
}

const NO_FILESYSTEM =
  'reads files, which the WebAssembly build cannot do: read the texts yourself and pass them to ' +
  'Segment.fromYAML / Registry.fromDefinitions';

/** The public API over `backend` (see the header). Each runtime calls this once. */
export function createApi(backend) {
  const { trap } = backend;
  /** How many times the module instance was replaced (after traps). */
  let generation = 0;
  const codeAt = new Function('c', 'at', `return ${backend.codeSource('at')};`);
  const plain = backend.plain;

  /** Replaces a trapped instance with a fresh one. */
  function restart() {
    trap.restart();
    generation++;
    cachedKey = undefined;
    cachedContext = undefined;
    tape.reattach(backend.storage(native));
  }

  /** A module error as the public class; a trap restarts the module and is `internal`. */
  function moduleError(e) {
    if (trap !== null && trap.is(e)) {
      restart();
      return segcoreError(SegmentError, 'internal', trap.message(e));
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
      // Where nothing traps, nothing is rebuilt: keep no sources alive.
      this.build = trap === null ? null : build;
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
      if (this.gen === generation && this.build !== null) backend.free(this.ref);
      this.build = null;
      this.gen = -1;
    }
  }

  /** Frees a temporary module object (one of a discarded instance is gone already). */
  function release(ref, gen) {
    if (gen === generation) backend.free(ref);
  }

  const tape = new Tape(backend.storage(native));

  /** A schema option: text as is, an object as plain data. */
  const schemaArg = (schema) => (typeof schema === 'string' ? schema : plain(schema, 'the schema', true));

  /** Definitions: texts as they are, objects as plain data (the list itself is not a level). */
  function definitionsArg(definitions) {
    if (!Array.isArray(definitions)) return definitions;
    return definitions.map((d) => (typeof d === 'string' ? d : plain(d, 'the definition', true)));
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation options

  function newContext(options) {
    const args = backend.contextArgs(options);
    return native(() => backend.context(args));
  }

  /**
   * An evaluation context parsed once: `asOf`, FX quotes and referenced segments' results.
   * Pass it wherever options are accepted to skip re-parsing.
   */
  class Context {
    constructor(options) {
      if (options === null || typeof options !== 'object') {
        throw new TypeError('Context takes an options object { asOf, fx?, segments? }');
      }
      const args = backend.contextArgs(options);
      Object.defineProperty(this, '_n', { value: new Native(() => backend.context(args)) });
    }
    /** `asOf` as an RFC 3339 string in UTC. */
    get asOf() {
      return native(() => backend.contextAsOf(this._n.get()));
    }
  }

  // One-entry cache: services and pages evaluate many profiles at the same `asOf`. Only contexts
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

  /** An instant option (`to` of a timeline): a Date or an RFC 3339 string with an offset. */
  function instantText(v, name) {
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new TypeError(`${name} is an invalid Date`);
      return v.toISOString();
    }
    if (typeof v === 'string') return v;
    throw new TypeError(`${name} must be a Date or an RFC 3339 string with an offset`);
  }

  /** `horizon` of `nextChange`: a duration text such as '90d' (default 3660 days). */
  function horizonArg(options) {
    const h = options instanceof Context || options == null ? undefined : options.horizon;
    if (h == null) return undefined;
    if (typeof h !== 'string') throw new TypeError("horizon must be a duration text such as '90d'");
    return h;
  }

  /** The context at `from` and the `to` text of `timeline`. */
  function spanArgs(options) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('options must be an object { from, to, fx?, segments? }');
    }
    const cx = newContext({ asOf: options.from, fx: options.fx, segments: options.segments });
    return { cx, to: instantText(options.to, 'to') };
  }

  /** The context and table names of `toSql`. */
  function sqlArgs(options) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('options must be an object { asOf, fx?, profilesTable?, eventsTable? }');
    }
    const cx = newContext({ asOf: options.asOf, fx: options.fx });
    const tables = [String(options.profilesTable ?? 'profiles'), String(options.eventsTable ?? 'events')];
    return { cx, tables };
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
      return native(() => backend.profileFromTape(tape, len));
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
      return native(() => backend.profileFromTape(tape, bytes.length));
    } finally {
      tape.close(saved);
    }
  }

  /**
   * A profile converted once (every field), to evaluate many times against any segment or
   * registry: the fast path for services and pages that test one profile against many segments.
   * Where the module can trap, it keeps its source (the JSON text, or the object's bytes as
   * written on the tape) to rebuild itself in a fresh instance.
   */
  class Profile {
    constructor(profile) {
      // Any value goes to the core's parser, which reports a wrong shape.
      if (trap === null) {
        Object.defineProperty(this, '_n', { value: new Native(null, wholeProfile(profile)) });
        return;
      }
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
      Object.defineProperty(p, '_n', { value: new Native(() => backend.profileFromJson(text)) });
      return p;
    }
    get _ref() {
      return this._n.get();
    }
    get id() {
      return native(() => backend.profileId(this._ref));
    }
    get eventCount() {
      return native(() => backend.profileEventCount(this._ref));
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
        temp = native(() => backend.profileFromProjection(owner.get(), tape, len));
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

  /**
   * Evaluates `profile` (a Profile, or a plain object projected with `project`) with `byTape`
   * (a projection on the tape) or `byHandle` (a module profile). Runs inside a tape session, so
   * the result may be bytes on the tape (WebAssembly registries write their codes there).
   */
  function evaluateWith(project, profile, byTape, byHandle) {
    const saved = tape.open();
    try {
      if (profile instanceof Profile) return native(() => byHandle(profile._ref));
      checkProfileArg(profile);
      const len = project(profile);
      if (len >= 0) {
        checkTape();
        return native(() => byTape(len));
      }
      const temp = wholeProfile(profile);
      const gen = generation;
      try {
        return native(() => byHandle(temp));
      } finally {
        release(temp, gen);
      }
    } finally {
      tape.close(saved);
    }
  }

  /**
   * A batch on one tape for one asynchronous module call (`backend.batches`): per profile a kind
   * (0 projection, 1 whole object, 2 handle) and where its bytes end; handles in order.
   * `run(bytes, kinds, ends, handles)` starts the call (which copies the bytes) while the tape
   * session is open; resolves to the codes of every profile, one after another.
   */
  async function batch(project, profiles, run) {
    if (!Array.isArray(profiles)) throw new TypeError('profiles must be an array');
    const n = profiles.length;
    const kinds = new Uint8Array(n);
    const ends = new Uint32Array(n);
    const handles = [];
    let pending;
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
      pending = native(() => run(tape.u8.subarray(tape.base, tape.pos), kinds, ends, handles));
    } finally {
      tape.close(saved);
    }
    try {
      return await pending;
    } catch (e) {
      throw convertError(e);
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

  /**
   * The results of many profiles: one asynchronous module call for the batch
   * (`backend.batches`: `evalMany(cx, ...batch)`, then `fromBatch(codes, i)` per profile), or
   * `one(profile, cx)` per profile in slices. Each way checks its arguments in the order its
   * runtime always has.
   */
  async function many(project, profiles, options, evalMany, fromBatch, one) {
    if (backend.batches) {
      const cx = moduleContext(options);
      const codes = await batch(project, profiles, (...items) => evalMany(cx, ...items));
      const out = new Array(profiles.length);
      for (let i = 0; i < out.length; i++) out[i] = fromBatch(codes, i);
      return out;
    }
    if (!Array.isArray(profiles)) throw new TypeError('profiles must be an array');
    const cx = moduleContext(options);
    const out = new Array(profiles.length);
    await inSlices(profiles.length, (i) => {
      out[i] = one(profiles[i], cx);
    });
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Segments

  const SEGMENT_TOKEN = Symbol('segcore.segment');

  /** A compiled segment definition. Build one with `compile`, `Segment.fromYAML`, `.fromJSON`,
   * `.fromObject` (or `.load`, where there are files). `build` makes its module object. */
  class Segment {
    constructor(token, build, first) {
      if (token !== SEGMENT_TOKEN) {
        throw new TypeError(
          backend.files
            ? 'use compile(), Segment.fromYAML(), fromJSON(), fromObject() or load()'
            : 'use compile(), Segment.fromYAML(), fromJSON() or fromObject()',
        );
      }
      const n = new Native(build, first);
      const info = native(() => backend.segmentInfo(n.ref));
      Object.defineProperty(this, '_n', { value: n });
      Object.defineProperty(this, '_info', { value: info });
      Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
    }
    static fromYAML(text, options = {}) {
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => backend.segmentFromYaml(text, schema));
    }
    static fromJSON(text, options = {}) {
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => backend.segmentFromJson(text, schema));
    }
    static fromObject(definition, options = {}) {
      const def = plain(definition, 'the definition', true);
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => backend.segmentFromObject(def, schema));
    }
    /** Loads a `.yaml`, `.yml` or `.json` definition file. */
    static load(file, options = {}) {
      if (!backend.files) throw new TypeError(`Segment.load ${NO_FILESYSTEM}`);
      const path = String(file);
      const schema = schemaArg(options.schema);
      return new Segment(SEGMENT_TOKEN, () => backend.segmentLoad(path, schema));
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
    /** The outcome code (0 false, 1 true, 2 unknown) of one profile. */
    _code(profile, cx) {
      return evaluateWith(
        this._project,
        profile,
        (len) => backend.segmentEvalTape(this._n.get(), cx, tape, len),
        (p) => backend.segmentEvalHandle(this._n.get(), p, cx),
      );
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
      return new Explanation(withProfile(this._n, this._project, profile, (seg, p) => backend.segmentExplain(seg, p, cx)));
    }
    /**
     * The first instant after `options.asOf` at which the outcome changes if no new data arrives,
     * exact to the microsecond, with the new outcome and its cause (SPEC §22); null when none
     * within `options.horizon` (a duration text, default '3660d').
     */
    nextChange(profile, options) {
      const cx = moduleContext(options);
      const horizon = horizonArg(options);
      return withProfile(this._n, this._project, profile, (seg, p) => backend.segmentNextChange(seg, p, cx, horizon));
    }
    /** The outcome at `options.from` and every change before `options.to`, with causes (SPEC §22). */
    timeline(profile, options) {
      const { cx, to } = spanArgs(options);
      return withProfile(this._n, this._project, profile, (seg, p) => backend.segmentTimeline(seg, p, cx, to));
    }
    /** This segment's membership query in `dialect` (SPEC §21). */
    toSql(dialect, options) {
      const { cx, tables } = sqlArgs(options);
      return native(() => backend.segmentToSql(this._n.get(), cx, String(dialect), tables));
    }
    /**
     * Membership of many profiles, off the calling thread (`backend.batches`) or in slices that
     * yield to the event loop. Resolves to booleans, aligned with the input.
     */
    async evaluateMany(profiles, options) {
      const out = await this.outcomesMany(profiles, options);
      return out.map((o) => o === 'true');
    }
    /** Like `evaluateMany`, with three-valued outcomes. */
    async outcomesMany(profiles, options) {
      return many(
        this._project,
        profiles,
        options,
        (cx, ...items) => backend.segmentEvalMany(this._n.get(), cx, ...items),
        (codes, i) => OUTCOMES[codeAt(codes, i)],
        (profile, cx) => OUTCOMES[this._code(profile, cx)],
      );
    }
    /** The definition as a plain object (canonical metadata plus the rule text). */
    toJSON() {
      return { ...JSON.parse(this._info.canonicalJson), rule: this._info.sourceRule };
    }
    toString() {
      return `Segment(${this.id}@${this.version} ${this.definitionHash.slice(0, 12)})`;
    }
  }

  /**
   * Compiles a bare rule; metadata not given takes the core's defaults (id 'rule', version
   * 1.0.0, UTC, USD: `Definition::for_rule`), the same in every runtime.
   */
  function compile(rule, options = {}) {
    const o = options ?? {};
    const schema = schemaArg(o.schema);
    return new Segment(SEGMENT_TOKEN, () =>
      backend.segmentCompileRule(rule, o.id ?? null, o.version ?? null, o.timezone ?? null, o.currency ?? null, schema),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Registries

  const REGISTRY_TOKEN = Symbol('segcore.registry');

  /** Definitions compiled together: references resolved, evaluated in dependency order. */
  class Registry {
    constructor(token, build) {
      if (token !== REGISTRY_TOKEN) {
        throw new TypeError(
          backend.files ? 'use Registry.load(dir) or Registry.fromDefinitions([...])' : 'use Registry.fromDefinitions([...])',
        );
      }
      const n = new Native(build);
      const info = native(() => backend.registryInfo(n.ref));
      Object.defineProperty(this, '_n', { value: n });
      this._ids = info.ids;
      Object.defineProperty(this, '_segments', { value: info.segments });
      Object.defineProperty(this, '_versions', { value: info.versions });
      Object.defineProperty(this, '_project', { value: makeProjector(tape, info.spec) });
      Object.defineProperty(this, '_rows', { value: makeRowBuilders(info.ids, backend.codeSource) });
    }
    /** Loads every `*.yaml`, `*.yml` and `*.json` file of a folder (not recursive). */
    static load(dir, options = {}) {
      if (!backend.files) throw new TypeError(`Registry.load ${NO_FILESYSTEM}`);
      const path = String(dir);
      const schema = schemaArg(options.schema);
      return new Registry(REGISTRY_TOKEN, () => backend.registryLoad(path, schema));
    }
    /** Compiles definitions given as YAML/JSON texts or objects. */
    static fromDefinitions(definitions, options = {}) {
      const defs = definitionsArg(definitions);
      const schema = schemaArg(options.schema);
      return new Registry(REGISTRY_TOKEN, () => backend.registryFromDefinitions(defs, schema));
    }
    /**
     * Loads a bundle (SPEC §27; `segcore bundle`, `registry.toBundle()`): the whole registry, or a
     * `DefinitionError` with code `bundle_invalid`. A browser fetches one and loads it here.
     */
    static fromBundle(text) {
      if (typeof text !== 'string') throw new TypeError('a bundle is JSON text');
      return new Registry(REGISTRY_TOKEN, () => backend.registryFromBundle(text));
    }
    /**
     * Follows a registry service (`segcore serve`, SPEC §28) with `fetch`: resolves once its
     * bundle is loaded, then swaps in each new bundle whole as the change feed announces it.
     */
    static subscribe(url, options = {}) {
      return subscribe((text) => Registry.fromBundle(text), url, options);
    }
    /** The content hash of the definitions and schema (an ETag). */
    get bundleHash() {
      return native(() => backend.registryBundle(this._n.get(), 0))[0];
    }
    /** This registry as a bundle's JSON text, `created` now unless given. */
    toBundle(created = new Date()) {
      const at = instantText(created, 'created');
      return native(() => backend.registryBundle(this._n.get(), Date.parse(at) * 1000))[1];
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
      const ref = native(() => backend.registryGet(this._n.get(), key));
      return ref ? new Segment(SEGMENT_TOKEN, () => backend.registryGet(this._n.get(), key), ref) : undefined;
    }
    /** Every segment's id, version and definition hash, sorted by id (an id's latest version). */
    segments() {
      return this._segments.map((s) => ({ ...s }));
    }
    /** Every version side by side (SPEC §1): each id's versions in time order, with their windows. */
    versions() {
      return this._versions.map((s) => ({ ...s }));
    }
    /** The codes of every segment (in `ids` order) for one profile. */
    _codes(profile, cx) {
      const count = this._ids.length;
      return evaluateWith(
        this._project,
        profile,
        (len) => backend.registryEvalTape(this._n.get(), cx, tape, len, count),
        (p) => backend.registryEvalHandle(this._n.get(), p, cx, tape, count),
      );
    }
    /** Membership in every segment: `{ [id]: boolean }`. */
    evaluate(profile, options) {
      return this._rows.members(this._codes(profile, moduleContext(options)), 0);
    }
    /** Three-valued outcomes of every segment: `{ [id]: 'true' | 'false' | 'unknown' }`. */
    outcomes(profile, options) {
      return this._rows.outcomes(this._codes(profile, moduleContext(options)), 0, OUTCOMES);
    }
    /** The ids of the segments the profile belongs to, sorted. */
    members(profile, options) {
      const codes = this._codes(profile, moduleContext(options));
      const ids = this._ids;
      const out = [];
      for (let i = 0; i < ids.length; i++) if (codeAt(codes, i) === 1) out.push(ids[i]);
      return out;
    }
    /** The outcome of one segment (evaluating only what it depends on). */
    evaluateOne(id, profile, options) {
      const cx = moduleContext(options);
      const code = withProfile(this._n, this._project, profile, (reg, p) => backend.registryEvalOne(reg, String(id), p, cx));
      return OUTCOMES[code];
    }
    /** Explains one segment for a profile. */
    explain(id, profile, options) {
      const cx = moduleContext(options);
      return new Explanation(
        withProfile(this._n, this._project, profile, (reg, p) => backend.registryExplain(reg, String(id), p, cx)),
      );
    }
    /** Segment `id`'s next change (see Segment#nextChange); its references change with it. */
    nextChange(id, profile, options) {
      const cx = moduleContext(options);
      const horizon = horizonArg(options);
      return withProfile(this._n, this._project, profile, (reg, p) =>
        backend.registryNextChange(reg, String(id), p, cx, horizon),
      );
    }
    /** Segment `id`'s timeline (see Segment#timeline), its references evaluated here. */
    timeline(id, profile, options) {
      const { cx, to } = spanArgs(options);
      return withProfile(this._n, this._project, profile, (reg, p) => backend.registryTimeline(reg, String(id), p, cx, to));
    }
    /** One query computing every segment's membership in `dialect` (SPEC §21). */
    toSql(dialect, options) {
      const { cx, tables } = sqlArgs(options);
      return native(() => backend.registryToSql(this._n.get(), cx, String(dialect), tables));
    }
    /**
     * Why two member sets differ (SPEC §25): `a`/`b` are each side's ids, or `null` to compute
     * them from the side's setting (`segment`, `asOf`, `profiles`; B's default to A's).
     */
    reconcile(a, b, options = {}) {
      if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
      const other = options.registryB;
      if (other !== undefined && other !== null && !(other instanceof Registry)) throw new TypeError('registryB must be a Registry');
      const id = options.identity;
      const req = JSON.stringify({
        a: a == null ? null : idsArg(a, 'a'),
        b: b == null ? null : idsArg(b, 'b'),
        segment: options.segment ?? null,
        segmentB: options.segmentB ?? null,
        asOf: options.asOf == null ? null : instantText(options.asOf, 'asOf'),
        asOfB: options.asOfB == null ? null : instantText(options.asOfB, 'asOfB'),
        profiles: plainProfiles(options.profiles, 'profiles'),
        profilesB: plainProfiles(options.profilesB, 'profilesB'),
        fx: options.fx ?? null,
        identity: id == null ? null : {
          pairs: [...id.pairs].map((p) => [String(p[0]), String(p[1])]),
          prefer: id.prefer ?? [],
          unique: id.unique ?? [],
          strict: Boolean(id.strict),
        },
      });
      return native(() => backend.registryReconcile(this._n.get(), other ? other._n.get() : null, req));
    }
    /**
     * Daily membership drift (SPEC §25): one row per segment per step over local days of `zone`
     * from `start` to `end` (`YYYY-MM-DD`, end exclusive).
     */
    drift(profiles, start, end, options = {}) {
      const req = JSON.stringify({
        profiles: plainProfiles(profiles, 'profiles') ?? [],
        start: String(start),
        end: String(end),
        every: options.every ?? 1,
        zone: options.zone ?? 'UTC',
        window: options.window ?? 7,
        z: options.z ?? 3,
        ids: options.ids ?? null,
        fx: options.fx ?? null,
      });
      return native(() => backend.registryDrift(this._n.get(), req));
    }
    /** Membership of many profiles in every segment (see Segment#evaluateMany). */
    async evaluateMany(profiles, options) {
      const n = this._ids.length;
      return many(
        this._project,
        profiles,
        options,
        (cx, ...items) => backend.registryEvalMany(this._n.get(), cx, ...items),
        (codes, r) => this._rows.members(codes, r * n),
        (profile, cx) => this._rows.members(this._codes(profile, cx), 0),
      );
    }
    toString() {
      return `Registry(${this._ids.length} segments)`;
    }
  }

  // What a runtime lacks is absent, not a method that fails (`files` keeps `load`, which says
  // what to do instead).
  if (!backend.sql) {
    delete Segment.prototype.toSql;
    delete Registry.prototype.toSql;
  }
  if (trap === null) delete Profile.prototype.free;

  // -------------------------------------------------------------------------------------------
  // Tools

  /**
   * A wall time (`YYYY-MM-DDTHH:MM[:SS]`) in an IANA time zone, resolved exactly as segcore resolves
   * local times (bundled time-zone database; a time in a DST gap moves forward, one that occurs
   * twice takes the earlier instant): `{ instant, offsetSeconds, resolution }`. For tools that pick
   * an `asOf` in a zone; never the host's zone rules.
   */
  function resolveLocalTime(local, timeZone) {
    const r = native(() => backend.resolveLocalTime(String(local), String(timeZone)));
    if (r === null) {
      throw new TypeError(`${JSON.stringify(local)} in ${JSON.stringify(timeZone)}: expected YYYY-MM-DDTHH:MM[:SS] and an IANA time zone`);
    }
    return r;
  }

  /** The canonical formatting of a rule (what `segcore fmt` writes). */
  function formatRule(rule) {
    return native(() => backend.formatRule(rule));
  }

  /**
   * Imports one rule written for another engine (SPEC §29): exactly, or refused with the reason.
   * `rule` is a JSON text or the parsed value; `options.source` names the format (`'jsonlogic'`,
   * json-logic-js 2.0.5; `'growthbook'`, a targeting condition of @growthbook/growthbook 1.8.0,
   * `options.savedGroups` inlined), `options.schema` the type of every attribute it reads. A refused
   * import throws `TypeCheckError` (`import_refused`) unless `options.partial`.
   */
  function importRule(rule, options = {}) {
    const req = {
      from: options.source ?? 'jsonlogic',
      schema: options.schema ?? null,
      id: options.id ?? null,
      saved_groups: options.savedGroups ?? null,
      toggle: options.toggle ?? null,
      dialect: options.dialect ?? null,
      timezone: options.timezone ?? null,
      tables: options.tables ?? null,
      partial: Boolean(options.partial),
    };
    if (typeof rule === 'string') req.source_text = rule;
    else req.source = rule === undefined ? null : rule;
    const text = JSON.stringify(req);
    return native(() => backend.importRule(text));
  }

  /**
   * Validates a folder or file path (where there are files), or an array of definitions
   * (YAML/JSON texts or objects) as one registry. Returns the diagnostics; empty means valid.
   */
  function check(source, options = {}) {
    if (!backend.files && !Array.isArray(source)) {
      throw new TypeError('check takes an array of definitions (texts or objects) in the WebAssembly build');
    }
    const defs = definitionsArg(source);
    const schema = schemaArg(options.schema);
    return native(() => backend.check(defs, schema));
  }

  // -------------------------------------------------------------------------------------------
  // Reconciliation (SPEC §24)

  /** Ids as strings: a string as it is, an integer (number or bigint) as its decimal text. */
  function idsArg(ids, what = 'ids') {
    if (ids === null || ids === undefined || typeof ids === 'string' || typeof ids[Symbol.iterator] !== 'function') {
      throw new TypeError(`${what} must be an iterable of ids (strings or integers)`);
    }
    const out = [];
    let i = 0;
    for (const id of ids) {
      if (typeof id === 'string') out.push(id);
      else if (typeof id === 'bigint' || (typeof id === 'number' && Number.isSafeInteger(id))) out.push(String(id));
      else throw new TypeError(`${what}[${i}] is ${typeof id === 'number' ? 'not a safe integer' : `a ${typeof id}`}, not a string or an integer`);
      i++;
    }
    return out;
  }

  /** Plain profile objects (as JSON goes), for the analyses that take many profiles at once. */
  function plainProfiles(profiles, what) {
    if (profiles == null) return null;
    if (typeof profiles[Symbol.iterator] !== 'function') throw new TypeError(`${what} must be an iterable of profile objects`);
    return [...profiles].map((p, i) => {
      if (p === null || typeof p !== 'object' || p instanceof Profile) {
        throw new TypeError(`${what}[${i}] must be a plain profile object { id, attributes?, events? }`);
      }
      return p;
    });
  }

  function keyArg(key) {
    if (key === undefined || key === null) return undefined;
    if (typeof key !== 'string') throw new TypeError('key must be a string');
    return key;
  }

  /**
   * The fingerprint of a set of ids (SPEC §24): `sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>`, the same
   * text in every runtime and in the generated SQL.
   */
  function fingerprint(ids, options = {}) {
    const list = idsArg(ids);
    return native(() => backend.fingerprint(list, keyArg(options.key)));
  }

  /** The fingerprint of the union of disjoint shards, from theirs. */
  function combineFingerprints(fingerprints) {
    const list = [...fingerprints].map((f) => {
      if (typeof f !== 'string') throw new TypeError('fingerprints must be strings');
      return f;
    });
    return native(() => backend.fingerprintSum(list));
  }

  const sketchBytes = new WeakMap();

  /** A set-reconciliation sketch (SPEC §24); holds its bytes. */
  class Sketch {
    constructor(bytes, info) {
      sketchBytes.set(this, bytes);
      this.symbols = info.symbols;
      this.fingerprint = info.fingerprint;
      Object.freeze(this);
    }

    /** The sketch of `ids`: `symbols` coded symbols, or enough for about `differences` (default 1,000). */
    static of(ids, options = {}) {
      const list = idsArg(ids);
      const count = (name) => {
        const v = options[name];
        if (v === undefined || v === null) return undefined;
        if (!Number.isSafeInteger(v) || v < 1 || v > 0xffffffff) throw new TypeError(`${name} must be a positive integer`);
        return v;
      };
      const symbols = count('symbols');
      const differences = count('differences');
      const bytes = new Uint8Array(native(() => backend.sketchNew(list, symbols, differences, keyArg(options.key))));
      return new Sketch(bytes, native(() => backend.sketchInfo(bytes)));
    }

    /** Reads a sketch's bytes (`sketch_invalid` for damaged or foreign bytes). */
    static fromBytes(bytes) {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('a sketch is read from a Uint8Array');
      const copy = new Uint8Array(bytes);
      return new Sketch(copy, native(() => backend.sketchInfo(copy)));
    }

    /** The sketch's bytes (a copy). */
    toBytes() {
      return new Uint8Array(sketchBytes.get(this));
    }

    /**
     * The difference between this set (A) and `other`'s (B): `{ onlyA, onlyB, symbols }`, as ids
     * where that side's ids are given (`ids`, `otherIds`), else `#` and 16 hex digits per symbol.
     */
    decode(other, options = {}) {
      if (!(other instanceof Sketch)) throw new TypeError('decode takes another Sketch');
      const a = options.ids === undefined ? undefined : idsArg(options.ids, 'ids');
      const b = options.otherIds === undefined ? undefined : idsArg(options.otherIds, 'otherIds');
      return native(() => backend.sketchDecode(sketchBytes.get(this), sketchBytes.get(other), a, b, keyArg(options.key)));
    }
  }

  /**
   * What changed between two registries and the version bump each change requires (SPEC §26).
   */
  function diff(oldRegistry, newRegistry) {
    if (!(oldRegistry instanceof Registry) || !(newRegistry instanceof Registry)) {
      throw new TypeError('diff takes two Registry objects');
    }
    return native(() => backend.registryDiff(oldRegistry._n.get(), newRegistry._n.get()));
  }

  const versions = backend.versions();

  /**
   * Test-only, not part of the API: makes the module fail on purpose (a Rust panic; in
   * WebAssembly `kind` 1 is a stack overflow) to show the recovery. Always throws `SegmentError`
   * with code `internal`.
   */
  function testTrap(kind = 0) {
    return native(() => backend.testTrap(kind));
  }

  return {
    compile,
    Segment,
    Registry,
    Profile,
    Context,
    Explanation,
    formatRule,
    importRule,
    resolveLocalTime,
    check,
    fingerprint,
    combineFingerprints,
    Sketch,
    diff,
    SegmentError,
    ParseError,
    TypeCheckError,
    DefinitionError,
    EvaluationError,
    DataError,
    version: versions.version,
    languageVersion: versions.languageVersion,
    __segcore_test_trap: testTrap,
  };
}
