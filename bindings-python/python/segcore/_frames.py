"""Frames in, membership out: pandas, pyarrow and polars through the Arrow C stream interface.

Only input detection and output wrapping live here. Reading the columns, building profiles and
every evaluation happen in the Rust core, without the GIL and without a Python object per row.
"""

import warnings
from typing import Any, Optional, Tuple

_OUTCOMES = ("false", "true", "unknown")


def _library(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _stream(obj: Any, what: str) -> Any:
    """An object exposing ``__arrow_c_stream__`` for a pandas/pyarrow/polars frame."""
    if obj is None:
        return None
    if _library(obj) == "pandas":
        try:
            import pyarrow as pa
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("evaluating pandas frames needs pyarrow (pip install pyarrow)") from e
        return pa.Table.from_pandas(obj, preserve_index=False)
    if hasattr(obj, "__arrow_c_stream__"):
        return obj
    error = TypeError(
        "%s must be a pandas DataFrame, a pyarrow Table/RecordBatch or a polars DataFrame, not %s"
        % (what, type(obj).__name__)
    )
    error.kind = "invalid_profile"  # type: ignore[attr-defined]  # every segcore error has a kind
    raise error


def _column(values: bytes, outcome: bool) -> Any:
    """A pyarrow array from one byte per row (0 false, 1 true, 2 unknown)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pa.Array.from_buffers(pa.uint8(), len(values), [None, pa.py_buffer(values)])
    if outcome:
        return pc.take(pa.array(_OUTCOMES), codes)
    # A uint8 scalar: comparing with a Python int would cast every code to int64 first.
    return pc.equal(codes, pa.scalar(1, type=pa.uint8()))


def _series(like: Any, name: str, values: bytes, outcome: bool) -> Any:
    library = _library(like)
    if library == "polars":
        import polars as pl

        try:
            return pl.Series(name, _column(values, outcome))
        except ImportError:
            labels = [_OUTCOMES[b] for b in values] if outcome else [b == 1 for b in values]
            return pl.Series(name, labels)
    column = _column(values, outcome)
    if library == "pandas":
        import pandas as pd

        return pd.Series(column.to_pylist() if outcome else column.to_numpy(zero_copy_only=False), index=like.index, name=name)
    return column


def evaluate_batch(target: Any, profiles: Any, events: Any, context: Any, columns: Tuple[str, str, str, str], outcome: bool) -> Any:
    """Backs ``Segment.evaluate_batch`` and ``Registry.evaluate_batch``; ``columns`` names the
    profiles' id column and the events' entity id, name and time columns."""
    result = target._evaluate_arrow(_stream(profiles, "profiles"), _stream(events, "events"), context, columns)
    *result, unmatched = result
    if unmatched:
        # Like a left join, and like every other route: ignored, but never silently.
        warnings.warn(
            "%d event row(s) name an entity that is not in the profiles frame (column %r); they were ignored"
            % (unmatched, columns[1]),
            UserWarning,
            stacklevel=2,  # the caller of evaluate_batch (the Rust method adds no Python frame)
        )
    if len(result) == 1:
        return _series(profiles, getattr(target, "id", "member"), result[0], outcome)
    ids, per_segment = result  # type: Tuple[list, list]
    library = _library(profiles)
    if library == "polars":
        import polars as pl

        return pl.DataFrame([_series(profiles, i, c, outcome) for i, c in zip(ids, per_segment)])
    if library == "pandas":
        import pandas as pd

        return pd.DataFrame({i: _series(profiles, i, c, outcome) for i, c in zip(ids, per_segment)}, index=profiles.index)
    import pyarrow as pa

    return pa.table({i: _column(c, outcome) for i, c in zip(ids, per_segment)})


__all__: Optional[list] = ["evaluate_batch"]
