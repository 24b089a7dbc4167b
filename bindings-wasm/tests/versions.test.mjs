// SPEC §1 (versions side by side) in the WASM build (in Node): tests/js/versions-core.mjs.

import { test } from 'node:test';

import { versionsTests } from '../../tests/js/versions-core.mjs';

const segcore = await import('../js/node.mjs');

for (const [name, fn] of versionsTests(segcore)) test(name, () => fn());
