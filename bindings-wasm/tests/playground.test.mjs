// The segment playground (bindings-wasm/playground/) in headless Chromium, used like a person
// would: type a rule with an error, read the diagnostics, fix it, pick sample profiles, change
// as_of, load demo segments (including ones with in_segment references), break the FX table and
// the profile JSON. Every expected outcome below is worked out by hand from the sample data in
// playground/examples.mjs and the demo definitions in cli/src/demo/. Saves screenshots to
// bindings-wasm/test-output/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { REPO, collectPageErrors, launchChromium, serveRepo } from './browser.mjs';

const OUT = path.join(REPO, 'bindings-wasm', 'test-output');
const DEMO_AS_OF = '2026-03-15T12:00:00Z';

/** Waits until the text of `selector` matches `pattern`; on timeout, says what it was instead. */
async function waitForText(page, selector, pattern, timeout = 10_000) {
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => {
        const node = document.querySelector(sel);
        return !!node && new RegExp(source, flags).test(node.textContent);
      },
      [selector, pattern.source, pattern.flags],
      { timeout },
    );
  } catch (e) {
    const actual = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`${selector} never matched ${pattern}; its text is: ${JSON.stringify(actual?.trim())}\n${e.message}`);
  }
}

/** Waits until the value of the input `selector` matches `pattern`. */
async function waitForValue(page, selector, pattern) {
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => new RegExp(source, flags).test(document.querySelector(sel)?.value ?? ''),
      [selector, pattern.source, pattern.flags],
    );
  } catch (e) {
    throw new Error(`${selector} value never matched ${pattern}: ${JSON.stringify(await page.inputValue(selector))}\n${e.message}`);
  }
}

/** Waits for the outcome badge to show `outcome` ('true' | 'false' | 'unknown' | 'none'). */
async function waitForOutcome(page, outcome) {
  try {
    await page.waitForSelector(`#outcome[data-outcome="${outcome}"]`, { timeout: 10_000 });
  } catch (e) {
    const state = await page.evaluate(() => ({
      outcome: document.querySelector('#outcome').dataset.outcome,
      text: document.querySelector('#outcome').innerText,
      diagnostics: document.querySelector('#diagnostics').innerText,
      evalError: document.querySelector('#eval-error').innerText,
      profileError: document.querySelector('#profile-error').innerText,
    }));
    throw new Error(`expected outcome ${outcome}, page shows ${JSON.stringify(state)}\n${e.message}`);
  }
}

/** The value shown next to the explanation node whose expression is `expr`. */
async function traceValue(page, expr) {
  const row = page.locator(`#explanation .node[data-expr=${JSON.stringify(expr)}] > .row`).first();
  await row.waitFor({ timeout: 10_000 });
  return (await row.locator('.val').textContent()).trim();
}

/** The holdout bucket of the demo (SPEC §13), computed here independently of segcore. */
function bucket(id, salt) {
  const h = createHash('sha256').update(`${salt}:${id}`).digest().readUInt32BE(0);
  return (h % 10000) / 100;
}

test('segment playground (WASM in Chromium)', async () => {
  await mkdir(OUT, { recursive: true });
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(10_000);
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/bindings-wasm/playground/`);

    // --- Loads: the demo segments arrive, the footer names the versions. -------------------
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await waitForText(page, '#versions', /segcore \d+\.\d+\.\d+.*segment language \d+\.\d+/);
    const exampleIds = await page.$$eval('#examples option', (os) => os.map((o) => o.value));
    assert.equal(exampleIds.length, 11, `the 11 demo segments are offered, got ${exampleIds}`);
    assert.ok(exampleIds.includes('campaign_audience') && exampleIds.includes('r1_pro_adults'));
    const sampleKeys = await page.$$eval('#sample option', (os) => os.map((o) => o.value));
    assert.ok(sampleKeys.length >= 3, 'at least three sample profiles');
    // Default as_of is the demo's, never the wall clock.
    await waitForText(page, '#as-of-instant', /^2026-03-15T12:00:00Z$/);
    assert.equal(await page.inputValue('#tz'), 'UTC');
    // r1_pro_adults for the pro buyer: 34 >= 18, "US" in the list, plan "pro", ltv 1240 > 500.
    await waitForOutcome(page, 'true');

    // Every control has a label.
    const unlabelled = await page.$$eval('main input, main select, main textarea', (els) =>
      els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.name),
    );
    assert.deepEqual(unlabelled, [], 'controls without a <label for>');

    // --- A definition with an error, typed in. --------------------------------------------
    await page.fill('#id', 'pro_adults');
    await page.fill('#rule', 'age >= 18 and plan = ');
    // "age >= 18 and plan =" is 20 characters: the rule ends, an expression is missing, at 1:21.
    const syntax = page.locator('#diagnostics li[data-kind="syntax_error"]');
    await syntax.first().waitFor();
    assert.equal(await syntax.count(), 1);
    assert.equal((await syntax.locator('.pos').textContent()).trim(), '1:21');
    assert.match(await syntax.textContent(), /expected an expression, found end of rule/);
    // The position is marked: line 1 in the gutter, and a marker at column 21 (the trailing space).
    await page.waitForSelector('#rule-editor .gutter .ln[data-line="1"].has-error');
    await page.waitForSelector('#rule-editor .backdrop mark.mark-error');
    await waitForOutcome(page, 'none');
    await waitForText(page, '#outcome', /Fix the definition to evaluate/);
    assert.match(await page.textContent('#canonical'), /has errors/);

    // Columns count Unicode scalar values: 😀 is one column (two UTF-16 units).
    // n1 a2 m3 e4 _5 =6 _7 "8 😀9 "10 _11 a12 n13 d14 _15 =16
    await page.fill('#rule', 'name = "😀" and = 1');
    await waitForText(page, '#diagnostics li[data-kind="syntax_error"] .pos', /^1:16$/);
    await waitForText(page, '#rule-editor .backdrop mark.mark-error', /^=$/);

    // Second line: p1 l2 a3 n4 _5 =6 _7 =8 → the second `=` at 2:8.
    await page.fill('#rule', 'age >= 18 and\nplan = = "pro"');
    await waitForText(page, '#diagnostics li[data-kind="syntax_error"] .pos', /^2:8$/);
    await page.waitForSelector('#rule-editor .gutter .ln[data-line="2"].has-error');
    assert.equal(await page.locator('#rule-editor .gutter .ln[data-line="1"].has-error').count(), 0);

    // Fix it by typing at the end of the broken rule, key by key.
    await page.fill('#rule', 'age >= 18 and plan = ');
    await waitForText(page, '#diagnostics li .pos', /^1:21$/);
    await page.focus('#rule');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('"pro"');
    assert.equal(await page.inputValue('#rule'), 'age >= 18 and plan = "pro"');
    await page.waitForSelector('#diagnostics[data-count="0"]');
    await waitForText(page, '#diagnostics', /No problems/);
    assert.equal(await page.locator('#rule-editor mark').count(), 0, 'markers cleared');
    await waitForText(page, '#formatted', /^age >= 18 and plan = "pro"$/);

    // Canonical formatting of a messy rule, then applied to the editor.
    await page.fill('#rule', 'age>=18   and\n   plan="pro"');
    await waitForText(page, '#formatted', /^age >= 18 and plan = "pro"$/);
    await page.click('#apply-format');
    assert.equal(await page.inputValue('#rule'), 'age >= 18 and plan = "pro"');

    // --- Sample profiles. ------------------------------------------------------------------
    // Pro adult buyer: age 34 >= 18 TRUE, plan "pro" TRUE → MEMBER.
    await page.selectOption('#sample', 'pro_buyer');
    await waitForOutcome(page, 'true');
    await waitForText(page, '#outcome .badge', /^MEMBER$/);
    await waitForText(page, '#outcome .tri .on', /^TRUE$/);
    assert.equal(await traceValue(page, 'age >= 18 and plan = "pro"'), 'TRUE');
    assert.equal(await traceValue(page, 'plan = "pro"'), 'TRUE');
    assert.equal(await traceValue(page, 'age >= 18'), 'TRUE');
    assert.equal(await traceValue(page, 'age'), '34');
    assert.equal(await traceValue(page, 'plan'), '"pro"');
    const hash = (await page.textContent('#hash')).trim();
    assert.match(hash, /^[0-9a-f]{64}$/);

    // New user: age 19 >= 18 TRUE, plan "free" = "pro" FALSE → NOT A MEMBER.
    await page.selectOption('#sample', 'new_user');
    await waitForOutcome(page, 'false');
    await waitForText(page, '#outcome .badge', /^NOT A MEMBER$/);
    assert.equal(await traceValue(page, 'plan = "pro"'), 'FALSE');
    assert.equal(await traceValue(page, 'age >= 18'), 'TRUE');

    // Partial profile: no age → `age >= 18` is null; plan "pro" TRUE; TRUE and null → UNKNOWN.
    await page.selectOption('#sample', 'partial');
    await waitForOutcome(page, 'unknown');
    await waitForText(page, '#outcome .badge', /^UNKNOWN$/);
    await waitForText(page, '#outcome .tri .on', /^UNKNOWN$/);
    assert.equal(await traceValue(page, 'age >= 18'), 'null');
    assert.equal(await traceValue(page, 'plan = "pro"'), 'TRUE');
    await waitForText(page, '#unknown-inputs', /age\s+is missing/);

    // --- Profile errors show next to the profile editor. ----------------------------------
    // Line 3 `  "attributes": {"age": 30,}`: the `}` after the trailing comma is column 28.
    await page.fill('#profile', '{\n  "id": "x",\n  "attributes": {"age": 30,}\n}');
    await waitForText(page, '#profile-error', /JSON syntax error at 3:28/);
    await page.waitForSelector('#profile-editor .gutter .ln[data-line="3"].has-error');
    await waitForOutcome(page, 'none');
    await waitForText(page, '#outcome', /Fix the profile to evaluate/);
    // Valid JSON, invalid profile: an event time without an offset.
    await page.fill('#profile', '{"id": "x", "attributes": {"age": 30, "plan": "pro"}, "events": [{"name": "login", "at": "yesterday"}]}');
    await waitForText(page, '#profile-error', /invalid_profile.*RFC 3339/);
    // Fixed by hand: age 30, plan "pro" → MEMBER.
    await page.fill('#profile', '{"id": "x", "attributes": {"age": 30, "plan": "pro"}}');
    await waitForOutcome(page, 'true');
    assert.equal(await page.textContent('#profile-error'), '');

    // --- as_of: a wall time in a zone becomes an instant. ----------------------------------
    await page.selectOption('#tz', 'Asia/Tokyo');
    await page.fill('#as-of', '2026-03-15T21:00');
    await waitForText(page, '#as-of-instant', /^2026-03-15T12:00:00Z = 2026-03-15T21:00:00\+09:00 \(Asia\/Tokyo\)$/);
    await page.selectOption('#tz', 'Europe/Berlin');
    await page.fill('#as-of', '2026-03-15T13:00');
    await waitForText(page, '#as-of-instant', /^2026-03-15T12:00:00Z = 2026-03-15T13:00:00\+01:00/);
    // 02:30 on 2026-03-08 does not exist in New York (DST starts): forward to 03:30 EDT = 07:30Z.
    await page.selectOption('#tz', 'America/New_York');
    await page.fill('#as-of', '2026-03-08T02:30');
    await waitForText(page, '#as-of-instant', /^2026-03-08T07:30:00Z = 2026-03-08T03:30:00-04:00/);
    await waitForText(page, '#as-of-note', /does not exist/);
    // 01:30 on 2026-11-01 happens twice in New York: the earlier (EDT) instant, 05:30Z.
    await page.fill('#as-of', '2026-11-01T01:30');
    await waitForText(page, '#as-of-instant', /^2026-11-01T05:30:00Z = 2026-11-01T01:30:00-04:00/);
    await waitForText(page, '#as-of-note', /happens twice/);

    // The zone changes the outcome: new_users counts New York calendar days (days_since < 7).
    // late_signup signed up 2026-03-09T03:30Z = 2026-03-08 23:30 EDT.
    await page.selectOption('#examples', 'new_users');
    await waitForValue(page, '#rule', /days_since\(signup_at\) < 7/);
    await page.selectOption('#sample', 'late_signup');
    await page.selectOption('#tz', 'UTC');
    await page.fill('#as-of', '2026-03-15T02:00');
    // 02:00Z on the 15th is 22:00 EDT on the 14th: 14 − 8 = 6 days < 7 → MEMBER.
    await waitForText(page, '#as-of-instant', /^2026-03-15T02:00:00Z$/);
    await waitForOutcome(page, 'true');
    await page.selectOption('#tz', 'America/New_York');
    // 02:00 EDT on the 15th (06:00Z): 15 − 8 = 7 days → NOT A MEMBER.
    await waitForText(page, '#as-of-instant', /^2026-03-15T06:00:00Z/);
    await waitForOutcome(page, 'false');
    assert.equal(await traceValue(page, 'days_since(signup_at)'), '7');
    // Back to the demo as_of: 15 − 8 = 7 → NOT A MEMBER (in UTC it would be 15 − 9 = 6).
    await page.click('#as-of-demo');
    await waitForText(page, '#as-of-instant', /^2026-03-15T12:00:00Z$/);
    assert.equal(await page.inputValue('#tz'), 'UTC');
    await waitForOutcome(page, 'false');

    // --- Evaluation errors show next to the result. ---------------------------------------
    // high_value for the EU customer needs the EUR/USD quote.
    await page.selectOption('#examples', 'high_value');
    await page.selectOption('#sample', 'eu_customer');
    const fxText = await page.inputValue('#fx');
    await page.fill('#fx', '{}');
    await waitForText(page, '#eval-error', /fx_rate_missing.*EUR\/USD/);
    await waitForOutcome(page, 'none');
    await page.fill('#fx', '{"EUR/USD": "abc"}');
    await waitForText(page, '#fx-error', /FX rate for `EUR\/USD` must be a positive decimal/);
    await page.fill('#fx', '{"EUR/USD": ');
    await waitForText(page, '#fx-error', /JSON syntax error/);
    await page.fill('#fx', fxText);
    // (310.00 + 240.00) EUR × 1.0842 = 596.31 USD > 500 USD → MEMBER.
    await waitForOutcome(page, 'true');
    assert.equal(await page.textContent('#eval-error'), '');
    assert.match(await traceValue(page, 'sum(purchase.amount within 90d)'), /^596\.31\d* USD$/);

    // --- A demo segment with in_segment references, for the pro buyer. ----------------------
    // An unknown reference is a diagnostic at the string argument: i1 … (11 "nope" at 1:12.
    await page.selectOption('#examples', 'campaign_audience');
    await page.fill('#rule', 'in_segment("nope")');
    await waitForText(page, '#diagnostics li[data-kind="unknown_segment"] .pos', /^1:12$/);
    await page.selectOption('#examples', 'campaign_audience');
    await waitForValue(page, '#rule', /in_segment\("high_value"\)/);
    await page.selectOption('#sample', 'pro_buyer');
    // high_value: 219.90 + 129.00 USD + 180.00 EUR × 1.0842 (195.156) = 544.056 USD > 500 → TRUE
    // (the 75.00 USD purchase of 2025-10-02 is outside the 90 days).
    // marketing_consent: opted in, updated 2025-11-20 (within 365 days), country US → TRUE.
    // holdout: bucket("u001042", "spring-2026") computed here; not < 10 → not in the holdout.
    const b = bucket('u001042', 'spring-2026');
    assert.ok(b >= 10, `u001042 is outside the holdout (bucket ${b})`);
    await waitForOutcome(page, 'true');
    await page.waitForSelector('#diagnostics[data-count="0"]');
    assert.equal(await page.textContent('#eval-error'), '');
    await waitForText(page, '#resolution', /resolve against the demo registry/);
    const resolution = await page.textContent('#resolution');
    for (const id of ['high_value', 'marketing_consent', 'holdout']) assert.ok(resolution.includes(id), resolution);
    assert.equal(await traceValue(page, 'in_segment("high_value")'), 'TRUE');
    assert.equal(await traceValue(page, 'in_segment("marketing_consent")'), 'TRUE');
    assert.equal(await traceValue(page, 'in_segment("holdout")'), 'FALSE');

    // Hash and canonical JSON: those of cli/src/demo/campaign_audience.yaml, as the Node build
    // of the same core computes them.
    const { Segment } = await import('../js/node.mjs');
    const expected = Segment.fromYAML(await readFile(path.join(REPO, 'cli/src/demo/campaign_audience.yaml'), 'utf8'));
    const shownHash = (await page.textContent('#hash')).trim();
    assert.match(shownHash, /^[0-9a-f]{64}$/);
    assert.equal(shownHash, expected.definitionHash);
    await waitForText(page, '#hash-note', /identical to cli\/src\/demo\/campaign_audience\.yaml/);
    const canonical = (await page.textContent('#canonical')).trim();
    assert.equal(canonical, expected.canonicalJson);
    assert.equal(JSON.parse(canonical).id, 'campaign_audience');
    assert.equal(createHash('sha256').update(canonical).digest('hex'), shownHash);

    // The copy button puts the canonical JSON on the clipboard.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.click('button[data-copy="canonical"]');
    await waitForText(page, '#copy-status', /Copied/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), canonical);

    // Ctrl+Enter evaluates at once.
    await page.focus('#rule');
    await page.keyboard.press('Control+Enter');
    await waitForOutcome(page, 'true');

    await page.screenshot({ path: path.join(OUT, 'playground.png'), fullPage: true });

    // Narrow screens: one column, nothing wider than the viewport.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth);
    await page.screenshot({ path: path.join(OUT, 'playground-narrow.png'), fullPage: true });

    assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await browser.close();
    await server.close();
  }
});
