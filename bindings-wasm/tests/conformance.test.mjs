// Runs every case of tests/conformance/*.json through the WASM build in Node (the shared runner,
// tests/js/conformance-core.mjs), prints a per-suite summary and the failures, writes
// target/conformance/wasm-node.json for the runtime matrix (scripts/conformance_matrix.py), and fails
// on any case that does not give the expected result.
//
// One test on purpose: 1,400+ separate tests would flood the output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MIN_CASES, readSuites, writeReport } from '../../tests/js/suites.mjs';
import { runConformance, summary } from '../../tests/js/conformance-core.mjs';

const segcore = await import('../js/node.mjs');
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('conformance suite (WASM in Node)', () => {
  const result = runConformance(segcore, readSuites(REPO), 'WASM (Node)');
  writeReport(REPO, 'wasm-node.json', result);
  console.log(summary(result));
  assert.ok(result.total >= MIN_CASES, `the suite must have at least ${MIN_CASES} cases, found ${result.total}`);
  assert.deepEqual(result.failures.slice(0, 20), [], `${result.failures.length} conformance case(s) failed`);
});
