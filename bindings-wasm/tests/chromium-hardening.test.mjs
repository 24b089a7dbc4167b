// The hardening regression tests (tests/js/hardening-core.mjs) and the WebAssembly trap recovery
// (tests/js/trap-core.mjs) in headless Chromium, against the browser build (js/web.mjs): the page
// runs each test and reports failures by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

test('hardening and trap recovery (WASM in Chromium)', async () => {
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/bindings-wasm/tests/blank.html`);
    const results = await page.evaluate(async () => {
      const api = await import('/bindings-wasm/js/web.mjs');
      const { hardeningTests } = await import('/tests/js/hardening-core.mjs');
      const { trapTests } = await import('/tests/js/trap-core.mjs');
      const out = [];
      for (const [name, fn] of [...hardeningTests(api), ...trapTests(api)]) {
        try {
          await fn();
          out.push({ name, ok: true });
        } catch (e) {
          out.push({ name, ok: false, error: `${e?.constructor?.name}: ${e?.message}` });
        }
      }
      return out;
    });
    for (const r of results) console.log(`${r.ok ? 'ok' : 'FAILED'} - ${r.name}${r.ok ? '' : `: ${r.error}`}`);
    assert.ok(results.length >= 10, `expected at least 10 tests, ran ${results.length}`);
    assert.deepEqual(results.filter((r) => !r.ok), [], 'failed in Chromium');
    assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await browser.close();
    await server.close();
  }
});
