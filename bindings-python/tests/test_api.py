"""API tests of the Python binding against its contract (``python/segcore/__init__.pyi``).

Every expected value is worked out by hand from SPEC.md; the section is named next to it.
Only pytest and the standard library are used.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import segcore

REPO = Path(__file__).resolve().parents[2]

AS_OF = "2026-03-15T12:00:00Z"
AS_OF_DT = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)

SCHEMA = {
    "attributes": {"age": "int", "country": "string", "ltv": "money"},
    "events": {"purchase": {"price": "money", "sku": "string"}},
}

ADULT = {"id": "adult", "version": "1.0.0", "rule": "age >= 18"}
US_ADULT = {"id": "us_adult", "version": "1.0.0", "rule": 'in_segment("adult") and country = "US"'}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Module surface
# ---------------------------------------------------------------------------------------------


def test_module_exposes_versions():
    assert isinstance(segcore.__version__, str) and segcore.__version__
    # SPEC, first line: "Version 0.1 of the language".
    assert segcore.LANGUAGE_VERSION == "0.1"


# ---------------------------------------------------------------------------------------------
# Errors (SPEC §18)
# ---------------------------------------------------------------------------------------------


def test_error_classes_derive_from_segment_error():
    assert issubclass(segcore.SegmentError, Exception)
    for cls in (segcore.ParseError, segcore.TypeCheckError, segcore.DefinitionError, segcore.EvaluationError):
        assert issubclass(cls, segcore.SegmentError), cls
    # Unreadable input is a DataError; code catching EvaluationError still catches it.
    assert issubclass(segcore.DataError, segcore.EvaluationError)


def test_syntax_error_is_parse_error_with_position():
    # "age >=" has 6 characters; the missing operand is at the end of the rule: 1:7.
    with pytest.raises(segcore.ParseError) as info:
        segcore.compile("age >=")
    e = info.value
    assert e.kind == "syntax_error"
    assert (e.line, e.column) == (1, 7)
    assert isinstance(e.message, str) and e.message
    assert e.message in str(e)
    assert len(e.diagnostics) >= 1
    d = e.diagnostics[0]
    assert isinstance(d, segcore.Diagnostic)
    assert (d.kind, d.severity, d.line, d.column) == ("syntax_error", "error", 1, 7)
    assert d.to_dict()["kind"] == "syntax_error"


def test_syntax_error_column_counts_unicode_scalar_values():
    # §18: columns count Unicode scalar values. `é` is one scalar (two UTF-8 bytes), so the
    # end of `"é" =` (5 scalars) is column 6, not 7.
    with pytest.raises(segcore.ParseError) as info:
        segcore.compile('"é" =')
    assert any(
        d.kind == "syntax_error" and (d.line, d.column) == (1, 6) for d in info.value.diagnostics
    ), [(d.kind, d.line, d.column) for d in info.value.diagnostics]


def test_unknown_attribute_with_schema_is_type_check_error():
    with pytest.raises(segcore.TypeCheckError) as info:
        segcore.compile("agee >= 18", schema=SCHEMA)
    e = info.value
    assert e.kind == "unknown_field"
    assert (e.line, e.column) == (1, 1)


def test_unknown_event_with_schema_is_type_check_error():
    with pytest.raises(segcore.TypeCheckError) as info:
        segcore.compile("count(purchse) > 0", schema=SCHEMA)
    assert any(d.kind == "unknown_event" for d in info.value.diagnostics)


def test_several_compile_errors_are_reported_at_once():
    # "agee > 1 and " is 13 characters, so the second unknown attribute starts at column 14.
    with pytest.raises(segcore.TypeCheckError) as info:
        segcore.compile('agee > 1 and contry = "US"', schema=SCHEMA)
    diags = info.value.diagnostics
    assert len(diags) == 2
    assert [(d.kind, d.line, d.column) for d in diags] == [("unknown_field", 1, 1), ("unknown_field", 1, 14)]


def test_definition_without_rule_is_definition_error():
    with pytest.raises(segcore.DefinitionError) as info:
        segcore.Segment.from_dict({"id": "no_rule", "version": "1.0.0"})
    e = info.value
    assert any(d.kind == "invalid_definition" for d in e.diagnostics)
    assert "rule" in str(e)


def test_unknown_definition_field_is_definition_error():
    # §1: a typo must never silently drop a field.
    with pytest.raises(segcore.DefinitionError) as info:
        segcore.Segment.from_dict({"id": "x", "version": "1.0.0", "rule": "age >= 18", "tagz": ["a"]})
    assert any(d.kind == "unknown_definition_field" for d in info.value.diagnostics)


def test_bad_timezone_and_currency_are_definition_errors():
    with pytest.raises(segcore.DefinitionError) as info:
        segcore.compile("age >= 18", timezone="Mars/Olympus_Mons")
    assert any(d.kind == "invalid_timezone" for d in info.value.diagnostics)
    with pytest.raises(segcore.DefinitionError) as info:
        segcore.compile("age >= 18", currency="usd")
    assert any(d.kind == "invalid_currency" for d in info.value.diagnostics)


def test_missing_fx_rate_is_evaluation_error_naming_the_pair():
    # §10: 450 EUR compared with a USD literal needs exactly the quote EUR/USD.
    seg = segcore.compile("ltv > 485 USD")
    profile = {"id": "u1", "attributes": {"ltv": {"amount": "450", "currency": "EUR"}}}
    with pytest.raises(segcore.EvaluationError) as info:
        seg.evaluate(profile, as_of=AS_OF)
    e = info.value
    assert e.kind == "fx_rate_missing"
    assert "EUR/USD" in e.message
    # The inverse quote is never used (§10: "exactly the quote X/B").
    with pytest.raises(segcore.EvaluationError) as info:
        seg.evaluate(profile, as_of=AS_OF, fx={"USD/EUR": "0.92"})
    assert info.value.kind == "fx_rate_missing"


def test_integer_overflow_is_evaluation_error():
    # §8: integer overflow is numeric_overflow, never wrap-around.
    seg = segcore.compile("n + 1 > 0")
    with pytest.raises(segcore.EvaluationError) as info:
        seg.evaluate({"id": "u1", "attributes": {"n": 9223372036854775807}}, as_of=AS_OF)
    assert info.value.kind == "numeric_overflow"


def test_missing_segment_result_is_evaluation_error():
    # §12: a single definition needs the referenced results from the caller.
    seg = segcore.compile('in_segment("vip")')
    profile = {"id": "u1"}
    with pytest.raises(segcore.EvaluationError) as info:
        seg.evaluate(profile, as_of=AS_OF)
    assert info.value.kind == "segment_result_missing"
    assert seg.outcome(profile, as_of=AS_OF, segments={"vip": True}) == "true"
    assert seg.outcome(profile, as_of=AS_OF, segments={"vip": False}) == "false"


@pytest.mark.parametrize(
    "profile",
    [
        {"attributes": {"age": 30}},  # no id
        {"id": "u1", "attributes": "age=30"},
        {"id": "u1", "events": "purchase"},
        {"id": "u1", "events": [{"name": "purchase"}]},  # no `at`
        {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00"}]},  # no offset (§11)
        {"id": "u1", "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z", "properties": [1]}]},
        {"id": "u1", "attrs": {"age": 30}},  # unknown profile field
    ],
)
def test_invalid_profile_raises_at_evaluation(profile):
    seg = segcore.compile("count(purchase) >= 0")  # compiles: profile problems show at evaluation
    with pytest.raises(segcore.SegmentError) as info:
        seg.outcome(profile, as_of=AS_OF)
    assert info.value.kind == "invalid_profile"


@pytest.mark.parametrize("fx", [{"EURUSD": "1.08"}, {"EUR/USD": "-1.08"}, {"EUR/USD": "abc"}, {"EUR/USD": 0}])
def test_invalid_fx_table_is_rejected(fx):
    seg = segcore.compile("ltv > 485 USD")
    profile = {"id": "u1", "attributes": {"ltv": {"amount": "450", "currency": "EUR"}}}
    with pytest.raises((segcore.SegmentError, ValueError)):
        seg.evaluate(profile, as_of=AS_OF, fx=fx)


# ---------------------------------------------------------------------------------------------
# No input makes the runtime panic (§18)
# ---------------------------------------------------------------------------------------------

_SOUP = [
    # identifiers and keywords (§2)
    "age", "country", "tags", "x", "_", "AND", "and", "or", "not", "in", "between", "is", "null",
    "true", "false", "exists", "contains", "starts_with", "ends_with", "matches", "within", "before",
    "after", "where", "as_of", "today", "yesterday", "this_week", "last_week", "this_month",
    "last_month", "id", "at",
    # aggregates and functions (§7–§15)
    "count", "sum", "avg", "min", "max", "distinct_count", "first", "last", "in_segment", "bucket",
    "lower", "upper", "fold", "length", "coalesce", "abs", "round", "floor", "timestamp", "date",
    "semver", "days_since", "hour", "start_of_week", "cosine_similarity", "euclidean_distance",
    "nope_fn",
    # punctuation (§2)
    "(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=",
    # numbers, durations, money (§2, §8, §10)
    "0", "18", "-5", "007", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "99999999999999999999999", "1.5", "0.0000000000000000000000000001",
    "12345678901234567890123456789.5", "1.", ".5", "30d", "12h", "15m", "0s", "-3w",
    "99999999999999999w", "500 USD", "19.99 EUR", "5 ABCD", "1 usd", "1e5",
    # strings and escapes (§2, §7, §9, §15)
    '"US"', '""', '"\\u{1F600}"', '"\\u{110000}"', '"\\u{D800}"', '"\\u{}"', '"\\q"', '"\\n\\t\\r"',
    '"unterminated', '"(?=x)"', '"(?i)é"', '"("', '"a{1000}{1000}"', '"2026-03-08T02:30:00"',
    '"2026-02-30"', '"2026-03-01T10:00:00+25:00"', '"v1.2.3"', '"1.2.3-rc.1+b"',
    # odd characters
    "#comment\n", "\n", "\t", "é", "🎉", "\x00", "\\", "'", "@", "$", "{", "}", ";", ":", "==", "&&",
]

_WELL_FORMED = [
    'count(purchase where price > 10 USD within 30d) > 0',
    'bucket(id, "exp") < 50',
    'lower(country) = "us" or tags[0] = "vip"',
    'last_login within this_month and not in_segment("vip")',
    'sum(purchase.price) >= 100 USD',
    'semver(app_version) >= "1.2.0"',
]

_GARBAGE_PROFILE = {
    "id": "u1",
    "attributes": {
        "age": 30,
        "country": "US",
        "tags": ["vip", None, 3],
        "ltv": {"amount": "450", "currency": "EUR"},
        "last_login": "2026-03-10T09:00:00Z",
        "app_version": "1.10.0",
        "x": None,
    },
    "events": [
        {"name": "purchase", "at": "2026-03-10T09:00:00Z", "properties": {"price": {"amount": "20", "currency": "USD"}}},
        {"name": "purchase", "at": "2026-03-12T09:00:00+01:00", "properties": {"price": "oops", "sku": 5}},
    ],
}


def _garbage_rules():
    rng = random.Random(7)
    rules = []
    for _ in range(200):
        n = rng.randint(1, 14)
        rules.append("".join(rng.choice(_SOUP) + rng.choice([" ", " ", " ", ""]) for _ in range(n)))
    return rules


def _only_segment_errors(fn):
    """Runs fn; returns None if it succeeded or raised a SegmentError, else the foreign exception."""
    try:
        fn()
    except segcore.SegmentError:
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
        return e
    return None


def test_garbage_rules_only_ever_raise_segment_error():
    rules = _garbage_rules() + _WELL_FORMED
    foreign = []
    compiled = 0
    rejected = 0
    for rule in rules:
        e = _only_segment_errors(lambda: segcore.format_rule(rule))
        if e is not None:
            foreign.append(("format_rule", rule, type(e).__name__, str(e)))
        try:
            seg = segcore.compile(rule)
        except segcore.SegmentError as err:
            rejected += 1
            assert isinstance(err.kind, str) and err.kind, rule
            assert len(err.diagnostics) >= 1, rule
            continue
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001
            foreign.append(("compile", rule, type(err).__name__, str(err)))
            continue
        compiled += 1
        for what, call in [
            ("rule", lambda: seg.rule),
            ("outcome", lambda: seg.outcome(_GARBAGE_PROFILE, as_of=AS_OF, fx={"EUR/USD": "1.08"}, segments={"vip": True})),
            ("explain", lambda: seg.explain(_GARBAGE_PROFILE, as_of=AS_OF, fx={"EUR/USD": "1.08"}, segments={"vip": True})),
            ("outcome without context", lambda: seg.outcome(_GARBAGE_PROFILE, as_of=AS_OF)),
        ]:
            e = _only_segment_errors(call)
            if e is not None:
                foreign.append((what, rule, type(e).__name__, str(e)))
    assert not foreign, "non-SegmentError exceptions:\n" + "\n".join(repr(f) for f in foreign[:30])
    assert rejected > 0
    assert compiled >= len(_WELL_FORMED)


@pytest.mark.parametrize(
    "rule",
    [
        "(" * 500 + "age" + ")" * 500,  # nesting depth > 64 (§19)
        "not " * 500 + "true",
        "-(" * 300 + "1" + ")" * 300,
        "x in [" + ", ".join(["1"] * 10_001) + "]",  # list literal > 10,000 elements
        'x = "' + "a" * (64 * 1024) + '"',  # rule text > 64 KiB
    ],
    ids=["deep_parentheses", "deep_not", "deep_negation", "long_list", "long_rule"],
)
def test_limits_are_errors_not_crashes(rule):
    with pytest.raises(segcore.SegmentError) as info:
        segcore.compile(rule)
    assert any(d.kind == "limit_exceeded" for d in info.value.diagnostics)


# ---------------------------------------------------------------------------------------------
# as_of and datetimes (§9)
# ---------------------------------------------------------------------------------------------

# `ts within 7d` is TRUE iff as_of − 7d ≤ ts ≤ as_of, inclusive (§9). With the login exactly seven
# days before 2026-03-15T12:00:00Z it is TRUE; one microsecond later as_of it is FALSE.
_LOGIN = {"id": "u1", "attributes": {"last_login": "2026-03-08T12:00:00Z"}}


@pytest.mark.parametrize(
    "as_of, expected",
    [
        (datetime(2026, 3, 15, 12, tzinfo=timezone.utc), "true"),
        ("2026-03-15T12:00:00Z", "true"),
        (datetime(2026, 3, 15, 13, tzinfo=timezone(timedelta(hours=1))), "true"),
        ("2026-03-15T13:00:00+01:00", "true"),
        (datetime(2026, 3, 15, 12, 0, 0, 1, tzinfo=timezone.utc), "false"),
        ("2026-03-15T12:00:00.000001Z", "false"),
        (datetime(2026, 3, 15, 7, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))), "false"),
    ],
)
def test_as_of_datetime_and_iso_string_agree(as_of, expected):
    seg = segcore.compile("last_login within 7d")
    assert seg.outcome(_LOGIN, as_of=as_of) == expected
    assert seg.evaluate(_LOGIN, as_of=as_of) is (expected == "true")


def test_naive_as_of_datetime_is_rejected():
    seg = segcore.compile("last_login within 7d")
    with pytest.raises((ValueError, TypeError)) as info:
        seg.evaluate(_LOGIN, as_of=datetime(2026, 3, 15, 12))
    assert "naive" in str(info.value).lower()


def test_as_of_string_without_offset_is_rejected():
    seg = segcore.compile("last_login within 7d")
    with pytest.raises((ValueError, segcore.SegmentError)):
        seg.evaluate(_LOGIN, as_of="2026-03-15T12:00:00")


@pytest.mark.parametrize(
    "at, expected",
    [
        (datetime(2026, 3, 8, 12, tzinfo=timezone.utc), "true"),  # exactly 7 days back: inside
        ("2026-03-08T12:00:00Z", "true"),
        (datetime(2026, 3, 8, 13, tzinfo=timezone(timedelta(hours=1))), "true"),
        (datetime(2026, 3, 8, 11, 59, 59, 999999, tzinfo=timezone.utc), "false"),  # 1 µs too early
        ("2026-03-08T11:59:59.999999Z", "false"),
        (datetime(2026, 3, 15, 12, 0, 0, 1, tzinfo=timezone.utc), "false"),  # future events never count (§11)
    ],
)
def test_event_at_as_datetime_works_like_iso_string(at, expected):
    seg = segcore.compile("count(purchase within 7d) = 1")
    profile = {"id": "u1", "events": [{"name": "purchase", "at": at, "properties": {"price": 20}}]}
    assert seg.outcome(profile, as_of=AS_OF) == expected


# ---------------------------------------------------------------------------------------------
# Data conversion (§4)
# ---------------------------------------------------------------------------------------------


def test_python_int_and_float_keep_their_kind():
    # §4: 3 is an int and 3.0 a float. i64::MAX + 1 overflows as an int (§8) but not as a float.
    seg = segcore.compile("n + 1 > 0")
    assert seg.outcome({"id": "u1", "attributes": {"n": 9223372036854775807.0}}, as_of=AS_OF) == "true"
    with pytest.raises(segcore.EvaluationError):
        seg.outcome({"id": "u1", "attributes": {"n": 9223372036854775807}}, as_of=AS_OF)
    # int / int → float (§8): 7 / 2 = 3.5 either way.
    half = segcore.compile("n / 2 = 3.5")
    assert half.outcome({"id": "u1", "attributes": {"n": 7}}, as_of=AS_OF) == "true"


def test_python_int_beyond_i64_is_read_as_float():
    # §4: an integer outside i64 is read as a float; 10^30 > i64::MAX.
    seg = segcore.compile("n > 9223372036854775807")
    assert seg.outcome({"id": "u1", "attributes": {"n": 10**30}}, as_of=AS_OF) == "true"


def test_python_bool_is_not_an_int():
    # bool is a subclass of int in Python, but a bool in data is a bool (§4); comparing a bool with
    # an int at run time is a type mismatch → null → UNKNOWN (§6).
    assert segcore.compile("flag = true").outcome({"id": "u1", "attributes": {"flag": True}}, as_of=AS_OF) == "true"
    assert segcore.compile("n = 1").outcome({"id": "u1", "attributes": {"n": True}}, as_of=AS_OF) == "unknown"


def test_decimal_money_amounts_are_exact():
    # §10: 450.00 EUR × 1.08 = 486.0000 USD exactly (a float product would be 486.00000000000006).
    profile = {"id": "u1", "attributes": {"ltv": {"amount": Decimal("450.00"), "currency": "EUR"}}}
    fx = {"EUR/USD": "1.08"}
    assert segcore.compile("ltv > 485 USD").evaluate(profile, as_of=AS_OF, fx=fx) is True
    assert segcore.compile("ltv > 486 USD").evaluate(profile, as_of=AS_OF, fx=fx) is False
    assert segcore.compile("ltv = 486 USD").evaluate(profile, as_of=AS_OF, fx=fx) is True


def test_outcome_is_three_valued_and_membership_only_when_true():
    # §16: member only when TRUE; a missing attribute makes `age >= 18` UNKNOWN (§5, §6).
    seg = segcore.compile("age >= 18")
    cases = [({"age": 30}, "true"), ({"age": 16}, "false"), ({}, "unknown"), ({"age": None}, "unknown")]
    for attributes, expected in cases:
        profile = {"id": "u1", "attributes": attributes}
        assert seg.outcome(profile, as_of=AS_OF) == expected
        assert seg.evaluate(profile, as_of=AS_OF) is (expected == "true")


def test_context_and_as_of_may_be_passed_positionally():
    # A Context as the second argument is the fast call; a positional as_of is the same instant.
    seg = segcore.compile('age >= 18 and count(login within 7d) >= 1')
    ctx = segcore.Context(AS_OF)
    # The window is [as_of - 7d, as_of] (§9): 2026-03-08T12:00Z is its first instant.
    inside = {"id": "u1", "attributes": {"age": 30}, "events": [{"name": "login", "at": "2026-03-08T12:00:00Z"}]}
    outside = {"id": "u2", "attributes": {"age": 30}, "events": [{"name": "login", "at": "2026-03-08T11:59:59Z"}]}
    for profile, expected in [(inside, True), (outside, False)]:
        for call in (
            lambda p: seg.evaluate(p, ctx),
            lambda p: seg.evaluate(p, AS_OF),
            lambda p: seg.evaluate(p, AS_OF_DT),
            lambda p: seg.evaluate(segcore.Profile(p), ctx),
        ):
            assert call(profile) is expected
    # No age: UNKNOWN and TRUE is UNKNOWN; with no login either, UNKNOWN and FALSE is FALSE (§6).
    assert seg.outcome({"id": "u3", "events": inside["events"]}, ctx) == "unknown"
    assert seg.outcome({"id": "u3"}, ctx) == "false"
    assert seg.explain(inside, ctx).member is True
    reg = segcore.Registry.from_definitions([US_ADULT, ADULT])
    adult_us = {"id": "u1", "attributes": {"age": 30, "country": "US"}}
    assert reg.evaluate(adult_us, ctx) == {"adult": True, "us_adult": True}
    assert reg.outcomes(adult_us, ctx) == {"adult": "true", "us_adult": "true"}
    assert reg.evaluate_one("us_adult", adult_us, ctx) == "true"
    with pytest.raises(TypeError, match="once"):
        seg.evaluate(inside, ctx, context=ctx)
    with pytest.raises(TypeError, match="not both"):
        seg.evaluate(inside, ctx, fx={"EUR/USD": "1.1"})
    with pytest.raises(TypeError, match="not both"):
        seg.evaluate(inside, AS_OF, context=ctx)


def test_dicts_and_handles_agree_on_generated_profiles():
    # The dict path reads only the read set, in slot order; the handle path converts everything
    # and reads by name. Both must give the same outcome for every profile and segment.
    rng = random.Random(5)
    reg = segcore.Registry.from_definitions(
        [
            {"id": "a", "version": "1.0.0", "rule": 'age >= 18 and country in ["US", "GB"]'},
            {"id": "b", "version": "1.0.0", "rule": 'in_segment("a") or count(purchase where e.sku = "x" within 30d) >= 2'},
            {"id": "c", "version": "1.0.0", "rule": "not exists(age) or ltv > 100.5"},
        ]
    )
    ctx = segcore.Context(AS_OF)
    outcomes = set()
    for i in range(500):
        attributes = {}
        if rng.random() > 0.2:
            attributes["age"] = rng.randrange(0, 60)
        if rng.random() > 0.2:
            attributes["country"] = rng.choice(["US", "GB", "FR", None])
        if rng.random() > 0.3:
            attributes["ltv"] = rng.choice([rng.randrange(0, 300), rng.random() * 300])
        events = [
            {
                "name": rng.choice(["purchase", "login"]),
                "at": (AS_OF_DT - timedelta(days=rng.randrange(0, 60))).isoformat(),
                "properties": {"sku": rng.choice(["x", "y"])},
            }
            for _ in range(rng.randrange(0, 6))
        ]
        p = {"id": f"p{i}", "attributes": attributes, "events": events}
        from_dict = reg.outcomes(p, ctx)
        assert from_dict == reg.outcomes(segcore.Profile(p), ctx), p
        for sid in ("a", "c"):  # standalone (b needs a's result in the context)
            assert reg[sid].outcome(p, ctx) == reg.evaluate_one(sid, segcore.Profile(p), ctx), (sid, p)
        outcomes.update(from_dict.values())
    assert outcomes == {"true", "false", "unknown"}


# ---------------------------------------------------------------------------------------------
# Segment properties (§1, §17)
# ---------------------------------------------------------------------------------------------


def test_compile_sets_id_version_and_definition():
    seg = segcore.compile("age >= 18", id="adults", version="2.1.0", timezone="Europe/Paris", currency="EUR")
    assert seg.id == "adults"
    assert seg.version == "2.1.0"
    d = seg.definition
    assert isinstance(d, dict)
    assert (d["id"], d["version"], d["timezone"], d["currency"]) == ("adults", "2.1.0", "Europe/Paris", "EUR")


def test_canonical_json_of_a_bare_rule():
    # §17: defaults written out, absent timestamps null, keys in order.
    seg = segcore.compile("age >= 18", id="case")
    want = (
        '{"id":"case","version":"1.0.0","name":"","description":"","owner":"","status":"active",'
        '"effective_from":null,"effective_until":null,"timezone":"UTC","currency":"USD","tags":[],'
        '"rule":{"op":">=","args":[{"attr":["age"]},{"int":18}]}}'
    )
    assert seg.canonical_json == want
    assert seg.definition_hash == hashlib.sha256(want.encode("utf-8")).hexdigest()


def test_definition_hash_is_sha256_of_canonical_json():
    seg = segcore.compile('country in ["FR", "DE"] and ltv >= 19.99 EUR', currency="EUR")
    h = seg.definition_hash
    assert re.fullmatch(r"[0-9a-f]{64}", h), h
    assert h == hashlib.sha256(seg.canonical_json.encode("utf-8")).hexdigest()


def test_rule_property_is_canonically_formatted():
    assert segcore.compile("(age>=18)").rule == "age >= 18"
    assert segcore.compile("x exists").rule == "x is not null"  # §17


def test_formatting_does_not_change_the_hash():
    # The hash is of the AST (§17), so layout and redundant parentheses do not change it.
    a = segcore.compile("(age>=18)  and\n country = \"US\"  # adults\n")
    b = segcore.compile('age >= 18 and country = "US"')
    assert a.definition_hash == b.definition_hash


def test_read_set_lists_attributes_events_and_segments():
    seg = segcore.compile('age > 1 and count(purchase) > 0 and in_segment("vip")')
    assert seg.read_set == {"attributes": ["age"], "events": ["purchase"], "segments": ["vip"], "event_properties": {}}
    summed = segcore.compile("sum(purchase.amount) > 1 and count(login where device = \"ios\") > 0")
    assert summed.read_set["event_properties"] == {"login": ["device"], "purchase": ["amount"]}


_VIP_YAML = """\
id: vip_eu
version: 1.2.0
name: VIP customers in France and Germany
owner: crm-team
tags: [vip, eu, vip]
timezone: Europe/Paris
currency: EUR
effective_from: "2026-01-01T00:00:00+01:00"
rule: |
  ltv >= 1000 EUR
  and country in ["FR", "DE"]
"""

# Worked out by hand from §17: effective_from in UTC, tags sorted and de-duplicated, the rule's AST.
_VIP_CANONICAL = (
    '{"id":"vip_eu","version":"1.2.0","name":"VIP customers in France and Germany","description":"",'
    '"owner":"crm-team","status":"active","effective_from":"2025-12-31T23:00:00Z","effective_until":null,'
    '"timezone":"Europe/Paris","currency":"EUR","tags":["eu","vip"],"rule":{"op":"and","args":['
    '{"op":">=","args":[{"attr":["ltv"]},{"money":{"amount":"1000","currency":"EUR"}}]},'
    '{"op":"in","args":[{"attr":["country"]},{"list":[{"lit":"FR"},{"lit":"DE"}]}]}]}}'
)

_VIP_DICT = {
    "id": "vip_eu",
    "version": "1.2.0",
    "name": "VIP customers in France and Germany",
    "owner": "crm-team",
    "tags": ["vip", "eu", "vip"],
    "timezone": "Europe/Paris",
    "currency": "EUR",
    "effective_from": "2026-01-01T00:00:00+01:00",
    "rule": 'ltv >= 1000 EUR\nand country in ["FR", "DE"]\n',
}


def test_same_definition_from_yaml_json_dict_and_file_has_one_hash(tmp_path):
    want_hash = hashlib.sha256(_VIP_CANONICAL.encode("utf-8")).hexdigest()
    yaml_file = _write(tmp_path / "vip_eu.yaml", _VIP_YAML)
    json_file = _write(tmp_path / "vip_eu.json", json.dumps(_VIP_DICT))
    segments = [
        segcore.Segment.from_yaml(_VIP_YAML),
        segcore.Segment.from_json(json.dumps(_VIP_DICT)),
        segcore.Segment.from_dict(_VIP_DICT),
        segcore.Segment.load(yaml_file),
        segcore.Segment.load(str(yaml_file)),
        segcore.Segment.load(json_file),
    ]
    for seg in segments:
        assert seg.canonical_json == _VIP_CANONICAL
        assert seg.definition_hash == want_hash
        assert seg.id == "vip_eu" and seg.version == "1.2.0"
        assert seg.rule == 'ltv >= 1000 EUR and country in ["FR", "DE"]'


def _cli_binary():
    found = []
    for profile in ("release", "debug"):
        for name in ("segcore", "segcore.exe"):
            p = REPO / "target" / profile / name
            if p.is_file():
                found.append(p)
    if not found:
        return None
    return max(found, key=lambda p: p.stat().st_mtime)  # the most recently built one


def test_definition_hash_matches_rust_cli(tmp_path):
    cli = _cli_binary()
    if cli is None:
        pytest.fail(
            "the segcore CLI is not built (looked for target/release/segcore and target/debug/segcore); "
            "build it first (`cargo build -p segcore-cli` or the README's test command), this test never builds"
        )
    path = _write(tmp_path / "vip_eu.yaml", _VIP_YAML)
    seg = segcore.Segment.load(path)

    run = subprocess.run([str(cli), "hash", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    first_line = run.stdout.splitlines()[0]
    assert first_line.split()[0] == seg.definition_hash
    assert first_line.split()[1] == "vip_eu@1.2.0"

    run = subprocess.run([str(cli), "hash", "--canonical", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == seg.canonical_json == _VIP_CANONICAL


# ---------------------------------------------------------------------------------------------
# Registry (§12)
# ---------------------------------------------------------------------------------------------


def test_registry_from_definitions_resolves_references():
    reg = segcore.Registry.from_definitions([US_ADULT, ADULT])
    assert reg.ids == ["adult", "us_adult"]
    assert len(reg) == 2
    assert "adult" in reg and "us_adult" in reg
    assert "ghost" not in reg
    seg = reg["us_adult"]
    assert isinstance(seg, segcore.Segment)
    assert seg.id == "us_adult"
    with pytest.raises(KeyError):
        reg["ghost"]

    adult_us = {"id": "u1", "attributes": {"age": 30, "country": "US"}}
    minor_us = {"id": "u2", "attributes": {"age": 16, "country": "US"}}
    result = reg.evaluate(adult_us, as_of=AS_OF)
    assert result == {"adult": True, "us_adult": True}
    assert all(type(v) is bool for v in result.values())
    assert reg.evaluate(minor_us, as_of=AS_OF_DT) == {"adult": False, "us_adult": False}
    assert reg.evaluate_one("us_adult", adult_us, as_of=AS_OF) == "true"


def test_registry_unknown_dependency_is_not_a_member():
    # §12: in_segment is membership — an UNKNOWN dependency gives FALSE, never UNKNOWN.
    reg = segcore.Registry.from_definitions([ADULT, US_ADULT])
    no_age = {"id": "u3", "attributes": {"country": "US"}}
    assert reg.outcomes(no_age, as_of=AS_OF) == {"adult": "unknown", "us_adult": "false"}
    assert reg.evaluate_one("us_adult", no_age, as_of=AS_OF) == "false"
    ex = reg.explain("us_adult", no_age, as_of=AS_OF)
    assert ex.segment == "us_adult"
    assert (ex.outcome, ex.member) == ("false", False)


def test_registry_cycle_is_segment_cycle():
    a = {"id": "a", "version": "1.0.0", "rule": 'in_segment("b")'}
    b = {"id": "b", "version": "1.0.0", "rule": 'in_segment("a")'}
    with pytest.raises(segcore.SegmentError) as info:
        segcore.Registry.from_definitions([a, b])
    assert any(d.kind == "segment_cycle" for d in info.value.diagnostics)


def test_registry_unknown_and_duplicate_ids_are_compile_errors():
    ghost = {"id": "t", "version": "1.0.0", "rule": 'in_segment("ghost")'}
    with pytest.raises(segcore.SegmentError) as info:
        segcore.Registry.from_definitions([ADULT, ghost])
    assert any(d.kind == "unknown_segment" for d in info.value.diagnostics)
    with pytest.raises(segcore.SegmentError) as info:
        segcore.Registry.from_definitions([ADULT, dict(ADULT, rule="age >= 21")])
    assert any(d.kind == "duplicate_segment" for d in info.value.diagnostics)


def test_registry_load_reads_a_folder(tmp_path):
    _write(tmp_path / "adult.yaml", "id: adult\nversion: 1.0.0\nrule: age >= 18\n")
    _write(tmp_path / "us_adult.yml", 'id: us_adult\nversion: 1.0.0\nrule: in_segment("adult") and country = "US"\n')
    _write(
        tmp_path / "vip.json",
        json.dumps({"id": "vip", "version": "1.0.0", "rule": 'in_segment("us_adult") and ltv >= 1000 USD'}),
    )
    _write(tmp_path / "notes.txt", "not a definition: only *.yaml, *.yml and *.json are read (§1)\n")
    profile = {"id": "u1", "attributes": {"age": 30, "country": "US", "ltv": {"amount": "1500", "currency": "USD"}}}
    for reg in (segcore.Registry.load(tmp_path), segcore.Registry.load(str(tmp_path))):
        assert reg.ids == ["adult", "us_adult", "vip"]
        assert reg.evaluate(profile, as_of=AS_OF) == {"adult": True, "us_adult": True, "vip": True}


def test_registry_schema_applies_to_every_definition():
    bad = {"id": "bad", "version": "1.0.0", "rule": "agee >= 18"}
    with pytest.raises(segcore.SegmentError) as info:
        segcore.Registry.from_definitions([ADULT, bad], schema=SCHEMA)
    assert any(d.kind == "unknown_field" for d in info.value.diagnostics)


# ---------------------------------------------------------------------------------------------
# explain (§16)
# ---------------------------------------------------------------------------------------------

_EXPLAINED_RULE = 'age >= 18 and country = "US"'


def test_explain_member():
    seg = segcore.compile(_EXPLAINED_RULE, id="us_adult")
    ex = seg.explain({"id": "u1", "attributes": {"age": 30, "country": "US"}}, as_of=AS_OF)
    assert isinstance(ex, segcore.Explanation)
    assert (ex.segment, ex.version, ex.outcome, ex.member) == ("us_adult", "1.0.0", "true", True)
    d = ex.to_dict()
    assert {"outcome", "member", "trace", "unknown_inputs"} <= set(d)
    assert d["outcome"] == "true"
    assert d["member"] is True
    assert d["unknown_inputs"] == []
    assert d["trace"]["expr"] == _EXPLAINED_RULE
    assert d["trace"]["value"] is True
    assert _EXPLAINED_RULE in str(ex)
    page = ex._repr_html_()
    assert isinstance(page, str) and "<details" in page


def test_explain_lists_missing_and_null_inputs():
    # §5: missing and null behave the same but explain says which one it was.
    seg = segcore.compile(_EXPLAINED_RULE, id="us_adult")
    for attributes, reason in [({"country": "US"}, "missing"), ({"age": None, "country": "US"}, "null")]:
        ex = seg.explain({"id": "u1", "attributes": attributes}, as_of=AS_OF)
        assert (ex.outcome, ex.member) == ("unknown", False)
        d = ex.to_dict()
        assert d["outcome"] == "unknown"
        assert d["member"] is False
        assert d["unknown_inputs"] == [{"path": "age", "reason": reason}]
        assert d["trace"]["value"] is None


def test_explain_agrees_with_outcome():
    seg = segcore.compile("age >= 18 or vip = true")
    for attributes in ({"age": 30}, {"age": 3, "vip": False}, {"vip": False}, {"vip": True}):
        profile = {"id": "u1", "attributes": attributes}
        assert seg.explain(profile, as_of=AS_OF).outcome == seg.outcome(profile, as_of=AS_OF)


def test_segment_repr_html_shows_id_and_escaped_rule():
    seg = segcore.compile("(age>=18) and score<5", id="young_scorers")
    page = seg._repr_html_()
    assert isinstance(page, str)
    assert "young_scorers" in page
    assert seg.rule == "age >= 18 and score < 5"
    assert html.escape(seg.rule, quote=False) in page  # "age &gt;= 18 and score &lt; 5"
    assert "score < 5" not in page


# ---------------------------------------------------------------------------------------------
# check() and format_rule()
# ---------------------------------------------------------------------------------------------


def test_check_good_folder_returns_no_diagnostics(tmp_path):
    _write(tmp_path / "adult.yaml", "id: adult\nversion: 1.0.0\nrule: age >= 18\n")
    _write(tmp_path / "us_adult.yaml", 'id: us_adult\nversion: 1.0.0\nrule: in_segment("adult") and country = "US"\n')
    assert segcore.check(tmp_path) == []
    assert segcore.check(str(tmp_path)) == []
    assert segcore.check(tmp_path / "adult.yaml") == []


def test_check_bad_folder_reports_diagnostics(tmp_path):
    _write(tmp_path / "good.yaml", "id: good\nversion: 1.0.0\nrule: age >= 18\n")
    _write(tmp_path / "bad.yaml", "id: bad\nversion: 1.0.0\nrule: age >=\n")
    diags = segcore.check(tmp_path)
    assert isinstance(diags, list) and diags
    assert all(isinstance(d, segcore.Diagnostic) for d in diags)
    syntax = [d for d in diags if d.kind == "syntax_error"]
    assert syntax, [(d.kind, d.message) for d in diags]
    d = syntax[0]
    assert d.severity == "error"
    # The rule `age >=` ends at 1:7 of the rule text, which is line 3, column 13 of the file
    # ("rule: " is 6 characters). Either position is acceptable for the contract.
    assert (d.line, d.column) in {(1, 7), (3, 13)}
    assert d.origin is not None and "bad.yaml" in d.origin


def test_check_definitions_given_as_dicts():
    assert segcore.check([ADULT, US_ADULT]) == []
    diags = segcore.check([{"id": "a", "version": "1.0.0", "rule": "agee >= 18"}], schema=SCHEMA)
    assert [(d.kind, d.line, d.column) for d in diags] == [("unknown_field", 1, 1)]


def test_format_rule():
    assert segcore.format_rule("not(a=1)") == "not (a = 1)"
    assert segcore.format_rule("(age>=18)") == "age >= 18"
    assert segcore.format_rule("x exists") == "x is not null"
    with pytest.raises(segcore.ParseError):
        segcore.format_rule("age >=")


def test_schema_is_a_mapping_yaml_text_or_a_path(tmp_path):
    import pathlib
    yaml = "attributes:\n  age: int\n"
    for schema in ({"attributes": {"age": "int"}}, yaml, '{"attributes": {"age": "int"}}'):
        seg = segcore.compile("age >= 18", schema=schema)
        assert seg.evaluate({"id": "u", "attributes": {"age": 30}}, as_of="2026-03-15T00:00:00Z")
        with pytest.raises(segcore.TypeCheckError):
            segcore.compile("age = \"x\"", schema=schema)
    path = tmp_path / "schema.yaml"
    path.write_text(yaml)
    assert segcore.compile("age >= 18", schema=pathlib.Path(path)).rule == "age >= 18"
    # A file name given as a plain string is text, and the error says how to pass a path.
    with pytest.raises(segcore.SegmentError) as info:
        segcore.compile("age >= 18", schema="schema.yaml")
    assert info.value.kind == "invalid_schema" and "pathlib.Path(\"schema.yaml\")" in str(info.value)
    with pytest.raises(segcore.SegmentError) as info:
        segcore.compile("age >= 18", schema=pathlib.Path(tmp_path / "missing.yaml"))
    assert info.value.kind == "io"


def test_a_registry_shows_as_a_table_in_notebooks():
    reg = segcore.Registry.from_definitions([
        {"id": "b", "version": "2.0.0", "rule": 'in_segment("a") and plan = "<pro>"'},
        {"id": "a", "version": "1.0.0", "rule": "age>=18"},
    ])
    page = reg._repr_html_()
    assert page.startswith("<table><caption>segcore Registry: 2 segments</caption>")
    rows = page.split("<tr>")[2:]
    # Dependency order, formatted rules, escaped text, 12 hex digits of the hash.
    assert rows[0].startswith("<td>a</td><td>1.0.0</td><td><code>") and "<code>age &gt;= 18</code>" in rows[0]
    assert "plan = &quot;&lt;pro&gt;&quot;" in rows[1]
    assert re.search(r"<td><code>[0-9a-f]{12}</code></td>", rows[1])


def test_the_examples_in_the_type_stubs_run(tmp_path, monkeypatch):
    """Every `>>>` example in ``__init__.pyi`` (what editors show as the API's documentation) runs
    and prints what it says, so the documentation cannot drift from the binding."""
    import ast
    import doctest
    from pathlib import Path

    stub = Path(segcore.__file__).with_name("__init__.pyi")
    if not stub.exists():  # running against the source tree rather than the installed wheel
        stub = Path(__file__).parents[1] / "python" / "segcore" / "__init__.pyi"
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "adults.yaml").write_text("id: adults\nversion: 1.0.0\nrule: age >= 18\n")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for node in ast.walk(ast.parse(stub.read_text())):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            doc = ast.get_docstring(node)
            if doc and ">>>" in doc:
                name = getattr(node, "name", "segcore")
                test = parser.get_doctest(doc, {"segcore": segcore}, name, str(stub), getattr(node, "lineno", 0))
                examples += len(test.examples)
                runner.run(test)
    result = runner.summarize(verbose=False)
    assert examples >= 12, examples
    assert result.failed == 0, f"{result.failed} of {result.attempted} stub examples failed (printed above)"
