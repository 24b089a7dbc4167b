// The conformance runner shared by every JavaScript runtime: the Node binding, the WASM build in
// Node, and the WASM build in headless Chromium. Pure ES module (no Node APIs), so the very same
// code runs in the browser page.
//
// It mirrors bindings-python/tests/test_conformance.py (itself a mirror of
// tests/conformance_runner.rs) case for case: same ways of building the segment or registry, same
// expectations, same matching of errors (some diagnostic of the error has the expected kind, and
// the expected line/column when given, and the error happened in the expected phase). A case the
// binding cannot run is a failure, never a skip.
//
// The suites are read with a lossless JSON parser (./lossless-json.mjs): `3` vs `3.0` and integers
// beyond 2^53 matter, and JSON.parse would lose both. Profiles therefore always go through the
// exact route, `Profile.fromJSON(<the case's profile JSON>)`; when JS numbers carry a profile
// exactly, the plain object is evaluated too (the binding's read-set conversion) and must agree.

import { RawNumber, isExactInJs, parse, stringify, toPlain } from './lossless-json.mjs';

/** The binding under test (set by `runConformance`). */
let segcore;

/** The suite has at least this many cases (a guard against an empty or truncated checkout). */
export const MIN_CASES = 400;
const SHOWN_FAILURES = 400;
const OUTCOMES = ['true', 'false', 'unknown'];

/** The case could not be run as written (the Rust runner's `Err(String)` from `run`). */
class CaseProblem extends Error {}

// What running a case gave; the Rust runner's `Got`:
//   ['outcome', 'true' | 'false' | 'unknown' | 'compiled']
//   ['error', 'compile' | 'evaluate', SegmentError]
//   ['canonical', canonicalJson, definitionHash]
//   ['format', text]

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawNumber);
const get = (o, k) => (isObject(o) && has(o, k) ? o[k] : undefined);

function isSegmentError(e) {
  return e instanceof segcore.SegmentError;
}

function describeError(e) {
  const name = e?.constructor?.name ?? typeof e;
  const diags = Array.isArray(e?.diagnostics) ? e.diagnostics : [];
  if (diags.length === 0) return `${name}(${JSON.stringify(String(e?.message ?? e))}) with no diagnostics`;
  const parts = diags.map((d) => {
    const line = d?.line ?? null;
    const column = d?.column ?? null;
    const pos = line !== null || column !== null ? ` at ${line}:${column}` : '';
    return `${d?.kind ?? '?'}${pos}: ${d?.message ?? ''}`;
  });
  return `${name} [${parts.join('; ')}]`;
}

function describe(got) {
  switch (got[0]) {
    case 'outcome':
      return `outcome ${got[1]}`;
    case 'error':
      return `${got[1]} error ${describeError(got[2])}`;
    case 'canonical':
      return `canonical ${got[1]}`;
    case 'format':
      return `format ${JSON.stringify(got[1])}`;
    case 'next':
      return got[1] === null ? 'no next change' : `next change ${showChange(got[1])}`;
    case 'timeline':
      return `timeline ${got[1]} then [${got[2].map(showChange).join(', ')}]`;
    case 'fingerprint':
    case 'sketch':
      return `${got[0]} ${got[1]}`;
    case 'diff':
      return `diff ${JSON.stringify(got[1])}`;
    case 'difference':
      return `difference onlyA ${JSON.stringify(got[1])} onlyB ${JSON.stringify(got[2])}`;
    default:
      return String(got);
  }
}

function checkOutcomeValue(value, where) {
  if (typeof value !== 'string' || !OUTCOMES.includes(value)) {
    throw new CaseProblem(`${where} returned ${describeValue(value)}, not one of ${OUTCOMES.join('/')}`);
  }
  return value;
}

function describeValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Runs `fn`; a segcore error is returned as `{ err }`, anything else thrown is a failure. */
function attempt(fn) {
  try {
    return { value: fn() };
  } catch (e) {
    if (isSegmentError(e)) return { err: e };
    throw e;
  }
}

/**
 * Evaluates one segment through both `outcome` and `evaluate`; they must agree (the Rust runner
 * checks that its by-name and bound read paths agree; these are the binding's two entry points).
 */
function evaluateSingle(seg, profile, options) {
  const o = attempt(() => checkOutcomeValue(seg.outcome(profile, options), 'Segment.outcome'));
  const m = attempt(() => {
    const member = seg.evaluate(profile, options);
    if (typeof member !== 'boolean') {
      throw new CaseProblem(`Segment.evaluate returned ${describeValue(member)}, not a boolean`);
    }
    return member;
  });
  if (o.err || m.err) {
    if (!o.err || !m.err) {
      throw new CaseProblem(
        `outcome() and evaluate() disagree: outcome() gave ${o.err ? describeError(o.err) : o.value}, ` +
          `evaluate() gave ${m.err ? describeError(m.err) : m.value}`,
      );
    }
    if (o.err.code !== m.err.code) {
      throw new CaseProblem(
        `outcome() and evaluate() raise different kinds: ${describeError(o.err)} vs ${describeError(m.err)}`,
      );
    }
    return ['error', 'evaluate', o.err];
  }
  if (m.value !== (o.value === 'true')) {
    throw new CaseProblem(`outcome() gave ${o.value} but evaluate() gave ${m.value}`);
  }
  return ['outcome', o.value];
}

/** Microseconds since the epoch of an RFC 3339 instant (a BigInt), or null. */
function instantMicros(text) {
  const m = typeof text === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text) : null;
  if (!m) return null;
  const ms = Date.parse(m[1] + m[3]);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** A change as [micros, outcome, cause]; `where` names the call for a CaseProblem. */
function changeOf(c, where) {
  const at = instantMicros(get(c, 'at'));
  if (!isObject(c) || at === null) throw new CaseProblem(`${where} returned ${describeValue(c)}, not a change`);
  return [at, get(c, 'outcome'), get(c, 'cause')];
}

function showChange(c) {
  return `${new Date(Number(c[0] / 1000n)).toISOString().slice(0, 19)}+${c[0] % 1000000n}us ${c[1]} (${c[2]})`;
}

/** A `next_change` or `timeline` case (SPEC §22) on one profile input. */
function overTime(query, target, seg, registry, profile, c) {
  const fx = get(c, 'fx');
  const segments = get(c, 'segments');
  const base = { fx: fx == null ? fx : toPlain(fx), segments: segments == null ? segments : toPlain(segments) };
  if (query === 'next_change') {
    const options = { ...base, asOf: get(c, 'as_of'), horizon: get(c, 'horizon') };
    const r = attempt(() =>
      registry ? registry.nextChange(target, profile, options) : seg.nextChange(profile, options),
    );
    if (r.err) return ['error', 'evaluate', r.err];
    return ['next', r.value === null ? null : changeOf(r.value, 'nextChange')];
  }
  if (query === 'timeline') {
    const options = { ...base, from: get(c, 'from'), to: get(c, 'to') };
    const r = attempt(() => (registry ? registry.timeline(target, profile, options) : seg.timeline(profile, options)));
    if (r.err) return ['error', 'evaluate', r.err];
    const t = r.value;
    if (!isObject(t) || !Array.isArray(t.changes)) throw new CaseProblem(`timeline returned ${describeValue(t)}`);
    return ['timeline', t.outcome, t.changes.map((x) => changeOf(x, 'timeline'))];
  }
  throw new CaseProblem(`unknown query ${describeValue(query)}`);
}

/** Evaluates the built segment or registry for one profile input (a Profile or a plain object). */
function evaluateWith(target, seg, registry, profile, c) {
  const query = get(c, 'query');
  if (query !== undefined) return overTime(query, target, seg, registry, profile, c);
  const asOf = get(c, 'as_of');
  const fx = get(c, 'fx');
  if (registry) {
    const options = { asOf, fx: fx == null ? fx : toPlain(fx) };
    const r = attempt(() => checkOutcomeValue(registry.evaluateOne(target, profile, options), 'Registry.evaluateOne'));
    return r.err ? ['error', 'evaluate', r.err] : ['outcome', r.value];
  }
  const segments = get(c, 'segments');
  const options = { asOf, fx: fx == null ? fx : toPlain(fx), segments: segments == null ? segments : toPlain(segments) };
  return evaluateSingle(seg, profile, options);
}

function sameResult(a, b) {
  if (a[0] === 'outcome' && b[0] === 'outcome') return a[1] === b[1];
  if ((a[0] === 'next' || a[0] === 'timeline') && a[0] === b[0]) return describe(a) === describe(b);
  if (a[0] === 'error' && b[0] === 'error') return a[1] === b[1] && a[2].code === b[2].code;
  return false;
}

const RECONCILE = ['fingerprint', 'fingerprint_sum', 'sketch', 'sketch_diff', 'sketch_decode'];

function hexBytes(hex) {
  const out = new Uint8Array(Math.floor(hex.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SPEC §24's queries, as the Rust runner's `run_reconcile`. */
function runReconcile(query, c) {
  const key = has(c, 'key') ? toPlain(c.key) : undefined;
  const symbols = (name) => {
    const raw = get(c, name) ?? get(c, 'symbols');
    const v = raw === undefined ? undefined : toPlain(raw);
    if (typeof v !== 'number') throw new CaseProblem('case needs `symbols`');
    return v;
  };
  const r = attempt(() => {
    switch (query) {
      case 'fingerprint':
        return ['fingerprint', segcore.fingerprint(toPlain(c.ids), { key })];
      case 'fingerprint_sum':
        return ['fingerprint', segcore.combineFingerprints(toPlain(c.fingerprints))];
      case 'sketch':
        return ['sketch', bytesHex(segcore.Sketch.of(toPlain(c.ids), { symbols: symbols('symbols'), key }).toBytes())];
      case 'sketch_diff': {
        const a = toPlain(c.a);
        const b = toPlain(c.b);
        const sa = segcore.Sketch.of(a, { symbols: symbols('symbols_a'), key });
        // Through the bytes, as two systems exchange them.
        const sb = segcore.Sketch.fromBytes(segcore.Sketch.of(b, { symbols: symbols('symbols_b'), key }).toBytes());
        const d = sa.decode(sb, { ids: a, otherIds: b, key });
        return ['difference', [...d.onlyA].sort(), [...d.onlyB].sort()];
      }
      case 'sketch_decode': {
        const d = segcore.Sketch.fromBytes(hexBytes(c.sketch_a)).decode(segcore.Sketch.fromBytes(hexBytes(c.sketch_b)));
        return ['difference', d.onlyA, d.onlyB];
      }
      default:
        throw new CaseProblem(`unknown reconcile query ${query}`);
    }
  });
  if (r.err instanceof CaseProblem) throw r.err;
  return r.err ? ['error', 'evaluate', r.err] : r.value;
}

/** The Rust runner's `diff_matches`. */
function diffMatches(want, got) {
  if (want.required !== got.required || want.segments.length !== got.segments.length) return false;
  return want.segments.every((w, i) => {
    const g = got.segments[i];
    const problem = g.problem ? g.problem.kind : null;
    if (w.id !== g.id || w.change !== g.change || w.bump !== g.bump || w.problem !== problem) return false;
    return ['fields', 'rule_changes'].every((k) => w[k] === undefined || JSON.stringify(w[k]) === JSON.stringify(g[k]));
  });
}

function run(c, stats) {
  const expect = get(c, 'expect');
  if (!isObject(expect)) throw new CaseProblem('case has no expect');
  if (RECONCILE.includes(get(c, 'query'))) return runReconcile(c.query, c);
  if (get(c, 'query') === 'diff') {
    const built = attempt(() => [
      segcore.Registry.fromDefinitions(c.old.map((d) => stringify(d))),
      segcore.Registry.fromDefinitions(c.new.map((d) => stringify(d))),
    ]);
    if (built.err) return ['error', 'compile', built.err];
    return ['diff', segcore.diff(built.value[0], built.value[1])];
  }

  if (has(expect, 'format')) {
    const rule = get(c, 'rule');
    if (typeof rule !== 'string') throw new CaseProblem('format case needs `rule`');
    const r = attempt(() => segcore.formatRule(rule));
    if (r.err) return ['error', 'compile', r.err];
    if (typeof r.value !== 'string') throw new CaseProblem(`formatRule returned ${describeValue(r.value)}, not a string`);
    return ['format', r.value];
  }

  const schemaRaw = get(c, 'schema');
  const schema = schemaRaw === undefined ? undefined : toPlain(schemaRaw);
  let seg = null;
  let registry = null;
  const built = attempt(() => {
    if (typeof get(c, 'rule') === 'string') {
      seg = segcore.compile(c.rule, {
        id: 'case',
        version: '1.0.0',
        timezone: has(c, 'timezone') ? toPlain(c.timezone) : 'UTC',
        currency: has(c, 'currency') ? toPlain(c.currency) : 'USD',
        schema,
      });
    } else if (has(c, 'definition')) {
      seg = segcore.Segment.fromJSON(stringify(c.definition), { schema });
    } else if (Array.isArray(get(c, 'definitions'))) {
      const defs = c.definitions.map((d) => (typeof d === 'string' ? d : stringify(d)));
      registry = segcore.Registry.fromDefinitions(defs, { schema });
    } else {
      throw new CaseProblem('case has no rule, definition or definitions');
    }
  });
  if (built.err) return ['error', 'compile', built.err];

  if (has(expect, 'canonical_json')) {
    if (!seg) throw new CaseProblem('canonical case needs a single definition');
    return ['canonical', seg.canonicalJson, seg.definitionHash];
  }

  const error = get(expect, 'error');
  if (isObject(error) && get(error, 'phase') === 'compile') return ['outcome', 'compiled'];

  if (!has(c, 'profile')) throw new CaseProblem('evaluation case needs `profile`');
  if (get(c, 'query') !== 'timeline' && typeof get(c, 'as_of') !== 'string') {
    throw new CaseProblem('evaluation case needs `as_of`');
  }
  let target;
  if (registry) {
    target = get(c, 'target');
    if (typeof target !== 'string') throw new CaseProblem('registry case needs `target`');
  }

  // The exact route: the profile's JSON text, parsed by the core (an invalid profile is an
  // evaluate-phase error, as in the Rust runner).
  const exactRun = route(() => {
    const handle = attempt(() => segcore.Profile.fromJSON(stringify(c.profile)));
    return handle.err ? ['error', 'evaluate', handle.err] : evaluateWith(target, seg, registry, handle.value, c);
  });

  // The plain-object route (the binding's read-set conversion), when JS numbers carry the profile
  // exactly: it must give the same result. Run even when the exact route failed, for the report.
  let plainRun = null;
  if (isObject(c.profile) && isExactInJs(c.profile)) {
    stats.objectRoute++;
    plainRun = route(() => evaluateWith(target, seg, registry, toPlain(c.profile), c));
  }
  const show = (r) => (r.problem !== undefined ? r.problem : describe(r.got));

  if (exactRun.problem !== undefined) {
    const also = plainRun ? ` (the plain-object route gave ${show(plainRun)})` : ' (no plain-object route: inexact in JS)';
    throw new CaseProblem(`Profile.fromJSON route: ${exactRun.problem}${also}`);
  }
  if (plainRun) {
    if (plainRun.problem !== undefined) {
      throw new CaseProblem(`plain-object route: ${plainRun.problem} (Profile.fromJSON route gave ${describe(exactRun.got)})`);
    }
    if (!sameResult(exactRun.got, plainRun.got)) {
      throw new CaseProblem(
        `profile routes disagree: Profile.fromJSON gave ${describe(exactRun.got)}, ` +
          `the plain object gave ${describe(plainRun.got)}`,
      );
    }
  }
  return exactRun.got;
}

/** Runs one evaluation route: `{ got }`, or `{ problem }` when it raised a CaseProblem. */
function route(fn) {
  try {
    return { got: fn() };
  } catch (e) {
    if (e instanceof CaseProblem) return { problem: e.message };
    throw e;
  }
}

function diagnosticMatches(d, kind, line, column) {
  if (d?.kind !== kind) return false;
  if (line !== null && d?.line !== line) return false;
  if (column !== null && d?.column !== column) return false;
  return true;
}

/** Like serde_json's `as_u64`: only a non-negative integer literal counts as a position. */
function asPosition(v) {
  if (!(v instanceof RawNumber) || /[.eE-]/.test(v.text)) return null;
  const n = BigInt(v.text);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : null;
}

/**
 * SPEC §29 cases, as the Rust runner's `check_import`: import (the source as its exact JSON text),
 * compare status, assumptions and refusal path, then evaluate the imported definition (its YAML)
 * on each `members` profile.
 */
function checkImport(c) {
  const expect = c.expect;
  const rule = has(c, 'source_text') ? toPlain(c.source_text) : stringify(c.source);
  const options = {
    source: toPlain(c.from),
    schema: has(c, 'schema') ? toPlain(c.schema) : undefined,
    savedGroups: has(c, 'saved_groups') ? toPlain(c.saved_groups) : undefined,
    toggle: has(c, 'toggle') ? toPlain(c.toggle) : undefined,
    dialect: has(c, 'dialect') ? toPlain(c.dialect) : undefined,
    timezone: has(c, 'timezone') ? toPlain(c.timezone) : undefined,
    tables: has(c, 'tables') ? toPlain(c.tables) : undefined,
  };
  if (has(expect, 'error')) {
    const kind = toPlain(expect.error.kind);
    const r = attempt(() => segcore.importRule(rule, options));
    if (!r.err) throw new CaseProblem(`expected ${kind}, the import succeeded`);
    const wantClass = kind === 'import_invalid' ? segcore.ParseError : segcore.TypeCheckError;
    if (r.err.code !== kind || !(r.err instanceof wantClass)) throw new CaseProblem(`expected ${kind}, got ${describeError(r.err)}`);
    if (kind === 'import_refused' && has(expect.error, 'path')) {
      const out = segcore.importRule(rule, { ...options, partial: true });
      const want = toPlain(expect.error.path);
      if (out.status !== 'refused' || out.refusals[0].path !== want) {
        throw new CaseProblem(`refused at ${JSON.stringify(out.refusals)}, expected ${want}`);
      }
    }
    return;
  }
  const out = segcore.importRule(rule, options);
  const want = toPlain(expect.import);
  if (out.status !== want.status) throw new CaseProblem(`status ${out.status} (want ${want.status}): ${JSON.stringify(out)}`);
  const got = JSON.stringify(out.assumptions.map((a) => a.id));
  if (got !== JSON.stringify(want.assumptions ?? [])) {
    throw new CaseProblem(`assumptions ${got}, want ${JSON.stringify(want.assumptions)}; rule ${out.rule}`);
  }
  const seg = segcore.Segment.fromYAML(out.definition, { schema: out.schema });
  // SQL (SPEC §29.5): whole profiles at the case's `as_of`, three-valued outcomes.
  if (has(want, 'outcomes')) {
    // The lossless case values (`want` is plain JS: 2^53 + 1 would round).
    expect.import.outcomes.forEach((o, i) => {
      const profile = segcore.Profile.fromJSON(stringify({ ...o.profile, id: `u${i}` }));
      const outcome = seg.outcome(profile, { asOf: toPlain(c.as_of) });
      const wanted = toPlain(o.outcome);
      if (outcome !== wanted) throw new CaseProblem(`${stringify(o.profile)} gives ${outcome}, want ${wanted}; rule ${out.rule}`);
    });
    return;
  }
  for (const m of expect.import.members) {
    // A GrowthBook `id` attribute is the profile's id (SPEC §29.2).
    const attributes = { ...m.attributes };
    const pid = typeof attributes.id === 'string' ? attributes.id : 'u1';
    delete attributes.id;
    const profile = segcore.Profile.fromJSON(stringify({ id: pid, attributes }));
    const outcome = seg.outcome(profile, { asOf: '2026-01-01T00:00:00Z' });
    if (outcome === 'unknown') throw new CaseProblem(`${stringify(m.attributes)} gives UNKNOWN; rule ${out.rule}`);
    if ((outcome === 'true') !== toPlain(m.member)) {
      throw new CaseProblem(`${stringify(m.attributes)} gives ${outcome}, want member=${toPlain(m.member)}; rule ${out.rule}`);
    }
  }
}

/** Throws CaseProblem (with the reason) unless the case gives its expected result. */
function check(c, stats) {
  if (get(c, 'query') === 'import') return checkImport(c);
  const expect = c.expect;
  const got = run(c, stats);

  if (has(expect, 'error')) {
    const err = isObject(expect.error) ? expect.error : {};
    const kind = typeof get(err, 'kind') === 'string' ? err.kind : '';
    const phase = typeof get(err, 'phase') === 'string' ? err.phase : '';
    const line = asPosition(get(err, 'line'));
    const column = asPosition(get(err, 'column'));
    if (got[0] === 'error') {
      const diagnostics = Array.isArray(got[2].diagnostics) ? got[2].diagnostics : [];
      const hit = diagnostics.some((d) => diagnosticMatches(d, kind, line, column));
      if (hit && (!phase || got[1] === phase)) return;
    }
    const pos = line !== null && column !== null ? ` at ${line}:${column}` : '';
    throw new CaseProblem(`expected ${phase} error ${kind}${pos}, got ${describe(got)}`);
  }

  if (has(expect, 'canonical_json')) {
    const want = expect.canonical_json;
    if (got[0] !== 'canonical') throw new CaseProblem(`expected canonical JSON, got ${describe(got)}`);
    if (got[1] !== want) throw new CaseProblem(`canonical JSON differs:\n      want ${want}\n      got  ${got[1]}`);
    const wantHash = get(expect, 'definition_hash');
    if (typeof wantHash === 'string' && wantHash !== got[2]) {
      throw new CaseProblem(`hash differs: want ${wantHash}, got ${got[2]}`);
    }
    return;
  }

  if (has(expect, 'format')) {
    const want = expect.format;
    if (got[0] === 'format' && got[1] === want) return;
    throw new CaseProblem(`expected format ${describeValue(want)}, got ${describe(got)}`);
  }

  for (const name of ['fingerprint', 'sketch']) {
    if (has(expect, name)) {
      if (got[0] === name && got[1] === expect[name]) return;
      throw new CaseProblem(`expected ${name} ${expect[name]}, got ${describe(got)}`);
    }
  }

  if (has(expect, 'diff')) {
    const w = toPlain(expect.diff);
    if (got[0] === 'diff' && diffMatches(w, got[1])) return;
    throw new CaseProblem(`expected diff ${JSON.stringify(w)}, got ${describe(got)}`);
  }

  if (has(expect, 'difference')) {
    const w = toPlain(expect.difference);
    if (got[0] === 'difference' && JSON.stringify(got[1]) === JSON.stringify(w.only_a) && JSON.stringify(got[2]) === JSON.stringify(w.only_b)) return;
    throw new CaseProblem(`expected difference ${JSON.stringify(w)}, got ${describe(got)}`);
  }

  if (has(expect, 'next_change')) {
    const w = expect.next_change;
    const want = w === null ? null : changeOf(w, 'the case');
    const wanted = ['next', want];
    if (got[0] === 'next' && describe(got) === describe(wanted)) return;
    throw new CaseProblem(`expected ${describe(wanted)}, got ${describe(got)}`);
  }

  if (has(expect, 'timeline')) {
    const w = isObject(expect.timeline) ? expect.timeline : {};
    const changes = Array.isArray(get(w, 'changes')) ? w.changes.map((x) => changeOf(x, 'the case')) : [];
    const wanted = ['timeline', get(w, 'outcome'), changes];
    if (got[0] === 'timeline' && describe(got) === describe(wanted)) return;
    throw new CaseProblem(`expected ${describe(wanted)}, got ${describe(got)}`);
  }

  const wantOutcome = typeof get(expect, 'outcome') === 'string' ? expect.outcome : null;
  const wantMember = typeof get(expect, 'member') === 'boolean' ? expect.member : null;
  if (got[0] === 'outcome') {
    const outcome = got[1];
    if (wantOutcome !== null) {
      if (wantOutcome !== outcome) throw new CaseProblem(`expected outcome ${wantOutcome}, got ${outcome}`);
      return;
    }
    if (wantMember !== null) {
      if (wantMember !== (outcome === 'true')) {
        throw new CaseProblem(`expected member ${wantMember}, got outcome ${outcome}`);
      }
      return;
    }
    throw new CaseProblem('case has no recognised expectation');
  }
  const wanted = wantOutcome !== null ? `outcome ${wantOutcome}` : `member ${wantMember}`;
  throw new CaseProblem(`expected ${wanted}, got ${describe(got)}`);
}

/**
 * Runs every case of `suites` (`[{ name, text }]`, the suite files' names and JSON texts, in file
 * order) through `binding` (the module's exports: compile, Segment, Registry, Profile, ...).
 * Returns `{ runtime, passed, total, failures: [[caseId, why]], perSuite: [[suite, n, failed]],
 * objectRoute }`; never throws for a failing case.
 */
export function runConformance(binding, suites, runtime) {
  segcore = binding;
  let total = 0;
  const failures = [];
  const perSuite = [];
  const seenIds = new Set();
  const stats = { objectRoute: 0 };
  for (const { name: fileName, text } of suites) {
    let suite;
    try {
      suite = parse(text);
    } catch (e) {
      failures.push([fileName, `not JSON: ${e.message}`]);
      continue;
    }
    const cases = isObject(suite) ? get(suite, 'cases') : undefined;
    if (!Array.isArray(cases)) {
      failures.push([fileName, 'has no cases']);
      continue;
    }
    let failedHere = 0;
    for (const c of cases) {
      total++;
      const caseId = isObject(c) && typeof get(c, 'id') === 'string' ? c.id : '<no id>';
      if (seenIds.has(caseId)) {
        failures.push([caseId, 'duplicate case id']);
        failedHere++;
        continue;
      }
      seenIds.add(caseId);
      try {
        if (!isObject(c)) throw new CaseProblem('case is not an object');
        check(c, stats);
      } catch (e) {
        const why =
          e instanceof CaseProblem ? e.message : `raised ${e?.constructor?.name ?? typeof e}: ${e?.message ?? String(e)}`;
        failures.push([caseId, why]);
        failedHere++;
      }
    }
    const name = typeof get(suite, 'suite') === 'string' ? suite.suite : fileName.replace(/\.json$/, '');
    perSuite.push([name, cases.length, failedHere]);
  }
  return { runtime, passed: total - failures.length, total, failures, perSuite, objectRoute: stats.objectRoute };
}

/** The report `scripts/conformance_matrix.py` reads. */
export function report(result) {
  return { runtime: result.runtime, passed: result.passed, total: result.total, failed: result.failures.map(([id]) => id) };
}

/** A per-suite summary and the failures, for the test output. */
export function summary(result) {
  const lines = [];
  for (const [name, n, failed] of result.perSuite) {
    lines.push(`  ${name.padEnd(12)} ${String(n - failed).padStart(4)}/${n}`);
  }
  for (const [id, why] of result.failures.slice(0, SHOWN_FAILURES)) {
    lines.push(`FAIL ${id}: ${why.replace(/\n/g, '\n      ')}`);
  }
  if (result.failures.length > SHOWN_FAILURES) {
    lines.push(`... and ${result.failures.length - SHOWN_FAILURES} more failure(s)`);
  }
  lines.push(`conformance (${result.runtime}): ${result.passed} passed, ${result.failures.length} failed, of ${result.total}`);
  lines.push(
    `  ${result.objectRoute} case(s) also evaluated through the plain-object profile route ` +
      '(the rest through Profile.fromJSON only: their numbers do not fit JS numbers exactly, or they never evaluate)',
  );
  return lines.join('\n');
}
