// Entry point for Node.js (ES module): the same WebAssembly module, loaded synchronously from
// disk. The native binding (bindings-node) is faster on a server; this one runs anywhere Node does.
//
//   import { Segment } from 'segcore-wasm';
//   const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
//   seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: new Date() }); // true
import { createRequire } from 'node:module';
import { createApi } from './api.mjs';

const glue = createRequire(import.meta.url)('../pkg/node/segcore_wasm.js');
const api = createApi(glue);

export const {
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
  version,
  languageVersion,
} = api;
export default api;
