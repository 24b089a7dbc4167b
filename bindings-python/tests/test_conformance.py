"""Runs every case of ``tests/conformance/*.json`` through the Python binding.

This mirrors ``tests/conformance_runner.rs`` case for case: same ways of building the segment or
registry, same expectations, same matching of errors (some diagnostic of the error has the expected
kind, and the expected line/column when given, and the error happened in the expected phase).
It prints a per-suite summary and the failures, writes ``target/conformance/python.json`` for the
runtime matrix (``scripts/conformance_matrix.py``), and fails on any case that does not give the
expected result. A case the binding cannot run is a failure, never a skip.

One test function on purpose: parametrizing 1,400+ cases would flood the output.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import segcore

REPO = Path(__file__).resolve().parents[2]
SUITE_DIR = REPO / "tests" / "conformance"
REPORT = REPO / "target" / "conformance" / "python.json"

MIN_CASES = 400
SHOWN_FAILURES = 400


class CaseProblem(Exception):
    """The case could not be run as written (the Rust runner's ``Err(String)`` from ``run``)."""


# What running a case gave; the Rust runner's `Got`.
#   ("outcome", "true" | "false" | "unknown" | "compiled")
#   ("error", "compile" | "evaluate", SegmentError)
#   ("canonical", canonical_json, definition_hash)
#   ("format", text)
#   ("next", None | (at datetime, outcome, cause))
#   ("timeline", outcome at from, [(at, outcome, cause), ...])
Got = Tuple[Any, ...]

_OUTCOMES = ("true", "false", "unknown")


def _describe_error(exc: BaseException) -> str:
    diags = getattr(exc, "diagnostics", None)
    if not diags:
        return "%s(%r) with no diagnostics" % (type(exc).__name__, str(exc))
    parts = []
    for d in diags:
        pos = ""
        line = getattr(d, "line", None)
        column = getattr(d, "column", None)
        if line is not None or column is not None:
            pos = " at %s:%s" % (line, column)
        parts.append("%s%s: %s" % (getattr(d, "kind", "?"), pos, getattr(d, "message", "")))
    return "%s [%s]" % (type(exc).__name__, "; ".join(parts))


def _describe(got: Got) -> str:
    tag = got[0]
    if tag == "outcome":
        return "outcome %s" % got[1]
    if tag == "error":
        return "%s error %s" % (got[1], _describe_error(got[2]))
    if tag == "canonical":
        return "canonical %s" % got[1]
    if tag == "format":
        return "format %r" % (got[1],)
    if tag == "next":
        return "no next change" if got[1] is None else "next change " + _show_change(got[1])
    if tag == "timeline":
        return "timeline %s then [%s]" % (got[1], ", ".join(_show_change(c) for c in got[2]))
    return repr(got)


def _check_outcome_value(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in _OUTCOMES:
        raise CaseProblem("%s returned %r, not one of %s" % (where, value, "/".join(_OUTCOMES)))
    return value


def _evaluate_single(seg: Any, case: Dict[str, Any], profile: Any, as_of: Any, fx: Any) -> Got:
    """Evaluates one segment through both ``outcome`` and ``evaluate``; they must agree.

    The Rust runner checks that its two read paths (by name and bound) agree; the binding's two
    entry points are the Python counterpart.
    """
    segments = case.get("segments")
    outcome: Optional[str] = None
    member: Optional[bool] = None
    outcome_err: Optional[BaseException] = None
    member_err: Optional[BaseException] = None
    try:
        outcome = _check_outcome_value(
            seg.outcome(profile, as_of=as_of, fx=fx, segments=segments), "Segment.outcome"
        )
    except segcore.SegmentError as e:
        outcome_err = e
    try:
        member = seg.evaluate(profile, as_of=as_of, fx=fx, segments=segments)
        if type(member) is not bool:
            raise CaseProblem("Segment.evaluate returned %r, not a bool" % (member,))
    except segcore.SegmentError as e:
        member_err = e

    if outcome_err is not None or member_err is not None:
        if outcome_err is None or member_err is None:
            raise CaseProblem(
                "outcome() and evaluate() disagree: outcome() gave %s, evaluate() gave %s"
                % (
                    outcome if outcome_err is None else _describe_error(outcome_err),
                    member if member_err is None else _describe_error(member_err),
                )
            )
        if getattr(outcome_err, "kind", None) != getattr(member_err, "kind", None):
            raise CaseProblem(
                "outcome() and evaluate() raise different kinds: %s vs %s"
                % (_describe_error(outcome_err), _describe_error(member_err))
            )
        return ("error", "evaluate", outcome_err)
    if member != (outcome == "true"):
        raise CaseProblem("outcome() gave %s but evaluate() gave %r" % (outcome, member))
    return ("outcome", outcome)


_RECONCILE = ("fingerprint", "fingerprint_sum", "sketch", "sketch_diff", "sketch_decode")


def _run_reconcile(query: str, case: Dict[str, Any]) -> Got:
    """SPEC §24's queries, as the Rust runner's ``run_reconcile``."""
    key = case.get("key")

    def symbols(name: str) -> int:
        value = case.get(name, case.get("symbols"))
        if not isinstance(value, int):
            raise CaseProblem("case needs `symbols`")
        return value

    try:
        if query == "fingerprint":
            return ("fingerprint", str(segcore.fingerprint(case["ids"], key=key)))
        if query == "fingerprint_sum":
            fps = [segcore.Fingerprint.parse(t) for t in case["fingerprints"]]
            total = fps[0]
            for fp in fps[1:]:
                total = total + fp
            return ("fingerprint", str(total))
        if query == "sketch":
            return ("sketch", segcore.Sketch(case["ids"], symbols=symbols("symbols"), key=key).to_bytes().hex())
        if query == "sketch_diff":
            a, b = case["a"], case["b"]
            sa = segcore.Sketch(a, symbols=symbols("symbols_a"), key=key)
            # Through the bytes, as two systems exchange them.
            sb = segcore.Sketch.from_bytes(segcore.Sketch(b, symbols=symbols("symbols_b"), key=key).to_bytes())
            d = sa.decode(sb, ids=a, other_ids=b, key=key)
            return ("difference", sorted(d["only_a"]), sorted(d["only_b"]))
        if query == "sketch_decode":
            def read(name: str) -> Any:
                text = case[name]
                return segcore.Sketch.from_bytes(bytes.fromhex(text[: len(text) // 2 * 2]))
            d = read("sketch_a").decode(read("sketch_b"))
            return ("difference", d["only_a"], d["only_b"])
    except segcore.SegmentError as e:
        return ("error", "evaluate", e)
    raise CaseProblem("unknown reconcile query %r" % (query,))


def _diff_matches(want: Dict[str, Any], got: Dict[str, Any]) -> bool:
    """The Rust runner's ``diff_matches``: required bump, then per segment id, change, bump,
    problem kind, and ``fields``/``rule_changes`` when the case gives them."""
    if want.get("required") != got.get("required") or len(want["segments"]) != len(got["segments"]):
        return False
    for w, g in zip(want["segments"], got["segments"]):
        problem = g["problem"]["kind"] if g["problem"] else None
        if (w["id"], w["change"], w["bump"], w["problem"]) != (g["id"], g["change"], g["bump"], problem):
            return False
        for k in ("fields", "rule_changes"):
            if k in w and [list(x) if isinstance(x, (list, tuple)) else x for x in g[k]] != w[k]:
                return False
    return True


def _run(case: Dict[str, Any]) -> Got:
    expect = case.get("expect")
    if not isinstance(expect, dict):
        raise CaseProblem("case has no expect")
    if case.get("query") in _RECONCILE:
        return _run_reconcile(case["query"], case)
    if case.get("query") == "diff":
        try:
            old = segcore.Registry.from_definitions(case["old"])
            new = segcore.Registry.from_definitions(case["new"])
        except segcore.SegmentError as e:
            return ("error", "compile", e)
        return ("diff", segcore.diff(old, new))

    if "format" in expect:
        rule = case.get("rule")
        if not isinstance(rule, str):
            raise CaseProblem("format case needs `rule`")
        try:
            text = segcore.format_rule(rule)
        except segcore.SegmentError as e:
            return ("error", "compile", e)
        if not isinstance(text, str):
            raise CaseProblem("format_rule returned %r, not a str" % (text,))
        return ("format", text)

    schema = case.get("schema")
    seg = None
    registry = None
    try:
        if isinstance(case.get("rule"), str):
            seg = segcore.compile(
                case["rule"],
                id="case",
                version="1.0.0",
                timezone=case.get("timezone", "UTC"),
                currency=case.get("currency", "USD"),
                schema=schema,
            )
        elif "definition" in case:
            seg = segcore.Segment.from_dict(case["definition"], schema=schema)
        elif isinstance(case.get("definitions"), list):
            registry = segcore.Registry.from_definitions(case["definitions"], schema=schema)
        else:
            raise CaseProblem("case has no rule, definition or definitions")
    except segcore.SegmentError as e:
        return ("error", "compile", e)

    if "canonical_json" in expect:
        if seg is None:
            raise CaseProblem("canonical case needs a single definition")
        return ("canonical", seg.canonical_json, seg.definition_hash)

    error = expect.get("error")
    if isinstance(error, dict) and error.get("phase") == "compile":
        return ("outcome", "compiled")

    if "profile" not in case:
        raise CaseProblem("evaluation case needs `profile`")
    profile = case["profile"]
    query = case.get("query")
    if query is not None:
        return _run_over_time(query, case, seg, registry, profile)
    as_of = case.get("as_of")
    if not isinstance(as_of, str):
        raise CaseProblem("evaluation case needs `as_of`")
    fx = case.get("fx")

    if registry is not None:
        target = case.get("target")
        if not isinstance(target, str):
            raise CaseProblem("registry case needs `target`")
        try:
            outcome = registry.evaluate_one(target, profile, as_of=as_of, fx=fx)
        except segcore.SegmentError as e:
            return ("error", "evaluate", e)
        return ("outcome", _check_outcome_value(outcome, "Registry.evaluate_one"))
    return _evaluate_single(seg, case, profile, as_of, fx)


def _instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise CaseProblem("expected an RFC 3339 instant, got %r" % (text,))
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _change_of(c: Any) -> Tuple[datetime, str, str]:
    if not isinstance(c, segcore.Change):
        raise CaseProblem("expected a segcore.Change, got %r" % (c,))
    return (c.at, c.outcome, c.cause)


def _run_over_time(query: Any, case: Dict[str, Any], seg: Any, registry: Any, profile: Any) -> Got:
    """A ``next_change`` or ``timeline`` case (SPEC §22)."""
    fx = case.get("fx")
    target = case.get("target")
    if registry is not None and not isinstance(target, str):
        raise CaseProblem("registry case needs `target`")
    try:
        if query == "next_change":
            as_of = case.get("as_of")
            if not isinstance(as_of, str):
                raise CaseProblem("next_change case needs `as_of`")
            horizon = case.get("horizon")
            if registry is not None:
                c = registry.next_change(target, profile, as_of, horizon=horizon, fx=fx)
            else:
                c = seg.next_change(profile, as_of, horizon=horizon, fx=fx, segments=case.get("segments"))
            return ("next", None if c is None else _change_of(c))
        if query == "timeline":
            start, end = case.get("from"), case.get("to")
            if not isinstance(start, str) or not isinstance(end, str):
                raise CaseProblem("timeline case needs `from` and `to`")
            if registry is not None:
                t = registry.timeline(target, profile, start, end, fx=fx)
            else:
                t = seg.timeline(profile, start, end, fx=fx, segments=case.get("segments"))
            if not isinstance(t, segcore.Timeline):
                raise CaseProblem("timeline() returned %r, not a segcore.Timeline" % (t,))
            return ("timeline", t.outcome, [_change_of(c) for c in t.changes])
    except segcore.SegmentError as e:
        return ("error", "evaluate", e)
    raise CaseProblem("unknown query %r" % (query,))


def _expected_change(j: Any) -> Tuple[datetime, str, str]:
    if not isinstance(j, dict):
        raise CaseProblem("expected change must be an object")
    return (_instant(j.get("at")), j.get("outcome"), j.get("cause"))


def _show_change(c: Tuple[datetime, str, str]) -> str:
    return "%s %s (%s)" % (c[0].isoformat(), c[1], c[2])


def _diagnostic_matches(d: Any, kind: str, line: Optional[int], column: Optional[int]) -> bool:
    if getattr(d, "kind", None) != kind:
        return False
    if line is not None and getattr(d, "line", None) != line:
        return False
    if column is not None and getattr(d, "column", None) != column:
        return False
    return True


def _as_position(v: Any) -> Optional[int]:
    # Like serde_json's `as_u64`: only a non-negative integer counts as a position.
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    return None


def _check_import(case: Dict[str, Any]) -> None:
    """SPEC §29 cases, as the Rust runner's ``check_import``: import, compare status, assumptions
    and refusal path, then evaluate the imported definition (its YAML) on each ``members`` profile."""
    expect = case["expect"]
    # A str is JSON text to import_rule: the value goes as its JSON text (a JSON string stays one).
    rule = case["source_text"] if "source_text" in case else json.dumps(case["source"])
    schema = case.get("schema")
    groups = case.get("saved_groups")
    toggle = case.get("toggle")
    sql = {k: case[k] for k in ("dialect", "timezone", "tables") if k in case}
    if "error" in expect:
        kind = expect["error"].get("kind")
        try:
            segcore.import_rule(rule, case["from"], schema=schema, saved_groups=groups, toggle=toggle, **sql)
        except segcore.SegmentError as e:
            want_class = segcore.ParseError if kind == "import_invalid" else segcore.TypeCheckError
            if getattr(e, "kind", None) != kind or not isinstance(e, want_class):
                raise CaseProblem("expected %s, got %s" % (kind, _describe_error(e)))
        else:
            raise CaseProblem("expected %s, the import succeeded" % kind)
        if kind == "import_refused" and "path" in expect["error"]:
            out = segcore.import_rule(rule, case["from"], schema=schema, saved_groups=groups, toggle=toggle, partial=True, **sql)
            if out["status"] != "refused" or out["refusals"][0]["path"] != expect["error"]["path"]:
                raise CaseProblem("refused at %r, expected %r" % (out["refusals"], expect["error"]["path"]))
        return
    out = segcore.import_rule(rule, case["from"], schema=schema, saved_groups=groups, toggle=toggle, **sql)
    want = expect["import"]
    if out["status"] != want["status"]:
        raise CaseProblem("status %s (want %s): %r" % (out["status"], want["status"], out))
    got_assumptions = [a["id"] for a in out["assumptions"]]
    if got_assumptions != want.get("assumptions", []):
        raise CaseProblem("assumptions %r, want %r; rule %r" % (got_assumptions, want.get("assumptions"), out["rule"]))
    seg = segcore.Segment.from_yaml(out["definition"], schema=out["schema"])
    # SQL (SPEC §29.5): whole profiles at the case's `as_of`, three-valued outcomes.
    if "outcomes" in want:
        for i, o in enumerate(want["outcomes"]):
            outcome = seg.outcome(dict(o["profile"], id="u%d" % i), as_of=case["as_of"])
            if outcome != o["outcome"]:
                raise CaseProblem("%r gives %s, want %s; rule %r" % (o["profile"], outcome, o["outcome"], out["rule"]))
        return
    for m in want["members"]:
        # A GrowthBook `id` attribute is the profile's id (SPEC §29.2).
        attributes = dict(m["attributes"])
        pid = attributes.pop("id", None)
        profile = {"id": pid if isinstance(pid, str) else "u1", "attributes": attributes}
        outcome = seg.outcome(profile, as_of="2026-01-01T00:00:00Z")
        if outcome == "unknown":
            raise CaseProblem("%r gives UNKNOWN: an imported rule must be total; rule %r" % (m["attributes"], out["rule"]))
        if (outcome == "true") != m["member"]:
            raise CaseProblem("%r gives %s, want member=%r; rule %r" % (m["attributes"], outcome, m["member"], out["rule"]))


def _check(case: Dict[str, Any]) -> None:
    """Raises CaseProblem (with the reason) unless the case gives its expected result."""
    if case.get("query") == "import":
        _check_import(case)
        return
    expect = case["expect"]
    got = _run(case)

    if "error" in expect:
        err = expect["error"] if isinstance(expect["error"], dict) else {}
        kind = err.get("kind") if isinstance(err.get("kind"), str) else ""
        phase = err.get("phase") if isinstance(err.get("phase"), str) else ""
        line = _as_position(err.get("line"))
        column = _as_position(err.get("column"))
        if got[0] == "error":
            diagnostics = list(getattr(got[2], "diagnostics", None) or [])
            hit = any(_diagnostic_matches(d, kind, line, column) for d in diagnostics)
            if hit and (not phase or got[1] == phase):
                return
        pos = " at %d:%d" % (line, column) if line is not None and column is not None else ""
        raise CaseProblem("expected %s error %s%s, got %s" % (phase, kind, pos, _describe(got)))

    if "canonical_json" in expect:
        want = expect["canonical_json"]
        if got[0] != "canonical":
            raise CaseProblem("expected canonical JSON, got %s" % _describe(got))
        if got[1] != want:
            raise CaseProblem("canonical JSON differs:\n      want %s\n      got  %s" % (want, got[1]))
        want_hash = expect.get("definition_hash")
        if isinstance(want_hash, str) and want_hash != got[2]:
            raise CaseProblem("hash differs: want %s, got %s" % (want_hash, got[2]))
        return

    if "format" in expect:
        want = expect["format"]
        if got[0] == "format" and got[1] == want:
            return
        raise CaseProblem("expected format %r, got %s" % (want, _describe(got)))

    for name in ("fingerprint", "sketch"):
        if name in expect:
            if got[0] == name and got[1] == expect[name]:
                return
            raise CaseProblem("expected %s %s, got %s" % (name, expect[name], _describe(got)))

    if "diff" in expect:
        if got[0] == "diff" and _diff_matches(expect["diff"], got[1]):
            return
        raise CaseProblem("expected diff %r, got %s" % (expect["diff"], _describe(got)))

    if "difference" in expect:
        w = expect["difference"]
        if got[0] == "difference" and got[1] == w.get("only_a") and got[2] == w.get("only_b"):
            return
        raise CaseProblem("expected difference %r, got %s" % (w, _describe(got)))

    if "next_change" in expect:
        want = None if expect["next_change"] is None else _expected_change(expect["next_change"])
        if got[0] == "next" and got[1] == want:
            return
        raise CaseProblem("expected %s, got %s" % (
            "no next change" if want is None else "next change " + _show_change(want), _describe(got)))

    if "timeline" in expect:
        w = expect["timeline"] if isinstance(expect["timeline"], dict) else {}
        changes = [_expected_change(c) for c in (w.get("changes") or [])]
        if got[0] == "timeline" and got[1] == w.get("outcome") and got[2] == changes:
            return
        raise CaseProblem("expected timeline %s then [%s], got %s" % (
            w.get("outcome"), ", ".join(_show_change(c) for c in changes), _describe(got)))

    want_outcome = expect.get("outcome") if isinstance(expect.get("outcome"), str) else None
    want_member = expect.get("member") if isinstance(expect.get("member"), bool) else None
    if got[0] == "outcome":
        outcome = got[1]
        if want_outcome is not None:
            if want_outcome != outcome:
                raise CaseProblem("expected outcome %s, got %s" % (want_outcome, outcome))
            return
        if want_member is not None:
            if want_member != (outcome == "true"):
                raise CaseProblem("expected member %s, got outcome %s" % (want_member, outcome))
            return
        raise CaseProblem("case has no recognised expectation")
    wanted = "outcome %s" % want_outcome if want_outcome is not None else "member %s" % want_member
    raise CaseProblem("expected %s, got %s" % (wanted, _describe(got)))


def _suite_files() -> List[Path]:
    return sorted(p for p in SUITE_DIR.glob("*.json") if p.is_file())


def test_conformance_suite() -> None:
    files = _suite_files()
    if not files:
        pytest.fail("no conformance suites found in %s" % SUITE_DIR)

    total = 0
    failures: List[Tuple[str, str]] = []
    per_suite: List[Tuple[str, int, int]] = []
    seen_ids = set()

    for path in files:
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            pytest.fail("%s is not JSON: %s" % (path, e))
        cases = suite.get("cases") if isinstance(suite, dict) else None
        if not isinstance(cases, list):
            pytest.fail("%s has no cases" % path)
        failed_here = 0
        for case in cases:
            total += 1
            case_id = case.get("id") if isinstance(case, dict) and isinstance(case.get("id"), str) else "<no id>"
            if case_id in seen_ids:
                failures.append((case_id, "duplicate case id"))
                failed_here += 1
                continue
            seen_ids.add(case_id)
            try:
                if not isinstance(case, dict):
                    raise CaseProblem("case is not an object")
                _check(case)
            except CaseProblem as e:
                failures.append((case_id, str(e)))
                failed_here += 1
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
                failures.append((case_id, "raised %s: %s" % (type(e).__name__, e)))
                failed_here += 1
        name = suite.get("suite") if isinstance(suite.get("suite"), str) else path.stem
        per_suite.append((name, len(cases), failed_here))

    passed = total - len(failures)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {"runtime": "Python", "passed": passed, "total": total, "failed": [i for i, _ in failures]},
            indent=2,
        ),
        encoding="utf-8",
    )

    for name, n, failed in per_suite:
        print("  %-12s %4d/%d" % (name, n - failed, n))
    for case_id, why in failures[:SHOWN_FAILURES]:
        print("FAIL %s: %s" % (case_id, why.replace("\n", "\n      ")))
    if len(failures) > SHOWN_FAILURES:
        print("... and %d more failure(s)" % (len(failures) - SHOWN_FAILURES))
    print("conformance (Python): %d passed, %d failed, of %d" % (passed, len(failures), total))

    assert total >= MIN_CASES, "the suite must have at least %d cases, found %d" % (MIN_CASES, total)
    assert not failures, "%d conformance case(s) failed, e.g.:\n%s" % (
        len(failures),
        "\n".join("  %s: %s" % f for f in failures[:20]),
    )
