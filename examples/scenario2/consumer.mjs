// A Node service consuming segcore's transitions topic (SPEC §23) — the seeds' scenario 2.
//
// The same fold as consumer.py, in the other service's language: emits and retractions by
// transition_id (a transition delivered twice counts once); per entity and segment, the latest
// live transition at or before an instant decides.
//
//   node consumer.mjs BOOTSTRAP TOPIC IDLE_SECONDS INSTANT [INSTANT …]
//
// prints {"INSTANT": {"segment": [entity, …]}} once the topic has been quiet for IDLE_SECONDS.
import { Kafka, logLevel } from "kafkajs";

const [bootstrap, topic, idle, ...instants] = process.argv.slice(2);
const kafka = new Kafka({ clientId: "node-service", brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `node-service-${process.hrtime.bigint()}` });
const live = new Map();
let quiet = Date.now();

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ message }) => {
    const t = JSON.parse(message.value.toString());
    if (t.op === "emit") live.set(t.transition_id, t);
    else live.delete(t.transition_id);
    quiet = Date.now();
  },
});
while (Date.now() - quiet < Number(idle) * 1000) {
  await new Promise((r) => setTimeout(r, 200));
}
await consumer.disconnect();

const out = {};
for (const at of instants) {
  const when = Date.parse(at);
  // Instants are compared at microsecond precision: Date.parse keeps milliseconds, so the
  // microseconds are compared as text after them.
  const micros = (s) => [Date.parse(s), Number((s.match(/\.\d{3}(\d{3})/) || [0, "000"])[1])];
  const le = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);
  const latest = new Map();
  for (const t of live.values()) {
    const tAt = micros(t.at);
    if (!le(tAt, micros(at))) continue;
    const key = `${t.segment_id}\u0000${t.entity_id}`;
    const prev = latest.get(key);
    if (!prev || le(prev.at, tAt)) latest.set(key, { at: tAt, kind: t.kind, segment: t.segment_id, entity: t.entity_id });
  }
  const members = {};
  for (const v of [...latest.values()].sort((a, b) => (a.segment + "\u0000" + a.entity < b.segment + "\u0000" + b.entity ? -1 : 1))) {
    if (v.kind === "entered") (members[v.segment] ??= []).push(v.entity);
  }
  out[at] = members;
  void when;
}
const sorted = Object.fromEntries(Object.keys(out).sort().map((k) => [k, Object.fromEntries(Object.keys(out[k]).sort().map((s) => [s, out[k][s]]))]));
console.log(JSON.stringify(sorted));
