// Benchmarks of the Node binding beside peers (BENCHMARKS.md). Not a test: prints medians.
//
//   cd bindings-node/bench && npm install && node bench.mjs [--quick]
//
// R1 = age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500
// R2 = the country test and count(purchase within 90d) >= 2, over profiles of 200 events.
// Each figure is the median of 7 runs of a timed loop (ns per evaluation), after a warm-up.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const segcore = require('../index.js');
const HERE = path.dirname(fileURLToPath(import.meta.url));

let jle = null;
try {
  jle = require('json-logic-engine');
} catch {
  console.log('(json-logic-engine not installed: run `npm install` in bindings-node/bench for the peer rows)');
}

const QUICK = process.argv.includes('--quick');
const RUNS = 7;
const AS_OF = '2026-03-15T12:00:00Z';
const AS_OF_MS = Date.parse(AS_OF);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ns per call of fn(i), median of RUNS timed loops of n calls. */
function bench(fn, n) {
  if (QUICK) n = Math.max(1, Math.floor(n / 10));
  let sink = 0;
  for (let i = 0; i < Math.min(n, 20000); i++) sink += fn(i) ? 1 : 0; // warm-up (JIT)
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += fn(i) ? 1 : 0;
    times.push(Number(process.hrtime.bigint() - t0) / n);
  }
  if (sink === -1) console.log('');
  return median(times);
}

function row(name, ns) {
  const text = ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
  console.log(`  ${name.padEnd(62)} ${text.padStart(10)}`);
  return ns;
}

// ------------------------------------------------------------------------------------------
// Data

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const r = rng(42);
const COUNTRIES = ['US', 'CA', 'GB', 'FR', 'DE', 'JP'];
const PLANS = ['pro', 'free', 'team'];

function r1Profile(i) {
  return {
    id: `u${i}`,
    attributes: {
      age: Math.floor(r() * 70),
      country: COUNTRIES[Math.floor(r() * COUNTRIES.length)],
      plan: PLANS[Math.floor(r() * PLANS.length)],
      ltv: Math.floor(r() * 1200),
      email: `u${i}@example.com`,
      churn_score: r(),
    },
  };
}

function r2Profile(i) {
  const events = [];
  for (let k = 0; k < 200; k++) {
    const name = r() < 0.2 ? 'purchase' : r() < 0.5 ? 'login' : 'page_view';
    const at = new Date(AS_OF_MS - Math.floor(r() * 365 * 86400e3)).toISOString();
    const e = { name, at };
    if (name === 'purchase') e.properties = { amount: { amount: String(Math.floor(r() * 300)), currency: 'USD' }, sku: 'sku-1' };
    else if (name === 'page_view') e.properties = { path: '/pricing' };
    events.push(e);
  }
  return { id: `u${i}`, attributes: { country: COUNTRIES[Math.floor(r() * COUNTRIES.length)] }, events };
}

const N = 512;
const r1Data = Array.from({ length: N }, (_, i) => r1Profile(i));
const r2Data = Array.from({ length: 64 }, (_, i) => r2Profile(i));

// ------------------------------------------------------------------------------------------
// Rules

const R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500';
const R2 = 'country in ["US","CA","GB"] and count(purchase within 90d) >= 2';
const seg1 = segcore.compile(R1);
const seg2 = segcore.compile(R2);
const opts = { asOf: AS_OF };
const ctx = new segcore.Context(opts);

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

// Sanity: every engine must agree before anything is timed.
for (const p of r1Data) if (seg1.evaluate(p, opts) !== r1Js(p)) throw new Error(`R1 disagrees on ${p.id}`);
for (const p of r2Data) if (seg2.evaluate(p, opts) !== r2Js(p)) throw new Error(`R2 disagrees on ${p.id}`);

const results = {};
console.log(`segcore ${segcore.version} on Node ${process.version} (${QUICK ? 'quick' : 'full'} run; median of ${RUNS})`);

console.log('\nR1 (ns per evaluation)');
results.r1_floor = row('plain JS function (the floor)', bench((i) => r1Js(r1Data[i & (N - 1)]), 2_000_000));
if (jle) {
  const engine = new jle.LogicEngine();
  const logic = {
    and: [
      { '>=': [{ var: 'attributes.age' }, 18] },
      { in: [{ var: 'attributes.country' }, ['US', 'CA', 'GB']] },
      { '==': [{ var: 'attributes.plan' }, 'pro'] },
      { '>': [{ var: 'attributes.ltv' }, 500] },
    ],
  };
  const f = engine.build(logic);
  for (const p of r1Data) if (Boolean(f(p)) !== r1Js(p)) throw new Error('json-logic-engine R1 disagrees');
  results.r1_jle_compiled = row('json-logic-engine 5.0.7, compiled to JS', bench((i) => f(r1Data[i & (N - 1)]), 2_000_000));
  results.r1_jle_interpreted = row('json-logic-engine, interpreted', bench((i) => engine.run(logic, r1Data[i & (N - 1)]), 300_000));
}
results.r1_object = row('segcore, plain object, { asOf } options', bench((i) => seg1.evaluate(r1Data[i & (N - 1)], opts), 500_000));
results.r1_object_ctx = row('segcore, plain object, Context', bench((i) => seg1.evaluate(r1Data[i & (N - 1)], ctx), 500_000));
const r1Handles = r1Data.map((p) => new segcore.Profile(p));
results.r1_handle = row('segcore, Profile handle, Context', bench((i) => seg1.evaluate(r1Handles[i & (N - 1)], ctx), 1_000_000));
results.r1_convert = row('  (converting a Profile handle: new Profile(object))', bench((i) => new segcore.Profile(r1Data[i & (N - 1)]), 200_000));

console.log('\nR2, 200 events per profile (ns per evaluation)');
results.r2_floor = row('plain JS function (the floor)', bench((i) => r2Js(r2Data[i & 63]), 50_000));
results.r2_object = row('segcore, plain object, { asOf } options', bench((i) => seg2.evaluate(r2Data[i & 63], opts), 20_000));
const r2Handles = r2Data.map((p) => new segcore.Profile(p));
results.r2_handle = row('segcore, Profile handle, Context', bench((i) => seg2.evaluate(r2Handles[i & 63], ctx), 200_000));
results.r2_convert = row('  (converting a Profile handle: new Profile(object))', bench((i) => new segcore.Profile(r2Data[i & 63]), 5_000));

// A registry of 20 attribute rules against one request's profile, beside json-logic-engine's
// compiled JS running the same 20 rules.
console.log('\nRegistry of 20 segments, one profile per request (ns per profile, all 20 rules)');
const fields = [
  ['age', '>=', 18], ['age', '<', 30], ['ltv', '>', 500], ['ltv', '<=', 100], ['churn_score', '>=', 0.8],
];
const defs = [];
const logics = [];
for (let k = 0; k < 20; k++) {
  const [f, op, v] = fields[k % fields.length];
  const country = COUNTRIES[k % COUNTRIES.length];
  const plan = PLANS[k % PLANS.length];
  defs.push({ id: `seg_${String(k).padStart(2, '0')}`, version: '1.0.0', rule: `${f} ${op} ${v} and country = "${country}" and plan != "${plan}"` });
  const jop = op === '=' ? '==' : op;
  logics.push({ and: [{ [jop]: [{ var: `attributes.${f}` }, v] }, { '==': [{ var: 'attributes.country' }, country] }, { '!=': [{ var: 'attributes.plan' }, plan] }] });
}
const reg = segcore.Registry.fromDefinitions(defs);
if (jle) {
  const engine = new jle.LogicEngine();
  const fns = logics.map((l) => engine.build(l));
  const jleAll = (p) => {
    const out = {};
    for (let k = 0; k < 20; k++) out[defs[k].id] = Boolean(fns[k](p));
    return out;
  };
  for (const p of r1Data.slice(0, 64)) {
    const a = reg.evaluate(p, opts);
    const b = jleAll(p);
    for (const id of Object.keys(b)) if (a[id] !== b[id]) throw new Error(`registry disagrees on ${id}`);
  }
  results.reg_jle = row('json-logic-engine compiled, 20 rules → { id: bool }', bench((i) => jleAll(r1Data[i & (N - 1)]), 200_000));
}
results.reg_object = row('segcore Registry.evaluate, plain object → { id: bool }', bench((i) => reg.evaluate(r1Data[i & (N - 1)], opts), 200_000));
results.reg_members = row('segcore Registry.members, plain object → [ids]', bench((i) => reg.members(r1Data[i & (N - 1)], opts), 200_000));
results.reg_handle = row('segcore Registry.evaluate, Profile handle', bench((i) => reg.evaluate(r1Handles[i & (N - 1)], ctx), 200_000));

// evaluateMany throughput.
console.log('\nevaluateMany (libuv pool), 100,000 R1 profiles');
const many = Array.from({ length: 100_000 }, (_, i) => r1Data[i & (N - 1)]);
const t0 = process.hrtime.bigint();
await seg1.evaluateMany(many, opts);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
results.many_ms = ms;
console.log(`  ${'segcore Segment.evaluateMany'.padEnd(62)} ${ms.toFixed(1).padStart(7)} ms (${(100_000 / ms / 1000).toFixed(2)} M profiles/s)`);

if (process.argv.includes('--json')) console.log(JSON.stringify(results));
export { HERE };
