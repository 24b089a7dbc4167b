"""SPEC §26–27 through the Python binding: registry diffs and bundles. Expected values are worked
out by hand from the definitions below."""

from __future__ import annotations

import json

import pytest

import segcore

HV = {"id": "hv", "version": "1.0.0", "rule": "ltv > 500"}


def test_diff_reasons_and_problems() -> None:
    old = segcore.Registry.from_definitions([HV, {"id": "gone", "version": "1.0.0", "rule": "vip"}])
    new = segcore.Registry.from_definitions([{**HV, "version": "1.0.1", "rule": "ltv > 500 and tier = \"gold\""}])
    d = segcore.diff(old, new)
    assert d["required"] == "major"
    gone, hv = d["segments"]
    assert (gone["id"], gone["change"], gone["bump"]) == ("gone", "removed", "major")
    assert hv["fields"] == ["version", "rule"]
    assert hv["rule_changes"] == [["ltv > 500", "ltv > 500 and tier = \"gold\""]]
    assert hv["reasons"] == ["the read set grows (attribute `tier`)"]
    assert hv["problem"]["kind"] == "version_bump_required"
    assert segcore.diff(old, old)["required"] == "none"


def test_bundles_round_trip_and_refuse_edits() -> None:
    schema = {"attributes": {"ltv": "int"}, "events": {}}
    reg = segcore.Registry.from_definitions([HV], schema=schema)
    text = reg.to_bundle("2026-03-15T00:00:00Z")
    doc = json.loads(text)
    assert doc["format"] == "segcore-bundle/1" and doc["created"] == "2026-03-15T00:00:00Z"
    assert doc["hash"] == reg.bundle_hash and len(reg.bundle_hash) == 64
    back = segcore.Registry.from_bundle(text.encode())
    assert back.bundle_hash == reg.bundle_hash
    assert back["hv"].definition_hash == reg["hv"].definition_hash
    assert back.schema == schema
    assert back.evaluate({"id": "u", "attributes": {"ltv": 900}}, "2026-03-15T00:00:00Z") == {"hv": True}
    with pytest.raises(segcore.DefinitionError) as e:
        segcore.Registry.from_bundle(text.replace("ltv > 500", "ltv > 400"))
    assert e.value.kind == "bundle_invalid" and "contents hash to" in str(e.value)
    with pytest.raises(segcore.DefinitionError) as e:
        segcore.Registry.from_bundle(text[:40])
    assert e.value.kind == "bundle_invalid"


def test_versions_side_by_side() -> None:
    """SPEC §1: two versions of one id hand over at the later one's effective_from."""
    reg = segcore.Registry.from_definitions(
        [
            {"id": "adult", "version": "2.0.0", "effective_from": "2026-03-05T00:00:00Z", "rule": "age >= 21"},
            {"id": "adult", "version": "1.0.0", "rule": "age >= 18"},
        ]
    )
    assert len(reg) == 1 and reg.ids == ["adult"]
    assert [s.version for s in reg.versions()] == ["1.0.0", "2.0.0"]
    assert reg["adult"].version == "2.0.0"
    p = {"id": "u", "attributes": {"age": 19}}
    assert reg.evaluate(p, "2026-03-04T23:59:59.999999Z") == {"adult": True}
    assert reg.evaluate(p, "2026-03-05T00:00:00Z") == {"adult": False}
    with pytest.raises(segcore.SegmentError) as e:
        segcore.Registry.from_definitions(
            [
                {"id": "adult", "version": "1.0.0", "rule": "age >= 18"},
                {"id": "adult", "version": "1.1.0", "rule": "age >= 21"},
            ]
        )
    assert e.value.kind == "duplicate_segment"
