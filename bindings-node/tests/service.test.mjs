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
