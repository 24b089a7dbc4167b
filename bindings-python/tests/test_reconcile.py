"""SPEC §24–25 through the Python binding: fingerprints (equal to the conformance suite's
hashlib-derived value), sketches exchanged as bytes, identity maps, causes of differences, drift.
Expected values are hand-derived from the data below, never copied from segcore's output."""

from __future__ import annotations

import pytest

import segcore

FP_U1 = "sfp1:14de38cf:1:1761758575:612197395:1972634671:2703318733"  # tests/conformance/reconcile.json


def test_fingerprint_text_merge_and_types() -> None:
    assert str(segcore.fingerprint(["u1"])) == FP_U1
    fp = segcore.fingerprint(["a", "b", 42])
    assert fp == segcore.fingerprint(["42"]) + segcore.fingerprint(["b", "a"])
    assert fp.count == 3 and len(fp.lanes) == 4 and fp.key_tag == "14de38cf"
    assert segcore.Fingerprint.parse(str(fp)) == fp
    assert segcore.fingerprint([], key="crm") != segcore.fingerprint([])
    with pytest.raises(segcore.SegmentError) as e:
        segcore.fingerprint(["a"]) + segcore.fingerprint(["b"], key="crm")
    assert e.value.kind == "key_mismatch"
    with pytest.raises(segcore.SegmentError) as e:
        segcore.Fingerprint.parse("sfp1:nothex00:1:2:3:4:5")
    assert e.value.kind == "invalid_fingerprint"
    pd = pytest.importorskip("pandas")
    assert segcore.fingerprint(pd.Series([1, 2, 3])) == segcore.fingerprint(["1", "2", "3"])
    assert segcore.fingerprint(pd.Series(["a", "b"])) == segcore.fingerprint(["a", "b"])
    for bad in ("u1", [1.5], [None], [True], pd.Series([1.5])):
        with pytest.raises(TypeError):
            segcore.fingerprint(bad)  # type: ignore[arg-type]
    with pytest.raises(segcore.SegmentError) as e:
        segcore.fingerprint(["a"], key="no:colon")
    assert e.value.kind == "invalid_key"


def test_sketch_exchange_through_bytes() -> None:
    mine = ["u%d" % i for i in range(2000)]
    theirs = ["u%d" % i for i in range(5, 2003)]
    wire = segcore.Sketch(theirs, differences=20).to_bytes()
    assert len(wire) < 2000
    theirs_sketch = segcore.Sketch.from_bytes(wire)
    mine_sketch = segcore.Sketch(mine, symbols=len(theirs_sketch))
    d = mine_sketch.decode(theirs_sketch, ids=mine)
    assert d["only_a"] == sorted("u%d" % i for i in range(5))
    assert len(d["only_b"]) == 3 and all(s.startswith("#") and len(s) == 17 for s in d["only_b"])
    # The other side resolves its own symbols.
    d2 = mine_sketch.decode(theirs_sketch, ids=mine, other_ids=theirs)
    assert d2["only_b"] == ["u2000", "u2001", "u2002"]
    assert theirs_sketch.fingerprint == segcore.fingerprint(theirs)
    with pytest.raises(segcore.SegmentError) as e:
        segcore.Sketch(mine, symbols=2).decode(segcore.Sketch(theirs, symbols=2))
    assert e.value.kind == "sketch_undecodable"
    with pytest.raises(segcore.SegmentError) as e:
        segcore.Sketch.from_bytes(wire[:-3])
    assert e.value.kind == "sketch_invalid"


def _purchase(id_: str, at: str, amount: int) -> dict:
    return {"id": id_, "events": [{"name": "purchase", "at": at, "properties": {"amount": amount}}]}


REG = [
    {"id": "hv90", "version": "1.0.0", "rule": "sum(purchase.amount within 90d) > 500"},
    {"id": "hv60", "version": "1.0.0", "rule": "sum(purchase.amount within 60d) > 500"},
]


def test_reconcile_causes_and_identity() -> None:
    reg = segcore.Registry.from_definitions(REG)
    a_data = [
        _purchase("user:1", "2026-01-01T00:00:00Z", 600),  # 73 days: 90d only → definition
        _purchase("user:2", "2026-03-05T00:00:00Z", 900),  # both
        _purchase("user:3", "2026-01-14T03:00:00Z", 600),  # leaves 60d at 03:00 on the 15th → time
        _purchase("user:4", "2026-03-01T00:00:00Z", 900),  # missing from B's data → data
    ]
    b_data = a_data[:3] + [{"id": "user:4"}]
    m = segcore.IdentityMap([("user:2", "email:b@x")], prefer=["user:"])
    assert m.canonical("email:b@x") == "user:2" and m.components == 1 and len(m) == 2
    r = reg.reconcile(
        ["user:1", "user:2", "user:3", "user:4"], ["email:b@x"],
        segment="hv90", segment_b="hv60", as_of="2026-03-15T00:00:00Z", as_of_b="2026-03-15T07:00:00Z",
        profiles=a_data, profiles_b=b_data, identity=m,
    )
    causes = {d["raw"]: d["cause"] for d in r["differences"]}
    assert causes == {"user:1": "definition", "user:2": "identity", "email:b@x": "identity", "user:3": "time", "user:4": "data"}
    assert (r["a"], r["b"], r["both"], r["differing"]) == (4, 1, 1, 3)
    assert r["causes"]["time"] == 1
    time = next(d for d in r["differences"] if d["raw"] == "user:3")
    assert time["change"]["cause"] == "window" and time["change"]["transition"] == "exited"
    assert time["side"] == "a"
    conflicted = segcore.IdentityMap([("user:1", "dev:x"), ("user:2", "dev:x")], unique=["user:"])
    assert conflicted.conflicts == [("dev:x", ["user:1", "user:2"])]
    with pytest.raises(segcore.SegmentError) as e:
        segcore.IdentityMap([("user:1", "dev:x"), ("user:2", "dev:x")], unique=["user:"], strict=True)
    assert e.value.kind == "invalid_identity"


def test_drift_rows_reconcile_day_over_day() -> None:
    reg = segcore.Registry.from_definitions([{"id": "active", "version": "1.0.0", "rule": "count(login within 2d) >= 1"}])
    profiles = [
        {"id": "u1", "events": [{"name": "login", "at": "2026-03-02T12:00:00Z"}]},
        {"id": "u2", "events": [{"name": "login", "at": "2026-02-28T06:00:00Z"}, {"name": "login", "at": "2026-03-04T06:00:00Z"}]},
    ]
    rows = reg.drift(profiles, "2026-03-01", "2026-03-08")
    # u2 is a member on the 1st (login 2 days before minus 6 hours), leaves at 06:00 on the 2nd,
    # returns on the 4th, leaves on the 6th; u1 enters on the 2nd and leaves on the 4th at noon.
    got = [(r["day"], r["members"], r["entered"], r["exited"]) for r in rows]
    assert got == [
        ("2026-03-01", 1, 0, 0),
        ("2026-03-02", 1, 1, 1),
        ("2026-03-03", 1, 0, 0),
        ("2026-03-04", 1, 1, 1),
        ("2026-03-05", 1, 0, 0),
        ("2026-03-06", 1, 0, 1),
        ("2026-03-07", 0, 0, 0),
    ]
    assert rows[1]["entered_by"] == {"definition": 0, "data": 1, "time": 0}
    assert rows[1]["exited_by"] == {"definition": 0, "data": 0, "time": 1}
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rows)
    assert list(frame["members"]) == [1, 1, 1, 1, 1, 1, 0]
    with pytest.raises(segcore.SegmentError) as e:
        reg.drift(profiles, "2026-03-08", "2026-03-01")
    assert e.value.kind == "invalid_context"
