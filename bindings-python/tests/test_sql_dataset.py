"""Differential test at scale: a generated dataset (100,000 profiles by default, with events)
and a registry of 40+ segments that together use every construct the SQL backend supports.
Member sets and three-valued outcomes must be identical between the interpreter, DuckDB and
PostgreSQL, segment by segment. Also: a currency without an FX quote is an error on every side.

``SEGCORE_SQL_DATASET_PROFILES`` overrides the size (for quick local runs; CI uses the default).
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import segcore
import sql_dataset
import sql_support

duckdb = pytest.importorskip("duckdb", reason="pip install duckdb (the README's test command does)")
psycopg = pytest.importorskip("psycopg", reason="pip install psycopg[binary]")
pytest.importorskip("pyarrow")

N = sql_dataset.SIZE
REPORT = Path(__file__).resolve().parents[2] / "target" / "conformance" / "sql-dataset.json"

Outcomes = Dict[str, Dict[str, str]]  # segment id → entity id → outcome


@pytest.fixture(scope="module")
def data() -> Dict[str, Any]:
    started = time.perf_counter()
    reg = segcore.Registry.from_definitions(sql_dataset.definitions(), schema=sql_dataset.SCHEMA)
    profiles = list(sql_dataset.profiles(N))
    ctx = segcore.Context(sql_dataset.AS_OF, fx=sql_dataset.FX)
    interpreted: Outcomes = collections.defaultdict(dict)
    for p in profiles:
        for sid, outcome in reg.outcomes(p, ctx).items():
            interpreted[sid][p["id"]] = outcome
    queries = {d: reg.to_sql(d, as_of=sql_dataset.AS_OF, fx=sql_dataset.FX) for d in ("duckdb", "postgres")}
    prows, erows = sql_dataset.table_rows(profiles, queries["duckdb"])
    n_events = len(erows)
    print("\ndataset: %d profiles, %d events, %d segments (%.1f s to generate and interpret)"
          % (len(profiles), n_events, len(reg), time.perf_counter() - started))
    return {"registry": reg, "queries": queries, "profiles": prows, "events": erows, "interpreted": interpreted,
            "dicts": profiles, "context": ctx}


def _collect(rows: List[Tuple[Any, ...]]) -> Outcomes:
    out: Outcomes = collections.defaultdict(dict)
    for entity, segment, member, outcome in rows:
        assert member == (outcome == "true"), (entity, segment, member, outcome)
        out[segment][entity] = outcome
    return out


def _compare(engine: str, interpreted: Outcomes, got: Outcomes, seconds: float) -> None:
    lines = ["%-26s %9s %9s %10s" % ("segment", "members", engine, "mismatches")]
    total = 0
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    per_segment = {}
    for sid in sorted(interpreted):
        mine, theirs = interpreted[sid], got.get(sid, {})
        bad = [e for e in set(mine) | set(theirs) if mine.get(e) != theirs.get(e)]
        total += len(bad)
        members = sum(1 for o in mine.values() if o == "true")
        their_members = sum(1 for o in theirs.values() if o == "true")
        per_segment[sid] = {"members": members, engine: their_members, "mismatches": len(bad),
                            "unknown": sum(1 for o in mine.values() if o == "unknown")}
        lines.append("%-26s %9d %9d %10d%s" % (sid, members, their_members, len(bad),
                                               "" if not bad else "  e.g. %s: %s vs %s" % (
                                                   sorted(bad)[0], mine.get(sorted(bad)[0]), theirs.get(sorted(bad)[0]))))
    print("\n%s: %d segments × %d profiles in %.1f s, %d mismatches" % (engine, len(interpreted), N, seconds, total))
    print("\n".join(lines))
    report[engine] = {"profiles": N, "seconds": round(seconds, 2), "mismatches": total, "segments": per_segment}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1))
    assert total == 0, "%d outcomes differ between the interpreter and %s" % (total, engine)


def _fingerprints_match(engine: str, interpreted: Outcomes, run: Any, membership_sql: str, dialect: str,
                        table: str = "membership") -> None:
    """SPEC §24: the fingerprint of every segment's members, computed by the engine from the
    generated query and from a stored membership table, equals the core's over the interpreter's
    members — text for text."""
    want = {sid: str(segcore.fingerprint([e for e, o in outs.items() if o == "true"])) for sid, outs in interpreted.items()}
    started = time.perf_counter()
    got = dict(run(segcore.fingerprint_sql(dialect, membership_sql=membership_sql)))
    seconds = time.perf_counter() - started
    assert got == want, "%s fingerprints differ for %s" % (engine, sorted(k for k in want if got.get(k) != want[k]))
    # The table route, one segment, with another key; and an empty selection.
    sid = max(want, key=lambda k: sum(o == "true" for o in interpreted[k].values()))
    members = [e for e, o in interpreted[sid].items() if o == "true"]
    for key in (None, "crm-2026"):
        sql = segcore.fingerprint_sql(dialect, table=table, id_column="entity_id",
                                      filter="member AND segment_id = '%s'" % sid, key=key)
        assert run(sql) == [(str(segcore.fingerprint(members, key=key)),)], (engine, key)
    empty = segcore.fingerprint_sql(dialect, table=table, id_column="entity_id", filter="1 = 0")
    assert run(empty) == [(str(segcore.fingerprint([])),)]
    print("%s: fingerprints of %d segments identical to the core's (%.2f s)" % (engine, len(want), seconds))


def test_dataset_uses_many_constructs(data: Dict[str, Any]) -> None:
    interpreted = data["interpreted"]
    assert len(interpreted) >= 30
    # Every segment has members and non-members, so a constant query could not pass.
    one_sided = []
    for sid, outcomes in interpreted.items():
        seen = set(outcomes.values())
        if sid in ("future_launch", "retired_rule"):
            assert seen == {"false"}, sid
        elif "true" not in seen or seen == {"true"}:
            one_sided.append((sid, sorted(seen)))
    assert not one_sided


def test_columnar_engine_member_sets_identical(data: Dict[str, Any]) -> None:
    """The same profiles as Arrow frames (attributes as columns, money as structs, events in long
    form with RFC 3339 text times) through ``evaluate_batch``, i.e. the core's columnar engine."""
    import pyarrow as pa

    def table(rows: List[Dict[str, Any]]) -> Any:
        # Every key of every row (from_pylist would take the first row's keys only).
        keys = sorted({k for r in rows for k in r})
        return pa.table({k: [r.get(k) for r in rows] for k in keys})

    dicts = data["dicts"]
    profiles = table([{"id": p["id"], **p["attributes"]} for p in dicts])
    events = table([{"entity_id": p["id"], "name": e["name"], "at": e["at"], **e["properties"]}
                    for p in dicts for e in p["events"]])
    started = time.perf_counter()
    frame = data["registry"].evaluate_batch(profiles, events, context=data["context"], outcome=True)
    seconds = time.perf_counter() - started
    ids = profiles.column("id").to_pylist()
    got: Outcomes = {sid: dict(zip(ids, frame.column(sid).to_pylist())) for sid in frame.column_names}
    _compare("columnar", data["interpreted"], got, seconds)


def test_duckdb_member_sets_identical(data: Dict[str, Any]) -> None:
    q = data["queries"]["duckdb"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql_dataset.load_duckdb(con, q, data["profiles"], data["events"])
    started = time.perf_counter()
    con.execute("CREATE TABLE membership AS " + q.sql)
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT entity_id, segment_id, member, outcome FROM membership").fetchall()
    _compare("duckdb", data["interpreted"], _collect(rows), seconds)
    _fingerprints_match("duckdb", data["interpreted"], lambda sql: con.execute(sql).fetchall(), q.sql, "duckdb")


def test_postgres_member_sets_identical(data: Dict[str, Any], pg: Any) -> None:
    q = data["queries"]["postgres"]
    cur = pg.cursor()
    sql_dataset.load_postgres(cur, q, data["profiles"], data["events"])
    started = time.perf_counter()
    cur.execute("DROP TABLE IF EXISTS membership; CREATE TEMP TABLE membership AS " + q.sql)
    seconds = time.perf_counter() - started
    rows = cur.execute("SELECT entity_id, segment_id, member, outcome FROM membership").fetchall()
    _compare("postgres", data["interpreted"], _collect(rows), seconds)
    _fingerprints_match("postgres", data["interpreted"], lambda sql: cur.execute(sql).fetchall(), q.sql, "postgres")


def test_missing_fx_rate_is_an_error_everywhere(pg: Any) -> None:
    reg = segcore.Registry.from_definitions(
        [{"id": "big_spender", "version": "1.0.0", "rule": "sum(purchase.amount) > 500 USD"}], schema=sql_dataset.SCHEMA
    )
    profile = {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T00:00:00Z",
                                       "properties": {"amount": {"amount": "90000", "currency": "JPY"}}}]}
    fx = {"EUR/USD": "1.08"}
    with pytest.raises(segcore.EvaluationError) as e:
        reg.outcomes(profile, as_of=sql_dataset.AS_OF, fx=fx)
    assert e.value.kind == "fx_rate_missing"
    for dialect in ("duckdb", "postgres"):
        q = reg.to_sql(dialect, as_of=sql_dataset.AS_OF, fx=fx)
        prow, erows = sql_support.rows(profile, q)
        if dialect == "duckdb":
            con = duckdb.connect()
            con.execute(q.ddl)
            con.execute("INSERT INTO profiles VALUES (%s)" % ", ".join("?" * len(prow)), prow)
            con.executemany("INSERT INTO events VALUES (%s)" % ", ".join("?" * len(q.event_columns)), erows)
            with pytest.raises(duckdb.Error, match="fx_rate_missing.*JPY"):
                con.execute(q.sql).fetchall()
        else:
            cur = pg.cursor()
            cur.execute("DROP TABLE IF EXISTS profiles; DROP TABLE IF EXISTS events;")
            cur.execute(q.ddl)
            cur.execute("INSERT INTO profiles VALUES (%s)" % ", ".join(["%s"] * len(prow)), prow)
            cur.executemany("INSERT INTO events VALUES (%s)" % ", ".join(["%s"] * len(q.event_columns)), erows)
            with pytest.raises(psycopg.Error, match="fx_rate_missing.*JPY"):
                cur.execute(q.sql).fetchall()
