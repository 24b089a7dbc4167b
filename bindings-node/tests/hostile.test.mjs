// The bad-input matrix (tests/hostile/cases.json) through the Node binding, with the shared runner
// tests/js/hostile-core.mjs; writes target/conformance/hostile-node.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readHostileCases, writeJson } from '../../tests/js/suites.mjs';
import { hostileReport, runHostile } from '../../tests/js/hostile-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('bad-input matrix (Node)', () => {
  const result = runHostile(segcore, readHostileCases(REPO), 'node', 'node');
  writeJson(REPO, 'hostile-node.json', hostileReport(result));
  console.log(`hostile (Node): ${result.passed}/${result.total} passed`);
  for (const f of result.failures) console.log(`  FAIL ${f.name} [${f.route}]: expected ${f.expected}, got ${f.got}`);
  assert.ok(result.total >= 30, `at least 30 cases expected, found ${result.total}`);
  assert.deepEqual(result.failures, [], `${result.failures.length} failure(s)`);
});
