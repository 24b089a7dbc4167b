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
