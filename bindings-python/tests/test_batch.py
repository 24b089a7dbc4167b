"""Batch evaluation over pandas, pyarrow and polars frames must give exactly the row-by-row answers."""

import random
from datetime import datetime, timedelta, timezone

import pytest

import segcore

pa = pytest.importorskip("pyarrow", reason="the README's test command installs pyarrow")
pd = pytest.importorskip("pandas", reason="the README's test command installs pandas")
pl = pytest.importorskip("polars", reason="the README's test command installs polars")

AS_OF = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)
N = 10_000

DEFINITIONS = [
    {"id": "r1", "version": "1.0.0", "rule": 'age >= 18 and country in ["US", "CA", "GB"] and plan = "pro" and ltv > 500'},
    {"id": "r2", "version": "1.0.0", "rule": 'country in ["US", "CA", "GB"] and count(purchase within 90d) >= 2'},
    {"id": "spender", "version": "1.0.0", "rule": 'sum(purchase.amount where sku != "x" within 30d) > 100'},
    {"id": "newbie", "version": "1.0.0", "timezone": "America/New_York", "rule": "days_since(signup_at) < 7"},
    {"id": "young", "version": "1.0.0", "rule": "age < 30"},
    {"id": "combo", "version": "1.0.0", "rule": 'in_segment("r2") and not in_segment("young")'},
]


def _data():
    rng = random.Random(20260315)
    profiles, events = [], []
    for i in range(N):
        pid = "p%05d" % i
        age = rng.randint(10, 80) if rng.random() > 0.1 else None
        signup = AS_OF - timedelta(seconds=rng.randint(0, 40 * 86400))
        profiles.append(
            {
                "id": pid,
                "age": age,
                "country": rng.choice(["US", "CA", "GB", "DE", "FR"]),
                "plan": rng.choice(["free", "pro", "team"]),
                "ltv": rng.randint(0, 1000),
                "signup_at": signup,
            }
        )
        for _ in range(rng.randint(0, 12)):
            at = AS_OF - timedelta(seconds=rng.randint(-86400, 120 * 86400))  # some in the future
            events.append(
                {"entity_id": pid, "name": rng.choice(["purchase", "login"]), "at": at,
                 "amount": round(rng.uniform(1, 80), 2), "sku": rng.choice(["a", "b", "x"])}
            )
    return profiles, events


PROFILES, EVENTS = _data()


def _dict_profile(row, events_by_id):
    attrs = {k: v for k, v in row.items() if k != "id" and v is not None}
    attrs["signup_at"] = row["signup_at"].isoformat()
    evs = [
        {"name": e["name"], "at": e["at"].isoformat(), "properties": {"amount": e["amount"], "sku": e["sku"]}}
        for e in events_by_id.get(row["id"], [])
    ]
    return {"id": row["id"], "attributes": attrs, "events": evs}


@pytest.fixture(scope="module")
def registry():
    return segcore.Registry.from_definitions(DEFINITIONS)


@pytest.fixture(scope="module")
def expected(registry):
    by_id = {}
    for e in EVENTS:
        by_id.setdefault(e["entity_id"], []).append(e)
    ctx = segcore.Context(AS_OF)
    return [registry.outcomes(_dict_profile(row, by_id), context=ctx) for row in PROFILES]


def _pandas():
    return pd.DataFrame(PROFILES).astype({"age": "Int64"}), pd.DataFrame(EVENTS)


def _arrow():
    return pa.Table.from_pylist(PROFILES), pa.Table.from_pylist(EVENTS)


def _polars():
    return pl.DataFrame(PROFILES), pl.DataFrame(EVENTS)


def _readers():
    """Streams of record batches (profiles in 1,000-row batches; events shuffled, 777 a batch)."""
    profiles = pa.Table.from_pylist(PROFILES)
    events = pa.Table.from_pylist(random.Random(7).sample(EVENTS, len(EVENTS)))
    return (pa.RecordBatchReader.from_batches(profiles.schema, profiles.to_batches(max_chunksize=1000)),
            pa.RecordBatchReader.from_batches(events.schema, events.to_batches(max_chunksize=777)))


@pytest.mark.parametrize("make", [_pandas, _arrow, _polars, _readers],
                         ids=["pandas", "pyarrow", "polars", "pyarrow-reader"])
def test_registry_batch_matches_row_by_row(registry, expected, make):
    profiles, events = make()
    frame = registry.evaluate_batch(profiles, events, as_of=AS_OF, outcome=True)
    for seg_id in registry.ids:
        column = list(frame[seg_id].to_pylist() if hasattr(frame[seg_id], "to_pylist") else frame[seg_id])
        want = [row[seg_id] for row in expected]
        mismatches = [i for i, (a, b) in enumerate(zip(column, want)) if a != b]
        assert len(column) == N
        assert not mismatches, "%s: %d rows differ, first %s: batch %s vs row %s" % (
            seg_id, len(mismatches), mismatches[0], column[mismatches[0]], want[mismatches[0]])
    # Every outcome occurs, so the comparison above is not vacuous.
    seen = {row[s] for row in expected for s in registry.ids}
    assert seen == {"true", "false", "unknown"}


@pytest.mark.parametrize("make", [_pandas, _arrow, _polars], ids=["pandas", "pyarrow", "polars"])
def test_segment_batch_returns_a_boolean_column_of_the_input_kind(registry, expected, make):
    profiles, events = make()
    seg = registry["spender"]
    column = seg.evaluate_batch(profiles, events, as_of=AS_OF)
    want = [row["spender"] == "true" for row in expected]
    values = column.to_pylist() if hasattr(column, "to_pylist") else list(column)
    assert values == want
    if isinstance(profiles, pd.DataFrame):
        assert isinstance(column, pd.Series) and column.dtype == bool
        assert (column.index == profiles.index).all()
    elif isinstance(profiles, pl.DataFrame):
        assert isinstance(column, pl.Series) and column.dtype == pl.Boolean
    else:
        assert isinstance(column, pa.BooleanArray)


def test_pandas_index_is_kept_and_rows_stay_aligned(registry, expected):
    profiles, events = _pandas()
    shuffled = profiles.sample(frac=1.0, random_state=3)
    shuffled.index = ["row-%d" % i for i in range(N)]
    column = registry["r1"].evaluate_batch(shuffled, events, as_of=AS_OF)
    assert list(column.index) == list(shuffled.index)
    position = {p["id"]: i for i, p in enumerate(PROFILES)}
    for pid, got in zip(shuffled["id"], column):
        assert got == (expected[position[pid]]["r1"] == "true")


def test_naive_timestamps_are_refused_with_a_clear_message(registry):
    profiles = pa.table({"id": ["a"], "signup_at": pa.array([datetime(2026, 3, 1)], type=pa.timestamp("us"))})
    with pytest.raises(segcore.DataError, match="naive timestamps"):
        registry["newbie"].evaluate_batch(profiles, as_of=AS_OF)


def test_missing_id_column_and_wrong_input_types_are_clear_errors(registry):
    with pytest.raises(segcore.DataError, match="no `id` column"):
        registry["r1"].evaluate_batch(pa.table({"key": ["a"]}), as_of=AS_OF)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        registry["r1"].evaluate_batch([{"id": "a"}], as_of=AS_OF)
    frame = registry["r1"].evaluate_batch(pa.table({"key": ["a"], "age": [40]}), as_of=AS_OF, id_column="key")
    assert frame.to_pylist() == [False]


def test_wide_arrow_decimals_keep_their_value():
    """DECIMAL(38,18) pads values with zeros past the core's 96-bit mantissa; they must still
    read exactly (1e11 at scale 18 is a 30-digit mantissa), and a value that really has more
    than 28 digits is an error, never a silent NULL."""
    import decimal

    import pyarrow as pa

    reg = segcore.Registry.from_definitions(
        [{"id": "big", "version": "1.0.0", "rule": "balance > 99999999999.5"}], schema={"attributes": {"balance": "decimal"}}
    )
    t = pa.table({"id": ["u1", "u2"], "balance": pa.array([decimal.Decimal("100000000000"), decimal.Decimal("1")],
                                                          pa.decimal128(38, 18))})
    out = reg.evaluate_batch(t, as_of="2026-03-15T00:00:00Z", outcome=True)
    assert out.column("big").to_pylist() == ["true", "false"]
    too_precise = pa.table({"id": ["u1"], "balance": pa.array([decimal.Decimal("12345678901234567890.123456789012345678")],
                                                             pa.decimal128(38, 18))})
    with pytest.raises(segcore.SegmentError, match="more than 28 significant digits"):
        reg.evaluate_batch(too_precise, as_of="2026-03-15T00:00:00Z")


def test_epoch_numbers_as_event_times_are_refused_with_the_way_to_convert_them():
    seg = segcore.compile("count(purchase) >= 1")
    profiles = pd.DataFrame({"id": ["u1"]})
    for at in ([1772928000], [1772928000.0]):
        events = pd.DataFrame({"entity_id": ["u1"], "name": ["purchase"], "at": at})
        with pytest.raises(segcore.SegmentError) as info:
            seg.evaluate_batch(profiles, events, as_of=AS_OF)
        err = info.value
        assert (err.kind, err.frame, err.column_name) == ("invalid_profile", "events", "at")
        assert "is not guessed" in str(err) and "pd.to_datetime(col, unit=\"s\", utc=True)" in str(err)
    # The same instant as a tz-aware timestamp works.
    events = pd.DataFrame({"entity_id": ["u1"], "name": ["purchase"],
                           "at": pd.to_datetime([1772928000], unit="s", utc=True)})
    assert list(seg.evaluate_batch(profiles, events, as_of=AS_OF)) == [True]


def test_frames_may_name_their_columns_otherwise():
    seg = segcore.compile("age >= 18 and count(purchase) >= 2")
    profiles = pd.DataFrame({"user": ["u1", "u2"], "age": [30, 40]})
    events = pd.DataFrame({
        "user_id": ["u1", "u1", "u2"],
        "event": ["purchase", "purchase", "purchase"],
        "ts": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-03"], utc=True),
    })
    names = dict(id_column="user", entity_column="user_id", name_column="event", at_column="ts")
    assert list(seg.evaluate_batch(profiles, events, as_of=AS_OF, **names)) == [True, False]
    reg = segcore.Registry.from_definitions([{"id": "r", "version": "1.0.0", "rule": seg.rule}])
    assert list(reg.evaluate_batch(profiles, events, as_of=AS_OF, **names)["r"]) == [True, False]
    # With the default names, the message names the columns expected and how to name yours.
    with pytest.raises(segcore.SegmentError) as info:
        seg.evaluate_batch(profiles, events, as_of=AS_OF, id_column="user")
    assert info.value.kind == "invalid_profile" and info.value.frame == "events"
    assert "needs the columns entity_id, name, at (missing `entity_id`" in str(info.value)
    assert "entity_column=" in str(info.value)


def test_events_of_unknown_entities_are_ignored_and_counted_in_a_warning():
    profiles = pa.table({"id": ["a", "b"], "country": ["US", "US"]})
    at = pa.array([AS_OF - timedelta(days=1)] * 3, type=pa.timestamp("us", tz="UTC"))
    events = pa.table({"entity_id": ["a", "zz", "a"], "name": ["purchase"] * 3, "at": at})
    seg = segcore.compile('count(purchase within 90d) >= 2')
    with pytest.warns(UserWarning, match=r"^1 event row\(s\) name an entity that is not in the profiles frame"):
        got = seg.evaluate_batch(profiles, events, as_of=AS_OF)
    assert got.to_pylist() == [True, False]
    reg = segcore.Registry.from_definitions([{"id": "x", "version": "1.0.0", "rule": "exists(purchase)"}])
    with pytest.warns(UserWarning, match="1 event row"):
        frame = reg.evaluate_batch(profiles, events, as_of=AS_OF)
    assert frame.column("x").to_pylist() == [True, False]
    import warnings as w

    import pyarrow.compute as pc

    with w.catch_warnings():
        w.simplefilter("error")  # every entity known: no warning
        seg.evaluate_batch(profiles, events.filter(pc.equal(events.column("entity_id"), "a")), as_of=AS_OF)
