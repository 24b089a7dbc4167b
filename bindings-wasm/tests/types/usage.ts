// Compiled by types.test.mjs with `tsc --strict`: the declarations describe real use, and the
// WASM build's shapes are the Node binding's (code moves between server and browser unchanged).
import * as wasm from '../../index';
import * as node from '../../../bindings-node/index';
import init, { type WasmSource } from '../../init';

const profile: wasm.ProfileData = {
  id: 'u1',
  attributes: { age: 30, signup: new Date(), big: 9007199254740993n, money: { amount: '19.99', currency: 'EUR' } },
  events: [{ name: 'purchase', at: '2026-03-01T00:00:00Z', properties: { sku: 'a' } }],
};
const seg: wasm.Segment = wasm.Segment.fromYAML('id: a\nversion: 1.0.0\nrule: age > 1');
const member: boolean = seg.evaluate(profile, { asOf: new Date(), fx: { 'EUR/USD': '1.08' } });
const outcome: wasm.Outcome = wasm.compile('age > 1').outcome(new wasm.Profile(profile), new wasm.Context({ asOf: '2026-03-15T12:00:00Z' }));
const tree: wasm.TraceNode = seg.explain(profile, { asOf: new Date() }).trace;
const registry = wasm.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age > 1' }, 'id: b\nversion: 1.0.0\nrule: in_segment("a")']);
const members: string[] = registry.members(profile, { asOf: new Date() });
const next: wasm.Change | null = seg.nextChange(profile, { asOf: new Date(), horizon: '90d' });
const cause: wasm.Cause | undefined = next?.cause;
const timeline: wasm.Timeline = registry.timeline('b', profile, { from: '2026-03-01T00:00:00Z', to: new Date() });
const spans: { from: string; to: string }[] = timeline.intervals;
// @ts-expect-error a horizon is a duration text, not a number
seg.nextChange(profile, { asOf: new Date(), horizon: 90 });
const diagnostics: wasm.Diagnostic[] = wasm.check(['id: x\nversion: 1.0.0\nrule: age >']);
async function batch(): Promise<boolean[]> {
  return seg.evaluateMany([profile, new wasm.Profile(profile)], { asOf: new Date() });
}
// A bundle passes the module itself (segcore-wasm/init); the API is the default export's.
async function bundled(source: WasmSource): Promise<wasm.Segment> {
  const api: typeof wasm.default = await init(source);
  return api.compile('age > 1');
}
// Following a registry service: the same in Node and the browser.
async function follow(url: string): Promise<[string, string[]]> {
  const sub: wasm.Subscription = await wasm.Registry.subscribe(url, { wait: 10, onError: (e: Error) => e.message });
  const reg = sub.registry;
  const hash: string = await sub.waitFor(undefined, { timeout: 1000 });
  sub.close();
  return [hash, reg.members(profile, { asOf: new Date() })];
}
const sources: WasmSource[] = ['/segcore.wasm', new URL('https://example.test/s.wasm'), new Uint8Array(8), new ArrayBuffer(8)];

// The same calls type-check against the Node binding's declarations.
const sameShape: Array<(m: typeof node) => unknown> = [
  (m) => m.Segment.fromYAML('id: a\nversion: 1.0.0\nrule: age > 1').evaluate(profile, { asOf: new Date() }),
  (m) => m.Registry.fromDefinitions([{ id: 'a', version: '1.0.0', rule: 'age > 1' }]).evaluate(profile, { asOf: new Date() }),
];
// Every shared export has the same type in both (filesystem loaders and `check` differ on purpose;
// SQL generation, `toSql`, is not in the browser build).
type NodeSegmentWithoutSql = Omit<node.Segment, 'toSql'>;
const compileSame: (rule: string, options?: node.CompileOptions) => NodeSegmentWithoutSql = wasm.compile;
// @ts-expect-error the browser build has no toSql
wasm.compile('age > 1').toSql;
const formatSame: typeof node.formatRule = wasm.formatRule;
const profileSame: typeof node.Profile.fromJSON = wasm.Profile.fromJSON;
const errorSame: typeof node.ParseError = wasm.ParseError;
const contextSame: typeof node.Context = wasm.Context;

export { follow, member, outcome, tree, members, diagnostics, batch, bundled, sources, sameShape, compileSame, formatSame, profileSame, errorSame, contextSame };
