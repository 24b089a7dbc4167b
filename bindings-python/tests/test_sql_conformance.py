"""Differential test: every conformance case SQL can express runs through the interpreter and
through the generated SQL in DuckDB (embedded) and PostgreSQL (a real server started here), and
the three answers must be identical.

A case is *expressible* when its data fits typed columns (a schema is inferred from the data,
see ``sql_support``), its definitions compile under that schema with the same interpreter answer
the case expects, and ``to_sql`` translates it. Everything else is counted, with the reason, in
``target/conformance/sql-<engine>.json``; the matrix prints passed / expressible. A case that is
expressible and disagrees is a failure. Errors must agree too: when the interpreter raises
(``fx_rate_missing``, ``numeric_overflow``), the query must fail.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import segcore
import sql_support

duckdb = pytest.importorskip("duckdb", reason="pip install duckdb (the README's test command does)")
psycopg = pytest.importorskip("psycopg", reason="pip install psycopg[binary]")

REPO = Path(__file__).resolve().parents[2]
SUITE_DIR = REPO / "tests" / "conformance"
REPORTS = REPO / "target" / "conformance"

# Regressions in SQL coverage fail the test: raise these floors as coverage grows.
MIN_EXPRESSIBLE = {"duckdb": 970, "postgres": 960}

Result = Tuple[str, str]  # ("outcome", "true"|"false"|"unknown") or ("error", kind/message)


def _cases() -> List[Dict[str, Any]]:
    out = []
    for path in sorted(SUITE_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        for case in data["cases"]:
            case["_suite"] = data["suite"]
            out.append(case)
    return out


def _definitions(case: Dict[str, Any]) -> Optional[Tuple[List[Dict[str, Any]], str]]:
    if "rule" in case:
        d = {"id": "case", "version": "1.0.0", "rule": case["rule"]}
        for k in ("timezone", "currency"):
            if k in case:
                d[k] = case[k]
        return [d], "case"
    if "definition" in case:
        return [case["definition"]], case["definition"]["id"]
    if "definitions" in case:
        return case["definitions"], case["target"]
    return None


def _expected(case: Dict[str, Any]) -> Optional[Result]:
    e = case["expect"]
    if "query" in case:
        return None  # membership over time (SPEC §22): not a membership query
    if "outcome" in e:
        return ("outcome", e["outcome"])
    if "member" in e:
        return ("member", "true" if e["member"] else "not true")
    if "error" in e and e["error"].get("phase") == "evaluate":
        return ("error", e["error"]["kind"])
    return None  # compile errors, canonical, format: not evaluation outcomes


def _interpret(reg: Any, target: str, case: Dict[str, Any]) -> Result:
    try:
        return ("outcome", reg.evaluate_one(target, case["profile"], as_of=case["as_of"], fx=case.get("fx")))
    except segcore.SegmentError as e:
        return ("error", getattr(e, "kind", None) or getattr(e, "code", "?"))


def _read_set(reg: Any) -> Tuple[List[str], Dict[str, List[str]]]:
    attrs: set = set()
    props: Dict[str, set] = collections.defaultdict(set)
    for sid in reg.ids:
        rs = reg[sid].read_set
        attrs.update(rs["attributes"])
        for ev in rs["events"]:
            props[ev]
        for ev, names in rs["event_properties"].items():
            props[ev].update(names)
    return sorted(attrs), {k: sorted(v) for k, v in props.items()}


class Plan:
    """How one case runs in SQL: the schema chosen, the query, the rows, the interpreter's answer."""

    def __init__(self, query: Any, target: str, rows: Any, interpreted: Result) -> None:
        self.query = query
        self.target = target
        self.rows = rows
        self.interpreted = interpreted


def _plan(case: Dict[str, Any], dialect: str) -> Tuple[Optional[Plan], str]:
    expected = _expected(case)
    if expected is None:
        return None, "not an evaluation outcome"
    if case.get("segments"):
        return None, "referenced results passed in the context (SQL needs the registry)"
    built = _definitions(case)
    if built is None or "profile" not in case:
        return None, "no profile"
    defs, target = built
    try:
        plain = segcore.Registry.from_definitions(defs)
    except segcore.SegmentError:
        return None, "does not compile"
    attrs, props = _read_set(plain)
    schemas = [case["schema"]] if "schema" in case else list(sql_support.candidate_schemas(case["profile"], attrs, props))
    if not schemas:
        return None, "data shape has no SQL columns here (lists, objects)"
    reason = "no inferred schema compiles"
    for schema in schemas:
        try:
            reg = segcore.Registry.from_definitions(defs, schema=schema)
        except segcore.SegmentError:
            continue
        interpreted = _interpret(reg, target, case)
        if expected[0] == "member" and interpreted[0] == "outcome":
            matches = (interpreted[1] == "true") == (expected[1] == "true")
        else:
            matches = interpreted == expected
        if not matches:
            reason = "the inferred schema changes the interpreter's answer"
            continue
        try:
            query = reg.to_sql(dialect, as_of=case["as_of"], fx=case.get("fx"))
        except segcore.SegmentError as e:
            reason = "unsupported: " + _first_message(e)
            continue
        try:
            rows = sql_support.rows(case["profile"], query)
        except (ValueError, KeyError, TypeError) as e:
            reason = "data does not fit the columns: %s" % e
            continue
        return Plan(query, target, rows, interpreted), ""
    return None, reason


def _first_message(e: BaseException) -> str:
    diags = getattr(e, "diagnostics", None) or []
    msg = diags[0].message if diags else str(e)
    # Group reasons by construct: drop positions and names.
    return msg.split(" cannot be expressed")[0]


def _outcome_of(result_rows: List[Tuple[Any, ...]], target: str) -> Result:
    picked = [r for r in result_rows if r[0] == target]
    if len(picked) != 1:
        return ("error", "query returned %d rows for the target" % len(picked))
    member, outcome = picked[0][1], picked[0][2]
    if member != (outcome == "true"):
        return ("error", "member %r disagrees with outcome %r" % (member, outcome))
    return ("outcome", outcome)


def _select(sql: str) -> str:
    return "SELECT segment_id, member, outcome FROM (\n%s) AS membership" % sql


def _run_duckdb(con: Any, plan: Plan) -> Result:
    q = plan.query
    con.execute("DROP TABLE IF EXISTS profiles; DROP TABLE IF EXISTS events;")
    con.execute(q.ddl)
    marks = lambda n: ", ".join("?" * n)  # noqa: E731
    con.execute("INSERT INTO profiles VALUES (%s)" % marks(len(q.profile_columns)), plan.rows[0])
    if plan.rows[1]:
        con.executemany("INSERT INTO events VALUES (%s)" % marks(len(q.event_columns)), plan.rows[1])
    try:
        return _outcome_of(con.execute(_select(q.sql)).fetchall(), plan.target)
    except duckdb.Error as e:
        return ("error", str(e))


def _run_postgres(conn: Any, plan: Plan) -> Result:
    q = plan.query
    try:
        with conn.transaction():
            cur = conn.cursor()
            cur.execute("DROP TABLE IF EXISTS profiles, events")
            cur.execute(q.ddl)
            marks = lambda n: ", ".join(["%s"] * n)  # noqa: E731
            cur.execute("INSERT INTO profiles VALUES (%s)" % marks(len(q.profile_columns)), plan.rows[0])
            if plan.rows[1]:
                cur.executemany("INSERT INTO events VALUES (%s)" % marks(len(q.event_columns)), plan.rows[1])
            try:
                with conn.transaction():
                    result = _outcome_of(cur.execute(_select(q.sql)).fetchall(), plan.target)
            except psycopg.Error as e:
                result = ("error", str(e).splitlines()[0])
            raise _Rollback(result)
    except _Rollback as r:
        return r.result


class _Rollback(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


def _agrees(interpreted: Result, got: Result) -> bool:
    if interpreted[0] == "outcome":
        return got == interpreted
    if got[0] != "error":
        return False
    # Our own raise names the kind; engines word overflow their own way.
    if interpreted[1] == "fx_rate_missing":
        return "fx_rate_missing" in got[1]
    return True


def _differential(engine: str, run: Callable[[Plan], Result]) -> None:
    cases = _cases()
    passed = 0
    failures: List[str] = []
    reasons: collections.Counter = collections.Counter()
    per_suite: Dict[str, List[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for case in cases:
        suite = per_suite[case["_suite"]]
        suite[2] += 1
        plan, reason = _plan(case, engine)
        if plan is None:
            reasons[reason] += 1
            continue
        suite[1] += 1
        got = run(plan)
        if _agrees(plan.interpreted, got):
            passed += 1
            suite[0] += 1
        else:
            failures.append("%s: interpreter %s, %s %s\n%s" % (case["id"], plan.interpreted, engine, got, plan.query.sql))
    expressible = sum(s[1] for s in per_suite.values())
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = {
        "runtime": "sql-" + engine,
        "passed": passed,
        "total": expressible,
        "failed": [f.split(":")[0] for f in failures],
        "cases": len(cases),
        "not_expressible": dict(reasons.most_common()),
    }
    (REPORTS / ("sql-%s.json" % engine)).write_text(json.dumps(report, indent=1))
    print("\nSQL %s: %d/%d expressible cases agree (%d cases in the suite)" % (engine, passed, expressible, len(cases)))
    for name, (p, e, t) in sorted(per_suite.items()):
        print("  %-12s %4d/%-4d of %d" % (name, p, e, t))
    for f in failures[:30]:
        print("FAIL " + f)
    assert not failures, "%d cases disagree between the interpreter and %s" % (len(failures), engine)
    assert expressible >= MIN_EXPRESSIBLE[engine], "SQL coverage fell to %d cases" % expressible


def test_duckdb_agrees_with_interpreter() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _differential("duckdb", lambda plan: _run_duckdb(con, plan))


def test_postgres_agrees_with_interpreter(pg: Any) -> None:
    _differential("postgres", lambda plan: _run_postgres(pg, plan))
