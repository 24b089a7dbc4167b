// A page as an application would write it, bundled by tests/bundle.test.mjs with esbuild: the
// package by its name (as installed), the module through the package's `segcore.wasm` export,
// whatever the loader makes of it (`file`: its URL; `binary`: its bytes, inlined).
import init from 'segcore-wasm/init';
import wasm from 'segcore-wasm/segcore.wasm';

globalThis.segcoreBundle = { init, wasm };
