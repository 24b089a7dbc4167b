"""Silent SQL/interpreter differences found in review, each pinned in DuckDB and PostgreSQL."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

import segcore
import sql_support
from test_sql_conformance import Plan, _interpret, _run_duckdb, _run_postgres, duckdb

AS_OF = "2026-03-15T00:00:00Z"
SCHEMA = {"attributes": {"age": "int", "score": "float", "price": "money", "name": "string"},
          "events": {"e": {"n": "int", "amount": "money"}}}

CASES = [
    # An int compared with a float when the int is null: UNKNOWN, not a failed cast.
    ("age < score", {"score": 1e30}, "unknown"),
    ("age between score and 5", {"score": -1e30}, "unknown"),
    # A money literal in a currency without a quote raises only when reached (PostgreSQL folded
    # the raise into a plan-time error for every profile).
    ("age > 100 and price > 10 EUR", {"age": 1, "price": {"amount": "20", "currency": "EUR"}}, "false"),
    # `in` stops at the first match, and a null x is UNKNOWN before any comparison.
    ("price in [5 USD, 5 EUR]", {"price": {"amount": "5", "currency": "USD"}}, "true"),
    ("price in [5 USD, 5 EUR]", {}, "unknown"),
    # 64-bit arithmetic even when both operands fit 32 bits.
    ("100000 * 100000 > age", {"age": 1}, "true"),
    # The bucket is an exact decimal in every engine (DuckDB divided in DOUBLE).
    ('bucket(id, "s") + 0.1 = 65.09', {}, "true"),
]


def _plan(rule: str, attributes: Dict[str, Any], dialect: str, fx: Optional[Dict[str, str]] = None) -> Plan:
    reg = segcore.Registry.from_definitions([{"id": "r", "version": "1.0.0", "rule": rule}], schema=SCHEMA)
    profile = {"id": "u0", "attributes": attributes}
    case = {"profile": profile, "as_of": AS_OF, "fx": fx}
    query = reg.to_sql(dialect, as_of=AS_OF, fx=fx)
    return Plan(query, "r", sql_support.rows(profile, query), _interpret(reg, "r", case))


@pytest.mark.parametrize("rule,attributes,expected", CASES)
def test_duckdb(rule: str, attributes: Dict[str, Any], expected: str) -> None:
    plan = _plan(rule, attributes, "duckdb")
    assert plan.interpreted == ("outcome", expected)
    con = duckdb.connect()
    assert _run_duckdb(con, plan) == plan.interpreted


@pytest.mark.parametrize("rule,attributes,expected", CASES)
def test_postgres(rule: str, attributes: Dict[str, Any], expected: str, pg: Any) -> None:
    plan = _plan(rule, attributes, "postgres")
    assert plan.interpreted == ("outcome", expected)
    assert _run_postgres(pg, plan) == plan.interpreted


def test_filters_that_may_raise_are_refused_where_engines_run_them_eagerly() -> None:
    reg = segcore.Registry.from_definitions(
        [{"id": "r", "version": "1.0.0", "rule": "age > 100 and count(e where n * 2 > 0) > 0"}], schema=SCHEMA)
    with pytest.raises(segcore.SegmentError, match="may raise an error"):
        reg.to_sql("duckdb", as_of=AS_OF)
    assert "count(*)" in reg.to_sql("postgres", as_of=AS_OF).sql  # PostgreSQL runs subplans lazily
