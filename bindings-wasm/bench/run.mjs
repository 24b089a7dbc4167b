// Runs the browser benchmark (bench-page.mjs) in headless Chromium and prints the table for
// BENCHMARKS.md. Not a test.
//
//   scripts/build-wasm.sh && cd bindings-wasm/bench && npm install && node run.mjs [--quick] [--json]

import { collectPageErrors, launchChromium, serveRepo } from '../tests/browser.mjs';

const quick = process.argv.includes('--quick');
const server = await serveRepo();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/bindings-wasm/bench/bench.html`);
  const { rows, meta } = await page.evaluate(
    async (quick) => (await import('./bench-page.mjs')).runBench({ quick }),
    quick,
  );
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`segcore ${meta.version} WASM in ${meta.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? meta.userAgent}`);
  console.log(
    `module ${kib(meta.wasmBytes)}: WebAssembly.compile ${meta.compileMs.toFixed(1)} ms; ` +
      `import of js/web.mjs (fetch + compile + instantiate + set-up) ${meta.importMs.toFixed(1)} ms`,
  );
  for (const [k, v] of Object.entries(meta.peerErrors)) console.log(`(peer ${k.replace(/Error$/, '')} not loaded: ${v})`);
  let section = null;
  for (const [s, name, ns, note] of rows) {
    if (s !== section) {
      console.log(`\n${s} (ns per evaluation, median of ${quick ? 3 : 7})`);
      section = s;
    }
    const text = ns === null ? 'n/a' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
    console.log(`  ${name.padEnd(64)} ${text.padStart(10)}${note ? `  (${note})` : ''}`);
  }
  if (errors.length) console.log(`\npage errors:\n  ${errors.join('\n  ')}`);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ rows, meta }));
} finally {
  await browser.close();
  await server.close();
}
