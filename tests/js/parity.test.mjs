// The Node binding and the WebAssembly build export the same API: the same names, and for each
// the same shape (function arity; a class's static members and prototype members, with their
// kind and arity; the fields of the objects they make). Both are built by one implementation
// (bindings-wasm/js/api.mjs) over a backend each, so drift can only come from a backend's
// capability flags or from code added outside it: this test fails on any difference not listed
// in DELIBERATE below, and on a listed one that is gone (keep the list true).
//
// Needs both builds (segcore.node, bindings-wasm/pkg): `node --test tests/js/` in the test command.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const node = createRequire(import.meta.url)('../../bindings-node/index.js');
const wasmModule = await import('../../bindings-wasm/js/node.mjs');

/** Paths (as `describe` names them) that exist in one runtime only, on purpose. */
const DELIBERATE = {
  node: [
    // SQL generation is left out of the WebAssembly build (the core's `sql` feature).
    'Segment.prototype.toSql',
    'Registry.prototype.toSql',
  ],
  wasm: [
    // WebAssembly memory can be freed before the garbage collector does; napi externals cannot.
    'Profile.prototype.free',
    // The ES module's default export: the API as one object (the Node package's
    // `module.exports` is that object itself).
    'default',
  ],
};

/** `value`'s shape as path → description, e.g. 'Segment.fromYAML' → 'function/2'. */
function describe(value, path, out = new Map()) {
  const kind = typeof value;
  if (kind !== 'function') {
    out.set(path, value === null ? 'null' : kind);
    return out;
  }
  out.set(path, `function/${value.length}`);
  // Static members, and the prototype's members (for classes and plain functions alike).
  for (const [owner, prefix] of [
    [value, path],
    [value.prototype, `${path}.prototype`],
  ]) {
    if (owner === undefined) continue;
    for (const key of Reflect.ownKeys(owner)) {
      if (['length', 'name', 'prototype', 'caller', 'arguments'].includes(key)) continue;
      if (owner === value.prototype && key === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(owner, key);
      const name = `${prefix}.${String(key)}`;
      if (d.get || d.set) out.set(name, `accessor${d.get ? ' get' : ''}${d.set ? ' set' : ''}`);
      else if (typeof d.value === 'function') out.set(name, `method/${d.value.length}`);
      else out.set(name, `value ${typeof d.value}`);
    }
  }
  // What it extends (the error classes): the same parent in both.
  const parent = Object.getPrototypeOf(value);
  if (parent !== Function.prototype) out.set(`${path} extends`, parent.name);
  return out;
}

function shapes(api) {
  const out = new Map();
  for (const key of Object.keys(api)) describe(api[key], key, out);
  return out;
}

/** The fields of an object the API made (own properties, enumerable or not). */
function fields(object) {
  return Reflect.ownKeys(object)
    .map((k) => `${String(k)}${Object.getOwnPropertyDescriptor(object, k).enumerable ? '' : ' (hidden)'}`)
    .sort();
}

test('Node and WebAssembly export the same names with the same shapes', () => {
  const n = shapes(node);
  const w = shapes(wasmModule);
  const onlyIn = (a, b) => [...a.keys()].filter((k) => !b.has(k)).sort();
  assert.deepEqual(onlyIn(n, w), [...DELIBERATE.node].sort(), 'members only the Node binding has');
  assert.deepEqual(onlyIn(w, n), [...DELIBERATE.wasm].sort(), 'members only the WebAssembly build has');
  const differ = [...n.keys()].filter((k) => w.has(k) && n.get(k) !== w.get(k)).map((k) => `${k}: node ${n.get(k)}, wasm ${w.get(k)}`);
  assert.deepEqual(differ, [], 'members whose kind or arity differ');
  // The default export is the named exports as one object.
  assert.deepEqual(Object.keys(wasmModule.default).sort(), Object.keys(node).sort());
  assert.equal(node.version, wasmModule.version);
  assert.equal(node.languageVersion, wasmModule.languageVersion);
});

test('the objects they make have the same fields', async () => {
  const make = (m) => {
    const options = { asOf: '2026-03-15T12:00:00Z' };
    const registry = m.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age > 1' }]);
    const segment = m.compile('age > 1');
    const profile = new m.Profile({ id: 'u', attributes: { age: 2 } });
    let error;
    try {
      m.compile('age >');
    } catch (e) {
      error = e;
    }
    return {
      segment,
      registry,
      profile,
      jsonProfile: m.Profile.fromJSON('{"id": "u"}'),
      context: new m.Context(options),
      explanation: segment.explain(profile, options),
      error,
      gotSegment: registry.get('a'),
    };
  };
  const n = make(node);
  const w = make(wasmModule);
  for (const key of Object.keys(n)) assert.deepEqual(fields(w[key]), fields(n[key]), key);
  assert.deepEqual(await w.segment.evaluateMany([{ id: 'u', attributes: { age: 2 } }], w.context), [true]);
  assert.deepEqual(await n.segment.evaluateMany([{ id: 'u', attributes: { age: 2 } }], n.context), [true]);
});
