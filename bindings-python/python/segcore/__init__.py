"""segcore: canonical audience-segment definitions, evaluated by one deterministic Rust core.

Every function here is a thin wrapper over the Rust core (``segcore._native``): the Python wheel
computes exactly the memberships the CLI, the Node module and the browser build compute.

>>> import segcore
>>> seg = segcore.compile("age >= 18")
>>> seg.evaluate({"id": "u1", "attributes": {"age": 30}}, as_of="2026-03-15T12:00:00Z")
True
"""

from ._native import (
    LANGUAGE_VERSION,
    Change,
    Context,
    Profile,
    DataError,
    DefinitionError,
    Diagnostic,
    EvaluationError,
    Explanation,
    Fingerprint,
    IdentityMap,
    ParseError,
    Registry,
    Segment,
    SegmentError,
    Sketch,
    SqlQuery,
    Timeline,
    TypeCheckError,
    __version__,
    check,
    compile,
    diff,
    fingerprint,
    fingerprint_sql,
    format_rule,
)
from ._import import import_rule
from ._subscribe import Subscription
from ._time import log_drift, log_members, log_transitions, members_over_time, plot_members

__all__ = [
    "LANGUAGE_VERSION",
    "Change",
    "Context",
    "Profile",
    "DataError",
    "DefinitionError",
    "Diagnostic",
    "EvaluationError",
    "Explanation",
    "Fingerprint",
    "IdentityMap",
    "ParseError",
    "Registry",
    "Segment",
    "SegmentError",
    "Sketch",
    "SqlQuery",
    "Subscription",
    "Timeline",
    "TypeCheckError",
    "__version__",
    "check",
    "compile",
    "diff",
    "fingerprint",
    "fingerprint_sql",
    "format_rule",
    "import_rule",
    "log_drift",
    "log_members",
    "log_transitions",
    "members_over_time",
    "plot_members",
]
