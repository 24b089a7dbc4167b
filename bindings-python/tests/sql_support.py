"""Shared pieces of the SQL differential tests: a throwaway PostgreSQL server, typed table
loading for DuckDB and PostgreSQL, and inferring a schema from a conformance case's data.

SQL tables have typed columns, so generated SQL needs declared types (a schema). Conformance
cases mostly have none: their data is typed here from the JSON values, and a case whose rule
does not compile or translate under that schema is counted as "not expressible in SQL" (the
interpreter still runs it in every other runtime).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Optional[Path]:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = sorted((p for p in root.iterdir() if (p / "bin" / "postgres").exists()), key=lambda p: int(p.name))
    return versions[-1] / "bin" if versions else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Starts a PostgreSQL server on 127.0.0.1 (trust auth, data in a temp dir) and stops it.

    Yields a libpq connection string. Runs the server as the ``postgres`` user when started as
    root (initdb refuses root)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="segcore-pg."))
    data = base / "data"
    as_root = os.geteuid() == 0
    kwargs: Dict[str, Any] = {}
    if as_root:
        shutil.chown(base, "postgres", "postgres")
        kwargs = {"user": "postgres", "group": "postgres", "cwd": "/tmp"}
    proc = None
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs,
        )
        port = _free_port()
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "timezone=UTC"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs,
        )
        dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % port
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(dsn).close()
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start")
                time.sleep(0.1)
        yield dsn
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Schema inference and typed rows


def json_type(v: Any) -> Optional[str]:
    """The schema type a JSON data value has, or None when it has no SQL column type here."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int" if -(2**63) <= v < 2**63 else "float"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict) and set(v) == {"amount", "currency"}:
        return "money"
    return None


def string_types(v: str) -> List[str]:
    """Types a data string may be declared as: a timestamp string is also tried as `timestamp`."""
    if RFC3339.match(v):
        return ["timestamp", "string"]
    return ["string"]


def candidate_schemas(profile: Dict[str, Any], read_attrs: Sequence[str], read_props: Dict[str, Sequence[str]],
                      limit: int = 8) -> Iterator[Dict[str, Any]]:
    """Schemas under which the case's data is well typed, most specific first.

    Attributes the rule reads but the data lacks are tried as each scalar type (their value is
    NULL either way; the rule's use decides which compiles). Returns nothing when the data has a
    shape SQL tables do not hold here (lists, objects, mixed types across events)."""
    attrs = profile.get("attributes") or {}
    events = profile.get("events") or []
    options: List[Tuple[str, str, str, List[str]]] = []  # (kind, event, name, types)
    fallback = ["int", "string", "float", "bool", "timestamp", "decimal", "date"]
    for name in read_attrs:
        if name not in attrs or attrs[name] is None:
            options.append(("attr", "", name, fallback))
            continue
        t = json_type(attrs[name])
        if t is None:
            return
        options.append(("attr", "", name, string_types(attrs[name]) if t == "string" else [t]))
    for ev, props in read_props.items():
        for prop in props:
            seen = set()
            values = [e.get("properties", {}).get(prop) for e in events if e.get("name") == ev]
            types: Optional[List[str]] = None
            for v in values:
                if v is None:
                    continue
                t = json_type(v)
                if t is None:
                    return
                ts = string_types(v) if t == "string" else [t]
                seen.add(tuple(ts))
            if len(seen) > 1:
                # e.g. "2026-…Z" and "abc": only string fits both.
                if all("string" in s for s in seen):
                    types = ["string"]
                else:
                    return
            elif seen:
                types = list(next(iter(seen)))
            else:
                types = fallback
            options.append(("prop", ev, prop, types))
    # Cartesian product, bounded.
    combos: List[List[str]] = [[]]
    for _, _, _, types in options:
        combos = [c + [t] for c in combos for t in types][: limit * 4]
    for combo in combos[:limit]:
        schema: Dict[str, Any] = {"attributes": {}, "events": {}}
        for ev in read_props:
            schema["events"][ev] = {}
        for ev in (e.get("name") for e in events):
            schema["events"].setdefault(ev, {})
        for (kind, ev, name, _), t in zip(options, combo):
            if kind == "attr":
                schema["attributes"][name] = t
            else:
                schema["events"].setdefault(ev, {})[name] = t
        yield schema


def _instant(s: str) -> dt.datetime:
    """An RFC 3339 string as an aware datetime, truncated to microseconds (SPEC §4)."""
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$", s)
    if not m:
        raise ValueError("not a timestamp: %r" % s)
    frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return dt.datetime.fromisoformat("%s.%s%s" % (m.group(1), frac, zone))


def typed_value(v: Any, ty: str) -> Any:
    """A JSON data value as a Python value for a column of schema type `ty`; raises ValueError
    when the value does not fit (the case is then not expressible)."""
    if v is None:
        return None
    if ty == "timestamp":
        if not isinstance(v, str) or not RFC3339.match(v):
            raise ValueError("not a timestamp")
        return _instant(v)
    if ty == "date":
        if not isinstance(v, str) or not DATE.match(v):
            raise ValueError("not a date")
        return dt.date.fromisoformat(v)
    if ty == "decimal":
        raise ValueError("JSON data has no decimals")
    if ty == "float" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if json_type(v) != ty:
        raise ValueError("%r is not a %s" % (v, ty))
    return v


def money_parts(v: Any) -> Tuple[Optional[decimal.Decimal], Optional[str]]:
    if v is None:
        return None, None
    amount = v["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        raise ValueError("bad money amount")
    d = decimal.Decimal(str(amount))
    if d.as_tuple().exponent < -18 or abs(d) >= decimal.Decimal(10) ** 20:
        raise ValueError("money amount outside DECIMAL(38,18)")
    return d, v["currency"]


def rows(profile: Dict[str, Any], query: Any) -> Tuple[List[Any], List[List[Any]]]:
    """The profile as one profiles row and its events as events rows, in the query's columns."""
    attrs = profile.get("attributes") or {}
    prow: List[Any] = []
    for name, ty, _ in query.profile_columns:
        if name == "id":
            prow.append(profile["id"])
        else:
            prow.append(_column_value(attrs, name, ty))
    erows = []
    for seq, e in enumerate(profile.get("events") or []):
        props = e.get("properties") or {}
        row: List[Any] = []
        for name, ty, _ in query.event_columns:
            if name == "entity_id":
                row.append(profile["id"])
            elif name == "seq":
                row.append(seq)
            elif name == "name":
                row.append(e["name"])
            elif name == "at":
                row.append(_instant(e["at"]))
            else:
                row.append(_column_value(props, name, ty))
        erows.append(row)
    return prow, erows


def _column_value(values: Dict[str, Any], col: str, ty: str) -> Any:
    # Money columns are `<name>_amount` / `<name>_currency`.
    for suffix, index in (("_amount", 0), ("_currency", 1)):
        base = col[: -len(suffix)] if col.endswith(suffix) else None
        if base and base in values and isinstance(values[base], dict):
            return money_parts(values[base])[index]
    return typed_value(values.get(col), ty)


def arrow_table(columns: Sequence[Tuple[str, str, str]], rows: List[List[Any]]) -> Any:
    """Typed rows (from `rows`) as a pyarrow table with the query's columns and types."""
    import pyarrow as pa

    types = {
        "bool": pa.bool_(), "int": pa.int64(), "duration": pa.int64(), "float": pa.float64(),
        "decimal": pa.decimal128(38, 18), "string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }
    values = list(zip(*rows)) if rows else [() for _ in columns]
    return pa.table({name: pa.array(list(v), type=types[ty]) for (name, ty, _), v in zip(columns, values)})

