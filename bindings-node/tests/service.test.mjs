// Starts the example service on a free port on 127.0.0.1, sends good and bad requests, stops it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../examples/service.mjs';


let svc;
before(async () => {
  svc = await startService({ port: 0 });
});
after(async () => {
  await svc?.close();
});

const AS_OF = '2026-03-15T12:00:00Z';

async function post(body, path = '/evaluate') {
  const res = await fetch(svc.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('listens on 127.0.0.1 only', () => {
  assert.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(svc.server.address().port, 0);
});

test('GET /segments lists ids, versions and definition hashes', async () => {
  const res = await fetch(svc.url + '/segments');
  assert.equal(res.status, 200);
  const { segments } = await res.json();
  assert.equal(segments.length, 11);
  const hv = segments.find((s) => s.id === 'high_value');
  assert.equal(hv.version, svc.registry.get('high_value').version);
  assert.match(hv.definitionHash, /^[0-9a-f]{64}$/);
  assert.deepEqual(segments.map((s) => s.id), [...segments.map((s) => s.id)].sort());
});

test('POST /evaluate returns the segments a profile belongs to', async () => {
  const profile = {
    id: 'u1',
    attributes: { age: 40, country: 'US', plan: 'pro', ltv: 900 },
    events: [
      { name: 'purchase', at: '2026-03-01T00:00:00Z', properties: { amount: { amount: '300', currency: 'USD' } } },
      { name: 'purchase', at: '2026-03-10T00:00:00Z', properties: { amount: { amount: '250', currency: 'USD' } } },
    ],
  };
  const { status, body } = await post({ profile, asOf: AS_OF });
  assert.equal(status, 200);
  assert.equal(body.id, 'u1');
  assert.equal(body.asOf, AS_OF);
  // R1 (adult pro in US, ltv 900), R2 (2 purchases in 90d), high_value (550 USD in 90d).
  for (const id of ['r1_pro_adults', 'r2_repeat_buyers', 'high_value']) assert.ok(body.members.includes(id), id);
  assert.ok(!body.members.includes('new_users'));
  assert.equal(body.outcomes.new_users, 'unknown'); // no signup_at
  // The same answer as the library gives in-process.
  assert.deepEqual(body.members, svc.registry.members(profile, { asOf: AS_OF }));
  // A bare profile body works too (asOf from ?as_of=).
  const bare = await post(profile, `/evaluate?as_of=${AS_OF}`);
  assert.deepEqual(bare.body.members, body.members);
});

test('bad requests get 4xx with a message, and the service keeps serving', async () => {
  const badJson = await post('{"id": "u1", ');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error, 'bad_json');
  assert.match(badJson.body.message, /not JSON/);

  const notObject = await post('[1,2]');
  assert.equal(notObject.status, 400);

  const unknownField = await post({ profile: { id: 'u', attributez: {} }, asOf: AS_OF });
  assert.equal(unknownField.status, 422);
  assert.equal(unknownField.body.error, 'invalid_profile');

  const badAsOf = await post({ profile: { id: 'u' }, asOf: 'tomorrow' });
  assert.equal(badAsOf.status, 422);
  assert.equal(badAsOf.body.error, 'invalid_context');

  const weird = await post({ profile: { id: 'u', attributes: { age: { deeply: [{ nested: null }] }, country: 7 } }, asOf: AS_OF, extra: true });
  assert.equal(weird.status, 200);

  const get = await fetch(svc.url + '/evaluate');
  assert.equal(get.status, 405);
  const missing = await fetch(svc.url + '/nope');
  assert.equal(missing.status, 404);

  const health = await (await fetch(svc.url + '/healthz')).json();
  assert.deepEqual(health, { ok: true, segments: 11 });
});

// ----------------------------------------------------------------------------------------------
// Slow and oversized clients (hardening item 13)

import net from 'node:net';

/** Sends `head` (and optionally body bytes) on a raw socket; resolves to what the server answers and when it closed. */
function raw(url, writeAll, { timeoutMs = 8_000 } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const started = Date.now();
    let data = '';
    let error = null;
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', (e) => (error = e));
    socket.on('close', () => resolve({ data, error, ms: Date.now() - started }));
    socket.on('connect', () => writeAll(socket));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(data.slice(0, 200))}`));
    }, timeoutMs).unref();
  });
}

test('a body over 1 MiB gets a 413 the client can read (streamed, and by Content-Length)', async () => {
  // fetch streams the whole body; the 413 must arrive, not a reset.
  const big = JSON.stringify({ id: 'u', attributes: { pad: 'x'.repeat(3 << 20) } });
  const res = await fetch(svc.url + '/evaluate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error, 'too_large');
  // Chunked (no Content-Length): refused while it streams in.
  const chunked = await raw(svc.url, (s) => {
    s.write('POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = 'a'.repeat(64 * 1024);
    for (let i = 0; i < 40; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  });
  assert.match(chunked.data, /^HTTP\/1\.1 413 /, `got ${JSON.stringify(chunked.data.slice(0, 100))} ${chunked.error}`);
  assert.match(chunked.data, /"too_large"/);
  // Content-Length over the limit: answered before any body byte is read.
  const declared = await raw(svc.url, (s) => {
    s.write(`POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${5 << 20}\r\n\r\n`);
    s.write('{"id":');
  });
  assert.match(declared.data, /^HTTP\/1\.1 413 /);
  assert.match(declared.data, /connection: close/i);
  // The service keeps serving.
  assert.equal((await fetch(svc.url + '/healthz')).status, 200);
});

test('a slow client cannot hold a connection past the request timeout', async () => {
  const quick = await startService({ port: 0, requestTimeoutMs: 600 });
  try {
    // Headers, then a body that never completes.
    const slowBody = await raw(quick.url, (s) => {
      s.write('POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":');
    });
    assert.ok(slowBody.ms < 4_000, `closed after ${slowBody.ms} ms`);
    assert.match(slowBody.data, /^HTTP\/1\.1 408 |^$/, `got ${JSON.stringify(slowBody.data.slice(0, 100))}`);
    // Headers that never complete.
    const slowHeaders = await raw(quick.url, (s) => s.write('POST /evaluate HTTP/1.1\r\nHost: x\r\n'));
    assert.ok(slowHeaders.ms < 4_000, `closed after ${slowHeaders.ms} ms`);
    // The defaults are 10 s, not Node's 300 s.
    assert.equal(svc.server.requestTimeout, 10_000);
    assert.equal(svc.server.headersTimeout, 10_000);
  } finally {
    await quick.close();
  }
});
