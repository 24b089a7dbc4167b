// `importRule` (SPEC §29) in the shared JS API, for the Node binding and the WASM build alike:
// hostile sources give their error classes and kinds, a refusal is an error unless `partial`,
// and the module keeps working. (The translation itself runs in every runtime through the
// conformance suite's `import` cases.)

import assert from 'node:assert/strict';

export function importTests(segcore) {
  const { importRule, ParseError, TypeCheckError, Segment } = segcore;
  const schema = { attributes: { age: 'int', plan: 'string' } };
  const kindOf = (fn) => {
    try {
      fn();
    } catch (e) {
      return [e.constructor.name, e.code];
    }
    return null;
  };
  return [
    [
      'importRule: bad sources are ParseError import_invalid, never a crash',
      () => {
        const deep = '{"!": ['.repeat(300) + 'true' + ']}'.repeat(300);
        for (const bad of ['{"==": [1,', '', '[1] [2]', deep, '{"a": 1, "a": 2}']) {
          const got = kindOf(() => importRule(bad, { schema }));
          assert.deepEqual(got, ['ParseError', 'import_invalid'], JSON.stringify(bad).slice(0, 40));
        }
        assert.throws(() => importRule('true', { source: 'cobol' }), ParseError);
        const huge = { in: [{ var: 'plan' }, Array.from({ length: 20000 }, (_, i) => `p${i}`)] };
        const out = importRule(huge, { schema, partial: true });
        assert.equal(out.status, 'refused');
        assert.equal(out.refusals[0].path, '/in/1');
      },
    ],
    [
      'importRule: a refusal throws TypeCheckError import_refused unless partial; then the module still works',
      () => {
        const rule = { or: [false, { '%': [{ var: 'age' }, 2] }] };
        assert.deepEqual(kindOf(() => importRule(rule, { schema })), ['TypeCheckError', 'import_refused']);
        assert.throws(() => importRule({ var: 'email' }, { schema }), TypeCheckError);
        const out = importRule(rule, { schema, partial: true });
        assert.equal(out.definition, null);
        assert.equal(out.refusals[0].path, '/or/1');
        // GrowthBook and Unleash through the same entry, and the definition loads.
        const gb = importRule({ age: { $lt: 30 } }, { source: 'growthbook', schema });
        const seg = Segment.fromYAML(gb.definition, { schema: gb.schema });
        assert.equal(seg.evaluate({ id: 'u', attributes: {} }, { asOf: '2026-01-01T00:00:00Z' }), true);
        const un = importRule(
          { name: 't', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: 'plan', operator: 'NOT_IN', values: ['free'] }] }] },
          { source: 'unleash', schema },
        );
        assert.equal(un.status, 'exact_under');
      },
    ],
  ];
}
