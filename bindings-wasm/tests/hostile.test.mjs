// The bad-input matrix (tests/hostile/cases.json) through the WASM build in Node and in headless
// Chromium, with the shared runner tests/js/hostile-core.mjs; writes
// target/conformance/hostile-wasm-node.json and hostile-wasm-chromium.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { readHostileCases, writeJson } from '../../tests/js/suites.mjs';
import { hostileReport, runHostile } from '../../tests/js/hostile-core.mjs';
import { REPO, collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

function check(result, label) {
  console.log(`hostile (${label}): ${result.passed}/${result.total} passed`);
  for (const f of result.failures) console.log(`  FAIL ${f.name} [${f.route}]: expected ${f.expected}, got ${f.got}`);
  assert.ok(result.total >= 30, `at least 30 cases expected, found ${result.total}`);
  assert.deepEqual(result.failures, [], `${result.failures.length} failure(s)`);
}

test('bad-input matrix (WASM in Node)', async () => {
  const segcore = await import('../js/node.mjs');
  const result = runHostile(segcore, readHostileCases(REPO), 'wasm-node', 'wasm');
  writeJson(REPO, 'hostile-wasm-node.json', hostileReport(result));
  check(result, 'WASM in Node');
});

test('bad-input matrix (WASM in Chromium)', async () => {
  const server = await serveRepo();
  let browser;
  try {
    // Launched inside the `try`: when Chromium cannot start, the server is still closed (an open
    // server would keep the test process alive after the failure).
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/bindings-wasm/tests/blank.html`);
    const result = await page.evaluate(async () => {
      const api = await import('/bindings-wasm/js/web.mjs');
      const { runHostile } = await import('/tests/js/hostile-core.mjs');
      const cases = await (await fetch('/tests/hostile/cases.json')).json();
      return runHostile(api, cases, 'wasm-chromium', 'wasm');
    });
    const { hostileReport: report } = await import('../../tests/js/hostile-core.mjs');
    writeJson(REPO, 'hostile-wasm-chromium.json', report(result));
    assert.deepEqual(errors, [], 'the page logged errors');
    check(result, 'WASM in Chromium');
  } finally {
    await browser?.close();
    await server.close();
  }
});
