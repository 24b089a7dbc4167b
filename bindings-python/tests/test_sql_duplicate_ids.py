"""Two profiles rows with one id: the generated SQL fails with duplicate_profile_id (SPEC §19),
as the interpreter routes do, instead of attaching the events to both rows."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest

import segcore
from test_sql_conformance import duckdb, psycopg

AS_OF = "2026-03-15T00:00:00Z"
SCHEMA = {"attributes": {"age": "int"}, "events": {"purchase": {"amount": "int"}}}
RULE = "age >= 18 and count(purchase within 30d) >= 1"


def _query(dialect: str) -> Any:
    reg = segcore.Registry.from_definitions([{"id": "adult", "version": "1.0.0", "rule": RULE}], schema=SCHEMA)
    return reg.to_sql(dialect, as_of=AS_OF)


def _rows(ids: List[Tuple[str, int]]) -> Tuple[List[Tuple[str, int]], List[Tuple[Any, ...]]]:
    # The events table holds entity_id, seq, name, at (the rule reads no property).
    events = [("u1", 0, "purchase", "2026-03-10T00:00:00+00:00")]
    return ids, events


def _members(rows: List[Tuple[Any, ...]]) -> List[Tuple[str, bool]]:
    return sorted((r[0], r[5]) for r in rows)


@pytest.mark.parametrize("ids,expected", [
    ([("u1", 30), ("u2", 40)], [("u1", True), ("u2", False)]),
    ([("u1", 30), ("u1", 10)], "duplicate_profile_id"),
])
def test_duckdb(ids: List[Tuple[str, int]], expected: Any) -> None:
    q = _query("duckdb")
    con = duckdb.connect()
    con.execute(q.ddl)
    profiles, events = _rows(ids)
    con.executemany("INSERT INTO profiles VALUES (?, ?)", profiles)
    assert [c[0] for c in q.event_columns] == ["entity_id", "seq", "name", "at"]
    con.executemany("INSERT INTO events VALUES (?, ?, ?, CAST(? AS TIMESTAMPTZ))", events)
    if isinstance(expected, str):
        with pytest.raises(duckdb.Error, match="segcore duplicate_profile_id: two profiles have the id u1"):
            con.execute(q.sql).fetchall()
    else:
        assert _members(con.execute(q.sql).fetchall()) == expected


@pytest.mark.parametrize("ids,expected", [
    ([("u1", 30), ("u2", 40)], [("u1", True), ("u2", False)]),
    ([("u1", 30), ("u1", 10)], "duplicate_profile_id"),
])
def test_postgres(ids: List[Tuple[str, int]], expected: Any, pg: Any) -> None:
    q = _query("postgres")
    profiles, events = _rows(ids)
    with pg.transaction():
        cur = pg.cursor()
        cur.execute("DROP TABLE IF EXISTS profiles, events")
        cur.execute(q.ddl)
        cur.executemany("INSERT INTO profiles VALUES (%s, %s)", profiles)
        cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s)", events)
        if isinstance(expected, str):
            with pytest.raises(psycopg.Error, match="segcore duplicate_profile_id: two profiles have the id u1"):
                with pg.transaction():
                    cur.execute(q.sql).fetchall()
        else:
            assert _members(cur.execute(q.sql).fetchall()) == expected
        cur.execute("DROP TABLE profiles, events")


def test_the_interpreter_refuses_the_same_rows() -> None:
    """The same two rows through evaluate_batch: the same error kind as the SQL route."""
    pa = pytest.importorskip("pyarrow")
    reg = segcore.Registry.from_definitions([{"id": "adult", "version": "1.0.0", "rule": RULE}], schema=SCHEMA)
    profiles = pa.table({"id": ["u1", "u1"], "age": [30, 10]})
    with pytest.raises(segcore.SegmentError) as info:
        reg.evaluate_batch(profiles, as_of=AS_OF)
    assert getattr(info.value, "kind", None) == "duplicate_profile_id"
