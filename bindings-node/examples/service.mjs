// A membership service on plain node:http: loads a folder of segment definitions at start and
// answers, per request, which segments a profile belongs to.
//
//   node examples/service.mjs [--segments DIR] [--schema FILE] [--host 127.0.0.1] [--port 8080]
//
//   GET  /segments   → { segments: [{ id, version, definitionHash }] }
//   POST /evaluate   body: a profile { id, attributes, events }, or { profile, asOf?, fx? }
//                    → { id, asOf, members: [...], outcomes: { [id]: 'true'|'false'|'unknown' } }
//   GET  /healthz    → { ok: true, segments: N }
//
// `asOf` defaults to the request's arrival time; evaluation itself never reads the clock, and the
// response says which instant it used so a caller can reproduce the answer anywhere.
//
// Slow or oversized clients: a request must arrive whole (headers and body) within
// `requestTimeoutMs` (default 10 s; then 408 and the connection closes), and a body over 1 MiB is
// answered 413 as soon as it is seen (by Content-Length, or while it streams in), then the
// connection is closed gracefully so the client reads the 413 instead of a reset.

import http from 'node:http';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const segcore = require('../index.js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_SEGMENTS = path.join(HERE, '..', '..', 'cli', 'src', 'demo');
const MAX_BODY = 1 << 20;
/** How long a connection that is being closed keeps draining what the client still sends. */
const LINGER_MS = 2_000;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Answers and closes the connection without losing the answer. Closing a socket whose client is
 * still sending (the rest of a body we refused) makes the kernel send a reset, and the client
 * reports that instead of the response. So: stop buffering (the request is drained and
 * discarded), send the response with `connection: close`, half-close after it (FIN), and keep
 * draining until the client closes too or LINGER_MS pass (a lingering close).
 */
function sendAndClose(req, res, status, body) {
  const socket = req.socket;
  req.removeAllListeners('data');
  req.resume();
  // After a `connection: close` response Node calls socket.destroySoon(), which closes the socket
  // as soon as the response is flushed: replace it, for this socket, by the lingering close.
  socket.destroySoon = () => {
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  res.setHeader('connection', 'close');
  send(res, status, body);
}

class BodyTooLarge extends Error {}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY) {
      reject(new BodyTooLarge(`body of ${declared} bytes is larger than ${MAX_BODY} bytes`));
      return;
    }
    const chunks = [];
    let size = 0;
    const onData = (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeListener('data', onData);
        chunks.length = 0;
        reject(new BodyTooLarge(`body larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request handler for a loaded registry (exported for embedding and tests). */
export function handler(registry) {
  const segments = registry.segments();
  return async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/segments') {
        if (req.method !== 'GET') return send(res, 405, { error: 'method_not_allowed', message: 'use GET' });
        return send(res, 200, { segments });
      }
      if (url.pathname === '/healthz') return send(res, 200, { ok: true, segments: segments.length });
      if (url.pathname !== '/evaluate') return send(res, 404, { error: 'not_found', message: `no route ${url.pathname}` });
      if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed', message: 'use POST' });

      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        if (e instanceof BodyTooLarge) return sendAndClose(req, res, 413, { error: 'too_large', message: e.message });
        return send(res, 400, { error: 'bad_json', message: `request body is not JSON: ${e.message}` });
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return send(res, 400, { error: 'bad_request', message: 'body must be a profile object or { profile, asOf, fx }' });
      }
      const envelope = Object.hasOwn(body, 'profile');
      const profile = envelope ? body.profile : body;
      const asOf = (envelope && body.asOf) || url.searchParams.get('as_of') || new Date().toISOString();
      const options = { asOf, fx: envelope ? body.fx : undefined };
      const outcomes = registry.outcomes(profile, options);
      const members = Object.keys(outcomes).filter((id) => outcomes[id] === 'true');
      return send(res, 200, { id: profile.id, asOf, members, outcomes });
    } catch (e) {
      if (e instanceof segcore.SegmentError) {
        return send(res, 422, { error: e.code, message: e.message });
      }
      if (e instanceof TypeError) return send(res, 400, { error: 'bad_request', message: e.message });
      console.error(e);
      return send(res, 500, { error: 'internal', message: 'internal error' });
    }
  };
}

/**
 * Starts the service. `port: 0` picks a free port. `requestTimeoutMs`: how long a request may take
 * to arrive, headers and body (default 10 s; Node's own default is 300 s, which lets slow clients
 * hold connections for minutes). Resolves to `{ url, server, close() }`.
 */
export async function startService({
  segmentsDir = DEFAULT_SEGMENTS,
  schemaFile,
  host = '127.0.0.1',
  port = 8080,
  requestTimeoutMs = 10_000,
} = {}) {
  const schema = schemaFile ? readFileSync(schemaFile, 'utf8') : undefined;
  const registry = segcore.Registry.load(segmentsDir, { schema });
  const server = http.createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // How often Node checks those two (default 30 s): a tenth of the timeout, at least 100 ms.
      connectionsCheckingInterval: Math.max(100, Math.floor(requestTimeoutMs / 10)),
    },
    handler(registry),
  );
  // An idle connection (no bytes either way) is closed after the same time.
  server.setTimeout(requestTimeoutMs, (socket) => socket.destroy());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  return {
    server,
    registry,
    url: `http://${addr.address}:${addr.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--segments') out.segmentsDir = next();
    else if (a === '--schema') out.schemaFile = next();
    else if (a === '--host') out.host = next();
    else if (a === '--port') out.port = Number(next());
    else if (a === '--help' || a === '-h') {
      console.log('usage: node examples/service.mjs [--segments DIR] [--schema FILE] [--host 127.0.0.1] [--port 8080]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const svc = await startService(parseArgs(process.argv.slice(2)));
    console.log(`segcore service: ${svc.registry.size} segments, listening on ${svc.url}`);
    const stop = () => svc.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    console.error(`segcore service: ${e.message}`);
    process.exit(1);
  }
}
