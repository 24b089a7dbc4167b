// The WebAssembly build's adapter: the backend of the shared API (api.mjs) over the wasm-bindgen
// module (pkg/glue.mjs, made a factory by tools/glue-factory.mjs). The entries (js/node.mjs,
// js/init.mjs, and js/web.mjs through init.mjs) only compile the module and call `wasmApi`.
//
// Traps. A WebAssembly trap (a Rust panic aborts in this build; a stack overflow) leaves the
// instance's memory in an unknown state: api.mjs then calls `trap.restart()`, which discards the
// instance and makes a fresh one from the same compiled module (fresh memory), and throws
// `SegmentError` with code `internal` for that call only.
//
// Values are checked before they cross: definitions, schemas and options are copied to plain
// data here (reading any getters once, in JavaScript) with the nesting limit checked on the way,
// and profiles are written on the tape (tape.mjs, which checks its limits), so no input reaches
// recursive code in the module deeper than the core allows.

import { createGlue } from '../pkg/glue.mjs';
import { createApi } from './api.mjs';
import { limitExceeded } from './common.mjs';
import { MAX_VALUE_DEPTH } from './tape.mjs';

const isContainer = (v) => v !== null && typeof v === 'object' && !(v instanceof Date);

/**
 * `value` as plain data (arrays and objects copied, getters read once; members that are
 * `undefined` left out, as the Node binding does), without recursion. `limit_exceeded` when it
 * nests more than MAX_VALUE_DEPTH lists/objects (the value itself counts, as in the core): a
 * `DefinitionError` for definitions and schemas, else a `DataError`.
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

/**
 * The arguments of a module context: asOf as text or a Date's time value (checked here, with the
 * core's messages: the module takes no Date), FX quotes and segment results as plain data.
 */
function contextArgs(options) {
  const { asOf } = options;
  let text;
  let ms = 0;
  if (typeof asOf === 'string') text = asOf;
  else if (asOf instanceof Date) ms = asOf.getTime();
  else if (asOf == null) {
    throw new TypeError('asOf is required (a Date or an RFC 3339 string with an offset); segcore never reads the clock');
  } else throw new TypeError('asOf must be a Date or an RFC 3339 string with an offset');
  return [text, ms, plainData(options.fx, 'the FX table'), plainData(options.segments, 'the segments option')];
}

/** A glue instance of the compiled `module`, made synchronously (fresh memory). */
function instantiate(module) {
  const glue = createGlue();
  glue.initSync({ module });
  return glue;
}

/**
 * The public API over the compiled WebAssembly `module`. `first`: an instance of it made already
 * (browsers instantiate the first one asynchronously); after a trap the module is instantiated
 * again, synchronously.
 */
export function wasmApi(module, first = instantiate(module)) {
  let glue = first;
  return createApi({
    files: false,
    sql: false,
    batches: false,
    trap: {
      // A Rust panic is a RuntimeError (`unreachable`); an exhausted stack a RangeError.
      is: (e) => e instanceof WebAssembly.RuntimeError || e instanceof RangeError,
      restart() {
        // Objects of the old instance must never free into the new one (see glue-factory.mjs).
        glue.discard();
        glue = instantiate(module);
      },
      message: (e) =>
        `internal error in segcore (a bug; please report it): the WebAssembly module trapped (${e?.message ?? e}); ` +
        'it was replaced by a fresh instance, and everything made before keeps working',
    },
    /** The tape's storage: the instance's scratch buffer (it keeps its contents when it grows). */
    storage(native) {
      const g = glue;
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
    },
    // Registry results are code bytes in the scratch buffer (see registryEvalTape).
    codeSource: (i) => `c[${i}]`,
    plain: plainData,
    contextArgs,
    context: (args) => new glue.WasmContext(...args),
    contextAsOf: (cx) => cx.asOf,
    free: (ref) => ref.free(),

    profileFromTape: (tape, len) => glue.WasmProfile.fromTape(tape.base, len),
    profileFromJson: (text) => glue.WasmProfile.fromJson(text),
    profileId: (p) => p.id,
    profileEventCount: (p) => p.eventCount,
    profileFromProjection: (owner, tape, len) => owner.profileFromTape(tape.base, len),

    segmentFromYaml: (text, schema) => glue.WasmSegment.fromYaml(text, schema),
    segmentFromJson: (text, schema) => glue.WasmSegment.fromJson(text, schema),
    segmentFromObject: (def, schema) => glue.WasmSegment.fromObject(def, schema),
    segmentCompileRule: (rule, id, version, timezone, currency, schema) =>
      glue.WasmSegment.compileRule(rule, id, version, timezone, currency, schema),
    segmentInfo: (seg) => seg.info(),
    segmentEvalTape: (seg, cx, tape, len) => seg.evalTape(cx, tape.base, len),
    segmentEvalHandle: (seg, p, cx) => seg.evalHandle(p, cx),
    segmentExplain: (seg, p, cx) => seg.explain(p, cx),
    segmentNextChange: (seg, p, cx, horizon) => seg.nextChange(p, cx, horizon),
    segmentTimeline: (seg, p, cx, to) => seg.timeline(p, cx, to),

    registryFromDefinitions: (defs, schema) => glue.WasmRegistry.fromDefinitions(defs, schema),
    registryFromBundle: (text) => glue.WasmRegistry.fromBundle(text),
    registryBundle: (reg, created) => reg.bundle(created),
    registryInfo: (reg) => reg.info(),
    registryGet: (reg, id) => reg.get(id),
    // The module writes one code byte per segment where this call's tape starts (room made
    // first); they are read before the tape session closes.
    registryEvalTape(reg, cx, tape, len, count) {
      tape.ensure(count);
      return tape.bytes(tape.base, reg.evalTape(cx, tape.base, len));
    },
    registryEvalHandle(reg, p, cx, tape, count) {
      tape.ensure(count);
      return tape.bytes(tape.base, reg.evalHandle(p, cx, tape.base));
    },
    registryEvalOne: (reg, id, p, cx) => reg.evalOne(id, p, cx),
    registryExplain: (reg, id, p, cx) => reg.explain(id, p, cx),
    registryNextChange: (reg, id, p, cx, horizon) => reg.nextChange(id, p, cx, horizon),
    registryTimeline: (reg, id, p, cx, to) => reg.timeline(id, p, cx, to),
    registryReconcile: (reg, other, req) => (other ? reg.reconcileWith(other, req) : reg.reconcile(req)),
    registryDrift: (reg, req) => reg.drift(req),
    registryDiff: (old, neu) => old.diffTo(neu),

    resolveLocalTime: (local, zone) => glue.resolveLocalTime(local, zone),
    formatRule: (rule) => glue.formatRule(rule),
    importRule: (req) => glue.importRule(req),
    check: (defs, schema) => glue.check(defs, schema),
    fingerprint: (ids, key) => glue.fingerprint(ids, key),
    fingerprintSum: (fps) => glue.fingerprintSum(fps),
    sketchNew: (ids, symbols, differences, key) => glue.sketchNew(ids, symbols, differences, key),
    sketchInfo: (bytes) => glue.sketchInfo(bytes),
    sketchDecode: (a, b, idsA, idsB, key) => glue.sketchDecode(a, b, idsA ?? null, idsB ?? null, key),
    versions: () => glue.versions(),
    testTrap: (kind) => glue.testTrap(kind),
  });
}
