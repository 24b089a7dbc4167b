"""Generated SQL vs hand-written SQL in DuckDB, over Parquet (BENCHMARKS.md, "SQL backend").

Builds the bench dataset inside DuckDB (1,000,000 profiles, 10,000,000 events by default;
deterministic hashes, no Python loops), writes it as Parquet, and times for R1 and R2:

- the query `segcore sql` generates (the full membership table of the segment, materialized),
- a hand-written query for the same rule producing the same (entity_id, member) rows,

each the median of several runs, and prints the ratio. Also checks both give the same members.

    target/py-venv/bin/python bindings-python/bench/bench_sql.py [--profiles N] [--events N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

import segcore

AS_OF = "2026-03-30T09:30:00Z"
SCHEMA = {
    "attributes": {"age": "int", "country": "string", "plan": "string", "ltv": "int"},
    "events": {"purchase": {}, "login": {}, "page_view": {}},
}
RULES = {
    "R1": 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500',
    "R2": 'country in ["US","CA","GB"] and count(purchase within 90d) >= 2',
}
HAND = {
    "R1": """SELECT id AS entity_id,
       COALESCE(age >= 18 AND country IN ('US', 'CA', 'GB') AND plan = 'pro' AND ltv > 500, FALSE) AS member
FROM profiles""",
    "R2": """SELECT p.id AS entity_id,
       COALESCE(p.country IN ('US', 'CA', 'GB') AND COALESCE(c.n, 0) >= 2, FALSE) AS member
FROM profiles p
LEFT JOIN (SELECT entity_id, count(*) AS n FROM events
           WHERE name = 'purchase'
             AND "at" >= TIMESTAMPTZ '2026-03-30 09:30:00+00' - INTERVAL 90 DAY
             AND "at" <= TIMESTAMPTZ '2026-03-30 09:30:00+00'
           GROUP BY entity_id) c ON c.entity_id = p.id""",
}


def build(con: duckdb.DuckDBPyConnection, folder: Path, profiles: int, events: int) -> None:
    con.execute(f"""COPY (
        SELECT 'u' || i AS id,
               CAST(hash(i, 1) % 80 AS BIGINT) AS age,
               ['US', 'CA', 'GB', 'DE', 'FR', 'JP'][CAST(hash(i, 2) % 6 AS INTEGER) + 1] AS country,
               ['free', 'pro', 'team'][CAST(hash(i, 3) % 3 AS INTEGER) + 1] AS plan,
               CAST(hash(i, 4) % 2000 AS BIGINT) AS ltv
        FROM range({profiles}) r(i)) TO '{folder}/profiles.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (
        SELECT 'u' || (hash(j, 5) % {profiles}) AS entity_id,
               j AS seq,
               ['purchase', 'login', 'page_view'][CAST(hash(j, 6) % 3 AS INTEGER) + 1] AS name,
               TIMESTAMPTZ '2026-03-30 09:30:00+00' - to_seconds(CAST(hash(j, 7) % (200 * 86400) AS BIGINT)) AS at
        FROM range({events}) r(j)) TO '{folder}/events.parquet' (FORMAT parquet)""")


def timed(con: duckdb.DuckDBPyConnection, sql: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        con.execute("CREATE OR REPLACE TEMP TABLE result AS " + sql)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        build(con, folder, args.profiles, args.events)
        print("dataset: %d profiles, %d events as Parquet (%.1f s to build)" % (args.profiles, args.events, time.perf_counter() - started))
        con.execute(f"CREATE VIEW profiles AS SELECT * FROM '{folder}/profiles.parquet'")
        con.execute(f"CREATE VIEW events AS SELECT * FROM '{folder}/events.parquet'")
        print("%-4s %14s %14s %8s %22s" % ("rule", "generated", "hand-written", "ratio", "generated, all columns"))
        for name, rule in RULES.items():
            reg = segcore.Registry.from_definitions([{"id": name.lower(), "version": "1.0.0", "rule": rule}], schema=SCHEMA)
            generated = reg.to_sql("duckdb", as_of=AS_OF).sql
            # The same rows as the hand-written query: (entity_id, member).
            g = timed(con, "SELECT entity_id, member FROM (%s) AS q" % generated, args.runs)
            members_g = con.execute("SELECT count(*) FROM result WHERE member").fetchone()[0]
            full = timed(con, generated, args.runs)
            h = timed(con, HAND[name], args.runs)
            members_h = con.execute("SELECT count(*) FROM result WHERE member").fetchone()[0]
            assert members_g == members_h, (name, members_g, members_h)
            print("%-4s %11.1f ms %11.1f ms %7.2fx %19.1f ms   (%d members)" % (
                name, g * 1000, h * 1000, g / h, full * 1000, members_g))


if __name__ == "__main__":
    main()
