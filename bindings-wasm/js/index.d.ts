// Type declarations of segcore's JavaScript API, written once for the Node binding
// (bindings-node) and the WebAssembly build (bindings-wasm): the same names, options, results and
// errors, so code moves between server and browser unchanged. What differs is said explicitly in
// `NodeRuntime` and `WasmRuntime` below; each package's index.d.ts re-exports this file and fixes
// its runtime for the few declarations that depend on it (`Segment`, `Registry`, `Profile`,
// `compile`, `check`), which are generic here.

/** A JSON-like value a profile attribute or event property may hold. `Date`s become instants,
 * `bigint`s exact integers. Money is `{ amount: "19.99", currency: "EUR" }`. A value nests at most
 * 100 lists/objects (deeper: `DataError` with code `limit_exceeded`, checked before it
 * crosses). Getters, Proxies and lazy objects are read once each, and may themselves call segcore. */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Date
  | AttributeValue[]
  | { [key: string]: AttributeValue };

/** One event of a profile. */
export interface ProfileEvent {
  /** Event name, e.g. `"purchase"`. */
  name: string;
  /** When it happened: an RFC 3339 string with an offset, or a `Date`. */
  at: string | Date;
  properties?: Record<string, AttributeValue> | null;
}

/** A profile as plain data. Only what a segment reads crosses into the module. */
export interface ProfileData {
  id: string | number;
  attributes?: Record<string, AttributeValue> | null;
  /** At most 100,000 events (more: `DataError` with code `limit_exceeded`). */
  events?: ProfileEvent[] | null;
}

/** A profile argument: plain data, or a `Profile` converted once. */
export type ProfileInput = ProfileData | ProfileMembers;

/** FX quotes: `{ "EUR/USD": "1.08" }` (decimal strings keep every digit). */
export type FxRates = Record<string, string | number>;

/** Evaluation options. `asOf` is required: segcore never reads the clock. */
export interface EvaluateOptions {
  /**
   * The evaluation instant: a `Date` or an RFC 3339 string with an offset. An Invalid Date, or one
   * no RFC 3339 timestamp can spell (outside years 0000-9999), is `DataError` with code
   * `invalid_context`.
   */
  asOf: Date | string;
  fx?: FxRates | null;
  /** Results of referenced segments, for a single segment that uses `in_segment(...)`. */
  segments?: Record<string, boolean> | null;
}

/** Options, or a `Context` parsed once. */
export type EvaluateContext = EvaluateOptions | Context;

/** Three-valued outcome of a rule. Membership is `outcome === 'true'`. */
export type Outcome = 'true' | 'false' | 'unknown';

/** A definition document as an object (SPEC §1). */
export interface DefinitionData {
  id: string;
  version: string;
  rule: string;
  name?: string;
  description?: string;
  owner?: string;
  status?: 'draft' | 'active' | 'deprecated';
  effective_from?: string;
  effective_until?: string;
  timezone?: string;
  currency?: string;
  tags?: string[];
}

/** An entity schema (SPEC §18): declared attribute and event property types. */
export interface SchemaData {
  attributes?: Record<string, string>;
  events?: Record<string, Record<string, string>>;
}

export interface SchemaOption {
  /** Type-check the rule against this entity schema: an object, or a schema file's YAML/JSON text. */
  schema?: SchemaData | string | null;
}

export interface CompileOptions extends SchemaOption {
  id?: string;
  version?: string;
  /** IANA time zone of calendar functions and windows (default `UTC`). */
  timezone?: string;
  /** Base currency of money comparisons (default `USD`). */
  currency?: string;
}

/** One problem found in a definition. */
export interface Diagnostic {
  /** Stable kind, e.g. `syntax_error`, `type_mismatch`. */
  kind: string;
  severity: 'error' | 'warning';
  message: string;
  /** 1-based line in the rule text, or null. */
  line: number | null;
  /** 1-based column, in Unicode scalar values, or null. */
  column: number | null;
  /** The file or segment id it came from, when known. */
  origin: string | null;
  /** For a definition loaded from a file: the position in that file. */
  fileLine: number | null;
  fileColumn: number | null;
}

/** What a compiled rule reads. */
export interface ReadSet {
  attributes: string[];
  events: string[];
  segments: string[];
}

/** One sub-expression of an explanation with its value. */
export interface TraceNode {
  expr: string;
  value: unknown;
  note?: string | null;
  children: TraceNode[];
}

/** An input whose absence made a sub-expression UNKNOWN. */
export interface UnknownInput {
  path: string;
  reason: string;
}

/** Why a profile is in or out of a segment. */
export declare class Explanation {
  private constructor();
  readonly segment: string;
  readonly version: string;
  readonly outcome: Outcome;
  readonly member: boolean;
  readonly note: string | null;
  /** The rule's expression tree with every sub-expression's value. */
  readonly trace: TraceNode;
  readonly unknownInputs: UnknownInput[];
  /** The explanation as plain data. */
  toJSON(): {
    segment: string;
    version: string;
    outcome: Outcome;
    member: boolean;
    note: string | null;
    trace: TraceNode;
    unknown_inputs: UnknownInput[];
  };
  /** An indented, readable tree. */
  toString(): string;
  /** A collapsible HTML tree (escaped). */
  toHTML(): string;
}

/** An evaluation context parsed once, to reuse across calls. */
export declare class Context {
  constructor(options: EvaluateOptions);
  /** `asOf` as an RFC 3339 string in UTC. */
  readonly asOf: string;
}

// ------------------------------------------------------------------------------------------------
// What differs between the runtimes

/** The Node binding (napi): files, SQL; memory is the garbage collector's. */
export interface NodeRuntime {
  /** `Segment.load` and `Registry.load` read files; `check` also takes a path. */
  files: true;
  /** Segments and registries have `toSql`. */
  sql: true;
  /** `Profile` has no `free()`. */
  free: false;
}

/**
 * The WebAssembly build: no filesystem (`load` throws a `TypeError`, `check` takes definitions
 * only), no SQL (no `toSql`), `Profile.free()`; batches run in slices on the calling thread, and
 * after a trap the module is replaced by a fresh instance and everything made before keeps
 * working. In browsers the module instantiates itself on import (top-level await); bundles
 * call `init` from `segcore-wasm/init` (init.d.ts) with the module's URL, response or bytes.
 */
export interface WasmRuntime {
  files: false;
  sql: false;
  free: true;
}

export type Runtime = NodeRuntime | WasmRuntime;

/** `T` where the runtime has files; else `never` (the call throws a `TypeError`). */
type WithFiles<R extends Runtime, T> = R['files'] extends true ? T : never;

// ------------------------------------------------------------------------------------------------
// Profiles, segments, registries

/** What every `Profile` has. */
export interface ProfileMembers {
  readonly id: string;
  readonly eventCount: number;
}

/** WebAssembly only. */
export interface ProfileFree {
  /**
   * Frees its WebAssembly memory now (the garbage collector does it later otherwise). A freed
   * Profile cannot be used again.
   */
  free(): void;
}

/**
 * A profile converted once (every field), to evaluate many times against any segment or registry.
 * In the WebAssembly build it keeps its source (the JSON text, or the object as encoded bytes:
 * about the size of its data) so that after a trap it rebuilds itself in the fresh instance, like
 * every Segment, Registry and Context.
 *
 * @example
 * const p = new Profile({ id: 'u1', attributes: { age: 30 } });
 * registry.members(p, { asOf: new Date() });
 */
export type Profile<R extends Runtime> = ProfileMembers & (R['free'] extends true ? ProfileFree : {});

export interface ProfileClass<R extends Runtime> extends Function {
  new (profile: ProfileData): Profile<R>;
  readonly prototype: Profile<R>;
  /** Parses profile JSON text exactly (integers beyond 2^53, `3.0` kept as a float). */
  fromJSON(text: string): Profile<R>;
}

/** What every `Segment` has. */
/** Why an outcome changed at an instant (SPEC §22), in priority order. */
export type Cause = 'effective' | 'reference' | 'event' | 'window' | 'calendar';

/** `nextChange` options: the evaluation instant and how far to look. */
export interface NextChangeOptions extends EvaluateOptions {
  /** A duration text such as `'90d'` or `'12h'`; default `'3660d'`, at most `'36600d'`. */
  horizon?: string;
}

/** `timeline` options: the span [from, to) and the context's FX and referenced results. */
export interface TimelineOptions {
  from: Date | string;
  to: Date | string;
  fx?: FxRates;
  segments?: Record<string, boolean>;
}

/** One change of outcome (SPEC §22): from `at` on, the outcome is `outcome`. */
export interface Change {
  /** RFC 3339 UTC, exact to the microsecond (`2026-03-31T10:00:00.000001Z`). */
  at: string;
  previous: Outcome;
  outcome: Outcome;
  member: boolean;
  /** `null` for a change between 'false' and 'unknown'. */
  transition: 'entered' | 'exited' | null;
  cause: Cause;
  /** For `reference`: the referenced segment. */
  causeSegment: string | null;
  /** For `event` and event-tied `window` causes: the event's name and time. */
  causeEvent: string | null;
  causeEventAt: string | null;
}

/** A segment's outcome over [from, to): the outcome at `from` and every change. */
export interface Timeline {
  segment: string;
  from: string;
  to: string;
  outcome: Outcome;
  changes: Change[];
  /** Maximal membership intervals within [from, to). */
  intervals: { from: string; to: string }[];
}

export interface SegmentMembers {
  readonly id: string;
  readonly version: string;
  /** Lowercase hex SHA-256 of `canonicalJson`: equal in every runtime for the same definition. */
  readonly definitionHash: string;
  readonly canonicalJson: string;
  /** The rule, canonically formatted. */
  readonly rule: string;
  readonly readSet: ReadSet;
  readonly warnings: Diagnostic[];
  /** Whether the profile is a member (the rule is TRUE). */
  evaluate(profile: ProfileInput, options: EvaluateContext): boolean;
  /** The three-valued outcome. */
  outcome(profile: ProfileInput, options: EvaluateContext): Outcome;
  explain(profile: ProfileInput, options: EvaluateContext): Explanation;
  /**
   * The first instant after `options.asOf` at which the outcome changes if no new data arrives,
   * exact to the microsecond; `null` when none within the horizon (SPEC §22).
   */
  nextChange(profile: ProfileInput, options: NextChangeOptions): Change | null;
  /** The outcome at `options.from` and every change before `options.to`, with causes. */
  timeline(profile: ProfileInput, options: TimelineOptions): Timeline;
  /**
   * Membership of many profiles: in Node evaluated on the libuv thread pool; in WebAssembly in
   * slices that yield to the event loop (a page stays responsive).
   */
  evaluateMany(profiles: ProfileInput[], options: EvaluateContext): Promise<boolean[]>;
  outcomesMany(profiles: ProfileInput[], options: EvaluateContext): Promise<Outcome[]>;
  /** The definition: canonical metadata plus the rule text. */
  toJSON(): DefinitionData;
}

/** Node only (SQL is left out of the WebAssembly build). */
export interface SegmentSql {
  /**
   * This segment's membership query in `dialect`. Throws `TypeCheckError` (code
   * `sql_unsupported`) for constructs the dialect cannot express exactly; needs a schema.
   */
  toSql(dialect: SqlDialect, options: SqlOptions): SqlQuery;
}

/**
 * A compiled segment definition.
 *
 * @example
 * const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
 * seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: '2026-03-15T12:00:00Z' }); // true
 */
export type Segment<R extends Runtime> = SegmentMembers & (R['sql'] extends true ? SegmentSql : {});

/** `Segment`'s constructor is private: build one with these, or `compile`. */
export interface SegmentClass<R extends Runtime> extends Function {
  readonly prototype: Segment<R>;
  fromYAML(text: string, options?: SchemaOption): Segment<R>;
  fromJSON(text: string, options?: SchemaOption): Segment<R>;
  fromObject(definition: DefinitionData, options?: SchemaOption): Segment<R>;
  /**
   * Loads a `.yaml`, `.yml` or `.json` definition file. WebAssembly: there is no filesystem;
   * throws a `TypeError` (use `fromYAML` with the text).
   */
  load(file: string, options?: SchemaOption): WithFiles<R, Segment<R>>;
}

/** A SQL dialect `toSql` generates (SPEC §21). */
export type SqlDialect = 'duckdb' | 'postgres' | 'spark' | 'bigquery' | 'snowflake';

/** Options of `toSql`: the evaluation context written into the query, and table names. */
export interface SqlOptions {
  asOf: Date | string;
  fx?: FxRates;
  /** Default `profiles`. */
  profilesTable?: string;
  /** Default `events`. */
  eventsTable?: string;
}

/** An input column of a generated query. */
export interface SqlColumn {
  name: string;
  /** The segcore type (`int`, `string`, `timestamp`, …). */
  type: string;
  /** The dialect's column type. */
  sqlType: string;
}

/**
 * A generated membership query: reads `profiles(id, …)` and `events(entity_id, seq, name, at, …)`,
 * returns `entity_id, segment_id, version, definition_hash, as_of, member, outcome`.
 */
export interface SqlQuery {
  dialect: SqlDialect;
  sql: string;
  /** `CREATE TABLE` statements for the two input tables. */
  ddl: string;
  profileColumns: SqlColumn[];
  eventColumns: SqlColumn[];
}

/** A segment's identity in a registry. */
export interface SegmentInfo {
  id: string;
  version: string;
  definitionHash: string;
}

/** One version of a segment (SPEC §1: versions side by side hand over at `effectiveFrom`). */
export interface VersionInfo extends SegmentInfo {
  /** RFC 3339, or `null` when it starts unbounded. */
  effectiveFrom: string | null;
  /** RFC 3339, or `null`. */
  effectiveUntil: string | null;
}

/** What every `Registry` has. */
export interface RegistryMembers<R extends Runtime> {
  /** Segment ids, sorted. */
  readonly ids: string[];
  readonly size: number;
  has(id: string): boolean;
  get(id: string): Segment<R> | undefined;
  /** Every segment, an id's latest version. */
  segments(): SegmentInfo[];
  /** Every version side by side, each id's in time order. */
  versions(): VersionInfo[];
  evaluate(profile: ProfileInput, options: EvaluateContext): Record<string, boolean>;
  outcomes(profile: ProfileInput, options: EvaluateContext): Record<string, Outcome>;
  /** Ids of the segments the profile belongs to, sorted. */
  members(profile: ProfileInput, options: EvaluateContext): string[];
  evaluateOne(id: string, profile: ProfileInput, options: EvaluateContext): Outcome;
  explain(id: string, profile: ProfileInput, options: EvaluateContext): Explanation;
  /** Segment `id`'s next change; its references change with it (cause 'reference'). */
  nextChange(id: string, profile: ProfileInput, options: NextChangeOptions): Change | null;
  /** Segment `id`'s timeline, its references evaluated in this registry. */
  timeline(id: string, profile: ProfileInput, options: TimelineOptions): Timeline;
  evaluateMany(profiles: ProfileInput[], options: EvaluateContext): Promise<Array<Record<string, boolean>>>;
  /**
   * Why two member sets differ (SPEC §25): `a`/`b` are each side's ids (exports), or `null` to
   * compute them from the side's setting. B's segment, registry, `asOf` and profiles default to A's.
   *
   * @example
   * registry.reconcile(crmIds, null, { segment: 'hv90', segmentB: 'hv60', asOf: '2026-03-15T00:00:00Z', profiles });
   * // { a: 50000, b: 41000, both: 40800, jaccard: 0.81, differing: 9400, causes: { definition: 9200, … }, differences: [...] }
   */
  reconcile(a: Iterable<string | number | bigint> | null, b: Iterable<string | number | bigint> | null, options: ReconcileOptions<R>): Reconciliation;
  /** The bundle hash (SPEC §27): the same for the same definitions and schema (an ETag). */
  readonly bundleHash: string;
  /** This registry as a bundle's JSON text (`created` now unless given). */
  toBundle(created?: Date | string): string;
  /** Daily membership drift (SPEC §25) over local days of `zone` from `start` to `end` (`YYYY-MM-DD`, end exclusive). */
  drift(profiles: ProfileData[], start: string, end: string, options?: DriftOptions): DriftRow[];
}

/** Options of `Registry.reconcile`. */
export interface ReconcileOptions<R extends Runtime> {
  segment?: string;
  segmentB?: string;
  /** B's definitions, when they live in another registry. */
  registryB?: Registry<R>;
  asOf?: Date | string;
  asOfB?: Date | string;
  /** Plain profile objects (A's data; B's by default). */
  profiles?: ProfileData[];
  profilesB?: ProfileData[];
  fx?: Record<string, string | number>;
  /** An identity map: pairs of identifiers naming one entity; canonical ids by `prefer` rank. */
  identity?: { pairs: Array<[string, string]>; prefer?: string[]; unique?: string[]; strict?: boolean };
}

/** A difference's cause (SPEC §25). */
export type DifferenceCause = 'identity' | 'definition' | 'time' | 'data' | 'unexplained';

/** The result of `Registry.reconcile`. */
export interface Reconciliation {
  a: number;
  b: number;
  both: number;
  jaccard: number;
  /** Ids that still differ once the identity map is applied. */
  differing: number;
  causes: Record<DifferenceCause, number>;
  differences: Array<{
    raw: string;
    id: string;
    side: 'a' | 'b';
    cause: DifferenceCause;
    /** Membership along the chain m0…m5 (null where nothing could be evaluated). */
    chain: Array<boolean | null>;
    /** For `time`: the first change between the two instants. */
    change: Change | null;
  }>;
}

/** Options of `Registry.drift`. */
export interface DriftOptions {
  every?: number;
  zone?: string;
  window?: number;
  z?: number;
  ids?: string[];
  fx?: Record<string, string | number>;
}

/** One segment × one step of `Registry.drift`. */
export interface DriftRow {
  segment: string;
  day: string;
  start: string;
  members: number;
  entered: number;
  exited: number;
  churn: number;
  entered_by: { definition: number; data: number; time: number };
  exited_by: { definition: number; data: number; time: number };
  z: number | null;
  alert: boolean;
}

/** Node only (SQL is left out of the WebAssembly build). */
export interface RegistrySql {
  /**
   * One query computing every segment's membership (references as CTEs), for a registry compiled
   * with a schema.
   *
   * @example
   * const q = Registry.fromDefinitions(defs, { schema }).toSql('postgres', { asOf: '2026-03-15T00:00:00Z' });
   */
  toSql(dialect: SqlDialect, options: SqlOptions): SqlQuery;
}

/**
 * Definitions compiled together: `in_segment` references resolved, evaluated in dependency order.
 *
 * @example
 * const registry = Registry.fromDefinitions([highValueYaml, newUsersYaml]); // Node: also Registry.load('segments/')
 * registry.members(profile, { asOf: new Date() }); // ['high_value', 'new_users']
 */
export type Registry<R extends Runtime> = RegistryMembers<R> & (R['sql'] extends true ? RegistrySql : {});

/** `Registry`'s constructor is private: build one with these. */
export interface RegistryClass<R extends Runtime> extends Function {
  readonly prototype: Registry<R>;
  /**
   * Every `*.yaml`, `*.yml` and `*.json` file of a folder (not recursive). WebAssembly: there is
   * no filesystem; throws a `TypeError` (use `fromDefinitions`).
   */
  load(dir: string, options?: SchemaOption): WithFiles<R, Registry<R>>;
  /** Definitions as YAML/JSON texts or objects. */
  fromDefinitions(definitions: Array<string | DefinitionData>, options?: SchemaOption): Registry<R>;
  /**
   * A bundle's JSON text (SPEC §27): the whole registry, or a `DefinitionError` with code
   * `bundle_invalid`.
   *
   * @example
   * const registry = Registry.fromBundle(await (await fetch('/bundle')).text());
   */
  fromBundle(text: string): Registry<R>;
  /**
   * Follows a registry service (`segcore serve`, SPEC §28) with `fetch`, in Node and in browsers:
   * resolves once the service's bundle is loaded, then swaps in each new bundle whole as the
   * change feed announces it. A bundle that does not load is never swapped in (`lastError` says
   * why; retried with backoff). Call `close()` when done (an open long poll keeps Node running).
   *
   * @example
   * const sub = await Registry.subscribe('http://127.0.0.1:8700');
   * const registry = sub.registry; // one bundle for everything done with it
   * registry.members(profile, { asOf: new Date() }); registry.bundleHash;
   */
  subscribe(url: string, options?: SubscribeOptions<R>): Promise<Subscription<R>>;
}

/** Options of `Registry.subscribe`. */
export interface SubscribeOptions<R extends Runtime> {
  /** Seconds each change-feed request waits for a publication (default 30, at most 60). */
  wait?: number;
  /** Milliseconds a request may take beyond `wait` (default 10000). */
  timeout?: number;
  /** Called after each swap with the new registry. */
  onChange?: (registry: Registry<R>) => void;
  /** Called when following the service fails (network, HTTP status, a bundle that does not load). */
  onError?: (error: Error) => void;
  /** The `fetch` to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** A registry following a `segcore serve` service; see `Registry.subscribe`. */
export interface Subscription<R extends Runtime> {
  /** The service's base URL. */
  readonly url: string;
  /** The current registry: one whole bundle. */
  readonly registry: Registry<R>;
  /** The current bundle's hash. */
  readonly bundleHash: string;
  /** Bundles swapped in after the first. */
  readonly updates: number;
  /** Why the last attempt to follow the service failed; `null` after a successful swap. */
  readonly lastError: Error | null;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** `registry.evaluate` on the current bundle. */
  evaluate(profile: ProfileInput, options: EvaluateContext): Record<string, boolean>;
  /** Resolves once the current bundle is `bundleHash` (or at the next swap); rejects after `timeout` ms. */
  waitFor(bundleHash?: string, options?: { timeout?: number }): Promise<string>;
  /** Stops following the service; the registry stays usable. */
  close(): void;
}

export interface Compile<R extends Runtime> {
  /** Compiles a bare rule (defaults: id `rule`, version `1.0.0`, `UTC`, `USD`). */
  (rule: string, options?: CompileOptions): Segment<R>;
}

export interface Check<R extends Runtime> {
  /**
   * Diagnostics of definitions (YAML/JSON texts or objects) checked as one registry, or (Node) of
   * a folder or file path; empty when valid.
   */
  (source: WithFiles<R, string> | Array<string | DefinitionData>, options?: SchemaOption): Diagnostic[];
}
/** How a local time was resolved: it exists once, or fell in a DST gap (moved forward), or occurs twice (the earlier). */
export interface ResolvedLocalTime {
  /** The instant, RFC 3339 in UTC. */
  instant: string;
  /** The zone's UTC offset at that instant, in seconds. */
  offsetSeconds: number;
  resolution: 'exact' | 'gap' | 'overlap';
}
/**
 * A wall time (`YYYY-MM-DDTHH:MM[:SS]`) in an IANA zone, resolved as segcore resolves local times
 * (bundled tz database). Throws a `TypeError` for bad text or an unknown zone.
 *
 * @example
 * resolveLocalTime('2026-03-08T02:30', 'America/New_York');
 * // { instant: '2026-03-08T07:30:00Z', offsetSeconds: -14400, resolution: 'gap' }
 */
export declare function resolveLocalTime(local: string, timeZone: string): ResolvedLocalTime;
/** The canonical formatting of a rule (what `segcore fmt` writes). */
export declare function formatRule(rule: string): string;

/** Options of {@link importRule}. */
export interface ImportOptions {
  /** The source format and its reference engine: `'jsonlogic'` (json-logic-js 2.0.5, the default), `'growthbook'` (`evalCondition` of @growthbook/growthbook 1.8.0), `'unleash'` (yggdrasil) or `'sql'` (a `SELECT id FROM profiles WHERE …` query or its WHERE expression, as text; SPEC §29.5, with `dialect`, `timezone`, `tables`). */
  source?: 'jsonlogic' | 'growthbook' | 'unleash' | 'sql';
  /** Import schema: `{ attributes: { age: 'int', 'user.plan': 'string' } }` — the type of every attribute read. */
  schema?: { attributes?: Record<string, string>; events?: Record<string, Record<string, string>> };
  /** The definition's id (default `imported`). */
  id?: string;
  /** GrowthBook saved groups (`{ groupId: [values] }`), inlined into `$inGroup`/`$notInGroup` as they are now. */
  savedGroups?: Record<string, unknown>;
  /** The Unleash feature to import from a document with several. */
  toggle?: string;
  /** SQL: the engine whose semantics the import keeps (default `'duckdb'`). */
  dialect?: 'duckdb' | 'postgres';
  /** SQL: the session TimeZone the query runs in; the definition's `timezone` (default `'UTC'`). */
  timezone?: string;
  /** SQL: table and column names (defaults: the tables `segcore sql` writes). */
  tables?: { profiles?: string; events?: string; id?: string; entity_id?: string; name?: string; at?: string; columns?: Record<string, string> };
  /** Return a refused report instead of throwing. */
  partial?: boolean;
}
/** What {@link importRule} produced (SPEC §29). */
export interface ImportResult {
  format: string;
  reference: string;
  /** SQL imports: the dialect (`null` for the other formats). */
  dialect: 'duckdb' | 'postgres' | null;
  status: 'exact' | 'exact_under' | 'refused';
  /** Each assumption used, with the source positions that needed it (JSON pointers; `line:column` for SQL). */
  assumptions: Array<{ id: 'A1' | 'A2' | 'A3' | 'A4' | 'V' | 'N' | 'S1' | 'S2' | 'S3' | 'S4' | 'S5'; statement: string; paths: string[] }>;
  /** The refused construct: a JSON pointer into the source as written (`''` is the root); `line:column` for SQL. */
  refusals: Array<{ path: string; construct: string; reason: string }>;
  /** Attribute paths the rule reads. */
  reads: string[];
  /** The segcore rule; `null` when refused. */
  rule: string | null;
  /** The definition as YAML text; `null` when refused. */
  definition: string | null;
  /** The schema the definition compiles against; `null` when refused. */
  schema: { attributes: Record<string, string>; events: Record<string, Record<string, string>> } | null;
}
/**
 * Imports one rule written for another engine as a canonical definition — exactly, or refused
 * with the construct, its JSON pointer and the reason (SPEC §29). Throws `TypeCheckError`
 * (`import_refused`) when refused unless `partial`, `ParseError` (`import_invalid`) when the
 * source does not read.
 *
 * @example
 * const out = importRule({ '<': [{ var: 'age' }, 18] }, { schema: { attributes: { age: 'int' } } });
 * out.rule; // 'age is null or coalesce(age < 18, false)' — json-logic-js reads a missing age as 0
 * Segment.fromYAML(out.definition!, { schema: out.schema! });
 */
export declare function importRule(rule: unknown, options?: ImportOptions): ImportResult;

/**
 * The fingerprint of a set of ids (SPEC §24): `sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>`, the same text
 * in every runtime and in the SQL `segcore sql --fingerprint` generates. Integers are their
 * decimal text; `key` (default `segcore`) must match the other side's.
 *
 * @example
 * fingerprint(['u1', 'u2']) === combineFingerprints([fingerprint(['u2']), fingerprint(['u1'])]); // true
 */
export declare function fingerprint(ids: Iterable<string | number | bigint>, options?: { key?: string }): string;
/** The fingerprint of the union of disjoint shards (`key_mismatch` across keys). */
export declare function combineFingerprints(fingerprints: Iterable<string>): string;
/** A decoded difference: ids where that side's ids were given, else `#` + 16 hex digits. */
export interface SketchDifference {
  onlyA: string[];
  onlyB: string[];
  /** Coded symbols used (the shorter sketch's length). */
  symbols: number;
}
/**
 * A set-reconciliation sketch (a rateless IBLT, SPEC §24): two systems exchange a few KB and
 * decode exactly which ids differ, or get `sketch_undecodable` (never a partial answer).
 *
 * @example
 * const mine = ['u1', 'u2', 'u3'], theirs = ['u1', 'u2', 'u4'];
 * Sketch.of(mine).decode(Sketch.of(theirs), { ids: mine, otherIds: theirs });
 * // { onlyA: ['u3'], onlyB: ['u4'], symbols: 1632 }
 */
export declare class Sketch {
  private constructor();
  static of(ids: Iterable<string | number | bigint>, options?: { symbols?: number; differences?: number; key?: string }): Sketch;
  static fromBytes(bytes: Uint8Array): Sketch;
  /** Number of coded symbols. */
  readonly symbols: number;
  /** Fingerprint of the sketched set. */
  readonly fingerprint: string;
  toBytes(): Uint8Array;
  decode(
    other: Sketch,
    options?: { ids?: Iterable<string | number | bigint>; otherIds?: Iterable<string | number | bigint>; key?: string },
  ): SketchDifference;
}

/** A SemVer bump (SPEC §26). */
export type Bump = 'none' | 'patch' | 'minor' | 'major';
/** What changed between two registries (SPEC §26). */
export interface RegistryDiff {
  /** The largest bump any segment requires. */
  required: Bump;
  segments: Array<{
    id: string;
    change: 'added' | 'removed' | 'changed' | 'unchanged';
    versions: [string | null, string | null];
    /** Changed canonical fields (`rule`, `timezone`, `name`, …). */
    fields: string[];
    /** Changed sub-expressions of the rule: [old text, new text]. */
    rule_changes: Array<[string, string]>;
    bump: Bump;
    reasons: string[];
    /** When the versions break the rules: version_bump_required, version_reused, version_regression. */
    problem: { kind: string; message: string } | null;
  }>;
}
/**
 * What changed between two registries and the version bump each change requires (SPEC §26).
 *
 * @example
 * diff(Registry.fromDefinitions(oldDefs), Registry.fromDefinitions(newDefs)).required; // 'major'
 */
export declare function diff(oldRegistry: RegistryMembers<Runtime>, newRegistry: RegistryMembers<Runtime>): RegistryDiff;

/**
 * Fields every segcore error carries. Raised as this base class only for `internal`: a bug in
 * segcore (a Rust panic caught at the boundary, or a WebAssembly trap: then the module is
 * replaced by a fresh instance and everything made before keeps working).
 */
export declare class SegmentError extends Error {
  /**
   * Stable error kind, e.g. `syntax_error`, `unknown_field`, `invalid_profile`, `invalid_context`,
   * `limit_exceeded` (SPEC §19), `internal`.
   */
  readonly code: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly origin: string | null;
  /** For a definition loaded from a file: the position in that file (line/column are in the rule). */
  readonly fileLine: number | null;
  readonly fileColumn: number | null;
  readonly diagnostics: Diagnostic[];
}
/** The rule text is not valid syntax. */
export declare class ParseError extends SegmentError {}
/** The rule does not type-check, or segment references are wrong. */
export declare class TypeCheckError extends SegmentError {}
/** The definition document is invalid. */
export declare class DefinitionError extends SegmentError {}
/** Evaluation failed for this profile or context (`fx_rate_missing`, `numeric_overflow`, …). */
export declare class EvaluationError extends SegmentError {}
/**
 * The data or context handed in cannot be read (`invalid_profile`, `invalid_context`,
 * `duplicate_profile_id`, `limit_exceeded` on a value). A subclass of `EvaluationError`.
 */
export declare class DataError extends EvaluationError {}

/** Package version. */
export declare const version: string;
/** Version of the segment language this build implements. */
export declare const languageVersion: string;
/**
 * Test-only, not part of the API: makes the module fail on purpose to show the recovery (Node: a
 * Rust panic, `kind` ignored; WebAssembly: `kind` 0 a Rust panic, 1 a stack overflow). Always
 * throws `SegmentError` with code `internal`.
 */
export declare function __segcore_test_trap(kind?: 0 | 1): never;

/** Everything a runtime exports, as one object (the WebAssembly module's default export). */
export interface Api<R extends Runtime> {
  compile: Compile<R>;
  Segment: SegmentClass<R>;
  Registry: RegistryClass<R>;
  Profile: ProfileClass<R>;
  Context: typeof Context;
  Explanation: typeof Explanation;
  formatRule: typeof formatRule;
  importRule: typeof importRule;
  resolveLocalTime: typeof resolveLocalTime;
  check: Check<R>;
  fingerprint: typeof fingerprint;
  combineFingerprints: typeof combineFingerprints;
  Sketch: typeof Sketch;
  diff: typeof diff;
  SegmentError: typeof SegmentError;
  ParseError: typeof ParseError;
  TypeCheckError: typeof TypeCheckError;
  DefinitionError: typeof DefinitionError;
  EvaluationError: typeof EvaluationError;
  DataError: typeof DataError;
  version: string;
  languageVersion: string;
  __segcore_test_trap: typeof __segcore_test_trap;
}
