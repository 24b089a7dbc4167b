// API tests of the Node binding: errors and their fields, Date handling, profiles and handles,
// registries, evaluateMany against evaluate, hash identity with the Rust CLI.
// Expected values are worked out from SPEC.md by hand, never taken from the binding's output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const segcore = require('../index.js');
const { compile, Segment, Registry, Profile, Context, Explanation, check, formatRule } = segcore;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEMO = path.join(REPO, 'cli', 'src', 'demo');
const DEMO_SCHEMA = readFileSync(path.join(REPO, 'cli', 'src', 'demo_schema.yaml'), 'utf8');
const AS_OF = '2026-03-15T12:00:00Z';
const R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500';

const adult = { id: 'u1', attributes: { age: 30, country: 'US', plan: 'pro', ltv: 900 } };

// ----------------------------------------------------------------------------------------------
// Evaluation basics

test('evaluate, outcome and three-valued logic', () => {
  const seg = compile(R1);
  assert.equal(seg.evaluate(adult, { asOf: AS_OF }), true);
  assert.equal(seg.outcome(adult, { asOf: AS_OF }), 'true');
  const minor = { id: 'u2', attributes: { ...adult.attributes, age: 17 } };
  assert.equal(seg.evaluate(minor, { asOf: AS_OF }), false);
  assert.equal(seg.outcome(minor, { asOf: AS_OF }), 'false');
  // A missing attribute is UNKNOWN (SPEC §6): `and` of TRUEs and an UNKNOWN is UNKNOWN; not a member.
  const noAge = { id: 'u3', attributes: { country: 'US', plan: 'pro', ltv: 900 } };
  assert.equal(seg.outcome(noAge, { asOf: AS_OF }), 'unknown');
  assert.equal(seg.evaluate(noAge, { asOf: AS_OF }), false);
  // ...but FALSE and UNKNOWN is FALSE.
  assert.equal(seg.outcome({ id: 'u4', attributes: { country: 'FR' } }, { asOf: AS_OF }), 'false');
});

test('only the read set crosses: unrelated fields are never looked at', () => {
  const seg = compile('age >= 18');
  const profile = {
    id: 'u1',
    attributes: {
      age: 20,
      get trap() {
        throw new Error('read an attribute the rule does not use');
      },
    },
  };
  assert.equal(seg.evaluate(profile, { asOf: AS_OF }), true);
});

test('segment metadata: id, version, rule, read set, hash', () => {
  const seg = Segment.fromYAML(
    'id: vip\nversion: 2.1.0\ntimezone: Europe/Berlin\ncurrency: EUR\nrule: "plan = \\"pro\\"   and count(purchase within 30d)>=2"\n',
  );
  assert.equal(seg.id, 'vip');
  assert.equal(seg.version, '2.1.0');
  assert.equal(seg.rule, 'plan = "pro" and count(purchase within 30d) >= 2');
  assert.deepEqual(seg.readSet, { attributes: ['plan'], events: ['purchase'], segments: [] });
  assert.match(seg.definitionHash, /^[0-9a-f]{64}$/);
  assert.equal(seg.definitionHash, createHash('sha256').update(seg.canonicalJson).digest('hex'));
  const def = seg.toJSON();
  assert.equal(def.id, 'vip');
  assert.equal(def.timezone, 'Europe/Berlin');
  // The same definition as an object and as JSON text has the same hash.
  assert.equal(Segment.fromObject(def).definitionHash, seg.definitionHash);
  assert.equal(Segment.fromJSON(JSON.stringify(def)).definitionHash, seg.definitionHash);
});

test('formatting does not change the hash; formatRule is canonical', () => {
  const a = compile('age>=18 and (plan="pro")');
  const b = compile('age >= 18 and plan = "pro"');
  assert.equal(a.definitionHash, b.definitionHash);
  assert.equal(formatRule('age>=18   and (plan="pro")'), 'age >= 18 and plan = "pro"');
});

// ----------------------------------------------------------------------------------------------
// Errors

function throwsSegment(fn, Cls, code) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, 'expected an error');
  assert.ok(caught instanceof Cls, `expected ${Cls.name}, got ${caught?.constructor?.name}: ${caught?.message}`);
  assert.ok(caught instanceof segcore.SegmentError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.code, code);
  assert.equal(caught.name, Cls.name);
  assert.ok(!caught.message.includes('\u0001'), 'the internal encoding must not leak');
  return caught;
}

test('ParseError has code, line and column', () => {
  const e = throwsSegment(() => compile('age >= 18 and\n  plan = '), segcore.ParseError, 'syntax_error');
  assert.equal(e.line, 2);
  assert.equal(e.column, 9);
  assert.ok(e.diagnostics.length >= 1);
  assert.equal(e.diagnostics[0].kind, 'syntax_error');
  assert.equal(e.diagnostics[0].severity, 'error');
});

test('TypeCheckError for a rule that does not type-check, with position', () => {
  const e = throwsSegment(() => compile('"5" = 5'), segcore.TypeCheckError, 'type_mismatch');
  assert.equal(e.line, 1);
  assert.equal(e.column, 1);
});

test('errors in a definition file point into the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'segcore-node-'));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'id: bad\nversion: 1.0.0\nrule: |\n  age >= 18 and\n  plan ==\n');
  const e = throwsSegment(() => Segment.load(file), segcore.ParseError, 'syntax_error');
  assert.equal(e.line, 2, 'line/column are in the rule text');
  assert.equal(e.column, 7, 'the second `=` of `plan ==`');
  assert.equal(e.fileLine, 5, 'fileLine/fileColumn are in the file');
  assert.equal(e.fileColumn, 9, 'two columns of block indentation');
  assert.ok(e.origin.endsWith('bad.yaml'));
});

test('DefinitionError for a bad document; EvaluationError for bad data', () => {
  throwsSegment(() => Segment.fromObject({ id: 'x', rule: 'age > 1' }), segcore.DefinitionError, 'invalid_definition');
  throwsSegment(() => Segment.fromYAML('id: [unclosed'), segcore.DefinitionError, 'invalid_definition');
  const seg = compile('age > 1');
  throwsSegment(() => seg.evaluate({ id: 'u', extra: 1 }, { asOf: AS_OF }), segcore.DataError, 'invalid_profile');
  throwsSegment(() => seg.evaluate({ attributes: {} }, { asOf: AS_OF }), segcore.DataError, 'invalid_profile');
  // An offset is required: a bare date or a local time is never guessed.
  throwsSegment(() => seg.evaluate(adult, { asOf: '2026-03-15' }), segcore.DataError, 'invalid_context');
  throwsSegment(() => seg.evaluate(adult, { asOf: '2026-03-15T12:00:00' }), segcore.DataError, 'invalid_context');
  const bad = { id: 'u', events: [{ name: 'purchase', at: 'yesterday' }] };
  throwsSegment(() => compile('count(purchase within 7d) > 0').evaluate(bad, { asOf: AS_OF }), segcore.DataError, 'invalid_profile');
});

test('money without a rate is an evaluation error, not a silent FALSE', () => {
  const seg = compile('sum(purchase.amount within 30d) > 100 USD');
  const p = { id: 'u', events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '80', currency: 'EUR' } } }] };
  throwsSegment(() => seg.evaluate(p, { asOf: AS_OF }), segcore.EvaluationError, 'fx_rate_missing');
  // 80 EUR × 1.5 = 120 USD > 100.
  assert.equal(seg.evaluate(p, { asOf: AS_OF, fx: { 'EUR/USD': '1.5' } }), true);
  // 80 EUR × 1.2 = 96 USD.
  assert.equal(seg.evaluate(p, { asOf: AS_OF, fx: { 'EUR/USD': '1.2' } }), false);
});

test('wrong argument types are TypeErrors with a clear message', () => {
  const seg = compile('age > 1');
  assert.throws(() => seg.evaluate(adult, { asOf: 1773576000000 }), { name: 'TypeError', message: /asOf must be a Date or an RFC 3339 string/ });
  assert.throws(() => seg.evaluate(adult, {}), { name: 'TypeError', message: /asOf is required/ });
  assert.throws(() => seg.evaluate(adult), TypeError);
  // An Invalid Date as asOf is a context error (hardening.test.mjs), not a TypeError.
  assert.throws(() => seg.evaluate(adult, { asOf: new Date('nope') }), { name: 'DataError', code: 'invalid_context' });
  assert.throws(() => seg.evaluate('u1', { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate(null, { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate([adult], { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { age: () => 1 } }, { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { age: Symbol('x') } }, { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { age: NaN } }, { asOf: AS_OF }), { name: 'TypeError', message: /not a finite number/ });
  assert.throws(() => seg.evaluate(adult, { asOf: AS_OF, segments: { vip: 'yes' } }), TypeError);
});

test('hostile inputs never crash the process', () => {
  const seg = compile('count(purchase within 7d) > 0 and age > 1');
  let deep = {};
  for (let i = 0; i < 10_000; i++) deep = { x: deep };
  const cyclic = { id: 'c' };
  cyclic.attributes = { self: cyclic };
  const inputs = [
    { id: 'u', attributes: { age: deep } },
    { id: 'u', attributes: { age: 10n ** 30n } },
    { id: 'u', events: 'nope' },
    { id: 'u', events: [null, 1, 'x'] },
    { id: 'u', events: [{ name: 'purchase', at: 5 }] },
    { id: 'u', events: [{ name: 'purchase', at: new Date(NaN) }] },
    { id: 'u', attributes: [] },
    { id: {}, attributes: {} },
    { id: 'u', unknown: deep },
    cyclic,
  ];
  for (const p of inputs) {
    try {
      seg.outcome(p, { asOf: AS_OF });
    } catch (e) {
      assert.ok(e instanceof TypeError || e instanceof segcore.SegmentError, `unexpected ${e?.constructor?.name}: ${e?.message}`);
    }
  }
  for (const rule of ['', '(((((', 'age >= 18 '.repeat(2000), '\u0000', 'a'.repeat(100_000), '"\\u{110000}"']) {
    try {
      compile(rule);
    } catch (e) {
      assert.ok(e instanceof segcore.SegmentError, `unexpected ${e?.constructor?.name}: ${e?.message}`);
    }
  }
});

// ----------------------------------------------------------------------------------------------
// Time

test('asOf: a Date and the same instant as a string in any offset agree', () => {
  const seg = compile('count(login within 7d) >= 1');
  // The window is [asOf - 7d, asOf], both bounds inclusive (SPEC §9): an event exactly 7 days
  // before asOf is inside, one millisecond earlier is outside.
  const edge = { id: 'u', events: [{ name: 'login', at: '2026-03-08T12:00:00Z' }] };
  const outside = { id: 'u', events: [{ name: 'login', at: '2026-03-08T11:59:59.999Z' }] };
  for (const asOf of [AS_OF, new Date(Date.UTC(2026, 2, 15, 12)), '2026-03-15T13:00:00+01:00', '2026-03-15T07:00:00-05:00']) {
    assert.equal(seg.evaluate(edge, { asOf }), true, `edge at ${asOf}`);
    assert.equal(seg.evaluate(outside, { asOf }), false, `outside at ${asOf}`);
  }
  // Event times may be Dates too.
  const asDate = { id: 'u', events: [{ name: 'login', at: new Date(Date.UTC(2026, 2, 8, 11, 59, 59, 999)) }] };
  assert.equal(seg.evaluate(asDate, { asOf: AS_OF }), false);
  asDate.events[0].at = new Date(Date.UTC(2026, 2, 8, 12));
  assert.equal(seg.evaluate(asDate, { asOf: AS_OF }), true);
  assert.equal(new Context({ asOf: new Date(Date.UTC(2026, 2, 15, 12)) }).asOf, '2026-03-15T12:00:00Z');
});

test('calendar functions use the segment time zone, not the host one', () => {
  // 2026-03-15T03:00Z is still Saturday March 14, 23:00 in New York (UTC-4 since the DST switch
  // on March 8); in UTC it is Sunday (ISO day 7), 03:00.
  const ny = Segment.fromYAML('id: ny\nversion: 1.0.0\ntimezone: America/New_York\nrule: day_of_week(signup_at) = 6 and hour(signup_at) = 23');
  const p = { id: 'u', attributes: { signup_at: '2026-03-15T03:00:00Z' } };
  assert.equal(ny.evaluate(p, { asOf: AS_OF }), true);
  const utc = compile('day_of_week(signup_at) = 7 and hour(signup_at) = 3');
  assert.equal(utc.evaluate(p, { asOf: AS_OF }), true);
});

test('resolveLocalTime resolves wall times as the evaluator does', () => {
  // New York skips 02:00-03:00 on 2026-03-08: 02:30 moves forward to 03:30 EDT (UTC-4) = 07:30Z.
  assert.deepEqual(segcore.resolveLocalTime('2026-03-08T02:30', 'America/New_York'), {
    instant: '2026-03-08T07:30:00Z',
    offsetSeconds: -14400,
    resolution: 'gap',
  });
  // 01:30 on 2026-11-01 happens twice there; the earlier one is EDT = 05:30Z.
  assert.equal(segcore.resolveLocalTime('2026-11-01T01:30', 'America/New_York').instant, '2026-11-01T05:30:00Z');
  assert.equal(segcore.resolveLocalTime('2026-11-01T01:30', 'America/New_York').resolution, 'overlap');
  // Berlin is UTC+1 in mid-March 2026.
  assert.deepEqual(segcore.resolveLocalTime('2026-03-15T13:00:00', 'Europe/Berlin'), {
    instant: '2026-03-15T12:00:00Z',
    offsetSeconds: 3600,
    resolution: 'exact',
  });
  assert.throws(() => segcore.resolveLocalTime('2026-03-15T12:00', 'Mars/Olympus'), TypeError);
  assert.throws(() => segcore.resolveLocalTime('noon', 'UTC'), TypeError);
});

test('the asOf cache never serves a stale context', () => {
  const seg = compile('count(login within 1d) >= 1');
  const p = { id: 'u', events: [{ name: 'login', at: '2026-03-15T00:00:00Z' }] };
  const d = new Date('2026-03-15T12:00:00Z');
  assert.equal(seg.evaluate(p, { asOf: d }), true);
  d.setTime(Date.parse('2026-03-17T12:00:00Z')); // same Date object, new instant
  assert.equal(seg.evaluate(p, { asOf: d }), false);
  const money = compile('sum(purchase.amount within 30d) > 100 USD');
  const mp = { id: 'u', events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '80', currency: 'EUR' } } }] };
  const opts = { asOf: AS_OF, fx: { 'EUR/USD': '1.5' } };
  assert.equal(money.evaluate(mp, opts), true);
  opts.fx['EUR/USD'] = '1.2';
  assert.equal(money.evaluate(mp, opts), false);
});

// ----------------------------------------------------------------------------------------------
// Profiles

test('a Profile handle gives the same answers as the plain object', () => {
  const seg = compile('plan = "pro" and count(purchase within 30d) >= 2');
  const data = {
    id: 42,
    attributes: { plan: 'pro' },
    events: [
      { name: 'purchase', at: '2026-03-01T00:00:00Z' },
      { name: 'login', at: '2026-03-02T00:00:00Z' },
      { name: 'purchase', at: '2026-03-14T00:00:00Z' },
    ],
  };
  const h = new Profile(data);
  assert.equal(h.id, '42');
  assert.equal(h.eventCount, 3);
  assert.equal(seg.evaluate(h, { asOf: AS_OF }), true);
  assert.equal(seg.evaluate(data, { asOf: AS_OF }), true);
  assert.equal(seg.evaluate(h, { asOf: '2026-04-01T00:00:00Z' }), false);
  assert.throws(() => new Profile({ id: 'x', bogus: 1 }), segcore.DataError);
  assert.ok(new segcore.DataError('x') instanceof segcore.EvaluationError, 'DataError is an EvaluationError');
});

test('integers beyond 2^53: BigInt in objects, exact in Profile.fromJSON', () => {
  const seg = compile('n = 9007199254740993');
  assert.equal(seg.evaluate({ id: 'u', attributes: { n: 9007199254740993n } }, { asOf: AS_OF }), true);
  assert.equal(seg.evaluate(Profile.fromJSON('{"id":"u","attributes":{"n":9007199254740993}}'), { asOf: AS_OF }), true);
  // As a JS number it is already 9007199254740992: refused rather than silently unequal.
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { n: 9007199254740993 } }, { asOf: AS_OF }), (e) => e instanceof TypeError && /BigInt/.test(e.message));
});

// ----------------------------------------------------------------------------------------------
// Explanations

test('explain gives the tree with every sub-expression value', () => {
  const seg = compile('age >= 18 and plan = "pro"');
  const ex = seg.explain({ id: 'u', attributes: { age: 30, plan: 'free' } }, { asOf: AS_OF });
  assert.ok(ex instanceof Explanation);
  assert.equal(ex.outcome, 'false');
  assert.equal(ex.member, false);
  assert.equal(ex.segment, 'rule');
  assert.equal(ex.trace.value, false);
  assert.deepEqual(ex.trace.children.map((c) => [c.expr, c.value]), [['age >= 18', true], ['plan = "pro"', false]]);
  assert.match(String(ex), /plan = "pro"  →  FALSE/);
  assert.equal(JSON.parse(JSON.stringify(ex)).trace.expr, 'age >= 18 and plan = "pro"');
  assert.match(ex.toHTML(), /<details/);
  const unknown = seg.explain({ id: 'u', attributes: { plan: 'pro' } }, { asOf: AS_OF });
  assert.equal(unknown.outcome, 'unknown');
  assert.ok(unknown.unknownInputs.some((u) => u.path.includes('age')));
});

// ----------------------------------------------------------------------------------------------
// Registries

test('Registry.load over the demo segments, with the schema', () => {
  const reg = Registry.load(DEMO, { schema: DEMO_SCHEMA });
  assert.equal(reg.size, 11);
  assert.deepEqual(reg.ids, [...reg.ids].sort());
  assert.ok(reg.has('high_value') && !reg.has('nope'));
  assert.equal(reg.get('nope'), undefined);
  const info = reg.segments();
  for (const s of info) {
    assert.equal(s.definitionHash, Segment.load(path.join(DEMO, `${s.id}.yaml`)).definitionHash);
  }
  const profile = {
    id: 'u1',
    attributes: { age: 40, country: 'GB', plan: 'pro', ltv: 800, signup_at: '2026-03-13T12:00:00Z', consent: { marketing: true, updated_at: '2026-01-01T00:00:00Z' } },
    events: [
      { name: 'purchase', at: '2026-03-01T00:00:00Z', properties: { amount: { amount: '300', currency: 'USD' } } },
      { name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '250', currency: 'USD' } } },
      { name: 'login', at: '2026-03-14T00:00:00Z' },
      { name: 'login', at: '2026-03-15T00:00:00Z' },
    ],
  };
  const all = reg.evaluate(profile, { asOf: AS_OF });
  // Worked out by hand: adult pro GB with ltv 800 (r1); 2 purchases in 90d in GB (r2); 550 USD in
  // 90d (high_value); consent true and updated within 365d; campaign = high_value and consent;
  // signed up 2 days ago (new_users), hence not returning_users.
  for (const id of ['r1_pro_adults', 'r2_repeat_buyers', 'high_value', 'marketing_consent', 'campaign_audience', 'new_users']) {
    assert.equal(all[id], true, id);
  }
  assert.equal(all.returning_users, false);
  // churn_score is missing (UNKNOWN) but logins within 14d make `not exists(...)` FALSE: FALSE.
  assert.equal(reg.outcomes(profile, { asOf: AS_OF }).churn_risk, 'false');
  // lookalike reads `embedding`, which is missing: UNKNOWN, not a member.
  assert.equal(reg.outcomes(profile, { asOf: AS_OF }).lookalike, 'unknown');
  assert.equal(all.lookalike, false);
  assert.deepEqual(reg.members(profile, { asOf: AS_OF }), Object.keys(all).filter((k) => all[k]).sort());
  assert.equal(reg.evaluateOne('campaign_audience', profile, { asOf: AS_OF }), 'true');
  assert.equal(reg.explain('high_value', profile, { asOf: AS_OF }).member, true);
  assert.throws(() => reg.evaluateOne('nope', profile, { asOf: AS_OF }), segcore.SegmentError);
});

test('Registry.fromDefinitions resolves references and rejects cycles', () => {
  const reg = Registry.fromDefinitions([
    { id: 'us_adult', version: '1.0.0', rule: 'in_segment("adult") and country = "US"' },
    'id: adult\nversion: 1.0.0\nrule: age >= 18',
  ]);
  assert.deepEqual(reg.ids, ['adult', 'us_adult']);
  assert.deepEqual(reg.evaluate(adult, { asOf: AS_OF }), { adult: true, us_adult: true });
  const e = throwsSegment(
    () =>
      Registry.fromDefinitions([
        { id: 'a', version: '1.0.0', rule: 'in_segment("b")' },
        { id: 'b', version: '1.0.0', rule: 'in_segment("a")' },
      ]),
    segcore.TypeCheckError,
    'segment_cycle',
  );
  // The message names both segments of the cycle, as words (not just letters of other words).
  assert.match(e.message, /\ba\b/);
  assert.match(e.message, /\bb\b/);
  // A single segment with a reference takes the referenced result as an option.
  const single = compile('in_segment("vip") and age > 1');
  assert.equal(single.evaluate(adult, { asOf: AS_OF, segments: { vip: true } }), true);
  assert.equal(single.evaluate(adult, { asOf: AS_OF, segments: { vip: false } }), false);
});

test('check returns diagnostics for paths and definitions', () => {
  assert.deepEqual(check(DEMO, { schema: DEMO_SCHEMA }), []);
  const diags = check(['id: a\nversion: 1.0.0\nrule: age >= 1 and "5" = 5', { id: 'b', version: '1.0.0', rule: 'plan = ' }]);
  assert.deepEqual(diags.map((d) => d.kind).sort(), ['syntax_error', 'type_mismatch']);
  for (const d of diags) assert.equal(typeof d.line, 'number');
  const typed = check([{ id: 'c', version: '1.0.0', rule: 'agee > 1' }], { schema: DEMO_SCHEMA });
  assert.equal(typed[0].kind, 'unknown_field');
  assert.throws(() => check(42), TypeError);
});

// ----------------------------------------------------------------------------------------------
// evaluateMany

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function generate(n, seed) {
  const r = rng(seed);
  const countries = ['US', 'CA', 'GB', 'FR', 'DE'];
  const plans = ['pro', 'free', 'team'];
  const base = Date.parse(AS_OF);
  const out = [];
  for (let i = 0; i < n; i++) {
    const attributes = {};
    if (r() > 0.05) attributes.age = Math.floor(r() * 70);
    attributes.country = countries[Math.floor(r() * countries.length)];
    attributes.plan = plans[Math.floor(r() * plans.length)];
    attributes.ltv = Math.floor(r() * 1500);
    attributes.churn_score = r();
    attributes.signup_at = new Date(base - r() * 30 * 86400e3).toISOString();
    attributes.app_version = `${Math.floor(r() * 4)}.${Math.floor(r() * 6)}.0`;
    const events = [];
    const ne = Math.floor(r() * 12);
    for (let k = 0; k < ne; k++) {
      const name = ['purchase', 'login', 'page_view'][Math.floor(r() * 3)];
      const e = { name, at: new Date(base - r() * 120 * 86400e3).toISOString() };
      if (name === 'purchase') e.properties = { amount: { amount: String(Math.floor(r() * 400)), currency: 'USD' } };
      events.push(e);
    }
    out.push({ id: `p${i}`, attributes, events });
  }
  return out;
}

test('evaluateMany matches evaluate, for a segment and a registry', async () => {
  const profiles = generate(3000, 7);
  const seg = Segment.load(path.join(DEMO, 'r2_repeat_buyers.yaml'));
  const pending = seg.evaluateMany(profiles, { asOf: AS_OF });
  assert.ok(pending instanceof Promise);
  const many = await pending;
  const one = profiles.map((p) => seg.evaluate(p, { asOf: AS_OF }));
  assert.deepEqual(many, one);
  assert.ok(one.some(Boolean) && one.some((m) => !m), 'the data must exercise both answers');
  const outcomes = await seg.outcomesMany(profiles, { asOf: AS_OF });
  assert.deepEqual(outcomes, profiles.map((p) => seg.outcome(p, { asOf: AS_OF })));

  const reg = Registry.load(DEMO);
  const rows = await reg.evaluateMany(profiles.slice(0, 1000), new Context({ asOf: AS_OF }));
  assert.deepEqual(rows, profiles.slice(0, 1000).map((p) => reg.evaluate(p, { asOf: AS_OF })));
  // Handles and objects mix.
  const mixed = await seg.evaluateMany([new Profile(profiles[0]), profiles[1]], { asOf: AS_OF });
  assert.deepEqual(mixed, [one[0], one[1]]);
});

test('evaluateMany rejects with the error class; the event loop stays free', async () => {
  const seg = compile('sum(purchase.amount within 30d) > 1 USD');
  const p = { id: 'u', events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '1', currency: 'EUR' } } }] };
  await assert.rejects(seg.evaluateMany([p], { asOf: AS_OF }), (e) => e instanceof segcore.EvaluationError && e.code === 'fx_rate_missing');
  await assert.rejects(seg.evaluateMany('x', { asOf: AS_OF }), TypeError);
  // The batch runs on the thread pool: the promise is pending after the call, and the event loop
  // runs an immediate callback before the (tens of milliseconds of) work is done.
  const profiles = generate(20000, 3);
  const reg = Registry.load(DEMO);
  let turned = false;
  let settled = false;
  const pending = reg.evaluateMany(profiles, { asOf: AS_OF }).then((r) => {
    settled = true;
    return r;
  });
  setImmediate(() => {
    turned = true;
  });
  await Promise.resolve();
  assert.equal(settled, false, 'evaluateMany must not finish synchronously');
  const rows = await pending;
  assert.equal(turned, true, 'the event loop must turn while the batch runs');
  assert.equal(rows.length, 20000);
});

// ----------------------------------------------------------------------------------------------
// Hash identity with the Rust CLI

function cliBinary() {
  const found = ['release', 'debug']
    .map((p) => path.join(REPO, 'target', p, 'segcore'))
    .filter((p) => existsSync(p));
  if (found.length === 0) return null;
  return found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

test('definition hash and canonical JSON are identical to `segcore hash`', () => {
  const cli = cliBinary();
  assert.ok(cli, 'the segcore CLI is not built (target/release/segcore); build it first (the README test command does)');
  const dir = mkdtempSync(path.join(tmpdir(), 'segcore-node-'));
  const file = path.join(dir, 'vip_eu.yaml');
  writeFileSync(
    file,
    'id: vip_eu\nversion: 1.2.0\nname: VIP in the EU\ntimezone: Europe/Berlin\ncurrency: EUR\ntags: [vip, eu]\nrule: |\n  country in ["DE", "FR"]\n  and sum(purchase.amount within 90d) >= 1000 EUR\n',
  );
  const seg = Segment.load(file);
  const [hash, label] = execFileSync(cli, ['hash', file], { encoding: 'utf8' }).split('\n')[0].split(/\s+/);
  assert.equal(hash, seg.definitionHash);
  assert.equal(label, 'vip_eu@1.2.0');
  const canonical = execFileSync(cli, ['hash', '--canonical', file], { encoding: 'utf8' }).split('\n')[0];
  assert.equal(canonical, seg.canonicalJson);
  for (const f of ['high_value.yaml', 'marketing_consent.yaml', 'lookalike.yaml']) {
    const h = execFileSync(cli, ['hash', path.join(DEMO, f)], { encoding: 'utf8' }).split(/\s+/)[0];
    assert.equal(h, Segment.load(path.join(DEMO, f)).definitionHash, f);
  }
});

test('exports', () => {
  assert.equal(typeof segcore.version, 'string');
  assert.equal(segcore.languageVersion, '0.1');
  assert.throws(() => new Segment({}), TypeError);
  assert.throws(() => new Registry({}), TypeError);
});

test('toSql: the same query the Python wheel and the CLI generate, with typed columns and errors', () => {
  const schema = { attributes: { age: 'int', tags: 'list<string>' }, events: { purchase: { amount: 'money' } } };
  const reg = segcore.Registry.fromDefinitions(
    [
      { id: 'adults', version: '1.0.0', rule: 'age >= 18' },
      { id: 'spenders', version: '1.0.0', rule: 'in_segment("adults") and sum(purchase.amount) > 10 USD' },
    ],
    { schema },
  );
  const q = reg.toSql('postgres', { asOf: new Date('2026-03-15T00:00:00Z'), fx: { 'EUR/USD': '1.08' }, eventsTable: 'raw.events' });
  assert.equal(q.dialect, 'postgres');
  assert.deepEqual(q.profileColumns, [
    { name: 'id', type: 'string', sqlType: 'text' },
    { name: 'age', type: 'int', sqlType: 'bigint' },
  ]);
  assert.deepEqual(q.eventColumns.map((c) => c.name), ['entity_id', 'seq', 'name', 'at', 'amount_amount', 'amount_currency']);
  assert.ok(q.sql.includes('FROM raw.events AS e'), q.sql);
  assert.ok(q.sql.includes(" * 1.08"), 'the FX quote is in the query');
  assert.ok(q.sql.includes("TIMESTAMPTZ '2026-03-15 00:00:00+00' AS as_of"));
  assert.ok(q.ddl.startsWith('CREATE TABLE profiles ('));
  assert.ok(q.sql.indexOf('"seg_adults" AS (') < q.sql.indexOf('"seg_spenders" AS ('));

  const tagged = segcore.Segment.fromObject({ id: 't', version: '1.0.0', rule: 'age > 1 and tags[0] = "x"' }, { schema });
  assert.throws(
    () => tagged.toSql('bigquery', { asOf: '2026-03-15T00:00:00Z' }),
    (e) => e instanceof segcore.TypeCheckError && e.code === 'sql_unsupported' && e.line === 1 && e.column === 13
      && /cannot be expressed exactly in bigquery SQL/.test(e.message),
  );
  assert.throws(() => tagged.toSql('oracle', { asOf: '2026-03-15T00:00:00Z' }), /unknown SQL dialect/);
  assert.throws(() => tagged.toSql('duckdb', {}), /asOf is required/);
});

test('nextChange and timeline (SPEC §22): shapes, horizon, references and bad options', () => {
  const p = { id: 'u1', events: [{ name: 'purchase', at: '2026-03-01T10:00:00Z' }] };
  const seg = compile('exists(purchase within 30d)', { id: 'recent' });
  // at + 30d is inside (inclusive): the purchase leaves 1 µs later, a string keeps the µs.
  assert.deepEqual(seg.nextChange(p, { asOf: new Date('2026-03-15T00:00:00Z') }), {
    at: '2026-03-31T10:00:00.000001Z',
    previous: 'true',
    outcome: 'false',
    member: false,
    transition: 'exited',
    cause: 'window',
    causeSegment: null,
    causeEvent: 'purchase',
    causeEventAt: '2026-03-01T10:00:00Z',
  });
  const dayBefore = { asOf: '2026-03-30T10:00:00.000001Z' };
  assert.equal(seg.nextChange(new Profile(p), { ...dayBefore, horizon: '1d' }).at, '2026-03-31T10:00:00.000001Z');
  assert.equal(seg.nextChange(p, { ...dayBefore, horizon: '23h' }), null);
  const t = seg.timeline(p, { from: '2026-02-01T00:00:00Z', to: new Date('2026-05-01T00:00:00Z') });
  assert.equal(t.segment, 'recent');
  assert.equal(t.outcome, 'false');
  assert.deepEqual(t.changes.map((c) => [c.at, c.transition, c.cause]), [
    ['2026-03-01T10:00:00Z', 'entered', 'event'],
    ['2026-03-31T10:00:00.000001Z', 'exited', 'window'],
  ]);
  assert.deepEqual(t.intervals, [{ from: '2026-03-01T10:00:00Z', to: '2026-03-31T10:00:00.000001Z' }]);

  const reg = Registry.fromDefinitions([
    { id: 'recent', version: '1.0.0', rule: 'exists(purchase within 30d)' },
    { id: 'vip', version: '1.0.0', rule: 'in_segment("recent")' },
  ]);
  const c = reg.nextChange('vip', p, { asOf: '2026-03-15T00:00:00Z' });
  assert.deepEqual([c.cause, c.causeSegment], ['reference', 'recent']);
  assert.throws(
    () => reg.get('vip').nextChange(p, { asOf: '2026-03-15T00:00:00Z', segments: { recent: true } }),
    (e) => e instanceof segcore.TypeCheckError && e.code === 'next_change_unsupported',
  );

  for (const horizon of ['0d', '36601d', 'ninety days']) {
    assert.throws(
      () => seg.nextChange(p, { asOf: '2026-03-15T00:00:00Z', horizon }),
      (e) => e instanceof segcore.DataError && e.code === 'invalid_context',
      horizon,
    );
  }
  assert.throws(() => seg.nextChange(p, { asOf: '2026-03-15T00:00:00Z', horizon: 90 }), TypeError);
  assert.throws(
    () => seg.timeline(p, { from: '2026-03-10T00:00:00Z', to: '2026-03-01T00:00:00Z' }),
    (e) => e.code === 'invalid_context',
  );
  assert.throws(() => seg.timeline(p, { from: '2026-03-10T00:00:00Z', to: 5 }), TypeError);
  assert.throws(() => seg.timeline(p, null), TypeError);
});
