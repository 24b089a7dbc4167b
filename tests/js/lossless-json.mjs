// A small lossless JSON reader/writer for the conformance runner.
//
// `JSON.parse` turns every number into a double: `3` and `3.0` become the same value and integers
// beyond 2^53 lose digits. The conformance suite depends on both distinctions, so this parser keeps
// every number as a `RawNumber` holding its exact source text. Everything else comes back as
// ordinary JS values (objects, arrays, strings, booleans, null).
//
// Object key order: JS objects put integer-like keys ("1", "42") first whatever the source order,
// so every parsed object also carries its keys in source order under a non-enumerable symbol;
// `stringify` writes keys in that order, so parse → stringify keeps the document's key order.

/** A JSON number, kept as its exact source text. */
export class RawNumber {
  constructor(text) {
    if (typeof text !== 'string' || !NUMBER_RE.test(text)) {
      throw new TypeError(`RawNumber: not a JSON number: ${String(text)}`);
    }
    this.text = text;
  }
  /** True when the literal has no fraction and no exponent. */
  get isIntegerLiteral() {
    return !/[.eE]/.test(this.text);
  }
  toString() {
    return this.text;
  }
  toJSON() {
    // Only reached through JSON.stringify (not this module's stringify); best effort.
    return Number(this.text);
  }
}

const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** Parsed objects' keys in source order (non-enumerable, so invisible to ordinary code). */
const KEY_ORDER = Symbol('lossless-json.keyOrder');

const MAX_SAFE = 2n ** 53n - 1n;

function setOwn(obj, key, value) {
  // Plain assignment of "__proto__" would set the prototype; JSON.parse makes an own property.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function keysOf(obj) {
  const order = obj[KEY_ORDER];
  if (Array.isArray(order)) {
    // Keys may have been added or deleted since parsing: keep the recorded order for those
    // still present, then the others in their own order.
    const own = Object.keys(obj);
    const present = new Set(own);
    const seen = new Set();
    const out = [];
    for (const k of order) {
      if (present.has(k) && !seen.has(k)) {
        seen.add(k);
        out.push(k);
      }
    }
    for (const k of own) if (!seen.has(k)) out.push(k);
    return out;
  }
  return Object.keys(obj);
}

// ---------------------------------------------------------------------------------------------
// Parsing

class Parser {
  constructor(text) {
    this.s = text;
    this.i = 0;
  }

  fail(what) {
    const { line, column } = this.position(this.i);
    const near = this.i < this.s.length ? JSON.stringify(this.s.slice(this.i, this.i + 12)) : 'end of input';
    throw new SyntaxError(`JSON: ${what} at line ${line} column ${column} (near ${near})`);
  }

  position(at) {
    let line = 1;
    let column = 1;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s[k] === '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return { line, column };
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  value(depth) {
    if (depth > 10000) this.fail('nesting too deep');
    this.ws();
    if (this.i >= this.s.length) this.fail('unexpected end of input, expected a value');
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  literal(word, value) {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return value;
    }
    return this.fail(`invalid literal, expected ${word}`);
  }

  number() {
    const s = this.s;
    const start = this.i;
    const digit = () => this.i < s.length && s[this.i] >= '0' && s[this.i] <= '9';
    if (s[this.i] === '-') this.i++;
    if (!digit()) this.fail('invalid number: expected a digit');
    if (s[this.i] === '0') {
      this.i++;
      if (digit()) this.fail('invalid number: leading zero');
    } else {
      while (digit()) this.i++;
    }
    if (s[this.i] === '.') {
      this.i++;
      if (!digit()) this.fail('invalid number: expected a digit after the decimal point');
      while (digit()) this.i++;
    }
    if (s[this.i] === 'e' || s[this.i] === 'E') {
      this.i++;
      if (s[this.i] === '+' || s[this.i] === '-') this.i++;
      if (!digit()) this.fail('invalid number: expected a digit in the exponent');
      while (digit()) this.i++;
    }
    return new RawNumber(s.slice(start, this.i));
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  string() {
    const s = this.s;
    this.i++; // opening quote
    let out = '';
    let runStart = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(runStart, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('unescaped control character in string');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(runStart, this.i);
      this.i++; // backslash
      if (this.i >= s.length) this.fail('unterminated escape');
      const e = s[this.i++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const u = this.hex4();
          if (u >= 0xd800 && u <= 0xdbff && s[this.i] === '\\' && s[this.i + 1] === 'u') {
            // A high surrogate followed by an escaped low surrogate: one code point.
            const save = this.i;
            this.i += 2;
            const lo = this.hex4();
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              out += String.fromCodePoint(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
              break;
            }
            this.i = save; // not a pair: the high surrogate stands alone (as JSON.parse allows)
          }
          out += String.fromCharCode(u);
          break;
        }
        default:
          this.i--;
          this.fail(`invalid escape \\${e}`);
      }
      runStart = this.i;
    }
  }

  array(depth) {
    this.i++; // [
    const out = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail("expected ',' or ']' in array");
    }
  }

  object(depth) {
    this.i++; // {
    const out = {};
    const order = [];
    Object.defineProperty(out, KEY_ORDER, { value: order, enumerable: false, writable: true, configurable: true });
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a string key in object');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':' after object key");
      this.i++;
      const v = this.value(depth + 1);
      // Duplicate keys: the last value wins, at the first key's position (like JSON.parse).
      if (!Object.prototype.hasOwnProperty.call(out, key)) order.push(key);
      setOwn(out, key, v);
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return out;
      }
      this.fail("expected ',' or '}' in object");
    }
  }
}

/** Parses JSON text; every number becomes a `RawNumber` with its exact source text. */
export function parse(text) {
  if (typeof text !== 'string') throw new TypeError('parse takes a string');
  // A leading byte order mark is not JSON; strip it like most file readers do.
  const p = new Parser(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const v = p.value(0);
  p.ws();
  if (p.i !== p.s.length) p.fail('unexpected data after the JSON value');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes a value as compact JSON: `RawNumber`s verbatim, strings through `JSON.stringify`, object
 * keys in source order. Plain JS numbers and bigints are written as JSON numbers too.
 */
export function stringify(value) {
  return write(value, new Set());
}

function write(v, stack) {
  if (v === null) return 'null';
  if (v instanceof RawNumber) return v.text;
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`stringify: ${v} is not a JSON number`);
      return JSON.stringify(v);
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      throw new TypeError(`stringify: cannot write a ${typeof v}`);
  }
  if (stack.has(v)) throw new TypeError('stringify: cyclic structure');
  stack.add(v);
  let out;
  if (Array.isArray(v)) {
    out = '[' + v.map((x) => (x === undefined || typeof x === 'function' ? 'null' : write(x, stack))).join(',') + ']';
  } else {
    const parts = [];
    for (const k of keysOf(v)) {
      const x = v[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      parts.push(JSON.stringify(k) + ':' + write(x, stack));
    }
    out = '{' + parts.join(',') + '}';
  }
  stack.delete(v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conversions

/** The value with every `RawNumber` replaced by `Number(text)` (recursively; new containers). */
export function toPlain(value) {
  if (value instanceof RawNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of keysOf(value)) setOwn(out, k, toPlain(value[k]));
    return out;
  }
  return value;
}

/**
 * True when JS numbers carry every `RawNumber` inside `value` exactly, int-vs-float included:
 * integer literals (no '.', 'e', 'E') with |n| <= 2^53 - 1, and float literals whose value is
 * finite and not an integer (so it stays a float in JS).
 */
export function isExactInJs(value) {
  if (value instanceof RawNumber) {
    const t = value.text;
    if (!/[.eE]/.test(t)) {
      const n = BigInt(t);
      return (n < 0n ? -n : n) <= MAX_SAFE;
    }
    const x = Number(t);
    return Number.isFinite(x) && !Number.isInteger(x);
  }
  if (Array.isArray(value)) return value.every(isExactInJs);
  if (value !== null && typeof value === 'object') return Object.keys(value).every((k) => isExactInJs(value[k]));
  return true;
}
