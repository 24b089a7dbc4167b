// Regression tests of the hardening issue for the WASM build in Node: the shared ones
// (tests/js/hardening-core.mjs: re-entrancy, nesting and event limits, asOf range), recovery from
// WebAssembly traps (tests/js/trap-core.mjs; the same runs in headless Chromium in
// chromium-hardening.test.mjs), and a profile of 90,000 events (linear now; timings in
// bench/profile-events.mjs).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { hardeningTests } from '../../tests/js/hardening-core.mjs';
import { trapTests } from '../../tests/js/trap-core.mjs';

const segcore = await import('../js/node.mjs');

for (const [name, fn] of hardeningTests(segcore)) test(name, () => fn());
for (const [name, fn] of trapTests(segcore)) test(name, () => fn());

test('a profile of 90,000 events is built (linear time), as an object and as JSON', () => {
  const events = [];
  for (let i = 0; i < 90_000; i++) {
    events.push({ name: i % 2 ? 'purchase' : 'view', at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(), properties: { amount: i % 100, sku: `sku-${i % 1000}` } });
  }
  const data = { id: 'big', attributes: { age: 30 }, events };
  const asOf = '2026-03-15T12:00:00Z';
  const seg = segcore.compile('count(purchase where amount >= 50 within 365d) = 22500 and count(view within 365d) = 45000');
  const p = new segcore.Profile(data);
  assert.equal(p.eventCount, 90_000);
  assert.equal(seg.evaluate(p, { asOf }), true);
  const q = segcore.Profile.fromJSON(JSON.stringify(data));
  assert.equal(q.eventCount, 90_000);
  assert.equal(seg.evaluate(q, { asOf }), true);
  assert.equal(seg.evaluate(data, { asOf }), true);
  p.free();
  q.free();
});
