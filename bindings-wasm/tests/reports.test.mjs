// The HTML reports of `segcore drift` and `segcore reconcile` (SPEC §25) opened in headless
// Chromium: generated from demo data by the CLI binary, rendered, measured (one chart per segment
// with a members line and bars of moves by cause), free of page errors, and screenshotted to
// bindings-wasm/test-output/ (drift-report.png, reconcile-report.png).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { REPO, collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

const OUT = path.join(REPO, 'bindings-wasm', 'test-output');

/** The CLI binary `cargo test --workspace` (or a release build) left in target/. */
function segcoreBinary() {
  for (const p of ['target/debug/segcore', 'target/release/segcore']) {
    const full = path.join(REPO, p);
    if (existsSync(full)) return full;
  }
  throw new Error('no segcore binary in target/: run `cargo build -p segcore-cli` first (scripts/test-all.sh does)');
}

test('drift and reconcile reports render in Chromium', async () => {
  const bin = segcoreBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'segcore-reports-'));
  const run = (...args) => execFileSync(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  run('demo', '--out', 'data', '--profiles', '1000', '--format', 'jsonl');
  const segments = path.join(REPO, 'cli', 'src', 'demo');
  const common = ['--segments', segments, '--profiles', 'data/profiles.jsonl', '--events', 'data/events.jsonl', '--fx', 'data/fx.json'];
  run('drift', ...common, '--from', '2026-02-13', '--to', '2026-03-15', '--html', 'drift.html');
  // Reconcile high_value at two instants a week apart: every difference is `time`.
  run('reconcile', '-', '-', ...common, '--segment', 'high_value', '--as-of', '2026-03-08T00:00:00Z',
    '--as-of-b', '2026-03-15T00:00:00Z', '--html', 'reconcile.html');
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>reports</title>');

  await mkdir(OUT, { recursive: true });
  const server = await serveRepo(dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = collectPageErrors(page);

    await page.goto(`${server.url}/drift.html`);
    const charts = await page.locator('svg.drift').evaluateAll((svgs) =>
      svgs.map((s) => ({
        width: s.getBoundingClientRect().width,
        height: s.getBoundingClientRect().height,
        points: (s.querySelector('polyline')?.getAttribute('points') ?? '').trim().split(/\s+/).length,
        bars: s.querySelectorAll('rect').length,
      })),
    );
    assert.equal(charts.length, 11, 'one chart per demo segment');
    for (const c of charts) {
      assert.ok(c.width > 900 && c.height > 250, JSON.stringify(c));
      assert.equal(c.points, 30, 'a members point per day');
    }
    assert.ok(charts.reduce((n, c) => n + c.bars, 0) > 50, 'bars of moves by cause');
    const headings = await page.locator('h2').allTextContents();
    assert.ok(headings.includes('high_value') && headings.includes('churn_risk'), headings.join(', '));
    const drift = path.join(OUT, 'drift-report.png');
    await page.screenshot({ path: drift, fullPage: true });
    assert.ok(statSync(drift).size > 20_000, 'a screenshot with content');

    await page.goto(`${server.url}/reconcile.html`);
    const causes = await page.locator('#causes rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('fill')));
    assert.ok(causes.length >= 2, 'a stacked bar and its legend');
    const rows = await page.locator('table.rows tr').count();
    assert.ok(rows > 1, 'differing ids are listed');
    const text = await page.locator('body').textContent();
    assert.match(text, /time \d+/, 'the time cause is counted');
    const recon = path.join(OUT, 'reconcile-report.png');
    await page.screenshot({ path: recon, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
