// Regression tests of the hardening issue shared by every JavaScript runtime (the Node binding, the
// WASM build in Node and in headless Chromium). Pure ES module (no Node APIs): each test is a
// function of the binding under test that throws on failure. The runtime-specific tests (a
// WebAssembly trap and the re-instantiation after it, a panic in the native module) live next to
// each binding's tests.
//
//   import { hardeningTests } from '../../tests/js/hardening-core.mjs';
//   for (const [name, fn] of hardeningTests(segcore)) test(name, () => fn());

const AS_OF = '2026-03-15T12:00:00Z';

function fail(message) {
  throw new Error(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

/** Runs `fn`, which must throw the segcore error class `Cls` with `code`; returns the error. */
export function throwsCode(segcore, fn, code, Cls = segcore.SegmentError) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) fail(`expected a ${Cls.name} with code ${code}, nothing was thrown`);
  if (!(caught instanceof Cls) || !(caught instanceof segcore.SegmentError)) {
    fail(`expected a ${Cls.name} with code ${code}, got ${caught?.constructor?.name}: ${caught?.message}`);
  }
  if (caught.code !== code) fail(`expected code ${code}, got ${caught.code}: ${caught.message}`);
  if (caught.message.includes('\u0001')) fail('the internal error encoding leaked');
  if (!Array.isArray(caught.diagnostics) || caught.diagnostics[0]?.kind !== code) {
    fail(`the error's diagnostics must carry kind ${code}: ${JSON.stringify(caught.diagnostics)}`);
  }
  return caught;
}

/** `[[[…leaf…]]]` with `n` lists, or `{a: {a: …}}` with `n` objects, built without recursion. */
export function deepValue(kind, n, leaf) {
  let v = leaf;
  for (let i = 0; i < n; i++) v = kind === 'list' ? [v] : { a: v };
  return v;
}

function events(n) {
  const one = { name: 'purchase', at: '2026-01-01T00:00:00Z', properties: { amount: 5 } };
  return new Array(n).fill(one);
}

/** `[name, fn]` pairs. */
export function hardeningTests(segcore) {
  const { compile, Segment, Registry, Profile, Context } = segcore;
  const tests = [];
  const t = (name, fn) => tests.push([name, fn]);

  // ---------------------------------------------------------------------------------------------
  // Item 6: re-entrancy. A getter that calls segcore while a profile is being written.

  const inner = compile('country = "US"', { id: 'inner' });
  const usProfile = { id: 'x', attributes: { country: 'US' } };
  const outer = compile('age >= 18 and plan = "pro" and count(purchase where amount > 10 within 30d) >= 1', { id: 'outer' });
  const plain = {
    id: 'u1',
    attributes: { age: 40, plan: 'pro' },
    events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: 50 } }],
  };
  /** `plain` whose `age` (or an event property) is read through a getter that evaluates `inner`. */
  const withGetter = (where) => {
    const calls = { n: 0 };
    const nested = () => {
      calls.n++;
      if (inner.evaluate(usProfile, { asOf: AS_OF }) !== true) fail('the nested evaluation went wrong');
      // A registry and an explanation in the nested call too: every route opens its own tape.
      const reg = Registry.fromDefinitions([{ id: 'r', version: '1.0.0', rule: 'country = "US"' }]);
      if (reg.evaluate(usProfile, { asOf: AS_OF }).r !== true) fail('the nested registry went wrong');
    };
    const attributes = { plan: 'pro' };
    Object.defineProperty(attributes, 'age', {
      enumerable: true,
      get() {
        if (where === 'attribute') nested();
        return 40;
      },
    });
    const properties = {};
    Object.defineProperty(properties, 'amount', {
      enumerable: true,
      get() {
        if (where === 'event') nested();
        return 50;
      },
    });
    return { profile: { id: 'u1', attributes, events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties }] }, calls };
  };

  t('re-entrancy: a getter that evaluates another segment leaves the outer result intact', () => {
    const expected = outer.outcome(plain, { asOf: AS_OF });
    equal(expected, 'true', 'plain object');
    for (const where of ['attribute', 'event']) {
      const { profile, calls } = withGetter(where);
      equal(outer.outcome(profile, { asOf: AS_OF }), expected, `outcome with a getter on the ${where}`);
      equal(outer.evaluate(profile, { asOf: AS_OF }), true, `evaluate with a getter on the ${where}`);
      equal(outer.explain(profile, { asOf: AS_OF }).outcome, expected, `explain with a getter on the ${where}`);
      equal(new Profile(profile).eventCount, 1, `new Profile with a getter on the ${where}`);
      equal(outer.outcome(new Profile(profile), { asOf: AS_OF }), expected, `Profile with a getter on the ${where}`);
      if (calls.n === 0) fail('the getter was never read');
    }
  });

  t('re-entrancy: a registry evaluated through a Proxy that calls segcore gives the plain result', () => {
    const reg = Registry.fromDefinitions([
      { id: 'adult', version: '1.0.0', rule: 'age >= 18' },
      { id: 'pro', version: '1.0.0', rule: 'plan = "pro"' },
      { id: 'buyer', version: '1.0.0', rule: 'count(purchase where amount > 10 within 30d) >= 1' },
      { id: 'both', version: '1.0.0', rule: 'in_segment("adult") and in_segment("pro")' },
    ]);
    const expected = reg.evaluate(plain, { asOf: AS_OF });
    equal(expected, { adult: true, both: true, buyer: true, pro: true }, 'plain object');
    const trap = (target) =>
      new Proxy(target, {
        get(obj, key, receiver) {
          // Every read evaluates another segment first (as a lazy ORM object might query).
          inner.evaluate(usProfile, { asOf: AS_OF });
          return Reflect.get(obj, key, receiver);
        },
      });
    const proxied = {
      id: 'u1',
      attributes: trap({ ...plain.attributes }),
      events: [{ ...plain.events[0], properties: trap({ ...plain.events[0].properties }) }],
    };
    equal(reg.evaluate(proxied, { asOf: AS_OF }), expected, 'Registry.evaluate through a Proxy');
    equal(reg.outcomes(proxied, { asOf: AS_OF }), reg.outcomes(plain, { asOf: AS_OF }), 'Registry.outcomes');
    equal(reg.members(proxied, { asOf: AS_OF }), ['adult', 'both', 'buyer', 'pro'], 'Registry.members');
    equal(reg.evaluateOne('both', proxied, { asOf: AS_OF }), 'true', 'Registry.evaluateOne');
    equal(reg.explain('buyer', proxied, { asOf: AS_OF }).outcome, 'true', 'Registry.explain');
    // The whole profile as a Proxy (its shape read through traps too).
    equal(reg.evaluate(trap({ ...plain, attributes: trap({ ...plain.attributes }) }), { asOf: AS_OF }), expected, 'a Proxy profile');
  });

  t('re-entrancy: a getter that itself fails leaves segcore usable', () => {
    const profile = { id: 'u1', attributes: {} };
    Object.defineProperty(profile.attributes, 'age', {
      enumerable: true,
      get() {
        inner.evaluate(usProfile, { asOf: AS_OF });
        throw new RangeError('lazy load failed');
      },
    });
    let caught;
    try {
      outer.evaluate(profile, { asOf: AS_OF });
    } catch (e) {
      caught = e;
    }
    if (!(caught instanceof RangeError)) fail(`the getter's own error must propagate, got ${caught}`);
    equal(outer.evaluate(plain, { asOf: AS_OF }), true, 'after a failing getter');
  });

  // ---------------------------------------------------------------------------------------------
  // Item 2: every value is depth-checked before it crosses (100 levels accepted, 101 refused).

  t('values nested 100 levels are accepted, 101 are limit_exceeded (profiles)', () => {
    const seg = compile('tags is not null');
    for (const kind of ['list', 'object']) {
      const ok = { id: 'u', attributes: { tags: deepValue(kind, 100, 1) } };
      equal(seg.evaluate(ok, { asOf: AS_OF }), true, `${kind} x100 as a plain object`);
      const bad = { id: 'u', attributes: { tags: deepValue(kind, 101, 1) } };
      throwsCode(segcore, () => seg.evaluate(bad, { asOf: AS_OF }), 'limit_exceeded', segcore.DataError);
      throwsCode(segcore, () => new Profile(bad), 'limit_exceeded', segcore.DataError);
      const huge = { id: 'u', attributes: { tags: deepValue(kind, 100_000, 1) } };
      throwsCode(segcore, () => seg.evaluate(huge, { asOf: AS_OF }), 'limit_exceeded', segcore.DataError);
      throwsCode(segcore, () => new Profile(huge), 'limit_exceeded', segcore.DataError);
      const prop = { id: 'u', events: [{ name: 'e', at: AS_OF, properties: { p: deepValue(kind, 100_000, 1) } }] };
      throwsCode(segcore, () => compile('count(e where p = 1) >= 0').evaluate(prop, { asOf: AS_OF }), 'limit_exceeded');
      throwsCode(segcore, () => new Profile(prop), 'limit_exceeded');
    }
  });

  t('deep FX tables, segment results, schemas and definitions are limit_exceeded', () => {
    const seg = compile('age >= 18');
    const deep = deepValue('object', 100_000, '1.1');
    throwsCode(segcore, () => seg.evaluate(plain, { asOf: AS_OF, fx: { 'EUR/USD': deep } }), 'limit_exceeded', segcore.DataError);
    throwsCode(segcore, () => new Context({ asOf: AS_OF, fx: { 'EUR/USD': deep } }), 'limit_exceeded', segcore.DataError);
    throwsCode(segcore, () => seg.evaluate(plain, { asOf: AS_OF, segments: { s: deep } }), 'limit_exceeded', segcore.DataError);
    const schema = { attributes: { age: deepValue('list', 100_000, 'int') } };
    throwsCode(segcore, () => compile('age >= 18', { schema }), 'limit_exceeded', segcore.DefinitionError);
    throwsCode(segcore, () => Segment.fromObject({ id: 'a', version: '1.0.0', rule: 'age > 1' }, { schema }), 'limit_exceeded', segcore.DefinitionError);
    const definition = { id: 'a', version: '1.0.0', rule: 'age > 1', tags: deepValue('list', 100_000, 'x') };
    throwsCode(segcore, () => Segment.fromObject(definition), 'limit_exceeded', segcore.DefinitionError);
    throwsCode(segcore, () => Registry.fromDefinitions([definition]), 'limit_exceeded', segcore.DefinitionError);
    // Still usable afterwards.
    equal(seg.evaluate(plain, { asOf: AS_OF }), true, 'after the refusals');
  });

  // ---------------------------------------------------------------------------------------------
  // Item 12: at most 100,000 events per profile, refused before anything is copied.

  t('more than 100,000 events are limit_exceeded, fast, on every route', () => {
    const seg = compile('count(purchase) >= 1');
    const attrsOnly = compile('age >= 18');
    for (const n of [100_001, 1_000_000]) {
      const p = { id: 'big', attributes: { age: 30 }, events: events(n) };
      const started = Date.now();
      throwsCode(segcore, () => new Profile(p), 'limit_exceeded', segcore.DataError);
      throwsCode(segcore, () => seg.evaluate(p, { asOf: AS_OF }), 'limit_exceeded', segcore.DataError);
      // Even when the rule reads no events: the limit is the profile's.
      throwsCode(segcore, () => attrsOnly.evaluate(p, { asOf: AS_OF }), 'limit_exceeded', segcore.DataError);
      const ms = Date.now() - started;
      if (ms > 5_000) fail(`refusing ${n} events took ${ms} ms`);
    }
    const at = { id: 'edge', attributes: { age: 30 }, events: events(100_000) };
    equal(new Profile(at).eventCount, 100_000, 'exactly 100,000 events');
  });

  // ---------------------------------------------------------------------------------------------
  // Item 13: asOf must be an instant an RFC 3339 timestamp can spell.

  t('asOf: an Invalid Date or one out of range is invalid_context', () => {
    const seg = compile('count(purchase within 30d) >= 0');
    for (const asOf of [new Date(NaN), new Date(8.64e15), new Date(-8.64e15), new Date(Date.UTC(10000, 0, 1)), '10000-01-01T00:00:00Z', 'yesterday']) {
      const e = throwsCode(segcore, () => seg.outcome(plain, { asOf }), 'invalid_context', segcore.DataError);
      if (!/asOf|as_of/.test(e.message)) fail(`the message must name asOf: ${e.message}`);
      throwsCode(segcore, () => new Context({ asOf }), 'invalid_context', segcore.DataError);
    }
    // The edges of the range are fine.
    equal(seg.outcome(plain, { asOf: new Date(Date.UTC(9999, 11, 30)) }), 'true', 'year 9999');
    equal(seg.outcome(plain, { asOf: new Date(Date.UTC(1970, 0, 1)) }), 'true', '1970');
    equal(new Context({ asOf: new Date(Date.UTC(2026, 2, 15, 12)) }).asOf, AS_OF, 'Context.asOf');
  });

  // ---------------------------------------------------------------------------------------------
  // Reshape issue, new-user item: an integer beyond Number.isSafeInteger in a plain object.

  t('numbers between 2^53 and 2^63 are refused (JS may have rounded them); BigInt is exact', () => {
    const seg = compile('account = 12345678901234567');
    // The literal below is already 12345678901234568 in JS: read as a float it would compare
    // unequal without a word. Refused, with the way out in the message.
    for (const where of [
      (n) => ({ id: 'u', attributes: { account: n } }),
      (n) => ({ id: 'u', events: [{ name: 'e', at: AS_OF, properties: { n } }], attributes: { account: n } }),
    ]) {
      let caught;
      try {
        seg.evaluate(where(12345678901234567), { asOf: AS_OF });
      } catch (e) {
        caught = e;
      }
      if (!(caught instanceof TypeError) || !/BigInt/.test(caught.message)) {
        fail(`expected a TypeError naming BigInt, got ${caught?.constructor?.name}: ${caught?.message}`);
      }
    }
    equal(seg.evaluate({ id: 'u', attributes: { account: 12345678901234567n } }, { asOf: AS_OF }), true, 'BigInt');
    equal(seg.evaluate(Profile.fromJSON('{"id":"u","attributes":{"account":12345678901234567}}'), { asOf: AS_OF }), true, 'fromJSON');
    // Safe integers and numbers beyond 2^63 (no 64-bit integer meant) are read as before.
    equal(compile('n = 9007199254740991').evaluate({ id: 'u', attributes: { n: 9007199254740991 } }, { asOf: AS_OF }), true, '2^53 - 1');
    equal(compile('n > 10000000000000000000.5').evaluate({ id: 'u', attributes: { n: 1e20 } }, { asOf: AS_OF }), true, '1e20');
  });

  return tests;
}
