// Reading the conformance suites and writing runtime reports, for the Node-side test files.

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { report } from './conformance-core.mjs';

export { MIN_CASES } from './conformance-core.mjs';

/** `[{ name, text }]` of tests/conformance/*.json, sorted by file name. */
export function readSuites(repo) {
  const dir = path.join(repo, 'tests', 'conformance');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && statSync(path.join(dir, f)).isFile())
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') }));
}

/** Writes target/conformance/<file> for scripts/conformance_matrix.py. */
export function writeReport(repo, file, result) {
  const out = path.join(repo, 'target', 'conformance', file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report(result), null, 2), 'utf8');
}

/** Reads tests/hostile/cases.json. */
export function readHostileCases(repo) {
  return JSON.parse(readFileSync(path.join(repo, 'tests', 'hostile', 'cases.json'), 'utf8'));
}

/** Writes target/conformance/<file> as JSON as given. */
export function writeJson(repo, file, value) {
  const out = path.join(repo, 'target', 'conformance', file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(value, null, 2), 'utf8');
}
