"""The bad-input matrix (tests/hostile/README.md), Python row: every hostile input gives the
expected error kind (or membership) on every Python entry point that can take it, nothing
crashes (no segfault, no ``PanicException``, no ``RecursionError``), and the module still
evaluates the ``sanity`` segment afterwards.

One pytest case per entry of ``cases.json``. An error must have the expected ``kind`` and be of
the expected class (``type(e).__name__`` is the case's ``class``: ``ParseError``, ``DataError``, …,
SPEC §18). Entry points per input:

- ``rule``: ``Segment.from_dict`` (base definition with the rule) and ``segcore.compile``.
- ``definition_yaml``: ``Segment.from_yaml`` and ``Registry.from_definitions([text])``.
- ``definition_json``: ``Segment.from_json`` (a dict cannot hold a duplicate key, and
  ``json.loads`` cannot parse the deep texts, so the text entry point is the one that applies).
- ``profile``: the deep value (built iteratively) placed in a dict profile, evaluated as a dict,
  as ``Profile(dict)``, as ``Profile.from_json`` of the same profile written as JSON text
  (spliced, never ``json.dumps`` of the deep value), and through ``evaluate_batch`` when Arrow
  can carry the value (nesting up to 1,000: a deeper Arrow type is itself a recursion hazard
  inside pyarrow's C export, outside segcore).
- ``profile_json``: ``Profile.from_json(text)``; also ``json.loads`` → dict → ``Profile(dict)`` and
  the dict path, for texts ``json.loads`` can parse (it raises ``RecursionError`` on the deep ones,
  which are then run through the text entry point only).
- ``fx``: ``evaluate(..., fx=)`` and ``Context(as_of, fx=)``; ``schema``: ``Segment.from_dict`` and
  ``compile`` with ``schema=``; ``as_of``: ``evaluate(..., as_of=)`` and ``Context(as_of)``.
- ``table``: ``Segment.evaluate_batch`` on ``pyarrow.table`` frames built from the columns (strings
  stay strings, ``at`` an RFC 3339 string column, ``null`` a null); the first row's membership.

Writes ``target/conformance/hostile-python.json`` (``{"runtime", "passed", "total", "failures",
"messages"}``: ``messages`` holds the message of the error each case raised, on the first entry
point that raised one) when the module finishes; cases deselected in a partial run are reported as failures
("not run").
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import segcore

REPO = Path(__file__).resolve().parents[2]
DOC = json.loads((REPO / "tests" / "hostile" / "cases.json").read_text(encoding="utf-8"))
CASES = [c for c in DOC["cases"] if "python" in c.get("runtimes", ["python"])]
REPORT = REPO / "target" / "conformance" / "hostile-python.json"
BASE = DOC["base"]
ARROW_MAX_DEPTH = 1_000

_results: Dict[str, Any] = {}
_messages: Dict[str, str] = {}


def text(t: Any) -> str:
    """A text template: a string, or parts that are strings or ``{"repeat", "n"}``."""
    if isinstance(t, str):
        return t
    return "".join(p if isinstance(p, str) else p["repeat"] * p["n"] for p in t)


def deep_value(d: Dict[str, Any]) -> Any:
    """The ``deep`` value as Python data, built without recursion."""
    v = d["leaf"]
    for _ in range(d["n"]):
        v = [v] if d["kind"] == "list" else {"a": v}
    return v


def deep_text(d: Dict[str, Any]) -> str:
    """The ``deep`` value as JSON text, built without recursion."""
    leaf, n = json.dumps(d["leaf"]), d["n"]
    if d["kind"] == "list":
        return "[" * n + leaf + "]" * n
    return '{"a":' * n + leaf + "}" * n


def place(obj: Any, path: List[Any], value: Any) -> Any:
    out = copy.deepcopy(obj)
    slot = out
    for key in path[:-1]:
        slot = slot[key]
    slot[path[-1]] = value
    return out


def profile_text(path: List[Any], deep: str) -> str:
    mark = "@@segcore-deep@@"
    return json.dumps(place(BASE["profile"], path, mark)).replace(json.dumps(mark), deep)


def definition(rule: Any = None) -> Dict[str, Any]:
    d = dict(BASE["definition"])
    if rule is not None:
        d["rule"] = rule
    return d


def outcome(call: Callable[[], Any]) -> Tuple[Any, ...]:
    """``("member", bool)``, ``("error", kind, class name, message)`` for a segcore error, or
    ``("crash", …)`` for any other exception (a ``PanicException`` is a ``BaseException``)."""
    try:
        return ("member", bool(call()))
    except segcore.SegmentError as e:
        return ("error", e.kind, type(e).__name__, getattr(e, "message", str(e)))
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: B036 - a PanicException or RecursionError is the failure
        return ("crash", "%s: %s" % (type(e).__name__, str(e)[:200]))


def _arrow_batch(case: Dict[str, Any], rule: str) -> Callable[[], Any]:
    """The deep value through ``evaluate_batch``: an attribute column or an events property
    column of the nested Arrow type."""
    import pyarrow as pa

    d = case["deep"]
    leaf_type = pa.int64() if isinstance(d["leaf"], int) else pa.string()
    ty = leaf_type
    for _ in range(d["n"]):
        ty = pa.list_(ty) if d["kind"] == "list" else pa.struct([("a", ty)])
    column = pa.array([deep_value(d)], ty)
    p = BASE["profile"]
    seg = segcore.Segment.from_dict(definition(rule))
    path = case["path"]
    if path[0] == "attributes":
        attrs = {k: [v] for k, v in p["attributes"].items() if k != path[1]}
        profiles = pa.table(dict({"id": [p["id"]]}, **attrs, **{path[1]: column}))
        events = None
    else:
        profiles = pa.table({"id": [p["id"]]})
        ev = p["events"][path[1]]
        events = pa.table({"entity_id": [p["id"]], "name": [ev["name"]], "at": [ev["at"]], path[-1]: column})
    return lambda: seg.evaluate_batch(profiles, events, as_of=BASE["as_of"]).to_pylist()[0]


def _table_batch(case: Dict[str, Any], rule: Any) -> Callable[[], Any]:
    """A ``table`` case through ``evaluate_batch``: pyarrow tables built from the columns (the
    types pyarrow infers: strings, int64, float64, nulls), the first profile row's membership."""
    import pyarrow as pa

    def call() -> Any:
        profiles = pa.table(case["profiles"])
        events = pa.table(case["events"]) if "events" in case else None
        seg = segcore.Segment.from_dict(definition(rule))
        return seg.evaluate_batch(profiles, events, as_of=BASE["as_of"]).to_pylist()[0]

    return call


def paths(case: Dict[str, Any]) -> List[Tuple[str, Callable[[], Any]]]:
    """Every Python entry point that can take this input: (name, call → membership)."""
    as_of, profile = BASE["as_of"], BASE["profile"]
    rule = case.get("rule")
    seg = lambda: segcore.Segment.from_dict(definition(rule))  # noqa: E731
    kind = case["input"]
    if kind == "rule":
        r = text(case["text"])
        return [
            ("Segment.from_dict", lambda: segcore.Segment.from_dict(definition(r)).evaluate(profile, as_of=as_of)),
            ("compile", lambda: segcore.compile(r).evaluate(profile, as_of=as_of)),
        ]
    if kind == "definition_yaml":
        t = text(case["text"])
        return [
            ("Segment.from_yaml", lambda: segcore.Segment.from_yaml(t).evaluate(profile, as_of=as_of)),
            ("Registry.from_definitions", lambda: all(segcore.Registry.from_definitions([t]).evaluate(profile, as_of=as_of).values())),
        ]
    if kind == "definition_json":
        t = text(case["text"])
        return [("Segment.from_json", lambda: segcore.Segment.from_json(t).evaluate(profile, as_of=as_of))]
    if kind == "profile":
        d = case["deep"]
        as_dict = place(profile, case["path"], deep_value(d))
        ptext = profile_text(case["path"], deep_text(d))
        out = [
            ("dict", lambda: seg().evaluate(as_dict, as_of=as_of)),
            ("Profile(dict)", lambda: seg().evaluate(segcore.Profile(as_dict), as_of=as_of)),
            ("Profile.from_json", lambda: seg().evaluate(segcore.Profile.from_json(ptext), as_of=as_of)),
        ]
        if d["n"] <= ARROW_MAX_DEPTH:
            out.append(("evaluate_batch", _arrow_batch(case, rule or BASE["definition"]["rule"])))
        return out
    if kind == "profile_json":
        t = text(case["text"])
        out = [("Profile.from_json", lambda: seg().evaluate(segcore.Profile.from_json(t), as_of=as_of))]
        try:
            parsed = json.loads(t)
        except RecursionError:
            parsed = None  # json.loads cannot parse it: the text entry point is the one that applies
        if parsed is not None:
            out.append(("json.loads → dict", lambda: seg().evaluate(parsed, as_of=as_of)))
            out.append(("json.loads → Profile(dict)", lambda: seg().evaluate(segcore.Profile(parsed), as_of=as_of)))
        return out
    if kind == "fx":
        fx = {"EUR/USD": deep_value(case["deep"])}
        return [
            ("evaluate(fx=)", lambda: seg().evaluate(profile, as_of=as_of, fx=fx)),
            ("Context(fx=)", lambda: seg().evaluate(profile, segcore.Context(as_of, fx=fx))),
        ]
    if kind == "schema":
        schema = {"attributes": {"age": deep_value(case["deep"])}}
        return [
            ("Segment.from_dict(schema=)", lambda: segcore.Segment.from_dict(definition(rule), schema=schema).evaluate(profile, as_of=as_of)),
            ("compile(schema=)", lambda: segcore.compile(rule or BASE["definition"]["rule"], schema=schema).evaluate(profile, as_of=as_of)),
        ]
    if kind == "as_of":
        t = text(case["text"])
        return [
            ("evaluate(as_of=)", lambda: seg().evaluate(profile, as_of=t)),
            ("Context(as_of)", lambda: seg().evaluate(profile, segcore.Context(t))),
        ]
    if kind == "table":
        return [("evaluate_batch(pyarrow)", _table_batch(case, rule))]
    raise AssertionError("unknown input %r" % kind)


def sanity() -> bool:
    s = DOC["sanity"]
    return segcore.Segment.from_dict(s["definition"]).evaluate(s["profile"], as_of=s["as_of"]) is s["expect"]


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    failures = [r for r in _results.values() if r is not True]
    failures += [{"name": c["name"], "error": "not run"} for c in CASES if c["name"] not in _results]
    passed = sum(1 for r in _results.values() if r is True)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"runtime": "python", "passed": passed, "total": len(CASES), "failures": failures,
                                  "messages": _messages}, indent=1) + "\n", encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_input(case):
    expect = case["expect"]
    want = ("member", expect["member"]) if isinstance(expect, dict) else ("error", expect, case["class"])
    got = {name: outcome(call) for name, call in paths(case)}
    for g in got.values():
        if g[0] == "error":
            _messages[case["name"]] = g[3]
            break
    # The message is recorded, not compared: kind and class are the contract.
    wrong = {name: g for name, g in got.items() if g[:3] != want}
    still_works = outcome(sanity) == ("member", True)
    if wrong or not still_works:
        _results[case["name"]] = {
            "name": case["name"],
            "expected": expect,
            "got": {n: list(g) for n, g in wrong.items()},
            "sanity_after": still_works,
        }
    else:
        _results[case["name"]] = True
    assert not wrong, "expected %r, got %r" % (want, wrong)
    assert still_works, "the sanity segment no longer evaluates to true"
