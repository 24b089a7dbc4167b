// Type declarations for segcore's WebAssembly build (js/web.mjs for browsers, js/node.mjs for
// Node). The shapes are the Node binding's (bindings-node/index.d.ts), so code moves between server
// and browser unchanged; the differences: no filesystem (no `Segment.load`, `Registry.load`, and
// `check` takes definitions only), batches run in slices on the calling thread, and `Profile`
// has `free()`.

/** A JSON-like value a profile attribute or event property may hold. `Date`s become instants,
 * `bigint`s exact integers. Money is `{ amount: "19.99", currency: "EUR" }`. A value nests at most
 * 100 lists/objects (deeper: `EvaluationError` with code `limit_exceeded`, checked before it
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

/** A profile as plain data. Only what a segment reads crosses into the WebAssembly module. */
export interface ProfileData {
  id: string | number;
  attributes?: Record<string, AttributeValue> | null;
  /** At most 100,000 events (more: `EvaluationError` with code `limit_exceeded`). */
  events?: ProfileEvent[] | null;
}

/** A profile argument: plain data, or a `Profile` converted once. */
export type ProfileInput = ProfileData | Profile;

/** FX quotes: `{ "EUR/USD": "1.08" }` (decimal strings keep every digit). */
export type FxRates = Record<string, string | number>;

/** Evaluation options. `asOf` is required: segcore never reads the clock. */
export interface EvaluateOptions {
  /**
   * The evaluation instant: a `Date` or an RFC 3339 string with an offset. An Invalid Date, or one
   * no RFC 3339 timestamp can spell (outside years 0000-9999), is `EvaluationError` with code
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

/**
 * A profile converted once (every field), to evaluate many times against any segment or registry.
 * It keeps its source (the JSON text, or the object as encoded bytes: about the size of its
 * data) so that after a WebAssembly trap it rebuilds itself in the fresh instance, like every
 * Segment, Registry and Context.
 *
 * @example
 * const p = new Profile({ id: 'u1', attributes: { age: 30 } });
 * registry.members(p, { asOf: new Date() });
 */
export declare class Profile {
  constructor(profile: ProfileData);
  /** Parses profile JSON text exactly (integers beyond 2^53, `3.0` kept as a float). */
  static fromJSON(text: string): Profile;
  readonly id: string;
  readonly eventCount: number;
  /**
   * Frees its WebAssembly memory now (the garbage collector does it later otherwise). A freed
   * Profile cannot be used again.
   */
  free(): void;
}

/**
 * A compiled segment definition.
 *
 * @example
 * const seg = Segment.fromYAML('id: adults\nversion: 1.0.0\nrule: age >= 18');
 * seg.evaluate({ id: 'u1', attributes: { age: 30 } }, { asOf: '2026-03-15T12:00:00Z' }); // true
 */
export declare class Segment {
  private constructor();
  static fromYAML(text: string, options?: SchemaOption): Segment;
  static fromJSON(text: string, options?: SchemaOption): Segment;
  static fromObject(definition: DefinitionData, options?: SchemaOption): Segment;
  /** Not available: there is no filesystem. Throws a `TypeError`; use `fromYAML` with the text. */
  static load(file: string, options?: SchemaOption): never;
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
  /** Membership of many profiles, in slices that yield to the event loop (a page stays responsive). */
  evaluateMany(profiles: ProfileInput[], options: EvaluateContext): Promise<boolean[]>;
  outcomesMany(profiles: ProfileInput[], options: EvaluateContext): Promise<Outcome[]>;
  /** The definition: canonical metadata plus the rule text. */
  toJSON(): DefinitionData;
}

/** A segment's identity in a registry. */
export interface SegmentInfo {
  id: string;
  version: string;
  definitionHash: string;
}

/**
 * Definitions compiled together: `in_segment` references resolved, evaluated in dependency order.
 *
 * @example
 * const registry = Registry.fromDefinitions([highValueYaml, newUsersYaml]);
 * registry.members(profile, { asOf: new Date() }); // ['high_value', 'new_users']
 */
export declare class Registry {
  private constructor();
  /** Not available: there is no filesystem. Throws a `TypeError`; use `fromDefinitions`. */
  static load(dir: string, options?: SchemaOption): never;
  /** Definitions as YAML/JSON texts or objects. */
  static fromDefinitions(definitions: Array<string | DefinitionData>, options?: SchemaOption): Registry;
  /** Segment ids, sorted. */
  readonly ids: string[];
  readonly size: number;
  has(id: string): boolean;
  get(id: string): Segment | undefined;
  segments(): SegmentInfo[];
  evaluate(profile: ProfileInput, options: EvaluateContext): Record<string, boolean>;
  outcomes(profile: ProfileInput, options: EvaluateContext): Record<string, Outcome>;
  /** Ids of the segments the profile belongs to, sorted. */
  members(profile: ProfileInput, options: EvaluateContext): string[];
  evaluateOne(id: string, profile: ProfileInput, options: EvaluateContext): Outcome;
  explain(id: string, profile: ProfileInput, options: EvaluateContext): Explanation;
  evaluateMany(profiles: ProfileInput[], options: EvaluateContext): Promise<Array<Record<string, boolean>>>;
}

/** Compiles a bare rule (defaults: id `rule`, version `1.0.0`, `UTC`, `USD`). */
export declare function compile(rule: string, options?: CompileOptions): Segment;
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
/** Diagnostics of definitions (YAML/JSON texts or objects) checked as one registry; empty when valid. */
export declare function check(source: Array<string | DefinitionData>, options?: SchemaOption): Diagnostic[];

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
/** Evaluation failed for this profile or context. */
export declare class EvaluationError extends SegmentError {}

/** Package version. */
export declare const version: string;
/** Version of the segment language this build implements. */
export declare const languageVersion: string;
/**
 * Test-only, not part of the API: traps the WebAssembly module on purpose (`kind` 0: a Rust panic,
 * 1: a stack overflow) to show the recovery. Always throws `SegmentError` with code `internal`.
 */
export declare function __segcore_test_trap(kind?: 0 | 1): never;

/** Everything above as one object (the module's default export). */
declare const _default: {
  compile: typeof compile;
  Segment: typeof Segment;
  Registry: typeof Registry;
  Profile: typeof Profile;
  Context: typeof Context;
  Explanation: typeof Explanation;
  formatRule: typeof formatRule;
  resolveLocalTime: typeof resolveLocalTime;
  check: typeof check;
  SegmentError: typeof SegmentError;
  ParseError: typeof ParseError;
  TypeCheckError: typeof TypeCheckError;
  DefinitionError: typeof DefinitionError;
  EvaluationError: typeof EvaluationError;
  version: string;
  languageVersion: string;
  __segcore_test_trap: typeof __segcore_test_trap;
};
export default _default;
