"""Members over time for a dataset (SPEC §22): the counts come from the core
(``_native._member_counts``); this module only shapes them as a DataFrame and draws them."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ._native import Timeline, _member_counts


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
