"""Golden-file tests of the SQL generator, for dialects this environment cannot run.

BigQuery and Snowflake have no local engine, so their generated SQL is pinned byte for byte
in ``tests/sql/golden/<dialect>.sql`` (DuckDB, PostgreSQL and Spark too, for review: the diff
of a generator change shows every dialect at once). The definitions in
``tests/sql/golden/definitions.json`` exercise every construct the generator translates for
both BigQuery and Snowflake.

Each dialect is checked three ways:

1. regenerating the query (and the input tables' DDL) gives exactly the committed golden file;
2. sqlglot parses the committed query in that dialect, with ``ErrorLevel.RAISE``;
3. sqlglot parses the ``CREATE TABLE`` statements of ``SqlQuery.ddl`` in that dialect, and
   they declare exactly the columns ``profile_columns`` / ``event_columns`` report.

sqlglot only checks syntax (it accepts unknown functions and never type-checks), so a passing
parse is necessary, not sufficient; the goldens are for human review of semantics.

After an intended generator change, regenerate and review the diff:

    target/py-venv/bin/python scripts/update_sql_golden.py
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

import segcore

sqlglot = pytest.importorskip("sqlglot", reason="pip install sqlglot")
from sqlglot import exp  # noqa: E402
from sqlglot.errors import ErrorLevel  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "update_sql_golden.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("update_sql_golden", SCRIPT)
    assert spec is not None and spec.loader is not None, f"cannot load {SCRIPT}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = _load_script()
DIALECTS = golden.DIALECTS
# segcore dialect name -> sqlglot dialect name (identical today; kept explicit on purpose).
SQLGLOT_DIALECT = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark",
                   "bigquery": "bigquery", "snowflake": "snowflake"}
MAX_DIFF_LINES = 120


@pytest.fixture(scope="module")
def fixture():
    return golden.load_fixture()


@pytest.fixture(scope="module")
def queries(fixture):
    return {d: golden.generate(d, fixture) for d in DIALECTS}


def _diff(expected: str, actual: str, path: Path) -> str:
    rel = path.relative_to(REPO)
    lines = list(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=f"{rel} (committed)", tofile=f"{rel} (generated now)", n=1,
    ))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)\n"]
    # Generated lines can be very long: cut each one so the message stays readable, and show
    # the first difference in context.
    out = "".join(l if len(l) <= 400 else l[:400] + " …[line cut]\n" for l in lines)
    return out + _first_difference(expected, actual)


def _first_difference(expected: str, actual: str) -> str:
    for no, (a, b) in enumerate(zip(expected.splitlines(), actual.splitlines()), start=1):
        if a != b:
            col = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            lo = max(0, col - 80)
            return (f"first difference: line {no}, column {col + 1}\n"
                    f"  committed: …{a[lo:col + 120]}…\n"
                    f"  generated: …{b[lo:col + 120]}…\n")
    return "the texts differ in their number of lines or line endings\n"


def _parse(sql: str, dialect: str, what: str):
    """Statements of ``sql`` as sqlglot reads them in ``dialect``; a parse error fails the test."""
    try:
        parsed = sqlglot.parse(sql, read=SQLGLOT_DIALECT[dialect], error_level=ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as e:
        error = str(e)
    else:
        return [s for s in parsed if s is not None]
    pytest.fail(f"sqlglot cannot parse {what} as {dialect}:\n{error[:4000]}", pytrace=False)


def test_fixture_covers_every_dialect(fixture):
    """Every golden definition translates for every dialect (a refusal raises here)."""
    ids = [d["id"] for d in fixture["definitions"]]
    assert len(ids) == len(set(ids)), "duplicate ids in definitions.json"
    for dialect in DIALECTS:
        q = golden.generate(dialect, fixture)
        for seg_id in ids:
            assert f"'{seg_id}' AS segment_id" in q.sql, (dialect, seg_id)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sql_matches_golden(dialect, fixture):
    problems = []
    for path, text in golden.rendered(dialect, fixture).items():
        rel = path.relative_to(REPO)
        if not path.exists():
            problems.append(f"{rel} is missing")
            continue
        with path.open(encoding="utf-8", newline="") as f:
            committed = f.read()
        if committed != text:
            problems.append(f"{rel} differs from the generated text:\n{_diff(committed, text, path)}")
    assert not problems, (
        "\n\n".join(problems)
        + f"\n\nIf the change is intended, regenerate the goldens and review the diff:\n"
        f"    {golden.UPDATE_COMMAND}\n"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql_parses(dialect):
    sql_path, _ = golden.golden_paths(dialect)
    sql = sql_path.read_text(encoding="utf-8")
    statements = _parse(sql, dialect, str(sql_path.relative_to(REPO)))
    assert len(statements) == 1, f"expected one statement, sqlglot found {len(statements)}"
    query = statements[0]
    assert isinstance(query, (exp.Union, exp.Select)), type(query).__name__
    ctes = query.args.get("with") or query.find(exp.With)
    assert ctes is not None, "the query has no WITH clause"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ddl_parses(dialect, queries):
    q = queries[dialect]
    statements = _parse(q.ddl, dialect, f"the DDL\n{q.ddl}")
    assert [type(s) for s in statements] == [exp.Create, exp.Create], q.ddl
    expected = {"profiles": [c[0] for c in q.profile_columns], "events": [c[0] for c in q.event_columns]}
    for create in statements:
        table = create.find(exp.Table)
        assert table is not None and table.name in expected, create.sql()
        cols = [c.name for c in create.find_all(exp.ColumnDef)]
        assert cols == expected[table.name], (dialect, table.name, cols)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_fingerprint_sql_parses(dialect, queries):
    """SPEC §24's fingerprint SQL — over a table, and per segment over the membership query —
    reads as one SELECT in every dialect (BigQuery and Snowflake are checked no further)."""
    for what, sql in (
        ("table", segcore.fingerprint_sql(dialect, table="crm.members", id_column="user_id", filter="segment = 'vip'")),
        ("membership", segcore.fingerprint_sql(dialect, membership_sql=queries[dialect].sql, key="crm-2026")),
    ):
        statements = _parse(sql, dialect, f"the {what} fingerprint SQL")
        assert len(statements) == 1 and isinstance(statements[0], exp.Select), (dialect, what)
        assert "sfp1:" in sql
