// Entry point for browsers and bundlers (ES module). The WebAssembly module is fetched, compiled
// and instantiated once, here, with top-level await; then the API is ready to use:
//
//   import { Segment } from 'segcore-wasm';
//   const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
//   seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: new Date() }); // true
//
// The compiled module is kept: after a trap, js/backend.mjs makes a fresh instance of it.
import { createGlue } from '../pkg/glue.mjs';
import { wasmApi } from './backend.mjs';

const url = new URL('../pkg/web/segcore_wasm_bg.wasm', import.meta.url);

async function compileModule() {
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(fetch(url));
    } catch {
      // A server without the application/wasm type: compile from the bytes instead.
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`segcore: failed to fetch ${url}: ${res.status} ${res.statusText}`);
  return WebAssembly.compile(await res.arrayBuffer());
}

const module = await compileModule();
const first = createGlue();
await first.default({ module_or_path: module });
const api = wasmApi(first, () => {
  const glue = createGlue();
  glue.initSync({ module });
  return glue;
});

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
  __segcore_test_trap,
} = api;
export default api;
