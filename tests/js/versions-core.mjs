// Versions of one segment side by side (SPEC §1) in the shared JS API, for the Node binding and
// the WASM build alike (the conformance suite's `lifecycle` cases cover evaluation over time).

import assert from 'node:assert/strict';

export function versionsTests(segcore) {
  const { Registry } = segcore;
  return [
    [
      'versions side by side: listed, the latest shown, the one in force evaluated',
      () => {
        const reg = Registry.fromDefinitions([
          { id: 'adult', version: '2.0.0', effective_from: '2026-03-05T00:00:00Z', rule: 'age >= 21' },
          { id: 'adult', version: '1.0.0', rule: 'age >= 18' },
        ]);
        assert.deepEqual(reg.ids, ['adult']);
        assert.deepEqual(
          reg.versions().map((v) => [v.version, v.effectiveFrom]),
          [['1.0.0', null], ['2.0.0', '2026-03-05T00:00:00Z']],
        );
        assert.equal(reg.get('adult').version, '2.0.0');
        const p = { id: 'u', attributes: { age: 19 } };
        assert.deepEqual(reg.evaluate(p, { asOf: '2026-03-04T23:59:59.999999Z' }), { adult: true });
        assert.deepEqual(reg.evaluate(p, { asOf: '2026-03-05T00:00:00Z' }), { adult: false });
        // A bundle carries both, and loads back to the same registry.
        const back = Registry.fromBundle(reg.toBundle());
        assert.equal(back.bundleHash, reg.bundleHash);
        assert.equal(back.versions().length, 2);
        assert.throws(
          () => Registry.fromDefinitions([
            { id: 'adult', version: '1.0.0', rule: 'age >= 18' },
            { id: 'adult', version: '1.1.0', rule: 'age >= 21' },
          ]),
          (e) => e.code === 'duplicate_segment',
        );
      },
    ],
  ];
}
