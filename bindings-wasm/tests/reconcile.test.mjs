// SPEC §24–25 in the WASM build (in Node): the shared tests of tests/js/reconcile-core.mjs.

import { test } from 'node:test';

import { reconcileTests } from '../../tests/js/reconcile-core.mjs';

const segcore = await import('../js/node.mjs');

for (const [name, fn] of reconcileTests(segcore)) test(name, () => fn());
