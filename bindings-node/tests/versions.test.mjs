// SPEC §1 (versions side by side) in the Node binding: tests/js/versions-core.mjs.

import { test } from 'node:test';
import { createRequire } from 'node:module';

import { versionsTests } from '../../tests/js/versions-core.mjs';

const segcore = createRequire(import.meta.url)('../index.js');

for (const [name, fn] of versionsTests(segcore)) test(name, () => fn());
