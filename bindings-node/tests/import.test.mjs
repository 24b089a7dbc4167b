// importRule (SPEC §29) in the Node binding: tests/js/import-core.mjs.

import { test } from 'node:test';
import { createRequire } from 'node:module';

import { importTests } from '../../tests/js/import-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');

for (const [name, fn] of importTests(segcore)) test(name, () => fn());
