"""Type stubs for segcore: canonical segment definitions, one evaluator (the Rust core)."""

from datetime import datetime, timedelta
from decimal import Decimal
from os import PathLike
from typing import Any, Callable, Dict, Iterable, Literal, Mapping, Optional, Sequence, TypedDict, Union

__version__: str
LANGUAGE_VERSION: str

AsOf = Union[datetime, str]
"""An aware ``datetime`` or an RFC 3339 string with an offset. Naive datetimes are rejected."""
ProfileDict = Mapping[str, Any]
"""``{"id": ..., "attributes": {...}, "events": [{"name", "at", "properties"}]}``.

Values: ``str``, ``int``, ``float`` (finite), ``bool``, ``None``, ``list``/``tuple``, ``dict`` (with
``{"amount", "currency"}`` read as money), aware ``datetime`` (RFC 3339 text), ``date`` (ISO text)
and ``decimal.Decimal`` — an exact segcore decimal on every path (dict, :class:`Profile`,
``evaluate_batch``); a NaN or infinite ``Decimal`` is ``invalid_profile``. A value may nest at most
100 lists/objects (SPEC §19): deeper is ``limit_exceeded``, found before converting further, and a
profile may hold at most 100,000 events.
"""
Fx = Mapping[str, Union[str, float, int, Decimal]]
"""FX quotes: ``{"EUR/USD": "1.0842"}`` means 1 EUR = 1.0842 USD."""
Outcome = Literal["true", "false", "unknown"]
Cause = Literal["effective", "reference", "event", "window", "calendar"]
"""Why a membership changed at an instant (SPEC §22), in priority order."""
Horizon = Union[str, timedelta]
"""How far ``next_change`` looks: a duration text like ``"90d"`` or a ``timedelta`` (≤ 36600 days)."""
Dialect = Literal["duckdb", "postgres", "spark", "bigquery", "snowflake"]
"""SQL dialects ``to_sql`` generates (SPEC §21)."""


#: A schema: a mapping ``{"attributes": {...}, "events": {...}}``, its YAML or JSON text, or the
#: path of a schema file (``pathlib.Path``; a plain string is always read as text).
SchemaInput = Union[Mapping[str, Any], str, PathLike[str]]

class SqlQuery:
    """A generated membership query and the input columns it reads (SPEC §21).

    The query reads ``profiles(id, <attributes>)`` and ``events(entity_id, seq, name, at,
    <properties>)`` and returns ``entity_id, segment_id, version, definition_hash, as_of, member,
    outcome``. ``as_of`` and the FX quotes are written into it.
    """

    @property
    def dialect(self) -> Dialect: ...
    @property
    def sql(self) -> str:
        """The query text (no trailing semicolon)."""
    @property
    def profile_columns(self) -> list[tuple[str, str, str]]:
        """``(name, segcore type, SQL type)`` of the profiles table's columns, ``id`` first."""
    @property
    def event_columns(self) -> list[tuple[str, str, str]]:
        """``(name, segcore type, SQL type)``: ``entity_id, seq, name, at``, then properties."""
    @property
    def ddl(self) -> str:
        """``CREATE TABLE`` statements for the two input tables."""

class SegmentError(Exception):
    """Base of every segcore error. ``kind`` is the stable error kind (SPEC §18).

    ``line``/``column`` locate an error in rule text. ``frame``/``row``/``column_name`` locate an
    ``evaluate_batch`` error: the frame (``"profiles"`` or ``"events"``), the 0-based row counted
    over the whole frame, and the column's name (each None when not known or not a batch error).

    Raised as ``SegmentError`` itself only with ``kind == "internal"``: a bug in segcore (a Rust
    panic caught at the binding's boundary); no input is meant to reach it.

    Every other exception the binding raises for a bad argument (``TypeError`` for a wrong type,
    ``ValueError`` for a naive datetime or a NaN float, ``KeyError`` for an unknown segment id)
    also carries a ``kind`` attribute (``invalid_profile``, ``invalid_context``,
    ``invalid_definition``, ``invalid_schema``, ``unknown_segment``, ``sql_unsupported``).
    """

    kind: str
    message: str
    line: Optional[int]
    column: Optional[int]
    origin: Optional[str]
    diagnostics: list[Diagnostic]
    frame: Optional[Literal["profiles", "events"]]
    row: Optional[int]
    column_name: Optional[str]

class ParseError(SegmentError):
    """The rule text is not valid syntax (``syntax_error``, ``invalid_escape``, …)."""

class TypeCheckError(SegmentError):
    """The rule parsed but does not type-check (unknown fields, type mismatches, bad literals…)."""

class DefinitionError(SegmentError):
    """The definition document is invalid (missing fields, bad version, time zone, currency…)."""

class EvaluationError(SegmentError):
    """Evaluation failed for this profile (``fx_rate_missing``, ``numeric_overflow``,
    ``segment_result_missing``, …), or the data handed in cannot be read (:class:`DataError`)."""

class DataError(EvaluationError):
    """The profiles, frames, tables or context handed in cannot be read (``invalid_profile``,
    ``invalid_context``, ``duplicate_profile_id``, ``limit_exceeded`` on a value, …); ``frame``,
    ``row`` and ``column_name`` say where when known. A subclass of :class:`EvaluationError`, so
    ``except EvaluationError`` still catches it."""

class Profile:
    """A profile converted once (all attributes and events), to evaluate many times cheaply."""

    def __init__(self, profile: ProfileDict) -> None: ...
    @staticmethod
    def from_json(text: str) -> Profile:
        """Parses profile JSON text with the core's reader (what the CLI reads from a JSONL line):
        integers beyond 2^53 and decimal digits are kept exactly; nesting past 100 levels is
        ``limit_exceeded`` without recursing.

        >>> segcore.Profile.from_json('{"id": "u1", "attributes": {"age": 30}}').id
        'u1'
        """
    @property
    def id(self) -> str: ...
    @property
    def event_count(self) -> int: ...

ProfileLike = Union[ProfileDict, Profile]
"""A dict (only what the segment reads is converted) or a pre-converted :class:`Profile`."""

class Context:
    """``as_of``, FX quotes and referenced segment results, parsed once to reuse across calls."""

    def __init__(
        self, as_of: AsOf, *, fx: Optional[Fx] = None, segments: Optional[Mapping[str, bool]] = None
    ) -> None: ...
    @property
    def as_of(self) -> str: ...

class Diagnostic:
    kind: str
    severity: Literal["error", "warning"]
    message: str
    line: Optional[int]
    column: Optional[int]
    origin: Optional[str]
    def to_dict(self) -> dict[str, Any]: ...

class Explanation:
    segment: str
    version: str
    outcome: Outcome
    member: bool
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str: ...

class Change:
    """One change of a segment's outcome (SPEC §22): from ``at`` on, the outcome is ``outcome``."""
    @property
    def at(self) -> datetime:
        """The instant, an aware UTC datetime exact to the microsecond."""
    @property
    def at_text(self) -> str:
        """The instant as RFC 3339 text, e.g. ``2026-03-31T10:00:00.000001Z``."""
    @property
    def previous(self) -> Outcome: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def member(self) -> bool: ...
    @property
    def transition(self) -> Optional[Literal["entered", "exited"]]:
        """``None`` for a change between "false" and "unknown" (membership stays out)."""
    @property
    def cause(self) -> Cause: ...
    @property
    def cause_segment(self) -> Optional[str]:
        """For ``cause == "reference"``: the referenced segment."""
    @property
    def cause_event(self) -> Optional[str]:
        """For ``event`` and ``window`` causes tied to an event: its name."""
    @property
    def cause_event_at(self) -> Optional[datetime]: ...
    def to_dict(self) -> dict[str, Any]: ...

class Timeline:
    """A segment's outcome over [start, end): the outcome at ``start`` and every change."""
    @property
    def segment(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def outcome(self) -> Outcome:
        """The outcome at ``start``."""
    @property
    def changes(self) -> list[Change]: ...
    @property
    def intervals(self) -> list[tuple[datetime, datetime]]:
        """Maximal ``(entered, left)`` membership intervals within [start, end)."""
    def to_pandas(self) -> Any:
        """The changes as a pandas DataFrame (``at``, ``previous``, ``outcome``, ``member``,
        ``transition``, ``cause``, ``cause_segment``, ``cause_event``, ``cause_event_at``)."""
    def __len__(self) -> int: ...

class Segment:
    """A compiled definition."""

    @staticmethod
    def from_yaml(text: str, *, schema: Optional[SchemaInput] = None) -> Segment: ...
    @staticmethod
    def from_json(text: str, *, schema: Optional[SchemaInput] = None) -> Segment: ...
    @staticmethod
    def from_dict(definition: Mapping[str, Any], *, schema: Optional[SchemaInput] = None) -> Segment: ...
    @staticmethod
    def load(path: Union[str, PathLike[str]], *, schema: Optional[SchemaInput] = None) -> Segment: ...
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def definition_hash(self) -> str: ...
    @property
    def canonical_json(self) -> str: ...
    @property
    def rule(self) -> str:
        """The rule, canonically formatted."""
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def read_set(self) -> dict[str, Any]:
        """``attributes``, ``events``, ``segments`` (lists) and ``event_properties`` (event → list)."""
    def to_sql(
        self,
        dialect: Dialect,
        *,
        as_of: AsOf,
        fx: Optional[Fx] = None,
        profiles_table: str = "profiles",
        events_table: str = "events",
    ) -> SqlQuery:
        """This segment's membership query; raises ``TypeCheckError`` (``kind == "sql_unsupported"``)
        for constructs the dialect cannot express exactly. ``in_segment`` needs ``Registry.to_sql``."""
    def evaluate(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
        context: Optional[Context] = None,
    ) -> bool:
        """Whether the profile is a member (the rule is TRUE) at ``as_of``.

        ``as_of`` may be a ``Context`` (positionally): the fastest call in a loop.

        >>> from datetime import datetime, timezone
        >>> seg = segcore.compile("age >= 18")
        >>> seg.evaluate({"id": "u1", "attributes": {"age": 30}}, as_of=datetime(2026, 3, 15, tzinfo=timezone.utc))
        True
        >>> ctx = segcore.Context("2026-03-15T00:00:00Z")
        >>> seg.evaluate({"id": "u1", "attributes": {"age": 30}}, ctx)
        True
        """
    def outcome(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
        context: Optional[Context] = None,
    ) -> Outcome:
        """The three-valued result: "true", "false" or "unknown" (data missing)."""
    def next_change(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        horizon: Optional[Horizon] = None,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
        context: Optional[Context] = None,
    ) -> Optional[Change]:
        """The first instant after ``as_of`` at which the outcome changes if no new data arrives,
        exact to the microsecond, or ``None`` within ``horizon`` (default 3660 days). SPEC §22.

        >>> seg = segcore.compile("exists(purchase within 30d)")
        >>> p = {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}
        >>> c = seg.next_change(p, "2026-03-15T00:00:00Z")
        >>> (c.at_text, c.outcome, c.cause)
        ('2026-03-31T10:00:00.000001Z', 'false', 'window')
        """
    def timeline(
        self,
        profile: ProfileLike,
        start: AsOf,
        end: AsOf,
        *,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
    ) -> Timeline:
        """The outcome at ``start`` and every change before ``end``, with causes. SPEC §22."""
    def explain(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
        context: Optional[Context] = None,
    ) -> Explanation: ...
    def evaluate_batch(
        self,
        profiles: Any,
        events: Any = None,
        *,
        as_of: Optional[AsOf] = None,
        fx: Optional[Fx] = None,
        segments: Optional[Mapping[str, bool]] = None,
        context: Optional[Context] = None,
        id_column: str = "id",
        entity_column: str = "entity_id",
        name_column: str = "name",
        at_column: str = "at",
        outcome: bool = False,
    ) -> Any:
        """Membership over a profiles frame (pandas DataFrame, pyarrow Table or polars DataFrame)
        and an optional events frame in long form (``entity_id, name, at, <property columns>``;
        name yours with ``entity_column=``, ``name_column=``, ``at_column=``, and the profiles' id
        column with ``id_column=``).

        Returns a column aligned with the profile rows, of the input's kind: a boolean pandas
        Series (same index), pyarrow BooleanArray or polars Series; with ``outcome=True``, the
        strings "true"/"false"/"unknown". Data crosses through the Arrow C stream interface and is
        evaluated in Rust without the GIL. Timestamp columns must carry a time zone.

        Events whose entity id is not in the profiles frame are ignored (as in a left join) and
        counted in a ``UserWarning``. The core's columnar engine evaluates the frames; its answers
        are the row-by-row interpreter's, cell for cell.

        Ids must be unique: two rows with the same id raise :class:`DataError` with
        ``kind == "duplicate_profile_id"`` naming the id and both rows. A value the core cannot
        represent (a date or timestamp outside years -9999..9999, a decimal of more than 28
        significant digits, a duration overflowing 64-bit microseconds) raises ``invalid_profile``;
        every error carries ``frame``, ``row`` and ``column_name`` where known.
        """
    def _repr_html_(self) -> str: ...

class Registry:
    """Definitions compiled together: references resolved, evaluated in dependency order."""

    @staticmethod
    def from_bundle(data: Union[str, bytes]) -> Registry:
        """Loads a bundle written by ``segcore bundle`` or ``Registry.to_bundle`` (SPEC §27): the
        whole registry, or ``DefinitionError`` with kind ``bundle_invalid`` (a changed or cut file,
        another format, a definition that does not compile)."""
    @staticmethod
    def subscribe(
        url: str,
        *,
        wait: float = 30.0,
        timeout: float = 10.0,
        on_change: Optional[Callable[[Registry], None]] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> Subscription:
        """Follows a registry service (``segcore serve URL``, SPEC §28): loads its bundle, then
        swaps in each new one whole as the change feed announces it. Returns once the first
        bundle is loaded.

        >>> sub = segcore.Registry.subscribe("http://127.0.0.1:8700")  # doctest: +SKIP
        >>> reg = sub.registry  # one bundle for everything done with `reg`  # doctest: +SKIP
        >>> reg.evaluate(profile, as_of="2026-03-15T00:00:00Z"), reg.bundle_hash  # doctest: +SKIP
        """
    @property
    def bundle_hash(self) -> str:
        """The content hash of the definitions and schema (an ETag)."""
    def to_bundle(self, created: Optional[AsOf] = None) -> str:
        """This registry as a bundle's JSON text; ``created`` is now unless given.

        >>> reg = segcore.Registry.from_definitions([{"id": "a", "version": "1.0.0", "rule": "age >= 18"}])
        >>> segcore.Registry.from_bundle(reg.to_bundle()).bundle_hash == reg.bundle_hash
        True
        """
    @staticmethod
    def load(path: Union[str, PathLike[str]], *, schema: Optional[SchemaInput] = None) -> Registry:
        """Compile every ``*.yaml``/``*.yml``/``*.json`` definition of a folder together.

        >>> registry = segcore.Registry.load("segments/")  # adults.yaml: rule `age >= 18`
        >>> registry.evaluate({"id": "u1", "attributes": {"age": 30}}, as_of="2026-03-15T00:00:00Z")
        {'adults': True}
        """
    @staticmethod
    def from_definitions(
        definitions: Sequence[Union[Mapping[str, Any], str]], *, schema: Optional[SchemaInput] = None
    ) -> Registry: ...
    @property
    def _repr_html_(self) -> str:
        """An HTML table of the segments (id, version, hash prefix, rule) for notebooks."""
        ...
    def schema(self) -> Optional[dict[str, Any]]:
        """The schema the registry was compiled with (``list<T>`` reads back as ``list``), or None."""
    def segment_at(self, id: str, as_of: AsOf) -> Segment:
        """The version of segment ``id`` in force at ``as_of`` (SPEC §1): the one a result at
        ``as_of`` reports."""
    def versions(self) -> list[Segment]:
        """Every definition: each id's versions side by side in time order (SPEC §1); ``reg[id]``
        is an id's latest version, ``evaluate`` uses the one in force at ``as_of``."""
    @property
    def ids(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...
    def __getitem__(self, id: str) -> Segment: ...
    def evaluate(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
    ) -> dict[str, bool]: ...
    def outcomes(
        self,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
    ) -> dict[str, Outcome]: ...
    def next_change(
        self,
        id: str,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        horizon: Optional[Horizon] = None,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
    ) -> Optional[Change]:
        """Segment ``id``'s next change; referenced segments change with it (cause "reference")."""
    def timeline(
        self, id: str, profile: ProfileLike, start: AsOf, end: AsOf, *, fx: Optional[Fx] = None
    ) -> Timeline: ...
    def timelines(
        self,
        profiles: Iterable[ProfileLike],
        start: AsOf,
        end: AsOf,
        *,
        ids: Optional[Sequence[str]] = None,
        fx: Optional[Fx] = None,
    ) -> list[Timeline]:
        """Every profile's timeline of each segment (``ids``, default all) over [start, end), on
        every core; profile by profile, segments in ``ids`` order."""
    def reconcile(
        self,
        a: Optional[Ids],
        b: Optional[Ids],
        *,
        segment: Optional[str] = None,
        segment_b: Optional[str] = None,
        registry_b: Optional[Registry] = None,
        as_of: Optional[AsOf] = None,
        as_of_b: Optional[AsOf] = None,
        profiles: Optional[Iterable[ProfileLike]] = None,
        profiles_b: Optional[Iterable[ProfileLike]] = None,
        fx: Optional[Fx] = None,
        identity: Optional[IdentityMap] = None,
    ) -> dict[str, Any]:
        """Why two member sets differ (SPEC §25). ``a``/``b``: each side's ids (an export), or
        ``None`` to compute them from its setting; B's segment, registry, ``as_of`` and profiles
        default to A's. Returns ``{"a", "b", "both", "jaccard", "differing", "causes",
        "differences": [{"raw", "id", "side", "cause", "chain", "change"}]}``; each cause is
        ``identity``, ``definition``, ``time``, ``data`` or ``unexplained``.

        >>> reg = segcore.Registry.from_definitions([
        ...     {"id": "hv90", "version": "1.0.0", "rule": "sum(purchase.amount within 90d) > 500"},
        ...     {"id": "hv60", "version": "1.0.0", "rule": "sum(purchase.amount within 60d) > 500"}])
        >>> p = {"id": "u1", "events": [{"name": "purchase", "at": "2026-01-01T00:00:00Z", "properties": {"amount": 600}}]}
        >>> r = reg.reconcile(["u1"], [], segment="hv90", segment_b="hv60", as_of="2026-03-15T00:00:00Z", profiles=[p])
        >>> r["differences"][0]["cause"]
        'definition'
        """
    def drift(
        self,
        profiles: Iterable[ProfileLike],
        start: str,
        end: str,
        *,
        every: int = 1,
        zone: str = "UTC",
        window: int = 7,
        z: float = 3.0,
        ids: Optional[Sequence[str]] = None,
        fx: Optional[Fx] = None,
    ) -> list[dict[str, Any]]:
        """Daily membership drift (SPEC §25) over local days of ``zone`` from ``start`` to ``end``
        (``YYYY-MM-DD``, end exclusive), every ``every`` days: one row per segment per step —
        ``segment, day, start, members, entered, exited, churn, entered_by, exited_by, z, alert``
        — from one timeline per profile. ``pandas.DataFrame(rows)`` makes it a table.

        >>> reg = segcore.Registry.from_definitions([{"id": "active", "version": "1.0.0", "rule": "count(login within 2d) >= 1"}])
        >>> rows = reg.drift([{"id": "u1", "events": [{"name": "login", "at": "2026-03-02T12:00:00Z"}]}], "2026-03-01", "2026-03-06")
        >>> [(r["day"], r["entered"], r["exited"]) for r in rows]
        [('2026-03-01', 0, 0), ('2026-03-02', 1, 0), ('2026-03-03', 0, 0), ('2026-03-04', 0, 1), ('2026-03-05', 0, 0)]
        """
    def evaluate_one(
        self,
        id: str,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
    ) -> Outcome: ...
    def evaluate_batch(
        self,
        profiles: Any,
        events: Any = None,
        *,
        as_of: Optional[AsOf] = None,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
        id_column: str = "id",
        entity_column: str = "entity_id",
        name_column: str = "name",
        at_column: str = "at",
        outcome: bool = False,
    ) -> Any:
        """Every segment over a profiles frame (+ events frame): a frame of the input's kind with
        one column per segment id (booleans, or outcome strings), rows aligned with the input.
        Errors as in :meth:`Segment.evaluate_batch` (duplicate ids are ``duplicate_profile_id``)."""
    def to_sql(
        self,
        dialect: Dialect,
        *,
        as_of: AsOf,
        fx: Optional[Fx] = None,
        profiles_table: str = "profiles",
        events_table: str = "events",
    ) -> SqlQuery:
        """One query computing every segment's membership, references as CTEs in dependency order.
        The registry must be compiled with a ``schema`` (SQL columns are typed).

        >>> defs = [{"id": "adults", "version": "1.0.0", "rule": "age >= 18"}]
        >>> reg = segcore.Registry.from_definitions(defs, schema={"attributes": {"age": "int"}})
        >>> print(reg.to_sql("postgres", as_of="2026-03-15T00:00:00Z").sql)
        -- Generated by segcore ... from 1 segment definition(s); do not edit.
        ...
          -- adults 1.0.0: age >= 18
          SELECT p."id" AS "entity_id",
            (p."age" >= 18) AS value
          FROM profiles AS p
        ...
        """
    def explain(
        self,
        id: str,
        profile: ProfileLike,
        as_of: Optional[Union[AsOf, Context]] = None,
        *,
        fx: Optional[Fx] = None,
        context: Optional[Context] = None,
    ) -> Explanation: ...

def compile(
    rule: str,
    *,
    id: Optional[str] = None,
    version: Optional[str] = None,
    timezone: Optional[str] = None,
    currency: Optional[str] = None,
    schema: Optional[SchemaInput] = None,
) -> Segment:
    """Compile a bare rule. Metadata not given takes the core's defaults — id ``"rule"``,
    version ``"1.0.0"``, time zone ``"UTC"``, currency ``"USD"`` — the same in every runtime, so
    the same rule has the same definition hash everywhere.

    >>> seg = segcore.compile('age >= 18 and country = "US"')
    >>> seg.evaluate({"id": "u1", "attributes": {"age": 30, "country": "US"}}, as_of="2026-03-15T00:00:00Z")
    True
    """

def format_rule(rule: str) -> str:
    """The canonical formatting of a rule (what ``segcore fmt`` prints).

    >>> segcore.format_rule("not(a=1)")
    'not (a = 1)'
    """

ImportSource = Literal["jsonlogic", "growthbook", "unleash", "sql"]
"""The formats ``import_rule`` reads and their reference engines: ``jsonlogic`` (json-logic-js 2.0.5),
``growthbook`` (``evalCondition`` of @growthbook/growthbook 1.8.0), ``unleash`` (yggdrasil-engine
2.0.0), ``sql`` (DuckDB 2.0 or PostgreSQL 15, by ``dialect``)."""

class ImportAssumption(TypedDict):
    id: Literal["A1", "A2", "A3", "A4", "V", "N"]
    statement: str
    paths: list[str]
    """JSON pointers of the source nodes that needed it."""

class ImportRefusal(TypedDict):
    path: str
    """JSON pointer to the refused node in the source as written (``""`` is the root)."""
    construct: str
    reason: str

class ImportResult(TypedDict):
    format: str
    reference: str
    dialect: Optional[Literal["duckdb", "postgres"]]
    """SQL imports: the dialect (``None`` for the other formats)."""
    status: Literal["exact", "exact_under", "refused"]
    assumptions: list[ImportAssumption]
    refusals: list[ImportRefusal]
    reads: list[str]
    rule: Optional[str]
    """The segcore rule; ``None`` when refused."""
    definition: Optional[str]
    """The definition as YAML text (id, version 1.0.0, description, tags, rule)."""
    schema: Optional[dict[str, Any]]
    """The schema the definition compiles against (nested paths' roots declared ``object``)."""

def import_rule(
    rule: Any,
    source: ImportSource = "jsonlogic",
    *,
    schema: Optional[Mapping[str, Any]] = None,
    id: Optional[str] = None,
    saved_groups: Optional[Mapping[str, Any]] = None,
    toggle: Optional[str] = None,
    dialect: Optional[Literal["duckdb", "postgres"]] = None,
    timezone: Optional[str] = None,
    tables: Optional[Mapping[str, Any]] = None,
    partial: bool = False,
) -> ImportResult:
    """Import one rule written for another engine (SPEC §29): exactly, or refused with the reason.

    ``rule`` is a JSON text or the parsed value (for ``"sql"``: the query text, with ``dialect``,
    ``timezone`` and ``tables``; SPEC §29.5); ``schema`` declares the type of every attribute
    the rule reads. A refused import raises ``TypeCheckError`` (``import_refused``) unless
    ``partial``; a source that does not read raises ``ParseError`` (``import_invalid``).

    >>> out = segcore.import_rule({"<": [{"var": "age"}, 18]}, schema={"attributes": {"age": "int"}})
    >>> out["status"], out["rule"]
    ('exact_under', 'age is null or coalesce(age < 18, false)')
    >>> segcore.compile(out["rule"], schema=out["schema"]).evaluate({"id": "u1"}, as_of="2026-01-01T00:00:00Z")
    True
    """

def check(
    source: Union[str, PathLike[str], Sequence[Union[Mapping[str, Any], str]]],
    *,
    schema: Optional[SchemaInput] = None,
) -> list[Diagnostic]:
    """Validate a definition folder/file, or definitions; returns diagnostics (empty when valid).

    >>> [d.kind for d in segcore.check([{"id": "a", "version": "1.0.0", "rule": "age >="}])]
    ['syntax_error']
    """

def log_drift(
    path: Union[str, PathLike[str]],
    start: str,
    end: str,
    *,
    every: int = 1,
    zone: str = "UTC",
    window: int = 7,
    z: float = 3.0,
    segments: Optional[list[str]] = None,
) -> list[dict[str, Any]]:
    """Daily drift (SPEC §25) from a membership-log folder: ``Registry.drift``'s rows, counted
    from the log's committed transitions; ``end`` must not pass its watermark."""
    ...

def log_members(path: Union[str, PathLike[str]], at: Union[str, datetime]) -> dict[str, list[str]]:
    """Membership at an instant from a membership-log folder (SPEC §23): {segment: [entity, …]}."""
    ...

def log_transitions(path: Union[str, PathLike[str]]) -> Any:
    """A membership log's committed transitions and retractions as a pandas DataFrame."""
    ...

def members_over_time(timelines: Iterable[Timeline]) -> Any:
    """Members per segment as a step function: a pandas DataFrame (``segment``, ``at``,
    ``members``), one row at the start and one wherever the count changes."""

def plot_members(timelines: Iterable[Timeline], ax: Optional[Any] = None, title: str = "members over time") -> Any:
    """Draws members over time per segment with matplotlib; returns the Axes."""

# --- Reconciliation (SPEC §24) ------------------------------------------------------------------

Ids = Iterable[Union[str, int]]

class Fingerprint:
    """A membership fingerprint: the number of ids and four 64-bit lane sums of their SHA-256
    hashes. ``str(fp)`` is the ``sfp1:`` text every runtime and the generated SQL produce; equal
    fingerprints mean equal sets except with probability ≤ 2⁻¹²⁸.

    >>> a = segcore.fingerprint(["u1", "u2"])
    >>> a == segcore.fingerprint(["u2"]) + segcore.fingerprint(["u1"])
    True
    >>> a.count
    2
    """

    @staticmethod
    def parse(text: str) -> Fingerprint:
        """Reads the text form ``sfp1:<tag>:<n>:<L0>:<L1>:<L2>:<L3>`` (``invalid_fingerprint``)."""
    @property
    def count(self) -> int: ...
    @property
    def lanes(self) -> list[int]: ...
    @property
    def key_tag(self) -> str:
        """The 8-hex-digit tag of the key it was made with."""
    def __add__(self, other: Fingerprint) -> Fingerprint:
        """The fingerprint of the union of two disjoint shards (``key_mismatch`` across keys)."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def fingerprint(ids: Ids, *, key: Optional[str] = None) -> Fingerprint:
    """The fingerprint of a set of ids (``str``, or ``int`` read as its decimal text). Each id
    once: a repeated id counts twice. ``key`` (default ``segcore``) must match the other side's."""

class Sketch:
    """A set-reconciliation sketch (a rateless IBLT): two sides exchange sketches of a few
    kilobytes and decode exactly which ids differ.

    >>> mine, theirs = ["u1", "u2", "u3"], ["u1", "u2", "u4"]
    >>> segcore.Sketch(mine).decode(segcore.Sketch(theirs), ids=mine, other_ids=theirs)
    {'only_a': ['u3'], 'only_b': ['u4'], 'symbols': 1632}
    """

    def __init__(
        self, ids: Ids, *, symbols: Optional[int] = None, differences: Optional[int] = None, key: Optional[str] = None
    ) -> None:
        """``symbols`` coded symbols, or enough for about ``differences`` differences (default 1,000)."""
    @staticmethod
    def from_bytes(data: bytes) -> Sketch:
        """Reads a sketch's bytes (``sketch_invalid`` for damaged or foreign bytes)."""
    def to_bytes(self) -> bytes: ...
    @property
    def fingerprint(self) -> Fingerprint: ...
    def __len__(self) -> int:
        """The number of coded symbols."""
    def decode(
        self, other: Sketch, *, ids: Optional[Ids] = None, other_ids: Optional[Ids] = None, key: Optional[str] = None
    ) -> dict[str, Any]:
        """``{"only_a": [...], "only_b": [...], "symbols": m}``: ids where that side's ids are
        given, else ``#`` and 16 hex digits per symbol, for the other side to resolve. ``sketch_undecodable``
        when the difference is too large for the sketches (never a partial answer)."""

def fingerprint_sql(
    dialect: str,
    *,
    table: Optional[str] = None,
    id_column: str = "id",
    filter: Optional[str] = None,
    membership_sql: Optional[str] = None,
    key: Optional[str] = None,
) -> str:
    """SQL computing the same fingerprint text in a warehouse: over ``table``'s ``id_column``
    (rows matching the SQL condition ``filter``), or per segment over a generated membership
    query (``membership_sql=registry.to_sql(...).sql``; columns ``segment_id, fingerprint``)."""

class IdentityMap:
    """Pairs of identifiers naming one entity (user id, email, device, cookie) → components, each
    with one canonical id: the least by ``prefer`` rank, then code point (SPEC §25).

    >>> m = segcore.IdentityMap([("email:a@x", "device:9"), ("device:9", "user:42")], prefer=["user:"])
    >>> m.canonical("email:a@x")
    'user:42'
    >>> m.components
    1
    """

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        prefer: Optional[Sequence[str]] = None,
        unique: Optional[Sequence[str]] = None,
        strict: bool = False,
    ) -> None:
        """``unique``: prefixes a component may hold once (two ``user:`` ids joined through a device
        are a conflict, listed in ``conflicts``; ``strict`` makes it ``invalid_identity``)."""
    def canonical(self, id: str) -> str: ...
    @property
    def components(self) -> int: ...
    @property
    def conflicts(self) -> list[tuple[str, list[str]]]: ...
    def __len__(self) -> int: ...

def diff(old: Registry, new: Registry) -> dict[str, Any]:
    """What changed between two registries (SPEC §26): ``{"required": bump, "segments": [{"id",
    "change", "versions", "fields", "rule_changes", "bump", "reasons", "problem"}]}``; ``bump`` is
    ``none``, ``patch``, ``minor`` or ``major``; ``problem`` (``{"kind", "message"}`` or ``None``)
    says when a version breaks the rules (``version_bump_required``, ``version_reused``,
    ``version_regression``).

    >>> old = segcore.Registry.from_definitions([{"id": "hv", "version": "1.0.0", "rule": "ltv > 500"}])
    >>> new = segcore.Registry.from_definitions([{"id": "hv", "version": "1.1.0", "rule": "ltv > 500 and vip"}])
    >>> d = segcore.diff(old, new)
    >>> d["required"], d["segments"][0]["problem"]["kind"]
    ('major', 'version_bump_required')
    """

class Subscription:
    """A registry following a ``segcore serve`` service; see ``Registry.subscribe``."""

    url: str
    last_error: Optional[BaseException]
    """Why the last attempt to follow the service failed (None after a successful swap)."""
    updates: int
    """How many bundles were swapped in after the first."""
    @property
    def registry(self) -> Registry:
        """The current registry: one whole bundle."""
    @property
    def bundle_hash(self) -> str:
        """The current bundle's hash."""
    def evaluate(self, profile: ProfileLike, as_of: Optional[Union[AsOf, Context]] = None, **kwargs: Any) -> Dict[str, bool]:
        """``Registry.evaluate`` on the current bundle."""
    def wait_for(self, bundle_hash: Optional[str] = None, timeout: float = 30.0) -> str:
        """Blocks until the current bundle is ``bundle_hash`` (or the next swap); its hash."""
    def close(self) -> None:
        """Stops following the service; the current registry stays usable."""
    def __enter__(self) -> Subscription: ...
    def __exit__(self, *exc: Any) -> None: ...
