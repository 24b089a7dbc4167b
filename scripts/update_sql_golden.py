#!/usr/bin/env python3
"""Regenerates the SQL golden files in tests/sql/golden/ from tests/sql/golden/definitions.json.

BigQuery and Snowflake cannot run in the test environment, so their generated SQL is pinned by
golden files (and parsed with sqlglot by bindings-python/tests/test_sql_golden.py). DuckDB,
PostgreSQL and Spark are written too, for review: a diff of the goldens shows exactly how a
change to the SQL generator affects every dialect.

For each dialect D this writes:

- ``tests/sql/golden/D.sql``: the membership query (``to_sql(...).sql``), byte for byte;
- ``tests/sql/golden/D.ddl.sql``: the ``CREATE TABLE`` statements of its input tables.

Usage (with the Python binding installed, e.g. the repo's venv)::

    target/py-venv/bin/python scripts/update_sql_golden.py           # rewrite the goldens
    target/py-venv/bin/python scripts/update_sql_golden.py --check   # exit 1 if any differs

Review the diff before committing: a golden file changes only when the generator does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO / "tests" / "sql" / "golden"
DEFINITIONS = GOLDEN_DIR / "definitions.json"
DIALECTS = ("duckdb", "postgres", "spark", "bigquery", "snowflake")
UPDATE_COMMAND = "target/py-venv/bin/python scripts/update_sql_golden.py"


def load_fixture() -> Dict:
    with DEFINITIONS.open(encoding="utf-8") as f:
        return json.load(f)


def generate(dialect: str, fixture: Optional[Dict] = None):
    """The ``SqlQuery`` for ``dialect`` from the golden definitions (one registry)."""
    import segcore

    fixture = fixture if fixture is not None else load_fixture()
    registry = segcore.Registry.from_definitions(fixture["definitions"], schema=fixture["schema"])
    return registry.to_sql(dialect, as_of=fixture["as_of"], fx=fixture["fx"])


def golden_paths(dialect: str) -> Tuple[Path, Path]:
    """(query golden, DDL golden) of ``dialect``."""
    return GOLDEN_DIR / f"{dialect}.sql", GOLDEN_DIR / f"{dialect}.ddl.sql"


def rendered(dialect: str, fixture: Optional[Dict] = None) -> Dict[Path, str]:
    """Every golden file of ``dialect`` and the text it should hold."""
    q = generate(dialect, fixture)
    sql_path, ddl_path = golden_paths(dialect)
    return {sql_path: q.sql, ddl_path: q.ddl}


def _read(path: Path) -> str:
    # newline="" keeps line endings exactly as stored: the comparison is byte for byte.
    with path.open(encoding="utf-8", newline="") as f:
        return f.read()


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a golden file is stale")
    ap.add_argument("dialects", nargs="*", default=list(DIALECTS), help="dialects (default: all)")
    args = ap.parse_args(argv)
    fixture = load_fixture()
    stale = []
    for dialect in args.dialects:
        if dialect not in DIALECTS:
            ap.error(f"unknown dialect {dialect!r} (expected one of {', '.join(DIALECTS)})")
        for path, text in rendered(dialect, fixture).items():
            current = _read(path) if path.exists() else None
            rel = path.relative_to(REPO)
            if current == text:
                print(f"unchanged {rel}")
                continue
            stale.append(rel)
            if args.check:
                print(f"stale     {rel}")
            else:
                _write(path, text)
                print(f"wrote     {rel}")
    if args.check and stale:
        print(f"\n{len(stale)} golden file(s) out of date; run: {UPDATE_COMMAND}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
