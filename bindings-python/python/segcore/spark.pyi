"""Type stubs for segcore.spark: segment membership over Spark DataFrames (PySpark is optional)."""

from datetime import datetime
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from . import Registry

OUTPUT_COLUMNS: Tuple[str, ...]
"""``("entity_id", "segment_id", "version", "definition_hash", "as_of", "member")``; ``outcome``
follows when ``outcome=True``. The same columns as ``Registry.to_sql("spark", ...)``."""

def evaluate(
    profiles_df: Any,
    events_df: Optional[Any],
    registry: Union[Registry, Sequence[Union[Mapping[str, Any], str]]],
    as_of: Union[datetime, str, None],
    *,
    fx: Optional[Mapping[str, Union[str, float, int]]] = None,
    id_column: str = "id",
    outcome: bool = False,
    schema: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Membership of every profile (``profiles_df``, a ``pyspark.sql.DataFrame``) in every
    segment, with the events of ``events_df`` (long form: ``entity_id, name, at, <properties>``,
    optionally ``seq``), evaluated by the segcore Rust core on the executors.

    Returns a lazy ``pyspark.sql.DataFrame``: ``entity_id STRING, segment_id STRING,
    version STRING, definition_hash STRING, as_of TIMESTAMP, member BOOLEAN`` (+ ``outcome
    STRING`` when ``outcome=True``), one row per profile and segment. ``as_of`` is required (an
    aware datetime or an RFC 3339 string). With a Registry, pass the ``schema`` it was compiled
    with: the executors recompile its definitions.

    Raises ImportError without PySpark/pyarrow, ValueError/TypeError for bad arguments; errors
    while evaluating (e.g. ``fx_rate_missing``) surface at the action as
    ``pyspark.errors.PythonException``.
    """
