// SPEC §28 in a browser: the WASM build in headless Chromium subscribes to a real `segcore serve`
// on another origin (CORS), follows a publication made by the test, and evaluates on each bundle
// — the same answers the service's own POST /evaluate gives for that bundle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { collectPageErrors, launchChromium, serveRepo } from './browser.mjs';
import { AS_OF, PROFILE, definitions, startService } from '../../tests/js/serve-support.mjs';

const { Registry } = createRequire(import.meta.url)('../../bindings-node/index.js');

test('a browser subscribes to the registry service and follows a publication', async () => {
  const first = Registry.fromDefinitions(definitions(500, '1.0.0')).toBundle();
  const second = Registry.fromDefinitions(definitions(600, '1.1.0')).toBundle();
  const secondHash = Registry.fromBundle(second).bundleHash;
  const site = await serveRepo();
  const service = await startService(first, { cors: site.url });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${site.url}/bindings-wasm/tests/blank.html`);
    const before = await page.evaluate(
      async ([url, profile, asOf]) => {
        const { Registry } = await import('/bindings-wasm/js/web.mjs');
        window.sub = await Registry.subscribe(url, { wait: 5 });
        window.answer = () => ({ hash: window.sub.bundleHash, members: window.sub.evaluate(profile, { asOf }) });
        return window.answer();
      },
      [service.url, PROFILE, AS_OF],
    );
    assert.equal(before.hash, Registry.fromBundle(first).bundleHash);
    assert.deepEqual(before.members, { adults: true, big_spender: true });

    service.publish(second);
    const after = await page.evaluate(async (hash) => {
      await window.sub.waitFor(hash, { timeout: 20000 });
      const answer = window.answer();
      // The service, asked from the page for this very bundle, agrees.
      const res = await fetch(`${window.sub.url}/evaluate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'if-match': `"${hash}"` },
        body: JSON.stringify({ profile: { id: 'u1', attributes: { age: 30 }, events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: 550 } }] }, as_of: '2026-03-20T00:00:00Z' }),
      });
      const served = await res.json();
      window.sub.close();
      return { ...answer, served, etag: res.headers.get('etag'), updates: window.sub.updates };
    }, secondHash);
    assert.equal(after.hash, secondHash);
    assert.deepEqual(after.members, { adults: true, big_spender: false });
    assert.equal(after.updates, 1);
    assert.equal(after.served.bundle, secondHash);
    assert.equal(after.etag, `"${secondHash}"`);
    assert.deepEqual(after.served.members, ['adults']);
    assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await browser.close();
    await service.close();
    await site.close();
  }
});
