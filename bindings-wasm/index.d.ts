// Type declarations of segcore's WebAssembly build (js/web.mjs for browsers, js/node.mjs for
// Node). The API is declared once, for both runtimes, in js/index.d.ts; this file only fixes the
// runtime (`WasmRuntime`: no files, no SQL, `Profile.free()`) of the names that depend on it.
import type { Api, WasmRuntime as R, Profile as P, Registry as G, Segment as S, Subscription as U } from './js/index.js';

export * from './js/index.js';

export type Segment = S<R>;
export type Registry = G<R>;
export type Profile = P<R>;
export type Subscription = U<R>;
export declare const Segment: Api<R>['Segment'], Registry: Api<R>['Registry'], Profile: Api<R>['Profile'], compile: Api<R>['compile'], check: Api<R>['check'];

/** Everything above as one object (the module's default export). */
declare const api: Api<R>;
export default api;
