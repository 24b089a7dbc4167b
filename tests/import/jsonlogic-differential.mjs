#!/usr/bin/env node
// Generates a seeded, reproducible differential corpus for `segcore import --from jsonlogic`:
// random JSON Logic rules over a fixed typed schema, random profiles for each, and what
// json-logic-js 2.0.5 answers on every (rule, profile) pair. The Rust side imports each rule
// and must agree on every pair it does not refuse.
//
//   node jsonlogic-differential.mjs [--rules N] [--data M] [--seed S] --out FILE
//
// One JSONL line per rule:
//   {"rule": …, "schema": {"attributes": {…}}, "data": [obj, …], "truthy": [bool, …], "throws": [bool, …]}
// truthy[i] is jsonLogic.truthy(jsonLogic.apply(rule, data[i])) (false when it throws).
//
// The same arguments always give the same bytes (own PRNG; no Math.random, no clock).

import { writeFileSync } from "node:fs";
import { ENGINE, evaluate } from "./jsonlogic-engine.mjs";

// ---------------------------------------------------------------------------------------
// Arguments

function usage(message) {
  if (message) console.error(`jsonlogic-differential: ${message}`);
  console.error("usage: node jsonlogic-differential.mjs [--rules N] [--data M] [--seed S] --out FILE");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { rules: 2500, data: 48, seed: 1, out: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--rules", "--data", "--seed", "--out"].includes(flag)) usage(`unknown argument ${flag}`);
    if (value === undefined) usage(`${flag} needs a value`);
    i++;
    if (flag === "--out") {
      opts.out = value;
    } else {
      if (!/^\d+$/.test(value)) usage(`${flag} must be a non-negative integer`);
      opts[flag.slice(2)] = Number(value);
    }
  }
  if (!opts.out) usage("--out is required");
  if (opts.seed > 0xffffffff) usage("--seed must fit in 32 bits");
  return opts;
}

// ---------------------------------------------------------------------------------------
// PRNG: mulberry32. Small, fast, and (unlike Math.random) seedable, so a failing pair can be
// regenerated from its seed.

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

// ---------------------------------------------------------------------------------------
// Schema and value pools

const SCHEMA = {
  attributes: {
    age: "int",
    score: "float",
    name: "string",
    country: "string",
    vip: "bool",
    tags: "list<string>",
    nums: "list<int>",
  },
};

// An integer written verbatim into the JSON text. 2^53+1 is not a double: json-logic-js sees
// JSON.parse's rounding (2^53) while a reader with 64-bit integers sees the exact value —
// which is the point of having it in the data.
class RawNumber {
  constructor(text) {
    this.text = text;
  }
}

const TWO_53 = 2 ** 53;

// Rule literals. 2^53 + 2 is exactly representable, so rules need no raw numbers.
const RULE_INTS = [0, -1, 1, 17, 18, 19, TWO_53, TWO_53 + 2];
const RULE_FLOATS = [0.5, 1.1, 3.3, 1e21, -2.5];
const STRINGS = ["", "0", " 12 ", "0x10", "1e3", "US", "us", "null", "abc", "😀", "\uFFFF", "é"];
const RULE_LISTS = [["US", "CA"], [null, "a"], [1, 2], []];
const BOOLS = [true, false];

// Data values, per declared type.
const DATA_INTS = [0, 1, -1, 17, 18, 19, TWO_53, new RawNumber("9007199254740993")];
const DATA_FLOATS = [0.5, 1.1, 2.675, 1e21, -3.25];

const VARS_BY_TYPE = {
  num: ["age", "score"],
  str: ["name", "country"],
  bool: ["vip"],
  list: ["tags", "nums"],
};
const ALL_VARS = Object.keys(SCHEMA.attributes);

// ---------------------------------------------------------------------------------------
// Rules
//
// `gen(type, budget)` builds an expression whose natural result type is `type` (num, str,
// bool, list, or any), at most `budget` operator levels deep ({"var": …} counts as one
// level). Each rule is either type-plausible or, for ~15% of rules, "cross-type": then each
// operand slot is swapped for another type with some probability, so that coercions (string
// vs number comparisons, arithmetic on strings, …) get exercised too.

const RULE_DEPTHS = [2, 3, 3, 4, 4, 4]; // drawn per rule; never more than 4
const TYPES = ["num", "str", "bool", "list"];
let crossRate = 0; // per-slot swap probability, set per rule

function slot(type) {
  if (crossRate > 0 && chance(crossRate)) return pick([...TYPES, "null"].filter((t) => t !== type));
  return type;
}

function literal(type) {
  switch (type) {
    case "num":
      return chance(0.65) ? pick(RULE_INTS) : pick(RULE_FLOATS);
    case "str":
      return pick(STRINGS);
    case "bool":
      return pick(BOOLS);
    case "list":
      return structuredClone(pick(RULE_LISTS));
    case "null":
      return null;
    default:
      return literal(pick([...TYPES, "null"]));
  }
}

// A var read: {"var": "age"}, sometimes the array form, sometimes with a default.
function varRead(name) {
  const declared = SCHEMA.attributes[name];
  const r = rand();
  if (r < 0.12) {
    const dtype = { int: "num", float: "num", string: "str", bool: "bool" }[declared] ?? "list";
    return { var: [name, literal(slot(dtype))] };
  }
  if (r < 0.2) return { var: [name] };
  return { var: name };
}

function leaf(type) {
  if (type === "null") return null;
  if (type === "any") type = pick(TYPES);
  if (chance(0.6)) return varRead(pick(VARS_BY_TYPE[type]));
  return literal(type);
}

// Wrap a single operand in an array unless it is safe to use the unary shorthand
// ({"!": x}); an array operand must always be wrapped or it would be read as the argument list.
function unaryArgs(x) {
  return !Array.isArray(x) && chance(0.25) ? x : [x];
}

function gen(type, budget) {
  if (type === "null") return null;
  if (budget <= 1 || chance(0.3)) return leaf(type);
  if (type === "any") type = pick(TYPES);
  const sub = budget - 1;
  switch (type) {
    case "bool":
      return genBool(sub);
    case "num":
      return genNum(sub);
    case "str":
      return genStr(sub);
    default:
      return genList(sub);
  }
}

// The shape shared by every type: if (with/without else, elseif chains), ?:, and/or.
function genControl(type, sub) {
  const r = rand();
  if (r < 0.4) {
    const cond = () => gen(chance(0.8) ? "bool" : "any", sub);
    const branch = () => gen(slot(type), sub);
    const shape = pick(["if-then", "if-else", "if-else", "elseif", "elseif-no-else"]);
    if (shape === "if-then") return { if: [cond(), branch()] };
    if (shape === "if-else") return { if: [cond(), branch(), branch()] };
    const args = [cond(), branch(), cond(), branch()];
    if (shape === "elseif") args.push(branch());
    return { if: args };
  }
  if (r < 0.55) return { "?:": [gen("bool", sub), gen(slot(type), sub), gen(slot(type), sub)] };
  // and/or return one of their operands, so non-boolean operands give non-boolean results.
  const op = chance(0.5) ? "and" : "or";
  const n = int(2, 3);
  const operandType = type === "bool" && chance(0.2) ? pick(["num", "str", "list"]) : type;
  return { [op]: Array.from({ length: n }, () => gen(slot(operandType), sub)) };
}

function genBool(sub) {
  const r = rand();
  if (r < 0.3) {
    // Equality: both sides of one type (strings and numbers most often).
    const t = pick(["num", "num", "str", "str", "bool", "list"]);
    return { [pick(["==", "!=", "===", "!=="])]: [gen(slot(t), sub), gen(slot(t), sub)] };
  }
  if (r < 0.5) {
    const t = chance(0.8) ? "num" : "str";
    const op = pick(["<", "<=", ">", ">="]);
    const n = (op === "<" || op === "<=") && chance(0.25) ? 3 : 2;
    return { [op]: Array.from({ length: n }, () => gen(slot(t), sub)) };
  }
  if (r < 0.6) return { [pick(["!", "!!"])]: unaryArgs(gen(chance(0.6) ? "bool" : "any", sub)) };
  if (r < 0.75) return genControl("bool", sub);
  if (r < 0.85) return genIn(sub);
  if (r < 0.92 && sub >= 2) return genQuantifier();
  if (r < 0.96) return genMissing(); // a list, used for its truthiness
  return { "!": [genMissing()] };
}

// in: substring of a string, member of a literal list, or member of a list attribute.
function genIn(sub) {
  const shape = pick(["string", "literal-list", "var-list"]);
  if (shape === "string") return { in: [gen(slot("str"), sub), gen(slot("str"), sub)] };
  if (shape === "literal-list") {
    const needle = gen(slot(pick(["str", "str", "num"])), sub);
    return { in: [needle, structuredClone(pick(RULE_LISTS.filter((l) => l.length > 0)))] };
  }
  const list = pick(["tags", "nums"]);
  const elem = list === "tags" ? "str" : "num";
  return { in: [gen(slot(elem), sub), { var: list }] };
}

// some/none/all over a list attribute with an element equality: the only iterator shape
// the importer is expected to translate.
function genQuantifier() {
  const list = pick(["tags", "nums"]);
  const elemType = slot(list === "tags" ? "str" : "num");
  const lit = elemType === "num" ? pick(RULE_INTS) : literal(elemType);
  return { [pick(["some", "none", "all"])]: [{ var: list }, { "==": [{ var: "" }, lit] }] };
}

function genMissing() {
  const keys = Array.from({ length: int(1, 3) }, () => pick(ALL_VARS));
  if (chance(0.5)) return { missing: keys.length === 1 && chance(0.5) ? keys[0] : keys };
  return { missing_some: [int(0, keys.length), keys] };
}

function genNum(sub) {
  const r = rand();
  const operand = () => gen(slot("num"), sub);
  // A divisor is a constant most of the time; a data divisor the importer refuses.
  const divisor = () => (chance(0.85) ? literal(slot("num")) : operand());
  if (r < 0.15) return { "+": chance(0.1) ? [operand()] : [operand(), operand(), ...(chance(0.3) ? [operand()] : [])] };
  if (r < 0.27) return { "-": chance(0.1) ? [operand()] : [operand(), operand()] };
  if (r < 0.37) return { "*": [operand(), operand(), ...(chance(0.2) ? [operand()] : [])] };
  if (r < 0.47) return { "/": [operand(), divisor()] };
  if (r < 0.55) return { "%": [operand(), divisor()] };
  if (r < 0.7) return { [pick(["min", "max"])]: Array.from({ length: int(1, 3) }, operand) };
  return genControl("num", sub);
}

function genStr(sub) {
  const r = rand();
  if (r < 0.35) {
    // cat stringifies anything; a number operand is plausible ("age: " + age).
    return { cat: Array.from({ length: int(2, 3) }, () => gen(slot(chance(0.8) ? "str" : "num"), sub)) };
  }
  if (r < 0.65) {
    const args = [gen(slot("str"), sub), pick([0, 1, 2, -1, -2])];
    if (chance(0.6)) args.push(pick([0, 1, 2, 3, -1]));
    return { substr: args };
  }
  return genControl("str", sub);
}

function genList(sub) {
  const r = rand();
  if (r < 0.5) return genMissing();
  return genControl("list", sub);
}

function depth(rule) {
  if (Array.isArray(rule)) return Math.max(0, ...rule.map(depth));
  if (rule === null || typeof rule !== "object") return 0;
  return 1 + depth(Object.values(rule)[0]);
}

function readsData(rule) {
  if (Array.isArray(rule)) return rule.some(readsData);
  if (rule === null || typeof rule !== "object") return false;
  const [op, args] = Object.entries(rule)[0];
  return op === "var" || op === "missing" || op === "missing_some" || readsData(args);
}

function genRule() {
  crossRate = chance(0.15) ? 0.3 : 0;
  const top = chance(0.75) ? "bool" : pick(["num", "str", "list"]);
  const topGen = { bool: genBool, num: genNum, str: genStr, list: genList }[top];
  for (;;) {
    // The top level is an operator other than a bare read, but for a few rules (membership
    // by an attribute's own truthiness). Rules that read no data are mostly redrawn (a few
    // stay: constant folding is part of the import too).
    // Depth varies per rule: shallow rules are the ones most likely to translate, deep ones
    // stress the combinations.
    const maxDepth = pick(RULE_DEPTHS);
    const rule = chance(0.03) ? varRead(pick(ALL_VARS)) : topGen(maxDepth - 1);
    if (!readsData(rule) && chance(0.9)) continue;
    if (depth(rule) > maxDepth) throw new Error(`generator bug: depth ${depth(rule)} > ${maxDepth}: ${JSON.stringify(rule)}`);
    return { rule, cross: crossRate > 0 };
  }
}

// ---------------------------------------------------------------------------------------
// Data: each attribute independently absent (key omitted), null, or a value of its type.

function dataValue(type) {
  switch (type) {
    case "int":
      return pick(DATA_INTS);
    case "float":
      return pick(DATA_FLOATS);
    case "string":
      return pick(STRINGS);
    case "bool":
      return pick(BOOLS);
    case "list<string>":
      return Array.from({ length: int(0, 3) }, () => (chance(0.1) ? null : pick(STRINGS)));
    case "list<int>":
      return Array.from({ length: int(0, 3) }, () => (chance(0.1) ? null : pick(DATA_INTS)));
    default:
      throw new Error(`no pool for ${type}`);
  }
}

function genData() {
  const obj = {};
  for (const [name, type] of Object.entries(SCHEMA.attributes)) {
    const r = rand();
    if (r < 0.15) continue;
    obj[name] = r < 0.25 ? null : dataValue(type);
  }
  return obj;
}

// JSON text with RawNumber written verbatim. The oracle then evaluates JSON.parse of this
// very text, i.e. exactly what json-logic-js would see reading the file.
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
  const stats = { pairs: 0, throws: 0, truthy: 0, rulesThrowing: 0, mixed: 0, allTrue: 0, allFalse: 0, cross: 0 };
  const ops = new Map();
  const countOps = (rule) => {
    if (Array.isArray(rule)) return rule.forEach(countOps);
    if (rule === null || typeof rule !== "object") return;
    const [op, args] = Object.entries(rule)[0];
    ops.set(op, (ops.get(op) ?? 0) + 1);
    countOps(args);
  };

  for (let r = 0; r < opts.rules; r++) {
    const { rule, cross } = genRule();
    stats.cross += cross ? 1 : 0;
    countOps(rule);
    const dataTexts = Array.from({ length: opts.data }, () => toJson(genData()));
    const truthy = [];
    const throws = [];
    for (const text of dataTexts) {
      const res = evaluate(rule, JSON.parse(text));
      truthy.push(res.truthy);
      throws.push(res.throws);
    }
    const nTrue = truthy.filter(Boolean).length;
    stats.pairs += dataTexts.length;
    stats.truthy += nTrue;
    stats.throws += throws.filter(Boolean).length;
    stats.rulesThrowing += throws.some(Boolean) ? 1 : 0;
    if (nTrue === truthy.length) stats.allTrue++;
    else if (nTrue === 0) stats.allFalse++;
    else stats.mixed++;
    lines.push(
      `{"rule":${JSON.stringify(rule)},"schema":${schemaJson},"data":[${dataTexts.join(",")}],` +
        `"truthy":${JSON.stringify(truthy)},"throws":${JSON.stringify(throws)}}`,
    );
  }

  writeFileSync(opts.out, lines.length ? lines.join("\n") + "\n" : "");
  const ms = Number(process.hrtime.bigint() - started) / 1e6;

  console.log(`${ENGINE}, seed ${opts.seed}: ${opts.rules} rules (${stats.cross} cross-type) × ${opts.data} data = ${stats.pairs} pairs`);
  console.log(`  pairs: ${stats.truthy} truthy, ${stats.pairs - stats.truthy - stats.throws} falsy, ${stats.throws} throw (in ${stats.rulesThrowing} rules)`);
  console.log(`  rules: ${stats.mixed} with both outcomes, ${stats.allTrue} always truthy, ${stats.allFalse} never truthy`);
  console.log(`  operators: ${[...ops].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(", ")}`);
  console.log(`wrote ${opts.out} in ${ms.toFixed(0)} ms`);
}

main();
