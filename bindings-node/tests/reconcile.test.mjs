// SPEC §24–25 in the Node binding: the shared tests of tests/js/reconcile-core.mjs.

import { test } from 'node:test';
import { createRequire } from 'node:module';

import { reconcileTests } from '../../tests/js/reconcile-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');

for (const [name, fn] of reconcileTests(segcore)) test(name, () => fn());
