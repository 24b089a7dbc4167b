// Starts `segcore serve` (the CLI the README test command builds) on 127.0.0.1 for the JS tests,
// and publishes bundles into its watched file atomically (write, then rename).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function cliBinary() {
  const found = ['release', 'debug'].map((p) => path.join(REPO, 'target', p, 'segcore')).filter((p) => existsSync(p));
  if (found.length === 0) throw new Error('the segcore CLI is not built (target/{release,debug}/segcore); the README test command builds it');
  return found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** The test registry: `adults` and `big_spender` (more than `threshold` spent in 30 days). */
export function definitions(threshold, version) {
  return [
    { id: 'adults', version: '1.0.0', rule: 'age >= 18' },
    { id: 'big_spender', version, rule: `sum(purchase.amount within 30d) > ${threshold}` },
  ];
}

export const PROFILE = {
  id: 'u1',
  attributes: { age: 30 },
  events: [{ name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: 550 } }],
};
export const AS_OF = '2026-03-20T00:00:00Z';

/**
 * A running service over a bundle file: `{url, publish(text), close()}`. `publish` replaces the
 * watched file atomically; `options.cors` allows a browser origin.
 */
export async function startService(firstBundle, { cors } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'segcore-serve-js-'));
  const live = path.join(dir, 'live.json');
  const publish = (text) => {
    writeFileSync(path.join(dir, 'next.json'), text);
    renameSync(path.join(dir, 'next.json'), live);
  };
  publish(firstBundle);
  const args = ['serve', live, '--listen', '127.0.0.1:0', '--poll', '50ms', ...(cors ? ['--cors', cors] : [])];
  const child = spawn(cliBinary(), args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`segcore serve exited (${code})`)));
  });
  const url = line.trim().split(' ').pop();
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`unexpected first line: ${line}`);
  return {
    url,
    publish,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
