// Time to build a Profile of N events in the WASM build (Node): `new Profile(object)` and
// `Profile.fromJSON(text)`. Events have 5 names, increasing times and 3 properties each.
//
//   node bench/profile-events.mjs [20000,40000,80000,90000]
//
// Measured on the 2-core build machine (noisy, shared), ms for new Profile / Profile.fromJSON:
//
//   events    before (talc grew memory per allocation)    after (geometric growth, src/alloc.rs)
//   20,000    55-73 / 45-130                              73 / 106
//   40,000    750-1,005 / 197-1,706                       86 / 77
//   80,000    1,256-4,742 / 424-3,120                     152 / 163
//   90,000    898 and more / -                            159 / 140
//
// The cause: each `memory.grow` is new external memory to V8, which answered many of them with a
// full garbage collection of the JavaScript heap (holding the profile being converted); talc's
// memory source grew by just what each allocation needed, so thousands of grows, each a GC over
// a heap that grows with N: quadratic (the issue measured 10.8 s for 80,000 events; a million
// never finished, and is now refused at once with `limit_exceeded`, like anything over 100,000).

const { Profile } = await import('../js/node.mjs');

const names = ['purchase', 'view', 'click', 'signup', 'cart'];
function profile(n) {
  const events = [];
  const base = Date.UTC(2025, 0, 1);
  for (let i = 0; i < n; i++) {
    events.push({
      name: names[i % 5],
      at: new Date(base + i * 60_000).toISOString(),
      properties: { amount: i % 100, sku: `sku-${i % 1000}`, cat: `c${i % 7}` },
    });
  }
  return { id: 'p1', attributes: { age: 30, country: 'US' }, events };
}

for (const n of (process.argv[2] ?? '20000,40000,80000,90000').split(',').map(Number)) {
  const data = profile(n);
  const text = JSON.stringify(data);
  let t = performance.now();
  const a = new Profile(data);
  const object = performance.now() - t;
  t = performance.now();
  const b = Profile.fromJSON(text);
  const json = performance.now() - t;
  console.log(`${n} events: new Profile ${object.toFixed(0)} ms, Profile.fromJSON ${json.toFixed(0)} ms`);
  a.free();
  b.free();
}
