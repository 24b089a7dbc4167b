// evaluateMany gives the same answers in Node (one call into the core's batch driver on the libuv
// pool) and WASM (profile by profile, in slices): same outcomes in input order, a repeated id
// evaluated as given (a list of profiles with their own events joins nothing by id: SPEC §19),
// and the same error kind for a profile that fails.
//
// Needs both builds (segcore.node, bindings-wasm/pkg): `node --test tests/js/` in the test command.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const node = createRequire(import.meta.url)('../../bindings-node/index.js');
const wasm = await import('../../bindings-wasm/js/node.mjs');

const AS_OF = '2026-03-15T00:00:00Z';
const profiles = [
  { id: 'a', attributes: { age: 30 }, events: [{ name: 'purchase', at: '2026-03-01T00:00:00Z' }] },
  { id: 'a', attributes: { age: 12 } },
  { id: 'b', attributes: {} },
  { id: 'c', attributes: { age: 70 }, events: [{ name: 'purchase', at: '2026-03-02T00:00:00Z' }, { name: 'purchase', at: '2026-03-03T00:00:00Z' }] },
];

for (const [name, api] of [['node', node], ['wasm', wasm]]) {
  test(`${name}: evaluateMany in input order, repeated ids evaluated as given`, async () => {
    const seg = api.compile('age >= 18 and count(purchase) >= 1');
    // Hand-derived: a (30, 1 purchase) TRUE; a (12) FALSE; b (no age) UNKNOWN; c (70, 2) TRUE.
    assert.deepEqual(await seg.evaluateMany(profiles, { asOf: AS_OF }), [true, false, false, true]);
    const reg = api.Registry.fromDefinitions([
      { id: 'adults', version: '1.0.0', rule: 'age >= 18' },
      { id: 'buyers', version: '1.0.0', rule: 'in_segment("adults") and count(purchase) >= 2' },
    ]);
    const rows = await reg.evaluateMany(profiles, { asOf: AS_OF });
    assert.deepEqual(rows, [
      { adults: true, buyers: false },
      { adults: false, buyers: false },
      { adults: false, buyers: false },
      { adults: true, buyers: true },
    ]);
  });

  test(`${name}: a failing profile is an EvaluationError of its kind`, async () => {
    const seg = api.compile('wealth > 10 USD');
    const bad = [{ id: 'x', attributes: { wealth: '5 USD' } }, { id: 'y', attributes: { wealth: '5 EUR' } }];
    await assert.rejects(seg.evaluateMany(bad, { asOf: AS_OF }), (e) => {
      assert.equal(e.code, 'fx_rate_missing');
      assert.equal(e.name, 'EvaluationError');
      // The message is the core's, the same in both runtimes (Node says where in the batch in
      // fields of its own: the row and entity).
      assert.equal(e.message, 'no FX rate EUR/USD in the evaluation context');
      return true;
    });
  });
}
