// Runs every case of tests/conformance/*.json through the WASM build in headless Chromium: the
// page (served from 127.0.0.1) imports the browser build (js/web.mjs) and the same runner the Node
// runtimes use (tests/js/conformance-core.mjs), fetches the suites and runs them. Writes
// target/conformance/wasm-chromium.json for the runtime matrix.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MIN_CASES, readSuites, writeReport } from '../../tests/js/suites.mjs';
import { summary } from '../../tests/js/conformance-core.mjs';
import { REPO, collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

test('conformance suite (WASM in Chromium)', async () => {
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/bindings-wasm/tests/blank.html`);
    const names = readSuites(REPO).map((s) => s.name);
    const result = await page.evaluate(async (names) => {
      const api = await import('/bindings-wasm/js/web.mjs');
      const { runConformance } = await import('/tests/js/conformance-core.mjs');
      const suites = [];
      for (const name of names) {
        const res = await fetch(`/tests/conformance/${name}`);
        suites.push({ name, text: await res.text() });
      }
      return { result: runConformance(api, suites, 'WASM (Chromium)'), userAgent: navigator.userAgent };
    }, names);
    writeReport(REPO, 'wasm-chromium.json', result.result);
    console.log(`${result.userAgent}\n${summary(result.result)}`);
    assert.deepEqual(errors, [], 'the page logged errors');
    assert.ok(result.result.total >= MIN_CASES, `at least ${MIN_CASES} cases expected, found ${result.result.total}`);
    assert.deepEqual(result.result.failures.slice(0, 20), [], `${result.result.failures.length} case(s) failed`);
  } finally {
    await browser.close();
    await server.close();
  }
});
