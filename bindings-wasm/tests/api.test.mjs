// API tests of the WASM build (in Node): the tape that carries profiles across (strings of every
// kind, growth of the scratch buffer, nested values, Dates, BigInts), errors and their fields, the
// absence of a filesystem, registries, batches, and a differential test against the Node (napi)
// binding: same definitions and profiles must give the same outcomes, hashes and explanations.
// Expected values are worked out from SPEC.md by hand, never taken from the binding's output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import * as segcore from '../js/node.mjs';
import { REPO } from './browser.mjs';

const { compile, Segment, Registry, Profile, Context, Explanation, check } = segcore;

const DEMO = path.join(REPO, 'cli', 'src', 'demo');
const DEMO_SCHEMA = readFileSync(path.join(REPO, 'cli', 'src', 'demo_schema.yaml'), 'utf8');
const DEMO_TEXTS = readdirSync(DEMO)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(path.join(DEMO, f), 'utf8'));
const AS_OF = '2026-03-15T12:00:00Z';
const R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500';
const adult = { id: 'u1', attributes: { age: 30, country: 'US', plan: 'pro', ltv: 900 } };

function throwsSegment(fn, Cls, code) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Cls, `expected ${Cls.name}, got ${caught?.constructor?.name}: ${caught?.message}`);
  assert.ok(caught instanceof segcore.SegmentError && caught instanceof Error);
  assert.equal(caught.code, code);
  assert.equal(caught.name, Cls.name);
  assert.ok(!caught.message.includes('\u0001'), 'the internal encoding must not leak');
  return caught;
}

test('evaluate, outcome and three-valued logic', () => {
  const seg = compile(R1);
  assert.equal(seg.evaluate(adult, { asOf: AS_OF }), true);
  assert.equal(seg.outcome({ id: 'u2', attributes: { ...adult.attributes, age: 17 } }, { asOf: AS_OF }), 'false');
  // A missing attribute is UNKNOWN (SPEC §6); FALSE and UNKNOWN is FALSE.
  assert.equal(seg.outcome({ id: 'u3', attributes: { country: 'US', plan: 'pro', ltv: 900 } }, { asOf: AS_OF }), 'unknown');
  assert.equal(seg.outcome({ id: 'u4', attributes: { country: 'FR' } }, { asOf: AS_OF }), 'false');
});

test('the tape carries every kind of string exactly', () => {
  const seg = compile('name = "Zoë 🎉 日本" and length(name) = 8 and lower(city) = "münchen"');
  assert.equal(seg.evaluate({ id: 'u', attributes: { name: 'Zoë 🎉 日本', city: 'MÜNCHEN' } }, { asOf: AS_OF }), true);
  assert.equal(seg.evaluate({ id: 'u', attributes: { name: 'Zoe 🎉 日本', city: 'MÜNCHEN' } }, { asOf: AS_OF }), false);
  // Longer than the hand-copied ASCII path, and non-ASCII after it.
  const long = 'x'.repeat(70) + 'é';
  assert.equal(compile(`length(s) = 71 and s ends_with "xé"`).evaluate({ id: 'u', attributes: { s: long } }, { asOf: AS_OF }), true);
  // Larger than the initial 64 KiB scratch buffer: the tape grows and keeps what it wrote.
  const big = 'ab'.repeat(200_000);
  const grow = compile('length(bio) = 400000 and plan = "pro"');
  assert.equal(grow.evaluate({ id: 'u', attributes: { bio: big, plan: 'pro' } }, { asOf: AS_OF }), true);
  assert.equal(grow.evaluate({ id: 'u', attributes: { bio: big, plan: 'free' } }, { asOf: AS_OF }), false);
  // Lone surrogates are not text: they become U+FFFD (as TextEncoder does), never a crash.
  assert.equal(compile('s = "\uFFFD"').evaluate({ id: 'u', attributes: { s: '\uD800' } }, { asOf: AS_OF }), true);
});

test('numbers, Dates, BigInts and nested values cross as the Node binding reads them', () => {
  assert.equal(compile('n = 3 and f > 2.5').evaluate({ id: 'u', attributes: { n: 3, f: 2.75 } }, { asOf: AS_OF }), true);
  assert.equal(compile('n = 9007199254740993').evaluate({ id: 'u', attributes: { n: 9007199254740993n } }, { asOf: AS_OF }), true);
  // As a JS number it is already 9007199254740992: refused rather than silently unequal.
  assert.throws(() => compile('n = 9007199254740993').evaluate({ id: 'u', attributes: { n: 9007199254740993 } }, { asOf: AS_OF }), (e) => e instanceof TypeError && /BigInt/.test(e.message));
  // A Date attribute is its instant.
  const signup = compile('days_since(signup_at) = 2');
  assert.equal(signup.evaluate({ id: 'u', attributes: { signup_at: new Date('2026-03-13T12:00:00Z') } }, { asOf: AS_OF }), true);
  // Nested objects and arrays: a path and a list.
  const nested = compile('consent.marketing = true and "b" in tags');
  const p = { id: 7, attributes: { consent: { marketing: true, note: undefined }, tags: ['a', 'b'] } };
  assert.equal(nested.evaluate(p, { asOf: AS_OF }), true);
  assert.equal(nested.evaluate(new Profile(p), { asOf: AS_OF }), true);
  // Money objects in event properties.
  const money = compile('sum(purchase.amount within 30d) >= 100 USD');
  const mp = { id: 'u', events: [{ name: 'purchase', at: new Date('2026-03-10T00:00:00Z'), properties: { amount: { amount: '100.00', currency: 'USD' } } }] };
  assert.equal(money.evaluate(mp, { asOf: AS_OF }), true);
});

test('errors have classes, codes and positions; wrong types are TypeErrors', () => {
  const e = throwsSegment(() => compile('age >= 18 and\n  plan = '), segcore.ParseError, 'syntax_error');
  assert.deepEqual([e.line, e.column], [2, 9]);
  assert.equal(e.diagnostics[0].severity, 'error');
  const t = throwsSegment(() => compile('"5" = 5'), segcore.TypeCheckError, 'type_mismatch');
  assert.deepEqual([t.line, t.column], [1, 1]);
  throwsSegment(() => Segment.fromObject({ id: 'x', rule: 'age > 1' }), segcore.DefinitionError, 'invalid_definition');
  const seg = compile('age > 1');
  throwsSegment(() => seg.evaluate({ id: 'u', extra: 1 }, { asOf: AS_OF }), segcore.DataError, 'invalid_profile');
  throwsSegment(() => seg.evaluate(adult, { asOf: '2026-03-15T12:00:00' }), segcore.DataError, 'invalid_context');
  const bad = { id: 'u', events: [{ name: 'purchase', at: 'yesterday' }] };
  const ev = throwsSegment(() => compile('count(purchase within 7d) > 0').evaluate(bad, { asOf: AS_OF }), segcore.DataError, 'invalid_profile');
  assert.match(ev.message, /event 0/);
  assert.throws(() => seg.evaluate(adult, { asOf: 1773576000000 }), { name: 'TypeError', message: /asOf must be a Date or an RFC 3339 string/ });
  assert.throws(() => seg.evaluate(adult, {}), { name: 'TypeError', message: /asOf is required/ });
  // An Invalid Date as asOf is a context error (hardening.test.mjs), not a TypeError.
  assert.throws(() => seg.evaluate(adult, { asOf: new Date('nope') }), { name: 'DataError', code: 'invalid_context' });
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { age: NaN } }, { asOf: AS_OF }), { name: 'TypeError', message: /not a finite number/ });
  assert.throws(() => seg.evaluate({ id: 'u', attributes: { age: () => 1 } }, { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate(null, { asOf: AS_OF }), TypeError);
  assert.throws(() => seg.evaluate(adult, { asOf: AS_OF, segments: { vip: 'yes' } }), TypeError);
});

test('hostile inputs never break the module', () => {
  const seg = compile('count(purchase within 7d) > 0 and age > 1');
  let deep = {};
  for (let i = 0; i < 10_000; i++) deep = { x: deep };
  const cyclic = { id: 'c' };
  cyclic.attributes = { age: cyclic };
  const inputs = [
    { id: 'u', attributes: { age: deep } },
    { id: 'u', attributes: { age: 10n ** 30n } },
    { id: 'u', events: 'nope' },
    { id: 'u', events: [null, 1, 'x'] },
    { id: 'u', events: [{ name: 'purchase', at: 5 }] },
    { id: 'u', events: [{ name: 'purchase', at: new Date(NaN) }] },
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
  for (const rule of ['', '(((((', 'age >= 18 '.repeat(2000), '\u0000', 'a'.repeat(100_000)]) {
    try {
      compile(rule);
    } catch (e) {
      assert.ok(e instanceof segcore.SegmentError, `unexpected ${e?.constructor?.name}: ${e?.message}`);
    }
  }
  // Still healthy afterwards.
  assert.equal(compile(R1).evaluate(adult, { asOf: AS_OF }), true);
});

test('there is no filesystem: load says what to do instead; check takes definitions', () => {
  assert.throws(() => Segment.load('x.yaml'), { name: 'TypeError', message: /fromYAML/ });
  assert.throws(() => Registry.load('segments/'), { name: 'TypeError', message: /fromDefinitions/ });
  assert.throws(() => check('segments/'), TypeError);
  assert.deepEqual(check(DEMO_TEXTS, { schema: DEMO_SCHEMA }), []);
  const diags = check(['id: a\nversion: 1.0.0\nrule: age >= 1 and "5" = 5', { id: 'b', version: '1.0.0', rule: 'plan = ' }]);
  assert.deepEqual(diags.map((d) => d.kind).sort(), ['syntax_error', 'type_mismatch']);
  assert.equal(check([{ id: 'c', version: '1.0.0', rule: 'agee > 1' }], { schema: DEMO_SCHEMA })[0].kind, 'unknown_field');
});

test('a registry over the demo segments', () => {
  const reg = Registry.fromDefinitions(DEMO_TEXTS, { schema: DEMO_SCHEMA });
  assert.equal(reg.size, 11);
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
  // Worked out by hand (see the Node binding's test of the same profile).
  const all = reg.evaluate(profile, { asOf: AS_OF });
  for (const id of ['r1_pro_adults', 'r2_repeat_buyers', 'high_value', 'marketing_consent', 'campaign_audience', 'new_users']) {
    assert.equal(all[id], true, id);
  }
  assert.equal(all.returning_users, false);
  assert.equal(reg.outcomes(profile, { asOf: AS_OF }).lookalike, 'unknown');
  assert.deepEqual(reg.members(new Profile(profile), { asOf: AS_OF }), Object.keys(all).filter((k) => all[k]).sort());
  assert.equal(reg.evaluateOne('campaign_audience', profile, { asOf: AS_OF }), 'true');
  const ex = reg.explain('high_value', profile, { asOf: AS_OF });
  assert.ok(ex instanceof Explanation && ex.member);
  assert.equal(reg.get('high_value').id, 'high_value');
  assert.equal(reg.get('nope'), undefined);
});

// ----------------------------------------------------------------------------------------------
// WASM and the Node binding agree

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function generate(n, seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const base = Date.parse(AS_OF);
  const out = [];
  for (let i = 0; i < n; i++) {
    const attributes = {};
    if (r() > 0.05) attributes.age = Math.floor(r() * 70);
    attributes.country = pick(['US', 'CA', 'GB', 'FR', 'DE']);
    attributes.plan = pick(['pro', 'free', 'team']);
    attributes.ltv = r() > 0.5 ? Math.floor(r() * 1500) : r() * 1500;
    if (r() > 0.1) attributes.churn_score = r();
    attributes.signup_at = new Date(base - r() * 30 * 86400e3).toISOString();
    attributes.app_version = `${Math.floor(r() * 4)}.${Math.floor(r() * 6)}.0`;
    if (r() > 0.3) attributes.consent = { marketing: r() > 0.5, updated_at: new Date(base - r() * 400 * 86400e3) };
    if (r() > 0.5) attributes.embedding = [r(), r(), r(), r()];
    const events = [];
    const ne = Math.floor(r() * 12);
    for (let k = 0; k < ne; k++) {
      const name = pick(['purchase', 'login', 'page_view']);
      const at = new Date(base - r() * 120 * 86400e3);
      const e = { name, at: r() > 0.5 ? at : at.toISOString() };
      if (name === 'purchase') e.properties = { amount: { amount: String(Math.floor(r() * 400)), currency: pick(['USD', 'EUR']) } };
      events.push(e);
    }
    out.push({ id: r() > 0.5 ? `p${i}` : i, attributes, events });
  }
  return out;
}

function nodeBinding() {
  const file = path.join(REPO, 'bindings-node', 'segcore.node');
  assert.ok(existsSync(file), 'the Node binding is not built (scripts/build-node.sh); the README test command builds it');
  return createRequire(import.meta.url)('../../bindings-node/index.js');
}

test('the WASM build and the Node binding give identical answers', async () => {
  const native = nodeBinding();
  const profiles = generate(3000, 11);
  const options = { asOf: AS_OF, fx: { 'EUR/USD': '1.08' } };
  const wasmReg = Registry.fromDefinitions(DEMO_TEXTS, { schema: DEMO_SCHEMA });
  const nodeReg = native.Registry.fromDefinitions(DEMO_TEXTS, { schema: DEMO_SCHEMA });
  assert.deepEqual(wasmReg.segments(), nodeReg.segments(), 'ids, versions and definition hashes');
  let members = 0;
  let unknown = 0;
  for (const p of profiles) {
    const w = wasmReg.outcomes(p, options);
    assert.deepEqual(w, nodeReg.outcomes(p, options), `profile ${p.id}`);
    members += Object.values(w).filter((o) => o === 'true').length;
    unknown += Object.values(w).filter((o) => o === 'unknown').length;
  }
  assert.ok(members > 1000 && unknown > 100, `the data must exercise every outcome (${members} members, ${unknown} unknown)`);
  // Handles, explanations and batches too.
  for (const p of profiles.slice(0, 200)) {
    assert.deepEqual(wasmReg.outcomes(new Profile(p), options), nodeReg.outcomes(new native.Profile(p), options));
    assert.deepEqual(wasmReg.explain('high_value', p, options).toJSON(), nodeReg.explain('high_value', p, options).toJSON());
  }
  const wasmRows = await wasmReg.evaluateMany(profiles, new Context(options));
  assert.deepEqual(wasmRows, await nodeReg.evaluateMany(profiles, new native.Context(options)));
  const r2 = DEMO_TEXTS.find((t) => t.includes('id: r2_repeat_buyers'));
  const seg = Segment.fromYAML(r2);
  assert.equal(seg.definitionHash, native.Segment.fromYAML(r2).definitionHash);
  assert.deepEqual(await seg.outcomesMany(profiles, options), profiles.map((p) => seg.outcome(p, options)));
});

test('errors are identical to the Node binding: class, code, position and message', () => {
  const native = nodeBinding();
  const outcome = (m, fn) => {
    try {
      return ['ok', fn(m)];
    } catch (e) {
      return [e.constructor.name, e.code ?? null, e.line ?? null, e.column ?? null, e.message];
    }
  };
  const seg = (m) => m.compile('age > 1 and count(purchase within 7d) > 0');
  const cases = [
    ...['x', null, undefined, 42, [], { id: 'u', attributes: 'x' }, { id: 1.5 }, { id: 'u', events: [{ name: 'purchase' }] }].map(
      (bad) => (m) => new m.Profile(bad),
    ),
    ...[{ id: 'u', extra: 1 }, { id: 'u', events: [{ name: 'purchase', at: 'yesterday' }] }, { id: 'u', attributes: { age: NaN } }].map(
      (bad) => (m) => seg(m).evaluate(bad, { asOf: AS_OF }),
    ),
    (m) => seg(m).evaluate(adult, { asOf: '2026-03-15' }),
    (m) => seg(m).evaluate(adult, { asOf: 5 }),
    (m) => seg(m).evaluate(adult, { asOf: AS_OF, fx: { EURUSD: '1' } }),
    (m) => m.compile('age >= 18 and\n  plan = '),
    (m) => m.compile('"5" = 5'),
    (m) => m.Segment.fromYAML('id: [unclosed'),
    (m) => m.Segment.fromObject({ id: 'x', rule: 'age > 1' }),
    (m) => m.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'in_segment("b")' }, { id: 'b', version: '1.0.0', rule: 'in_segment("a")' }]),
    (m) => m.formatRule('((('),
  ];
  for (const c of cases) {
    const w = outcome(segcore, c);
    assert.notEqual(w[0], 'ok', `expected an error from ${c}`);
    assert.deepEqual(w, outcome(native, c), String(c));
  }
});

test('evaluateMany yields to the event loop on long batches and rejects with the error class', async () => {
  const reg = Registry.fromDefinitions(DEMO_TEXTS);
  const profiles = generate(20000, 3);
  let turned = false;
  setImmediate(() => {
    turned = true;
  });
  const rows = await reg.evaluateMany(profiles, { asOf: AS_OF, fx: { 'EUR/USD': '1.08' } });
  assert.equal(rows.length, 20000);
  assert.equal(turned, true, 'the event loop must turn while the batch runs');
  const seg = compile('sum(purchase.amount within 30d) > 1 USD');
  const p = { id: 'u', events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '1', currency: 'EUR' } } }] };
  await assert.rejects(seg.evaluateMany([p], { asOf: AS_OF }), (e) => e instanceof segcore.EvaluationError && e.code === 'fx_rate_missing');
  await assert.rejects(seg.evaluateMany('x', { asOf: AS_OF }), TypeError);
});

test('exports match the Node binding', () => {
  const native = nodeBinding();
  const names = (m) => Object.keys(m).filter((k) => k !== 'default').sort();
  assert.deepEqual(names(segcore), names(native));
  assert.equal(segcore.version, native.version);
  assert.equal(segcore.languageVersion, native.languageVersion);
  assert.throws(() => new Segment({}), TypeError);
  assert.throws(() => new Registry({}), TypeError);
});

test('SQL generation is not in the browser build (toSql is a Node/Python/CLI feature)', () => {
  const seg = compile('age > 1');
  assert.equal(typeof seg.toSql, 'undefined');
});
