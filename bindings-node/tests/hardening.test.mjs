// Regression tests of the hardening issue for the Node binding: the shared ones
// (tests/js/hardening-core.mjs: re-entrancy, nesting and event limits, asOf range) and a Rust
// panic inside the native module, which must become a `SegmentError` with code `internal` and
// never take the process down.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { hardeningTests } from '../../tests/js/hardening-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');
const AS_OF = '2026-03-15T12:00:00Z';

for (const [name, fn] of hardeningTests(segcore)) test(name, () => fn());

test('a Rust panic is a SegmentError with code internal, and the process keeps working', async () => {
  const seg = segcore.compile('age >= 18');
  const reg = segcore.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age >= 18' }]);
  for (let i = 0; i < 3; i++) {
    let caught;
    try {
      segcore.__segcore_test_trap();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof segcore.SegmentError, `expected a SegmentError, got ${caught}`);
    assert.equal(caught.code, 'internal');
    assert.equal(caught.name, 'SegmentError');
    assert.match(caught.message, /internal error in segcore/);
    assert.equal(caught.diagnostics[0].kind, 'internal');
  }
  assert.equal(seg.evaluate({ id: 'u', attributes: { age: 30 } }, { asOf: AS_OF }), true);
  assert.deepEqual(reg.evaluate({ id: 'u', attributes: { age: 30 } }, { asOf: AS_OF }), { a: true });
  assert.deepEqual(await reg.evaluateMany([{ id: 'u', attributes: { age: 3 } }], { asOf: AS_OF }), [{ a: false }]);
});

test('re-entrancy in evaluateMany: getters that evaluate other segments', async () => {
  const inner = segcore.compile('country = "US"');
  const seg = segcore.compile('age >= 18');
  const profiles = [];
  for (let i = 0; i < 50; i++) {
    const attributes = {};
    Object.defineProperty(attributes, 'age', {
      enumerable: true,
      get() {
        inner.evaluate({ id: 'x', attributes: { country: 'US' } }, { asOf: AS_OF });
        return i;
      },
    });
    profiles.push({ id: `u${i}`, attributes });
  }
  const expected = profiles.map((_, i) => i >= 18);
  assert.deepEqual(await seg.evaluateMany(profiles, { asOf: AS_OF }), expected);
  const reg = segcore.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age >= 18' }]);
  assert.deepEqual((await reg.evaluateMany(profiles, { asOf: AS_OF })).map((r) => r.a), expected);
});
