#!/usr/bin/env node
// Computes what json-logic-js 2.0.5 answers for every case of the vendored JSON Logic peer
// suites and writes it to peers/jsonlogic-oracle.json, the file the Rust import tests read.
//
//   node jsonlogic-oracle.mjs           regenerate peers/jsonlogic-oracle.json
//   node jsonlogic-oracle.mjs --check   recompute and compare with the file on disk (exit 1 on drift)
//
// The answers come from running json-logic-js itself, never from the suites' own `expected`
// / `result` / `error` fields: the compat-tables specify the "community" JSON Logic behaviour
// of json-logic-engine and DataLogic, which differs from json-logic-js in many places
// (`null == 0`, chained comparisons, NaN errors, unknown operators such as `val`). The rule and data written out are the values as JavaScript parsed them
// (e.g. integers beyond 2^53 already rounded), so a consumer evaluates exactly what the
// oracle evaluated.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENGINE, evaluate } from "./jsonlogic-engine.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const PEERS = join(HERE, "peers");
const OUT = join(PEERS, "jsonlogic-oracle.json");

function readJson(relPath) {
  return JSON.parse(readFileSync(join(PEERS, relPath), "utf8"));
}

function fail(message) {
  console.error(`jsonlogic-oracle: ${message}`);
  process.exit(2);
}

// tests.json: an array of comment strings and [rule, data, expected] triples.
function* jsonlogicOrgCases() {
  const suite = "jsonlogic/tests.json";
  let index = 0;
  for (const entry of readJson(suite)) {
    if (typeof entry === "string") continue;
    if (!Array.isArray(entry) || entry.length !== 3) fail(`${suite}: unexpected entry ${JSON.stringify(entry)}`);
    yield { suite, index: index++, rule: entry[0], data: entry[1] };
  }
}

// compat-tables: suites/index.json lists the files (in this order); each file is an array
// of comment strings and {description, rule, data?, result | error} objects.
function* compatTablesCases() {
  const base = "jsonlogic-compat-tables/suites";
  for (const file of readJson(`${base}/index.json`)) {
    const suite = `${base}/${file}`;
    let index = 0;
    for (const entry of readJson(suite)) {
      if (typeof entry === "string") continue;
      if (entry === null || typeof entry !== "object" || Array.isArray(entry) || !("rule" in entry)) {
        fail(`${suite}: unexpected entry ${JSON.stringify(entry)}`);
      }
      // A missing `data` is undefined in the suite's own runner; json-logic-js treats
      // undefined and null data alike, and null is representable in JSON.
      yield { suite, index: index++, rule: entry.rule, data: "data" in entry ? entry.data : null };
    }
  }
}

function computeCases() {
  const cases = [];
  for (const c of [...jsonlogicOrgCases(), ...compatTablesCases()]) {
    const { throws, truthy } = evaluate(c.rule, c.data);
    cases.push({ suite: c.suite, index: c.index, rule: c.rule, data: c.data, throws, truthy });
  }
  return cases;
}

// Fixed key order (the object literal above) and one case per line, so diffs of the oracle
// file show exactly which cases changed.
function caseLine(c) {
  return JSON.stringify({
    suite: c.suite,
    index: c.index,
    rule: c.rule,
    data: c.data,
    throws: c.throws,
    truthy: c.truthy,
  });
}

function render(cases) {
  return `{"engine": ${JSON.stringify(ENGINE)}, "cases": [\n${cases.map(caseLine).join(",\n")}\n]}\n`;
}

function printCounts(cases) {
  const bySuiteFamily = new Map();
  let throws = 0;
  let truthy = 0;
  for (const c of cases) {
    const family = c.suite.split("/")[0];
    const f = bySuiteFamily.get(family) ?? { cases: 0, throws: 0, truthy: 0 };
    f.cases++;
    f.throws += c.throws ? 1 : 0;
    f.truthy += c.truthy ? 1 : 0;
    bySuiteFamily.set(family, f);
    throws += c.throws ? 1 : 0;
    truthy += c.truthy ? 1 : 0;
  }
  for (const [family, f] of bySuiteFamily) {
    console.log(
      `  ${family}: ${f.cases} cases, ${f.throws} throw, ${f.truthy} truthy, ${f.cases - f.truthy - f.throws} falsy`,
    );
  }
  console.log(
    `${ENGINE}: ${cases.length} cases, ${throws} throw, ${truthy} truthy, ${cases.length - truthy - throws} falsy (not throwing)`,
  );
}

function check(cases) {
  let onDisk;
  try {
    onDisk = readFileSync(OUT, "utf8");
  } catch (e) {
    console.error(`jsonlogic-oracle --check: cannot read ${OUT}: ${e.message}`);
    return 1;
  }
  const expected = render(cases);
  if (onDisk === expected) {
    console.log(`jsonlogic-oracle --check: ${OUT} is up to date`);
    return 0;
  }
  // Report per case (by line) rather than as one opaque byte mismatch.
  const want = expected.split("\n");
  const have = onDisk.split("\n");
  const diffs = [];
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    if (want[i] !== have[i]) diffs.push(i);
  }
  console.error(`jsonlogic-oracle --check: ${OUT} differs from a fresh computation on ${diffs.length} line(s)`);
  if (want.length !== have.length) console.error(`  line count: file ${have.length}, computed ${want.length}`);
  for (const i of diffs.slice(0, 5)) {
    console.error(`  line ${i + 1}:\n    file:     ${have[i] ?? "<missing>"}\n    computed: ${want[i] ?? "<missing>"}`);
  }
  console.error("  regenerate with: node tests/import/jsonlogic-oracle.mjs");
  return 1;
}

const args = process.argv.slice(2);
for (const a of args) if (a !== "--check") fail(`unknown argument ${a} (usage: jsonlogic-oracle.mjs [--check])`);

const cases = computeCases();
printCounts(cases);
if (args.includes("--check")) {
  process.exit(check(cases));
} else {
  writeFileSync(OUT, render(cases));
  console.log(`wrote ${OUT}`);
}
