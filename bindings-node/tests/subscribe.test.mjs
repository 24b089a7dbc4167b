// SPEC §28 in the Node binding: the shared tests of tests/js/subscribe-core.mjs against a real
// `segcore serve`.

import { test } from 'node:test';
import { createRequire } from 'node:module';

import { subscribeTests } from '../../tests/js/subscribe-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');

for (const [name, fn] of subscribeTests(segcore)) test(name, () => fn());
