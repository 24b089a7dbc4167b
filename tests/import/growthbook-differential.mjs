#!/usr/bin/env node
// Generates a seeded, reproducible differential corpus for `segcore import --from growthbook`:
// random GrowthBook targeting conditions over a fixed typed schema, random attribute objects
// for each, and what evalCondition of @growthbook/growthbook 1.8.0 answers on every
// (condition, attributes) pair. The Rust side imports each condition (with the line's saved
// groups) and must agree on every pair it does not refuse.
//
//   node growthbook-differential.mjs [--rules N] [--data M] [--seed S] --out FILE
//
// (the CLI of jsonlogic-differential.mjs; --conditions is a synonym of --rules).
//
// One JSONL line per condition:
//   {"condition": …, "schema": {"attributes": {…}}, "saved_groups": {…}, "data": [obj, …], "result": [bool, …]}
// result[i] is evalCondition(data[i], condition, saved_groups) === true.
//
// The same arguments always give the same bytes (own PRNG; no Math.random, no clock).

import { writeFileSync } from "node:fs";
import { ENGINE, evaluate } from "./growthbook-engine.mjs";

// ---------------------------------------------------------------------------------------
// Arguments

function usage(message) {
  if (message) console.error(`growthbook-differential: ${message}`);
  console.error("usage: node growthbook-differential.mjs [--rules N] [--data M] [--seed S] --out FILE");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { rules: 3000, data: 40, seed: 1, out: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--rules", "--conditions", "--data", "--seed", "--out"].includes(flag)) usage(`unknown argument ${flag}`);
    if (value === undefined) usage(`${flag} needs a value`);
    i++;
    if (flag === "--out") {
      opts.out = value;
    } else {
      if (!/^\d+$/.test(value)) usage(`${flag} must be a non-negative integer`);
      opts[flag === "--conditions" ? "rules" : flag.slice(2)] = Number(value);
    }
  }
  if (!opts.out) usage("--out is required");
  if (opts.seed > 0xffffffff) usage("--seed must fit in 32 bits");
  return opts;
}

// ---------------------------------------------------------------------------------------
// PRNG: mulberry32 (as in jsonlogic-differential.mjs), so a failing pair can be regenerated
// from its seed.

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let rand = mulberry32(1);
const chance = (p) => rand() < p;
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const pickSome = (xs, lo, hi) => Array.from({ length: int(lo, hi) }, () => pick(xs));

// ---------------------------------------------------------------------------------------
// Schema, saved groups and value pools

const SCHEMA = {
  attributes: {
    age: "int",
    score: "float",
    name: "string",
    country: "string",
    vip: "bool",
    tags: "list<string>",
    nums: "list<int>",
    version: "string",
    "user.plan": "string",
  },
};

// The same saved groups on every line: v1 bare arrays, a v2 list entry, a malformed entry
// (fails both $inGroup and $notInGroup) and, by omission, unknown ids (an empty list).
const SAVED_GROUPS = {
  countries: ["US", "CA", "DE"],
  names: ["abc", "", "null"],
  ages: [18, 21, 0],
  mixed: [1, "1", "US", true],
  plans: { type: "list", values: ["pro", "team"] },
  broken: { type: "condition", condition: { vip: true } },
};
const GROUP_IDS = [...Object.keys(SAVED_GROUPS), "unknown"];

// An integer written verbatim into the JSON text (see jsonlogic-differential.mjs): the engine
// sees JSON.parse's rounding (2^53), a 64-bit reader the exact value.
class RawNumber {
  constructor(text) {
    this.text = text;
  }
}
const TWO_53 = 2 ** 53;

// Data pools, per declared type.
const DATA_INTS = [0, 1, -1, 17, 18, 19, 21, 65, 100, TWO_53, new RawNumber("9007199254740993")];
const DATA_FLOATS = [0.5, 1.1, 2.675, -3.25, 0.1, 18.5, 1e21];
const DATA_STRINGS = ["", "0", "18", " 12 ", "US", "us", "Us", "CA", "DE", "null", "abc", "ABC", "true", "a", "b", "é", "É", "😀", "\uFFFF"];
const DATA_PLANS = ["free", "pro", "PRO", "team", "", "null"];
// Strict SemVer inside contract V (major/minor/patch < 100000, numeric pre-release identifiers
// < 10000, no "-" inside a pre-release identifier, no leading v).
const DATA_VERSIONS = [
  "0.0.0", "0.0.1", "0.1.0", "1.0.0", "1.0.0-0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
  "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0+build.7", "1.0.0-rc.1+b",
  "1.2.3", "1.2.3-9999", "1.2.10", "1.10.0", "2.0.0", "10.0.0", "99999.99999.99999",
];

// Condition literals. Strings used in order comparisons are ASCII (no A3 question).
const COND_INTS = [0, 1, -1, 17, 18, 19, 21, 65, 100];
const COND_FLOATS = [0, 1, 0.5, 1.1, 2.675, -3.25, 0.1, 18.5, 18];
const COND_STRINGS = ["", "US", "us", "CA", "null", "abc", "a", "b", "18", "0", "true", "M"];
const COND_STRINGS_LOWER = ["us", "ca", "abc", "a", "de", "Us", "ABC", ""];
const COND_PLANS = ["free", "pro", "team", "", "null"];
const COND_VERSIONS = ["0.0.1", "1.0.0", "1.0.0-alpha", "1.0.0-beta.2", "v1.2.0", "1.2.3", "1.2.3-9999", "1.10.0", "2.0.0", "1.0.0+meta"];
// Outside contract V: the importer must refuse these.
const BAD_VERSIONS = ["1.2.3.4", "1.2", "1.0.0-a-b", "100000.0.0", "1.0.0-10000", "01.0.0"];

const KIND = {
  age: "num",
  score: "num",
  name: "str",
  country: "str",
  "user.plan": "plan",
  vip: "bool",
  tags: "tags",
  nums: "nums",
  version: "version",
};
const PATHS = Object.keys(KIND);

// ---------------------------------------------------------------------------------------
// Conditions
//
// condition(depth): an object of 1–3 keys; each key is an attribute path with a condition
// value, or (while depth allows) $and / $or / $nor / $not over sub-conditions. About 10% of
// the leaves are constructs the importer refuses (regex, $alli, a string read against a
// number, …), so most conditions import and some are refused.

let refusedLeaves = 0;
const REFUSE_RATE = 0.045; // per leaf: about 10% of the conditions hold a construct to refuse

// A $type argument: mostly the declared type's name or "null", sometimes any other.
function typeName(kind) {
  const own = { num: "number", str: "string", plan: "string", bool: "boolean", tags: "array", nums: "array" }[kind];
  const r = rand();
  if (r < 0.45) return own;
  if (r < 0.75) return "null";
  return pick(["null", "string", "number", "boolean", "array", "object", "undefined"]);
}

// A number literal for a path: mostly of the path's own data pool, sometimes the other one.
let numPool = COND_INTS;
function numLit() {
  return pick(chance(0.85) ? numPool : numPool === COND_INTS ? COND_FLOATS : COND_INTS);
}

function opObject(entries) {
  const o = {};
  for (const [k, v] of entries) o[k] = v;
  return o;
}

// A comparison operator object for a scalar of the given kind (1–2 operators).
function scalarOps(kind) {
  const n = chance(0.75) ? 1 : 2;
  const entries = [];
  for (let i = 0; i < n; i++) entries.push(scalarOp(kind));
  return opObject(entries);
}

function scalarOp(kind) {
  const lit = () => (kind === "num" ? numLit() : kind === "bool" ? pick([true, false]) : kind === "plan" ? pick(COND_PLANS) : pick(COND_STRINGS));
  const r = rand();
  if (r < 0.14) return [pick(["$eq", "$ne"]), chance(0.1) ? null : lit()];
  if (r < 0.3 && kind !== "bool") return [pick(["$lt", "$lte", "$gt", "$gte"]), lit()];
  if (r < 0.38) return ["$exists", pick([true, false])];
  if (r < 0.55) {
    const items = Array.from({ length: chance(0.1) ? 0 : int(1, 3) }, lit);
    if (chance(0.2)) items.push(null);
    return [pick(["$in", "$in", "$nin"]), items];
  }
  if (r < 0.57) return [pick(["$in", "$nin"]), lit()]; // non-array argument: fails
  if (r < 0.68 && (kind === "str" || kind === "plan")) {
    return [pick(["$ini", "$nini"]), Array.from({ length: int(1, 3) }, () => pick(COND_STRINGS_LOWER))];
  }
  if (r < 0.75) return ["$type", typeName(kind)];
  if (r < 0.82) return ["$not", chance(0.5) ? lit() : scalarOps(kind)];
  if (r < 0.9 && kind !== "bool") return [pick(["$inGroup", "$notInGroup"]), pick(GROUP_IDS)];
  if (r < 0.93) return [pick(["$foo", "$exist", "$size"]), lit()]; // unknown or never-passing
  return [pick(["$eq", "$ne"]), lit()];
}

// Implicit (non-operator) condition values for a scalar kind.
function scalarImplicit(kind) {
  const r = rand();
  if (r < 0.12) return null;
  if (r < 0.24) return pick([true, false]);
  switch (kind) {
    case "num":
      return chance(0.8) ? numLit() : pick(["18", "0", "0.5", "-1"]); // ToString of a number
    case "bool":
      return pick([0, 1, "true", "false", true, false]);
    case "plan":
      return pick(COND_PLANS);
    default:
      return pick(COND_STRINGS);
  }
}

function listOps(kind) {
  const elem = () => (kind === "tags" ? pick(["a", "b", "abc", "US", "", "null"]) : pick([0, 1, 18, 21, -1]));
  const r = rand();
  if (r < 0.25) return { [pick(["$in", "$in", "$nin"])]: Array.from({ length: int(0, 3) }, elem) };
  if (r < 0.4) return { $all: Array.from({ length: int(0, 2) }, elem) };
  if (r < 0.55) return { $elemMatch: chance(0.5) ? { $eq: elem() } : { $in: Array.from({ length: int(1, 3) }, elem) } };
  if (r < 0.7) return { $size: chance(0.5) ? int(0, 3) : { [pick(["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"])]: int(0, 3) } };
  if (r < 0.78) return { $exists: pick([true, false]) };
  if (r < 0.84) return { $type: typeName(kind) };
  if (r < 0.9) return { $not: listOps(kind) };
  if (r < 0.95) return { [pick(["$inGroup", "$notInGroup"])]: pick(GROUP_IDS) };
  // Array equality (JSON.stringify) against a list of the element type.
  return Array.from({ length: int(0, 2) }, elem);
}

function versionOps() {
  const n = chance(0.7) ? 1 : 2;
  const o = {};
  for (let i = 0; i < n; i++) o[pick(["$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte"])] = pick(COND_VERSIONS);
  if (chance(0.1)) return { $not: o };
  return o;
}

// A construct the importer refuses (SPEC §29.2), as a [path, value] pair.
function refusedLeaf() {
  refusedLeaves++;
  const r = int(0, 10);
  switch (r) {
    case 0:
      return [pick(["name", "country"]), { [pick(["$regex", "$regexi"])]: pick(["^a", "S$", "b+", "[A-Z]"]) }];
    case 1:
      return ["tags", { $alli: [pick(["a", "B"])] }];
    case 2:
      return ["nums", { $elemMatch: { [pick(["$gt", "$lt", "$ne"])]: int(0, 20) } }];
    case 3:
      return [pick(["tags"]), { $ini: ["a", "us"] }];
    case 4:
      return [pick(["name", "country"]), { [pick(["$gt", "$lt", "$gte"])]: pick([5, 0, 18]) }];
    case 5:
      return [pick(["name", "country"]), pick([5, 0, 18])]; // implicit number on a string: ToNumber
    case 6:
      return [pick(["plan", "email"]), chance(0.5) ? "pro" : { $exists: true }]; // untyped
    case 7:
      return ["version", { [pick(["$vgt", "$vlt", "$veq"])]: pick(BAD_VERSIONS) }];
    case 8:
      return ["tags", { $in: ["a", null] }]; // null item against a list attribute
    case 9:
      return [pick(["constructor", "toString"]), { $exists: true }];
    default:
      return ["$savedGroup", { id: pick(["plans", "countries"]) }];
  }
}

function leaf() {
  if (chance(REFUSE_RATE)) return refusedLeaf();
  const path = pick(PATHS);
  const kind = KIND[path];
  numPool = path === "score" ? COND_FLOATS : COND_INTS;
  switch (kind) {
    case "tags":
    case "nums":
      return [path, chance(0.06) ? pick([true, false]) : listOps(kind)];
    case "version":
      return [path, versionOps()];
    default:
      return [path, chance(0.35) ? scalarImplicit(kind) : scalarOps(kind)];
  }
}

function condition(depth) {
  const c = {};
  const keys = pick([1, 1, 1, 1, 2, 2, 2, 3, 3]);
  for (let i = 0; i < keys; i++) {
    if (depth > 0 && chance(0.3)) {
      const op = pick(["$and", "$or", "$or", "$nor", "$not"]);
      if (op in c) continue;
      c[op] = op === "$not" ? condition(depth - 1) : Array.from({ length: int(0, 3) }, () => condition(depth - 1));
    } else {
      const [path, value] = leaf();
      if (path in c) continue;
      c[path] = value;
    }
  }
  return c;
}

function logicDepth(c) {
  let d = 0;
  for (const [k, v] of Object.entries(c)) {
    if (k === "$not") d = Math.max(d, 1 + logicDepth(v));
    else if (k === "$and" || k === "$or" || k === "$nor") d = Math.max(d, 1 + Math.max(0, ...v.map(logicDepth)));
  }
  return d;
}

function readsData(c) {
  return Object.entries(c).some(([k, v]) =>
    k === "$not" ? readsData(v) : k === "$and" || k === "$or" || k === "$nor" ? v.some(readsData) : true,
  );
}

const MAX_LOGIC_DEPTH = 3;

function genCondition() {
  for (;;) {
    const c = condition(pick([0, 1, 1, 2, 2, 3]));
    // Conditions that read nothing ({} or only empty $or/$nor) are mostly redrawn.
    if (!readsData(c) && chance(0.9)) continue;
    if (logicDepth(c) > MAX_LOGIC_DEPTH) throw new Error(`generator bug: depth ${logicDepth(c)}: ${JSON.stringify(c)}`);
    return c;
  }
}

// ---------------------------------------------------------------------------------------
// Data: each attribute independently absent (key omitted, ~15%), null (~10%) or a value of
// its declared type; list elements are of the element type or null. user.plan is nested:
// `user` itself is absent, null, {} or {"plan": …}.

function listOf(pool) {
  return Array.from({ length: int(0, 3) }, () => (chance(0.1) ? null : pick(pool)));
}

function dataValue(path) {
  switch (path) {
    case "age":
      return pick(DATA_INTS);
    case "score":
      return pick(DATA_FLOATS);
    case "name":
    case "country":
      return pick(DATA_STRINGS);
    case "vip":
      return pick([true, false]);
    case "tags":
      return listOf(["a", "b", "abc", "US", "", "null", "A"]);
    case "nums":
      return listOf([0, 1, 18, 21, -1, TWO_53]);
    case "version":
      return pick(DATA_VERSIONS);
    default:
      throw new Error(`no pool for ${path}`);
  }
}

function genData() {
  const obj = {};
  for (const path of PATHS) {
    const r = rand();
    if (path === "user.plan") {
      if (r < 0.1) continue;
      if (r < 0.15) {
        obj.user = null;
        continue;
      }
      const user = {};
      const r2 = rand();
      if (r2 >= 0.15) user.plan = r2 < 0.25 ? null : pick(DATA_PLANS);
      obj.user = user;
      continue;
    }
    if (r < 0.15) continue;
    obj[path] = r < 0.25 ? null : dataValue(path);
  }
  return obj;
}

// JSON text with RawNumber written verbatim. The engine then evaluates JSON.parse of this very
// text, i.e. exactly what GrowthBook would see reading the file.
function toJson(value) {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------

function main() {
  const opts = parseArgs(process.argv.slice(2));
  rand = mulberry32(opts.seed);
  const started = process.hrtime.bigint();

  const lines = [];
  const schemaJson = JSON.stringify(SCHEMA);
  const groupsJson = JSON.stringify(SAVED_GROUPS);
  const stats = { pairs: 0, members: 0, mixed: 0, allTrue: 0, allFalse: 0, withRefused: 0 };
  const ops = new Map();
  const countOps = (value) => {
    if (Array.isArray(value)) return value.forEach(countOps);
    if (value === null || typeof value !== "object") return;
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith("$")) ops.set(k, (ops.get(k) ?? 0) + 1);
      countOps(v);
    }
  };

  for (let n = 0; n < opts.rules; n++) {
    const before = refusedLeaves;
    const cond = genCondition();
    stats.withRefused += refusedLeaves > before ? 1 : 0;
    countOps(cond);
    const dataTexts = Array.from({ length: opts.data }, () => toJson(genData()));
    const result = [];
    for (const text of dataTexts) {
      const res = evaluate(cond, JSON.parse(text), SAVED_GROUPS);
      if (res.throws) throw new Error(`generator bug: evalCondition throws on ${JSON.stringify(cond)} / ${text}`);
      result.push(res.result);
    }
    const nTrue = result.filter(Boolean).length;
    stats.pairs += dataTexts.length;
    stats.members += nTrue;
    if (nTrue === result.length) stats.allTrue++;
    else if (nTrue === 0) stats.allFalse++;
    else stats.mixed++;
    lines.push(
      `{"condition":${JSON.stringify(cond)},"schema":${schemaJson},"saved_groups":${groupsJson},` +
        `"data":[${dataTexts.join(",")}],"result":${JSON.stringify(result)}}`,
    );
  }

  writeFileSync(opts.out, lines.length ? lines.join("\n") + "\n" : "");
  const ms = Number(process.hrtime.bigint() - started) / 1e6;

  console.log(`${ENGINE}, seed ${opts.seed}: ${opts.rules} conditions (${stats.withRefused} with a construct to refuse) × ${opts.data} data = ${stats.pairs} pairs`);
  console.log(`  pairs: ${stats.members} true, ${stats.pairs - stats.members} false`);
  console.log(`  conditions: ${stats.mixed} with both outcomes, ${stats.allTrue} always true, ${stats.allFalse} never true`);
  console.log(`  operators: ${[...ops].sort((a, b) => b[1] - a[1]).map(([op, k]) => `${op} ${k}`).join(", ")}`);
  console.log(`wrote ${opts.out} in ${ms.toFixed(0)} ms`);
}

main();
