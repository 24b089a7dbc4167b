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
    [
      'importRule: SQL (SPEC §29.5) with its dialect, zone and tables; hostile SQL is an error, never a trap',
      () => {
        const sqlSchema = { attributes: { age: 'int', seen: 'timestamp' }, events: { purchase: { qty: 'int' } } };
        const out = importRule(
          "SELECT id FROM users u WHERE age >= 18 AND seen >= CURRENT_DATE AND (SELECT SUM(a.qty) FROM activity a WHERE a.entity_id = u.id AND a.name = 'purchase' AND a.at <= NOW()) > 2",
          { source: 'sql', schema: sqlSchema, timezone: 'America/New_York', tables: { profiles: 'users', events: 'activity' } },
        );
        assert.equal(out.rule, '(age >= 18) and (days_since(seen) <= 0) and ((sum(purchase.qty) + max(purchase.qty) * 0) > 2)');
        assert.equal(out.dialect, 'duckdb');
        assert.deepEqual(out.assumptions.map((a) => a.id), ['S1', 'S4']);
        const seg = Segment.fromYAML(out.definition, { schema: out.schema });
        // SQL's SUM of no rows is NULL: the profile is UNKNOWN, as the WHERE is.
        const p = { id: 'u', attributes: { age: 30, seen: '2026-03-30T04:00:00Z' }, events: [] };
        assert.equal(seg.outcome(p, { asOf: '2026-03-30T09:30:00Z' }), 'unknown');
        assert.deepEqual(kindOf(() => importRule('age / 2 > 1', { source: 'sql', schema: sqlSchema, dialect: 'postgres' })), ['TypeCheckError', 'import_refused']);
        const bad = [
          'age >=',
          'SELECT id FROM profiles WHERE',
          '('.repeat(300) + 'age > 1' + ')'.repeat(300),
          'age' + ' + 1'.repeat(2001) + ' > 0',
          'age > 1 AND '.repeat(7000) + 'true',
        ];
        for (const text of bad) {
          assert.deepEqual(kindOf(() => importRule(text, { source: 'sql', schema: sqlSchema })), ['ParseError', 'import_invalid'], text.slice(0, 30));
        }
        // The longest chains that read, walked and dropped within the module's stack.
        const deep = importRule('age' + ' + 1'.repeat(1999) + ' > 0', { source: 'sql', schema: sqlSchema, partial: true });
        assert.equal(deep.refusals[0].construct, 'nesting');
        const wide = importRule(Array.from({ length: 1000 }, (_, i) => `age = ${i}`).join(' OR '), { source: 'sql', schema: sqlSchema });
        assert.equal(wide.status, 'exact_under');
        const nots = kindOf(() => importRule('NOT '.repeat(3000) + 'age > 0', { source: 'sql', schema: sqlSchema }));
        assert.deepEqual(nots, ['ParseError', 'import_invalid']);
        assert.throws(() => importRule('age > 1', { source: 'sql', schema: sqlSchema, dialect: 'oracle' }), ParseError);
        // Still working after all of it.
        assert.equal(importRule('age > 1', { source: 'sql', schema: sqlSchema }).rule, 'age > 1');
      },
    ],
  ];
}
