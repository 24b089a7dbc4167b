"""Single-profile evaluation from Python: R1 and R2 from a dict and from a pre-converted handle.

Run: target/py-venv/bin/python bindings-python/bench/bench_single.py
Prints median ns per evaluation over several repeats (timeit), beside a plain Python lambda.
"""
import statistics
import timeit
from datetime import datetime, timedelta, timezone

import segcore

AS_OF = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)
R1 = 'age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500'
R2 = 'country in ["US","CA","GB"] and count(purchase within 90d) >= 2'


def profile():
    events = [
        {"name": "purchase", "at": (AS_OF - timedelta(days=2 * k)).isoformat(), "properties": {"amount": 10 + k}}
        for k in range(200)
    ]
    return {"id": "u1", "attributes": {"age": 30, "country": "GB", "plan": "pro", "ltv": 900, "email": "a@b.c"}, "events": events}


def median_ns(fn, number):
    runs = timeit.repeat(fn, number=number, repeat=7)
    return statistics.median(runs) / number * 1e9


def main():
    p = profile()
    r1, r2 = segcore.compile(R1), segcore.compile(R2)
    handle = segcore.Profile(p)
    ctx = segcore.Context(AS_OF)
    as_of_str = AS_OF.isoformat()
    cutoff = AS_OF - timedelta(days=90)
    parsed = [(e["name"], datetime.fromisoformat(e["at"])) for e in p["events"]]
    py_r1 = lambda: p["attributes"]["age"] >= 18 and p["attributes"]["country"] in ("US", "CA", "GB") and p["attributes"]["plan"] == "pro" and p["attributes"]["ltv"] > 500  # noqa: E731
    py_r2 = lambda: p["attributes"]["country"] in ("US", "CA", "GB") and sum(1 for n, t in parsed if n == "purchase" and cutoff <= t <= AS_OF) >= 2  # noqa: E731
    assert r1.evaluate(p, as_of=AS_OF) and r2.evaluate(p, as_of=AS_OF) and py_r1() and py_r2()
    rows = [
        ("plain Python lambda (the floor)", median_ns(py_r1, 200_000), median_ns(py_r2, 2_000)),
        ("segcore, dict + as_of datetime", median_ns(lambda: r1.evaluate(p, as_of=AS_OF), 50_000), median_ns(lambda: r2.evaluate(p, as_of=AS_OF), 2_000)),
        ("segcore, dict + as_of string", median_ns(lambda: r1.evaluate(p, as_of=as_of_str), 50_000), median_ns(lambda: r2.evaluate(p, as_of=as_of_str), 2_000)),
        ("segcore, dict + Context", median_ns(lambda: r1.evaluate(p, context=ctx), 50_000), median_ns(lambda: r2.evaluate(p, context=ctx), 2_000)),
        ("segcore, dict + Context positional", median_ns(lambda: r1.evaluate(p, ctx), 50_000), median_ns(lambda: r2.evaluate(p, ctx), 2_000)),
        ("segcore, Profile handle + Context", median_ns(lambda: r1.evaluate(handle, context=ctx), 200_000), median_ns(lambda: r2.evaluate(handle, context=ctx), 200_000)),
        ("segcore, handle + Context positional", median_ns(lambda: r1.evaluate(handle, ctx), 200_000), median_ns(lambda: r2.evaluate(handle, ctx), 200_000)),
    ]
    print("%-36s %10s %12s" % ("engine", "R1 ns", "R2 ns"))
    for name, a, b in rows:
        print("%-36s %10.0f %12.0f" % (name, a, b))


if __name__ == "__main__":
    main()
