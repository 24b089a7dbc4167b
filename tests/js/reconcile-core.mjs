// SPEC §24–25 through the shared JS API, run by the Node binding and the WASM build
// (bindings-*/tests/reconcile.test.mjs): fingerprints, sketches as bytes, reconcile causes with an
// identity map, drift rows. Expected values are hand-derived from the data below.

import assert from 'node:assert/strict';

const FP_U1 = 'sfp1:14de38cf:1:1761758575:612197395:1972634671:2703318733'; // tests/conformance/reconcile.json

const purchase = (id, at, amount) => ({ id, events: [{ name: 'purchase', at, properties: { amount } }] });

function code(fn) {
  try {
    fn();
  } catch (e) {
    return e.code ?? e.name;
  }
  return 'no error';
}

export function reconcileTests(segcore) {
  return [
    ['fingerprints: the SPEC text, integers as decimal text, shards add', () => {
      assert.equal(segcore.fingerprint(['u1']), FP_U1);
      assert.equal(segcore.fingerprint([42, 'a']), segcore.combineFingerprints([segcore.fingerprint(['a']), segcore.fingerprint(['42'])]));
      assert.equal(segcore.fingerprint([7n]), segcore.fingerprint(['7']));
      assert.throws(() => segcore.fingerprint('u1'), TypeError);
      assert.throws(() => segcore.fingerprint([1.5]), TypeError);
      assert.equal(code(() => segcore.fingerprint(['a'], { key: 'a:b' })), 'invalid_key');
      assert.equal(code(() => segcore.combineFingerprints([segcore.fingerprint(['a']), segcore.fingerprint(['a'], { key: 'crm' })])), 'key_mismatch');
    }],
    ['sketches: exchanged as bytes, decoded exactly, refused when damaged', () => {
      const mine = Array.from({ length: 3000 }, (_, i) => `u${i}`);
      const theirs = Array.from({ length: 3000 }, (_, i) => `u${i + 4}`);
      const wire = segcore.Sketch.of(theirs, { differences: 16 }).toBytes();
      assert.ok(wire instanceof Uint8Array && wire.length < 1500, `${wire.length} bytes`);
      const received = segcore.Sketch.fromBytes(wire);
      assert.equal(received.fingerprint, segcore.fingerprint(theirs));
      const d = segcore.Sketch.of(mine, { symbols: received.symbols }).decode(received, { ids: mine, otherIds: theirs });
      assert.deepEqual(d.onlyA, ['u0', 'u1', 'u2', 'u3']);
      assert.deepEqual(d.onlyB, ['u3000', 'u3001', 'u3002', 'u3003']);
      assert.equal(code(() => segcore.Sketch.fromBytes(wire.subarray(0, wire.length - 1))), 'sketch_invalid');
      assert.equal(code(() => segcore.Sketch.of(mine, { symbols: 1 }).decode(segcore.Sketch.of(theirs, { symbols: 1 }))), 'sketch_undecodable');
    }],
    ['reconcile: every difference gets its cause', () => {
      const reg = segcore.Registry.fromDefinitions([
        'id: hv90\nversion: 1.0.0\nrule: sum(purchase.amount within 90d) > 500\n',
        'id: hv60\nversion: 1.0.0\nrule: sum(purchase.amount within 60d) > 500\n',
      ]);
      const a = [
        purchase('user:1', '2026-01-01T00:00:00Z', 600), // 73 days old: 90d only → definition
        purchase('user:2', '2026-03-05T00:00:00Z', 900), // both; B keyed by email → identity
        purchase('user:3', '2026-01-14T03:00:00Z', 600), // leaves 60d at 03:00 on the 15th → time
        purchase('user:4', '2026-03-01T00:00:00Z', 900), // missing from B's data → data
      ];
      const b = [a[0], a[1], a[2], { id: 'user:4' }];
      const r = reg.reconcile(['user:1', 'user:2', 'user:3', 'user:4'], ['email:b@x'], {
        segment: 'hv90', segmentB: 'hv60', asOf: '2026-03-15T00:00:00Z', asOfB: new Date('2026-03-15T07:00:00Z'),
        profiles: a, profilesB: b, identity: { pairs: [['user:2', 'email:b@x']], prefer: ['user:'] },
      });
      const causes = Object.fromEntries(r.differences.map((d) => [d.raw, d.cause]));
      assert.deepEqual(causes, { 'user:1': 'definition', 'user:2': 'identity', 'email:b@x': 'identity', 'user:3': 'time', 'user:4': 'data' });
      assert.deepEqual([r.a, r.b, r.both, r.differing], [4, 1, 1, 3]);
      assert.equal(r.differences.find((d) => d.raw === 'user:3').change.cause, 'window');
      assert.throws(() => reg.reconcile(['a'], null, { profiles: [{ id: 'x' }], registryB: {} }), TypeError);
      assert.equal(code(() => reg.reconcile(['a'], ['b'], { identity: { pairs: [['u:1', 'd'], ['u:2', 'd']], unique: ['u:'], strict: true } })), 'invalid_identity');
    }],
    ['diff and bundles (SPEC §26–27): reasons, problems, a round trip, edits refused', () => {
      const hv = { id: 'hv', version: '1.0.0', rule: 'ltv > 500' };
      const old = segcore.Registry.fromDefinitions([hv]);
      const neu = segcore.Registry.fromDefinitions([{ ...hv, version: '1.1.0', rule: 'ltv > 600' }]);
      const d = segcore.diff(old, neu);
      assert.equal(d.required, 'minor');
      assert.deepEqual(d.segments[0].rule_changes, [['500', '600']]);
      assert.equal(d.segments[0].problem, null);
      assert.throws(() => segcore.diff(old, {}), TypeError);
      const text = neu.toBundle('2026-03-15T00:00:00Z');
      const doc = JSON.parse(text);
      assert.equal(doc.format, 'segcore-bundle/1');
      assert.equal(doc.created, '2026-03-15T00:00:00Z');
      assert.equal(doc.hash, neu.bundleHash);
      const back = segcore.Registry.fromBundle(text);
      assert.equal(back.bundleHash, neu.bundleHash);
      assert.deepEqual(back.evaluate({ id: 'u', attributes: { ltv: 700 } }, { asOf: '2026-03-15T00:00:00Z' }), { hv: true });
      assert.equal(code(() => segcore.Registry.fromBundle(text.replace('ltv > 600', 'ltv > 1'))), 'bundle_invalid');
      assert.equal(code(() => segcore.Registry.fromBundle(text.slice(0, 30))), 'bundle_invalid');
    }],
    ['drift: daily rows that reconcile day over day', () => {
      const reg = segcore.Registry.fromDefinitions(['id: active\nversion: 1.0.0\nrule: count(login within 2d) >= 1\n']);
      const profiles = [{ id: 'u1', events: [{ name: 'login', at: '2026-03-02T12:00:00Z' }] }];
      const rows = reg.drift(profiles, '2026-03-01', '2026-03-06');
      // u1 enters at noon on the 2nd (data) and leaves at noon on the 4th (time).
      assert.deepEqual(rows.map((r) => [r.day, r.members, r.entered, r.exited]), [
        ['2026-03-01', 0, 0, 0], ['2026-03-02', 0, 1, 0], ['2026-03-03', 1, 0, 0], ['2026-03-04', 1, 0, 1], ['2026-03-05', 0, 0, 0],
      ]);
      assert.deepEqual(rows[1].entered_by, { definition: 0, data: 1, time: 0 });
      assert.deepEqual(rows[3].exited_by, { definition: 0, data: 0, time: 1 });
      assert.equal(code(() => reg.drift(profiles, '2026-03-06', '2026-03-01')), 'invalid_context');
    }],
  ];
}
