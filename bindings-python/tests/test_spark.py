"""PySpark (local mode): ``segcore.spark.evaluate`` runs the Rust core on the executors, and the
generated Spark SQL (``Registry.to_sql("spark", ...)``) runs on Spark's engine. Both must give the
interpreter's three-valued outcome for every (profile, segment) of a generated dataset (all
segments of ``sql_dataset``), and a currency without an FX quote must be an error.

Needs ``pip install pyspark==4.3.0 pyarrow "pandas<3"`` and Java 17/21 (see ``spark_env.py``;
JAVA_HOME, PYSPARK_PYTHON and SPARK_LOCAL_IP are set here, so a fresh shell works). Without
them the module is skipped with the reason; with ``SEGCORE_REQUIRE_SPARK=1`` (CI) it fails.
``SEGCORE_SPARK_PROFILES`` overrides the dataset size (default 2,000).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import decimal
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import segcore
import spark_env
import sql_dataset
import sql_support

_UNAVAILABLE = spark_env.configure()
if _UNAVAILABLE is not None:
    if spark_env.required():
        raise RuntimeError("SEGCORE_REQUIRE_SPARK is set but Spark cannot run: " + _UNAVAILABLE)
    pytest.skip("Spark tests skipped: " + _UNAVAILABLE, allow_module_level=True)


from pyspark.errors import PythonException  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

import segcore.spark  # noqa: E402

N = int(os.environ.get("SEGCORE_SPARK_PROFILES", "2000"))
AS_OF_UTC = dt.datetime(2026, 3, 30, 9, 30, tzinfo=dt.timezone.utc)

# Segments left out of the generated-SQL comparison, with the reason. Keep empty unless a Spark
# SQL problem is reported and awaiting a fix in core/src/sql (name the issue here).
SQL_EXCLUDED: Dict[str, str] = {}

SPARK_TYPES = {
    "bool": T.BooleanType(),
    "int": T.LongType(),
    "duration": T.LongType(),
    "float": T.DoubleType(),
    "decimal": T.DecimalType(38, 18),
    "string": T.StringType(),
    "timestamp": T.TimestampType(),
    "date": T.DateType(),
}
Outcomes = Dict[str, Dict[str, str]]  # segment id → entity id → outcome


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    started = time.perf_counter()
    session = spark_env.session("segcore-test-spark")
    print("\nSpark %s session (local[2]) started in %.1f s" % (session.version, time.perf_counter() - started))
    yield session
    spark_env.stop(session)


@contextlib.contextmanager
def expected_task_failure(spark: Any) -> Iterator[None]:
    """Silences Spark's logs (executor errors in the JVM, PySpark's query-context loggers) while a
    query is expected to fail: the exception still reaches the caller, with its message."""
    from pyspark.logger import PySparkLogger

    loggers = [PySparkLogger.getLogger(n) for n in ("SQLQueryContextLogger", "DataFrameQueryContextLogger")]
    spark.sparkContext.setLogLevel("OFF")
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        spark.sparkContext.setLogLevel("ERROR")
        for logger in loggers:
            logger.disabled = False


def spark_schema(columns: List[Tuple[str, str, str]]) -> T.StructType:
    """A Spark schema from a query's (name, segcore type, SQL type) columns."""
    fields = []
    for name, ty, sql_type in columns:
        if ty not in SPARK_TYPES:
            raise AssertionError("no Spark type for column %s %s (%s)" % (name, ty, sql_type))
        fields.append(T.StructField(name, SPARK_TYPES[ty], True))
    return T.StructType(fields)


def frame(spark: Any, columns: List[Tuple[str, str, str]], rows: List[List[Any]]) -> Any:
    """A Spark DataFrame of typed rows (aware UTC datetimes, Decimals, dates), through Arrow."""
    table = sql_support.arrow_table(columns, rows)
    df = spark.createDataFrame(table, schema=spark_schema(columns))
    assert [f.dataType for f in df.schema.fields] == [f.dataType for f in spark_schema(columns).fields]
    return df


@pytest.fixture(scope="module")
def data(spark: Any) -> Dict[str, Any]:
    started = time.perf_counter()
    reg = segcore.Registry.from_definitions(sql_dataset.definitions(), schema=sql_dataset.SCHEMA)
    profiles = list(sql_dataset.profiles(N))
    ctx = segcore.Context(sql_dataset.AS_OF, fx=sql_dataset.FX)
    interpreted: Outcomes = collections.defaultdict(dict)
    for p in profiles:
        for sid, outcome in reg.outcomes(p, ctx).items():
            interpreted[sid][p["id"]] = outcome
    query = reg.to_sql("spark", as_of=sql_dataset.AS_OF, fx=sql_dataset.FX)
    prows, erows = [], []
    for p in profiles:
        a, b = sql_support.rows(p, query)
        prows.append(a)
        erows.extend(b)
    profiles_df = frame(spark, query.profile_columns, prows).cache()
    events_df = frame(spark, query.event_columns, erows).cache()
    assert profiles_df.count() == len(prows) and events_df.count() == len(erows)
    print("dataset: %d profiles, %d events, %d segments (%.1f s to generate, interpret and load)"
          % (len(profiles), len(erows), len(reg), time.perf_counter() - started))
    return {"registry": reg, "query": query, "profiles": profiles_df, "events": events_df,
            "interpreted": interpreted}


# ---------------------------------------------------------------------------------------------
# Comparison


def collect(df: Any) -> Tuple[Outcomes, Dict[str, Any]]:
    """Outcomes by segment and entity from a membership DataFrame, checking its invariants.

    Only (entity, segment, outcome) come to the driver; the per-segment columns and the
    member/outcome agreement are checked by Spark, so 100,000 profiles × 47 segments fit a 2 GB
    driver."""
    from pyspark.sql import functions as F

    assert df.where(F.col("member") != (F.col("outcome") == "true")).count() == 0, "member disagrees with outcome"
    meta: Dict[str, Any] = {}
    # Through Arrow: the timestamps come back aware (collect() would give naive local times).
    for row in df.select("segment_id", "version", "definition_hash", "as_of").distinct().toArrow().to_pylist():
        assert row["segment_id"] not in meta, "two versions/hashes/as_of for %s" % row["segment_id"]
        meta[row["segment_id"]] = (row["version"], row["definition_hash"], row["as_of"])
    table = df.select("entity_id", "segment_id", "outcome").toArrow()
    out: Outcomes = collections.defaultdict(dict)
    for entity, sid, outcome in zip(*(table.column(c).to_pylist() for c in ("entity_id", "segment_id", "outcome"))):
        assert entity not in out[sid], "duplicate row for (%s, %s)" % (entity, sid)
        out[sid][entity] = outcome
    return out, meta


def compare(engine: str, interpreted: Outcomes, got: Outcomes, seconds: float,
            excluded: Dict[str, str] = {}) -> List[str]:
    """Prints a per-segment report; returns the segments whose outcomes differ."""
    lines = ["%-26s %8s %8s %8s %10s" % ("segment", "members", engine[:8], "unknown", "mismatches")]
    bad_segments, total = [], 0
    for sid in sorted(interpreted):
        if sid in excluded:
            lines.append("%-26s excluded: %s" % (sid, excluded[sid]))
            continue
        mine, theirs = interpreted[sid], got.get(sid, {})
        bad = sorted(e for e in set(mine) | set(theirs) if mine.get(e) != theirs.get(e))
        total += len(bad)
        line = "%-26s %8d %8d %8d %10d" % (
            sid, sum(o == "true" for o in mine.values()), sum(o == "true" for o in theirs.values()),
            sum(o == "unknown" for o in mine.values()), len(bad))
        if bad:
            bad_segments.append(sid)
            line += "  e.g. %s" % ", ".join("%s: interpreter %s, %s %s" % (e, mine.get(e), engine, theirs.get(e))
                                            for e in bad[:3])
        lines.append(line)
    print("\n%s: %d segments x %d profiles in %.1f s, %d mismatches" % (engine, len(interpreted), N, seconds, total))
    print("\n".join(lines))
    # For the conformance matrix (scripts/conformance_matrix.py), beside DuckDB and PostgreSQL.
    report_path = Path(__file__).resolve().parents[2] / "target" / "conformance" / "sql-dataset.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    report[engine] = {"profiles": N, "seconds": round(seconds, 2), "mismatches": total,
                      "segments": {sid: {"excluded": excluded[sid]} if sid in excluded else {} for sid in interpreted}}
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1))
    return bad_segments


# ---------------------------------------------------------------------------------------------
# (a) segcore.spark.evaluate


def test_evaluate_matches_interpreter(spark: Any, data: Dict[str, Any]) -> None:
    reg = data["registry"]
    # A Registry carries its schema: the executors recompile with it, no schema= needed.
    out = segcore.spark.evaluate(data["profiles"], data["events"], reg, sql_dataset.AS_OF, fx=sql_dataset.FX,
                                 outcome=True)
    assert out.columns == list(segcore.spark.OUTPUT_COLUMNS) + ["outcome"]
    started = time.perf_counter()
    got, meta = collect(out)
    seconds = time.perf_counter() - started
    print("\nsegcore.spark.evaluate: %d profiles in %.2f s (%.0f profiles/s, first run)" % (N, seconds, N / seconds))
    for sid in reg.ids:
        version, definition_hash, as_of = meta[sid]
        assert (version, definition_hash) == (reg[sid].version, reg[sid].definition_hash), sid
        assert as_of == AS_OF_UTC, as_of
    bad = compare("spark.evaluate", data["interpreted"], got, seconds)
    assert not bad, "segcore.spark.evaluate differs from the interpreter for %s" % bad
    # Without outcome=True: the same members, no outcome column.
    members = segcore.spark.evaluate(data["profiles"], data["events"], reg, AS_OF_UTC, fx=sql_dataset.FX,
                                     schema=sql_dataset.SCHEMA)
    assert members.columns == list(segcore.spark.OUTPUT_COLUMNS)
    started = time.perf_counter()
    n_members = members.where("member").count()
    print("segcore.spark.evaluate again (warm): %.2f s" % (time.perf_counter() - started))
    assert n_members == sum(o == "true" for outs in data["interpreted"].values() for o in outs.values())


def test_evaluate_other_layouts_and_definitions(spark: Any) -> None:
    """Money as structs, integer ids, events without `seq`, definitions given as a list."""
    defs = [
        {"id": "rich", "version": "1.0.0", "rule": "wallet > 100 EUR", "currency": "EUR"},
        {"id": "spender", "version": "1.0.0", "rule": "sum(purchase.amount within 90d) > 500 USD"},
        {"id": "rich_spender", "version": "1.0.0", "rule": 'in_segment("rich") and in_segment("spender")'},
        {"id": "night", "version": "2.1.0", "rule": "hour(last_seen) < 6", "timezone": "Europe/Berlin"},
    ]
    money = T.StructType([T.StructField("amount", T.DecimalType(38, 18)), T.StructField("currency", T.StringType())])
    profiles_df = spark.createDataFrame(
        [(1, {"amount": decimal.Decimal("95"), "currency": "USD"}, dt.datetime(2026, 3, 29, 3, 0, tzinfo=dt.timezone.utc)),
         (2, {"amount": decimal.Decimal("250"), "currency": "GBP"}, dt.datetime(2026, 3, 29, 23, 0, tzinfo=dt.timezone.utc)),
         (3, None, None)],
        T.StructType([T.StructField("user_id", T.LongType()), T.StructField("wallet", money),
                      T.StructField("last_seen", T.TimestampType())]))
    events_df = spark.createDataFrame(
        [(2, "purchase", dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), {"amount": decimal.Decimal("450"), "currency": "EUR"}),
         (2, "purchase", dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), {"amount": decimal.Decimal("900"), "currency": "USD"}),
         (3, "purchase", dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc), {"amount": decimal.Decimal("501"), "currency": "USD"}),
         (9, "purchase", dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc), {"amount": decimal.Decimal("501"), "currency": "USD"}),
         (1, "login", dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc), None)],
        T.StructType([T.StructField("entity_id", T.LongType()), T.StructField("name", T.StringType()),
                      T.StructField("at", T.TimestampType()), T.StructField("amount", money)]))
    out = segcore.spark.evaluate(profiles_df, events_df, defs, "2026-03-30T11:30:00+02:00", fx=sql_dataset.FX,
                                 id_column="user_id", outcome=True, schema=sql_dataset.SCHEMA)
    got, meta = collect(out)
    reg = segcore.Registry.from_definitions(defs, schema=sql_dataset.SCHEMA)
    dicts = [
        {"id": "1", "attributes": {"wallet": {"amount": "95", "currency": "USD"}, "last_seen": "2026-03-29T03:00:00Z"},
         "events": [{"name": "login", "at": "2026-03-02T00:00:00Z"}]},
        {"id": "2", "attributes": {"wallet": {"amount": "250", "currency": "GBP"}, "last_seen": "2026-03-29T23:00:00Z"},
         "events": [{"name": "purchase", "at": "2026-03-01T00:00:00Z", "properties": {"amount": {"amount": "450", "currency": "EUR"}}},
                    {"name": "purchase", "at": "2025-01-01T00:00:00Z", "properties": {"amount": {"amount": "900", "currency": "USD"}}}]},
        {"id": "3", "attributes": {},
         "events": [{"name": "purchase", "at": "2026-03-02T00:00:00Z", "properties": {"amount": {"amount": "501", "currency": "USD"}}}]},
    ]
    expected: Outcomes = collections.defaultdict(dict)
    for p in dicts:
        for sid, o in reg.outcomes(p, as_of=sql_dataset.AS_OF, fx=sql_dataset.FX).items():
            expected[sid][p["id"]] = o
    assert got == expected
    assert meta["night"][0] == "2.1.0"
    # The interesting values are really exercised.
    assert expected["spender"] == {"1": "false", "2": "false", "3": "true"}
    assert expected["rich"]["2"] == "true" and expected["rich"]["3"] == "unknown"


def test_evaluate_argument_errors(spark: Any, data: Dict[str, Any]) -> None:
    reg = data["registry"]
    # Every error carries the `kind` every segcore error has (SPEC §18).
    with pytest.raises(ValueError, match="as_of is required") as e:
        segcore.spark.evaluate(data["profiles"], data["events"], reg, None)
    assert e.value.kind == "invalid_context"
    with pytest.raises(ValueError, match="naive datetime") as e:
        segcore.spark.evaluate(data["profiles"], data["events"], reg, dt.datetime(2026, 3, 30))
    assert e.value.kind == "invalid_context"
    with pytest.raises(ValueError, match="no `user_id` column") as e:
        segcore.spark.evaluate(data["profiles"], data["events"], reg, sql_dataset.AS_OF, id_column="user_id")
    assert e.value.kind == "invalid_profile"
    with pytest.raises(ValueError, match="needs the columns entity_id, name, at") as e:
        segcore.spark.evaluate(data["profiles"], data["events"].drop("at"), reg, sql_dataset.AS_OF)
    assert e.value.kind == "invalid_profile"
    with pytest.raises(TypeError, match="segcore.Registry or a list of definitions") as e:
        segcore.spark.evaluate(data["profiles"], data["events"], "adults", sql_dataset.AS_OF)
    assert e.value.kind == "invalid_definition"
    with pytest.raises(TypeError, match="pyspark.sql.DataFrame") as e:
        segcore.spark.evaluate([], None, reg, sql_dataset.AS_OF)
    assert e.value.kind == "invalid_profile"
    for bad in (0, -3, True, 2.5, "4"):
        with pytest.raises(ValueError, match="partitions must be a positive integer") as e:
            segcore.spark.evaluate(data["profiles"], data["events"], reg, sql_dataset.AS_OF, partitions=bad)
        assert e.value.kind == "invalid_context"


# ---------------------------------------------------------------------------------------------
# (b) the generated Spark SQL on Spark's engine


def _error_text(e: BaseException, sql: str = "") -> str:
    """Spark's error class and message, and the SQL fragment it points at."""
    get = getattr(e, "getMessage", None)
    message = (get() if callable(get) else None) or str(e)
    lines = [message.splitlines()[0] if message else repr(e)]
    contexts = getattr(e, "getQueryContext", lambda: [])() or []
    for c in contexts[:1]:
        try:
            lines.append("fragment: %s" % c.fragment())
        except Exception:  # noqa: BLE001 - best effort
            pass
    m = re.search(r"line (\d+),? pos(?:ition)? (\d+)", str(e))
    if m and sql:
        line_no, pos = int(m.group(1)), int(m.group(2))
        text = sql.splitlines()[line_no - 1] if 0 < line_no <= len(sql.splitlines()) else ""
        lines.append("at line %d: %s" % (line_no, text[max(0, pos - 200): pos + 300]))
    return "\n".join(lines)


def _fragment(sql: str, sid: str) -> str:
    """The CTE of segment `sid` in a generated query (what to look at when it fails)."""
    m = re.search(r"`seg_%s` AS \(.*?\n\)" % re.escape(sid), sql, re.S)
    return m.group(0) if m else sql[:2000]


def _diagnose(spark: Any, reg: Any, error: BaseException, sql: str) -> str:
    """The whole query failed: find the segments whose own query fails, with Spark's error."""
    report = ["the generated Spark SQL failed: %s" % _error_text(error, sql)]
    for sid in reg.ids:
        try:
            q = reg[sid].to_sql("spark", as_of=sql_dataset.AS_OF, fx=sql_dataset.FX)
        except segcore.SegmentError as e:
            report.append("%s: does not translate alone (%s)" % (sid, e))
            continue
        try:
            with expected_task_failure(spark):
                spark.sql(q.sql).collect()
        except Exception as e:  # noqa: BLE001 - reported
            report.append("---- segment %s fails:\n%s\n-- its SQL:\n%s" % (sid, _error_text(e, q.sql),
                                                                           _fragment(q.sql, sid)))
    return "\n".join(report)


def test_generated_spark_sql_matches_interpreter(spark: Any, data: Dict[str, Any]) -> None:
    reg, query = data["registry"], data["query"]
    data["profiles"].createOrReplaceTempView("profiles")
    data["events"].createOrReplaceTempView("events")
    started = time.perf_counter()
    try:
        with expected_task_failure(spark):
            result = spark.sql(query.sql)
            got, meta = collect(result)
    except Exception as e:  # noqa: BLE001 - diagnosed per segment, then fails
        report = _diagnose(spark, reg, e, query.sql)
        print(report)
        pytest.fail(report)
    seconds = time.perf_counter() - started
    # Same output columns and types as segcore.spark.evaluate.
    ours = segcore.spark.evaluate(data["profiles"], data["events"], reg, sql_dataset.AS_OF, fx=sql_dataset.FX,
                                  outcome=True, schema=sql_dataset.SCHEMA)
    assert [(f.name, f.dataType) for f in result.schema.fields] == [(f.name, f.dataType) for f in ours.schema.fields]
    for sid in reg.ids:
        assert meta[sid][:2] == (reg[sid].version, reg[sid].definition_hash), sid
        assert meta[sid][2] == AS_OF_UTC
    bad = compare("spark-sql", data["interpreted"], got, seconds, SQL_EXCLUDED)
    for sid in bad:
        print("---- segment %s differs; its SQL:\n%s" % (sid, _fragment(query.sql, sid)))
    assert not bad, "the generated Spark SQL differs from the interpreter for %s" % bad
    # SPEC §24: fingerprints computed by Spark SQL over the membership equal the core's.
    result.createOrReplaceTempView("membership")
    got_fp = {r["segment_id"]: r["fingerprint"]
              for r in spark.sql(segcore.fingerprint_sql("spark", membership_sql="SELECT * FROM membership")).collect()}
    for sid, outcomes in data["interpreted"].items():
        if sid in SQL_EXCLUDED:
            continue
        want = str(segcore.fingerprint([e for e, o in outcomes.items() if o == "true"]))
        assert got_fp[sid] == want, sid
    keep = "member" + ("".join(" AND segment_id <> '%s'" % sid for sid in sorted(SQL_EXCLUDED)))
    key_sql = segcore.fingerprint_sql("spark", table="membership", id_column="entity_id", filter=keep, key="crm-2026")
    members = [e for sid, outs in data["interpreted"].items() if sid not in SQL_EXCLUDED
               for e, o in outs.items() if o == "true"]
    # Entity ids repeat across segments: a multiset, which the fingerprint sums all the same.
    assert spark.sql(key_sql).collect()[0]["fingerprint"] == str(segcore.fingerprint(members, key="crm-2026"))


# ---------------------------------------------------------------------------------------------
# (c) a currency without an FX quote


def test_missing_fx_rate_is_an_error(spark: Any) -> None:
    reg = segcore.Registry.from_definitions(
        [{"id": "big_spender", "version": "1.0.0", "rule": "sum(purchase.amount) > 500 USD"}], schema=sql_dataset.SCHEMA
    )
    profile = {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T00:00:00Z",
                                       "properties": {"amount": {"amount": "90000", "currency": "JPY"}}}]}
    fx = {"EUR/USD": "1.08"}
    with pytest.raises(segcore.EvaluationError) as e:
        reg.outcomes(profile, as_of=sql_dataset.AS_OF, fx=fx)
    assert e.value.kind == "fx_rate_missing"
    q = reg.to_sql("spark", as_of=sql_dataset.AS_OF, fx=fx)
    prow, erows = sql_support.rows(profile, q)
    profiles_df = frame(spark, q.profile_columns, [prow])
    events_df = frame(spark, q.event_columns, erows)
    out = segcore.spark.evaluate(profiles_df, events_df, reg, sql_dataset.AS_OF, fx=fx, schema=sql_dataset.SCHEMA)
    with expected_task_failure(spark), pytest.raises(PythonException, match=r"(?s)fx_rate_missing.*JPY/USD"):
        out.collect()
    # With the quote, the same frames evaluate.
    fine = segcore.spark.evaluate(profiles_df, events_df, reg, sql_dataset.AS_OF, fx={"JPY/USD": "0.0067"},
                                  outcome=True, schema=sql_dataset.SCHEMA)
    assert [(r.entity_id, r.outcome) for r in fine.collect()] == [("u1", "true")]
    # The generated Spark SQL fails too.
    profiles_df.createOrReplaceTempView("profiles")
    events_df.createOrReplaceTempView("events")
    with expected_task_failure(spark), pytest.raises(Exception, match=r"(?s)fx_rate_missing.*JPY"):
        spark.sql(q.sql).collect()


def test_duplicate_profile_ids_are_an_error(spark: Any) -> None:
    """Two profiles rows with one id fail the job with duplicate_profile_id (SPEC §19), as
    evaluate_batch and the generated SQL do, even when the rows sit in different partitions."""
    reg = segcore.Registry.from_definitions(
        [{"id": "adult", "version": "1.0.0", "rule": "age >= 18 and count(purchase) >= 1"}], schema=sql_dataset.SCHEMA
    )
    q = reg.to_sql("spark", as_of=sql_dataset.AS_OF)
    event = {"name": "purchase", "at": "2026-03-01T00:00:00Z", "properties": {}}
    rows = [sql_support.rows({"id": i, "attributes": {"age": a}, "events": [event]}, q) for i, a in
            [("u1", 30), ("u2", 40), ("u1", 10)]]
    profiles_df = frame(spark, q.profile_columns, [r[0] for r in rows]).repartition(3)
    events_df = frame(spark, q.event_columns, [e for r in rows[:2] for e in r[1]])
    out = segcore.spark.evaluate(profiles_df, events_df, reg, sql_dataset.AS_OF, schema=sql_dataset.SCHEMA)
    with expected_task_failure(spark), pytest.raises(PythonException, match=r"duplicate_profile_id.*`u1` appears in 2"):
        out.collect()
    # Unique ids evaluate.
    fine = segcore.spark.evaluate(frame(spark, q.profile_columns, [r[0] for r in rows[:2]]), events_df, reg,
                                  sql_dataset.AS_OF, schema=sql_dataset.SCHEMA)
    assert sorted((r.entity_id, r.member) for r in fine.collect()) == [("u1", True), ("u2", True)]
    # The generated Spark SQL fails the same way.
    profiles_df.createOrReplaceTempView("profiles")
    events_df.createOrReplaceTempView("events")
    with expected_task_failure(spark), pytest.raises(Exception, match=r"duplicate_profile_id.*u1"):
        spark.sql(q.sql).collect()


def test_missing_pyspark_is_a_clear_import_error(monkeypatch: Any) -> None:
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ImportError, match="pip install"):
        segcore.spark.evaluate(None, None, [], sql_dataset.AS_OF)


def test_large_decimal_amounts_keep_their_value(spark: Any) -> None:
    reg = segcore.Registry.from_definitions([{"id": "rich", "version": "1.0.0", "rule": "wallet > 10 USD"}],
                                            schema=sql_dataset.SCHEMA)
    profile = {"id": "u1", "attributes": {"wallet": {"amount": "100000000000", "currency": "USD"}}}
    assert reg.outcomes(profile, as_of=sql_dataset.AS_OF) == {"rich": "true"}
    q = reg.to_sql("spark", as_of=sql_dataset.AS_OF)
    prow, _ = sql_support.rows(profile, q)
    out = segcore.spark.evaluate(frame(spark, q.profile_columns, [prow]), None, reg, sql_dataset.AS_OF,
                                 outcome=True, schema=sql_dataset.SCHEMA)
    assert [r.outcome for r in out.collect()] == ["true"]


def test_versions_side_by_side(spark: Any) -> None:
    """SPEC §1: the executors evaluate the version in force at as_of, and rows report it."""
    defs = [
        {"id": "adult", "version": "1.0.0", "rule": "age >= 18"},
        {"id": "adult", "version": "2.0.0", "effective_from": "2026-03-05T00:00:00Z", "rule": "age >= 21"},
        {"id": "adult_gold", "version": "1.0.0", "rule": 'in_segment("adult") and plan = "gold"'},
    ]
    schema = {"attributes": {"age": "int", "plan": "string"}}
    profiles_df = spark.createDataFrame([("a", 19, "gold"), ("b", 30, "gold")], "id string, age long, plan string")
    reg = segcore.Registry.from_definitions(defs, schema=schema)
    for as_of, version, adults in (("2026-03-04T23:59:59Z", "1.0.0", {"a": "true", "b": "true"}),
                                   ("2026-03-05T00:00:00Z", "2.0.0", {"a": "false", "b": "true"})):
        got, meta = collect(segcore.spark.evaluate(profiles_df, None, defs, as_of, outcome=True, schema=schema))
        assert got["adult"] == adults, as_of
        assert got["adult_gold"] == adults, as_of
        assert meta["adult"][0] == version
        assert meta["adult"][1] == reg.segment_at("adult", as_of).definition_hash
