#!/usr/bin/env python3
"""SPEC §24's fingerprint computed by DuckDB over its own table, against peers in the same run:
a plain count(*), count(DISTINCT id), and segcore's native fingerprint of the same ids.

    target/py-venv/bin/python scripts/bench-fingerprint-sql.py [ROWS]   (default 10,000,000)
"""
import sys
import time

import duckdb
import segcore

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
con = duckdb.connect()
con.execute("CREATE TABLE members AS SELECT 'user-' || lpad(CAST(i AS VARCHAR), 8, '0') AS id FROM range(%d) t(i)" % n)


def best(sql, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    return min(times), out


fp_sql = segcore.fingerprint_sql("duckdb", table="members", id_column="id")
t_count, _ = best("SELECT count(*) FROM members")
t_count_id, _ = best("SELECT sum(length(id)) FROM members")
t_distinct, _ = best("SELECT count(DISTINCT id) FROM members")
t_fp, fp = best(fp_sql)
ids = [r[0] for r in con.execute("SELECT id FROM members").fetchall()]
t_native = float("inf")
for _ in range(3):
    t = time.perf_counter()
    native = segcore.fingerprint(ids)
    t_native = min(t_native, time.perf_counter() - t)
assert fp[0][0] == str(native), (fp, native)
print("DuckDB %s, %d rows, %d threads" % (duckdb.__version__, n, con.execute("SELECT current_setting('threads')").fetchone()[0]))
print("  count(*)              %8.1f ms" % (t_count * 1e3))
print("  sum(length(id))       %8.1f ms  (a scan that reads every id)" % (t_count_id * 1e3))
print("  count(DISTINCT id)    %8.1f ms" % (t_distinct * 1e3))
print("  fingerprint (SQL)     %8.1f ms  = %.1f× the scan, %.2f× count(DISTINCT id)" % (
    t_fp * 1e3, t_fp / t_count_id, t_fp / t_distinct))
print("  segcore.fingerprint   %8.1f ms  (the same ids from a Python list; equal text)" % (t_native * 1e3))
