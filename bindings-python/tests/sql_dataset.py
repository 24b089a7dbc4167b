"""A generated dataset and a registry of segments that together use every construct the SQL
backend supports, with the nasty corners on purpose: nulls and missing keys, events exactly on
window edges and on `as_of`, future events, DST days in America/New_York and Europe/Berlin,
timestamps written with offsets and microseconds, Unicode names, money in three currencies.

Deterministic: `profiles(n, seed)` always returns the same data.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from typing import Any, Dict, Iterator, List, Sequence, Tuple

# The dataset's size: `SEGCORE_SQL_DATASET_PROFILES` overrides it (for quick local runs; CI uses
# the default).
SIZE = int(os.environ.get("SEGCORE_SQL_DATASET_PROFILES", "100000"))

AS_OF = "2026-03-30T09:30:00Z"  # a Monday: 05:30 in New York (EDT), 11:30 in Berlin (CEST, since Mar 29)
FX = {"EUR/USD": "1.0842", "GBP/USD": "1.2710", "USD/EUR": "0.9223", "GBP/EUR": "1.1720"}

SCHEMA: Dict[str, Any] = {
    "attributes": {
        "age": "int",
        "country": "string",
        "plan": "string",
        "ltv": "int",
        "score": "float",
        "vip": "bool",
        "email": "string",
        "name": "string",
        "signup_at": "timestamp",
        "last_seen": "timestamp",
        "birthday": "date",
        "wallet": "money",
        "app_version": "string",
        "sdk": "semver",
    },
    "events": {
        "purchase": {"amount": "money", "sku": "string", "qty": "int"},
        "login": {"device": "string"},
        "page_view": {"path": "string", "ms": "int"},
    },
}

NY = "America/New_York"
BERLIN = "Europe/Berlin"

# (id, rule, extra definition fields)
SEGMENTS: List[tuple] = [
    ("adults", "age >= 18", {}),
    ("north_america", 'country in ["US", "CA"]', {}),
    ("outside_core_eu", 'country not in ["DE", "FR", "IT"]', {}),
    ("pro_valuable", 'plan = "pro" and ltv > 500', {}),
    ("mid_score", "score between 0.25 and 0.75", {}),
    ("score_beats_ltv", "score > ltv or score = age", {}),
    ("vip", "vip = true", {}),
    ("not_vip", "not vip", {}),
    ("no_email", "email is null", {}),
    ("gmail", 'email ends_with "@gmail.com" and email not contains "+"', {}),
    ("name_shapes", 'name contains "an" or name starts_with "Ö" or name > "S"', {}),
    ("short_name", "length(name) between 3 and 6", {}),
    ("strasse", 'fold(name) = "straße" or fold(name) = fold("ΣΊΣΥΦΟΣ")', {}),
    ("recent_signup", "signup_at within 7d", {}),
    ("signup_today_ny", "signup_at within today", {"timezone": NY}),
    ("signup_yesterday_berlin", "signup_at within yesterday or last_seen within last_week", {"timezone": BERLIN}),
    ("signup_this_month_ny", "signup_at within this_month and not (last_seen within last_month)", {"timezone": NY}),
    ("fresh_berlin", "days_since(signup_at) < 30 and days_since(last_seen) >= 0", {"timezone": BERLIN}),
    ("weekend_ny", "day_of_week(signup_at) >= 6", {"timezone": NY}),
    ("night_owl_berlin", "hour(last_seen) < 6 or hour(signup_at) = 2", {"timezone": BERLIN}),
    ("born_before_2000", 'birthday < date("2000-01-01") and date(last_seen) > birthday', {"timezone": NY}),
    ("calendar_starts", "start_of_month(last_seen) <= signup_at or start_of_week(last_seen) = start_of_day(last_seen)",
     {"timezone": BERLIN}),
    ("long_gap", "last_seen - signup_at > 30d", {}),
    ("ending_soon", "signup_at + 90d > as_of and signup_at - 1h < as_of", {}),
    ("bucket_10", 'bucket(id, "spring-2026") < 10', {}),
    ("repeat_buyer", "count(purchase within 90d) >= 2", {}),
    ("big_spender", "sum(purchase.amount within 90d) > 500 USD", {}),
    ("mobile_login", 'exists(login where device = "ios" or device = "android" within 14d)', {}),
    ("bulk_buyer", "avg(purchase.qty) >= 2 or sum(purchase.qty where sku starts_with \"A\") > 3", {}),
    ("slow_pages", "max(page_view.ms within 30d) > 5000 or min(page_view.ms) < 100", {}),
    ("browsing", "distinct_count(page_view.path within 30d) >= 3 or exists(page_view within this_week)", {"timezone": NY}),
    ("early_buyer", 'first(purchase).at before "2026-01-01T00:00:00Z" or last(purchase).sku = "A-1"', {}),
    ("rich_wallet_eur", "wallet > 100 EUR", {"currency": "EUR"}),
    ("wallet_plus", "wallet + 10 USD >= 200 USD", {}),
    ("plan_default", 'coalesce(plan, "free") = "free"', {}),
    ("around_forty", "abs(age - 40) < 5 and floor(score) = 0 and ceil(score) <= 1", {}),
    ("value_per_year", "ltv / age > 10", {}),
    ("not_both", "not (age > 30 and score > 0.5)", {}),
    ("late_logins", 'count(login where at after "2026-03-29T00:00:00+02:00") > 0', {}),
    ("modern_app", 'semver(app_version) >= "2.3.0" and sdk < "5.0.0-rc.2"', {}),
    ("legacy_app", 'semver(app_version) < "2.0.0-rc.1.x" or sdk = "4.1.0+build.7"', {}),
    ("unparsable_version", "semver(app_version) is null and app_version is not null or sdk is null", {}),
    ("email_pattern", r'email matches "^[a-z]+(\\+[a-z]+)?@gmail\\.com$" or name matches "(?i)^straße$|σίσυφος|^\\w{3}$"', {}),
    ("dotted_name", 'name matches "^multi.line$" or name not matches "^[^aeiou]*$"', {}),
    ("adult_non_vip", 'in_segment("adults") and not in_segment("vip")', {}),
    ("future_launch", "age > 0", {"effective_from": "2026-04-01T00:00:00Z"}),
    ("retired_rule", "age > 0", {"effective_until": "2026-03-01T00:00:00Z"}),
]


def definitions() -> List[Dict[str, Any]]:
    out = []
    for sid, rule, extra in SEGMENTS:
        d = {"id": sid, "version": "1.0.0", "rule": rule}
        d.update(extra)
        out.append(d)
    return out


_AS_OF = dt.datetime(2026, 3, 30, 9, 30, tzinfo=dt.timezone.utc)

# Instants that sit exactly on a window edge, on as_of, or on DST transitions.
EDGES = [
    _AS_OF,  # as_of itself (inclusive)
    _AS_OF + dt.timedelta(microseconds=1),  # just in the future
    _AS_OF - dt.timedelta(days=7),  # `within 7d` lower edge
    _AS_OF - dt.timedelta(days=7, microseconds=1),
    _AS_OF - dt.timedelta(days=14),
    _AS_OF - dt.timedelta(days=30),
    _AS_OF - dt.timedelta(days=90),
    _AS_OF - dt.timedelta(days=90, microseconds=1),
    dt.datetime(2026, 3, 30, 4, 0, tzinfo=dt.timezone.utc),  # start of today, New York
    dt.datetime(2026, 3, 30, 3, 59, 59, 999999, tzinfo=dt.timezone.utc),
    dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.timezone.utc),  # start of today, Berlin
    dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.timezone.utc),  # start of yesterday, Berlin (CET)
    dt.datetime(2026, 3, 22, 23, 0, tzinfo=dt.timezone.utc),  # start of last week, Berlin
    dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.timezone.utc),  # start of this month, New York
    dt.datetime(2026, 2, 1, 5, 0, tzinfo=dt.timezone.utc),  # start of last month, New York
    dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=dt.timezone.utc),  # New York springs forward
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.timezone.utc),
    dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.timezone.utc),  # Berlin springs forward
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 11, 2, 5, 30, tzinfo=dt.timezone.utc),  # New York's repeated hour
    dt.datetime(2025, 11, 2, 6, 30, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.timezone.utc),  # Berlin's repeated hour
    dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc),
    dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
]

NAMES = ["Ana", "Jan", "Dan", "Öskar", "Straße", "STRAßE", "strasse", "Σίσυφος", "ΣΊΣΥΦΟΣ", "e\u0301mile",
         "émile", "😀smile", "", "Zoë", "multi\nline", "multi line", "STRAẞE", "Ångström", "K\u212aelvin", "Susan", "Bo"]


VERSIONS = ["2.3.0", "2.3.0-beta", "2.3.0+build.1", "2.2.9", "10.0.0", "2.3.1-rc.1", "v2.3.0", "2.3", "02.3.0",
            "2.0.0-rc.1", "2.0.0-rc.1.x", "2.0.0-rc.1.a", "2.0.0-rc.1.x.y", "2.0.0-rc.10", "2.0.0-rc.2", "2.0.0-1",
            "2.0.0-alpha", "2.0.0-rc", "1.9.9", "2.0.0", "5.0.0-rc.2", "5.0.0-rc.10", "5.0.0-rc.1", "5.0.0", "4.1.0",
            "4.1.0+build.7", "4.1.0+other", "18446744073709551616.0.0", "1.0.0-99999999999999999999", "1.0.0-01",
            "2.0.0-rc.01", "1.0.0-", "1.0.0+", "5.0.0-RC.3", "5.0.0-rc-2"]


def _ts(r: random.Random) -> str:
    if r.random() < 0.2:
        t = r.choice(EDGES)
    else:
        t = _AS_OF - dt.timedelta(seconds=r.randint(-2 * 86400, 130 * 86400), microseconds=r.randint(0, 999999))
    # Written with various offsets: the instant is what counts.
    offset = r.choice([0, 0, 60, 120, -300, -240, 330])
    local = t.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    text = local.isoformat()
    return text.replace("+00:00", "Z") if offset == 0 and r.random() < 0.5 else text


def _maybe(r: random.Random, attrs: Dict[str, Any], key: str, value: Any, missing: float = 0.08) -> None:
    x = r.random()
    if x < missing:
        return
    attrs[key] = None if x < missing * 1.5 else value


def _money(r: random.Random) -> Dict[str, str]:
    return {"amount": "%d.%02d" % (r.randint(0, 400), r.randint(0, 99)), "currency": r.choice(["USD", "USD", "EUR", "GBP"])}


def profiles(n: int, seed: int = 7) -> Iterator[Dict[str, Any]]:
    r = random.Random(seed)
    for i in range(n):
        attrs: Dict[str, Any] = {}
        _maybe(r, attrs, "age", r.choice([0, 17, 18, 35, 36, 40, 44, 45, 80]) if r.random() < 0.3 else r.randint(10, 80))
        _maybe(r, attrs, "country", r.choice(["US", "CA", "GB", "DE", "FR", "IT", "JP", "us"]))
        _maybe(r, attrs, "plan", r.choice(["free", "pro", "team"]))
        _maybe(r, attrs, "ltv", r.choice([0, 500, 501, 2**53 + 1]) if r.random() < 0.1 else r.randint(0, 2000))
        _maybe(r, attrs, "score", r.choice([0.25, 0.75, 0.5, 0.0, 1.0, 35.0]) if r.random() < 0.2 else round(r.random(), 3))
        _maybe(r, attrs, "vip", r.random() < 0.2)
        _maybe(r, attrs, "email", r.choice(["a@gmail.com", "b+x@gmail.com", "c@example.com", "d@GMAIL.com"]), 0.2)
        _maybe(r, attrs, "name", r.choice(NAMES))
        _maybe(r, attrs, "signup_at", _ts(r))
        _maybe(r, attrs, "last_seen", _ts(r))
        _maybe(r, attrs, "birthday", "%04d-%02d-%02d" % (r.randint(1950, 2015), r.randint(1, 12), r.randint(1, 28)), 0.3)
        _maybe(r, attrs, "wallet", _money(r), 0.3)
        _maybe(r, attrs, "app_version", r.choice(VERSIONS))
        _maybe(r, attrs, "sdk", r.choice(VERSIONS))
        events = []
        for _ in range(r.choice([0, 0, 1, 2, 3, 4, 6, 8])):
            kind = r.choice(["purchase", "login", "page_view"])
            props: Dict[str, Any] = {}
            if kind == "purchase":
                _maybe(r, props, "amount", _money(r), 0.05)
                _maybe(r, props, "sku", r.choice(["A-1", "A-2", "B-1"]))
                _maybe(r, props, "qty", r.randint(1, 5))
            elif kind == "login":
                _maybe(r, props, "device", r.choice(["ios", "android", "web"]))
            else:
                _maybe(r, props, "path", r.choice(["/", "/pricing", "/docs", "/blog"]))
                _maybe(r, props, "ms", r.choice([99, 100, 5000, 5001]) if r.random() < 0.3 else r.randint(10, 9000))
            events.append({"name": kind, "at": _ts(r), "properties": props})
        yield {"id": "u%06d" % i, "attributes": attrs, "events": events}


# ---------------------------------------------------------------------------------------------
# The dataset as SQL tables (the columns of a query from `Registry.to_sql` over `definitions()`,
# which reads every attribute and property of SCHEMA)


def table_rows(profiles: Sequence[Dict[str, Any]], query: Any) -> Tuple[List[List[Any]], List[List[Any]]]:
    """Typed rows of the profiles and events tables, in `query`'s columns."""
    import sql_support

    prows: List[List[Any]] = []
    erows: List[List[Any]] = []
    for p in profiles:
        a, b = sql_support.rows(p, query)
        prows.append(a)
        erows.extend(b)
    return prows, erows


def load_duckdb(con: Any, query: Any, prows: List[List[Any]], erows: List[List[Any]]) -> None:
    """Creates `query`'s tables on a DuckDB connection and fills them (through Arrow)."""
    import sql_support

    con.execute(query.ddl)
    for table, columns, rows in (("profiles", query.profile_columns, prows), ("events", query.event_columns, erows)):
        con.register("_segcore_rows", sql_support.arrow_table(columns, rows))
        con.execute("INSERT INTO %s SELECT * FROM _segcore_rows" % table)
        con.unregister("_segcore_rows")


def load_postgres(cur: Any, query: Any, prows: List[List[Any]], erows: List[List[Any]]) -> None:
    """(Re)creates `query`'s tables through a psycopg cursor, fills them with COPY, indexes and
    analyzes them."""
    cur.execute("DROP TABLE IF EXISTS profiles; DROP TABLE IF EXISTS events;")
    cur.execute(query.ddl)
    for table, rows in (("profiles", prows), ("events", erows)):
        with cur.copy("COPY %s FROM STDIN" % table) as copy:
            for row in rows:
                copy.write_row(row)
    cur.execute("CREATE INDEX ON events (entity_id, name, at); ANALYZE profiles; ANALYZE events;")
