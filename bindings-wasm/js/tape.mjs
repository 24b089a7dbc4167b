// The tape writer: a profile's data written as bytes into one buffer, so it crosses into Rust in
// one call instead of one call per value. The format and its decoder are in the core
// (core/src/tape.rs). Part of the shared JS API (api.mjs): in the WASM build the buffer is a
// scratch area inside the module's memory, in the Node binding a plain Uint8Array.
// Nothing here decides membership: this file only copies values.
//
// Limits are checked here, before a value crosses (the core checks them again): a value deeper
// than MAX_VALUE_DEPTH would otherwise reach recursive code, and a profile with a million events
// would be copied and parsed before the core counts them.
//
// Re-entrancy: a getter (or Proxy, or lazy ORM object) read while a profile is written may itself
// call segcore. Every write is a *session* (`open`/`close`): a session opened inside another one
// writes after the bytes the outer one has written so far (from `base`), and closing it puts the
// outer one's position back, so the outer tape is never overwritten.

import { limitExceeded } from './common.mjs';

const encoder = new TextEncoder();
const hasOwn = Object.hasOwn;
const EMPTY = Object.freeze({});

/** Deepest nesting of lists/objects in one value (core/src/limits.rs `MAX_VALUE_DEPTH`). */
export const MAX_VALUE_DEPTH = 100;
/** Most events in one profile (core/src/limits.rs `MAX_EVENTS_PER_PROFILE`). */
export const MAX_EVENTS_PER_PROFILE = 100_000;

function tooDeep() {
  return limitExceeded(`a profile value is nested more than ${MAX_VALUE_DEPTH} levels deep`);
}

function tooManyEvents(profile, n) {
  const id = profile.id;
  const name = typeof id === 'string' || typeof id === 'number' ? ` \`${id}\`` : '';
  return limitExceeded(`profile${name} has ${n} events; the limit is ${MAX_EVENTS_PER_PROFILE}`);
}

/** Whether `v` is an object written member by member (not null, an array or a Date). */
function isRecord(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

const T_ABSENT = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_DATE = 6;
const T_BIGINT = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;

/**
 * Where a tape lives. `reserve(capacity, keep)` returns a view of at least `capacity` bytes whose
 * first `keep` bytes are the old contents; `current(view)` returns `view`, or a fresh view of the
 * same bytes when the old one went stale (WebAssembly memory detaches its buffers when it grows).
 */
export function heapStorage() {
  let buffer = null;
  return {
    reserve(capacity, keep) {
      const next = new Uint8Array(capacity);
      if (buffer !== null) next.set(buffer.subarray(0, keep));
      buffer = next;
      return next;
    },
    current: (view) => view,
  };
}

/** A writer over a storage (see `heapStorage`). One per module instance. */
export class Tape {
  constructor(storage) {
    this.storage = storage;
    /** Where the current session's bytes start, and where the next byte goes. */
    this.base = 0;
    this.pos = 0;
    /** How many sessions are open (more than one: a getter called segcore). */
    this.depth = 0;
    /** Set when the storage was replaced while a session was open (its bytes are gone). */
    this.lost = false;
    this.setView(storage.reserve(64 * 1024, 0));
  }

  /** A new storage (a fresh WebAssembly instance): open sessions lost their bytes. */
  reattach(storage) {
    this.storage = storage;
    if (this.depth > 0) this.lost = true;
    this.setView(storage.reserve(64 * 1024, 0));
  }

  setView(u8) {
    this.u8 = u8;
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    this.cap = u8.byteLength;
  }

  /**
   * Opens a session: its tape starts at `this.base`. Returns what `close` needs: `null` for an
   * outermost session (which starts at 0), else the outer session's base and position (a nested
   * session starts after the outer one's bytes).
   */
  open() {
    const view = this.storage.current(this.u8);
    if (view !== this.u8) this.setView(view);
    if (this.depth++ === 0) {
      this.base = 0;
      this.pos = 0;
      this.lost = false;
      return null;
    }
    const saved = [this.base, this.pos];
    this.base = this.pos;
    return saved;
  }

  /** Closes the session `open` returned `saved` for. */
  close(saved) {
    this.depth--;
    if (saved !== null) {
      this.base = saved[0];
      this.pos = saved[1];
    }
  }

  /** Starts the session's tape over (at `base`). */
  begin() {
    const view = this.storage.current(this.u8);
    if (view !== this.u8) this.setView(view);
    this.pos = this.base;
  }

  /** `n` bytes from `at` (where WASM registry calls write their codes). */
  bytes(at, n) {
    const view = this.storage.current(this.u8);
    if (view !== this.u8) this.setView(view);
    return this.u8.subarray(at, at + n);
  }

  ensure(n) {
    if (this.pos + n > this.cap) {
      let cap = this.cap * 2;
      while (cap < this.pos + n) cap *= 2;
      this.setView(this.storage.reserve(cap, this.pos));
    }
  }

  tag(t) {
    this.ensure(1);
    this.u8[this.pos++] = t;
  }

  u32(n) {
    this.ensure(4);
    this.dv.setUint32(this.pos, n, true);
    this.pos += 4;
  }

  /** Reserves a u32 to fill in later with `patchU32`. */
  placeholder() {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  patchU32(at, n) {
    this.dv.setUint32(at, n, true);
  }

  number(v) {
    this.ensure(9);
    this.u8[this.pos] = T_NUMBER;
    this.dv.setFloat64(this.pos + 1, v, true);
    this.pos += 9;
  }

  date(d) {
    this.ensure(9);
    this.u8[this.pos] = T_DATE;
    this.dv.setFloat64(this.pos + 1, d.getTime(), true);
    this.pos += 9;
  }

  /** Tag, then the string (see `str`). */
  text(tag, s) {
    this.ensure(1);
    this.u8[this.pos++] = tag;
    this.str(s);
  }

  /** u32 byte length, UTF-8. Short ASCII strings (most values) are copied by hand. */
  str(s) {
    const n = s.length;
    this.ensure(4 + n * 3);
    const u8 = this.u8;
    const start = this.pos + 4;
    let written = -1;
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) break;
        u8[start + i] = c;
      }
      if (i === n) written = n;
    }
    if (written < 0) written = encoder.encodeInto(s, u8.subarray(start, start + n * 3)).written;
    this.dv.setUint32(this.pos, written, true);
    this.pos = start + written;
  }

  /**
   * Any JS value; objects and arrays recursively (`depth`: how many lists/objects enclose `v`).
   * Throws a TypeError for what data cannot hold, `limit_exceeded` past MAX_VALUE_DEPTH.
   */
  value(v, depth = 0) {
    switch (typeof v) {
      case 'string':
        this.text(T_STRING, v);
        return;
      case 'number':
        this.number(v);
        return;
      case 'boolean':
        this.tag(v ? T_TRUE : T_FALSE);
        return;
      case 'undefined':
        this.tag(T_ABSENT);
        return;
      case 'bigint':
        this.text(T_BIGINT, v.toString());
        return;
      case 'object':
        if (v === null) {
          this.tag(T_NULL);
          return;
        }
        if (v instanceof Date) {
          this.date(v);
          return;
        }
        // `v` is the (depth + 1)-th list or object on this path.
        if (depth >= MAX_VALUE_DEPTH) throw tooDeep();
        if (Array.isArray(v)) {
          this.tag(T_ARRAY);
          this.u32(v.length);
          for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
          return;
        }
        this.object(v, depth);
        return;
      default:
        throw new TypeError(`cannot pass a ${typeof v} to segcore`);
    }
  }

  /**
   * An object member by member; `member(tape, key, value)` writes each value (default: a value
   * one level deeper).
   */
  object(v, depth, member) {
    this.tag(T_OBJECT);
    const count = this.placeholder();
    let n = 0;
    for (const k of Object.keys(v)) {
      const item = v[k];
      // `undefined` members are absent, as in JSON.stringify.
      if (item === undefined) continue;
      this.str(k);
      if (member === undefined) this.value(item, depth + 1);
      else member(this, k, item);
      n++;
    }
    this.patchU32(count, n);
  }
}

// A whole profile: the nesting limit counts from each attribute and event property value (as
// the core's profile parser does), not from the profile object around them.
const dataValue = (t, _k, v) => t.value(v, 0);
const eventMember = (t, k, v) => (k === 'properties' && isRecord(v) ? t.object(v, 0, dataValue) : t.value(v, 0));
const profileMember = (t, k, v) => {
  if (k === 'attributes' && isRecord(v)) t.object(v, 0, dataValue);
  else if (k === 'events' && Array.isArray(v)) {
    t.tag(T_ARRAY);
    t.u32(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (isRecord(e)) t.object(e, 0, eventMember);
      else t.value(e, 0);
    }
  } else t.value(v, 0);
};

/**
 * Writes a whole profile object for the core's parser (which reports any wrong shape) after what
 * the tape holds. Throws `limit_exceeded` for too many events or too deep a value.
 */
export function writeProfile(tape, profile) {
  if (!isRecord(profile)) {
    tape.value(profile);
    return;
  }
  const events = profile.events;
  if (Array.isArray(events) && events.length > MAX_EVENTS_PER_PROFILE) throw tooManyEvents(profile, events.length);
  tape.object(profile, 0, profileMember);
}

/**
 * Writes a whole profile object as the session's tape (from `tape.base`); returns its length.
 */
export function writeWhole(tape, profile) {
  tape.begin();
  writeProfile(tape, profile);
  return tape.pos - tape.base;
}

/**
 * A projector for a compiled segment or registry: writes, from a plain profile object, exactly
 * the values its rules read, in slot order (`spec` from the module), as the session's tape (from
 * `tape.base`). Returns the tape's length, or -1 when the object has an unusual shape (then the
 * tape's end is undefined, and the whole object goes through the core's parser, which reports
 * it). Throws `limit_exceeded` for more than MAX_EVENTS_PER_PROFILE events (read or not, as the
 * core counts a profile's events) and for values nested too deep.
 */
export function makeProjector(tape, spec) {
  const names = spec.attributes;
  // Generated once per segment: V8 compiles the property reads to inline caches.
  const body = names
    .map((n) => `t.value(hasOwn(a, ${JSON.stringify(n)}) ? a[${JSON.stringify(n)}] : undefined);`)
    .join('\n');
  const writeAttributes = new Function('hasOwn', `return function writeAttributes(t, a) {\n${body}\n};`)(hasOwn);
  const slots = new Map(spec.events.map(([name], i) => [name, i]));
  const props = spec.events.map(([, p]) => p);
  const attributeCount = names.length;
  const readsEvents = spec.events.length > 0;

  // With `append`, the projection goes after what the tape holds (a batch); otherwise the tape
  // starts over.
  return function project(profile, append = false) {
    for (const k in profile) {
      if (k !== 'id' && k !== 'attributes' && k !== 'events') return -1;
    }
    const id = profile.id;
    let a = profile.attributes;
    if (a == null) a = EMPTY;
    else if (typeof a !== 'object' || Array.isArray(a)) return -1;
    const events = profile.events;
    if (events != null && !Array.isArray(events)) return -1;
    if (events != null && events.length > MAX_EVENTS_PER_PROFILE) throw tooManyEvents(profile, events.length);
    if (!append) tape.begin();
    if (typeof id === 'string') tape.text(T_STRING, id);
    else if (typeof id === 'number' && Number.isSafeInteger(id)) tape.number(id);
    else return -1;
    tape.u32(attributeCount);
    writeAttributes(tape, a);
    const count = tape.placeholder();
    let n = 0;
    if (events != null && readsEvents) {
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e === null || typeof e !== 'object' || Array.isArray(e)) return -1;
        const name = e.name;
        if (typeof name !== 'string') return -1;
        const slot = slots.get(name);
        if (slot === undefined) continue;
        const at = e.at;
        const pr = e.properties;
        if (pr != null && (typeof pr !== 'object' || Array.isArray(pr))) return -1;
        tape.u32(slot);
        tape.u32(i);
        if (typeof at === 'string') tape.text(T_STRING, at);
        else if (at instanceof Date) tape.date(at);
        else return -1;
        const wanted = props[slot];
        for (let k = 0; k < wanted.length; k++) {
          tape.value(pr != null && hasOwn(pr, wanted[k]) ? pr[wanted[k]] : undefined);
        }
        n++;
      }
    }
    tape.patchU32(count, n);
    return tape.pos - tape.base;
  };
}
