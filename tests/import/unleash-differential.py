#!/usr/bin/env python3
# A seeded differential test of `segcore import --from unleash` against Unleash's engine itself:
# random feature toggles (strategies, constraints, segments) over a fixed typed import schema,
# random contexts for each, yggdrasil's answer on every (toggle, context) pair (through
# unleash_engine.py's membership convention), and segcore's outcome of the imported definition
# on the same data. Every pair of an imported toggle must agree: the toggle is enabled exactly
# when the outcome is "true" (SPEC §29, §29.4).
#
#   target/py-venv/bin/python tests/import/unleash-differential.py [--seed N] [--rules N] [--contexts N]
#
# Defaults: --seed 1 --rules 4000 --contexts 30. Writes target/conformance/import-differential-unleash.json
# ({"rules", "imported", "checked", "engine", "disagreements", "seed", …}, read by
# scripts/conformance_matrix.py) and prints a summary: the toggles imported and refused (by
# construct), the pairs checked, and the first disagreements, shrunk to a minimal toggle and
# context. Exit 1 on any disagreement or when fewer than 100,000 pairs were checked.
#
# The same arguments always generate the same toggles and contexts (random.Random(seed), no clock).
#
# Data and the import's assumptions (SPEC §29: A1, N; the import lists no other one for Unleash).
# A profile's attributes are generated first; the Unleash context is unleash_engine.context_of of
# those attributes (standard fields top level, the rest under `properties`, all as text, a number
# as unleash_engine.number_text), and the segcore profile carries the very same attributes, so
# both sides see the same data.
# - A1: every attribute is absent, null (the context leaves it out, segcore reads null) or a value
#   of its declared type: a Python str for a `string` attribute (well-formed Unicode, no lone
#   surrogates), a Python int or float for a `number` attribute (never a bool).
# - N: `age` and `score`, the only properties NUM_* reads, are declared `number`. A float is
#   finite and written with repr (the shortest text that reads back, which Rust's f64 parse reads
#   as the same double, never as an infinity); an int is within ±2^53, so its text reads as the
#   same value. No number the context carries is anything else.
# - Version strings (SEMVER_*) are any strings: the import states no contract on them for Unleash
#   (V is GrowthBook's), so `appVersion` gets valid and invalid versions alike, pre-release and
#   build metadata, leading `v`, partial versions, leading zeros and identifiers beyond u64.
# - `tier` is declared but never in a context (always a missing property); `currentTime` is not
#   declared (a constraint on it is refused; unleash_engine.clock_dependent still guards the pairs).

import argparse
import copy
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REPORT = os.path.join(ROOT, "target", "conformance", "import-differential-unleash.json")

import unleash_engine as ygg  # noqa: E402  (beside this script; checks yggdrasil-engine is 2.0.0)
import segcore  # noqa: E402

AS_OF = "2026-01-01T00:00:00Z"
MIN_CHECKED = 100_000
TOGGLE = "toggle"

SCHEMA = {
    "attributes": {
        "userId": "string",  # a standard field: top level in the context
        "environment": "string",  # a standard field: top level in the context
        "email": "string",
        "country": "string",
        "plan": "string",
        "appVersion": "string",
        "age": "number",
        "score": "number",
        "tier": "string",  # declared, never in a context
    }
}
STRING_ATTRS = ["userId", "environment", "email", "country", "plan", "appVersion", "tier"]
NUMBER_ATTRS = ["age", "score"]
IN_CONTEXTS = [a for a in SCHEMA["attributes"] if a != "tier"]
TWO_53 = 2**53

# ---------------------------------------------------------------------------------------------
# Value pools

# Strings chosen for case mapping (final sigma, dotted capital I, sharp s, Kelvin sign, titlecase
# digraphs, ligatures, a Unicode 16 capital), whitespace Rust's `trim` removes and Python's does
# not agree on, quotes and backslashes (pasted into yggdrasil's rule text on the literal side only).
ODD_STRINGS = [
    "", " ", "ΑΣ", "ΟΔΟΣ ΑΣ", "σας", "İstanbul", "i̇", "ß", "STRASSE", "ẞ", "\u212a", "k", "ǅ", "ǆ", "ﬀ",
    "\u1c89", "\u1c8a", "\U00010d50", "\ua7cb", "😀", "a\u00a0", "\u3000x", "q\"t", "back\\slash", "a\u0000b", "É", "é",
]
STRINGS = {
    "userId": ["u1", "u2", "U1", "alice", "Alice", "bob", "123", "", " u1", "u1 ", "a,b", "q\"t", "x\\"],
    "environment": ["production", "Production", "PRODUCTION", "staging", "dev", "prod", ""],
    "email": [
        "alice@example.com", "Bob@Example.COM", "carol@test.org", "dave@EXAMPLE.com", "@", "x@y", "",
        "émile@exämple.fr", "ΣΟΦΙΑ@MAIL.GR", "test@another.com", "admin@example.com.evil",
    ],
    "country": ["US", "us", "Us", "CA", "DE", "GB", "FR", "USA", " US", "US ", "İT", "Türkiye", ""],
    "plan": ["free", "Free", "FREE", "pro", "Pro", "PRO", "enterprise", "pro-annual", "pro_monthly", "trial", "", "ß-plan"],
    "appVersion": [],  # VERSIONS below
    "tier": ["gold", "silver"],
}
VERSIONS = [
    "1.2.3", "1.2.4", "1.2.2", "1.3.0", "2.0.0", "0.0.0", "0.9.9", "10.0.0", "1.10.0", "1.9.9",
    "1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-beta", "1.2.3-beta.1", "1.2.3-beta.2", "1.2.3-beta.11",
    "1.2.3-rc.1", "1.2.3-0", "1.2.3-1a", "1.2.3--x", "1.2.3-a-b", "1.2.3-beta.1.x",
    "1.2.3+build.5", "1.2.3-beta.1+exp.sha", "1.2.3+0001",
    "v1.2.3", "V1.2.3", "1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-", "1.2.3+",
    " 1.2.3", "1.2.3 ", "", "latest", "1.2.3-beta..1",
    "18446744073709551615.0.0", "18446744073709551616.0.0", "99999.99999.99999",
    # Numeric pre-release identifiers beyond u64 (SemVer compares numeric identifiers of any length).
    "1.2.3-18446744073709551616", "1.2.3-99999999999999999999", "1.2.3-100000000000000000000",
]
SEMVER_LITERALS = [
    "1.2.3", "1.2.3", "2.0.0", "1.0.0", "0.0.1", "1.10.0", "1.2.3-beta.1", "1.2.3-alpha", "1.2.3-rc.1",
    "1.2.3-0", "1.2.3-beta.11", "1.2.3+build", "1.2.3-beta.1+exp", "1.2.3--x", "1.2.3-1a",
    "v1.2.3", "v2.0.0",  # yggdrasil: the constant false, inversion ignored
    "1.2.3-18446744073709551616", "1.2.3-99999999999999999999",
]
# Literals yggdrasil reads through its rule grammar as something else (a number, a date, an
# error): the importer must refuse them on a SEMVER_* constraint of a string property.
SEMVER_REFUSED = ["5", "1.2", "01.2.3", "V1.2.3", "1.2.3 ", "2024-01-01T00:00:00Z", "latest"]

NUMBERS = [
    0, -0.0, 1, -1, 2, 17, 18, 19, 21, 64, 65, 66, 100, 1000, -5, -17, 0.5, -0.5, 1.5, 17.5, 18.5, 2.25,
    0.1, 0.2, 0.30000000000000004, 17.999999999999996, 18.000000000000004, 1e-7, 5e-324, 1e16, 123.456,
    -2.5, 99.99, 1e21, 1.7976931348623157e308, -1.7976931348623157e308, TWO_53, -TWO_53, TWO_53 - 1,
]
NUM_LITERALS = [
    "0", "1", "-1", "2", "18", "21", "65", "100", "1000", "-5", "0.5", "1.5", "18.5", "2.25", "-2.5",
    "99.99", "0.1", "17.999999999999996", "9007199254740993", "100000000000000000000", "-0", "007", "18.0",
]
NUM_EQ_LITERALS = ["2", "18", "21", "65", "100", "-5", "1.5", "18.5", "2.25", "-2.5", "99.99", "9007199254740993", "18.0"]
# Refused on NUM_*: not a plain decimal (yggdrasil's grammar reads them its own way), or NUM_EQ
# within f64::EPSILON of a number of magnitude ≤ 1 (several doubles pass).
NUM_REFUSED = ["+5", "5.", ".5", "1e3", "1E3", "1.2.3", " 5", "0x10", "inf", "NaN", "2024-01-01T00:00:00Z"]
NUM_EQ_REFUSED = ["0", "1", "-1", "0.5", "0.1"]

REGEXES = ["^a", "com$", "^[a-z]+@", "(?i)^us$", "a.*b", "\\d+", "^$", "[", "(a", "ß", "\\p{Greek}", "^.{3}$"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def chance(self, p):
        return self.r.random() < p

    def pick(self, xs):
        return xs[self.r.randrange(len(xs))]

    # -----------------------------------------------------------------------------------------
    # Toggles

    def string_value(self, attr):
        """A constraint value for a string property: mostly from its data pool or a fragment of one."""
        pool = VERSIONS if attr == "appVersion" else STRINGS[attr]
        r = self.r.random()
        if r < 0.55 and pool:
            return self.pick(pool)
        if r < 0.8 and pool:
            v = self.pick(pool)
            k = self.r.randint(0, len(v)) if v else 0
            return self.pick([v[:k], v[k:], v.lower(), v.upper()])
        if r < 0.97:
            return self.pick(ODD_STRINGS)
        return self.pick(["", "x", "y"])

    def values(self, attr, lo=1, hi=3):
        return [self.string_value(attr) for _ in range(self.r.randint(lo, hi))]

    def constraint(self, refused):
        """One constraint: mostly ones that import, with `refused` the chance of a construct the
        importer refuses, and a few that make the toggle not compile (always off)."""
        c = {}
        r = self.r.random()
        if r < refused:
            c = self.refused_constraint()
        elif r < refused + 0.012:
            c = self.broken_constraint()
        else:
            kind = self.r.random()
            if kind < 0.22:
                attr = self.pick(NUMBER_ATTRS)
                op = self.pick(["NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE"])
                lit = self.pick(NUM_EQ_LITERALS if op == "NUM_EQ" else NUM_LITERALS)
                c = {"contextName": attr, "operator": op, "value": lit}
            elif kind < 0.38:
                attr = "appVersion" if self.chance(0.9) else self.pick(["country", "tier"])
                op = self.pick(["SEMVER_EQ", "SEMVER_GT", "SEMVER_LT", "SEMVER_GTE", "SEMVER_LTE"])
                c = {"contextName": attr, "operator": op, "value": self.pick(SEMVER_LITERALS)}
            elif kind < 0.66:
                attr = self.pick(STRING_ATTRS)
                op = self.pick(["IN", "NOT_IN"])
                c = {"contextName": attr, "operator": op}
                w = self.r.random()
                if w < 0.06:
                    c["values"] = []  # IN: false, NOT_IN: true
                elif w < 0.09:
                    pass  # no `values`: the same as []
                else:
                    c["values"] = self.values(attr)
            elif kind < 0.96:
                attr = self.pick(STRING_ATTRS)
                op = self.pick(["STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS"])
                c = {"contextName": attr, "operator": op, "values": self.values(attr)}
                c["caseInsensitive"] = self.chance(0.5)
            else:
                attr = self.pick(["email", "country", "plan", "userId"])
                c = {"contextName": attr, "operator": "REGEX", "value": self.pick(REGEXES)}
                c["caseInsensitive"] = self.chance(0.3)
        w = self.r.random()
        if w < 0.35:
            c["inverted"] = True
        elif w < 0.7:
            c["inverted"] = False
        if "caseInsensitive" not in c and self.chance(0.1):
            c["caseInsensitive"] = self.chance(0.5)  # ignored by IN, NOT_IN, NUM_*, SEMVER_*
        return c

    def refused_constraint(self):
        r = self.r.random()
        if r < 0.15:
            return {"contextName": self.pick(["email", "country", "appVersion"]), "operator": self.pick(["NUM_GT", "NUM_EQ", "NUM_LT"]), "value": "18"}
        if r < 0.25:
            return {"contextName": self.pick(NUMBER_ATTRS), "operator": self.pick(["IN", "NOT_IN", "STR_CONTAINS", "SEMVER_GT"]),
                    "values": ["18"], "value": "1.2.3"}
        if r < 0.42:
            return {"contextName": self.pick(NUMBER_ATTRS), "operator": self.pick(["NUM_GT", "NUM_LTE"]), "value": self.pick(NUM_REFUSED)}
        if r < 0.52:
            return {"contextName": self.pick(NUMBER_ATTRS), "operator": "NUM_EQ", "value": self.pick(NUM_EQ_REFUSED)}
        if r < 0.67:
            return {"contextName": "appVersion", "operator": self.pick(["SEMVER_GT", "SEMVER_EQ"]), "value": self.pick(SEMVER_REFUSED)}
        if r < 0.75:
            return {"contextName": self.pick(["currentTime", "email"]), "operator": self.pick(["DATE_AFTER", "DATE_BEFORE"]), "value": "2025-06-01T00:00:00Z"}
        if r < 0.82:
            return {"contextName": "currentTime", "operator": "IN", "values": ["2025-06-01T00:00:00Z"]}
        if r < 0.9:
            return {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}
        return {"contextName": "region", "operator": "IN", "values": ["eu"]}  # not in the schema

    def broken_constraint(self):
        """A constraint yggdrasil cannot compile: the whole toggle is off."""
        r = self.r.random()
        if r < 0.35:
            return {"contextName": self.pick(STRING_ATTRS), "operator": "NOT_A_VALID_OPERATOR", "values": ["x"]}
        if r < 0.7:
            return {"contextName": self.pick(STRING_ATTRS), "operator": self.pick(["STR_STARTS_WITH", "STR_CONTAINS"]), "values": []}
        return {"contextName": self.pick(STRING_ATTRS), "operator": self.pick(["IN", "NOT_IN", "STR_ENDS_WITH"]), "values": ["a", "tail\\"]}

    def strategy(self, segment_ids):
        r = self.r.random()
        params = {}
        if r < 0.035:
            s = self.refused_strategy()
        elif r < 0.45:
            s = {"name": "default", "parameters": {}}
        elif r < 0.62:
            ids = [self.pick(STRINGS["userId"][:8] + ODD_STRINGS[:3] + ["\u00a0u1", "u1\t"]) for _ in range(self.r.randint(1, 4))]
            sep = self.pick([",", ", ", " ,", " , "])
            s = {"name": "userWithId", "parameters": {"userIds": sep.join(ids)}}
        elif r < 0.64:
            s = {"name": "userWithId", "parameters": {}}  # no userIds: off
        elif r < 0.94:
            params = {"rollout": "100", "stickiness": "default", "groupId": "g1"}
            if self.chance(0.3):
                del params["stickiness"]
            if self.chance(0.5):
                del params["groupId"]
            s = {"name": "flexibleRollout", "parameters": params}
        else:
            params = {"rollout": "0", "stickiness": "default", "groupId": TOGGLE}
            s = {"name": "flexibleRollout", "parameters": params}
        # Few strategies without constraints: a `default` or 100% one makes the whole toggle `true`.
        n = self.pick([0, 1, 1, 1, 2, 2, 2, 3, 3, 4]) if s["name"] != "userWithId" else self.pick([0, 0, 1, 1, 2])
        if n or self.chance(0.3):
            s["constraints"] = [self.constraint(0.015) for _ in range(n)]
        if self.chance(0.3) and (segment_ids or self.chance(0.1)):
            refs = []
            for _ in range(self.r.randint(1, 2)):
                if segment_ids and self.chance(0.95):
                    refs.append(self.pick(segment_ids))
                else:
                    refs.append(self.pick([99, 7]))  # a missing segment: the toggle is off
            s["segments"] = refs
        return s

    def refused_strategy(self):
        return self.pick([
            {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "g"}},
            {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "userId", "groupId": "g"}},
            {"name": "flexibleRollout", "parameters": {"rollout": "1e2", "stickiness": "default"}},
            {"name": "flexibleRollout", "parameters": {"rollout": "100 ", "stickiness": "default"}},
            {"name": "flexibleRollout", "parameters": {"stickiness": "default"}},
            {"name": "gradualRolloutUserId", "parameters": {"percentage": "100", "groupId": "g"}},
            {"name": "remoteAddress", "parameters": {"IPs": "10.0.0.1"}},
            {"name": "applicationHostname", "parameters": {"hostNames": "localhost"}},
            {"name": "myCustomStrategy", "parameters": {}},
        ])

    def toggle(self):
        """A {"features", "segments"} document whose feature TOGGLE is the one imported."""
        segments = []
        for sid in range(1, self.r.randint(0, 3) + 1):
            segments.append({"id": sid, "name": f"seg{sid}", "constraints": [self.constraint(0.015) for _ in range(self.r.randint(1, 2))]})
        segment_ids = [s["id"] for s in segments]
        feature = {"name": TOGGLE, "enabled": not self.chance(0.04)}
        r = self.r.random()
        # (A feature always has `strategies`: yggdrasil-engine's Python custom-strategy handler
        # raises KeyError on a feature without the key.)
        if r < 0.03:
            feature["strategies"] = []  # on
        else:
            feature["strategies"] = [self.strategy(segment_ids) for _ in range(self.pick([1, 1, 1, 2, 2, 3]))]
        features = [feature]
        if self.chance(0.1):
            # Another feature in the document (yggdrasil compiles it too; the import ignores it).
            features.append({"name": "other", "enabled": True, "strategies": [self.strategy(segment_ids)]})
            if self.chance(0.1):
                feature["dependencies"] = [{"feature": "other", "enabled": True}]  # refused
            self.r.shuffle(features)
        return {"version": 2, "features": features, "segments": segments}

    # -----------------------------------------------------------------------------------------
    # Contexts: each attribute absent, null, near a constant of the toggle, or from its pool.

    def near_string(self, h):
        forms = [h, h, h.upper(), h.lower(), h.swapcase(), h.title(), "x" + h, h + "x", "pre" + h + "post",
                 h[:-1], h[1:], " " + h, h + " ", "", h + h]
        return self.pick(forms)

    def near_version(self, h):
        forms = [h, h, h + "+build.1", "v" + h, h + ".0", h + "-beta.1", h + "-0", h.split("-")[0].split("+")[0],
                 h.rsplit(".", 1)[0], "0" + h, h + " ", h + "-18446744073709551617"]
        core = h.split("-")[0].split("+")[0].split(".")
        if len(core) == 3 and all(p.isdigit() for p in core):
            a, b, c = (int(p) for p in core)
            forms += [f"{a}.{b}.{c + 1}", f"{a}.{b}.{max(c - 1, 0)}", f"{a}.{b + 1}.0", f"{a + 1}.0.0", f"{a}.{b}.{c}-rc.1"]
        return self.pick(forms)

    def near_number(self, h):
        try:
            n = float(h)
        except ValueError:
            return self.pick(NUMBERS)
        if not math.isfinite(n):
            return self.pick(NUMBERS)
        forms = [n, n, n + 1, n - 1, n + 0.5, n - 0.5, math.nextafter(n, math.inf), math.nextafter(n, -math.inf),
                 -n, n * 10, n / 2, n + 1e-9]
        v = self.pick(forms)
        if not math.isfinite(v):
            return self.pick(NUMBERS)  # N: never an infinity
        # A whole number within ±2^53 is sometimes carried as an int (its text reads back exactly);
        # beyond, always as the float it is.
        if v == int(v) and abs(v) <= TWO_53 and self.chance(0.5):
            return int(v)
        return v

    def attributes(self, hints):
        attrs = {}
        for a in IN_CONTEXTS:
            r = self.r.random()
            if r < 0.15:
                continue  # absent
            if r < 0.2:
                attrs[a] = None  # null: the context leaves it out, segcore reads null
                continue
            h = hints.get(a)
            if h and self.r.random() < 0.6:
                c = self.pick(h)
                if a in NUMBER_ATTRS:
                    v = self.near_number(c)
                elif a == "appVersion" and self.chance(0.7):
                    v = self.near_version(c)
                else:
                    v = self.near_string(c)
            elif a in NUMBER_ATTRS:
                v = self.pick(NUMBERS)
            elif a == "appVersion":
                v = self.pick(VERSIONS)
            else:
                v = self.pick(STRINGS[a]) if self.chance(0.85) else self.pick(ODD_STRINGS)
            attrs[a] = v
        return attrs


def hints_of(doc):
    """attribute → the constants the document's constraints and userIds mention."""
    hints = {}

    def add(name, v):
        if isinstance(v, str):
            hints.setdefault(name, []).append(v)

    def constraints(cs):
        for c in cs or []:
            for v in c.get("values") or []:
                add(c.get("contextName"), v)
            add(c.get("contextName"), c.get("value"))

    for f in doc["features"]:
        for s in f.get("strategies") or []:
            constraints(s.get("constraints"))
            ids = (s.get("parameters") or {}).get("userIds")
            if ids is not None:
                for x in ids.split(","):
                    add("userId", x)
                    add("userId", x.strip())
    for g in doc["segments"]:
        constraints(g.get("constraints"))
    return hints


# ---------------------------------------------------------------------------------------------
# One toggle against both engines

CTX = segcore.Context(AS_OF)


def profile(attrs):
    return {"id": "u", "attributes": attrs}


def import_toggle(doc):
    return segcore.import_rule(doc, "unleash", schema=SCHEMA, toggle=TOGGLE, partial=True)


def refusal_family(out):
    r = out["refusals"][0]
    return f"`{r['construct']}`: {r['reason'].split(':')[0]}"


def compare(doc, attrs, engine=None, imported=None):
    """(enabled, outcome, imported) for one pair, or None when the toggle is refused or the pair
    reads the wall clock."""
    engine = engine or ygg.Engine(doc)
    if imported is None:
        out = import_toggle(doc)
        if out["status"] == "refused":
            return None
        imported = (out, segcore.Segment.from_yaml(out["definition"], schema=out["schema"]))
    context = ygg.context_of(attrs, SCHEMA)
    if ygg.clock_dependent(doc, TOGGLE, context):
        return None
    enabled, found = engine.evaluate(TOGGLE, context)
    if not found:
        raise ygg.EngineFailure(f"the engine does not know {TOGGLE!r}")
    return enabled, imported[1].outcome(profile(attrs), CTX), imported[0]


def disagrees(doc, attrs):
    try:
        got = compare(doc, attrs)
    except (ygg.EngineFailure, segcore.SegmentError):
        return False
    return got is not None and (got[1] == "true") != got[0]


def reductions(doc, attrs):
    """Smaller (doc, attrs) pairs: one piece of the toggle or one attribute left out."""
    def variant(mutate):
        d = copy.deepcopy(doc)
        mutate(d)
        return d, attrs

    fi = next(i for i, f in enumerate(doc["features"]) if f["name"] == TOGGLE)
    feature = doc["features"][fi]
    if len(doc["features"]) > 1:
        yield variant(lambda d: d.__setitem__("features", [d["features"][fi]]))
    if "dependencies" in feature:
        yield variant(lambda d: d["features"][fi].pop("dependencies"))
    strategies = feature.get("strategies") or []
    for i in range(len(strategies)):
        yield variant(lambda d, i=i: d["features"][fi]["strategies"].pop(i))
    for i, s in enumerate(strategies):
        for j in range(len(s.get("constraints") or [])):
            yield variant(lambda d, i=i, j=j: d["features"][fi]["strategies"][i]["constraints"].pop(j))
        if "constraints" in s and not s["constraints"]:
            yield variant(lambda d, i=i: d["features"][fi]["strategies"][i].pop("constraints"))
        for j in range(len(s.get("segments") or [])):
            yield variant(lambda d, i=i, j=j: d["features"][fi]["strategies"][i]["segments"].pop(j))
        if "segments" in s and not s["segments"]:
            yield variant(lambda d, i=i: d["features"][fi]["strategies"][i].pop("segments"))
        for k, c in enumerate(s.get("constraints") or []):
            for j in range(len(c.get("values") or []) if len(c.get("values") or []) > 1 else 0):
                yield variant(lambda d, i=i, k=k, j=j: d["features"][fi]["strategies"][i]["constraints"][k]["values"].pop(j))
            for key in ("inverted", "caseInsensitive"):
                if c.get(key) is False:
                    yield variant(lambda d, i=i, k=k, key=key: d["features"][fi]["strategies"][i]["constraints"][k].pop(key))
        ids = (s.get("parameters") or {}).get("userIds")
        if ids and "," in ids:
            parts = ids.split(",")
            for j in range(len(parts)):
                rest = ",".join(parts[:j] + parts[j + 1:])
                yield variant(lambda d, i=i, rest=rest: d["features"][fi]["strategies"][i]["parameters"].__setitem__("userIds", rest))
        for key in ("groupId", "stickiness"):
            if key in (s.get("parameters") or {}):
                yield variant(lambda d, i=i, key=key: d["features"][fi]["strategies"][i]["parameters"].pop(key))
    for k, g in enumerate(doc["segments"]):
        yield variant(lambda d, k=k: d["segments"].pop(k))
        for j in range(len(g.get("constraints") or [])):
            yield variant(lambda d, k=k, j=j: d["segments"][k]["constraints"].pop(j))
    for a in attrs:
        yield doc, {b: v for b, v in attrs.items() if b != a}


def shrink(doc, attrs):
    changed = True
    while changed:
        changed = False
        for d, a in reductions(doc, attrs):
            if disagrees(d, a):
                doc, attrs, changed = d, a, True
                break
    return doc, attrs


def compiles(doc):
    """Whether yggdrasil compiles the toggle: with a `default` strategy put first (and the feature
    enabled, without dependencies) it is on for the empty context unless its rule text does not
    compile (an unknown operator, a missing segment, an empty string list, a value ending in `\\`,
    a value its grammar rejects), which turns the whole toggle off."""
    d = copy.deepcopy(doc)
    f = next(f for f in d["features"] if f["name"] == TOGGLE)
    f["enabled"] = True
    f.pop("dependencies", None)
    f["strategies"] = [{"name": "default", "parameters": {}}] + (f.get("strategies") or [])
    return ygg.Engine(d).evaluate(TOGGLE, {})[0]


def signature(doc, attrs):
    """What kind of disagreement a shrunk example is: the strategies and operators left in it,
    and which attributes it still needs."""
    names, ops = [], []
    for f in doc["features"]:
        for s in f.get("strategies") or []:
            names.append(s["name"])
            ops += [c.get("operator") for c in s.get("constraints") or []]
    for g in doc["segments"]:
        ops += [c.get("operator") for c in g.get("constraints") or []]
    return json.dumps([sorted(names), sorted(ops), sorted(attrs)])


# ---------------------------------------------------------------------------------------------


def main(argv):
    p = argparse.ArgumentParser(description="Random Unleash toggles × contexts: yggdrasil against the imported definitions (SPEC §29.4).")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rules", type=int, default=4500)
    p.add_argument("--contexts", type=int, default=30)
    p.add_argument("--examples", type=int, default=5, help="disagreements to shrink and print")
    args = p.parse_args(argv)

    started = time.perf_counter()
    gen = Gen(args.seed)
    rules = imported = pairs = checked = clock = unknown = folded = 0
    statuses, refused = {}, {}
    disagreements = []
    t_engine = t_import = t_segcore = 0.0
    for _ in range(args.rules):
        doc = gen.toggle()
        hints = hints_of(doc)
        contexts = [gen.attributes(hints) for _ in range(args.contexts)]
        rules += 1
        pairs += len(contexts)
        t0 = time.perf_counter()
        out = import_toggle(doc)
        t_import += time.perf_counter() - t0
        statuses[out["status"]] = statuses.get(out["status"], 0) + 1
        if out["status"] == "refused":
            fam = refusal_family(out)
            refused[fam] = refused.get(fam, 0) + 1
            continue
        imported += 1
        folded += not out["reads"]
        t0 = time.perf_counter()
        seg = segcore.Segment.from_yaml(out["definition"], schema=out["schema"])
        t_import += time.perf_counter() - t0
        t0 = time.perf_counter()
        engine = ygg.Engine(doc)
        t_engine += time.perf_counter() - t0
        for attrs in contexts:
            context = ygg.context_of(attrs, SCHEMA)
            if ygg.clock_dependent(doc, TOGGLE, context):
                clock += 1
                continue
            t0 = time.perf_counter()
            enabled, found = engine.evaluate(TOGGLE, context)
            t1 = time.perf_counter()
            outcome = seg.outcome(profile(attrs), CTX)
            t2 = time.perf_counter()
            t_engine += t1 - t0
            t_segcore += t2 - t1
            if not found:
                raise SystemExit(f"the engine does not know {TOGGLE!r} in {json.dumps(doc)}")
            checked += 1
            unknown += outcome == "unknown"
            if (outcome == "true") != enabled:
                disagreements.append((doc, attrs, enabled, outcome, out["rule"]))
    elapsed = time.perf_counter() - started

    print(f"unleash differential (seed {args.seed}): {rules} toggles, {imported} imported "
          f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}; {folded} folded to a constant), "
          f"{pairs} pairs, {checked} checked against {ygg.ENGINE}"
          + (f" ({clock} reading the wall clock skipped)" if clock else "")
          + f": {len(disagreements)} disagreements")
    if unknown:
        print(f"  note: {unknown} checked pairs had the outcome \"unknown\" (an import is meant to be two-valued)")
    for fam, n in sorted(refused.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    refused {n:>5}  {fam}")
    print(f"  time: {elapsed:.1f} s (import + compile {t_import:.1f} s, yggdrasil {t_engine:.1f} s, segcore outcome {t_segcore:.1f} s)")

    if disagreements:
        off = {}
        for doc, *_ in disagreements:
            key = id(doc)
            if key not in off:
                off[key] = not compiles(doc)
        n_off = sum(off[id(d[0])] for d in disagreements)
        print(f"  {n_off} of the {len(disagreements)} disagreements ({sum(off.values())} of {len(off)} toggles) are on "
              f"toggles yggdrasil does not compile (always off)")
    # The first disagreements, shrunk; one example per kind (the operators and strategies left in
    # the shrunk toggle, whether the imported rule still reads data), looking at most at 60.
    seen = set()
    shown = 0
    for doc, attrs, enabled, outcome, rule in disagreements[:60]:
        if shown >= args.examples:
            break
        sdoc, sattrs = shrink(doc, attrs)
        key = signature(sdoc, sattrs)
        if key in seen:
            continue
        seen.add(key)
        shown += 1
        got = compare(sdoc, sattrs)
        print(f"  DISAGREEMENT {shown} (shrunk):")
        print(f"    toggle document: {json.dumps(sdoc, ensure_ascii=False)}")
        print(f"    attributes:      {json.dumps(sattrs, ensure_ascii=False)}")
        print(f"    context:         {json.dumps(ygg.context_of(sattrs, SCHEMA), ensure_ascii=False)}")
        print(f"    yggdrasil: enabled={got[0]}   segcore outcome: {got[1]}")
        print(f"    imported rule:   {got[2]['rule']}")
        print(f"    (unshrunk: enabled={enabled}, outcome {outcome}, rule {rule})")

    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    report = {"engine": ygg.ENGINE, "seed": args.seed, "rules": rules, "imported": imported, "pairs": pairs,
              "checked": checked, "disagreements": len(disagreements), "refused": refused,
              "clock_skipped": clock, "unknown_outcomes": unknown}
    with open(REPORT, "w", encoding="utf-8") as f:
        json.dump(report, f)
    ok = not disagreements and checked >= MIN_CHECKED
    if checked < MIN_CHECKED:
        print(f"  FAILED: {checked} pairs checked, fewer than {MIN_CHECKED}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
