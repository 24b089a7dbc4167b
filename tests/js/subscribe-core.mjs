// `Registry.subscribe` (SPEC §28) against a real `segcore serve`, shared by the Node binding and
// the WASM build (both get the API from bindings-wasm/js/api.mjs): the first bundle, swaps as
// bundles are published, a source that fails to load never swapped in, evaluations during
// publications that each see one bundle, the service's /evaluate equal to the runtime's.

import assert from 'node:assert/strict';

import { AS_OF, PROFILE, definitions, startService } from './serve-support.mjs';

export function subscribeTests(segcore) {
  const { Registry } = segcore;
  const bundle = (threshold, version) => Registry.fromDefinitions(definitions(threshold, version)).toBundle();

  return [
    [
      'subscribe: the first bundle, then each publication swapped in whole',
      async () => {
        const first = bundle(500, '1.0.0');
        const service = await startService(first);
        const changes = [];
        const sub = await Registry.subscribe(service.url, { wait: 5, onChange: (r) => changes.push(r.bundleHash) });
        try {
          assert.equal(sub.bundleHash, Registry.fromBundle(first).bundleHash);
          assert.deepEqual(sub.evaluate(PROFILE, { asOf: AS_OF }), { adults: true, big_spender: true });

          // The service evaluates exactly as this runtime does on the same bundle.
          const res = await fetch(`${service.url}/evaluate`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'if-match': `"${sub.bundleHash}"` },
            body: JSON.stringify({ profile: PROFILE, as_of: AS_OF }),
          });
          assert.equal(res.status, 200);
          const served = await res.json();
          assert.equal(served.bundle, sub.bundleHash);
          assert.deepEqual(served.outcomes, sub.registry.outcomes(PROFILE, { asOf: AS_OF }));

          const second = bundle(600, '1.1.0');
          const secondHash = Registry.fromBundle(second).bundleHash;
          service.publish(second);
          assert.equal(await sub.waitFor(secondHash, { timeout: 20_000 }), secondHash);
          assert.deepEqual(sub.evaluate(PROFILE, { asOf: AS_OF }), { adults: true, big_spender: false });
          assert.deepEqual(changes, [secondHash]);
          assert.equal(sub.updates, 1);
          assert.equal(sub.lastError, null);

          // A bundle that does not load is not published by the service; nothing is swapped.
          service.publish(second.replace('> 600', '> '));
          await assert.rejects(sub.waitFor(undefined, { timeout: 1500 }), /did not arrive/);
          assert.equal(sub.bundleHash, secondHash);
          const health = await (await fetch(`${service.url}/health`)).json();
          assert.match(health.last_error.message, /bundle/);

          const third = bundle(700, '1.2.0');
          service.publish(third);
          await sub.waitFor(Registry.fromBundle(third).bundleHash, { timeout: 20_000 });
        } finally {
          sub.close();
          await service.close();
        }
      },
    ],
    [
      'subscribe: evaluations during publications each see one bundle',
      async () => {
        const service = await startService(bundle(500, '1.0.0'));
        const sub = await Registry.subscribe(service.url, { wait: 5 });
        const expected = new Map([[sub.bundleHash, true]]);
        const seen = [];
        let running = true;
        // Evaluations interleaved with the subscription's work on the one event loop.
        const evaluating = (async () => {
          while (running) {
            const reg = sub.registry;
            seen.push([reg.bundleHash, reg.evaluate(PROFILE, { asOf: AS_OF }).big_spender]);
            await new Promise((r) => setTimeout(r, 1));
          }
        })();
        try {
          for (const [threshold, version] of [[600, '1.1.0'], [540, '1.2.0'], [560, '1.3.0']]) {
            const text = bundle(threshold, version);
            const hash = Registry.fromBundle(text).bundleHash;
            expected.set(hash, 550 > threshold);
            service.publish(text);
            await sub.waitFor(hash, { timeout: 20_000 });
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          running = false;
          await evaluating;
          sub.close();
          await service.close();
        }
        assert.deepEqual(new Set(seen.map(([h]) => h)), new Set(expected.keys()));
        for (const [hash, member] of seen) assert.equal(member, expected.get(hash), hash);
      },
    ],
    [
      'subscribe: no service is an error at once; a cut bundle is refused and the old one kept',
      async () => {
        await assert.rejects(Registry.subscribe('http://127.0.0.1:9', { timeout: 2000 }));
        const good = Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age >= 18' }]);
        const newer = Registry.fromDefinitions([{ id: 'a', version: '1.1.0', rule: 'age >= 21' }]);
        let state = { hash: good.bundleHash, body: good.toBundle() };
        // A proxy's view of the service (an injected fetch): announces `newer`, serves it cut.
        const fakeFetch = async (url, init) => {
          if (init?.signal?.aborted) throw init.signal.reason;
          if (url.includes('/changes')) {
            const after = new URL(url).searchParams.get('after');
            if (after === state.hash) {
              await new Promise((r) => setTimeout(r, 50));
              return new Response(null, { status: 204 });
            }
            return Response.json({ bundle: state.hash });
          }
          return new Response(state.body, { status: 200 });
        };
        const errors = [];
        const sub = await Registry.subscribe('http://proxy.test', { fetch: fakeFetch, onError: (e) => errors.push(e) });
        try {
          const text = newer.toBundle();
          state = { hash: newer.bundleHash, body: text.slice(0, text.length / 2) };
          while (errors.length === 0) await new Promise((r) => setTimeout(r, 20));
          assert.equal(errors[0].code, 'bundle_invalid');
          assert.equal(sub.bundleHash, good.bundleHash);
          assert.deepEqual(sub.evaluate({ id: 'u', attributes: { age: 19 } }, { asOf: AS_OF }), { a: true });
          state = { hash: newer.bundleHash, body: text };
          await sub.waitFor(newer.bundleHash, { timeout: 20_000 });
          assert.deepEqual(sub.evaluate({ id: 'u', attributes: { age: 19 } }, { asOf: AS_OF }), { a: false });
          assert.equal(sub.lastError, null);
        } finally {
          sub.close();
        }
        assert.equal(sub.closed, true);
      },
    ],
  ];
}
