"""The Python surface of SQL generation: types, errors, options."""

from __future__ import annotations

import pytest

import segcore

SCHEMA = {"attributes": {"age": "int", "country": "string", "tags": "list<string>"},
          "events": {"purchase": {"amount": "money"}}}


def test_registry_to_sql_returns_a_typed_query() -> None:
    reg = segcore.Registry.from_definitions(
        [{"id": "adults", "version": "1.0.0", "rule": "age >= 18"},
         {"id": "spenders", "version": "1.0.0", "rule": 'in_segment("adults") and sum(purchase.amount) > 10 USD'}],
        schema=SCHEMA,
    )
    q = reg.to_sql("duckdb", as_of="2026-03-15T00:00:00Z", fx={"EUR/USD": "1.08"}, events_table="raw.events")
    assert isinstance(q, segcore.SqlQuery)
    assert q.dialect == "duckdb" and str(q) == q.sql
    assert q.profile_columns == [("id", "string", "VARCHAR"), ("age", "int", "BIGINT")]
    assert [c[0] for c in q.event_columns] == ["entity_id", "seq", "name", "at", "amount_amount", "amount_currency"]
    assert "FROM raw.events AS e" in q.sql and "CREATE TABLE raw.events" in q.ddl
    assert "segcore fx_rate_missing: no FX rate to USD" in q.sql
    assert " * 1.08" in q.sql  # the quote is written into the query
    assert q.sql.index('"seg_adults" AS (') < q.sql.index('"seg_spenders" AS (')


def test_unsupported_constructs_raise_with_kind_and_position() -> None:
    seg = segcore.Segment.from_dict({"id": "t", "version": "1.0.0", "rule": 'age > 1 and tags[0] = "x"'}, schema=SCHEMA)
    with pytest.raises(segcore.TypeCheckError) as e:
        seg.to_sql("bigquery", as_of="2026-03-15T00:00:00Z")
    d = e.value.diagnostics[0]
    assert d.kind == "sql_unsupported"
    assert (d.line, d.column) == (1, 13)
    assert "bigquery" in d.message and "tags[0]" in d.message


def test_bad_arguments() -> None:
    seg = segcore.Segment.from_dict({"id": "t", "version": "1.0.0", "rule": "age > 1"}, schema=SCHEMA)
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        seg.to_sql("oracle", as_of="2026-03-15T00:00:00Z")  # type: ignore[arg-type]
    with pytest.raises(segcore.SegmentError):
        seg.to_sql("duckdb", as_of="yesterday")
    untyped = segcore.Segment.from_dict({"id": "t", "version": "1.0.0", "rule": "score > 1"})
    with pytest.raises(segcore.SegmentError, match="no declared type"):
        untyped.to_sql("duckdb", as_of="2026-03-15T00:00:00Z")


def test_registry_keeps_its_schema() -> None:
    reg = segcore.Registry.from_definitions([{"id": "a", "version": "1.0.0", "rule": "age > 1"}], schema=SCHEMA)
    assert reg.schema == {"attributes": {"age": "int", "country": "string", "tags": "list"},
                          "events": {"purchase": {"amount": "money"}}}
    again = segcore.Registry.from_definitions([reg["a"].definition], schema=reg.schema)
    assert again["a"].definition_hash == reg["a"].definition_hash
    assert segcore.Registry.from_definitions([{"id": "a", "version": "1.0.0", "rule": "x > 1"}]).schema is None
