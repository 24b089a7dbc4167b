"""segcore.spark.evaluate in local mode: throughput, Spark's own floor, and the generated Spark SQL.

Run: target/py-venv/bin/python bindings-python/bench/bench_spark.py [profiles] [--sql]
(default 100,000 profiles of the SQL tests' dataset, 47 segments, ~3 events per profile;
local[2], the test session's settings from bindings-python/tests/spark_env.py). Every figure is
the best of 3 warm runs writing to Spark's no-op sink. Prints:

* ``floor``: the same projection, union and hash partitioning handed to a Python function that
  only reads the Arrow batches — what Spark spends moving the data, with no evaluation at all;
* ``evaluate``: ``segcore.spark.evaluate`` end to end (membership rows out, one per profile and
  segment), and its throughput as a share of the floor's;
* with ``--sql``: the generated Spark SQL (``Registry.to_sql("spark")``) on the same frames, and
  the ratio (it is slow: minutes at 100,000 profiles).

Both routes are checked to find the same number of members before anything is timed.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import spark_env  # noqa: E402

problem = spark_env.configure()
if problem is not None:
    sys.exit("Spark cannot run here: " + problem)

import segcore  # noqa: E402
import segcore.spark as ss  # noqa: E402
import sql_dataset  # noqa: E402
import sql_support  # noqa: E402
from test_spark import frame  # noqa: E402


def best(label: str, run: Callable[[], Any], n: int) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    t = min(times)
    print("%-34s %7.2f s  %9.0f profiles/s" % (label, t, n / t), flush=True)
    return t


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    spark = spark_env.session("segcore-bench-spark")
    reg = segcore.Registry.from_definitions(sql_dataset.definitions(), schema=sql_dataset.SCHEMA)
    query = reg.to_sql("spark", as_of=sql_dataset.AS_OF, fx=sql_dataset.FX)
    prows, erows = [], []
    for p in sql_dataset.profiles(n):
        a, b = sql_support.rows(p, query)
        prows.append(a)
        erows.extend(b)
    profiles = frame(spark, query.profile_columns, prows).cache()
    events = frame(spark, query.event_columns, erows).cache()
    print("%d profiles, %d events, %d segments, Spark %s local[2]" % (profiles.count(), events.count(), len(reg),
                                                                       spark.version))

    def noop(df: Any) -> None:
        df.write.format("noop").mode("overwrite").save()

    def evaluate() -> Any:
        return ss.evaluate(profiles, events, reg, sql_dataset.AS_OF, fx=sql_dataset.FX, outcome=True)

    members = evaluate().where("member").count()
    if "--sql" in sys.argv:
        profiles.createOrReplaceTempView("profiles")
        events.createOrReplaceTempView("events")
        sql_members = spark.sql(query.sql).where("member").count()
        assert sql_members == members, (sql_members, members)
    print("%d memberships" % members)

    # The floor: evaluate's plan with a Python function that reads its input and returns nothing.
    real = ss._evaluate_partition

    def drain(batches: Iterator[Any], *_: Any) -> Iterator[Any]:
        for _batch in batches:
            pass
        return iter(())

    ss._evaluate_partition = drain  # type: ignore[assignment]
    floor_df = evaluate()
    ss._evaluate_partition = real  # type: ignore[assignment]
    floor = best("floor (move data, no evaluation)", lambda: noop(floor_df), n)
    full = best("segcore.spark.evaluate", lambda: noop(evaluate()), n)
    print("evaluate ÷ floor throughput: %.2f (1.0 = evaluation is free)" % (floor / full))
    if "--sql" in sys.argv:
        sql = best("generated Spark SQL", lambda: noop(spark.sql(query.sql)), n)
        print("segcore.spark.evaluate ÷ generated Spark SQL throughput: %.1f" % (sql / full))
    spark_env.stop(spark)


if __name__ == "__main__":
    main()
