"""Shared fixtures: one throwaway PostgreSQL server per test session (started on first use,
stopped at the end), for the SQL differential tests."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import sql_support


@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    psycopg = pytest.importorskip("psycopg", reason="pip install psycopg[binary]")
    with sql_support.postgres_server() as dsn:
        conn = psycopg.connect(dsn, autocommit=True)
        try:
            yield conn
        finally:
            conn.close()
