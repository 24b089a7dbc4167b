#!/usr/bin/env python3
# Checks the hand-derived `import.sql.*` cases of tests/conformance/import.json against the SQL
# engines themselves — DuckDB (the `duckdb` package in the venv, in memory) and PostgreSQL (a
# throwaway server from bindings-python/tests/sql_support.py, one for all cases) — never
# against segcore. Nothing is written.
#
#   target/py-venv/bin/python tests/import/sql-conformance.py [--check] [FILE]
#
# FILE is the conformance file (default tests/conformance/import.json) or a bare JSON array of
# cases (for checking new cases before they are appended). Without --check every case gets a
# line; with --check only problems and the tally are printed. Exit 1 on any problem.
#
# For a case with `expect.import.outcomes` (SPEC §29.5 membership convention: a member is a
# profile whose row the query returns when run at the instant `as_of` in a session whose
# TimeZone is the case's `timezone`; the outcome is the WHERE's three-valued value):
#
#   1. tables `profiles(id, <one column per schema attribute>)` and
#      `events(entity_id, seq, name, at, <one column per property of any event>)` with the
#      column types of SPEC §21 (bool BOOLEAN, int BIGINT, float DOUBLE / double precision,
#      decimal DECIMAL(38,18) / numeric, string VARCHAR / text, timestamp TIMESTAMPTZ, date
#      DATE), one row per listed profile (ids u0, u1, … in order) and per event (seq in order);
#   2. `SET TimeZone` to the case's zone (default UTC);
#   3. the clock pinned by text: `NOW()` and `CURRENT_TIMESTAMP` become
#      `TIMESTAMPTZ '<as_of>'`, `CURRENT_DATE` becomes `DATE '<as_of's date in the zone>'`;
#   4. w = the text after the statement's first WHERE (or the whole text when it is a bare
#      expression); `SELECT p.id, CASE WHEN (w) THEN 'true' WHEN NOT (w) THEN 'false' ELSE
#      'unknown' END FROM profiles AS p` must give each profile's expected outcome, and the
#      statement itself (`SELECT id FROM profiles AS p WHERE w` for a bare expression) must
#      return exactly the 'true' ids.
#
# Refused cases (`import_refused`) are run once on empty tables: the text must be SQL the
# engine accepts (a refusal is about semantics, not syntax), and their `path`, when given, must
# be a position inside the text. Invalid cases (`import_invalid`) must be rejected by the engine.
#
# PostgreSQL cases are skipped with a message when PostgreSQL is not installed; under CI=true
# that is a failure.

import datetime as dt
import decimal
import json
import os
import re
import sys
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT = os.path.join(ROOT, "tests", "conformance", "import.json")
sys.path.insert(0, os.path.join(ROOT, "bindings-python", "tests"))

import sql_support  # noqa: E402  (postgres_server, pg_bin)

TYPES = {
    "duckdb": {"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "decimal": "DECIMAL(38,18)",
               "string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "date": "DATE"},
    "postgres": {"bool": "boolean", "int": "bigint", "float": "double precision", "decimal": "numeric",
                 "string": "text", "timestamp": "timestamptz", "date": "date"},
}
PROFILE_ROLES = {"id"}
EVENT_ROLES = {"entity_id", "seq", "name", "at"}
ASSUMPTION_ORDER = ["S1", "S2", "S3", "S4", "S5"]
RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PATH = re.compile(r"^([1-9]\d*):([1-9]\d*)$")


class CaseError(Exception):
    """The case itself is malformed (not an engine disagreement)."""


# ---------------------------------------------------------------------------------------------
# Values


def instant(s):
    m = RFC3339.match(s) if isinstance(s, str) else None
    if not m:
        raise CaseError(f"not an RFC 3339 UTC instant (…Z, at most µs): {s!r}")
    frac = (m.group(2) or ".0")[1:].ljust(6, "0")
    return dt.datetime.fromisoformat(f"{m.group(1)}.{frac}+00:00")


def typed(v, ty, where):
    """A JSON value as the Python value for a column of schema type `ty`, strictly: a JSON
    integer is an int, so a float column needs a JSON number with a point or an exponent."""
    if v is None:
        return None
    ok = {
        "bool": lambda: isinstance(v, bool),
        "int": lambda: isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63,
        "float": lambda: isinstance(v, float),
        "decimal": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda: isinstance(v, str),
        "timestamp": lambda: isinstance(v, str) and RFC3339.match(v),
        "date": lambda: isinstance(v, str) and DATE.match(v),
    }[ty]()
    if not ok:
        raise CaseError(f"{where}: {json.dumps(v)} is not a {ty}")
    if ty == "timestamp":
        return instant(v)
    if ty == "date":
        return dt.date.fromisoformat(v)
    if ty == "decimal":
        return decimal.Decimal(repr(v))
    return v


def columns(case):
    schema = case.get("schema") or {}
    attrs = list((schema.get("attributes") or {}).items())
    props = {}
    for ev, ps in (schema.get("events") or {}).items():
        for p, ty in (ps or {}).items():
            if props.setdefault(p, ty) != ty:
                raise CaseError(f"property {p} has two types across events")
    for name, _ in attrs:
        if name in PROFILE_ROLES:
            raise CaseError(f"{name} is the profiles table's id column, not an attribute")
    for name in props:
        if name in EVENT_ROLES:
            raise CaseError(f"{name} is an events role column, not a property")
    return attrs, list(props.items())


def table_rows(case, attrs, props):
    schema_events = (case.get("schema") or {}).get("events") or {}
    prows, erows = [], []
    for i, o in enumerate(case["expect"]["import"]["outcomes"]):
        pid = f"u{i}"
        profile = o["profile"]
        values = profile.get("attributes") or {}
        unknown = set(values) - {a for a, _ in attrs}
        if unknown:
            raise CaseError(f"{pid}: attributes not in the schema: {sorted(unknown)}")
        prows.append([pid] + [typed(values.get(a), ty, f"{pid}.{a}") for a, ty in attrs])
        for seq, e in enumerate(profile.get("events") or []):
            if e.get("name") not in schema_events:
                raise CaseError(f"{pid}: event {e.get('name')!r} is not in the schema")
            ps = e.get("properties") or {}
            declared = schema_events[e["name"]] or {}
            unknown = set(ps) - set(declared)
            if unknown:
                raise CaseError(f"{pid}: {e['name']} properties not in the schema: {sorted(unknown)}")
            erows.append([pid, seq, e["name"], instant(e.get("at"))]
                         + [typed(ps.get(p), ty, f"{pid}.{e['name']}.{p}") for p, ty in props])
    return prows, erows


# ---------------------------------------------------------------------------------------------
# SQL text


def pin_clock(sql, as_of, zone):
    t = instant(as_of)
    ts = "TIMESTAMPTZ '%s+00'" % t.strftime("%Y-%m-%d %H:%M:%S.%f")
    day = t.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()
    sql = re.sub(r"\bNOW\s*\(\s*\)", ts, sql, flags=re.I)
    sql = re.sub(r"\bCURRENT_TIMESTAMP\b", ts, sql, flags=re.I)
    return re.sub(r"\bCURRENT_DATE\b", f"DATE '{day}'", sql, flags=re.I)


def is_statement(sql):
    return re.match(r"\s*SELECT\b", sql, flags=re.I) is not None


def where_and_statement(sql):
    """(w, statement): the WHERE expression and the statement that selects the members."""
    if not is_statement(sql):
        return sql, f"SELECT id FROM profiles AS p WHERE {sql}"
    m = re.search(r"\sWHERE\s", sql, flags=re.I)
    if not m:
        return "TRUE", sql
    return sql[m.end():], sql


def position_ok(text, path):
    m = PATH.match(path)
    if not m:
        return False
    line, col = int(m.group(1)), int(m.group(2))
    lines = text.split("\n")
    return line <= len(lines) and col <= len(lines[line - 1]) and not lines[line - 1][col - 1].isspace()


# ---------------------------------------------------------------------------------------------
# Engines


class DuckDB:
    name = "DuckDB"

    def __init__(self):
        import duckdb

        self.version = duckdb.__version__
        self.mod = duckdb
        self.con = None

    def load(self, case, attrs, props, prows, erows):
        t = TYPES["duckdb"]
        self.con = self.mod.connect(":memory:")
        self.con.execute("SET TimeZone = '%s'" % case.get("timezone", "UTC"))
        self.con.execute("CREATE TABLE profiles (id VARCHAR, %s)" % ", ".join(f'"{a}" {t[ty]}' for a, ty in attrs) if attrs
                         else "CREATE TABLE profiles (id VARCHAR)")
        self.con.execute("CREATE TABLE events (entity_id VARCHAR, seq BIGINT, name VARCHAR, \"at\" TIMESTAMPTZ%s)"
                         % "".join(f', "{p}" {t[ty]}' for p, ty in props))
        if prows:
            self.con.executemany("INSERT INTO profiles VALUES (%s)" % ", ".join("?" * len(prows[0])), prows)
        if erows:
            self.con.executemany("INSERT INTO events VALUES (%s)" % ", ".join("?" * len(erows[0])), erows)

    def query(self, sql):
        return self.con.execute(sql).fetchall()

    def error_types(self):
        return (self.mod.Error,)


class Postgres:
    name = "PostgreSQL"

    def __init__(self, dsn):
        import psycopg

        self.psycopg = psycopg
        self.con = psycopg.connect(dsn, autocommit=True)
        self.version = self.con.execute("SHOW server_version").fetchone()[0]

    def load(self, case, attrs, props, prows, erows):
        t = TYPES["postgres"]
        c = self.con
        c.execute("DROP TABLE IF EXISTS profiles, events")
        c.execute("SET TimeZone = '%s'" % case.get("timezone", "UTC"))
        c.execute("CREATE TABLE profiles (id text%s)" % "".join(f', "{a}" {t[ty]}' for a, ty in attrs))
        c.execute("CREATE TABLE events (entity_id text, seq bigint, name text, at timestamptz%s)"
                  % "".join(f', "{p}" {t[ty]}' for p, ty in props))
        with c.cursor() as cur:
            if prows:
                cur.executemany("INSERT INTO profiles VALUES (%s)" % ", ".join(["%s"] * len(prows[0])), prows)
            if erows:
                cur.executemany("INSERT INTO events VALUES (%s)" % ", ".join(["%s"] * len(erows[0])), erows)

    def query(self, sql):
        return self.con.execute(sql).fetchall()

    def error_types(self):
        return (self.psycopg.Error,)

    def close(self):
        self.con.close()


# ---------------------------------------------------------------------------------------------
# Cases


def lint(case):
    """Problems with the case's shape (the same for every engine)."""
    problems = []
    if not str(case.get("id", "")).startswith("import.sql."):
        problems.append("id does not start with import.sql.")
    if case.get("dialect") not in ("duckdb", "postgres"):
        problems.append(f"dialect {case.get('dialect')!r} is not duckdb or postgres")
    if not isinstance(case.get("source_text"), str):
        problems.append("no source_text")
    expect = case.get("expect") or {}
    if "import" in expect:
        imp = expect["import"]
        a = imp.get("assumptions", [])
        if [x for x in ASSUMPTION_ORDER if x in a] != a:
            problems.append(f"assumptions {a} are not distinct S1–S5 in order")
        if (imp.get("status") == "exact") != (a == []):
            problems.append(f"status {imp.get('status')} with assumptions {a}")
        if imp.get("status") not in ("exact", "exact_under"):
            problems.append(f"status {imp.get('status')!r}")
        if "as_of" not in case:
            problems.append("no as_of")
        if not imp.get("outcomes"):
            problems.append("no outcomes")
        for o in imp.get("outcomes", []):
            if o.get("outcome") not in ("true", "false", "unknown"):
                problems.append(f"outcome {o.get('outcome')!r}")
    elif "error" in expect:
        kind = expect["error"].get("kind")
        if kind not in ("import_refused", "import_invalid"):
            problems.append(f"error kind {kind!r}")
        path = expect["error"].get("path")
        if path is not None and not position_ok(case.get("source_text", ""), path):
            problems.append(f"path {path!r} is not L:C of a character in source_text")
    else:
        problems.append("expect is neither import nor error")
    return problems


def check_outcomes(engine, case):
    attrs, props = columns(case)
    prows, erows = table_rows(case, attrs, props)
    engine.load(case, attrs, props, prows, erows)
    zone = case.get("timezone", "UTC")
    sql = pin_clock(case["source_text"], case["as_of"], zone)
    w, statement = where_and_statement(sql)
    got = dict(engine.query(
        f"SELECT p.id, CASE WHEN ({w}) THEN 'true' WHEN NOT ({w}) THEN 'false' ELSE 'unknown' END FROM profiles AS p"))
    problems = []
    outcomes = case["expect"]["import"]["outcomes"]
    for i, o in enumerate(outcomes):
        pid = f"u{i}"
        if got.get(pid) != o["outcome"]:
            problems.append(f"{pid} {json.dumps(o['profile'], ensure_ascii=False)}: case says {o['outcome']}, "
                            f"{engine.name} {got.get(pid)}")
    members = sorted(r[0] for r in engine.query(statement))
    expected = sorted(f"u{i}" for i, o in enumerate(outcomes) if o["outcome"] == "true")
    if members != expected:
        problems.append(f"the statement returns {members}, the 'true' outcomes are {expected}")
    return problems, len(outcomes)


def check_error(engine, case):
    """Refused: the engine runs the text (on empty tables); invalid: the engine rejects it."""
    attrs, props = columns(case)
    engine.load(case, attrs, props, [], [])
    sql = pin_clock(case["source_text"], case.get("as_of", "2026-03-30T09:30:00Z"), case.get("timezone", "UTC"))
    _, statement = where_and_statement(sql)
    try:
        engine.query(statement)
        error = None
    except engine.error_types() as e:
        error = str(e).strip().splitlines()[0]
    kind = case["expect"]["error"]["kind"]
    if kind == "import_refused" and error is not None:
        return [f"refused, but {engine.name} does not run it either ({error}): is it import_invalid?"]
    if kind == "import_invalid" and error is None:
        return [f"invalid, but {engine.name} runs it"]
    return []


def run_case(engine, case):
    if "import" in case["expect"]:
        return check_outcomes(engine, case)
    return check_error(engine, case), 0


def main(argv):
    quiet = "--check" in argv
    args = [a for a in argv if a != "--check"]
    path = args[0] if args else DEFAULT
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    cases = [c for c in (doc["cases"] if isinstance(doc, dict) else doc) if c.get("from") == "sql"]
    ids = [c["id"] for c in cases]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    failures = [f"duplicate ids: {dup}"] if dup else []
    for f in failures:
        print(f)

    tally = {"duckdb": [0, 0], "postgres": [0, 0]}  # cases, profiles checked
    kinds = {"outcomes": 0, "import_refused": 0, "import_invalid": 0}
    bad_cases = set()
    skipped = []

    def kind_of(case):
        expect = case.get("expect") or {}
        return "outcomes" if "import" in expect else str((expect.get("error") or {}).get("kind"))

    def report(case, problems, n, engine_name):
        d = str(case.get("dialect"))
        tally.setdefault(d, [0, 0])
        tally[d][0] += 1
        tally[d][1] += n
        kinds[kind_of(case)] = kinds.get(kind_of(case), 0) + 1
        if problems:
            bad_cases.add(case.get("id"))
            for p in problems:
                failures.append(f"{case['id']}: {p}")
                print(f"{case['id']}: {p}")
        elif not quiet:
            what = f"{n} profiles agree" if n else kind_of(case)
            print(f"ok  {case['id']} ({engine_name}: {what})")

    def run_all(engine, dialect):
        for case in cases:
            if case.get("dialect") != dialect:
                continue
            problems = lint(case)
            n = 0
            if not problems:
                try:
                    more, n = run_case(engine, case)
                    problems += more
                except CaseError as e:
                    problems.append(f"malformed case: {e}")
                except engine.error_types() as e:
                    problems.append(f"{engine.name} error: {str(e).strip().splitlines()[0]}")
            report(case, problems, n, engine.name)

    for case in cases:
        if case.get("dialect") not in ("duckdb", "postgres"):
            report(case, lint(case), 0, "-")

    duck = DuckDB()
    run_all(duck, "duckdb")
    engines = [f"DuckDB {duck.version}"]

    pg_cases = [c for c in cases if c.get("dialect") == "postgres"]
    if pg_cases:
        if sql_support.pg_bin() is None:
            skipped = pg_cases
            for case in pg_cases:  # the shape is still checked
                for problem in lint(case):
                    failures.append(f"{case['id']}: {problem}")
                    print(f"{case['id']}: {problem}")
            print(f"SKIPPED {len(pg_cases)} postgres cases: PostgreSQL is not installed "
                  "(apt-get install postgresql; sql_support.pg_bin() looks in /usr/lib/postgresql)")
        else:
            with sql_support.postgres_server() as dsn:
                pg = Postgres(dsn)
                try:
                    run_all(pg, "postgres")
                    engines.append(f"PostgreSQL {pg.version}")
                finally:
                    pg.close()

    d, p = tally["duckdb"], tally["postgres"]
    print(f"{', '.join(engines)}: {len(cases)} sql cases ({kinds['outcomes']} with outcomes, "
          f"{kinds['import_refused']} refused, {kinds['import_invalid']} invalid); "
          f"duckdb {d[0]} cases / {d[1]} profiles, postgres {p[0]} cases / {p[1]} profiles"
          f"{f' ({len(skipped)} skipped)' if skipped else ''}; {len(failures)} mismatches in {len(bad_cases)} cases")
    if failures:
        return 1
    if skipped and os.environ.get("CI") == "true":
        print("CI=true: skipping the PostgreSQL cases is a failure")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
