// Types of `segcore-wasm/init` (js/init.mjs): the WebAssembly build for bundlers, which pass the
// module themselves. The API it resolves to is the one declared in js/index.d.ts.
import type { Api, WasmRuntime } from './js/index.js';

/** Where the WebAssembly module comes from: its URL, the fetched response, its bytes, or the module compiled. */
export type WasmSource = string | URL | Response | PromiseLike<Response> | BufferSource | WebAssembly.Module;

/**
 * Compiles and instantiates segcore's WebAssembly module from `source`; resolves to the API (what
 * `segcore-wasm` exports). Each call makes an instance of its own: call it once.
 *
 * @example
 * import init from 'segcore-wasm/init';
 * import wasmUrl from 'segcore-wasm/segcore.wasm'; // esbuild --loader:.wasm=file
 * const { Segment } = await init(wasmUrl);
 */
export default function init(source: WasmSource): Promise<Api<WasmRuntime>>;
