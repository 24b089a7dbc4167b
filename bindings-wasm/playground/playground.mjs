// segcore playground: edit a definition, pick a profile and an as_of, see the outcome and why.
// Plain ES module, no build step. Every decision (diagnostics, formatting, hash, outcome,
// explanation) comes from segcore's core through the WASM binding (../js/web.mjs); this file only
// wires the page.

import {
  DEFAULT_AS_OF,
  DEFAULT_FX,
  DEMO_DIR,
  DEMO_SEGMENT_FILES,
  INITIAL_SEGMENT,
  SAMPLE_PROFILES,
  TIME_ZONES,
} from './examples.mjs';

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 150;

/** The WASM API, once loaded. */
let sc = null;

/** The demo registry: id → { text, name, description, refs, hash, def }. */
const demo = new Map();

// ---------------------------------------------------------------------------------------------
// Small helpers

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

function errorMessage(e) {
  return e && typeof e.message === 'string' ? e.message : String(e);
}

/** JSON on one line, with a space after `:` and `,`. */
function inlineJSON(v) {
  if (Array.isArray(v)) return `[${v.map(inlineJSON).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${inlineJSON(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

/** Indented JSON that keeps short arrays and objects on one line. */
function prettyJSON(v, indent = '', used = 0, width = 60) {
  const one = inlineJSON(v);
  if (v === null || typeof v !== 'object' || indent.length + used + one.length <= width) return one;
  const inner = indent + '  ';
  const items = Array.isArray(v)
    ? v.map((x) => inner + prettyJSON(x, inner, 0, width))
    : Object.entries(v).map(([k, x]) => {
        const key = `${JSON.stringify(k)}: `;
        return inner + key + prettyJSON(x, inner, key.length, width);
      });
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${items.join(',\n')}\n${indent}${close}`;
}

/** A column counted in Unicode scalar values (1-based) → a UTF-16 offset within `line`. */
function columnToOffset(line, column) {
  let offset = 0;
  let col = 1;
  for (const ch of line) {
    if (col >= column) break;
    offset += ch.length;
    col++;
  }
  return offset + Math.max(0, column - col); // beyond the end: past it
}

/** A `line:column` position (1-based, scalar values) → a UTF-16 offset into `text`. */
function positionToOffset(text, line, column) {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
  const l = lines[Math.min(line, lines.length) - 1] ?? '';
  return offset + Math.min(columnToOffset(l, column), l.length);
}

/** A UTF-16 offset → `{line, column}` (1-based, columns in scalar values). */
function offsetToPosition(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = [...before.slice(lineStart)].length + 1;
  return { line, column };
}

// ---------------------------------------------------------------------------------------------
// A soft-wrapping textarea over a backdrop that draws markers, with a line-number gutter whose
// numbers line up with the wrapped lines.

class CodeEditor {
  /** `autoGrow`: the textarea grows with its text (no inner scrolling). */
  constructor(root, { autoGrow = false } = {}) {
    this.root = root;
    this.autoGrow = autoGrow;
    this.textarea = root.querySelector('textarea');
    this.gutter = root.querySelector('.gutter');
    this.gutterInner = el('div', { class: 'gutter-inner' });
    this.gutter.replaceChildren(this.gutterInner);
    this.backdrop = root.querySelector('.backdrop');
    this.marks = [];
    this.width = 0;
    this.frame = 0;
    this.textarea.addEventListener('input', () => this.render());
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    // Re-wrap when the width changes (window or panel resized, textarea dragged). Measuring
    // happens in an animation frame, outside the observer's callback.
    new ResizeObserver(() => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(() => {
        if (this.textarea.clientWidth !== this.width || this.textarea.clientHeight !== this.height) this.render();
      });
    }).observe(this.textarea);
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.render();
  }

  /** Marks: `[{ line, column, severity }]` (1-based, columns in scalar values). */
  setMarks(marks) {
    this.marks = marks;
    this.render();
  }

  /** The marked range of a mark within its line: [start, end) UTF-16 offsets. */
  static range(line, column) {
    const start = Math.min(columnToOffset(line, column), line.length);
    const rest = line.slice(start);
    if (!rest) return [start, start]; // at the end of the line: a caret marker
    const word = /^[A-Za-z0-9_.]+/.exec(rest) ?? /^"(?:[^"\\]|\\.)*"?/.exec(rest);
    return [start, start + (word ? word[0].length : [...rest][0].length)];
  }

  render() {
    const ta = this.textarea;
    if (this.autoGrow) {
      ta.style.height = 'auto';
      ta.style.height = `${ta.scrollHeight}px`;
    }
    const lines = ta.value.split('\n');
    const byLine = new Map();
    for (const m of this.marks) {
      if (m.line == null) continue;
      const i = Math.min(Math.max(m.line, 1), lines.length) - 1;
      if (!byLine.has(i)) byLine.set(i, []);
      byLine.get(i).push(m);
    }
    // Backdrop: the same text, transparent, one block per line, <mark>s under offending tokens.
    this.backdrop.style.width = `${ta.clientWidth}px`;
    this.backdrop.innerHTML = lines
      .map((line, i) => {
        const marks = (byLine.get(i) ?? [])
          .filter((m) => m.column != null)
          .map((m) => [...CodeEditor.range(line, m.column), m.severity])
          .sort((a, b) => a[0] - b[0]);
        let html = '';
        let pos = 0;
        for (const [start, end, severity] of marks) {
          if (start < pos) continue; // overlapping: keep the first
          html += escapeHTML(line.slice(pos, start));
          html +=
            end === start
              ? `<mark class="mark-${severity} mark-eol"> </mark>`
              : `<mark class="mark-${severity}">${escapeHTML(line.slice(start, end))}</mark>`;
          pos = end;
        }
        html += escapeHTML(line.slice(pos));
        return `<div class="bl">${html || ' '}</div>`;
      })
      .join('');
    // Gutter: one number per logical line, as tall as that line is once wrapped.
    const blocks = this.backdrop.children;
    this.gutter.style.setProperty('--digits', String(Math.max(2, String(lines.length).length)));
    this.gutterInner.innerHTML = lines
      .map((_, i) => {
        const sev = (byLine.get(i) ?? []).some((m) => m.severity === 'error') ? 'error' : byLine.has(i) ? 'warning' : null;
        const h = blocks[i].getBoundingClientRect().height;
        return `<div class="ln${sev ? ` has-${sev}` : ''}" data-line="${i + 1}" style="height:${h}px">${i + 1}</div>`;
      })
      .join('');
    this.width = ta.clientWidth;
    this.height = ta.clientHeight;
    this.syncScroll();
  }

  /** How many characters fit on a line without wrapping (at least 40). */
  columns() {
    const probe = el('span', { text: 'x'.repeat(40) });
    this.backdrop.append(probe);
    const charWidth = probe.getBoundingClientRect().width / 40;
    probe.remove();
    const style = getComputedStyle(this.textarea);
    const inner = this.textarea.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return charWidth > 0 ? Math.max(40, Math.floor(inner / charWidth) - 1) : 40;
  }

  syncScroll() {
    this.backdrop.scrollTop = this.textarea.scrollTop;
    this.gutterInner.style.transform = `translateY(${-this.textarea.scrollTop}px)`;
  }

  /** Puts the caret at a position and selects the token there. */
  focusAt(line, column) {
    const text = this.textarea.value;
    const start = positionToOffset(text, line, column ?? 1);
    const word = /^[A-Za-z0-9_.]+/.exec(text.slice(start));
    this.textarea.focus();
    this.textarea.setSelectionRange(start, start + (word ? word[0].length : 0));
  }
}

// ---------------------------------------------------------------------------------------------
// as_of: a wall time in a zone → an instant. The conversion is segcore's (`resolveLocalTime`:
// the bundled tz database and its DST policy), never the browser's zone rules; Intl is used only
// to prefill the picker with the current wall time ("Now").

const zoneFormats = new Map();

function zoneFormat(zone) {
  let f = zoneFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(zone, f);
  }
  return f;
}

/** Milliseconds of a civil date-time read as if it were UTC (years 0–99 included). */
function civilMs(y, mo, d, h, mi, s) {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}

/** The wall time of instant `ms` in `zone`, as civil milliseconds. */
function wallOf(zone, ms) {
  const p = {};
  for (const part of zoneFormat(zone).formatToParts(new Date(ms))) p[part.type] = part.value;
  let year = Number(p.year);
  if (p.era === 'BC' || p.era === 'B') year = 1 - year;
  return civilMs(year, Number(p.month), Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
}

/** The zone's UTC offset at instant `ms`, in milliseconds. */
function offsetAt(zone, ms) {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallOf(zone, whole) - whole;
}

function civilString(civil) {
  const d = new Date(civil);
  const y = d.getUTCFullYear();
  const year = y < 0 ? '-' + pad(-y, 6) : y > 9999 ? '+' + pad(y, 6) : pad(y, 4);
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function offsetString(offsetMs) {
  if (offsetMs === 0) return 'Z';
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.round(Math.abs(offsetMs) / 1000);
  const h = Math.floor(total / 3600);
  const mi = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${sign}${pad(h)}:${pad(mi)}${s ? ':' + pad(s) : ''}`;
}


// ---------------------------------------------------------------------------------------------
// Reading the page

const META_FIELDS = ['id', 'version', 'timezone', 'currency', 'name', 'description', 'owner', 'tags', 'effective_from', 'effective_until'];

let ruleEditor;
let profileEditor;

/** The definition being edited, as an object for `Segment.fromObject`. */
function readDefinition() {
  const def = { id: $('id').value.trim(), version: $('version').value.trim() };
  for (const k of ['name', 'description', 'owner']) if ($(k).value !== '') def[k] = $(k).value;
  def.status = $('status-field').value;
  for (const k of ['timezone', 'currency', 'effective_from', 'effective_until']) {
    const v = $(k).value.trim();
    if (v !== '') def[k] = v;
  }
  const tags = $('tags').value.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length) def.tags = tags;
  def.rule = ruleEditor.value;
  return def;
}

/** Fills the editor from a definition object (`Segment#toJSON()`). */
function writeDefinition(def) {
  for (const k of ['id', 'version', 'timezone', 'currency', 'name', 'description', 'owner', 'effective_from', 'effective_until']) {
    $(k).value = def[k] ?? '';
  }
  $('status-field').value = def.status ?? 'active';
  $('tags').value = (def.tags ?? []).join(', ');
  ruleEditor.value = String(def.rule ?? '').replace(/\s+$/, '');
}

// ---------------------------------------------------------------------------------------------
// Compiling

/** Demo segments a definition's references need (transitively), without the edited one. */
function demoClosure(refs, selfId) {
  const out = [];
  const seen = new Set([selfId]);
  const queue = [...refs];
  while (queue.length) {
    const id = queue.shift();
    if (seen.has(id)) continue;
    seen.add(id);
    const d = demo.get(id);
    if (!d) continue; // not a demo segment: `check` reports unknown_segment
    out.push(id);
    queue.push(...d.refs);
  }
  return out;
}

function diagnosticsOf(e) {
  if (e instanceof sc.SegmentError) {
    if (e.diagnostics?.length) return e.diagnostics;
    return [{ kind: e.code, severity: 'error', message: e.message, line: e.line, column: e.column, origin: e.origin }];
  }
  return [{ kind: e?.name ?? 'error', severity: 'error', message: errorMessage(e), line: null, column: null, origin: null }];
}

let compileCache = { key: null, value: null };

/**
 * Compiles the definition. References (`in_segment`) resolve against the demo registry: the
 * demo segments the rule needs, with the edited definition replacing its namesake.
 */
function compileDefinition(def) {
  const key = JSON.stringify(def);
  if (compileCache.key === key) return compileCache.value;
  let result;
  try {
    const segment = sc.Segment.fromObject(def);
    result = { segment, registry: null, closure: [], diagnostics: segment.warnings };
    const refs = segment.readSet.segments;
    if (refs.length) {
      const closure = demoClosure(refs, def.id);
      const defs = [...closure.map((id) => demo.get(id).text), def];
      const diagnostics = sc.check(defs);
      result = { segment, registry: null, closure, diagnostics };
      if (!diagnostics.some((d) => d.severity === 'error')) {
        result.registry = sc.Registry.fromDefinitions(defs);
      }
    }
  } catch (e) {
    const diagnostics = diagnosticsOf(e);
    // Metadata errors stop the core before it reads the rule: check the rule on its own too,
    // so its diagnostics stay visible while a field is being fixed.
    if (diagnostics.every((d) => d.line == null)) {
      try {
        sc.compile(def.rule);
      } catch (ruleError) {
        if (ruleError instanceof sc.SegmentError) diagnostics.push(...diagnosticsOf(ruleError).filter((d) => d.line != null));
      }
    }
    result = { segment: null, registry: null, closure: [], diagnostics };
  }
  compileCache = { key, value: result };
  return result;
}

/** Which field a diagnostic is about: 'rule' (it has a position), the id of a metadata input
 * (named in the message), or null. */
function fieldOf(d) {
  if (d.line != null) return 'rule';
  const m = d.message ?? '';
  for (const f of ['effective_from', 'effective_until', 'timezone', 'currency', 'version', 'status', 'tags', 'id']) {
    if (new RegExp(`(^|[^a-z_])${f}([^a-z_]|$)`).test(m)) return f === 'status' ? 'status-field' : f;
  }
  return null;
}

function renderDiagnostics(def, diagnostics) {
  const box = $('diagnostics');
  box.replaceChildren();
  box.dataset.count = String(diagnostics.length);
  for (const f of [...META_FIELDS, 'status-field']) $(f).removeAttribute('aria-invalid');
  const marks = [];
  if (!diagnostics.length) {
    box.append(el('p', { class: 'ok', text: '✓ No problems: the definition compiles.' }));
    ruleEditor.setMarks([]);
    return;
  }
  const list = el('ul', { class: 'diag-list' });
  for (const d of diagnostics) {
    const foreign = d.origin && d.origin !== def.id && demo.has(d.origin);
    const field = foreign ? null : fieldOf(d);
    let where;
    if (field === 'rule') {
      where = `${d.line}:${d.column ?? 1}`;
      marks.push({ line: d.line, column: d.column ?? 1, severity: d.severity });
    } else if (field) {
      where = field === 'status-field' ? 'status' : field;
      $(field).setAttribute('aria-invalid', 'true');
    } else where = foreign ? `in ${d.origin}` : 'definition';
    const pos = el('button', { type: 'button', class: 'pos', text: where, title: 'Go to this position' });
    pos.addEventListener('click', () => {
      if (field === 'rule') ruleEditor.focusAt(d.line, d.column);
      else if (field) $(field).focus();
    });
    if (!field) pos.disabled = true;
    list.append(
      el(
        'li',
        { class: `diag diag-${d.severity}`, 'data-kind': d.kind },
        el('span', { class: 'sev', text: d.severity }),
        el('code', { class: 'kind', text: d.kind }),
        pos,
        el('span', { class: 'msg', text: d.message }),
      ),
    );
  }
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const parts = [];
  if (errors) parts.push(`${errors} error${errors > 1 ? 's' : ''}`);
  if (warnings) parts.push(`${warnings} warning${warnings > 1 ? 's' : ''}`);
  box.append(el('p', { class: errors ? 'bad' : 'warn', text: parts.join(', ') }), list);
  ruleEditor.setMarks(marks);
}

function renderDefinitionOutputs(def, compiled) {
  const seg = compiled.segment;
  $('apply-format').disabled = !seg || seg.rule === def.rule;
  $('formatted').textContent = seg ? seg.rule : '—';
  $('formatted').classList.toggle('muted', !seg);

  const rs = $('read-set');
  rs.replaceChildren();
  if (seg) {
    const { attributes, events, segments } = seg.readSet;
    const group = (label, items) =>
      items.length ? el('span', { class: 'rs-group' }, el('span', { class: 'hint', text: label + ' ' }), ...items.map((i) => el('code', { text: i }))) : null;
    rs.append(
      ...[
        el('span', { class: 'hint', text: 'Reads:' }),
        group('attributes', attributes),
        group('events', events),
        group('segments', segments),
      ].filter(Boolean),
    );
    if (!attributes.length && !events.length && !segments.length) rs.append(el('span', { class: 'hint', text: 'nothing' }));
  }

  // Identity
  $('hash').textContent = seg ? seg.definitionHash : '—';
  $('canonical').textContent = seg ? seg.canonicalJson : 'The definition has errors: fix them to see its canonical JSON.';
  $('canonical').classList.toggle('muted', !seg);
  for (const b of document.querySelectorAll('button.copy')) b.disabled = !seg;
  const note = $('hash-note');
  const d = demo.get(def.id);
  if (seg && d) {
    note.textContent = seg.definitionHash === d.hash ? `identical to cli/src/demo/${def.id}.yaml` : `edited: differs from cli/src/demo/${def.id}.yaml`;
  } else note.textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Profile and context

let profileCache = { text: null, value: null };

function readProfile() {
  const text = profileEditor.value;
  if (profileCache.text === text) return profileCache.value;
  let value;
  try {
    JSON.parse(text);
    value = { profile: sc.Profile.fromJSON(text) };
  } catch (e) {
    if (e instanceof SyntaxError) {
      const m = /position (\d+)/.exec(e.message);
      const offset = m ? Number(m[1]) : text.length;
      const { line, column } = offsetToPosition(text, Math.min(offset, text.length));
      value = { error: { title: 'JSON syntax error', message: e.message, line, column } };
    } else {
      const code = e instanceof sc.SegmentError ? e.code : 'invalid_profile';
      value = { error: { title: code, message: errorMessage(e), line: null, column: null } };
    }
  }
  if (profileCache.value?.profile && profileCache.value !== value) profileCache.value.profile.free();
  profileCache = { text, value };
  return value;
}

function renderProfileError(result) {
  const box = $('profile-error');
  box.replaceChildren();
  $('profile').removeAttribute('aria-invalid');
  if (!result.error) {
    profileEditor.setMarks([]);
    return;
  }
  const { title, message, line, column } = result.error;
  $('profile').setAttribute('aria-invalid', 'true');
  const parts = [el('strong', { text: title })];
  if (line != null) {
    const pos = el('button', { type: 'button', class: 'pos', text: `${line}:${column}`, title: 'Go to this position' });
    pos.addEventListener('click', () => profileEditor.focusAt(line, column));
    parts.push(' at ', pos);
  }
  parts.push(el('span', { class: 'msg', text: ' ' + message }));
  box.append(el('p', {}, ...parts));
  profileEditor.setMarks(line != null ? [{ line, column, severity: 'error' }] : []);
}

function readAsOf() {
  const value = $('as-of').value;
  const zone = $('tz').value;
  if (!value) return { error: 'Pick a date and time.' };
  let r;
  try {
    r = sc.resolveLocalTime(value, zone);
  } catch {
    return { error: `Cannot read "${value}" as a date and time in ${zone}.` };
  }
  const offsetMs = r.offsetSeconds * 1000;
  const local = civilString(Date.parse(r.instant) + offsetMs) + offsetString(offsetMs);
  const adjusted = r.resolution === 'exact' ? null : r.resolution;
  return { asOf: r.instant, local, zone, adjusted, wall: value };
}

function renderAsOf(r) {
  $('as-of-error').textContent = r.error ?? '';
  $('as-of').toggleAttribute('aria-invalid', !!r.error);
  if (r.error) {
    $('as-of-instant').textContent = '—';
    $('as-of-note').textContent = '';
    return;
  }
  $('as-of-instant').replaceChildren(
    el('code', { text: r.asOf }),
    r.local !== r.asOf ? el('span', { class: 'hint', text: ` = ${r.local} (${r.zone})` }) : '',
  );
  const wall = r.wall.replace('T', ' ');
  $('as-of-note').textContent =
    r.adjusted === 'gap'
      ? `${wall} does not exist in ${r.zone} (the clocks skip it): moved forward by the gap, as segcore does.`
      : r.adjusted === 'overlap'
        ? `${wall} happens twice in ${r.zone} (the clocks fall back): the earlier instant is used, as segcore does.`
        : '';
}

function readFx() {
  const text = $('fx').value.trim();
  if (text === '') return { fx: null };
  let fx;
  try {
    fx = JSON.parse(text);
  } catch (e) {
    return { error: `JSON syntax error: ${e.message}` };
  }
  if (fx === null || typeof fx !== 'object' || Array.isArray(fx)) {
    return { error: 'FX quotes are an object like {"EUR/USD": "1.0842"}.' };
  }
  return { fx };
}

// ---------------------------------------------------------------------------------------------
// Evaluating

/** Each trace node's value as the core writes it (typed: `"pro"` vs `2026-03-15T12:00:00Z`),
 * read from `toHTML()` in document order; null when the shapes do not line up. */
function displayValues(explanation, count) {
  const tpl = document.createElement('template');
  tpl.innerHTML = explanation.toHTML();
  const nodes = [...tpl.content.querySelectorAll('summary, div[style]')].filter((n) => n.firstElementChild?.tagName === 'CODE');
  if (nodes.length !== count) return null;
  return nodes.map((n) => {
    const c = n.cloneNode(true);
    c.firstElementChild.remove();
    c.querySelector('small')?.remove();
    return c.textContent.replace(/^\s*→\s*/, '').trim();
  });
}

function countNodes(n) {
  return 1 + (n.children ?? []).reduce((a, c) => a + countNodes(c), 0);
}

function fallbackValue(v) {
  if (v === true) return 'TRUE';
  if (v === false) return 'FALSE';
  if (v === null) return 'null';
  return JSON.stringify(v);
}

function renderTrace(trace, values) {
  let i = 0;
  const node = (n) => {
    const shown = values ? values[i] : fallbackValue(n.value);
    i++;
    const cls = n.value === true ? 'v-true' : n.value === false ? 'v-false' : n.value === null ? 'v-null' : 'v-data';
    const row = [
      el('code', { class: 'expr', text: n.expr }),
      el('span', { class: 'arrow', 'aria-hidden': 'true', text: '→' }),
      el('span', { class: `val ${cls}`, text: shown }),
      n.note ? el('span', { class: 'note-tag', text: n.note }) : null,
    ];
    const children = n.children ?? [];
    if (!children.length) return el('div', { class: 'node leaf', 'data-expr': n.expr }, el('div', { class: 'row' }, ...row));
    const details = el('details', { class: 'node', open: true, 'data-expr': n.expr });
    details.append(el('summary', { class: 'row' }, ...row), el('div', { class: 'children' }, ...children.map(node)));
    return details;
  };
  return node(trace);
}

const BADGES = {
  true: ['MEMBER', 'The rule is TRUE: the profile is in the segment.'],
  false: ['NOT A MEMBER', 'The rule is FALSE.'],
  unknown: ['UNKNOWN', 'The rule is UNKNOWN (null), so the profile is not a member.'],
  none: ['—', ''],
};

function renderOutcome(outcome, sub) {
  const box = $('outcome');
  box.dataset.outcome = outcome;
  const [label, text] = BADGES[outcome];
  box.querySelector('.badge').textContent = label;
  box.querySelector('.outcome-sub').textContent = sub ?? text;
  for (const s of box.querySelectorAll('.tri span')) s.classList.toggle('on', s.dataset.v === outcome);
}

function renderResult(def, compiled, profile, asOf, fx, context) {
  const explanationBox = $('explanation');
  const evalError = $('eval-error');
  const unknownBox = $('unknown-inputs');
  evalError.replaceChildren();
  unknownBox.replaceChildren();
  $('resolution').textContent = '';
  $('timing').textContent = '';

  const blockers = [];
  if (!compiled.segment || compiled.diagnostics.some((d) => d.severity === 'error')) blockers.push('the definition');
  if (profile.error) blockers.push('the profile');
  if (asOf.error) blockers.push('as_of');
  if (fx.error) blockers.push('the FX quotes');
  if (blockers.length) {
    renderOutcome('none', `Fix ${blockers.join(', ').replace(/, ([^,]*)$/, ' and $1')} to evaluate.`);
    explanationBox.classList.add('stale');
    return;
  }

  if (compiled.closure.length) {
    $('resolution').textContent =
      `in_segment references resolve against the demo registry: ${compiled.closure.join(', ')}` +
      (demo.has(def.id) ? ` (this definition replaces the demo's ${def.id}).` : '.');
  }

  const t0 = performance.now();
  let explanation;
  try {
    explanation = compiled.registry
      ? compiled.registry.explain(compiled.segment.id, profile.profile, context)
      : compiled.segment.explain(profile.profile, context);
  } catch (e) {
    renderOutcome('none', 'Evaluation failed: see the error below.');
    const code = e instanceof sc.SegmentError ? e.code : e?.name ?? 'error';
    evalError.append(el('p', {}, el('strong', { text: code }), el('span', { class: 'msg', text: ' ' + errorMessage(e) })));
    explanationBox.classList.add('stale');
    return;
  }
  const ms = performance.now() - t0;

  renderOutcome(explanation.outcome, explanation.note ?? undefined);
  const values = displayValues(explanation, countNodes(explanation.trace));
  explanationBox.replaceChildren(renderTrace(explanation.trace, values));
  explanationBox.classList.remove('stale');

  if (explanation.unknownInputs.length) {
    unknownBox.append(
      el('h3', { text: 'UNKNOWN because of' }),
      el(
        'ul',
        {},
        ...explanation.unknownInputs.map((u) => el('li', {}, el('code', { text: u.path }), ' ', el('span', { text: `is ${u.reason}` }))),
      ),
    );
  }
  $('timing').textContent = `Evaluated ${compiled.segment.id}@${compiled.segment.version} for profile ${profile.profile.id} at ${asOf.asOf} in ${ms.toFixed(2)} ms.`;
}

// ---------------------------------------------------------------------------------------------
// The update loop

let timer = null;

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(update, DEBOUNCE_MS);
}

function update() {
  clearTimeout(timer);
  timer = null;
  const def = readDefinition();
  const compiled = compileDefinition(def);
  renderDiagnostics(def, compiled.diagnostics);
  renderDefinitionOutputs(def, compiled);

  const profile = readProfile();
  renderProfileError(profile);

  // The evaluation context: as_of and FX quotes, parsed by the core once per change.
  const asOf = readAsOf();
  const fx = readFx();
  let context = null;
  if (!asOf.error && !fx.error) {
    try {
      context = new sc.Context({ asOf: asOf.asOf, fx: fx.fx });
    } catch (e) {
      const message = e instanceof sc.SegmentError ? `${e.code}: ${e.message}` : errorMessage(e);
      if (/\bFX\b/.test(e.message)) fx.error = message;
      else asOf.error = message;
    }
  }
  renderAsOf(asOf);
  $('fx-error').textContent = fx.error ?? '';
  $('fx').toggleAttribute('aria-invalid', !!fx.error);

  renderResult(def, compiled, profile, asOf, fx, context);
  document.body.dataset.updated = String(Number(document.body.dataset.updated ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// Setup

async function loadDemos() {
  const texts = await Promise.all(
    DEMO_SEGMENT_FILES.map(async (file) => {
      const res = await fetch(new URL(file, DEMO_DIR));
      if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
      return res.text();
    }),
  );
  const registry = sc.Registry.fromDefinitions(texts);
  const hashes = new Map(registry.segments().map((s) => [s.id, s.definitionHash]));
  texts.forEach((text) => {
    const seg = sc.Segment.fromYAML(text);
    const def = seg.toJSON();
    demo.set(seg.id, { text, def, name: def.name, description: def.description, refs: seg.readSet.segments, hash: hashes.get(seg.id) });
  });
}

function fillExamples() {
  const select = $('examples');
  select.replaceChildren();
  for (const [id, d] of [...demo.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const refs = d.refs.length ? ' · uses in_segment' : '';
    select.append(el('option', { value: id, text: `${id} — ${d.name}${refs}` }));
  }
  select.disabled = false;
}

function loadExample(id) {
  const d = demo.get(id);
  if (!d) return;
  writeDefinition(d.def);
  $('examples').value = id;
  $('examples-note').textContent = d.description
    ? `${d.description} (cli/src/demo/${id}.yaml)`
    : `cli/src/demo/${id}.yaml`;
}

function loadSample(key) {
  const s = SAMPLE_PROFILES.find((p) => p.key === key);
  if (!s) return;
  $('sample').value = key;
  profileEditor.value = prettyJSON(s.profile, '', 0, profileEditor.columns());
}

function setAsOfNow() {
  const zone = $('tz').value;
  const now = Date.now();
  $('as-of').value = civilString(now + offsetAt(zone, now));
}

async function copyText(text, button) {
  const status = $('copy-status');
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    // Without clipboard permission: copy through a selection.
    const ta = el('textarea', { value: text, readOnly: true, class: 'offscreen' });
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand?.('copy');
    ta.remove();
    status.textContent = ok ? 'Copied to the clipboard.' : 'Copying is blocked here: select the text and copy it.';
  }
  const label = button.textContent;
  button.textContent = 'Copied ✓';
  setTimeout(() => (button.textContent = label), 1200);
}

function setup() {
  ruleEditor = new CodeEditor($('rule-editor'), { autoGrow: true });
  profileEditor = new CodeEditor($('profile-editor'));

  // Zones for the as_of picker and the definition's timezone field.
  const zones = [...TIME_ZONES];
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (own && !zones.includes(own)) zones.push(own);
  for (const z of zones) $('tz').append(el('option', { value: z, text: z === own ? `${z} (this browser)` : z }));
  for (const z of TIME_ZONES) $('zone-list').append(el('option', { value: z }));

  for (const s of SAMPLE_PROFILES) $('sample').append(el('option', { value: s.key, text: s.label }));

  // Live updates.
  for (const id of ['rule', 'profile', 'fx', ...META_FIELDS]) $(id).addEventListener('input', schedule);
  for (const id of ['status-field', 'as-of', 'tz']) $(id).addEventListener('change', update);
  $('as-of').addEventListener('input', schedule);
  $('examples').addEventListener('change', () => {
    loadExample($('examples').value);
    update();
  });
  $('sample').addEventListener('change', () => {
    loadSample($('sample').value);
    update();
  });
  $('as-of-now').addEventListener('click', () => {
    setAsOfNow();
    update();
  });
  $('as-of-demo').addEventListener('click', () => {
    $('as-of').value = DEFAULT_AS_OF.wall;
    $('tz').value = DEFAULT_AS_OF.zone;
    update();
  });
  $('apply-format').addEventListener('click', () => {
    const seg = compileDefinition(readDefinition()).segment;
    if (!seg) return;
    ruleEditor.value = seg.rule;
    update();
    $('rule').focus();
  });
  $('expand-all').addEventListener('click', () => {
    for (const d of $('explanation').querySelectorAll('details')) d.open = true;
  });
  $('collapse-all').addEventListener('click', () => {
    for (const d of $('explanation').querySelectorAll('details')) d.open = false;
  });
  for (const b of document.querySelectorAll('button.copy')) {
    b.addEventListener('click', () => copyText($(b.dataset.copy).textContent, b));
  }
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      update();
    }
  });

  $('as-of').value = DEFAULT_AS_OF.wall;
  $('tz').value = DEFAULT_AS_OF.zone;
  $('fx').value = JSON.stringify(DEFAULT_FX, null, 2);
}

async function main() {
  const status = $('status');
  try {
    sc = await import('../js/web.mjs');
  } catch (e) {
    status.textContent = `Could not load segcore's WebAssembly module: ${errorMessage(e)}`;
    status.classList.add('status-error');
    return;
  }
  $('versions').textContent = `segcore ${sc.version} · segment language ${sc.languageVersion} · WebAssembly`;
  setup();

  try {
    await loadDemos();
    fillExamples();
  } catch (e) {
    $('examples').replaceChildren(el('option', { value: '', text: 'Demo segments unavailable' }));
    $('examples-note').textContent = `Could not load the demo segments: ${errorMessage(e)}`;
    $('examples-note').classList.add('inline-error');
  }

  if (demo.has(INITIAL_SEGMENT)) loadExample(INITIAL_SEGMENT);
  else writeDefinition({ id: 'pro_adults', version: '1.0.0', rule: 'age >= 18 and plan = "pro"' });
  loadSample(SAMPLE_PROFILES[0].key);
  update();

  status.textContent = 'Ready. Edits are checked and evaluated as you type.';
  document.body.dataset.ready = 'true';
}

main();
