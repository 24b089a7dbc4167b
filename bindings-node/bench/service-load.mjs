// Requests per second of the example service under a short local load (BENCHMARKS.md).
//
//   cd bindings-node/bench && npm install && node service-load.mjs [seconds]
//
// Starts examples/service.mjs in its own process on a free port of 127.0.0.1, drives it with
// autocannon (10 connections) for a bounded time, prints the figures and stops the service.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 10);

const child = spawn(process.execPath, [path.join(HERE, '..', 'examples', 'service.mjs'), '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`service exited (${code})`)));
});

const profile = {
  id: 'u1',
  attributes: { age: 34, country: 'GB', plan: 'pro', ltv: 820, signup_at: '2026-03-10T00:00:00Z', churn_score: 0.2 },
  events: Array.from({ length: 50 }, (_, i) => ({
    name: i % 3 === 0 ? 'purchase' : 'login',
    at: new Date(Date.parse('2026-03-15T00:00:00Z') - i * 86400e3).toISOString(),
    properties: i % 3 === 0 ? { amount: { amount: '40', currency: 'USD' } } : { device: 'ios' },
  })),
};
const body = JSON.stringify({ profile, asOf: '2026-03-15T12:00:00Z' });

try {
  const result = await autocannon({
    url: `${url}/evaluate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: 10,
    duration: seconds,
  });
  console.log(`POST /evaluate, 11 demo segments, profile with 50 events, ${result.connections} connections, ${seconds} s`);
  console.log(`  requests/s: mean ${result.requests.average.toFixed(0)}, p50 ${result.requests.p50}`);
  console.log(`  latency ms: p50 ${result.latency.p50}, p99 ${result.latency.p99}`);
  console.log(`  non-2xx: ${result.non2xx}, errors: ${result.errors}`);
} finally {
  child.kill('SIGTERM');
}
