// importRule (SPEC §29) in the WASM build (in Node): tests/js/import-core.mjs.

import { test } from 'node:test';

import { importTests } from '../../tests/js/import-core.mjs';

const segcore = await import('../js/node.mjs');

for (const [name, fn] of importTests(segcore)) test(name, () => fn());
