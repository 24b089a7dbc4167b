"""Members over time for a dataset (SPEC §22) and from a membership log (SPEC §23): the counts
and the replay come from the core (``_native``); this module only shapes them as DataFrames and
draws them."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ._native import Timeline, _log_drift, _log_members, _log_records, _member_counts


def _by_segment(timelines: Iterable[Timeline]) -> Dict[str, List[Timeline]]:
    groups: Dict[str, List[Timeline]] = {}
    for t in timelines:
        if not isinstance(t, Timeline):
            raise TypeError("expected segcore.Timeline objects, got %r" % (type(t).__name__,))
        groups.setdefault(t.segment, []).append(t)
    return dict(sorted(groups.items()))


def members_over_time(timelines: Iterable[Timeline]) -> Any:
    """Members per segment as a step function: a pandas DataFrame with columns ``segment``,
    ``at`` and ``members`` — one row at each timeline's start, then one wherever entries and
    exits change the count (``members`` holds from ``at`` on).

    >>> import segcore
    >>> reg = segcore.Registry.from_definitions([{"id": "recent", "version": "1.0.0",
    ...                                           "rule": "exists(purchase within 30d)"}])
    >>> ps = [{"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}]
    >>> df = segcore.members_over_time(reg.timelines(ps, "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z"))
    >>> [(str(r.at), r.members) for r in df.itertuples()]
    [('2026-02-01 00:00:00+00:00', 0), ('2026-03-01 10:00:00+00:00', 1), ('2026-03-31 10:00:00.000001+00:00', 0)]
    """
    import pandas as pd

    rows = []
    for segment, group in _by_segment(timelines).items():
        start, steps = _member_counts(group)
        rows.append((segment, group[0].start, start))
        rows.extend((segment, at, n) for at, n in steps)
    return pd.DataFrame(rows, columns=["segment", "at", "members"])


def plot_members(timelines: Iterable[Timeline], ax: Optional[Any] = None, title: str = "members over time") -> Any:
    """Draws members over time per segment (a step line each) with matplotlib and returns the
    Axes; in a notebook the figure shows itself."""
    import matplotlib.pyplot as plt

    groups = _by_segment(timelines)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.5))
    for segment, group in groups.items():
        start, steps = _member_counts(group)
        xs = [group[0].start] + [at for at, _ in steps] + [group[0].end]
        ys = [start] + [n for _, n in steps] + [steps[-1][1] if steps else start]
        ax.step(xs, ys, where="post", label=segment)
    ax.set_title(title)
    ax.set_ylabel("members")
    ax.set_ylim(bottom=0)
    if groups:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


def log_drift(path: Any, start: str, end: str, *, every: int = 1, zone: str = "UTC", window: int = 7,
              z: float = 3.0, segments: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Daily drift (SPEC §25) from a membership-log folder written by ``segcore stream``: the
    rows of ``Registry.drift``, counted from the log's committed transitions — no profiles, no
    evaluation. ``end`` (exclusive) must not pass the log's watermark.

    >>> rows = segcore.log_drift("members/", "2026-03-01", "2026-03-08")  # doctest: +SKIP
    >>> pandas.DataFrame(rows)  # doctest: +SKIP
    """
    return _log_drift(path, start, end, every, zone, window, z, segments)


def log_members(path: Any, at: Any) -> Dict[str, List[str]]:
    """Membership at an instant from a membership-log folder written by ``segcore stream``
    (SPEC §23): ``{segment: [entity, …]}``, ids sorted. ``at`` (an aware datetime or RFC 3339
    text) must not be after the log's committed watermark.

    >>> import segcore, tempfile, subprocess  # doctest: +SKIP
    >>> segcore.log_members("members/", "2026-03-20T00:00:00Z")  # doctest: +SKIP
    {'high_value': ['u17', 'u42'], 'returning_users': ['u3']}
    """
    _, members = _log_members(path, at)
    return members


def log_transitions(path: Any) -> Any:
    """A membership log's committed records as a pandas DataFrame, one row per transition or
    retraction in log order: ``op`` (``emit``/``retract``), ``transition_id``, ``entity_id``,
    ``segment_id``, ``version``, ``definition_hash``, ``at`` (aware datetime, microseconds
    exact), ``kind`` (``entered``/``exited``), ``cause``, ``cause_segment``, ``cause_event``."""
    import json

    import pandas as pd

    rows = []
    for text in _log_records(path):
        r = json.loads(text)
        cause = r["cause"]
        rows.append(
            (
                r["op"], r["transition_id"], r["entity_id"], r["segment_id"], r["version"],
                r["definition_hash"], r["at"], r["kind"], cause["kind"], cause.get("segment"),
                (cause.get("event") or {}).get("name"),
            )
        )
    columns = ["op", "transition_id", "entity_id", "segment_id", "version", "definition_hash", "at", "kind",
               "cause", "cause_segment", "cause_event"]
    df = pd.DataFrame(rows, columns=columns)
    df["at"] = pd.to_datetime(df["at"], utc=True, format="ISO8601")
    return df
