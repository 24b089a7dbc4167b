// The error classes, the decoding of module errors into them, and Explanation: part of the JS API
// the Node binding and the WASM build share (api.mjs).

/** Base of every segcore error: `code` is the stable error kind, `line`/`column` are 1-based. */
export class SegmentError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = new.target.name;
    this.code = details.code ?? 'segcore_error';
    this.line = details.line ?? null;
    this.column = details.column ?? null;
    this.origin = details.origin ?? null;
    this.fileLine = details.fileLine ?? null;
    this.fileColumn = details.fileColumn ?? null;
    this.diagnostics = details.diagnostics ?? [];
  }
}
/** The rule text is not valid syntax. */
export class ParseError extends SegmentError {}
/** The rule does not type-check, or segment references are wrong. */
export class TypeCheckError extends SegmentError {}
/** The definition document (metadata, YAML/JSON shape, files) is invalid. */
export class DefinitionError extends SegmentError {}
/** Evaluation failed for this profile or context. */
export class EvaluationError extends SegmentError {}
/**
 * The data or context handed in cannot be read (a bad profile, table or `asOf`; a repeated id).
 * A subclass of `EvaluationError`, so code catching that still catches it.
 */
export class DataError extends EvaluationError {}

const CLASSES = { ParseError, TypeCheckError, DefinitionError, EvaluationError, DataError };

/**
 * A segcore error raised on the JavaScript side (a limit checked before a value crosses, a
 * WebAssembly trap), with the same fields as one the module raises: `code` and one diagnostic.
 */
export function segcoreError(Cls, code, message) {
  const diagnostic = {
    kind: code,
    severity: 'error',
    message,
    line: null,
    column: null,
    origin: null,
    fileLine: null,
    fileColumn: null,
  };
  return new Cls(message, { code, diagnostics: [diagnostic] });
}

/**
 * `limit_exceeded` for data (profile values, events, FX quotes: a `DataError`) or for a
 * definition or schema (`DefinitionError`), as the core classifies it.
 */
export function limitExceeded(message, definition = false) {
  return segcoreError(definition ? DefinitionError : DataError, 'limit_exceeded', message);
}
const MARKER = '\u0001segcore';

/**
 * A module error as the public error class; anything else unchanged. The Rust side encodes the
 * details (segcore's `Error::to_json`) as JSON after a marker: in an Error's message (napi) or as a
 * thrown string (wasm-bindgen).
 */
export function convertError(e) {
  const text = typeof e === 'string' ? e : e instanceof Error ? e.message : null;
  if (typeof text !== 'string' || !text.startsWith(MARKER)) return e;
  let d;
  try {
    d = JSON.parse(text.slice(MARKER.length));
  } catch {
    return e;
  }
  if (d.class === 'TypeError') return new TypeError(d.message);
  const Cls = CLASSES[d.class] ?? SegmentError;
  return new Cls(d.message, d);
}

/** Runs `fn`, raising module errors as the public classes. */
export function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw convertError(e);
  }
}

/** Why a profile is in or out of a segment: every sub-expression with its value. */
export class Explanation {
  constructor(raw) {
    const j = raw.json;
    this.segment = j.segment;
    this.version = j.version;
    this.outcome = j.outcome;
    this.member = j.member;
    this.note = j.note ?? null;
    this.trace = j.trace;
    this.unknownInputs = j.unknown_inputs ?? [];
    Object.defineProperty(this, '_raw', { value: raw });
  }
  /** The explanation as plain data (what `JSON.stringify` writes). */
  toJSON() {
    return this._raw.json;
  }
  /** An indented, readable tree. */
  toString() {
    return this._raw.text;
  }
  /** A collapsible HTML tree (`<details>` elements), escaped. */
  toHTML() {
    return this._raw.html;
  }
}
