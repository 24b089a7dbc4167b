// Entry point for browsers (ES module). The WebAssembly module is fetched from beside this file,
// compiled and instantiated once, here, with top-level await; then the API is ready to use:
//
//   import { Segment } from 'segcore-wasm';
//   const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
//   seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: new Date() }); // true
//
// Bundlers cannot follow the module's URL: there, use js/init.mjs (`segcore-wasm/init`) and pass
// the module yourself. The compiled module is kept: after a trap, js/backend.mjs makes a fresh
// instance of it.
import init from './init.mjs';

const api = await init(new URL('../pkg/web/segcore_wasm_bg.wasm', import.meta.url));

export const {
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
  version,
  languageVersion,
  __segcore_test_trap,
} = api;
export default api;
