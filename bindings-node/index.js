'use strict';
// segcore for Node.js. The public API is written once for Node and the WebAssembly build
// (segcore-js-api: bindings-wasm/js/api.mjs, types in its index.d.ts); this file is the Node
// backend of it: a map onto the native module (segcore.node, built from bindings-node/src with
// napi-rs). Every membership decision is made by the Rust core.
//
// segcore-js-api is a `file:` dependency, bundled into this package by `npm pack`
// (bundleDependencies): one source, nothing copied. `npm install` here links it (build-node.sh
// does). It is an ES module: `require` of ESM needs Node >= 20.19.

const path = require('node:path');

/** `require(file)`, or an error saying how to get it. */
function load(file, message) {
  try {
    return require(file);
  } catch (e) {
    const err = new Error(message(e));
    err.cause = e;
    throw err;
  }
}

const { createApi, heapStorage } = load(
  'segcore-js-api',
  (e) =>
    `segcore: the shared JS API (segcore-js-api) is not installed (${e.message}). Run \`npm install\` in ` +
    'bindings-node (it links ../bindings-wasm/js), or scripts/build-node.sh.',
);
const native = load(
  path.join(__dirname, 'segcore.node'),
  (e) =>
    `segcore: the native module is not built (${e.message}). Build it with scripts/build-node.sh ` +
    '(cargo build --release -p segcore-node, then copy the library to bindings-node/segcore.node).',
);

module.exports = createApi({
  files: true,
  sql: true,
  // evaluateMany: the batch is decoded and evaluated on the libuv thread pool.
  batches: true,
  // A Rust panic is caught at the boundary (the error `internal`); nothing to rebuild.
  trap: null,
  storage: heapStorage,
  // Registry results are strings of '0'/'1'/'2', one character per segment.
  codeSource: (i) => `(c.charCodeAt(${i}) - 48)`,
  // The native module converts values itself (limits checked in Rust).
  plain: (value) => value,
  contextArgs: (options) => [options.asOf, options.fx, options.segments],
  context: (args) => native.contextNew(...args),
  contextAsOf: native.contextAsOf,
  // Externals are freed by the garbage collector.
  free() {},

  profileFromTape: (tape, len) => native.profileFromTape(tape.u8, tape.base, len),
  profileFromJson: native.profileFromJson,
  profileId: (p) => native.profileInfo(p).id,
  profileEventCount: (p) => native.profileInfo(p).eventCount,
  profileFromProjection: (owner, tape, len) => native.profileFromProjection(owner, tape.u8, tape.base, len),

  segmentFromYaml: native.segmentFromYaml,
  segmentFromJson: native.segmentFromJson,
  segmentFromObject: native.segmentFromObject,
  segmentLoad: native.segmentLoad,
  segmentCompileRule: native.segmentCompileRule,
  segmentInfo: native.segmentInfo,
  segmentEvalTape: (seg, cx, tape, len) => native.segmentEvalTape(seg, cx, tape.u8, tape.base, len),
  segmentEvalHandle: native.segmentEvalHandle,
  segmentExplain: native.segmentExplain,
  segmentNextChange: native.segmentNextChange,
  segmentTimeline: native.segmentTimeline,
  segmentToSql: native.segmentToSql,
  segmentEvalMany: native.segmentEvalMany,

  fingerprint: native.fingerprint,
  fingerprintSum: native.fingerprintSum,
  sketchNew: native.sketchNew,
  sketchInfo: native.sketchInfo,
  sketchDecode: native.sketchDecode,

  registryReconcile: (reg, other, req) => native.registryReconcile(reg, other ?? undefined, req),
  registryDrift: native.registryDrift,
  registryDiff: native.registryDiff,
  registryLoad: native.registryLoad,
  registryFromDefinitions: native.registryFromDefinitions,
  registryFromBundle: native.registryFromBundle,
  registryBundle: native.registryBundle,
  registryInfo: native.registryInfo,
  registryGet: native.registryGet,
  registryEvalTape: (reg, cx, tape, len) => native.registryEvalTape(reg, cx, tape.u8, tape.base, len),
  registryEvalHandle: (reg, p, cx) => native.registryEvalHandle(reg, p, cx),
  registryEvalOne: native.registryEvalOne,
  registryExplain: native.registryExplain,
  registryNextChange: native.registryNextChange,
  registryTimeline: native.registryTimeline,
  registryToSql: native.registryToSql,
  registryEvalMany: native.registryEvalMany,

  resolveLocalTime: native.resolveLocalTime,
  formatRule: native.formatRule,
  importRule: native.importRule,
  check: native.check,
  versions: native.versions,
  // `kind` is the WebAssembly build's (panic or stack overflow); here it is always a panic.
  testTrap: () => native.testPanic(),
});
