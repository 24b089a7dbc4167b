// Runs every case of tests/conformance/*.json through the Node binding (the shared runner,
// tests/js/conformance-core.mjs), prints a per-suite summary and the failures, writes
// target/conformance/node.json for the runtime matrix (scripts/conformance_matrix.py), and fails
// on any case that does not give the expected result.
//
// One test on purpose: 1,400+ separate tests would flood the output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MIN_CASES, readSuites, writeReport } from '../../tests/js/suites.mjs';
import { runConformance, summary } from '../../tests/js/conformance-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('conformance suite (Node)', () => {
  const result = runConformance(segcore, readSuites(REPO), 'Node');
  writeReport(REPO, 'node.json', result);
  console.log(summary(result));
  assert.ok(result.total >= MIN_CASES, `the suite must have at least ${MIN_CASES} cases, found ${result.total}`);
  assert.deepEqual(result.failures.slice(0, 20), [], `${result.failures.length} conformance case(s) failed`);
});
