// WebAssembly trap recovery (hardening item 2), shared by the WASM build's tests in Node and in
// headless Chromium. Pure ES module. A trap (a Rust panic aborts in the wasm build; a stack
// overflow) used to leave the instance dead: every later call failed, segments compiled before
// included. Now the call that trapped throws `SegmentError` with code `internal`, the module is
// re-instantiated, and every object made before keeps working. `__segcore_test_trap` is the
// test-only export that traps on purpose.

import { throwsCode } from './hardening-core.mjs';

const AS_OF = '2026-03-15T12:00:00Z';

function fail(message) {
  throw new Error(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

const DEFINITIONS = [
  { id: 'adult', version: '1.0.0', rule: 'age >= 18' },
  { id: 'buyer', version: '1.0.0', rule: 'count(purchase within 30d) >= 1' },
  'id: adult_buyer\nversion: 1.0.0\nrule: in_segment("adult") and in_segment("buyer")\n',
  { id: 'big_spender', version: '1.0.0', rule: 'sum(purchase.amount within 30d) > 100 USD' },
];
const PROFILE = {
  id: 'u1',
  attributes: { age: 40 },
  events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '90', currency: 'EUR' } } }],
};

/** Everything the page made before the trap, and what it answered then. */
function build(segcore) {
  const { compile, Segment, Registry, Profile, Context } = segcore;
  const things = {
    seg: compile('age >= 18 and country = "US"', { schema: { attributes: { age: 'int', country: 'string' } } }),
    yaml: Segment.fromYAML('id: y\nversion: 1.0.0\nrule: count(purchase within 30d) >= 1\n'),
    reg: Registry.fromDefinitions(DEFINITIONS),
    cx: new Context({ asOf: AS_OF, fx: { 'EUR/USD': '1.2' } }),
    profile: new Profile({ ...PROFILE, attributes: { age: 40, country: 'US' } }),
    json: Profile.fromJSON(JSON.stringify(PROFILE)),
  };
  things.fromRegistry = things.reg.get('adult_buyer');
  return things;
}

function answers(t) {
  const plain = { ...PROFILE, attributes: { age: 40, country: 'US' } };
  return {
    seg: [t.seg.outcome(plain, { asOf: AS_OF }), t.seg.outcome(t.profile, t.cx), t.seg.outcome(t.json, { asOf: AS_OF })],
    yaml: [t.yaml.evaluate(t.json, { asOf: AS_OF }), t.yaml.explain(plain, { asOf: AS_OF }).outcome],
    reg: [t.reg.evaluate(plain, t.cx), t.reg.outcomes(t.json, t.cx), t.reg.members(t.profile, t.cx)],
    regOne: [t.reg.evaluateOne('adult_buyer', plain, t.cx), t.reg.explain('big_spender', t.profile, t.cx).outcome],
    fromRegistry: t.fromRegistry.outcome(t.profile, { asOf: AS_OF, segments: { adult: true, buyer: true } }),
    profile: [t.profile.id, t.profile.eventCount, t.json.id, t.json.eventCount],
    cx: t.cx.asOf,
  };
}

export function trapTests(segcore) {
  const tests = [];
  const t = (name, fn) => tests.push([name, fn]);

  t('after a trap (a panic), objects made before keep working and give the same answers', () => {
    const things = build(segcore);
    const before = answers(things);
    equal(before.reg[0], { adult: true, adult_buyer: true, big_spender: true, buyer: true }, 'registry before');
    for (let i = 0; i < 3; i++) {
      const e = throwsCode(segcore, () => segcore.__segcore_test_trap(0), 'internal');
      if (e.constructor !== segcore.SegmentError) fail(`a trap is a SegmentError, got ${e.constructor.name}`);
      if (!/trapped/.test(e.message)) fail(`the message says the module trapped: ${e.message}`);
      equal(answers(things), before, `answers after trap ${i + 1}`);
    }
    // New objects too.
    equal(answers(build(segcore)), before, 'answers of objects made after the traps');
  });

  t('after a stack overflow in the module, objects made before keep working', () => {
    const things = build(segcore);
    const before = answers(things);
    throwsCode(segcore, () => segcore.__segcore_test_trap(1), 'internal');
    equal(answers(things), before, 'answers after a stack overflow');
    equal(segcore.formatRule('age>=18'), 'age >= 18', 'formatRule');
    equal(segcore.check([{ id: 'a', version: '1.0.0', rule: 'age >' }]).map((d) => d.kind), ['syntax_error'], 'check');
  });

  t('objects freed or collected around a trap never touch the new instance', async () => {
    const { Profile, compile } = segcore;
    const seg = compile('age >= 18');
    const freed = new Profile({ id: 'f', attributes: { age: 30 } });
    freed.free();
    // Garbage from the old instance (temporary profiles and contexts) is left for the collector.
    for (let i = 0; i < 200; i++) {
      seg.explain({ id: `g${i}`, attributes: { age: i } }, { asOf: AS_OF, fx: { 'EUR/USD': '1.1' } });
      new Profile({ id: `p${i}`, attributes: { age: i } });
    }
    const kept = new Profile({ id: 'k', attributes: { age: 30 } });
    throwsCode(segcore, () => segcore.__segcore_test_trap(0), 'internal');
    kept.free();
    let caught;
    try {
      seg.evaluate(freed, { asOf: AS_OF });
    } catch (e) {
      caught = e;
    }
    if (!(caught instanceof Error)) fail('a freed Profile must not be usable');
    if (typeof globalThis.gc === 'function') globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const many = [];
    for (let i = 0; i < 300; i++) many.push({ id: `m${i}`, attributes: { age: i } });
    const out = await seg.evaluateMany(many, { asOf: AS_OF });
    equal(out.filter(Boolean).length, 300 - 18, 'evaluateMany after the trap');
  });

  return tests;
}
