// The bad-input matrix (tests/hostile/cases.json, format in tests/hostile/README.md) for every
// JavaScript runtime: the Node binding, the WASM build in Node and in headless Chromium. Pure ES
// module (no Node APIs), so the same code runs in the browser page.
//
// Each case must give its expected outcome (an error whose `code` is the expected kind and whose
// class, `e.name`, is the case's `class` — SPEC §18; or the expected membership) without any
// other kind of exception, and segcore must still work after: the `sanity` definition is
// evaluated after every case and must give `sanity.expect`. Cases whose `runtimes` leave these
// runtimes out (tables: no table entry point in JavaScript) are skipped, counted neither as
// passed nor as failed. The message of every error is recorded (`messages`), not compared: the
// bindings check some limits before crossing into the module, in their own words.

/** `[[[…leaf…]]]` with `n` lists, or `{a: {a: …}}` with `n` objects, built without recursion. */
export function deepValue({ kind, n, leaf }) {
  let v = leaf;
  for (let i = 0; i < n; i++) v = kind === 'list' ? [v] : { a: v };
  return v;
}

/** A text template: a string, or parts (strings and `{repeat, n}`) concatenated. */
export function text(t) {
  if (typeof t === 'string') return t;
  return t.map((p) => (typeof p === 'string' ? p : p.repeat.repeat(p.n))).join('');
}

const copy = (v) => JSON.parse(JSON.stringify(v));

function describe(e) {
  if (e && typeof e === 'object' && 'code' in e) return `${e.constructor?.name}(${e.code}): ${String(e.message).slice(0, 300)}`;
  return `${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 300)}`;
}

/** Runs one case: `['error', e]` or `['member', boolean]` (several routes: all must agree). */
function runCase(segcore, base, c) {
  const { Segment, Profile } = segcore;
  const definition = { ...base.definition, ...(c.rule !== undefined ? { rule: c.rule } : {}) };
  const asOf = base.as_of;
  const member = (seg, profile, options = { asOf }) => seg.evaluate(profile, options);
  switch (c.input) {
    case 'rule':
      return [['rule', () => member(Segment.fromObject({ ...base.definition, rule: text(c.text) }), base.profile)]];
    case 'definition_yaml':
      return [['yaml', () => member(Segment.fromYAML(text(c.text)), base.profile)]];
    case 'definition_json':
      return [['json', () => member(Segment.fromJSON(text(c.text)), base.profile)]];
    case 'profile': {
      const profile = copy(base.profile);
      let at = profile;
      for (const key of c.path.slice(0, -1)) at = at[key];
      at[c.path[c.path.length - 1]] = deepValue(c.deep);
      return [
        ['plain object', () => member(Segment.fromObject(definition), profile)],
        ['new Profile', () => member(Segment.fromObject(definition), new Profile(profile))],
      ];
    }
    case 'profile_json':
      return [['Profile.fromJSON', () => member(Segment.fromObject(definition), Profile.fromJSON(text(c.text)))]];
    case 'fx':
      return [['fx', () => member(Segment.fromObject(definition), base.profile, { asOf, fx: { 'EUR/USD': deepValue(c.deep) } })]];
    case 'schema':
      return [['schema', () => member(Segment.fromObject(definition, { schema: { attributes: { age: deepValue(c.deep) } } }), base.profile)]];
    case 'as_of':
      return [['as_of', () => member(Segment.fromObject(definition), base.profile, { asOf: text(c.text) })]];
    default:
      throw new Error(`unknown input ${c.input}`);
  }
}

/**
 * Runs every case that applies to `family` ('node' or 'wasm'); `runtime` names the report.
 * Returns `{ runtime, passed, total, failures: [{ name, route, expected, got }], messages,
 * timings }`; `messages` maps a case to the message of the error its first erring route raised.
 */
export function runHostile(segcore, cases, runtime, family) {
  const failures = [];
  const timings = {};
  const messages = {};
  let passed = 0;
  let total = 0;
  const { sanity, base } = cases;
  const sane = () => segcore.Segment.fromObject(sanity.definition).evaluate(sanity.profile, { asOf: sanity.as_of });
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  for (const c of cases.cases) {
    if (Array.isArray(c.runtimes) && !c.runtimes.includes(family) && !c.runtimes.includes(runtime)) continue;
    total++;
    const expected = typeof c.expect === 'string' ? `error ${c.expect} as ${c.class}` : `member ${c.expect.member}`;
    const problems = [];
    const started = now();
    let routes;
    try {
      routes = runCase(segcore, base, c);
    } catch (e) {
      routes = [];
      problems.push({ route: 'setup', got: describe(e) });
    }
    for (const [route, fn] of routes) {
      let got;
      try {
        const m = fn();
        got = `member ${m}`;
      } catch (e) {
        got = e instanceof segcore.SegmentError ? `error ${e.code} as ${e.name}` : `exception ${describe(e)}`;
        if (e instanceof segcore.SegmentError && !(c.name in messages)) messages[c.name] = String(e.message);
        if (got !== expected && e instanceof segcore.SegmentError) got += ` (${String(e.message).slice(0, 300)})`;
      }
      if (got !== expected) problems.push({ route, got });
    }
    timings[c.name] = Math.round(now() - started);
    let saneAfter;
    try {
      saneAfter = sane() === sanity.expect ? null : 'sanity gave the wrong answer';
    } catch (e) {
      saneAfter = `sanity failed: ${describe(e)}`;
    }
    if (saneAfter) problems.push({ route: 'sanity after the case', got: saneAfter });
    if (problems.length === 0) passed++;
    else for (const p of problems) failures.push({ name: c.name, item: c.item, input: c.input, route: p.route, expected, got: p.got });
  }
  return { runtime, passed, total, failures, messages, timings };
}

/** The report written to target/conformance/hostile-<runtime>.json. */
export function hostileReport(result) {
  const { runtime, passed, total, failures, messages } = result;
  return { runtime, passed, total, failures, messages };
}
