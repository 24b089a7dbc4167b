// Entry point for bundlers and pages that load the WebAssembly module themselves
// (`segcore-wasm/init`): no top-level await and no URL of its own, so a bundler keeps nothing it
// cannot follow. The caller says where the module is:
//
//   import init from 'segcore-wasm/init';
//   import wasmUrl from 'segcore-wasm/segcore.wasm';   // esbuild: --loader:.wasm=file (or =binary: bytes)
//   const { Segment, Registry } = await init(wasmUrl);
//
// `init(source)` takes a URL (or its text), a `Response` (or a promise of one), the bytes (any
// BufferSource) or a compiled `WebAssembly.Module`, and resolves to the API: the object js/web.mjs
// exports as its default. Each call makes an instance of its own; call it once.
import { createGlue } from '../pkg/glue.mjs';
import { wasmApi } from './backend.mjs';

const isBytes = (s) =>
  s instanceof ArrayBuffer ||
  ArrayBuffer.isView(s) ||
  (typeof SharedArrayBuffer === 'function' && s instanceof SharedArrayBuffer);

/** The module from a fetched response: streamed when served as application/wasm. */
async function fromResponse(res, what) {
  if (!res.ok) throw new Error(`segcore: failed to fetch ${what}: ${res.status} ${res.statusText}`);
  const type = res.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim() === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  // Another type (or none): compile from the bytes instead.
  return WebAssembly.compile(await res.arrayBuffer());
}

/** `source` (see the header) as a compiled module. */
async function compileModule(source) {
  const s = await source;
  if (s instanceof WebAssembly.Module) return s;
  if (isBytes(s)) return WebAssembly.compile(s);
  if (typeof Response === 'function' && s instanceof Response) return fromResponse(s, s.url || 'the response');
  if (typeof s === 'string' || s instanceof URL) return fromResponse(await fetch(s), s);
  throw new TypeError(
    'init takes the WebAssembly module as a URL, a Response, bytes (ArrayBuffer or a typed array) or a WebAssembly.Module',
  );
}

/** Compiles and instantiates the module from `source`; resolves to the API. */
export default async function init(source) {
  const module = await compileModule(source);
  // The first instance asynchronously (nothing blocks the page); after a trap, fresh ones
  // synchronously, so the failed call can throw at once (js/backend.mjs).
  const first = createGlue();
  await first.default({ module_or_path: module });
  return wasmApi(module, first);
}
