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
1. The events (only the event names read) are grouped by entity in the JVM:
   ``groupBy(entity_id).agg(collect_list(struct(name, at, <properties>)))``, one row per entity
   with its events as an array (sorted by ``seq`` when there is one).
2. That is left-joined to the profiles on the id (profiles without events keep an empty list).
3. ``mapInArrow`` hands the joined rows to Python in Arrow record batches of
   ``spark.sql.execution.arrow.maxRecordsPerBatch`` profiles. Per batch the event lists are
   flattened back to the long form with Arrow compute (no Python object per row) and the whole
   batch is evaluated by one ``Registry.evaluate_batch`` call, which reads the Arrow buffers
   in Rust and evaluates on all cores without the GIL. The registry is compiled once per
   Python worker (cached by the definitions' content).

A cogroup (``profiles.groupBy(id).cogroup(events.groupBy(entity_id)).applyInArrow(...)`` or
``applyInPandas``) would be just as correct, but Spark calls the Python function once per
entity with two tiny Arrow tables: the per-call and per-group serialization overhead dominates
and the Rust core never sees a batch to parallelize over. ``groupBy(...).applyInArrow`` over a
union has the same problem. The aggregate + join + ``mapInArrow`` plan keeps grouping in the
JVM (where Spark is fast) and crosses into Python once per 10,000 profiles.

Memory: one joined row holds all the (read) events of an entity; the core refuses profiles with
more than 100,000 events anyway.

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

_ID = "__segcore_id"
_EVENTS = "__segcore_events"
# How many profiles rows share this row's id: more than one is duplicate_profile_id (SPEC §19).
_ROWS = "__segcore_rows"
# Output batches are cut at about this many rows (segments × profiles of an input batch).
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
    definitions: List[Any] = [original[i].definition for i in original.ids]
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
    for sid in original.ids:
        if compiled[sid].definition_hash != original[sid].definition_hash:  # pragma: no cover
            raise _kinded(ValueError("segment %r does not recompile to the same definition" % sid), "internal")
    return payload, compiled


def _read_set(reg: "segcore.Registry") -> Tuple[List[str], Dict[str, List[str]]]:
    """Attributes and {event name: properties} read by some segment of the registry."""
    attrs: set = set()
    events: Dict[str, set] = {}
    for sid in reg.ids:
        rs = reg[sid].read_set
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
        return F.col("`%s`" % columns[name]).alias(name)
    amount, currency = name + "_amount", name + "_currency"
    if amount in columns and currency in columns:
        a, c = F.col("`%s`" % amount), F.col("`%s`" % currency)
        return F.when(a.isNotNull(), F.struct(a.alias("amount"), c.alias("currency"))).alias(name)
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

    pcols = _column_lookup(profiles_df.columns)
    if id_column not in pcols:
        raise _kinded(ValueError(
            "the profiles frame has no `%s` column (pass id_column=...); it has %s" % (id_column, profiles_df.columns)
        ), "invalid_profile")
    selected = [F.col("`%s`" % id_column).cast("string").alias(_ID)]
    for name in attributes:
        if name == id_column:
            continue
        c = _value_column(F, pcols, name, "profiles")
        if c is not None:
            selected.append(c)
    # Counted with the rows themselves (a window over the id), so a repeated id fails the job that
    # computes membership — in whichever partitions its rows land — instead of a separate pass.
    from pyspark.sql import Window

    joined = profiles_df.select(*selected).withColumn(_ROWS, F.count(F.lit(1)).over(Window.partitionBy(_ID)))

    has_events = False
    if events_df is not None and events_read:
        ecols = _column_lookup(events_df.columns)
        missing = [c for c in ("entity_id", "name", "at") if c not in ecols]
        if missing:
            raise _kinded(ValueError(
                "the events frame needs the columns entity_id, name, at (missing %s); it has %s"
                % (", ".join(missing), events_df.columns)
            ), "invalid_profile")
        props = sorted({p for ps in events_read.values() for p in ps} - {"entity_id", "name", "at", "seq"})
        fields = [F.col("name").alias("name"), F.col("at").alias("at")]
        for p in props:
            c = _value_column(F, ecols, p, "events")
            if c is not None:
                fields.append(c)
        has_seq = "seq" in ecols
        if has_seq:
            fields.append(F.col("seq").alias("seq"))
        grouped = (
            events_df.where(F.col("name").isin(list(events_read)))
            .select(F.col("entity_id").cast("string").alias("__segcore_entity"), F.struct(*fields).alias("e"))
            .groupBy("__segcore_entity")
            .agg(F.collect_list("e").alias(_EVENTS))
        )
        if has_seq:
            # Ties on `at` keep the `seq` order (the core sorts by `at`, stably).
            grouped = grouped.withColumn(
                _EVENTS,
                F.array_sort(
                    F.col(_EVENTS),
                    lambda l, r: F.when(l["seq"] < r["seq"], -1).when(l["seq"] > r["seq"], 1).otherwise(0),
                ),
            )
        joined = joined.join(grouped, joined[_ID] == grouped["__segcore_entity"], "left").drop("__segcore_entity")
        has_events = True

    ids = reg.ids
    versions = [reg[i].version for i in ids]
    hashes = [reg[i].definition_hash for i in ids]
    out_fields = [
        T.StructField("entity_id", T.StringType(), True),
        T.StructField("segment_id", T.StringType(), False),
        T.StructField("version", T.StringType(), False),
        T.StructField("definition_hash", T.StringType(), False),
        T.StructField("member", T.BooleanType(), False),
    ]
    if outcome:
        out_fields.append(T.StructField("outcome", T.StringType(), False))

    fn = _batch_function(payload, as_of_text, fx_quotes, ids, versions, hashes, has_events, outcome)
    result = joined.mapInArrow(fn, T.StructType(out_fields))
    columns = [
        F.col("entity_id"),
        F.col("segment_id"),
        F.col("version"),
        F.col("definition_hash"),
        F.lit(_as_of_datetime(as_of_text)).cast("timestamp").alias("as_of"),
        F.col("member"),
    ]
    if outcome:
        columns.append(F.col("outcome"))
    return result.select(*columns)


# ---------------------------------------------------------------------------------------------
# Executor side


def _batch_function(
    payload: str,
    as_of: str,
    fx: Dict[str, str],
    ids: List[str],
    versions: List[str],
    hashes: List[str],
    has_events: bool,
    outcome: bool,
) -> Any:
    """The ``mapInArrow`` function (a closure over plain data: it pickles small)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        return _evaluate_batches(batches, payload, as_of, fx, ids, versions, hashes, has_events, outcome)

    return run


def _evaluate_batches(
    batches: Iterator[Any],
    payload: str,
    as_of: str,
    fx: Dict[str, str],
    ids: List[str],
    versions: List[str],
    hashes: List[str],
    has_events: bool,
    outcome: bool,
) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    reg = _registry_from_payload(payload)
    if reg.ids != ids:  # pragma: no cover - the same wheel compiles the same payload
        raise _kinded(RuntimeError("segcore on this executor compiled different segments (%s vs %s)" % (reg.ids, ids)),
                      "internal")
    context = segcore.Context(as_of, fx=fx or None)
    k = len(ids)
    fields = [
        pa.field("entity_id", pa.string()),
        pa.field("segment_id", pa.string(), False),
        pa.field("version", pa.string(), False),
        pa.field("definition_hash", pa.string(), False),
        pa.field("member", pa.bool_(), False),
    ]
    if outcome:
        fields.append(pa.field("outcome", pa.string(), False))
    out_schema = pa.schema(fields)

    for batch in batches:
        n = batch.num_rows
        if n == 0 or k == 0:
            continue
        names = batch.schema.names
        entity_ids = batch.column(names.index(_ID))
        rows = batch.column(names.index(_ROWS))
        if pc.max(rows).as_py() > 1:
            at = pc.index(pc.greater(rows, 1), True).as_py()
            raise _kinded(ValueError(
                "error[duplicate_profile_id]: profile id `%s` appears in %d rows of the profiles frame"
                % (entity_ids[at].as_py(), rows[at].as_py())
            ), "duplicate_profile_id")
        keep = [i for i, name in enumerate(names) if name not in (_EVENTS, _ROWS)]
        profiles = pa.Table.from_arrays([batch.column(i) for i in keep], [names[i] for i in keep])
        events = None
        if has_events:
            # Back to the long form: one row per event, its entity's id alongside.
            lists = batch.column(names.index(_EVENTS))
            flat = pc.list_flatten(lists)
            if len(flat):
                parents = pc.list_parent_indices(lists)
                struct_type = flat.type
                events = pa.Table.from_arrays(
                    [pc.take(entity_ids, parents)] + [flat.field(i) for i in range(struct_type.num_fields)],
                    ["entity_id"] + [struct_type.field(i).name for i in range(struct_type.num_fields)],
                )
        # One call per batch: Arrow buffers are read in Rust, evaluated on all cores.
        table = reg.evaluate_batch(profiles, events, context=context, id_column=_ID, outcome=True)
        if not pa.types.is_string(entity_ids.type):
            entity_ids = entity_ids.cast(pa.string())
        # Long form, segment-major, cut into output batches of about _OUTPUT_ROWS rows.
        per_batch = max(1, _OUTPUT_ROWS // n)
        for start in range(0, k, per_batch):
            segs = range(start, min(k, start + per_batch))
            outcomes = pa.concat_arrays([table.column(ids[s]).combine_chunks() for s in segs])
            arrays = [
                pa.concat_arrays([entity_ids] * len(segs)),
                pa.concat_arrays([pa.repeat(pa.scalar(ids[s], pa.string()), n) for s in segs]),
                pa.concat_arrays([pa.repeat(pa.scalar(versions[s], pa.string()), n) for s in segs]),
                pa.concat_arrays([pa.repeat(pa.scalar(hashes[s], pa.string()), n) for s in segs]),
                pc.equal(outcomes, "true"),
            ]
            if outcome:
                arrays.append(outcomes)
            yield pa.RecordBatch.from_arrays(arrays, schema=out_schema)
