#!/usr/bin/env node
// Computes what @growthbook/growthbook 1.8.0 answers for every case of the `evalCondition`
// section of the vendored GrowthBook SDK suite (peers/growthbook/cases.json) and writes it to
// peers/growthbook-oracle.json, the file the Rust import tests read.
//
//   node growthbook-oracle.mjs           regenerate peers/growthbook-oracle.json
//   node growthbook-oracle.mjs --check   recompute and compare with the file on disk (exit 1 on drift)
//
// The answers come from running evalCondition itself, never from the suite's own `expected`:
// the suite was written against a GrowthBook commit, not against the pinned release, and the
// pinned release is the reference (SPEC §29.2). How many answers differ from the suite's
// expected is printed, for information only. The condition, attributes and saved groups
// written out are the values as JavaScript parsed them, so a consumer evaluates exactly what
// the oracle evaluated.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENGINE, evaluate } from "./growthbook-engine.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const PEERS = join(HERE, "peers");
const SUITE = "growthbook/cases.json";
const OUT = join(PEERS, "growthbook-oracle.json");

function fail(message) {
  console.error(`growthbook-oracle: ${message}`);
  process.exit(2);
}

// cases.json is an object keyed by SDK function; `evalCondition` is an array of positional
// cases [name, condition, attributes, expected, savedGroups?]. The suite's harness calls
// evalCondition(attributes, condition, savedGroups ?? {}).
function* suiteCases() {
  const suite = JSON.parse(readFileSync(join(PEERS, SUITE), "utf8"));
  const section = suite.evalCondition;
  if (!Array.isArray(section)) fail(`${SUITE}: no evalCondition array`);
  let index = 0;
  for (const entry of section) {
    if (!Array.isArray(entry) || entry.length < 4 || entry.length > 5 || typeof entry[0] !== "string") {
      fail(`${SUITE}: unexpected evalCondition entry ${JSON.stringify(entry)}`);
    }
    const [name, condition, attributes, expected] = entry;
    const savedGroups = entry.length === 5 ? entry[4] : {};
    if (typeof expected !== "boolean") fail(`${SUITE}: case ${index} has a non-boolean expected`);
    yield { index: index++, name, condition, attributes, savedGroups, expected };
  }
}

function computeCases() {
  const cases = [];
  for (const c of suiteCases()) {
    const { result, throws } = evaluate(c.condition, c.attributes, c.savedGroups);
    if (throws) fail(`case ${c.index} (${c.name}) throws in ${ENGINE}`);
    cases.push({ ...c, result });
  }
  return cases;
}

// Fixed key order and one case per line, so diffs of the oracle file show exactly which
// cases changed. The suite's `expected` is not written.
function caseLine(c) {
  return JSON.stringify({
    index: c.index,
    name: c.name,
    condition: c.condition,
    attributes: c.attributes,
    savedGroups: c.savedGroups,
    result: c.result,
  });
}

function render(cases) {
  return `{"engine": ${JSON.stringify(ENGINE)}, "cases": [\n${cases.map(caseLine).join(",\n")}\n]}\n`;
}

function printCounts(cases) {
  const members = cases.filter((c) => c.result).length;
  const differ = cases.filter((c) => c.result !== c.expected);
  console.log(`${ENGINE}: ${cases.length} evalCondition cases, ${members} true, ${cases.length - members} false`);
  console.log(`  ${differ.length} differ from the suite's expected${differ.length ? ":" : ""}`);
  for (const c of differ) {
    console.log(`    ${c.index} ${JSON.stringify(c.name)}: suite ${c.expected}, ${ENGINE} ${c.result}`);
  }
}

function check(cases) {
  let onDisk;
  try {
    onDisk = readFileSync(OUT, "utf8");
  } catch (e) {
    console.error(`growthbook-oracle --check: cannot read ${OUT}: ${e.message}`);
    return 1;
  }
  const expected = render(cases);
  if (onDisk === expected) {
    console.log(`growthbook-oracle --check: ${OUT} is up to date`);
    return 0;
  }
  // Report per case (by line) rather than as one opaque byte mismatch.
  const want = expected.split("\n");
  const have = onDisk.split("\n");
  const diffs = [];
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    if (want[i] !== have[i]) diffs.push(i);
  }
  console.error(`growthbook-oracle --check: ${OUT} differs from a fresh computation on ${diffs.length} line(s)`);
  if (want.length !== have.length) console.error(`  line count: file ${have.length}, computed ${want.length}`);
  for (const i of diffs.slice(0, 5)) {
    console.error(`  line ${i + 1}:\n    file:     ${have[i] ?? "<missing>"}\n    computed: ${want[i] ?? "<missing>"}`);
  }
  console.error("  regenerate with: node tests/import/growthbook-oracle.mjs");
  return 1;
}

const args = process.argv.slice(2);
for (const a of args) if (a !== "--check") fail(`unknown argument ${a} (usage: growthbook-oracle.mjs [--check])`);

const cases = computeCases();
printCounts(cases);
if (args.includes("--check")) {
  process.exit(check(cases));
} else {
  writeFileSync(OUT, render(cases));
  console.log(`wrote ${OUT}`);
}
