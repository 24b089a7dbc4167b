"""``segcore.import_rule`` (SPEC §29): the binding carries the request and the answer; the
translation is the core's (tests/conformance/import.json runs through it in test_conformance)."""

from __future__ import annotations

import pytest

import segcore

SCHEMA = {"attributes": {"age": "int", "country": "string", "user.plan": "string"}}


def test_a_value_and_its_json_text_import_alike() -> None:
    rule = {"and": [{">=": [{"var": "age"}, 18]}, {"==": [{"var": "user.plan"}, "pro"]}]}
    a = segcore.import_rule(rule, schema=SCHEMA, id="adult_pro")
    b = segcore.import_rule('{"and": [{">=": [{"var": "age"}, 18]}, {"==": [{"var": "user.plan"}, "pro"]}]}', schema=SCHEMA, id="adult_pro")
    assert a == b
    assert a["status"] == "exact_under" and a["reads"] == ["age", "user.plan"]
    assert a["definition"].startswith("id: adult_pro\nversion: 1.0.0\n")
    # The nested path's root compiles as an object.
    assert a["schema"]["attributes"]["user"] == "object"
    seg = segcore.Segment.from_yaml(a["definition"], schema=a["schema"])
    assert seg.evaluate({"id": "u", "attributes": {"age": 30, "user": {"plan": "pro"}}}, as_of="2026-01-01T00:00:00Z")
    assert not seg.evaluate({"id": "u", "attributes": {"age": 30, "user": {"plan": "free"}}}, as_of="2026-01-01T00:00:00Z")
    assert "imported:jsonlogic" in a["definition"] and seg.id == "adult_pro"


def test_refusals_raise_unless_partial() -> None:
    with pytest.raises(segcore.TypeCheckError) as e:
        segcore.import_rule({"or": [False, {"%": [{"var": "age"}, 2]}]}, schema=SCHEMA)
    assert e.value.kind == "import_refused"
    assert "/or/1" in str(e.value)
    out = segcore.import_rule({"or": [False, {"%": [{"var": "age"}, 2]}]}, schema=SCHEMA, partial=True)
    assert out["status"] == "refused" and out["definition"] is None and out["rule"] is None
    assert out["refusals"] == [
        {"path": "/or/1", "construct": "%", "reason": out["refusals"][0]["reason"]}
    ]
    # Reading an attribute the schema does not declare.
    with pytest.raises(segcore.TypeCheckError, match="no declared type"):
        segcore.import_rule({"var": "age"})


def test_bad_sources_are_parse_errors() -> None:
    for bad in ['{"==": [1,', "", "[1] [2]", "{" * 300 + "}" * 300]:
        with pytest.raises(segcore.ParseError) as e:
            segcore.import_rule(bad)
        assert e.value.kind == "import_invalid", bad
    with pytest.raises(segcore.ParseError, match="unknown import format"):
        segcore.import_rule("true", "cobol")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        segcore.import_rule({1, 2})


def test_the_docstrings_run() -> None:
    import doctest

    import segcore._import

    assert doctest.testmod(segcore._import).failed == 0


SQL_SCHEMA = {
    "attributes": {"age": "int", "Country": "string", "signup_at": "timestamp"},
    "events": {"purchase": {"qty": "int"}},
}


def test_sql_options_dialect_timezone_tables() -> None:
    # Renamed tables and a column mapped to an attribute.
    tables = {"profiles": "users", "events": "activity", "entity_id": "user_id", "columns": {"years": "age"}}
    out = segcore.import_rule(
        "SELECT id FROM users u WHERE years >= 18 AND EXISTS (SELECT 1 FROM activity a WHERE a.user_id = u.id "
        "AND a.name = 'purchase' AND a.at <= NOW())",
        "sql",
        schema=SQL_SCHEMA,
        tables=tables,
        id="adult_buyers",
    )
    assert out["rule"] == "(age >= 18) and exists(purchase)"
    assert out["dialect"] == "duckdb" and out["reference"] == "DuckDB 2.0" and out["reads"] == ["age"]
    assert "imported:sql" in out["definition"] and "\ntimezone:" not in out["definition"]
    # The session zone becomes the definition's zone; CURRENT_DATE counts its calendar days.
    ny = segcore.import_rule("signup_at >= CURRENT_DATE", "sql", schema=SQL_SCHEMA, timezone="America/New_York")
    assert 'timezone: "America/New_York"' in ny["definition"]
    seg = segcore.Segment.from_yaml(ny["definition"], schema=ny["schema"])
    # 03:59Z on Mar 30 is still Mar 29 in New York (EDT, UTC-4): before CURRENT_DATE there.
    as_of = "2026-03-30T09:30:00Z"
    assert seg.outcome({"id": "a", "attributes": {"signup_at": "2026-03-30T04:00:00Z"}}, as_of=as_of) == "true"
    assert seg.outcome({"id": "b", "attributes": {"signup_at": "2026-03-30T03:59:59Z"}}, as_of=as_of) == "false"
    assert seg.outcome({"id": "c", "attributes": {}}, as_of=as_of) == "unknown"
    # Identifier case: PostgreSQL folds unquoted names to lower case, DuckDB ignores case.
    assert segcore.import_rule("COUNTRY = 'US'", "sql", schema=SQL_SCHEMA)["rule"] == 'Country = "US"'
    with pytest.raises(segcore.TypeCheckError, match="not an attribute"):
        segcore.import_rule("COUNTRY = 'US'", "sql", schema=SQL_SCHEMA, dialect="postgres")
    assert segcore.import_rule('"Country" = \'US\'', "sql", schema=SQL_SCHEMA, dialect="postgres")["rule"] == 'Country = "US"'


def test_sql_bad_input() -> None:
    # Text the dialect does not parse: import_invalid with the parser's position.
    for bad in ["age >=", "SELECT id FROM profiles WHERE", "age > 1; DROP TABLE profiles", "(" * 200 + "1" + ")" * 200]:
        with pytest.raises(segcore.ParseError) as e:
            segcore.import_rule(bad, "sql", schema=SQL_SCHEMA)
        assert e.value.kind == "import_invalid", bad
    with pytest.raises(segcore.ParseError, match="bytes"):
        segcore.import_rule("age > 1 AND " * 7000 + "true", "sql", schema=SQL_SCHEMA)
    with pytest.raises(segcore.ParseError, match="unknown SQL dialect"):
        segcore.import_rule("age > 1", "sql", schema=SQL_SCHEMA, dialect="oracle")
    with pytest.raises(segcore.ParseError, match="unknown time zone"):
        segcore.import_rule("age > 1", "sql", schema=SQL_SCHEMA, timezone="Mars/Olympus")
    with pytest.raises(segcore.ParseError, match="tables"):
        segcore.import_rule("age > 1", "sql", schema=SQL_SCHEMA, tables={"profile": "x"})
    # A long left-deep chain parses (SQL's AND/OR/+ nest to the left) and is refused or imported,
    # never a crash: AND chains flatten, arithmetic chains stop at the nesting limit.
    wide = segcore.import_rule(" OR ".join("age = %d" % i for i in range(1000)), "sql", schema=SQL_SCHEMA)
    assert wide["status"] == "exact_under"
    deep = segcore.import_rule("age" + " + 1" * 1999 + " > 0", "sql", schema=SQL_SCHEMA, partial=True)
    assert deep["status"] == "refused" and deep["refusals"][0]["construct"] == "nesting"
    # An SQL source is text.
    with pytest.raises(segcore.ParseError, match="text"):
        segcore.import_rule({"age": 1}, "sql", schema=SQL_SCHEMA)
    # A schema type SQL columns cannot hold.
    with pytest.raises(segcore.TypeCheckError, match="money"):
        segcore.import_rule("age > 1", "sql", schema={"attributes": {"age": "int", "wallet": "money"}})
