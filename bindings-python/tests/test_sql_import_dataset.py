"""SQL import (SPEC §29.5) at scale: the generated dataset of sql_dataset.py (100,000 profiles by
default, with events) as DuckDB and PostgreSQL tables, and the `WHERE` clauses of
sql_import_cases.py imported with `segcore.import_rule(text, "sql", …)`. Per query and profile,
three answers must agree (research/importers/sql.md §5):

1. the original SQL run by the engine itself at as_of — its three-valued value, with the clock
   pinned by text (NOW() and CURRENT_TIMESTAMP = as_of, CURRENT_DATE = as_of's date in the
   session TimeZone = the case's zone), and the plain statement must return exactly the TRUE ids;
2. the interpreter: a Registry of the imported definitions, outcomes per profile at as_of;
3. the imported definitions' own generated SQL (`Registry.to_sql`) on the same tables.

Each import must come with its expected status and assumptions (S1–S5, derived in
sql_import_cases.py), each refusal with its `L:C` path. A query importing under S2 runs its
original against views that hide events after as_of. The negative control `ltv / age > 10`
(DuckDB, exact under S5) must differ from DuckDB on exactly the profiles where DuckDB divides by
zero. Per-query counts go to stdout and to target/conformance/sql-import-dataset.json.

``SEGCORE_SQL_DATASET_PROFILES`` overrides the size (for quick local runs; CI uses the default).
Nothing here is skipped: a segcore without the SQL import fails.

    target/py-venv/bin/python bindings-python/tests/test_sql_import_dataset.py   # originals only
"""

from __future__ import annotations

import collections
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import duckdb
import psycopg
import pytest

import segcore
import sql_dataset
import sql_import_cases as sic

N = sql_dataset.SIZE
REPORT = Path(__file__).resolve().parents[2] / "target" / "conformance" / "sql-import-dataset.json"
PG_DATABASE = "segcore_sql_import"

Outcomes = Dict[str, str]  # entity id → "true" | "false" | "unknown"


# ---------------------------------------------------------------------------------------------
# Engines


class Engine:
    """One SQL connection with the dataset loaded, and views `past.profiles`/`past.events`
    without the events after as_of (for S2 cases)."""

    def __init__(self, name: str, fetch: Callable[[str], List[Tuple[Any, ...]]]) -> None:
        self.name = name
        self.fetch = fetch

    def run(self, sql: str) -> None:
        self.fetch(sql)

    def session(self, zone: str, past: bool) -> None:
        self.run("SET TimeZone = '%s'" % zone)
        if self.name == "duckdb":
            self.run("SET search_path = 'past'" if past else "RESET search_path")
        else:
            self.run("SET search_path = past" if past else "RESET search_path")

    def past_views(self, base: str) -> None:
        self.run("CREATE SCHEMA past")
        self.run("CREATE VIEW past.profiles AS SELECT * FROM %s.profiles" % base)
        self.run('CREATE VIEW past.events AS SELECT * FROM %s.events WHERE "at" <= %s' % (base, sic.AS_OF_SQL))

    def original(self, case: Any, past: Optional[bool] = None) -> Tuple[Outcomes, List[str]]:
        """The case's WHERE evaluated by the engine: outcome per profile, and the problems of the
        plain statement (it must return exactly the TRUE ids)."""
        self.session(case.zone, case.past if past is None else past)
        try:
            w = sic.pin_clock(case.where, case.zone)
            rows = self.fetch(sic.three_valued(w))
            members = [r[0] for r in self.fetch(sic.pin_clock(case.text, case.zone))]
        finally:
            self.session("UTC", False)
        outcomes = dict(rows)
        problems = []
        if len(outcomes) != len(rows):
            problems.append("duplicate ids in the three-valued form")
        true_ids = sorted(e for e, o in outcomes.items() if o == "true")
        if sorted(members) != true_ids:
            problems.append("the statement returns %d rows, the CASE form %d TRUE (e.g. %s)" % (
                len(members), len(true_ids), sorted(set(members) ^ set(true_ids))[:3]))
        return outcomes, problems


def _counts(outcomes: Outcomes) -> Dict[str, int]:
    c = collections.Counter(outcomes.values())
    return {"members": c["true"], "non_members": c["false"], "unknowns": c["unknown"]}


def load_dataset() -> Dict[str, Any]:
    started = time.perf_counter()
    profiles = list(sql_dataset.profiles(N))
    # The tables segcore's own SQL backend creates, for a registry reading every column.
    reg = segcore.Registry.from_definitions(sql_dataset.definitions(), schema=sql_dataset.SCHEMA)
    queries = {d: reg.to_sql(d, as_of=sql_dataset.AS_OF, fx=sql_dataset.FX) for d in ("duckdb", "postgres")}
    prows, erows = sql_dataset.table_rows(profiles, queries["duckdb"])
    print("\ndataset: %d profiles, %d events (%.1f s)" % (len(profiles), len(erows), time.perf_counter() - started))
    return {"dicts": profiles, "queries": queries, "profiles": prows, "events": erows}


@contextlib.contextmanager
def duckdb_engine(data: Dict[str, Any]) -> Iterator[Engine]:
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        sql_dataset.load_duckdb(con, data["queries"]["duckdb"], data["profiles"], data["events"])
        engine = Engine("duckdb", lambda sql: con.execute(sql).fetchall())
        engine.past_views("main")
        print("\nduckdb: loaded in %.1f s" % (time.perf_counter() - started))
        yield engine
    finally:
        con.close()


@contextlib.contextmanager
def postgres_engine(data: Dict[str, Any], admin: Any) -> Iterator[Engine]:
    """A database of its own on `admin`'s server, so the session settings and tables of the
    other PostgreSQL tests are untouched."""
    started = time.perf_counter()
    admin.execute("DROP DATABASE IF EXISTS %s" % PG_DATABASE)
    admin.execute("CREATE DATABASE %s" % PG_DATABASE)
    conn = psycopg.connect(admin.info.dsn, dbname=PG_DATABASE, autocommit=True)
    try:
        cur = conn.cursor()

        def fetch(sql: str) -> List[Tuple[Any, ...]]:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []

        fetch("SET TimeZone = 'UTC'")
        sql_dataset.load_postgres(cur, data["queries"]["postgres"], data["profiles"], data["events"])
        engine = Engine("postgres", fetch)
        engine.past_views("public")
        print("\npostgres: loaded in %.1f s" % (time.perf_counter() - started))
        yield engine
    finally:
        conn.close()
        admin.execute("DROP DATABASE IF EXISTS %s" % PG_DATABASE)


@pytest.fixture(scope="module")
def dataset() -> Dict[str, Any]:
    return load_dataset()


@pytest.fixture(scope="module")
def duck(dataset: Dict[str, Any]) -> Iterator[Engine]:
    with duckdb_engine(dataset) as engine:
        yield engine


@pytest.fixture(scope="module")
def postgres(dataset: Dict[str, Any], pg: Any) -> Iterator[Engine]:
    with postgres_engine(dataset, pg) as engine:
        yield engine


def _originals(engine: Engine, dialect: str) -> Dict[str, Any]:
    started = time.perf_counter()
    cases = sic.cases(dialect) + ([sic.NEGATIVE_CONTROL] if dialect in sic.NEGATIVE_CONTROL.dialects else [])
    out: Dict[str, Any] = {"outcomes": {}, "problems": {}, "s2_differs": {}}
    for case in cases:
        outcomes, problems = engine.original(case)
        out["outcomes"][case.id] = outcomes
        if problems:
            out["problems"][case.id] = problems
        if case.past:
            # The same text over the tables as they are (future events included): what S2 rules out.
            unrestricted, _ = engine.original(case, past=False)
            out["s2_differs"][case.id] = sum(1 for e, o in outcomes.items() if unrestricted.get(e) != o)
    # Refused texts are still SQL the engine accepts (a refusal is about semantics): plan them.
    for r in sic.REFUSALS:
        if r.dialect == dialect:
            try:
                engine.run("EXPLAIN " + sic.pin_clock(r.text, "UTC"))
            except Exception as e:  # noqa: BLE001 (reported by the test)
                out["problems"][r.id] = ["the refused text does not plan: %s" % e]
    out["seconds"] = time.perf_counter() - started
    return out


@pytest.fixture(scope="module")
def duck_original(duck: Engine) -> Dict[str, Any]:
    return _originals(duck, "duckdb")


@pytest.fixture(scope="module")
def postgres_original(postgres: Engine) -> Dict[str, Any]:
    return _originals(postgres, "postgres")


# ---------------------------------------------------------------------------------------------
# Importing


def _import(text: str, dialect: str, *, id: Optional[str] = None, zone: str = "UTC", partial: bool = False) -> Dict[str, Any]:
    try:
        return segcore.import_rule(  # type: ignore[call-arg]
            text, "sql", schema=sic.IMPORT_SCHEMA, id=id, dialect=dialect, timezone=zone, partial=partial)
    except TypeError as e:
        if "keyword" in str(e):
            pytest.fail("segcore.import_rule has no SQL import (dialect=/timezone= not accepted): %s" % e)
        raise
    except segcore.ParseError as e:
        if "unknown import format" in str(e):
            pytest.fail("segcore.import_rule does not know the format \"sql\": %s" % e)
        raise


def _report_problems(case: Any, dialect: str, out: Dict[str, Any]) -> List[str]:
    """What is wrong with a successful import's report, against the case's expectations."""
    bad = []
    if out.get("format") != "sql" or out.get("dialect") != dialect:
        bad.append("format/dialect %r/%r" % (out.get("format"), out.get("dialect")))
    engine = {"duckdb": "duckdb", "postgres": "postgresql"}[dialect]
    if engine not in str(out.get("reference", "")).lower():
        bad.append("reference %r" % out.get("reference"))
    if out.get("status") != case.status:
        bad.append("status %r, expected %r" % (out.get("status"), case.status))
    got = sorted(a["id"] for a in out.get("assumptions") or [])
    if got != sorted(case.assumptions):
        bad.append("assumptions %s, expected %s" % (got, sorted(case.assumptions)))
    for a in out.get("assumptions") or []:
        if not a.get("statement") or not isinstance(a.get("paths"), list):
            bad.append("assumption %r without statement or paths" % a.get("id"))
    if out.get("refusals"):
        bad.append("refusals %r" % out["refusals"])
    if not out.get("rule") or not isinstance(out.get("reads"), list):
        bad.append("rule %r, reads %r" % (out.get("rule"), out.get("reads")))
    definition = out.get("definition") or ""
    if "id: %s\n" % case.id not in definition or "imported:sql" not in definition:
        bad.append("definition without its id or the imported:sql tag: %r" % definition[:200])
    if (case.zone != "UTC") != ("\ntimezone:" in definition):
        bad.append("a definition has `timezone` exactly when the zone is not UTC (%s): %r" % (case.zone, definition[:300]))
    try:
        seg = segcore.Segment.from_yaml(definition, schema=out.get("schema"))
    except segcore.SegmentError as e:
        bad.append("the definition does not compile against the report's schema: %s" % e)
    else:
        if seg.id != case.id or seg.definition["timezone"] != case.zone:
            bad.append("compiled id/timezone %r/%r" % (seg.id, seg.definition["timezone"]))
        missing = set(seg.read_set["attributes"]) - set(out.get("reads") or [])
        if missing:
            bad.append("reads %r lacks %s" % (out.get("reads"), sorted(missing)))
    return bad


def _interpret(reg: Any, dicts: List[Dict[str, Any]]) -> Dict[str, Outcomes]:
    ctx = segcore.Context(sic.AS_OF)
    out: Dict[str, Outcomes] = collections.defaultdict(dict)
    for p in dicts:
        for sid, outcome in reg.outcomes(p, ctx).items():
            out[sid][p["id"]] = outcome
    return out


def _generated(engine: Engine, definitions: Dict[str, str], dialect: str) -> Tuple[Dict[str, Outcomes], Dict[str, str]]:
    """Outcomes from the generated query of the definitions (id → YAML text) on the engine's
    tables; definitions without SQL are left out and returned with the error."""
    failed: Dict[str, str] = {}
    reg = segcore.Registry.from_definitions(list(definitions.values()), schema=sic.IMPORT_SCHEMA)
    try:
        q = reg.to_sql(dialect, as_of=sic.AS_OF)
    except segcore.SegmentError:
        for sid in definitions:
            try:
                reg[sid].to_sql(dialect, as_of=sic.AS_OF)
            except segcore.SegmentError as e:
                failed[sid] = "%s: %s" % (e.kind, e)
        keep = [d for sid, d in definitions.items() if sid not in failed]
        if not keep:
            return {}, failed
        q = segcore.Registry.from_definitions(keep, schema=sic.IMPORT_SCHEMA).to_sql(dialect, as_of=sic.AS_OF)
    engine.run("DROP TABLE IF EXISTS imported_membership")
    engine.run("CREATE TEMP TABLE imported_membership AS " + q.sql)
    out: Dict[str, Outcomes] = collections.defaultdict(dict)
    for entity, segment, member, outcome in engine.fetch(
            "SELECT entity_id, segment_id, member, outcome FROM imported_membership"):
        assert member == (outcome == "true"), (entity, segment, member, outcome)
        out[segment][entity] = outcome
    return out, failed


def _round_trip(engine: Engine, dialect: str, dicts: List[Dict[str, Any]], original: Dict[str, Any]) -> Dict[str, Any]:
    cases = sic.cases(dialect) + ([sic.NEGATIVE_CONTROL] if dialect in sic.NEGATIVE_CONTROL.dialects else [])
    started = time.perf_counter()
    imported: Dict[str, Dict[str, Any]] = {}
    failures: Dict[str, str] = {}
    for case in cases:
        try:
            imported[case.id] = _import(case.text, dialect, id=case.id, zone=case.zone)
        except Exception as e:  # noqa: BLE001 (an unexpected refusal is a failure of that case only)
            failures[case.id] = "import raised %s: %s" % (type(e).__name__, e)
    report_problems = {c.id: p for c in cases if c.id in imported for p in [_report_problems(c, dialect, imported[c.id])] if p}
    definitions: Dict[str, str] = {}
    for cid, out in imported.items():
        try:
            segcore.Registry.from_definitions([out["definition"]], schema=sic.IMPORT_SCHEMA)
            definitions[cid] = out["definition"]
        except Exception as e:  # noqa: BLE001
            failures[cid] = "the definition does not compile against the import schema: %s" % e
    if not definitions:
        pytest.fail("no query imported: %s" % failures)
    reg = segcore.Registry.from_definitions(list(definitions.values()), schema=sic.IMPORT_SCHEMA)
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    interpreted = _interpret(reg, dicts)
    interpret_seconds = time.perf_counter() - started
    started = time.perf_counter()
    generated, sql_failed = _generated(engine, definitions, dialect)
    sql_seconds = time.perf_counter() - started
    for sid, err in sql_failed.items():
        failures[sid] = "no generated SQL: %s" % err
    print("\n%s: %d imported in %.1f s, interpreter %.1f s, generated SQL %.1f s, originals %.1f s"
          % (dialect, len(definitions), import_seconds, interpret_seconds, sql_seconds, original["seconds"]))
    rows = []
    for case in cases:
        orig = original["outcomes"][case.id]
        mine = interpreted.get(case.id, {})
        theirs = generated.get(case.id, {})
        bad = [e for e, o in orig.items() if mine.get(e) != o or theirs.get(e) != o]
        if len(mine) != len(orig) or len(theirs) != len(orig):
            bad += (set(mine) | set(theirs)) - set(orig)
        bad.sort()
        out = imported.get(case.id) or {}
        row = {"id": case.id, "where": case.where, "zone": case.zone, "expected_status": case.status,
               "expected_assumptions": list(case.assumptions), "status": out.get("status"),
               "assumptions": [a["id"] for a in out.get("assumptions") or []], "rule": out.get("rule"),
               **_counts(orig), "mismatches": len(bad), "mismatch_ids": bad,
               "example": None if not bad else {"id": bad[0], "sql": orig.get(bad[0]), "interpreter": mine.get(bad[0]),
                                                 "generated_sql": theirs.get(bad[0])}}
        if case is sic.NEGATIVE_CONTROL:
            row["negative_control"] = True
        if case.id in original["s2_differs"]:
            row["differs_with_future_events"] = original["s2_differs"][case.id]
        rows.append(row)
    return {"rows": rows, "failures": failures, "report_problems": report_problems, "interpreted": interpreted,
            "generated": generated}


def _print_and_save(dialect: str, trip: Dict[str, Any]) -> int:
    control = sic.NEGATIVE_CONTROL.id
    lines = ["%-26s %-12s %-10s %8s %8s %10s" % ("query", "status", "assumed", "members", "unknowns", "mismatches")]
    total = 0
    for r in trip["rows"]:
        if r["id"] != control:
            total += r["mismatches"]
        ex = r["example"]
        lines.append("%-26s %-12s %-10s %8d %8d %10d%s" % (
            r["id"], r["status"], ",".join(r["assumptions"]), r["members"], r["unknowns"], r["mismatches"],
            "" if not ex else "  e.g. %s: sql %s, interpreter %s, generated %s%s" % (
                ex["id"], ex["sql"], ex["interpreter"], ex["generated_sql"],
                " (negative control)" if r["id"] == control else "")))
    print("%s: %d queries × %d profiles, %d mismatches (negative control excluded)" % (dialect, len(trip["rows"]), N, total))
    print("\n".join(lines))
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[dialect] = {"profiles": N, "mismatches": total,
                       "queries": [{k: v for k, v in r.items() if k != "mismatch_ids"} for r in trip["rows"]],
                       "failures": trip["failures"], "report_problems": trip["report_problems"]}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return total


@pytest.fixture(scope="module")
def duck_trip(dataset: Dict[str, Any], duck: Engine, duck_original: Dict[str, Any]) -> Dict[str, Any]:
    return _round_trip(duck, "duckdb", dataset["dicts"], duck_original)


@pytest.fixture(scope="module")
def postgres_trip(dataset: Dict[str, Any], postgres: Engine, postgres_original: Dict[str, Any]) -> Dict[str, Any]:
    return _round_trip(postgres, "postgres", dataset["dicts"], postgres_original)


# ---------------------------------------------------------------------------------------------
# Tests


def _check_originals(dialect: str, original: Dict[str, Any]) -> None:
    """The SQL texts run, the plain statement agrees with the three-valued form, and no query is
    trivial: each has members and non-members (the never-TRUE ones have FALSE and UNKNOWN)."""
    lines = ["%-26s %8s %8s %8s" % ("query", "members", "false", "unknown")]
    trivial = []
    for cid, outcomes in original["outcomes"].items():
        c = _counts(outcomes)
        assert len(outcomes) == N, (cid, len(outcomes))
        lines.append("%-26s %8d %8d %8d%s" % (cid, c["members"], c["non_members"], c["unknowns"],
                                             "  (S2: %d differ with future events)" % original["s2_differs"][cid]
                                             if cid in original["s2_differs"] else ""))
        case = next(x for x in sic.CASES + [sic.NEGATIVE_CONTROL] if x.id == cid)
        if case.never_true:
            if set(outcomes.values()) != {"false", "unknown"}:
                trivial.append((cid, c))
        elif not c["members"] or not (c["non_members"] + c["unknowns"]):
            trivial.append((cid, c))
    print("\n%s originals (%.1f s):\n%s" % (dialect, original["seconds"], "\n".join(lines)))
    assert not original["problems"], original["problems"]
    assert not trivial, trivial
    if N >= 10000:
        # S2 is a real contract: the future events in the data change these answers.
        assert all(v > 0 for v in original["s2_differs"].values()), original["s2_differs"]


def test_duckdb_original_sql(duck_original: Dict[str, Any]) -> None:
    _check_originals("duckdb", duck_original)


def test_postgres_original_sql(postgres_original: Dict[str, Any]) -> None:
    _check_originals("postgres", postgres_original)


def _check_trip(dialect: str, trip: Dict[str, Any]) -> None:
    total = _print_and_save(dialect, trip)
    problems = ["%s: %s" % kv for kv in trip["failures"].items()]
    problems += ["%s: %s" % (cid, "; ".join(p)) for cid, p in trip["report_problems"].items()]
    if total:
        problems.append("%d outcomes differ among the %s original, the interpreter and the generated SQL (see the table)"
                        % (total, dialect))
    assert not problems, "\n".join(problems)


def test_duckdb_round_trip(duck_trip: Dict[str, Any]) -> None:
    _check_trip("duckdb", duck_trip)


def test_postgres_round_trip(postgres_trip: Dict[str, Any]) -> None:
    _check_trip("postgres", postgres_trip)


def test_duckdb_negative_control_s5(duck: Engine, duck_original: Dict[str, Any], duck_trip: Dict[str, Any]) -> None:
    """`ltv / age > 10` imports exact under S5 only: where age = 0 DuckDB gives +inf (or NaN for
    0/0, which DuckDB orders above every number), TRUE, and segcore null, UNKNOWN — on exactly
    those profiles, and nowhere else."""
    case = sic.NEGATIVE_CONTROL
    assert case.id not in duck_trip["failures"], duck_trip["failures"][case.id]
    row = next(r for r in duck_trip["rows"] if r["id"] == case.id)
    assert (row["status"], sorted(row["assumptions"])) == (case.status, sorted(case.assumptions)), row
    zero = {r[0] for r in duck.fetch("SELECT id FROM profiles WHERE " + sic.DIVIDES_BY_ZERO)}
    inf = duck.fetch("SELECT count(*) FROM profiles WHERE age = 0 AND ltv > 0")[0][0]
    assert inf > 0, "the dataset has no profile with age = 0 and ltv > 0: the control would prove nothing"
    orig = duck_original["outcomes"][case.id]
    mine = duck_trip["interpreted"][case.id]
    theirs = duck_trip["generated"][case.id]
    assert mine == theirs, "the interpreter and the generated SQL must agree even here"
    assert set(row["mismatch_ids"]) == zero, (len(row["mismatch_ids"]), len(zero))
    assert all(orig[e] == "true" and mine[e] == "unknown" for e in zero)
    print("\nnegative control %s: %d mismatches = the profiles with %s (%d with ltv > 0: +inf; %d with ltv = 0: NaN)"
          % (case.where, len(zero), sic.DIVIDES_BY_ZERO, inf, len(zero) - inf))


@pytest.mark.parametrize("refusal", sic.REFUSALS, ids=lambda r: r.id)
def test_refusals(refusal: Any) -> None:
    with pytest.raises(segcore.TypeCheckError) as e:
        _import(refusal.text, refusal.dialect, id=refusal.id)
    assert e.value.kind == "import_refused", e.value.kind
    out = _import(refusal.text, refusal.dialect, id=refusal.id, partial=True)
    assert (out["format"], out["dialect"], out["status"]) == ("sql", refusal.dialect, "refused"), out
    assert out["rule"] is None and out["definition"] is None, out
    assert out["refusals"], out
    assert any(k in r["construct"].lower() for r in out["refusals"] for k in refusal.construct), out["refusals"]
    if refusal.path is not None:
        assert refusal.path in [r["path"] for r in out["refusals"]], (refusal.path, out["refusals"])
        line, column = (int(x) for x in refusal.path.split(":"))
        assert refusal.path in str(e.value) or (e.value.line, e.value.column) == (line, column), (refusal.path, str(e.value))


if __name__ == "__main__":
    # The originals alone (no import needed): the SQL texts run, and their member counts.
    # `--postgres` also runs them on a throwaway PostgreSQL server.
    import sql_support

    data = load_dataset()
    with duckdb_engine(data) as engine:
        _check_originals("duckdb", _originals(engine, "duckdb"))
    if "--postgres" in sys.argv:
        with sql_support.postgres_server() as dsn:
            with psycopg.connect(dsn, autocommit=True) as admin:
                with postgres_engine(data, admin) as engine:
                    _check_originals("postgres", _originals(engine, "postgres"))
