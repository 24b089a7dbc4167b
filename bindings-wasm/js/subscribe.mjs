// `Registry.subscribe` (SPEC §28): follow a `segcore serve` service with `fetch` — in Node and in
// browsers alike. Transport only: every bundle is loaded by the core (`Registry.fromBundle`), which
// refuses a changed, cut or uncompilable bundle whole; only a whole registry is ever swapped in.

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** A promise that resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * `fetch` and `read(response)` — the body too — that give up after `ms` or when `signal` aborts
 * (already aborted: at once). Resolves to `{ status, body }`.
 */
async function fetchWithin(fetchFn, url, init, ms, signal, read) {
  signal.throwIfAborted();
  const timeout = new AbortController();
  const t = setTimeout(() => timeout.abort(new Error(`no answer from ${url} within ${ms} ms`)), ms);
  const stop = () => timeout.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  try {
    const res = await fetchFn(url, { ...init, signal: timeout.signal });
    return { status: res.status, ok: res.ok, body: await read(res) };
  } catch (e) {
    throw timeout.signal.aborted && timeout.signal.reason instanceof Error && !signal.aborted ? timeout.signal.reason : e;
  } finally {
    clearTimeout(t);
    signal.removeEventListener('abort', stop);
  }
}

/**
 * GET /bundle (with the current hash as `If-None-Match`), loaded whole by the core:
 * `{registry, hash}`, or `null` when unchanged.
 */
async function loadBundle(fetchFn, base, current, timeout, signal, fromBundle) {
  const headers = current ? { 'if-none-match': `"${current}"` } : {};
  const res = await fetchWithin(fetchFn, `${base}/bundle`, { headers }, timeout, signal, (r) => r.text());
  if (res.status === 304) return null;
  if (!res.ok) throw new Error(`GET ${base}/bundle: HTTP ${res.status}`);
  const registry = fromBundle(res.body);
  return { registry, hash: registry.bundleHash };
}

/** A registry that follows a service; made by `Registry.subscribe`. */
class Subscription {
  #fetch;
  #fromBundle;
  #wait;
  #timeout;
  #onChange;
  #onError;
  #stop = new AbortController();
  #waiters = new Set();
  #registry;
  #hash;
  #updates = 0;
  #lastError = null;

  constructor(url, registry, hash, options, fetchFn, fromBundle) {
    this.url = url;
    this.#registry = registry;
    this.#hash = hash;
    this.#fetch = fetchFn;
    this.#fromBundle = fromBundle;
    this.#wait = options.wait ?? 30;
    this.#timeout = options.timeout ?? 10_000;
    this.#onChange = options.onChange;
    this.#onError = options.onError;
  }

  /** The current registry: one whole bundle. */
  get registry() {
    return this.#registry;
  }
  /** The current bundle's hash. */
  get bundleHash() {
    return this.#hash;
  }
  /** Bundles swapped in after the first. */
  get updates() {
    return this.#updates;
  }
  /** Why the last attempt to follow the service failed; `null` after a successful swap. */
  get lastError() {
    return this.#lastError;
  }
  /** Whether `close()` was called. */
  get closed() {
    return this.#stop.signal.aborted;
  }
  /** `registry.evaluate` on the current bundle. */
  evaluate(profile, options) {
    return this.#registry.evaluate(profile, options);
  }
  /**
   * Resolves with the hash once the current bundle is `bundleHash` (or, without one, at the next
   * swap); rejects after `timeout` ms.
   */
  waitFor(bundleHash, { timeout = 30_000 } = {}) {
    if (bundleHash && bundleHash === this.#hash) return Promise.resolve(this.#hash);
    if (this.closed) return Promise.reject(new Error('subscription closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        check: (hash) => {
          if (bundleHash && hash !== bundleHash) return;
          clearTimeout(t);
          this.#waiters.delete(waiter);
          resolve(hash);
        },
        fail: (e) => {
          clearTimeout(t);
          this.#waiters.delete(waiter);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.#waiters.delete(waiter);
        const last = this.#lastError ? `; last error: ${this.#lastError.message}` : '';
        reject(new Error(`bundle ${bundleHash ?? '(next)'} did not arrive within ${timeout} ms (current ${this.#hash}${last})`));
      }, timeout);
      this.#waiters.add(waiter);
    });
  }
  /**
   * Stops following the service at once (an open request is aborted, pending `waitFor` calls
   * reject); the registry stays usable.
   */
  close() {
    this.#stop.abort(new Error('subscription closed'));
    for (const w of [...this.#waiters]) w.fail(new Error('subscription closed'));
  }

  async follow() {
    let backoff = FIRST_BACKOFF_MS;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const started = Date.now();
        const url = `${this.url}/changes?after=${encodeURIComponent(this.#hash)}&wait=${this.#wait}`;
        const res = await fetchWithin(this.#fetch, url, {}, this.#wait * 1000 + this.#timeout, signal, (r) =>
          r.status === 200 ? r.json() : null,
        );
        if (res.status === 204) {
          // A short (or zero) wait must not turn into a busy loop.
          await pause(Math.max(0, 1000 - (Date.now() - started)), signal);
          continue;
        }
        if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
        const { bundle } = res.body;
        if (bundle === this.#hash) continue;
        const next = await loadBundle(this.#fetch, this.url, this.#hash, this.#timeout, signal, this.#fromBundle);
        if (next === null || signal.aborted) continue;
        // The swap: both fields in one synchronous step, so no evaluation sees half of it.
        this.#registry = next.registry;
        this.#hash = next.hash;
        this.#updates++;
        this.#lastError = null;
        backoff = FIRST_BACKOFF_MS;
        for (const w of [...this.#waiters]) w.check(next.hash);
        try {
          this.#onChange?.(next.registry);
        } catch (e) {
          // The caller's callback failing is not a failure to follow the service.
          console.warn('segcore Subscription: onChange threw', e);
        }
      } catch (e) {
        if (signal.aborted) break;
        this.#lastError = e;
        try {
          this.#onError?.(e);
        } catch {
          // A failing callback must not stop the subscription.
        }
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
}

/**
 * `Registry.subscribe(url, options)`: resolves once the service's first bundle is loaded, then
 * follows its change feed until `close()`.
 */
export async function subscribe(fromBundle, url, options = {}) {
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new TypeError('Registry.subscribe needs fetch (Node >= 18, or pass options.fetch)');
  const base = String(url).replace(/\/+$/, '');
  const first = await loadBundle(fetchFn, base, null, options.timeout ?? 10_000, new AbortController().signal, fromBundle);
  // (No If-None-Match on the first load: never a 304.)
  const sub = new Subscription(base, first.registry, first.hash, options, fetchFn, fromBundle);
  sub.follow();
  return sub;
}
