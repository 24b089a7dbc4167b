// The browser benchmark page's code: segcore's WASM build beside JS peers, in the same page
// (bench.html), on the same data. Driven by run.mjs (headless Chromium); not a test.
//
// R1 = age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500
// R2 = the country test and at least 2 `purchase` events in the 90 days before asOf, over
//      profiles carrying 200 events each.
// Each figure is the median of 7 timed loops (ns per evaluation), after a warm-up; every engine
// must agree with the plain JS function on every profile before it is timed.

const AS_OF = '2026-03-15T12:00:00Z';
const AS_OF_MS = Date.parse(AS_OF);
// Event times are written by toISOString (…:SS.000Z); JSON Logic compares them as strings.
const START_ISO = new Date(AS_OF_MS - 90 * 86400e3).toISOString();
const AS_OF_ISO = new Date(AS_OF_MS).toISOString();
const COUNTRIES = ['US', 'CA', 'GB', 'FR', 'DE', 'JP'];
const PLANS = ['pro', 'free', 'team'];
const RUNS = 7;

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeData() {
  const r = rng(42);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const r1 = Array.from({ length: 512 }, (_, i) => ({
    id: `u${i}`,
    attributes: {
      age: Math.floor(r() * 70),
      country: pick(COUNTRIES),
      plan: pick(PLANS),
      ltv: Math.floor(r() * 1200),
      email: `u${i}@example.com`,
      churn_score: r(),
    },
  }));
  const r2 = Array.from({ length: 64 }, (_, i) => {
    const events = [];
    for (let k = 0; k < 200; k++) {
      const name = r() < 0.2 ? 'purchase' : r() < 0.5 ? 'login' : 'page_view';
      const at = new Date(AS_OF_MS - Math.floor(r() * 365 * 86400) * 1000).toISOString();
      const e = { name, at };
      if (name === 'purchase') e.properties = { amount: { amount: String(Math.floor(r() * 300)), currency: 'USD' }, sku: 'sku-1' };
      else if (name === 'page_view') e.properties = { path: '/pricing' };
      events.push(e);
    }
    return { id: `u${i}`, attributes: { country: pick(COUNTRIES) }, events };
  });
  return { r1, r2 };
}

function r1Js(p) {
  const a = p.attributes;
  return a.age >= 18 && (a.country === 'US' || a.country === 'CA' || a.country === 'GB') && a.plan === 'pro' && a.ltv > 500;
}

const NINETY_DAYS = 90 * 86400e3;
function r2Js(p) {
  const c = p.attributes.country;
  if (!(c === 'US' || c === 'CA' || c === 'GB')) return false;
  let n = 0;
  for (const e of p.events) {
    if (e.name !== 'purchase') continue;
    const t = Date.parse(e.at);
    if (t >= AS_OF_MS - NINETY_DAYS && t <= AS_OF_MS && ++n >= 2) return true;
  }
  return false;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ns per call of fn(i): median of RUNS loops, each sized to take at least ~40 ms. */
function bench(fn, quick) {
  let sink = 0;
  let n = 1;
  const target = quick ? 10 : 40;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += fn(i) ? 1 : 0;
    if (performance.now() - t0 >= target) break;
    n *= 2;
  }
  const times = [];
  for (let r = 0; r < (quick ? 3 : RUNS); r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += fn(i) ? 1 : 0;
    times.push(((performance.now() - t0) * 1e6) / n);
  }
  if (sink === -1) console.log('');
  return median(times);
}

/** Checks `fn` against the plain JS function on every profile; returns a reason or null. */
function disagreement(fn, floor, data) {
  for (const p of data) {
    let got;
    try {
      got = Boolean(fn(p));
    } catch (e) {
      return `throws: ${e?.message ?? e}`;
    }
    if (got !== floor(p)) return `disagrees on ${p.id}`;
  }
  return null;
}

async function loadPeers() {
  const peers = {};
  const tryImport = async (name, url) => {
    try {
      peers[name] = await import(url);
    } catch (e) {
      peers[name] = null;
      peers[`${name}Error`] = String(e?.message ?? e);
    }
  };
  await tryImport('jle', './node_modules/json-logic-engine/dist/esm/index.js');
  await tryImport('cel', './node_modules/@marcbachmann/cel-js/lib/index.js');
  await tryImport('gb', './node_modules/@growthbook/growthbook/dist/esm/mongrule.mjs');
  await tryImport('datalogic', './node_modules/@goplasmatic/datalogic/web/datalogic_wasm.js');
  if (peers.datalogic) await peers.datalogic.default();
  peers.jsonLogic = globalThis.jsonLogic ?? null;
  return peers;
}

/** Runs everything; resolves to `{ rows: [[section, name, ns | null, note]], meta }`. */
export async function runBench({ quick = false } = {}) {
  const meta = { userAgent: navigator.userAgent };
  const rows = [];
  const add = (section, name, ns, note = '') => rows.push([section, name, ns, note]);

  // Instantiation: fetch + compile + instantiate + API set-up, on first import.
  const wasmUrl = new URL('../pkg/web/segcore_wasm_bg.wasm', import.meta.url);
  const bytes = await (await fetch(wasmUrl)).arrayBuffer();
  meta.wasmBytes = bytes.byteLength;
  let t0 = performance.now();
  const module = await WebAssembly.compile(bytes);
  meta.compileMs = performance.now() - t0;
  meta.moduleImports = WebAssembly.Module.imports(module).length;
  t0 = performance.now();
  const segcore = await import('../js/web.mjs');
  meta.importMs = performance.now() - t0;
  meta.version = segcore.version;

  const { r1, r2 } = makeData();
  const peers = await loadPeers();
  meta.peerErrors = Object.fromEntries(Object.entries(peers).filter(([k]) => k.endsWith('Error')));
  const R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500';
  const R2 = 'country in ["US","CA","GB"] and count(purchase within 90d) >= 2';
  const seg1 = segcore.compile(R1);
  const seg2 = segcore.compile(R2);
  const opts = { asOf: AS_OF };
  const ctx = new segcore.Context(opts);

  const timed = (section, name, fn, data, floor, note) => {
    const why = disagreement(fn, floor, data);
    if (why) {
      add(section, name, null, why);
      return;
    }
    const n = data.length;
    add(section, name, bench((i) => fn(data[i % n]), quick), note);
  };

  // ------------------------------------------------------------------------------------------
  // R1
  const S1 = 'R1';
  timed(S1, 'plain JS function (the floor)', r1Js, r1, r1Js);
  const r1Logic = {
    and: [
      { '>=': [{ var: 'attributes.age' }, 18] },
      { in: [{ var: 'attributes.country' }, ['US', 'CA', 'GB']] },
      { '==': [{ var: 'attributes.plan' }, 'pro'] },
      { '>': [{ var: 'attributes.ltv' }, 500] },
    ],
  };
  if (peers.jle) {
    const engine = new peers.jle.LogicEngine();
    const f = engine.build(r1Logic);
    timed(S1, 'json-logic-engine 5.0.7, compiled to JS', f, r1, r1Js);
    timed(S1, 'json-logic-engine, interpreted', (p) => engine.run(r1Logic, p), r1, r1Js);
  }
  if (peers.cel) {
    const expr = 'p.attributes.age >= 18 && p.attributes.country in ["US", "CA", "GB"] && p.attributes.plan == "pro" && p.attributes.ltv > 500';
    const env = new peers.cel.Environment({ unlistedVariablesAreDyn: true });
    const f = env.parse(expr);
    timed(S1, '@marcbachmann/cel-js 8.0, parsed once', (p) => f({ p }), r1, r1Js);
  }
  if (peers.gb) {
    const cond = { age: { $gte: 18 }, country: { $in: ['US', 'CA', 'GB'] }, plan: 'pro', ltv: { $gt: 500 } };
    timed(S1, '@growthbook/growthbook 1.8 evalCondition', (p) => peers.gb.evalCondition(p.attributes, cond, {}), r1, r1Js);
  }
  if (peers.jsonLogic) {
    timed(S1, 'json-logic-js 2.0.5', (p) => peers.jsonLogic.apply(r1Logic, p), r1, r1Js);
  }
  if (peers.datalogic) {
    const rule = new peers.datalogic.CompiledRule(JSON.stringify(r1Logic), false);
    timed(S1, '@goplasmatic/datalogic 4.0.14 (Rust in WASM), compiled rule', (p) => rule.evaluate(JSON.stringify(p)) === 'true', r1, r1Js);
  }
  timed(S1, 'segcore WASM, plain object, { asOf } options', (p) => seg1.evaluate(p, opts), r1, r1Js);
  timed(S1, 'segcore WASM, plain object, Context', (p) => seg1.evaluate(p, ctx), r1, r1Js);
  const h1 = new Map(r1.map((p) => [p, new segcore.Profile(p)]));
  timed(S1, 'segcore WASM, Profile handle, Context', (p) => seg1.evaluate(h1.get(p), ctx), r1, r1Js);
  const handles1 = r1.map((p) => h1.get(p));
  add(S1, 'segcore WASM, Profile handle (array-indexed)', bench((i) => seg1.evaluate(handles1[i & 511], ctx), quick));
  add(S1, '  (converting a handle: new Profile(object), then free())', bench((i) => {
    const p = new segcore.Profile(r1[i & 511]);
    p.free();
    return true;
  }, quick));

  // ------------------------------------------------------------------------------------------
  // R2
  const S2 = 'R2 (200 events per profile)';
  timed(S2, 'plain JS function (the floor)', r2Js, r2, r2Js);
  const r2Logic = {
    and: [
      { in: [{ var: 'attributes.country' }, ['US', 'CA', 'GB']] },
      {
        '>=': [
          {
            reduce: [
              {
                filter: [
                  { var: 'events' },
                  { and: [{ '==': [{ var: 'name' }, 'purchase'] }, { '>=': [{ var: 'at' }, START_ISO] }, { '<=': [{ var: 'at' }, AS_OF_ISO] }] },
                ],
              },
              { '+': [{ var: 'accumulator' }, 1] },
              0,
            ],
          },
          2,
        ],
      },
    ],
  };
  if (peers.jle) {
    const engine = new peers.jle.LogicEngine();
    const f = engine.build(r2Logic);
    timed(S2, 'json-logic-engine 5.0.7, compiled to JS', f, r2, r2Js);
    timed(S2, 'json-logic-engine, interpreted', (p) => engine.run(r2Logic, p), r2, r2Js);
  }
  if (peers.cel) {
    const expr =
      'p.attributes.country in ["US", "CA", "GB"] && p.events.filter(e, e.name == "purchase" && ' +
      `timestamp(e.at) >= timestamp("${START_ISO}") && timestamp(e.at) <= timestamp("${AS_OF_ISO}")).size() >= 2`;
    const env = new peers.cel.Environment({ unlistedVariablesAreDyn: true });
    const f = env.parse(expr);
    timed(S2, '@marcbachmann/cel-js 8.0, parsed once', (p) => f({ p }), r2, r2Js);
  }
  if (peers.jsonLogic) timed(S2, 'json-logic-js 2.0.5', (p) => peers.jsonLogic.apply(r2Logic, p), r2, r2Js);
  if (peers.datalogic) {
    const rule = new peers.datalogic.CompiledRule(JSON.stringify(r2Logic), false);
    timed(S2, '@goplasmatic/datalogic 4.0.14, compiled rule', (p) => rule.evaluate(JSON.stringify(p)) === 'true', r2, r2Js);
  }
  timed(S2, 'segcore WASM, plain object, { asOf } options', (p) => seg2.evaluate(p, opts), r2, r2Js);
  const h2 = new Map(r2.map((p) => [p, new segcore.Profile(p)]));
  timed(S2, 'segcore WASM, Profile handle, Context', (p) => seg2.evaluate(h2.get(p), ctx), r2, r2Js);
  add(S2, '  (converting a handle: new Profile(object), then free())', bench((i) => {
    const p = new segcore.Profile(r2[i & 63]);
    p.free();
    return true;
  }, quick));

  // ------------------------------------------------------------------------------------------
  // A registry of 20 attribute rules against one visitor's profile.
  const S3 = 'Registry of 20 segments (per profile, all 20)';
  const fields = [['age', '>=', 18], ['age', '<', 30], ['ltv', '>', 500], ['ltv', '<=', 100], ['churn_score', '>=', 0.8]];
  const defs = [];
  const logics = [];
  for (let k = 0; k < 20; k++) {
    const [f, op, v] = fields[k % fields.length];
    const country = COUNTRIES[k % COUNTRIES.length];
    const plan = PLANS[k % PLANS.length];
    defs.push({ id: `seg_${String(k).padStart(2, '0')}`, version: '1.0.0', rule: `${f} ${op} ${v} and country = "${country}" and plan != "${plan}"` });
    logics.push({ and: [{ [op]: [{ var: `attributes.${f}` }, v] }, { '==': [{ var: 'attributes.country' }, country] }, { '!=': [{ var: 'attributes.plan' }, plan] }] });
  }
  const reg = segcore.Registry.fromDefinitions(defs);
  const members = (p) => reg.members(p, opts).join(',');
  if (peers.jle) {
    const engine = new peers.jle.LogicEngine();
    const fns = logics.map((l) => engine.build(l));
    const jleMembers = (p) => defs.filter((d, k) => fns[k](p)).map((d) => d.id).join(',');
    const why = disagreement((p) => jleMembers(p) === members(p), () => true, r1.slice(0, 128));
    if (why) add(S3, 'json-logic-engine compiled, 20 rules', null, why);
    else {
      add(S3, 'json-logic-engine compiled, 20 rules → { id: bool }', bench((i) => {
        const p = r1[i & 511];
        const out = {};
        for (let k = 0; k < 20; k++) out[defs[k].id] = Boolean(fns[k](p));
        return out;
      }, quick));
    }
  }
  add(S3, 'segcore WASM Registry.evaluate, plain object → { id: bool }', bench((i) => reg.evaluate(r1[i & 511], opts), quick));
  add(S3, 'segcore WASM Registry.members, plain object → [ids]', bench((i) => reg.members(r1[i & 511], opts), quick));
  add(S3, 'segcore WASM Registry.evaluate, Profile handle', bench((i) => reg.evaluate(handles1[i & 511], ctx), quick));

  return { rows, meta };
}
