"""The SQL `WHERE` clauses test_sql_import_dataset.py imports (SPEC §29.5) and runs over the
generated dataset of sql_dataset.py, with the status and assumptions each must import with.

Every text is a statement `SELECT id FROM profiles AS p WHERE <where>` on one line, over the
tables segcore's own SQL backend creates for sql_dataset.SCHEMA (`profiles(id, <attributes>)`,
`events(entity_id, seq, name, at, <properties>)`).

Expected assumptions, derived by SPEC §29.5's rules (S1 is in every list: every text reads a
column):

- S2 — an aggregate whose `e.at` has no upper bound by `NOW()` (`<= NOW()` / `< NOW()`);
- S3 — a string *order* comparison (`<`, `>`, …) without `COLLATE "C"`, and `MIN`/`MAX` of a
  string; string `=`, `<>`, `IN`, `IS DISTINCT FROM`, `LIKE` and `COUNT(DISTINCT)` are exact;
- S4 — integer `+ - *` and integer `SUM`;
- S5 — DuckDB division whose divisor is neither a non-zero literal nor `NULLIF(y, 0)`, and
  float arithmetic.

So every import is `exact_under` (never plain `exact`).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import sql_dataset

AS_OF = sql_dataset.AS_OF
AS_OF_SQL = "TIMESTAMPTZ '2026-03-30 09:30:00+00'"
NY = "America/New_York"
SELECT = "SELECT id FROM profiles AS p WHERE "


def import_schema() -> Dict[str, Any]:
    """sql_dataset.SCHEMA as SQL import declares it: `sdk` (semver there) as the string its
    column holds, and no money — `wallet` and `purchase.amount` are two columns each, refused in
    v1 (SPEC §29.5 *Schema*)."""
    attrs = {k: v for k, v in sql_dataset.SCHEMA["attributes"].items() if v != "money"}
    attrs["sdk"] = "string"
    events = {ev: {k: v for k, v in props.items() if v != "money"} for ev, props in sql_dataset.SCHEMA["events"].items()}
    return {"attributes": attrs, "events": events}


IMPORT_SCHEMA = import_schema()


@dataclass(frozen=True)
class Case:
    id: str
    where: str
    assumptions: Tuple[str, ...]
    dialects: Tuple[str, ...] = ("duckdb", "postgres")
    zone: str = "UTC"
    # Run the original against views hiding events after as_of (the S2 contract, §5.1 of
    # research/importers/sql.md).
    past: bool = False
    # By design no profile is a member (a three-valued-logic check): assert exactly that.
    never_true: bool = False
    note: str = ""

    @property
    def text(self) -> str:
        return SELECT + self.where

    @property
    def status(self) -> str:
        return "exact_under" if self.assumptions else "exact"


def _events(agg: str, event: str, *conds: str) -> str:
    where = " AND ".join(("e.entity_id = p.id", "e.name = '%s'" % event) + conds)
    return "(SELECT %s FROM events AS e WHERE %s)" % (agg, where)


def _exists(event: str, *conds: str, negated: bool = False) -> str:
    where = " AND ".join(("e.entity_id = p.id", "e.name = '%s'" % event) + conds)
    return "%sEXISTS (SELECT 1 FROM events AS e WHERE %s)" % ("NOT " if negated else "", where)


UP_TO_NOW = "e.at <= NOW()"

CASES = [
    Case("adults", "age >= 18", ("S1",)),
    Case("na_pro", "country IN ('US', 'CA') AND plan = 'pro'", ("S1",), note="string equality is exact"),
    Case("outside_core_eu", "country NOT IN ('DE', 'FR', NULL)", ("S1",), never_true=True,
         note="NOT IN with a NULL item is never TRUE (FALSE or UNKNOWN)"),
    Case("mid_score", "score BETWEEN 0.25 AND 0.75", ("S1",), note="float column vs decimal literals, on the edges"),
    Case("ltv_beats_score", "ltv > score", ("S1",), note="int vs float: ltv 2^53+1 rounds to a double"),
    Case("value_per_year", "ltv / NULLIF(age, 0) > 10", ("S1",), dialects=("duckdb",),
         note="DuckDB double division; PostgreSQL truncates (refused there)"),
    Case("name_order", "name > 'S' OR name LIKE 'Ö%'", ("S1", "S3"), note="code point order over Unicode names"),
    Case("name_like", "name LIKE '%an%' OR name LIKE '%e'", ("S1",)),
    Case("not_like_any", "NOT (name LIKE '%')", ("S1",), never_true=True,
         note="FALSE for every name, UNKNOWN (not FALSE) for a NULL one"),
    Case("gmail", "email IS NULL OR email LIKE '%@gmail.com'", ("S1",)),
    Case("non_vip_not_both", "vip IS NOT TRUE AND NOT (age > 30 AND score > 0.5)", ("S1",)),
    Case("plan_default", "COALESCE(plan, 'free') = 'free'", ("S1",)),
    Case("not_us", "country IS DISTINCT FROM 'US'", ("S1",), note="total: no UNKNOWN"),
    Case("app_v2", "app_version LIKE '2.%'", ("S1",), note="app_version is a string column"),
    Case("age_gt_1e1", "age > 1e1", ("S1",), note="DuckDB: 1e1 is a DOUBLE; PostgreSQL: numeric"),
    Case("case_vip", "CASE WHEN vip THEN age > 30 ELSE age > 50 END", ("S1",)),
    Case("recent_signup", "signup_at >= NOW() - INTERVAL '7 days'", ("S1",), note="future signups pass"),
    Case("signup_within_7d", "signup_at BETWEEN NOW() - INTERVAL '7 days' AND NOW()", ("S1",)),
    Case("seen_since_yesterday", "last_seen >= CURRENT_DATE - INTERVAL '1 day'", ("S1",)),
    Case("seen_since_yesterday_ny", "last_seen >= CURRENT_DATE - INTERVAL '1 day'", ("S1",), zone=NY,
         note="local midnight in New York (DST edges in EDGES)"),
    Case("born_before_2000", "birthday < DATE '2000-01-01'", ("S1",)),
    Case("signup_before_march_ny", "signup_at < TIMESTAMP '2026-03-01 00:00:00'", ("S1",), zone=NY,
         note="a zone-less literal read in the session zone"),
    Case("recent_buyer", _exists("purchase", "e.at >= NOW() - INTERVAL '90 days'", UP_TO_NOW), ("S1",),
         note="purchases on the 90-day edge, ±1 µs"),
    Case("repeat_buyer", _events("COUNT(*)", "purchase", UP_TO_NOW) + " >= 2", ("S1",), note="COUNT of nothing is 0"),
    Case("bulk_a", _events("SUM(e.qty)", "purchase", "e.sku LIKE 'A%'", UP_TO_NOW) + " > 3", ("S1", "S4"),
         note="SUM of nothing is NULL"),
    Case("few_units", "COALESCE(" + _events("SUM(e.qty)", "purchase", "e.at <= CURRENT_TIMESTAMP") + ", 0) <= 3",
         ("S1", "S4"), note="COALESCE(SUM, 0), CURRENT_TIMESTAMP"),
    Case("no_mobile_login", _exists("login", "e.device IN ('ios', 'android')", "e.at >= NOW() - INTERVAL '14 days'",
                                    negated=True), ("S1", "S2"), past=True,
         note="no upper bound on e.at: S2, the original runs on views without future events"),
    Case("slow_pages", _events("MAX(e.ms)", "page_view", "e.at >= NOW() - INTERVAL '30 days'", UP_TO_NOW) + " > 5000",
         ("S1",), note="MAX of nothing is NULL"),
    Case("early_sku", _events("MIN(e.sku)", "purchase", UP_TO_NOW) + " < 'B'", ("S1", "S3"),
         note="MIN of a string: S3"),
    Case("browsing", _events("COUNT(DISTINCT e.path)", "page_view", UP_TO_NOW) + " >= 3", ("S1",)),
    Case("logged_in", "p.id IN (SELECT e.entity_id FROM events AS e WHERE e.name = 'login' AND e.at <= NOW())",
         ("S1",)),
    Case("name_order_c", "name COLLATE \"C\" > 'S'", ("S1",), dialects=("postgres",),
         note="COLLATE \"C\": code point order without S3"),
]

# §5.6: exact only under S5. DuckDB divides by zero where age = 0 (+inf, or NaN for 0/0, and
# DuckDB orders NaN above every number, so both are > 10 = TRUE) where segcore's division gives
# null (UNKNOWN): the mismatches must be exactly those profiles.
NEGATIVE_CONTROL = Case("ltv_per_age", "ltv / age > 10", ("S1", "S5"), dialects=("duckdb",))
DIVIDES_BY_ZERO = "age = 0 AND ltv IS NOT NULL"


@dataclass(frozen=True)
class Refusal:
    id: str
    where: str
    dialect: str
    # The refused expression's first character as the parser spans it: for an infix construct
    # its left operand's; for an interval its value (sqlparser's span of `INTERVAL '1 month'` is
    # the string literal's, quote included). None: the path is not checked.
    at: Optional[str]
    # Any of these (case-insensitive) in the refusal's `construct`.
    construct: Tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        return SELECT + self.where

    @property
    def path(self) -> Optional[str]:
        if self.at is None:
            return None
        text = self.text
        start = text.index(self.at, len(SELECT))
        assert "\n" not in text[:start]
        return "1:%d" % (start + 1)


REFUSALS = [
    Refusal("ilike", "name ILIKE 'ana'", "duckdb", "name", ("ilike",)),
    Refusal("like_underscore", "name LIKE 'A_a'", "duckdb", "name", ("like", "_")),
    Refusal("month_interval", "signup_at >= NOW() - INTERVAL '1 month'", "duckdb", "'1 month'", ("month", "interval")),
    Refusal("avg_qty", _events("AVG(e.qty)", "purchase", UP_TO_NOW) + " > 2", "duckdb", None, ("avg",)),
    Refusal("pg_int_division", "ltv / age > 10", "postgres", "ltv", ("/", "division")),
    Refusal("ilike_pg", "name ILIKE 'ana'", "postgres", "name", ("ilike",)),
]


def as_of_date(zone: str) -> str:
    t = dt.datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))
    return t.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()


def pin_clock(sql: str, zone: str) -> str:
    """The text with the clock pinned to as_of (SPEC §29.5's convention): NOW() and
    CURRENT_TIMESTAMP are as_of, CURRENT_DATE its date in the session zone. By text, since
    neither engine lets all three be redefined."""
    sql = re.sub(r"\bNOW\(\)", AS_OF_SQL, sql, flags=re.I)
    sql = re.sub(r"\bCURRENT_TIMESTAMP\b", AS_OF_SQL, sql, flags=re.I)
    return re.sub(r"\bCURRENT_DATE\b", "DATE '%s'" % as_of_date(zone), sql, flags=re.I)


def three_valued(where: str) -> str:
    return ("SELECT p.id, CASE WHEN (%s) THEN 'true' WHEN NOT (%s) THEN 'false' ELSE 'unknown' END "
            "FROM profiles AS p" % (where, where))


def cases(dialect: str) -> list:
    return [c for c in CASES if dialect in c.dialects]
