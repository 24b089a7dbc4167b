"""Segment membership over Spark DataFrames, computed by the segcore Rust core on the executors.

``evaluate(profiles_df, events_df, registry, as_of)`` returns the membership DataFrame the
generated SQL returns (``Registry.to_sql("spark", ...)``): one row per (profile, segment) with
``entity_id, segment_id, version, definition_hash, as_of, member`` (+ ``outcome``). Unlike the
SQL, every construct of the language is supported and the results are the interpreter's by
construction: each executor runs the same wheel (``Registry.evaluate_batch``) over Arrow data.

Input layout (the tables the generated SQL reads work as they are):

* ``profiles_df``: one row per profile, ``id_column`` + one column per attribute. A money
  attribute is either a struct column ``<name>`` with fields ``amount`` and ``currency``, or the
  SQL layout ``<name>_amount`` (DECIMAL) + ``<name>_currency`` (STRING), NULL amount = missing.
* ``events_df`` (optional): long form, ``entity_id``, ``name``, ``at`` (TIMESTAMP, or RFC 3339
  strings with an offset) + one column per event property (money as above). Events of entities
  without a profile row are ignored. If it has a ``seq`` column (the SQL layout), it orders the
  events of an entity that share the same ``at`` (what ``first()``/``last()`` see on ties);
  without it such ties have no defined order in a distributed frame.

Only the attributes, event names and event properties some segment reads are projected, so the
shuffle carries no unused data. Timestamps must be TIMESTAMP (instants), not TIMESTAMP_NTZ:
segcore never guesses a time zone.

How it runs, and why
--------------------
1. The profiles (the read attributes) and the events (only the event names read, only the read
   properties) are projected into one union, keyed by the entity id as text, and hash-partitioned
   on that key into ``partitions`` partitions: every row of an entity (its profile, its events,
   a second profile with the same id) lands in the same partition. One shuffle, no sort, no
   grouping in the JVM.
2. ``mapInArrow`` hands each partition to Python as Arrow record batches; they are split back
   into a profiles table and a long, unsorted events table (Arrow compute, no Python object per
   row) and evaluated by one ``Registry.evaluate_batch`` call, i.e. the core's columnar engine,
   which reads the Arrow buffers in Rust and evaluates on all cores without the GIL. The registry
   is compiled once per Python worker (cached by the definitions' content).
3. Python returns ``(entity, segment index, outcome code)``; segment id, version, hash and the
   outcome text are attached in the JVM from literals, so no repeated string crosses per row.

An earlier version grouped each entity's events in the JVM (``collect_list`` + a join) and
flattened them again in Python: the grouping dominated the time and ran out of heap at 100,000
profiles with 2 GB. A cogroup (``groupBy(id).cogroup(...).applyInArrow``) calls Python once per
entity with two tiny tables, and the core never sees a batch to parallelize over.

Memory: a partition's profiles and events are held at once in its Python worker (about the Arrow
size of its rows, plus the engine's working set); raise ``partitions`` for large inputs.

Errors raised while evaluating (e.g. ``fx_rate_missing`` for a currency without an FX quote)
fail the Spark job when an action runs; Spark re-raises them on the driver as
``pyspark.errors.PythonException`` whose message carries segcore's error kind and text.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import threading
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import segcore

__all__ = ["evaluate", "OUTPUT_COLUMNS"]

OUTPUT_COLUMNS: Tuple[str, ...] = ("entity_id", "segment_id", "version", "definition_hash", "as_of", "member")
"""The membership columns (``outcome`` follows them when ``outcome=True``), as in the generated SQL."""

# The id of a profiles row and the entity of an events row share one column: the partitioning key.
_KEY = "__segcore_key"
# 0 for a profiles row, 1 for an events row of the union the executors receive.
_KIND = "__segcore_kind"
# Column prefixes of the two sides in the union (an attribute and a property may share a name).
_P = "__p_"
_E = "__e_"
_SEG = "__segcore_segment"
_CODE = "__segcore_code"
# Outcome codes on the wire from Python to the JVM (strings are attached there, from literals).
_OUTCOMES = ("false", "true", "unknown")
# Output batches are cut at about this many rows (segments × profiles of a partition).
_OUTPUT_ROWS = 1 << 16


def _kinded(error: BaseException, kind: str) -> BaseException:
    """``error`` with the ``kind`` attribute every error of the binding carries (SPEC §18)."""
    error.kind = kind  # type: ignore[attr-defined]
    return error


_PIP_HINT = 'pip install "pyspark>=3.5" pyarrow'


def _require_pyspark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions as F
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "segcore.spark needs PySpark and pyarrow (%s); segcore itself does not depend on them" % _PIP_HINT
        ) from e
    try:
        import pyarrow  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("segcore.spark needs pyarrow on the driver and the executors (%s)" % _PIP_HINT) from e
    return F


# ---------------------------------------------------------------------------------------------
# The registry, shipped as definitions and compiled once per Python worker


_CACHE: Dict[str, "segcore.Registry"] = {}
_CACHE_LOCK = threading.Lock()


def _registry_from_payload(payload: str) -> "segcore.Registry":
    """The registry compiled from ``payload`` (JSON of definitions + schema), cached per worker."""
    key = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    with _CACHE_LOCK:
        reg = _CACHE.get(key)
        if reg is None:
            doc = json.loads(payload)
            reg = segcore.Registry.from_definitions(doc["definitions"], schema=doc["schema"])
            if len(_CACHE) >= 8:
                _CACHE.clear()
            _CACHE[key] = reg
        return reg


def _payload(
    registry: Union["segcore.Registry", Sequence[Union[Mapping[str, Any], str]]],
    schema: Optional[Mapping[str, Any]],
) -> Tuple[str, "segcore.Registry"]:
    """JSON the executors compile the registry from, and the registry compiled from it here."""
    if isinstance(registry, segcore.Registry):
        original = registry
        if schema is None:
            schema = registry.schema
    elif isinstance(registry, (str, bytes)) or not isinstance(registry, Sequence):
        raise _kinded(TypeError(
            "registry must be a segcore.Registry or a list of definitions (dicts or YAML/JSON texts), not %s"
            % type(registry).__name__
        ), "invalid_definition")
    else:
        # Compiled together here (references between them resolve), then shipped as plain dicts.
        original = segcore.Registry.from_definitions(list(registry), schema=schema)
    # Every version side by side (SPEC §1): the executors pick the one in force at as_of.
    definitions: List[Any] = [s.definition for s in original.versions()]
    try:
        payload = json.dumps({"definitions": definitions, "schema": schema}, sort_keys=True, default=str)
    except TypeError as e:
        raise _kinded(TypeError("definitions and schema must be JSON-serializable: %s" % e), "invalid_definition") from e
    try:
        compiled = _registry_from_payload(payload)
    except segcore.SegmentError as e:
        if schema is None:
            raise _kinded(ValueError(
                "the definitions do not compile again without a schema: pass schema=... "
                "(the one they were compiled with): %s" % e
            ), e.kind) from e
        raise
    for a, b in zip(original.versions(), compiled.versions()):
        if a.definition_hash != b.definition_hash:  # pragma: no cover
            raise _kinded(ValueError("segment %r does not recompile to the same definition" % a.id), "internal")
    return payload, compiled


def _read_set(reg: "segcore.Registry") -> Tuple[List[str], Dict[str, List[str]]]:
    """Attributes and {event name: properties} read by some segment of the registry."""
    attrs: set = set()
    events: Dict[str, set] = {}
    for seg in reg.versions():
        rs = seg.read_set
        attrs.update(rs.get("attributes", ()))
        for ev in rs.get("events", ()):
            events.setdefault(ev, set())
        for ev, props in (rs.get("event_properties") or {}).items():
            events.setdefault(ev, set()).update(props)
    return sorted(attrs), {ev: sorted(p) for ev, p in sorted(events.items())}


# ---------------------------------------------------------------------------------------------
# as_of


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")


def _as_of_datetime(text: str) -> _dt.datetime:
    """The canonical RFC 3339 ``as_of`` of a Context as an aware UTC datetime (microseconds)."""
    m = _RFC3339.match(text)
    if not m:  # pragma: no cover - Context.as_of is always RFC 3339
        raise _kinded(ValueError("as_of %r is not an RFC 3339 timestamp" % text), "invalid_context")
    frac = (m.group(3) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(4) in ("Z", "z") else m.group(4)
    value = _dt.datetime.fromisoformat("%sT%s.%s%s" % (m.group(1), m.group(2), frac, zone))
    return value.astimezone(_dt.timezone.utc)


# ---------------------------------------------------------------------------------------------
# Driver side: projection, grouping, join


def _column_lookup(columns: Sequence[str]) -> Dict[str, str]:
    return {c: c for c in columns}


def _value_column(F: Any, columns: Dict[str, str], name: str, frame: str) -> Optional[Any]:
    """The column holding `name` (money may be split into `<name>_amount`/`<name>_currency`),
    or None when the frame has neither (the value is then missing for every row)."""
    if name in columns:
        return F.col("`%s`" % columns[name])
    amount, currency = name + "_amount", name + "_currency"
    if amount in columns and currency in columns:
        a, c = F.col("`%s`" % amount), F.col("`%s`" % currency)
        return F.when(a.isNotNull(), F.struct(a.alias("amount"), c.alias("currency")))
    if amount in columns or currency in columns:
        raise _kinded(ValueError(
            "the %s frame has only one of `%s` and `%s`: a split money column needs both" % (frame, amount, currency)
        ), "invalid_profile")
    return None


def evaluate(
    profiles_df: Any,
    events_df: Any,
    registry: Union["segcore.Registry", Sequence[Union[Mapping[str, Any], str]]],
    as_of: Union[_dt.datetime, str, None],
    *,
    fx: Optional[Mapping[str, Union[str, float, int]]] = None,
    id_column: str = "id",
    outcome: bool = False,
    schema: Optional[Mapping[str, Any]] = None,
    partitions: Optional[int] = None,
) -> Any:
    """Membership of every profile in every segment, evaluated by the Rust core on the executors.

    :param profiles_df: a ``pyspark.sql.DataFrame``, one row per profile: ``id_column`` and the
        attribute columns (see the module docstring for money columns).
    :param events_df: a ``pyspark.sql.DataFrame`` in long form (``entity_id``, ``name``, ``at``,
        property columns, optionally ``seq``), or ``None`` when there are no events.
    :param registry: a :class:`segcore.Registry`, or a list of definitions (dicts or YAML/JSON
        texts) compiled with ``schema``.
    :param as_of: the evaluation instant: an aware ``datetime`` or an RFC 3339 string with an
        offset. Required: membership is never evaluated at an implicit "now".
    :param fx: FX quotes, e.g. ``{"EUR/USD": "1.0842"}``.
    :param id_column: the profiles' id column (strings or integers; the output ``entity_id`` is
        its text).
    :param outcome: also return the three-valued ``outcome`` ("true", "false", "unknown").
    :param schema: the schema to compile a list of definitions with. A Registry carries its
        own (``Registry.schema``); the executors recompile the definitions from
        ``registry[id].definition`` with it.
    :param partitions: how many partitions the profiles and events are hashed into by entity
        (default ``spark.sql.shuffle.partitions``). Each partition's profiles and events are
        evaluated in one call and must fit in a Python worker's memory: raise it for large data.
    :returns: a lazy ``pyspark.sql.DataFrame`` with the columns ``entity_id`` (STRING),
        ``segment_id``, ``version``, ``definition_hash`` (STRING), ``as_of`` (TIMESTAMP),
        ``member`` (BOOLEAN) [, ``outcome`` (STRING)]: one row per profile and segment.
    :raises ImportError: PySpark or pyarrow is not installed.
    :raises ValueError: ``as_of`` is missing or naive, a required column is missing, or the
        definitions do not compile.

    Evaluation errors (e.g. ``fx_rate_missing``) surface when an action runs, as
    ``pyspark.errors.PythonException`` carrying segcore's error kind and message.
    """
    F = _require_pyspark()
    from pyspark.sql import DataFrame
    from pyspark.sql import types as T

    if as_of is None:
        raise _kinded(ValueError(
            "as_of is required: pass an aware datetime or an RFC 3339 string with an offset "
            '(e.g. "2026-03-30T09:30:00Z"); segcore never evaluates at an implicit now'
        ), "invalid_context")
    if not isinstance(profiles_df, DataFrame):
        raise _kinded(TypeError("profiles_df must be a pyspark.sql.DataFrame, not %s" % type(profiles_df).__name__),
                      "invalid_profile")
    if events_df is not None and not isinstance(events_df, DataFrame):
        raise _kinded(TypeError("events_df must be a pyspark.sql.DataFrame or None, not %s" % type(events_df).__name__),
                      "invalid_profile")
    # Validates as_of and fx on the driver, before any job runs.
    context = segcore.Context(as_of, fx=dict(fx) if fx is not None else None)
    fx_quotes = {str(k): str(v) for k, v in (fx or {}).items()}
    as_of_text = context.as_of
    payload, reg = _payload(registry, schema)
    attributes, events_read = _read_set(reg)

    if partitions is None:
        partitions = int(profiles_df.sparkSession.conf.get("spark.sql.shuffle.partitions") or "200")
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise _kinded(ValueError("partitions must be a positive integer, not %r" % (partitions,)), "invalid_context")

    pcols = _column_lookup(profiles_df.columns)
    if id_column not in pcols:
        raise _kinded(ValueError(
            "the profiles frame has no `%s` column (pass id_column=...); it has %s" % (id_column, profiles_df.columns)
        ), "invalid_profile")
    selected = [F.col("`%s`" % id_column).cast("string").alias(_KEY), F.lit(0).cast("byte").alias(_KIND)]
    profile_columns: List[str] = []
    for name in attributes:
        c = F.col("`%s`" % id_column) if name == id_column else _value_column(F, pcols, name, "profiles")
        if c is not None:
            selected.append(c.alias(_P + name))
            profile_columns.append(name)
    union = profiles_df.select(*selected)

    event_columns: List[str] = []
    has_seq = False
    if events_df is not None and events_read:
        ecols = _column_lookup(events_df.columns)
        missing = [c for c in ("entity_id", "name", "at") if c not in ecols]
        if missing:
            raise _kinded(ValueError(
                "the events frame needs the columns entity_id, name, at (missing %s); it has %s"
                % (", ".join(missing), events_df.columns)
            ), "invalid_profile")
        props = sorted({p for ps in events_read.values() for p in ps} - {"entity_id", "name", "at", "seq"})
        fields = [F.col("entity_id").cast("string").alias(_KEY), F.lit(1).cast("byte").alias(_KIND),
                  F.col("name").alias(_E + "name"), F.col("at").alias(_E + "at")]
        event_columns = ["name", "at"]
        for p in props:
            c = _value_column(F, ecols, p, "events")
            if c is not None:
                fields.append(c.alias(_E + p))
                event_columns.append(p)
        has_seq = "seq" in ecols
        if has_seq:
            fields.append(F.col("seq").alias(_E + "seq"))
        events_part = events_df.where(F.col("name").isin(list(events_read))).select(*fields)
        union = union.unionByName(events_part, allowMissingColumns=True)
    # Every row of an entity (its profile, its events, a duplicate profile) lands in one
    # partition; the executors evaluate each partition's long tables in one call.
    union = union.repartition(partitions, F.col(_KEY))

    ids = reg.ids
    out_fields = [
        T.StructField(_KEY, T.StringType(), True),
        T.StructField(_SEG, T.ShortType(), False) if len(ids) < 32768 else T.StructField(_SEG, T.IntegerType(), False),
        T.StructField(_CODE, T.ByteType(), False),
    ]
    fn = _batch_function(payload, as_of_text, fx_quotes, ids, profile_columns, event_columns, has_seq)
    result = union.mapInArrow(fn, T.StructType(out_fields))

    def pick(values: Sequence[str], index: Any) -> Any:
        # A literal array indexed per row: the strings are not shipped from Python per row.
        return F.element_at(F.array(*[F.lit(v) for v in values]), index + 1)

    seg = F.col(_SEG).cast("int")
    columns = [
        F.col(_KEY).alias("entity_id"),
        pick(ids, seg).alias("segment_id"),
        pick([reg.segment_at(i, as_of_text).version for i in ids], seg).alias("version"),
        pick([reg.segment_at(i, as_of_text).definition_hash for i in ids], seg).alias("definition_hash"),
        F.lit(_as_of_datetime(as_of_text)).cast("timestamp").alias("as_of"),
        (F.col(_CODE) == 1).alias("member"),
    ]
    if outcome:
        columns.append(pick(list(_OUTCOMES), F.col(_CODE).cast("int")).alias("outcome"))
    return result.select(*columns)


# ---------------------------------------------------------------------------------------------
# Executor side


def _batch_function(
    payload: str,
    as_of: str,
    fx: Dict[str, str],
    ids: List[str],
    profile_columns: List[str],
    event_columns: List[str],
    has_seq: bool,
) -> Any:
    """The ``mapInArrow`` function (a closure over plain data: it pickles small)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        return _evaluate_partition(batches, payload, as_of, fx, ids, profile_columns, event_columns, has_seq)

    return run


def _evaluate_partition(
    batches: Iterator[Any],
    payload: str,
    as_of: str,
    fx: Dict[str, str],
    ids: List[str],
    profile_columns: List[str],
    event_columns: List[str],
    has_seq: bool,
) -> Iterator[Any]:
    import warnings

    import pyarrow as pa
    import pyarrow.compute as pc

    reg = _registry_from_payload(payload)
    if reg.ids != ids:  # pragma: no cover - the same wheel compiles the same payload
        raise _kinded(RuntimeError("segcore on this executor compiled different segments (%s vs %s)" % (reg.ids, ids)),
                      "internal")
    context = segcore.Context(as_of, fx=fx or None)
    k = len(ids)
    seg_type = pa.int16() if k < 32768 else pa.int32()
    out_schema = pa.schema([pa.field(_KEY, pa.string()), pa.field(_SEG, seg_type, False),
                            pa.field(_CODE, pa.int8(), False)])

    # The whole partition: every row of its entities is here (hash partitioning by the key).
    received = list(batches)
    if not received or k == 0:
        return
    union = pa.Table.from_batches(received)
    del received
    kind = union.column(_KIND)
    profiles = union.filter(pc.equal(kind, 0))
    n = profiles.num_rows
    if n == 0:
        return
    profiles = pa.Table.from_arrays([profiles.column(_KEY)] + [profiles.column(_P + c) for c in profile_columns],
                                    [_KEY] + profile_columns)
    events = None
    if event_columns:
        rows = union.filter(pc.equal(kind, 1))
        if rows.num_rows:
            if has_seq:
                # The core orders an entity's events by `at`, stably: ties keep this (seq) order.
                rows = rows.take(pc.sort_indices(rows.column(_E + "seq")))
            events = pa.Table.from_arrays([rows.column(_KEY)] + [rows.column(_E + c) for c in event_columns],
                                          ["entity_id"] + event_columns)
    del union
    try:
        with warnings.catch_warnings():
            # Events of entities without a profile are ignored, as documented; not a warning per partition.
            warnings.simplefilter("ignore", UserWarning)
            table = reg.evaluate_batch(profiles, events, context=context, id_column=_KEY, outcome=True)
    except segcore.SegmentError as e:
        if getattr(e, "kind", None) == "duplicate_profile_id":
            counts = pc.value_counts(profiles.column(_KEY))
            repeated = counts.filter(pc.greater(counts.field("counts"), 1))
            if len(repeated):
                raise _kinded(ValueError(
                    "error[duplicate_profile_id]: profile id `%s` appears in %d rows of the profiles frame"
                    % (repeated.field("values")[0].as_py(), repeated.field("counts")[0].as_py())
                ), "duplicate_profile_id") from e
        raise
    keys = profiles.column(_KEY).combine_chunks()
    codes = pa.array(_OUTCOMES)
    # Long form, segment-major, cut into output batches of about _OUTPUT_ROWS rows.
    per_batch = max(1, _OUTPUT_ROWS // n)
    for start in range(0, k, per_batch):
        segs = range(start, min(k, start + per_batch))
        outcomes = pa.concat_arrays([table.column(ids[s]).combine_chunks() for s in segs])
        yield pa.RecordBatch.from_arrays(
            [
                pa.concat_arrays([keys] * len(segs)),
                pa.concat_arrays([pa.repeat(pa.scalar(s, seg_type), n) for s in segs]),
                pc.index_in(outcomes, value_set=codes).cast(pa.int8()),
            ],
            schema=out_schema,
        )
