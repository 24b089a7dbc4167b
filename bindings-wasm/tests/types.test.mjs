// The TypeScript declarations (index.d.ts here and in bindings-node) compile under --strict
// against a file of real calls, and the shared exports have the same types in both bindings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

test('index.d.ts type-checks real use and matches the Node binding', () => {
  const tsc = path.join(HERE, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '--noEmit', '--strict', '--target', 'es2022', '--moduleResolution', 'node', path.join(HERE, 'types', 'usage.ts')];
  try {
    execFileSync(process.execPath, args, { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
  }
});
