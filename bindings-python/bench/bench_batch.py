"""Batch evaluation: segcore's frame path beside polars, pandas (and DuckDB when installed).

Run: target/py-venv/bin/python bindings-python/bench/bench_batch.py [profiles] [events]
(defaults 1,000,000 profiles and 10,000,000 events). Prints millions of profiles per second for
R1 and R2, the median of 3 runs each, checks that every engine finds the same members, and prints
segcore's throughput as a ratio of each peer's measured in the same run (evaluate_batch runs the
core's columnar engine).
"""
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

import segcore

AS_OF = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)
R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500'
R2 = 'country in ["US","CA","GB"] and count(purchase within 90d) >= 2'
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "ES", "BR", "JP"]


def data(n_profiles, n_events, seed=7):
    rng = np.random.default_rng(seed)
    profiles = pa.table(
        {
            "id": pa.array(np.arange(n_profiles, dtype=np.int64)),
            "age": pa.array(rng.integers(10, 80, n_profiles)),
            "country": pa.array(np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n_profiles)]),
            "plan": pa.array(np.array(["free", "pro", "team"])[rng.integers(0, 3, n_profiles)]),
            "ltv": pa.array(rng.integers(0, 1000, n_profiles)),
        }
    )
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    at = as_of_us - rng.integers(0, 365 * 86_400_000_000, n_events)
    events = pa.table(
        {
            "entity_id": pa.array(rng.integers(0, n_profiles, n_events)),
            "name": pa.array(np.array(["purchase", "login"])[rng.integers(0, 2, n_events)]),
            "at": pa.array(at, type=pa.timestamp("us", tz="UTC")),
        }
    )
    return profiles, events


def timed(fn, runs=3):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    n_p = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_e = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    t = time.perf_counter()
    profiles, events = data(n_p, n_e)
    print("generated %d profiles and %d events in %.1fs" % (n_p, n_e, time.perf_counter() - t))
    cutoff = AS_OF - timedelta(days=90)
    r1, r2 = segcore.compile(R1), segcore.compile(R2)
    ctx = segcore.Context(AS_OF)
    rows = []

    s1, m1 = timed(lambda: r1.evaluate_batch(profiles, context=ctx))
    s2, m2 = timed(lambda: r2.evaluate_batch(profiles, events, context=ctx))
    want1, want2 = m1.to_pylist(), m2.to_pylist()
    rows.append(("segcore (pyarrow in, Rust core)", s1, s2))

    ppl, epl = pl.from_arrow(profiles), pl.from_arrow(events)

    def polars_r1():
        return ppl.select(((pl.col("age") >= 18) & pl.col("country").is_in(["US", "CA", "GB"]) & (pl.col("plan") == "pro") & (pl.col("ltv") > 500)).alias("m"))["m"]

    def polars_r2():
        counts = epl.filter((pl.col("name") == "purchase") & (pl.col("at") >= cutoff) & (pl.col("at") <= AS_OF)).group_by("entity_id").len()
        joined = ppl.join(counts, left_on="id", right_on="entity_id", how="left")
        return joined.select((pl.col("country").is_in(["US", "CA", "GB"]) & (pl.col("len").fill_null(0) >= 2)).alias("m"))["m"]

    p1, r = timed(polars_r1)
    assert r.to_list() == want1
    p2, r = timed(polars_r2)
    assert r.to_list() == want2
    rows.append(("polars (hand-written, in memory)", p1, p2))

    pdf, edf = profiles.to_pandas(), events.to_pandas()

    def pandas_r1():
        return (pdf["age"] >= 18) & pdf["country"].isin(["US", "CA", "GB"]) & (pdf["plan"] == "pro") & (pdf["ltv"] > 500)

    def pandas_r2():
        e = edf[(edf["name"] == "purchase") & (edf["at"] >= cutoff) & (edf["at"] <= AS_OF)]
        counts = e.groupby("entity_id").size()
        return pdf["country"].isin(["US", "CA", "GB"]) & (pdf["id"].map(counts).fillna(0) >= 2)

    q1, r = timed(pandas_r1)
    assert list(r) == want1
    q2, r = timed(pandas_r2)
    assert list(r) == want2
    rows.append(("pandas (hand-written, in memory)", q1, q2))

    try:
        import duckdb
    except ImportError:
        duckdb = None
    if duckdb is not None:
        con = duckdb.connect()
        con.register("profiles", profiles)
        con.register("events", events)
        sql1 = "select age >= 18 and country in ('US','CA','GB') and plan = 'pro' and ltv > 500 from profiles order by id"
        sql2 = (
            "select p.country in ('US','CA','GB') and coalesce(c.n, 0) >= 2 from profiles p left join "
            "(select entity_id, count(*) n from events where name = 'purchase' and \"at\" >= ? and \"at\" <= ? group by entity_id) c "
            "on p.id = c.entity_id order by p.id"
        )
        d1, _ = timed(lambda: con.execute(sql1).to_arrow_table())
        d2, _ = timed(lambda: con.execute(sql2, [cutoff, AS_OF]).to_arrow_table())
        rows.append(("DuckDB (hand-written SQL, Arrow scan)", d1, d2))
    else:
        print("(DuckDB not installed: pip install duckdb to add it)")

    print("%-40s %14s %14s" % ("engine", "R1 M profiles/s", "R2 M profiles/s"))
    for name, a, b in rows:
        print("%-40s %14.2f %14.2f" % (name, n_p / a / 1e6, n_p / b / 1e6))
    # Ratios of throughput in this run (> 1: segcore is faster), members identical (asserted).
    _, s1, s2 = rows[0]
    print()
    print("%-40s %14s %14s" % ("segcore throughput ÷ peer's", "R1", "R2"))
    for name, a, b in rows[1:]:
        print("%-40s %14.2f %14.2f" % ("÷ " + name.split(" (")[0], a / s1, b / s2))


if __name__ == "__main__":
    main()
