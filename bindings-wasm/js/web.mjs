// Entry point for browsers and bundlers (ES module). The WebAssembly module is fetched and
// instantiated once, here, with top-level await; then the API is ready to use:
//
//   import { Segment } from 'segcore-wasm';
//   const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
//   seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: new Date() }); // true
import init, * as glue from '../pkg/web/segcore_wasm.js';
import { createApi } from './api.mjs';

await init({ module_or_path: new URL('../pkg/web/segcore_wasm_bg.wasm', import.meta.url) });
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
