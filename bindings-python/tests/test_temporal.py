"""Membership over time from Python (SPEC §22): the objects next_change and timeline return, and
their arguments. The instants are worked out by hand from SPEC §22; the conformance suite covers
the semantics case by case."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import segcore

UTC = timezone.utc
PROFILE = {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]}
RECENT = "exists(purchase within 30d)"


def test_next_change_is_a_typed_change_exact_to_the_microsecond() -> None:
    c = segcore.compile(RECENT).next_change(PROFILE, datetime(2026, 3, 15, tzinfo=UTC))
    assert isinstance(c, segcore.Change)
    # at + 30d is still inside (inclusive): the purchase leaves one microsecond later.
    assert c.at == datetime(2026, 3, 31, 10, 0, 0, 1, tzinfo=UTC)
    assert c.at_text == "2026-03-31T10:00:00.000001Z"
    assert (c.previous, c.outcome, c.member, c.transition) == ("true", "false", False, "exited")
    assert (c.cause, c.cause_event, c.cause_segment) == ("window", "purchase", None)
    assert c.cause_event_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert c.to_dict()["transition"] == "exited"
    assert repr(c) == "<Change 2026-03-31T10:00:00.000001Z true -> false (window)>"


def test_horizon_as_text_or_timedelta_is_inclusive() -> None:
    seg = segcore.compile(RECENT)
    as_of = "2026-03-30T10:00:00.000001Z"  # exactly one day before the change
    assert seg.next_change(PROFILE, as_of, horizon="1d") is not None
    assert seg.next_change(PROFILE, as_of, horizon=timedelta(days=1)) is not None
    assert seg.next_change(PROFILE, as_of, horizon=timedelta(days=1) - timedelta(microseconds=1)) is None
    assert seg.next_change(PROFILE, as_of, horizon="23h") is None


@pytest.mark.parametrize("horizon", ["0d", "-1d", "36601d", "ninety days", "90", timedelta(0), timedelta(days=-1)])
def test_bad_horizon_is_invalid_context(horizon: object) -> None:
    with pytest.raises(segcore.DataError) as e:
        segcore.compile(RECENT).next_change(PROFILE, "2026-03-15T00:00:00Z", horizon=horizon)
    assert e.value.kind == "invalid_context"


def test_horizon_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError) as e:
        segcore.compile(RECENT).next_change(PROFILE, "2026-03-15T00:00:00Z", horizon=90)
    assert getattr(e.value, "kind", None) == "invalid_context"


def test_timeline_changes_intervals_and_dataframe() -> None:
    t = segcore.compile(RECENT, id="recent").timeline(PROFILE, "2026-02-01T00:00:00Z", datetime(2026, 5, 1, tzinfo=UTC))
    assert isinstance(t, segcore.Timeline)
    assert (t.segment, t.outcome, len(t)) == ("recent", "false", 2)
    assert [(c.at_text, c.outcome, c.cause) for c in t.changes] == [
        ("2026-03-01T10:00:00Z", "true", "event"),
        ("2026-03-31T10:00:00.000001Z", "false", "window"),
    ]
    assert t.intervals == [(datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 31, 10, 0, 0, 1, tzinfo=UTC))]
    df = t.to_pandas()
    assert list(df.columns) == [
        "at", "previous", "outcome", "member", "transition", "cause", "cause_segment", "cause_event", "cause_event_at",
    ]
    assert list(df["transition"]) == ["entered", "exited"]


def test_membership_interval_open_at_the_end_is_closed_by_end() -> None:
    t = segcore.compile(RECENT).timeline(PROFILE, "2026-03-10T00:00:00Z", "2026-03-20T00:00:00Z")
    assert t.changes == []
    assert t.intervals == [(datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC))]


def test_registry_reference_cause_names_the_segment() -> None:
    reg = segcore.Registry.from_definitions([
        {"id": "recent", "version": "1.0.0", "rule": RECENT},
        {"id": "vip", "version": "1.0.0", "rule": 'in_segment("recent")'},
    ])
    c = reg.next_change("vip", PROFILE, "2026-03-15T00:00:00Z")
    assert (c.cause, c.cause_segment, c.outcome) == ("reference", "recent", "false")
    assert reg.timeline("vip", PROFILE, "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z").changes[0].cause == "reference"
    with pytest.raises(segcore.TypeCheckError) as e:
        reg["vip"].next_change(PROFILE, "2026-03-15T00:00:00Z", segments={"recent": True})
    assert e.value.kind == "next_change_unsupported"
    with pytest.raises(segcore.SegmentError) as e:
        reg.next_change("nope", PROFILE, "2026-03-15T00:00:00Z")
    assert e.value.kind == "unknown_segment"


def test_timeline_span_must_be_ordered_and_aware() -> None:
    seg = segcore.compile(RECENT)
    with pytest.raises(segcore.DataError) as e:
        seg.timeline(PROFILE, "2026-03-10T00:00:00Z", "2026-03-01T00:00:00Z")
    assert e.value.kind == "invalid_context"
    with pytest.raises(ValueError) as e:  # as for as_of: a naive datetime is never guessed
        seg.timeline(PROFILE, "2026-03-01T00:00:00Z", datetime(2026, 3, 10))
    assert "naive" in str(e.value)


def test_dataset_timelines_members_over_time_and_plot() -> None:
    reg = segcore.Registry.from_definitions([
        {"id": "recent", "version": "1.0.0", "rule": RECENT},
        {"id": "adult", "version": "1.0.0", "rule": "age >= 18"},
    ])
    ps = [
        {"id": "u1", "attributes": {"age": 30}, "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z"}]},
        {"id": "u2", "attributes": {"age": 12}, "events": [{"name": "purchase", "at": "2026-03-20T00:00:00Z"}]},
        segcore.Profile({"id": "u3", "attributes": {"age": 40}}),
    ]
    ts = reg.timelines(ps, "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z")
    # Profile by profile, segments in id order (adult, recent).
    assert [(t.segment, t.outcome, len(t)) for t in ts] == [
        ("adult", "true", 0), ("recent", "false", 2),
        ("adult", "false", 0), ("recent", "false", 2),
        ("adult", "true", 0), ("recent", "false", 0),
    ]
    df = segcore.members_over_time(ts)
    got = [(r.segment, r.at.isoformat(), r.members) for r in df.itertuples()]
    assert got == [
        ("adult", "2026-02-01T00:00:00+00:00", 2),
        ("recent", "2026-02-01T00:00:00+00:00", 0),
        ("recent", "2026-03-01T10:00:00+00:00", 1),
        ("recent", "2026-03-20T00:00:00+00:00", 2),
        ("recent", "2026-03-31T10:00:00.000001+00:00", 1),
        ("recent", "2026-04-19T00:00:00.000001+00:00", 0),
    ]
    assert reg.timelines(ps, "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z", ids=["recent"])[0].segment == "recent"
    with pytest.raises(segcore.SegmentError) as e:
        reg.timelines(ps, "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z", ids=["nope"])
    assert e.value.kind == "unknown_segment"

    import matplotlib

    matplotlib.use("Agg")
    ax = segcore.plot_members(ts)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["adult", "recent"]
    with pytest.raises(TypeError):
        segcore.members_over_time(["not a timeline"])


def test_time_docstrings() -> None:
    import doctest

    import segcore._time

    assert doctest.testmod(segcore._time).failed == 0


def test_a_membership_log_reads_in_python(tmp_path) -> None:
    """A log written by `segcore stream` (SPEC §23), read with segcore.log_members and
    segcore.log_transitions; the expectations are worked out from the events by hand."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    exe = root / "target" / "debug" / "segcore"
    if not exe.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "segcore-cli"], cwd=root, check=True)
    segs = tmp_path / "segments"
    segs.mkdir()
    (segs / "seen.yaml").write_text("id: seen\nversion: 1.0.0\nrule: exists(login within 1d)\n")
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"id": "u1", "name": "login", "at": "2026-03-01T10:00:00Z"}\n'
        '{"id": "u2", "name": "login", "at": "2026-03-01T12:00:00Z"}\n'
        '{"watermark": "2026-03-03T00:00:00Z"}\n'
    )
    log = tmp_path / "log"
    subprocess.run(
        [str(exe), "stream", "--segments", str(segs), "--events", str(events), "--log", str(log)],
        check=True, capture_output=True,
    )
    assert segcore.log_members(log, "2026-03-01T11:00:00Z") == {"seen": ["u1"]}
    assert segcore.log_members(str(log), datetime(2026, 3, 2, 11, tzinfo=UTC)) == {"seen": ["u2"]}
    assert segcore.log_members(log, "2026-03-02T12:00:00.000001Z") == {"seen": []}
    with pytest.raises(segcore.DataError) as e:
        segcore.log_members(log, "2026-03-03T00:00:00.000001Z")
    assert e.value.kind == "invalid_context"
    df = segcore.log_transitions(log)
    assert list(df["kind"]) == ["entered", "entered", "exited", "exited"]
    assert list(df["entity_id"]) == ["u1", "u2", "u1", "u2"]
    assert list(df["cause"]) == ["event", "event", "window", "window"]
    assert df["at"].iloc[2] == datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=UTC)
    assert set(df["op"]) == {"emit"} and df["transition_id"].str.len().eq(32).all()
    with pytest.raises(segcore.DefinitionError):
        segcore.log_members(tmp_path / "nowhere", "2026-03-01T00:00:00Z")
    # Daily drift from the same log: both enter on the 1st (events), leave on the 2nd (window).
    rows = segcore.log_drift(log, "2026-03-01", "2026-03-03")
    assert [(r["day"], r["members"], r["entered"], r["exited"]) for r in rows] == [
        ("2026-03-01", 0, 2, 0), ("2026-03-02", 2, 0, 2)]
    assert rows[0]["entered_by"]["data"] == 2 and rows[1]["exited_by"]["time"] == 2
    with pytest.raises(segcore.DataError) as e:
        segcore.log_drift(log, "2026-03-01", "2026-03-05")
    assert e.value.kind == "invalid_context" and "watermark" in str(e.value)
