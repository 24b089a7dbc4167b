// The WebAssembly build in a bundle: `segcore-wasm/init` (js/init.mjs) takes the module as a URL,
// a Response, bytes or a compiled WebAssembly.Module. tests/bundle/page.mjs is bundled with
// esbuild the way an application would (package imports by name; the `.wasm` export through the
// `file` loader, then through `binary`: one self-contained file) and run in headless Chromium,
// served from a folder holding nothing but the bundle. The Node tests check the same sources and
// the errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import init from '../js/init.mjs';
import { collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WASM = path.join(HERE, '..', 'pkg', 'web', 'segcore_wasm_bg.wasm');
const DEFINITION = 'id: adults\nversion: 1.0.0\nrule: age >= 18';
const AS_OF = '2026-03-15T12:00:00Z';

/** What every API instance must answer (the same in Node and in the page, where it is sent as text). */
function answers(api) {
  const seg = api.Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
  const out = {
    member: seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: '2026-03-15T12:00:00Z' }),
    hash: seg.definitionHash,
    version: api.version,
  };
  try {
    api.__segcore_test_trap();
  } catch (e) {
    out.trap = e.code;
  }
  // After a trap the module is instantiated again from the kept module: objects keep working.
  out.afterTrap = seg.evaluate({ id: 'u2', attributes: { age: 10 } }, { asOf: '2026-03-15T12:00:00Z' });
  return out;
}

/** `answers` worked out from the definition and the Node build of the same module. */
async function wanted() {
  const node = await import('../js/node.mjs');
  const hash = node.Segment.fromYAML(DEFINITION).definitionHash;
  return { member: true, hash, version: node.version, trap: 'internal', afterTrap: false };
}

test('init takes the module as bytes, a compiled Module or a Response (Node)', async () => {
  const bytes = readFileSync(WASM);
  const want = await wanted();
  const module = await WebAssembly.compile(bytes);
  const sources = {
    'a Uint8Array': new Uint8Array(bytes),
    'an ArrayBuffer': bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    'a WebAssembly.Module': module,
    'a Response (application/wasm)': new Response(bytes, { headers: { 'content-type': 'application/wasm' } }),
    'a Response (no type)': new Response(bytes),
    'a promise of a Response': Promise.resolve(new Response(bytes)),
  };
  for (const [name, source] of Object.entries(sources)) assert.deepEqual(answers(await init(source)), want, name);
  // Each call is an instance of its own.
  const [a, b] = [await init(module), await init(module)];
  assert.notEqual(a.Segment, b.Segment);
});

test('init refuses what is not a module, and says why a fetch failed', async () => {
  for (const bad of [undefined, null, 42, {}, [1, 2]]) {
    await assert.rejects(init(bad), { name: 'TypeError', message: /init takes the WebAssembly module as a URL, a Response, bytes/ });
  }
  await assert.rejects(init(new Response('gone', { status: 404, statusText: 'Not Found' })), {
    message: 'segcore: failed to fetch the response: 404 Not Found',
  });
  await assert.rejects(init(new Uint8Array([0, 97, 115, 109])), WebAssembly.CompileError);
});

/** Bundles tests/bundle/page.mjs into `dir` with `.wasm` files through `loader`. */
async function bundle(dir, loader) {
  const result = await build({
    entryPoints: [path.join(HERE, 'bundle', 'page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: { '.wasm': loader },
    outdir: dir,
    logLevel: 'silent',
    metafile: true,
  });
  assert.deepEqual(result.warnings, [], 'esbuild warnings');
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./page.js"></script>\n',
  );
  const text = readFileSync(path.join(dir, 'page.js'), 'utf8');
  // Nothing of the self-instantiating browser entry: no URL into the package's folders.
  assert.ok(!text.includes('../pkg/web/'), 'the bundle refers to the package folder');
  return Object.keys(result.metafile.outputs).map((f) => path.basename(f)).sort();
}

/** Serves `dir` alone, opens its page in Chromium and runs `fn(bundle)` there. */
async function inChromium(dir, fn) {
  const server = await serveRepo(dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => globalThis.segcoreBundle !== undefined);
    const result = await page.evaluate(`(${fn})(globalThis.segcoreBundle, ${answers})`);
    assert.deepEqual(errors, [], 'the page logged errors');
    return result;
  } finally {
    await browser.close();
    await server.close();
  }
}

test('a page bundled with esbuild passes the module as a URL, a Response, bytes or a Module (Chromium)', async () => {
  const want = await wanted();
  const dir = mkdtempSync(path.join(tmpdir(), 'segcore-bundle-'));
  try {
    const files = await bundle(dir, 'file');
    assert.equal(files.length, 2, `the bundle and the module: ${files}`);
    const results = await inChromium(dir, async ({ init, wasm }, answers) => {
      const bytes = await (await fetch(wasm)).arrayBuffer();
      const sources = {
        'the URL as text': () => wasm,
        'a URL': () => new URL(wasm, location.href),
        'a promise of a Response': () => fetch(wasm),
        'a Response': async () => await fetch(wasm),
        'an ArrayBuffer': () => bytes,
        'a Uint8Array': () => new Uint8Array(bytes),
        'a WebAssembly.Module': () => WebAssembly.compile(bytes),
      };
      const out = {};
      for (const [name, source] of Object.entries(sources)) out[name] = answers(await init(await source()));
      return out;
    });
    assert.equal(Object.keys(results).length, 7);
    for (const [name, got] of Object.entries(results)) assert.deepEqual(got, want, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a single-file bundle with the module inlined as bytes (Chromium)', async () => {
  const want = await wanted();
  const dir = mkdtempSync(path.join(tmpdir(), 'segcore-bundle-'));
  try {
    assert.deepEqual(await bundle(dir, 'binary'), ['page.js']);
    const result = await inChromium(dir, async ({ init, wasm }, answers) => {
      if (!(wasm instanceof Uint8Array)) throw new Error(`expected the bytes, got ${typeof wasm}`);
      return answers(await init(wasm));
    });
    assert.deepEqual(result, want);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
