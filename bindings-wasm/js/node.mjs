// Entry point for Node.js (ES module): the same WebAssembly module, loaded synchronously from
// disk. The native binding (bindings-node) is faster on a server; this one runs anywhere Node does.
//
//   import { Segment } from 'segcore-wasm';
//   const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
//   seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: new Date() }); // true
//
// The compiled module is kept: after a trap, js/backend.mjs makes a fresh instance of it.
import { readFileSync } from 'node:fs';
import { wasmApi } from './backend.mjs';

const module = new WebAssembly.Module(readFileSync(new URL('../pkg/web/segcore_wasm_bg.wasm', import.meta.url)));
const api = wasmApi(module);

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
