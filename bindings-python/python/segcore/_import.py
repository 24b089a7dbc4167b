"""``segcore.import_rule``: a rule written for another engine as a canonical definition (SPEC §29).

Transport only: the request goes to the Rust core as JSON and its answer comes back as a dict;
the translation, the report and the refusals are the core's.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from ._native import import_request


def import_rule(
    rule: Any,
    source: str = "jsonlogic",
    *,
    schema: Optional[Mapping[str, Any]] = None,
    id: Optional[str] = None,
    saved_groups: Optional[Mapping[str, Any]] = None,
    toggle: Optional[str] = None,
    dialect: Optional[str] = None,
    timezone: Optional[str] = None,
    tables: Optional[Mapping[str, Any]] = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Import one rule written for another engine (SPEC §29): exactly, or refused with the reason.

    ``rule`` is the source rule: a JSON text (``str``) or the parsed value (a dict, list, …).
    ``source`` names its format and reference engine: ``"jsonlogic"`` (json-logic-js 2.0.5) or
    ``"growthbook"`` (a targeting condition, @growthbook/growthbook 1.8.0; ``saved_groups`` are
    inlined into ``$inGroup``/``$notInGroup`` as they are now) or ``"unleash"`` (a feature toggle of a
    ``{"features", "segments"}`` document, ``toggle`` naming it when there are several, as yggdrasil
    evaluates it) or ``"sql"`` (``SELECT id FROM profiles WHERE …`` or the WHERE expression alone, as
    text: its three-valued value as ``dialect`` ``"duckdb"`` (DuckDB 2.0, the default) or
    ``"postgres"`` (PostgreSQL 15) computes it at ``as_of`` in a session whose TimeZone is
    ``timezone``; ``tables`` renames the tables and columns; SPEC §29.5).
    ``schema`` declares the type of every attribute the rule reads (``{"attributes": {"age":
    "int"}}``; dotted names for nested values). Returns the report with the imported ``rule``,
    the ``definition`` (YAML text) and the ``schema`` it compiles against. A refused import
    raises ``TypeCheckError`` (kind ``import_refused``) unless ``partial`` is true; a source that
    does not read raises ``ParseError`` (``import_invalid``).

    >>> out = import_rule({"<": [{"var": "age"}, 18]}, schema={"attributes": {"age": "int"}})
    >>> out["status"], out["rule"]
    ('exact_under', 'age is null or coalesce(age < 18, false)')
    >>> [a["id"] for a in out["assumptions"]]
    ['A1']
    >>> import_rule('{"%": [{"var": "age"}, 2]}', schema={"attributes": {"age": "int"}}, partial=True)["refusals"][0]["construct"]
    '%'
    >>> out = import_rule("SELECT id FROM profiles WHERE age >= 18 AND country IN ('US', 'CA')", "sql",
    ...                   schema={"attributes": {"age": "int", "country": "string"}})
    >>> out["rule"]
    '(age >= 18) and (country in ["US", "CA"])'
    """
    request: dict[str, Any] = {
        "from": source,
        "schema": schema,
        "id": id,
        "saved_groups": saved_groups,
        "toggle": toggle,
        "dialect": dialect,
        "timezone": timezone,
        "tables": tables,
        "partial": partial,
    }
    if isinstance(rule, str):
        request["source_text"] = rule
    else:
        request["source"] = rule
    answer: dict[str, Any] = json.loads(import_request(json.dumps(request)))
    return answer
