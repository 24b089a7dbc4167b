// SPEC §28 in the WASM build (in Node): the shared tests of tests/js/subscribe-core.mjs against a
// real `segcore serve`. The browser's turn is in chromium-subscribe.test.mjs.

import { test } from 'node:test';

import { subscribeTests } from '../../tests/js/subscribe-core.mjs';

const segcore = await import('../js/node.mjs');

for (const [name, fn] of subscribeTests(segcore)) test(name, () => fn());
