// Type declarations of segcore's Node.js binding (index.js). The API is declared once, for Node
// and the WebAssembly build, in segcore-js-api's index.d.ts (bindings-wasm/js/index.d.ts); this
// file only fixes the runtime (`NodeRuntime`: files and SQL) of the names that depend on it.
import type { Api, NodeRuntime as R, Profile as P, Registry as G, Segment as S, Subscription as U } from 'segcore-js-api';

export * from 'segcore-js-api';

export type Segment = S<R>;
export type Registry = G<R>;
export type Profile = P<R>;
export type Subscription = U<R>;
export declare const Segment: Api<R>['Segment'], Registry: Api<R>['Registry'], Profile: Api<R>['Profile'], compile: Api<R>['compile'], check: Api<R>['check'];
